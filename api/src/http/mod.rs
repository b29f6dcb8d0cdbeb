//! HTTP concerns of the API: the GraphQL routes, who a request is, and errors as HTTP answers.
//! `startup` only builds and runs the server from these.

pub mod errors;
pub mod graphql;
pub mod identity;
