//! Accounts: register, login, tokens, `me`.

mod mutation;
mod query;
pub mod types;

pub use mutation::AccountMutation;
pub use query::AccountQuery;
