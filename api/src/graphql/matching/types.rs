use async_graphql::{ComplexObject, Context, Enum, ID, Result, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::error::ApiError;
use crate::graphql::catalog::loaders::{CourseLoader, OfferingsLoader};
use crate::graphql::catalog::types::{Course, Offering};
use crate::graphql::context::loader;
use crate::graphql::need::types::QualificationNeed;
use crate::matching::score::{Criterion, CriterionResult, MatchScore};
use crate::matching::{Candidate, FundingEstimate as Estimate};

/// What a match is scored on.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum MatchCriterion {
    /// Share of the MUST skills the course teaches.
    MustSkills,
    /// Share of the NICE skills the course teaches.
    NiceSkills,
    /// Course level against the target DQR level.
    DqrLevel,
    /// Travel distance for every firm in the pool; online counts when accepted.
    Distance,
    /// Start within the need's window.
    StartWindow,
    /// Net cost per participant (after the funding estimate when funding is wanted) against the budget.
    Price,
    /// Free seats against the pooled participants.
    Seats,
    ScheduleFormat,
    Language,
}

impl From<Criterion> for MatchCriterion {
    fn from(c: Criterion) -> Self {
        match c {
            Criterion::MustSkills => Self::MustSkills,
            Criterion::NiceSkills => Self::NiceSkills,
            Criterion::DqrLevel => Self::DqrLevel,
            Criterion::Distance => Self::Distance,
            Criterion::StartWindow => Self::StartWindow,
            Criterion::Price => Self::Price,
            Criterion::Seats => Self::Seats,
            Criterion::ScheduleFormat => Self::ScheduleFormat,
            Criterion::Language => Self::Language,
        }
    }
}

/// One criterion of a score.
#[derive(SimpleObject, Clone)]
pub struct CriterionScore {
    pub criterion: MatchCriterion,
    /// 0–100.
    pub score: i32,
    /// Its weight in the total (from the matching configuration).
    pub weight: f64,
    /// Whether the criterion is fully met.
    pub passed: bool,
    /// One German sentence, e.g. "3 von 4 Pflichtkompetenzen abgedeckt (fehlt: SPS-Programmierung)".
    pub explanation: String,
}

impl From<CriterionResult> for CriterionScore {
    fn from(r: CriterionResult) -> Self {
        Self {
            criterion: r.criterion.into(),
            score: i32::from(r.score),
            weight: r.weight,
            passed: r.passed,
            explanation: r.explanation,
        }
    }
}

/// An estimate of the Qualifizierungschancengesetz (QCG) subsidy. Not legal advice.
#[derive(SimpleObject, Clone)]
pub struct FundingEstimate {
    /// "QCG".
    pub program: String,
    /// The dated rule set applied.
    pub rule_id: Option<String>,
    pub rule_valid_from: Option<NaiveDate>,
    pub eligible: bool,
    /// Each condition met or missed, in German.
    pub reasons: Vec<String>,
    /// Price per participant including VAT, in cents.
    pub gross_cents: Option<i64>,
    /// Course-cost subsidy in percent (0 when not eligible).
    pub subsidy_percent: i32,
    pub subsidy_cents: Option<i64>,
    /// What the firm pays per participant after the subsidy.
    pub net_cents: Option<i64>,
    /// That this is an estimate, not legal advice.
    pub note: String,
}

impl From<Estimate> for FundingEstimate {
    fn from(e: Estimate) -> Self {
        Self {
            program: e.program.to_owned(),
            rule_id: e.rule_id,
            rule_valid_from: e.rule_valid_from,
            eligible: e.eligible,
            reasons: e.reasons,
            gross_cents: e.gross_cents,
            subsidy_percent: i32::from(e.subsidy_percent),
            subsidy_cents: e.subsidy_cents,
            net_cents: e.net_cents,
            note: e.note.to_owned(),
        }
    }
}

/// A course (and offering) scored for a need, with the reasons.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct CourseMatch {
    /// 0–100.
    pub score: i32,
    /// A hard constraint rules it out (listed only with `includeExcluded`).
    pub excluded: bool,
    /// Why it is excluded, in German.
    pub exclusion_reasons: Vec<String>,
    /// Every criterion with score, weight and explanation.
    pub breakdown: Vec<CriterionScore>,
    /// From the need's location to the venue; null for online or unknown places.
    pub distance_km: Option<f64>,
    pub funding_estimate: Option<FundingEstimate>,
    #[graphql(skip)]
    pub course_id: Uuid,
    #[graphql(skip)]
    pub offering_id: Option<Uuid>,
}

impl CourseMatch {
    pub fn new(candidate: &Candidate, score: MatchScore) -> Self {
        Self {
            score: i32::from(score.score),
            excluded: score.excluded,
            exclusion_reasons: score.exclusion_reasons,
            breakdown: score.breakdown.into_iter().map(Into::into).collect(),
            distance_km: score.distance_km.map(|d| (d * 10.0).round() / 10.0),
            funding_estimate: score.funding.map(Into::into),
            course_id: candidate.course_id,
            offering_id: candidate.offering_id,
        }
    }
}

#[ComplexObject]
impl CourseMatch {
    async fn course(&self, ctx: &Context<'_>) -> Result<Course> {
        let course = loader::<CourseLoader>(ctx)?
            .load_one(self.course_id)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::not_found("course"))?;
        Ok(course.into())
    }

    /// The dated offering scored; null for a course with a rolling start and no dates.
    async fn offering(&self, ctx: &Context<'_>) -> Result<Option<Offering>> {
        let Some(id) = self.offering_id else { return Ok(None) };
        let runs = loader::<OfferingsLoader>(ctx)?
            .load_one(self.course_id)
            .await
            .map_err(ApiError::from)?
            .unwrap_or_default();
        Ok(runs.into_iter().find(|r| r.id == id).map(Into::into))
    }
}

/// An open need a provider could serve, with its best course.
#[derive(SimpleObject)]
pub struct Lead {
    pub need: QualificationNeed,
    /// The provider's best course (and offering) for the need.
    pub best_match: CourseMatch,
}

/// A new lead, as it is announced.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct LeadEvent {
    pub need_id: ID,
    pub course_id: ID,
    pub offering_id: Option<ID>,
    /// 0–100.
    pub score: i32,
    pub occurred_at: DateTime<Utc>,
}

#[ComplexObject]
impl LeadEvent {
    /// The course that matched.
    async fn course(&self, ctx: &Context<'_>) -> Result<Option<Course>> {
        let Ok(id) = Uuid::parse_str(&self.course_id) else { return Ok(None) };
        Ok(loader::<CourseLoader>(ctx)?.load_one(id).await.map_err(ApiError::from)?.map(Into::into))
    }
}
