//! Limits on a query's shape that depth and complexity do not catch: many aliases of one costly
//! field, and the same field repeated thousands of times (field merging in validation is quadratic).
//! Checked right after parsing, before validation, for HTTP and WebSocket alike. Also the per-caller
//! rate limit, charged by the cost validation computes.

use std::sync::{Arc, Mutex};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextValidation,
};
use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection, SelectionSet};
use async_graphql::{ErrorExtensionValues, ServerError, ServerResult, ValidationResult, Variables};

use hashlink::LruCache;

use crate::ratelimit::{Principal, RateLimiter};

/// Marks a request made with a `READ` API key: mutations and subscriptions are refused.
#[derive(Debug, Clone, Copy)]
pub struct ReadOnlyCaller;

/// The alias and field limits, and a cache of parsed documents that passed them.
#[derive(Clone)]
pub struct QueryShape {
    pub max_aliases: usize,
    pub max_fields: usize,
    parsed: Arc<Mutex<LruCache<String, Arc<ExecutableDocument>>>>,
}

/// Documents kept parsed: clients send the same few query texts with different variables.
const PARSED_DOCUMENTS: usize = 512;
/// Longer query texts are parsed every time.
const PARSED_MAX_LEN: usize = 16 * 1024;

impl QueryShape {
    pub fn new(max_aliases: usize, max_fields: usize) -> Self {
        Self { max_aliases, max_fields, parsed: Arc::new(Mutex::new(LruCache::new(PARSED_DOCUMENTS))) }
    }

    fn cached(&self, query: &str) -> Option<ExecutableDocument> {
        let mut parsed = self.parsed.lock().ok()?;
        parsed.get(query).map(|document| ExecutableDocument::clone(document))
    }

    fn keep(&self, query: &str, document: &ExecutableDocument) {
        if query.len() <= PARSED_MAX_LEN
            && let Ok(mut parsed) = self.parsed.lock()
        {
            parsed.insert(query.to_owned(), Arc::new(document.clone()));
        }
    }

    fn check(&self, document: &ExecutableDocument) -> ServerResult<()> {
        let mut counts = Counts::default();
        for (_, operation) in document.operations.iter() {
            counts.add(&operation.node.selection_set.node);
        }
        for fragment in document.fragments.values() {
            counts.add(&fragment.node.selection_set.node);
        }
        if counts.aliases > self.max_aliases {
            return Err(limit(format!(
                "the query uses {} aliases; at most {} are allowed",
                counts.aliases, self.max_aliases
            )));
        }
        if counts.fields > self.max_fields {
            return Err(limit(format!(
                "the query selects {} fields; at most {} are allowed",
                counts.fields, self.max_fields
            )));
        }
        Ok(())
    }
}

impl ExtensionFactory for QueryShape {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(self.clone())
    }
}

#[async_trait::async_trait]
impl Extension for QueryShape {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        // A document seen before has passed the shape limits; parsing it again would cost more than
        // the rest of a small query.
        let document = match self.cached(query) {
            Some(document) => document,
            None => {
                let document = next.run(ctx, query, variables).await?;
                self.check(&document)?;
                self.keep(query, &document);
                document
            }
        };
        if ctx.data_opt::<ReadOnlyCaller>().is_some()
            && document.operations.iter().any(|(_, op)| op.node.ty != OperationType::Query)
        {
            return Err(coded("this API key may only read (scope READ): queries only", "FORBIDDEN").0);
        }
        Ok(document)
    }
}

#[derive(Default)]
struct Counts {
    aliases: usize,
    fields: usize,
}

impl Counts {
    fn add(&mut self, set: &SelectionSet) {
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    self.fields += 1;
                    self.aliases += usize::from(field.node.alias.is_some());
                    self.add(&field.node.selection_set.node);
                }
                Selection::InlineFragment(fragment) => self.add(&fragment.node.selection_set.node),
                Selection::FragmentSpread(_) => {}
            }
        }
    }
}

fn limit(message: String) -> ServerError {
    let (mut error, mut extensions) = coded(message, "GRAPHQL_VALIDATION_FAILED");
    extensions.set("field", "query");
    error.extensions = Some(extensions);
    error
}

/// An error with `code`, and its extensions to add to.
fn coded(message: impl Into<String>, code: &str) -> (ServerError, ErrorExtensionValues) {
    let mut error = ServerError::new(message, None);
    let mut extensions = ErrorExtensionValues::default();
    extensions.set("code", code);
    error.extensions = Some(extensions.clone());
    (error, extensions)
}

/// Charges the caller's rate-limit bucket with the operation's cost once it has been validated (so
/// the cost is known and bounded by the complexity limit); over budget → `RATE_LIMITED` with
/// `retryAfter` seconds, before anything runs.
#[derive(Clone)]
pub struct RateLimit(pub Arc<RateLimiter>);

impl ExtensionFactory for RateLimit {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(self.clone())
    }
}

#[async_trait::async_trait]
impl Extension for RateLimit {
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        let Some(who) = ctx.data_opt::<Principal>() else {
            return Ok(result);
        };
        let cost = u32::try_from(result.complexity).unwrap_or(u32::MAX);
        match self.0.charge(*who, cost) {
            Ok(()) => Ok(result),
            Err(wait) => {
                let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                let (mut error, mut extensions) = coded(
                    format!("rate limit exceeded: this query costs {cost}; try again in {secs} s"),
                    "RATE_LIMITED",
                );
                extensions.set("retryAfter", secs);
                extensions.set("cost", cost);
                error.extensions = Some(extensions);
                Err(vec![error])
            }
        }
    }
}

/// With `APP_DIAGNOSTICS` only: an operation named `PanicProbe` panics while executing, so tests can
/// prove that a panic becomes `INTERNAL_SERVER_ERROR` and the server keeps serving.
#[derive(Clone, Copy)]
pub struct PanicProbe;

impl ExtensionFactory for PanicProbe {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(*self)
    }
}

#[async_trait::async_trait]
impl Extension for PanicProbe {
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> async_graphql::Response {
        if operation_name == Some("PanicProbe") {
            panic!("the panic probe was asked to panic");
        }
        next.run(ctx, operation_name).await
    }
}
