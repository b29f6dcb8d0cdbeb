//! HTTP concerns of the API: the GraphQL routes, who a request is, errors as HTTP answers, and the
//! operators' probes and metrics.
//! `startup` only builds and runs the server from these.

pub mod errors;
pub mod exports;
pub mod graphql;
pub mod identity;
pub mod probes;
