//! The one error type resolvers and services return, and how it reaches a client.
//!
//! Every error carries `extensions.code`; input errors also carry the offending `field`. Internal
//! errors are logged with their cause and reach the client only as a generic message — the request id
//! added to every error lets operators find the log line.

use async_graphql::ErrorExtensions;
use sea_orm::{DbErr, SqlErr, TransactionError};

pub type ApiResult<T> = Result<T, ApiError>;

/// Deliberately not `Display`: async-graphql converts any `Display` type into an error without
/// extensions, so this type converts only through [`ErrorExtensions`] and never loses its code.
#[derive(Debug)]
pub enum ApiError {
    Unauthenticated(String),
    Forbidden(String),
    /// What was not found, e.g. "organization".
    NotFound(String),
    BadUserInput {
        field: String,
        message: String,
    },
    Conflict {
        field: Option<String>,
        message: String,
    },
    /// A dependency (the database, the search engine) cannot be reached; the client may retry.
    Unavailable(String),
    /// Too many attempts; retry after this many seconds.
    RateLimited {
        message: String,
        retry_after_secs: u64,
    },
    Internal(anyhow::Error),
}

impl ApiError {
    pub fn unauthenticated() -> Self {
        Self::Unauthenticated("authentication required".into())
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden(message.into())
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound(what.into())
    }

    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadUserInput { field: field.into(), message: message.into() }
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict { field: None, message: message.into() }
    }

    pub fn conflict_on(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Conflict { field: Some(field.into()), message: message.into() }
    }

    /// The database cannot be reached (see [`crate::db::is_unreachable`]).
    pub fn database_unavailable() -> Self {
        Self::Unavailable("the database is unavailable; try again shortly".into())
    }

    /// The same error once more, for each field that awaited one failed load (a loader shares its
    /// error among its callers). An internal cause is carried over as text.
    pub fn duplicate(&self) -> Self {
        match self {
            Self::Unauthenticated(m) => Self::Unauthenticated(m.clone()),
            Self::Forbidden(m) => Self::Forbidden(m.clone()),
            Self::NotFound(what) => Self::NotFound(what.clone()),
            Self::BadUserInput { field, message } => {
                Self::BadUserInput { field: field.clone(), message: message.clone() }
            }
            Self::Conflict { field, message } => {
                Self::Conflict { field: field.clone(), message: message.clone() }
            }
            Self::Unavailable(m) => Self::Unavailable(m.clone()),
            Self::RateLimited { message, retry_after_secs } => {
                Self::RateLimited { message: message.clone(), retry_after_secs: *retry_after_secs }
            }
            Self::Internal(cause) => Self::Internal(anyhow::anyhow!("{cause:#}")),
        }
    }

    /// The message a client sees; internal causes stay in the log.
    pub fn message(&self) -> String {
        match self {
            Self::Unauthenticated(m) | Self::Forbidden(m) | Self::Unavailable(m) => m.clone(),
            Self::NotFound(what) => format!("{what} not found"),
            Self::BadUserInput { message, .. }
            | Self::Conflict { message, .. }
            | Self::RateLimited { message, .. } => message.clone(),
            Self::Internal(_) => "internal server error".into(),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::NotFound(_) => "NOT_FOUND",
            Self::BadUserInput { .. } => "BAD_USER_INPUT",
            Self::Conflict { .. } => "CONFLICT",
            Self::Unavailable(_) => "SERVICE_UNAVAILABLE",
            Self::RateLimited { .. } => "RATE_LIMITED",
            Self::Internal(_) => "INTERNAL_SERVER_ERROR",
        }
    }
}

impl From<DbErr> for ApiError {
    fn from(err: DbErr) -> Self {
        if let Some(SqlErr::UniqueConstraintViolation(_)) = err.sql_err() {
            return Self::conflict("a record with these values already exists");
        }
        if crate::db::is_unreachable(&err) {
            // At debug: during an outage every request and worker retry fails like this; readyz
            // and the workers' outage log (see `crate::outage`) say it once.
            tracing::debug!(error = %err, "the database cannot be reached");
            return Self::database_unavailable();
        }
        Self::Internal(err.into())
    }
}

impl From<TransactionError<ApiError>> for ApiError {
    fn from(err: TransactionError<ApiError>) -> Self {
        match err {
            TransactionError::Connection(db) => db.into(),
            TransactionError::Transaction(api) => api,
        }
    }
}

impl ErrorExtensions for ApiError {
    fn extend(&self) -> async_graphql::Error {
        if let Self::Internal(cause) = self {
            tracing::error!(error = ?cause, "internal error while resolving a request");
        }
        async_graphql::Error::new(self.message()).extend_with(|_, e| {
            e.set("code", self.code());
            match self {
                Self::BadUserInput { field, .. } | Self::Conflict { field: Some(field), .. } => {
                    e.set("field", field.as_str());
                }
                Self::RateLimited { retry_after_secs, .. } => e.set("retryAfter", *retry_after_secs),
                _ => {}
            }
        })
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(err: ApiError) -> Self {
        err.extend()
    }
}
