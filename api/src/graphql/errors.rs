//! How a service's [`ApiError`] reaches a GraphQL client: `extensions.code`, the offending `field`,
//! `retryAfter`; internal causes go to the log only.
//!
//! Resolvers return `ApiError`s with `?`: async-graphql turns any `Display` error into an
//! `async_graphql::Error` that keeps it as its source. [`CodedErrors`] finds that source again in
//! every response, of queries, mutations and subscription events alike, and adds the extensions.

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute, NextSubscribe};
use async_graphql::{ErrorExtensionValues, Response, ServerError};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;

use crate::error::{ApiError, Code};

/// The extensions of `err`.
pub fn extensions(err: &ApiError) -> ErrorExtensionValues {
    let mut extensions = ErrorExtensionValues::default();
    extensions.set("code", err.code().as_str());
    if let Some(field) = err.field() {
        extensions.set("field", field);
    }
    if let ApiError::RateLimited { retry_after_secs, .. } = err {
        extensions.set("retryAfter", *retry_after_secs);
    }
    extensions
}

/// `err` as a GraphQL error with its extensions, for code that builds errors itself.
pub fn to_graphql(err: &ApiError) -> async_graphql::Error {
    log_internal(err);
    async_graphql::Error { extensions: Some(extensions(err)), ..async_graphql::Error::new(err.message()) }
}

/// A server error with `code` and `message` and nothing else, for the API's own refusals.
pub fn coded(code: Code, message: impl Into<String>) -> ServerError {
    let mut error = ServerError::new(message, None);
    let mut extensions = ErrorExtensionValues::default();
    extensions.set("code", code.as_str());
    error.extensions = Some(extensions);
    error
}

/// The code of an error in a response, if it has one of ours.
pub fn code_of(error: &ServerError) -> Option<Code> {
    match error.extensions.as_ref()?.get("code")? {
        async_graphql::Value::String(code) => Code::parse(code),
        _ => None,
    }
}

fn log_internal(err: &ApiError) {
    if let ApiError::Internal(cause) = err {
        tracing::error!(error = ?cause, "internal error while resolving a request");
    }
}

/// Adds the extensions of the `ApiError` behind each error that has none yet.
pub fn add_codes(errors: &mut [ServerError]) {
    for error in errors.iter_mut().filter(|e| e.extensions.is_none()) {
        let Some(err) = error.source::<ApiError>() else { continue };
        log_internal(err);
        error.extensions = Some(extensions(err));
    }
}

/// The schema extension that codes every response's errors.
pub struct CodedErrors;

impl ExtensionFactory for CodedErrors {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(CodedErrors)
    }
}

#[async_trait::async_trait]
impl Extension for CodedErrors {
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let mut response = next.run(ctx, operation_name).await;
        add_codes(&mut response.errors);
        response
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        next.run(ctx, stream)
            .map(|mut response| {
                add_codes(&mut response.errors);
                response
            })
            .boxed()
    }
}
