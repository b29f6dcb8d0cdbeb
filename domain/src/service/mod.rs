//! Business rules and transactions. Resolvers call these; they never touch GraphQL types.

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
