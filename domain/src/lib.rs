//! Bildungsmarkt's domain: services, matching, search, background workers, data access and events.
//!
//! Nothing here knows HTTP or GraphQL: the `api` crate turns requests into calls of [`service`]
//! functions, each taking the one [`context::AppState`], and their [`error::ApiError`]s into
//! responses.

pub mod alerts;
pub mod auth;
pub mod competence;
pub mod config;
pub mod context;
pub mod db;
pub mod error;
pub mod events;
pub mod exchange;
pub mod jobs;
pub mod matching;
pub mod metrics;
pub mod outage;
pub mod search;
pub mod seed;
pub mod service;
pub mod shutdown;
