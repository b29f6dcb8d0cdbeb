//! Catalogue imports: a provider's OpenQCAT file or CSV sheet uploaded, run in the background, its
//! report and the history of runs.

mod mutation;
mod query;
pub mod types;

pub use mutation::ExchangeMutation;
pub use query::ExchangeQuery;
