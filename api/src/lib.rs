//! Bildungsmarkt's server: configuration, data access, GraphQL API and HTTP server.

pub mod alerts;
pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod error;
pub mod events;
pub mod graphiql;
pub mod graphql;
pub mod matching;
pub mod metrics;
pub mod outage;
pub mod ratelimit;
pub mod search;
pub mod seed;
pub mod service;
pub mod shutdown;
pub mod startup;
pub mod telemetry;
pub mod ws;
