//! Business rules and transactions. Resolvers call these; they never touch GraphQL types.
//!
//! Two kinds of function, by what they take:
//! - an operation (create, update, list, find what the caller may see) takes the one
//!   [`crate::context::AppState`] and opens its own transaction where it writes;
//! - a building block (`organizations::role_of`, `access::member_of_kind`, …) takes any connection
//!   (`&impl ConnectionTrait`), so that operations compose it inside their transaction; those the
//!   API reads outside a transaction are public, the rest are `pub(crate)`.

pub mod access;
pub mod accounts;
pub mod api_keys;
pub mod background_jobs;
pub mod courses;
pub mod invitations;
pub mod json_list;
pub mod matching;
pub mod needs;
pub mod offers;
pub mod organizations;
pub mod pooling;
pub mod search;
pub mod skills;
pub mod throttle;
pub mod validate;
pub mod webhooks;
