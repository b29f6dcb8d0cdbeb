//! Business rules and transactions. Resolvers call these; they never touch GraphQL types.

pub mod accounts;
pub mod organizations;
pub mod validate;
