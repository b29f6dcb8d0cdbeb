//! Limits on a query's shape, checked on the parsed document before async-graphql's own checks and
//! validation run (for HTTP and WebSocket alike): fields, aliases and fragment spreads counted as if
//! every fragment were written out where it is spread, nesting depth (with introspection measured on
//! its own), directives per field, and introspection itself where it is off. Every count is computed
//! once per fragment, so even a document whose expansion would be astronomically large is measured
//! in time linear in its length. Also the per-caller rate limit, charged by the query's cost.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextValidation,
};
use async_graphql::parser::types::{
    ExecutableDocument, FragmentDefinition, OperationType, Selection, SelectionSet,
};
use async_graphql::{
    ErrorExtensionValues, Name, Positioned, ServerError, ServerResult, ValidationResult, Variables,
};

use hashlink::LruCache;

use crate::config::Limits;
use crate::error::Code;
use crate::ratelimit::{Principal, RateLimiter};

/// Marks a request made with a `READ` API key: mutations and subscriptions are refused.
#[derive(Debug, Clone, Copy)]
pub struct ReadOnlyCaller;

/// Introspection subtrees may nest this deep: the standard queries of graphql-js and graphql-core
/// reach 15 (`__schema → types → fields → args → type` and nine `ofType`s).
pub const MAX_INTROSPECTION_DEPTH: usize = 20;
/// List fields of introspection on one path: `types → fields → args` in the standard queries; a
/// fourth (`… type { fields … }`) multiplies the answer by the schema's size once more.
pub const MAX_INTROSPECTION_LISTS: usize = 3;
const INTROSPECTION_LISTS: &[&str] =
    &["types", "fields", "args", "inputFields", "interfaces", "possibleTypes", "enumValues", "directives"];

/// The shape limits, and a cache of parsed documents that passed them.
#[derive(Clone)]
pub struct QueryShape {
    limits: ShapeLimits,
    parsed: Arc<Mutex<LruCache<String, Parsed>>>,
}

#[derive(Debug, Clone, Copy)]
struct ShapeLimits {
    query_bytes: usize,
    aliases: u64,
    fields: u64,
    spreads: u64,
    depth: usize,
    recursion: usize,
    directives: usize,
    introspection: bool,
}

#[derive(Clone)]
struct Parsed {
    document: Arc<ExecutableDocument>,
    fields: u64,
}

/// Documents kept parsed: clients send the same few query texts with different variables.
const PARSED_DOCUMENTS: usize = 512;
/// Longer query texts are parsed every time.
const PARSED_MAX_LEN: usize = 16 * 1024;

impl QueryShape {
    pub fn new(limits: &Limits, introspection: bool) -> Self {
        let limits = ShapeLimits {
            query_bytes: limits.max_query_bytes,
            aliases: limits.max_aliases as u64,
            fields: limits.max_fields as u64,
            spreads: limits.max_fragment_spreads as u64,
            depth: limits.max_depth,
            recursion: limits.max_recursive_depth,
            directives: limits.max_directives,
            introspection,
        };
        Self { limits, parsed: Arc::new(Mutex::new(LruCache::new(PARSED_DOCUMENTS))) }
    }

    fn cached(&self, query: &str) -> Option<(ExecutableDocument, u64)> {
        let mut parsed = self.parsed.lock().ok()?;
        parsed.get(query).map(|p| (ExecutableDocument::clone(&p.document), p.fields))
    }

    fn keep(&self, query: &str, document: &ExecutableDocument, fields: u64) {
        if query.len() <= PARSED_MAX_LEN
            && let Ok(mut parsed) = self.parsed.lock()
        {
            parsed.insert(query.to_owned(), Parsed { document: Arc::new(document.clone()), fields });
        }
    }

    /// Parses `query` and checks its shape; the number of fields selected once fragments are
    /// expanded is what the query costs at least.
    fn parse_and_check(&self, query: &str) -> ServerResult<(ExecutableDocument, u64)> {
        // Parsing costs time in proportion to the text: a long text is refused before it.
        if query.len() > self.limits.query_bytes {
            return Err(limit(format!(
                "the query text has {} bytes; at most {} are allowed (send large inputs as variables)",
                query.len(),
                self.limits.query_bytes
            )));
        }
        let document = async_graphql::parser::parse_query(query).map_err(ServerError::from)?;
        let shape = measure(&document, &self.limits)?;
        Ok((document, shape.fields))
    }
}

