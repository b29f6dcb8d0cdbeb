//! Organizations (providers and firms) and their members.

pub mod loaders;
mod mutation;
mod query;
mod subscription;
pub mod types;

pub use mutation::OrganizationMutation;
pub use query::OrganizationQuery;
pub use subscription::OrganizationSubscription;
