//! The GraphQL schema: one `MergedObject` per root, built once and shared.

pub mod account;
pub mod api_key;
pub mod background_job;
pub mod catalog;
pub mod competence;
pub mod context;
pub mod errors;
pub mod exchange;
pub mod limits;
mod list_bounds;
pub mod matching;
pub mod need;
pub mod offer;
pub mod organization;
pub mod pagination;
pub mod search;
pub mod skill;
pub mod wake;
pub mod webhook;

use async_graphql::{MergedObject, MergedSubscription, Schema, SchemaBuilder};

use crate::config::Limits;
use crate::ratelimit::{Quotas, RateLimiter};

pub use context::{AppState, LoaderCache, attach_request_data};

#[derive(MergedObject, Default)]
pub struct QueryRoot(
    account::AccountQuery,
    organization::OrganizationQuery,
    skill::SkillQuery,
    catalog::CatalogQuery,
    need::NeedQuery,
    search::SearchQuery,
    CollaborationQuery,
);

/// Matching, offers and webhooks (nested to keep the root merge small).
#[derive(MergedObject, Default)]
pub struct CollaborationQuery(
    matching::MatchingQuery,
    offer::OfferQuery,
    webhook::WebhookQuery,
    api_key::ApiKeyQuery,
    background_job::BackgroundJobQuery,
    exchange::ExchangeQuery,
    competence::CompetenceQuery,
);

#[derive(MergedObject, Default)]
pub struct MutationRoot(
    account::AccountMutation,
    organization::OrganizationMutation,
    skill::SkillMutation,
    catalog::CatalogMutation,
    need::NeedMutation,
    offer::OfferMutation,
    webhook::WebhookMutation,
    api_key::ApiKeyMutation,
    background_job::BackgroundJobMutation,
    exchange::ExchangeMutation,
    competence::CompetenceMutation,
);

#[derive(MergedSubscription, Default)]
pub struct SubscriptionRoot(
    organization::OrganizationSubscription,
    matching::MatchingSubscription,
    offer::OfferSubscription,
);

pub type AppSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// Whether introspection and "did you mean" suggestions are offered (off in production).
#[derive(Debug, Clone, Copy)]
pub struct SchemaOptions {
    pub introspection: bool,
}

/// The schema without runtime data: enough for `export-schema`.
pub fn schema_builder(
    limits: &Limits,
    options: SchemaOptions,
) -> SchemaBuilder<QueryRoot, MutationRoot, SubscriptionRoot> {
    // Depth, nesting and directives are checked by `limits::QueryShape`, which measures introspection
    // apart from real fields and never walks a fragment twice.
    let builder = Schema::build(QueryRoot::default(), MutationRoot::default(), SubscriptionRoot::default())
        .limit_complexity(limits.max_complexity);
    if options.introspection { builder } else { builder.disable_introspection().disable_suggestions() }
}

pub fn build_schema(state: AppState, options: SchemaOptions) -> AppSchema {
    let limits = state.settings.limits.clone();
    // `Application` checked the Redis URL before; should it still fail, limits stay per instance.
    let limiter =
        RateLimiter::from_settings(&state.settings, state.metrics.clone()).unwrap_or_else(|error| {
            tracing::error!(error = %error, "rate limits are per instance: Redis cannot be used");
            RateLimiter::new(Quotas::of(&limits))
        });
    let limiter = std::sync::Arc::new(limiter);
    // Outermost first: every error leaves with its code; the wake-up sees every parsed document,
    // also those the shape check kept; the
    // rate limit charges the cost the shape check has raised to at least one per field.
    let builder = schema_builder(&limits, options)
        .extension(errors::CodedErrors)
        .extension(wake::WakeWorkers { workers: vec![state.jobs_wake.clone(), state.indexing_wake.clone()] })
        .extension(limits::RateLimit(limiter))
        .extension(limits::QueryShape::new(&limits, options.introspection));
    let builder = if state.settings.diagnostics { builder.extension(limits::PanicProbe) } else { builder };
    builder.data(state).finish()
}

/// The SDL that `schema.graphql` holds.
pub fn sdl() -> String {
    schema_builder(&Limits::default(), SchemaOptions { introspection: true }).finish().sdl()
}
