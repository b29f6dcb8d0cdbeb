//! Integration tests through the real HTTP and WebSocket endpoints, one binary (see helpers.rs).

mod alerts;
mod auth;
mod bounds;
mod catalog;
mod convergence;
mod demo;
mod exposure;
mod graphiql;
mod helpers;
mod invitations;
mod keys;
mod limits;
mod login_memory;
mod matching;
mod needs;
mod offers;
mod organizations;
mod outage;
mod outbox;
mod search;
mod server;
mod skills;
mod subscriptions;
mod tenancy;
mod tokens;
mod websocket_limits;
