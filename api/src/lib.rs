//! Bildungsmarkt's server: the GraphQL API and the HTTP server over the [`domain`] crate.

pub mod cli;
pub mod graphiql;
pub mod graphql;
pub mod http;
pub mod ratelimit;
pub mod startup;
pub mod telemetry;
pub mod ws;

// The domain's modules under their old paths, for the resolvers and the binaries.
pub use domain::{
    alerts, auth, competence, config, context, db, error, events, exchange, jobs, matching, metrics, outage,
    search, seed, service, shutdown,
};
