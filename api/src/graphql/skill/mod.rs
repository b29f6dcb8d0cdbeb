//! The skills vocabulary shared by courses and needs.

mod mutation;
mod query;
pub mod types;

pub use mutation::SkillMutation;
pub use query::SkillQuery;
