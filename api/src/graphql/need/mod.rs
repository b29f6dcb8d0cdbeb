//! Qualification needs of firms.

pub mod loaders;
mod mutation;
mod query;
pub mod types;

pub use mutation::NeedMutation;
pub use query::NeedQuery;
