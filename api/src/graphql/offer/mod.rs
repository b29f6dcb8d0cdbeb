//! Pooling needs across firms, and providers' offers on needs.

mod mutation;
mod query;
mod subscription;
pub mod types;

pub use mutation::OfferMutation;
pub use query::OfferQuery;
pub use subscription::OfferSubscription;
