//! Webhook endpoints of organizations and their recorded deliveries.

mod mutation;
mod query;
pub mod types;

pub use mutation::WebhookMutation;
pub use query::WebhookQuery;
