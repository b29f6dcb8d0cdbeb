//! Integration tests through the real HTTP and WebSocket endpoints, one binary (see helpers.rs).

mod auth;
mod helpers;
mod organizations;
mod server;
mod subscriptions;
mod tokens;
