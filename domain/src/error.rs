//! The one error type services return, and the one list of the codes clients see.
//!
//! Every error carries a [`Code`]; input errors also carry the offending `field`. Internal errors
//! keep their cause for the log and show clients only a generic message. How an error reaches a
//! client (GraphQL extensions, HTTP status) is the API layer's business.

use std::fmt;

use sea_orm::{DbErr, SqlErr, TransactionError};

pub type ApiResult<T> = Result<T, ApiError>;

/// Every code a client can see in `extensions.code`, as the API spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    Unauthenticated,
    Forbidden,
    NotFound,
    BadUserInput,
    Conflict,
    ServiceUnavailable,
    RateLimited,
    InternalServerError,
    /// The document breaks the schema's rules or the server's limits (the API layer's own checks).
    GraphqlValidationFailed,
}

impl Code {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden => "FORBIDDEN",
            Self::NotFound => "NOT_FOUND",
            Self::BadUserInput => "BAD_USER_INPUT",
            Self::Conflict => "CONFLICT",
            Self::ServiceUnavailable => "SERVICE_UNAVAILABLE",
            Self::RateLimited => "RATE_LIMITED",
            Self::InternalServerError => "INTERNAL_SERVER_ERROR",
            Self::GraphqlValidationFailed => "GRAPHQL_VALIDATION_FAILED",
        }
    }

    /// The code a client sent back, e.g. in a test or a log line.
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == code)
    }

    pub const ALL: [Self; 9] = [
        Self::Unauthenticated,
        Self::Forbidden,
        Self::NotFound,
        Self::BadUserInput,
        Self::Conflict,
        Self::ServiceUnavailable,
        Self::RateLimited,
        Self::InternalServerError,
        Self::GraphqlValidationFailed,
    ];
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `Display` shows what a client may see ([`ApiError::message`]); the API layer finds the error
/// behind a displayed message again to add its code and field.
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

    pub fn code(&self) -> Code {
        match self {
            Self::Unauthenticated(_) => Code::Unauthenticated,
            Self::Forbidden(_) => Code::Forbidden,
            Self::NotFound(_) => Code::NotFound,
            Self::BadUserInput { .. } => Code::BadUserInput,
            Self::Conflict { .. } => Code::Conflict,
            Self::Unavailable(_) => Code::ServiceUnavailable,
            Self::RateLimited { .. } => Code::RateLimited,
            Self::Internal(_) => Code::InternalServerError,
        }
    }

    /// The offending input field, for input errors and conflicts that know it.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::BadUserInput { field, .. } | Self::Conflict { field: Some(field), .. } => Some(field),
            _ => None,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl From<DbErr> for ApiError {
    fn from(err: DbErr) -> Self {
        if let Some(SqlErr::UniqueConstraintViolation(message)) = err.sql_err() {
            return match unique_field(&message) {
                Some(field) => Self::conflict_on(field, "a record with this value already exists"),
                None => Self::conflict("a record with these values already exists"),
            };
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

/// The unique constraints a client's input can hit: (SQLite's `table.column` list, PostgreSQL's
/// constraint or index name, the input field). Tokens and key hashes are ours, not the client's.
const UNIQUE_FIELDS: &[(&str, &str, &str)] = &[
    ("app_user.email", "app_user_email_key", "email"),
    ("organization.slug", "organization_slug_key", "input.slug"),
    ("skill.label", "skill_label_key", "input.label"),
    ("membership.organization_id, membership.user_id", "uq_membership_organization_user", "userId"),
    (
        "need_participation.need_id, need_participation.firm_id",
        "idx_participation_need_firm",
        "organizationId",
    ),
];

/// The input field behind a unique violation, from the database's message: SQLite names the
/// columns (`UNIQUE constraint failed: organization.slug`), PostgreSQL the constraint
/// (`… violates unique constraint "organization_slug_key"`).
fn unique_field(message: &str) -> Option<&'static str> {
    UNIQUE_FIELDS.iter().find_map(|(columns, constraint, field)| {
        let sqlite = message.trim_end().ends_with(&format!("failed: {columns}"));
        (sqlite || message.contains(&format!("\"{constraint}\""))).then_some(*field)
    })
}

impl From<TransactionError<ApiError>> for ApiError {
    fn from(err: TransactionError<ApiError>) -> Self {
        match err {
            TransactionError::Connection(db) => db.into(),
            TransactionError::Transaction(api) => api,
        }
    }
}

/// A loader shares its error among every field that awaited the load; each keeps the code, so an
/// unreachable database stays `SERVICE_UNAVAILABLE` in all of them.
impl From<std::sync::Arc<ApiError>> for ApiError {
    fn from(err: std::sync::Arc<ApiError>) -> Self {
        match std::sync::Arc::try_unwrap(err).unwrap_or_else(|shared| shared.duplicate()) {
            ApiError::Internal(cause) => ApiError::Internal(cause.context("loading a relation failed")),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_violations_name_the_input_field_on_both_databases() {
        assert_eq!(unique_field("UNIQUE constraint failed: organization.slug"), Some("input.slug"));
        assert_eq!(
            unique_field("duplicate key value violates unique constraint \"organization_slug_key\""),
            Some("input.slug")
        );
        assert_eq!(unique_field("UNIQUE constraint failed: app_user.email"), Some("email"));
        assert_eq!(
            unique_field("UNIQUE constraint failed: need_participation.need_id, need_participation.firm_id"),
            Some("organizationId")
        );
        assert_eq!(unique_field("UNIQUE constraint failed: refresh_token.token_hash"), None);
        assert_eq!(unique_field("UNIQUE constraint failed: organization.slug_history"), None);
    }

    #[test]
    fn every_code_parses_back() {
        for code in Code::ALL {
            assert_eq!(Code::parse(code.as_str()), Some(code));
        }
        assert_eq!(Code::parse("SOMETHING_ELSE"), None);
    }
}