impl ExtensionFactory for QueryShape {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ShapeCheck { shape: self.clone(), fields: AtomicU64::new(0) })
    }
}

/// The shape check of one request: it remembers the field count for the cost.
struct ShapeCheck {
    shape: QueryShape,
    fields: AtomicU64,
}

#[async_trait::async_trait]
impl Extension for ShapeCheck {
    /// Parses the document itself instead of running the engine's parser and its checks: those
    /// walk fragments once per spread, which one crafted document turns into billions of steps.
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        _variables: &Variables,
        _next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let (document, fields) = match self.shape.cached(query) {
            Some(cached) => cached,
            None => {
                let (document, fields) = self.shape.parse_and_check(query)?;
                self.shape.keep(query, &document, fields);
                (document, fields)
            }
        };
        self.fields.store(fields, Ordering::Relaxed);
        if ctx.data_opt::<ReadOnlyCaller>().is_some()
            && document.operations.iter().any(|(_, op)| op.node.ty != OperationType::Query)
        {
            return Err(coded("this API key may only read (scope READ): queries only", Code::Forbidden).0);
        }
        Ok(document)
    }

    /// Every selected field costs at least 1, `__typename` too (the engine counts it as 0).
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let mut result = next.run(ctx).await?;
        let fields = usize::try_from(self.fields.load(Ordering::Relaxed)).unwrap_or(usize::MAX);
        result.complexity = result.complexity.max(fields);
        Ok(result)
    }
}

/// What a selection set selects, as if its fragments were written out.
#[derive(Debug, Clone, Copy, Default)]
struct Shape {
    fields: u64,
    aliases: u64,
    spreads: u64,
    /// Fields nested in fields, outside introspection.
    depth: usize,
    /// The same inside `__schema` and `__type`.
    introspection_depth: usize,
    /// Fields named like introspection's lists on one path (only read inside introspection).
    lists: usize,
    /// Introspection list fields on one path inside `__schema` and `__type`.
    introspection_lists: usize,
    /// Selection sets nested in selection sets (fragments count as one level, as in the engine).
    nesting: usize,
    introspection: bool,
}

impl Shape {
    fn add(&mut self, other: Shape) {
        self.fields = self.fields.saturating_add(other.fields);
        self.aliases = self.aliases.saturating_add(other.aliases);
        self.spreads = self.spreads.saturating_add(other.spreads);
        self.depth = self.depth.max(other.depth);
        self.introspection_depth = self.introspection_depth.max(other.introspection_depth);
        self.lists = self.lists.max(other.lists);
        self.introspection_lists = self.introspection_lists.max(other.introspection_lists);
        self.nesting = self.nesting.max(other.nesting);
        self.introspection |= other.introspection;
    }
}

/// Measures every operation of `document` and checks the result against `limits`.
fn measure(document: &ExecutableDocument, limits: &ShapeLimits) -> ServerResult<Shape> {
    let mut walk = Walk { fragments: &document.fragments, limits, memo: HashMap::new() };
    let mut total = Shape::default();
    for (_, operation) in document.operations.iter() {
        total.add(walk.set(&operation.node.selection_set.node, 0)?);
    }
    if total.introspection && !limits.introspection {
        return Err(refused("introspection is turned off on this server", "__schema"));
    }
    let checks = [
        (
            total.aliases > limits.aliases,
            format!("the query uses {} aliases; at most {} are allowed", total.aliases, limits.aliases),
        ),
        (
            total.spreads > limits.spreads,
            format!(
                "the query spreads fragments {} times (counting spreads inside fragments each time they are spread); at most {} are allowed",
                total.spreads, limits.spreads
            ),
        ),
        (
            total.fields > limits.fields,
            format!(
                "the query selects {} fields (counting a fragment's fields each time it is spread); at most {} are allowed",
                total.fields, limits.fields
            ),
        ),
        (
            total.depth > limits.depth,
            format!("the query is nested {} fields deep; at most {} are allowed", total.depth, limits.depth),
        ),
        (
            total.introspection_depth > MAX_INTROSPECTION_DEPTH,
            format!(
                "the introspection is nested {} fields deep; at most {MAX_INTROSPECTION_DEPTH} are allowed",
                total.introspection_depth
            ),
        ),
        (
            total.introspection_lists > MAX_INTROSPECTION_LISTS,
            format!(
                "the introspection nests {} lists; at most {MAX_INTROSPECTION_LISTS} are allowed",
                total.introspection_lists
            ),
        ),
    ];
    match checks.into_iter().find(|(exceeded, _)| *exceeded) {
        Some((_, message)) => Err(limit(message)),
        None => Ok(total),
    }
}

