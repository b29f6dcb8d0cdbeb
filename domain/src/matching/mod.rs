//! The matching engine: ranks course offerings for a qualification need (and, called per pair, needs
//! for a course: leads). Pure and synchronous — callers load the data, this module only scores.
//!
//! - [`score`] — the nine criteria (skills, DQR level, distance, start window, price after funding,
//!   seats for the pooled participants, schedule, language), each with a German explanation, the
//!   weighted total and the hard constraints that exclude a candidate. [`score::quick`] yields the
//!   same total, exclusion and distance without any text, for ranking many candidates cheaply.
//! - [`funding`] — the estimated QCG (§ 82 SGB III) subsidy from dated rules.
//! - [`config`] — weights, tunables and funding rules from `matching-config/`, compiled in.

pub mod config;
pub mod funding;
pub mod score;
mod text;

pub use config::{ConfigError, FundingRule, FundingRules, MatchingConfig, SizeBand, Weights};
pub use funding::{FundingEstimate, FundingFacts, estimate, subsidy_percent};
pub use score::{
    Candidate, Criterion, CriterionResult, MatchScore, NeedProfile, PoolMember, QuickScore, SkillRef, quick,
    quick_order, rank, score,
};
