//! Course discovery: full-text search with filters, facets and geo, and suggestions as you type.

mod query;
pub mod types;

pub use query::SearchQuery;