/// One walk over a document; each fragment's shape is computed once.
struct Walk<'a> {
    fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
    limits: &'a ShapeLimits,
    /// `None` while a fragment is being measured: spreading it again is a cycle.
    memo: HashMap<&'a str, Option<Shape>>,
}

impl<'a> Walk<'a> {
    fn set(&mut self, set: &'a SelectionSet, nesting: usize) -> ServerResult<Shape> {
        if nesting > self.limits.recursion {
            return Err(limit(format!(
                "the query nests selections more than {} levels deep",
                self.limits.recursion
            )));
        }
        let mut shape = Shape { nesting, ..Shape::default() };
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    self.directives(field.directives.len())?;
                    let inner = self.set(&field.selection_set.node, nesting + 1)?;
                    let name = field.name.node.as_str();
                    let mut own = Shape {
                        fields: inner.fields.saturating_add(1),
                        aliases: inner.aliases.saturating_add(u64::from(field.alias.is_some())),
                        ..inner
                    };
                    if name == "__schema" || name == "__type" {
                        own.introspection = true;
                        own.introspection_depth = 1 + inner.depth.max(inner.introspection_depth);
                        own.introspection_lists = inner.lists;
                        own.depth = 1;
                    } else {
                        own.depth = 1 + inner.depth;
                        own.lists = inner.lists + usize::from(INTROSPECTION_LISTS.contains(&name));
                    }
                    shape.add(own);
                }
                Selection::InlineFragment(fragment) => {
                    self.directives(fragment.node.directives.len())?;
                    shape.add(self.set(&fragment.node.selection_set.node, nesting + 1)?);
                }
                Selection::FragmentSpread(spread) => {
                    self.directives(spread.node.directives.len())?;
                    let name = spread.node.fragment_name.node.as_str();
                    let mut spread_shape = self.fragment(name, nesting + 1)?;
                    spread_shape.spreads = spread_shape.spreads.saturating_add(1);
                    shape.add(spread_shape);
                }
            }
        }
        Ok(shape)
    }

    /// The shape of fragment `name` spread at `nesting`; an unknown fragment is validation's to
    /// report.
    fn fragment(&mut self, name: &'a str, nesting: usize) -> ServerResult<Shape> {
        let relative = match self.memo.get(name) {
            Some(Some(shape)) => *shape,
            Some(None) => return Err(limit(format!("fragment {name} spreads itself"))),
            None => {
                let Some(fragment) = self.fragments.get(name) else {
                    return Ok(Shape::default());
                };
                self.memo.insert(name, None);
                let shape = self.set(&fragment.node.selection_set.node, 0)?;
                self.memo.insert(name, Some(shape));
                shape
            }
        };
        if nesting + relative.nesting > self.limits.recursion {
            return Err(limit(format!(
                "the query nests selections more than {} levels deep",
                self.limits.recursion
            )));
        }
        Ok(Shape { nesting: nesting + relative.nesting, ..relative })
    }

    fn directives(&self, count: usize) -> ServerResult<()> {
        if count > self.limits.directives {
            return Err(limit(format!(
                "a selection has {count} directives; at most {} are allowed",
                self.limits.directives
            )));
        }
        Ok(())
    }
}

fn limit(message: String) -> ServerError {
    refused(message, "query")
}

/// `GRAPHQL_VALIDATION_FAILED` naming what was refused.
fn refused(message: impl Into<String>, field: &str) -> ServerError {
    let (mut error, mut extensions) = coded(message, Code::GraphqlValidationFailed);
    extensions.set("field", field);
    error.extensions = Some(extensions);
    error
}

/// An error with `code`, and its extensions to add to.
fn coded(message: impl Into<String>, code: Code) -> (ServerError, ErrorExtensionValues) {
    let error = crate::graphql::errors::coded(code, message);
    let extensions = error.extensions.clone().unwrap_or_default();
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
        match self.0.charge(*who, cost).await {
            Ok(()) => Ok(result),
            Err(wait) => {
                let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                let (mut error, mut extensions) = coded(
                    format!("rate limit exceeded: this query costs {cost}; try again in {secs} s"),
                    Code::RateLimited,
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
