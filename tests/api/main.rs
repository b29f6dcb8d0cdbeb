//! Integration tests through the real HTTP and WebSocket endpoints, one binary (see helpers.rs).

mod alerts;
mod auth;
mod catalog;
mod demo;
mod helpers;
mod invitations;
mod keys;
mod login_memory;
mod matching;
mod needs;
mod offers;
mod organizations;
mod outbox;
mod search;
mod server;
mod skills;
mod subscriptions;
mod tenancy;
mod tokens;
