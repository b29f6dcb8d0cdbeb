//! Explained matches between needs and offerings, leads for providers, funding estimates.

mod query;
mod subscription;
pub mod types;

pub use query::MatchingQuery;
pub use subscription::MatchingSubscription;
