//! sea-orm entities, nothing else: GraphQL types live in `api` and convert from these models.

pub mod membership;
pub mod organization;
pub mod refresh_token;
pub mod user;
