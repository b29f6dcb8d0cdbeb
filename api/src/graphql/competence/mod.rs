//! Competences: job profiles, a firm's staff with assessments and prior learning, the gap analysis,
//! needs drafted from gaps and learning paths (see `domain::competence`).

mod mutation;
mod query;
pub mod types;

pub use mutation::CompetenceMutation;
pub use query::CompetenceQuery;
