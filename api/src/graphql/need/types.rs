use std::sync::Arc;

use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, MaybeUndefined, Result, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use entity::qualification_need as need;

use super::loaders::{CallerOrganizationsLoader, NeedSkillsLoader, OffersLoader, ParticipationsLoader};
use crate::error::ApiError;
use crate::graphql::catalog::types::{CourseSchedule, FundingOption, maybe};
use crate::graphql::context::{self, loader};
use crate::graphql::offer::types::{NeedParticipation, Offer};
use crate::graphql::organization::loaders::OrganizationLoader;
use crate::graphql::organization::types::{Bundesland, GeoPoint, GeoPointInput, LIST_COST, Organization};
use crate::graphql::skill::types::Skill;
use crate::service::needs::{self, NeedFields, NeedLocation as ServiceLocation};
use crate::service::pooling::PoolChange;
use crate::service::{json_list, offers};

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entity::qualification_need::NeedStatus")]
pub enum NeedStatus {
    /// Being written; only the firm sees it.
    Draft,
    /// Looking for offers.
    Open,
    /// An offer is being discussed.
    InNegotiation,
    /// Done: the training is arranged.
    Fulfilled,
    /// Closed without a result.
    Closed,
    Cancelled,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entity::qualification_need::NeedVisibility")]
pub enum NeedVisibility {
    /// All providers see it while it is OPEN.
    Public,
    /// Only the firm.
    Private,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entity::need_skill::SkillImportance")]
pub enum SkillImportance {
    /// Must be covered.
    Must,
    /// Nice to have.
    Nice,
}

/// A skill a need asks for.
#[derive(SimpleObject, Clone)]
pub struct NeedSkill {
    pub skill: Skill,
    pub importance: SkillImportance,
}

/// Where the participants are.
#[derive(SimpleObject, Clone)]
pub struct NeedLocation {
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub bundesland: Option<Bundesland>,
    pub point: Option<GeoPoint>,
}

/// A firm's qualification need (Weiterbildungsbedarf).
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct QualificationNeed {
    pub id: ID,
    pub status: NeedStatus,
    pub title: String,
    pub description: String,
    pub target_dqr_level: Option<i32>,
    /// Number of participants of the owning firm.
    pub participants: i32,
    pub location: NeedLocation,
    /// How far participants may travel.
    pub max_distance_km: Option<i32>,
    pub online_acceptable: bool,
    pub preferred_schedule: Option<CourseSchedule>,
    pub earliest_start: Option<NaiveDate>,
    pub latest_start: Option<NaiveDate>,
    pub budget_cents_per_participant: Option<i64>,
    pub funding_wanted: Vec<FundingOption>,
    /// Other firms may join with their own participants.
    pub poolable: bool,
    /// ISO 639-1 code of the language the course should be held in.
    pub language: String,
    pub visibility: NeedVisibility,
    pub opened_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Pass as `expectedVersion` to `updateNeed` and `changeNeedStatus`.
    pub version: i32,
    #[graphql(skip)]
    pub model: need::Model,
    /// What a pool change read in its transaction (see [`PoolChange`]); else loaded on demand.
    #[graphql(skip)]
    pub read_with_change: Option<Arc<PoolChange>>,
}

impl From<need::Model> for QualificationNeed {
    fn from(m: need::Model) -> Self {
        Self {
            id: ID(m.id.to_string()),
            status: m.status.into(),
            title: m.title.clone(),
            description: m.description.clone(),
            target_dqr_level: m.target_dqr_level.map(i32::from),
            participants: m.participants,
            location: NeedLocation {
                postal_code: m.postal_code.clone(),
                city: m.city.clone(),
                bundesland: m.bundesland.map(Into::into),
                point: m.latitude.zip(m.longitude).map(|(lat, lng)| GeoPoint { lat, lng }),
            },
            max_distance_km: m.max_distance_km,
            online_acceptable: m.online_acceptable,
            preferred_schedule: m.preferred_schedule.map(Into::into),
            earliest_start: m.earliest_start,
            latest_start: m.latest_start,
            budget_cents_per_participant: m.budget_cents_per_participant,
            funding_wanted: json_list::decode::<entity::course::FundingOption>(&m.funding_wanted)
                .into_iter()
                .map(Into::into)
                .collect(),
            poolable: m.poolable,
            language: m.language.clone(),
            visibility: m.visibility.into(),
            opened_at: m.opened_at,
            created_at: m.created_at,
            updated_at: m.updated_at,
            version: m.version,
            model: m,
            read_with_change: None,
        }
    }
}

impl From<PoolChange> for QualificationNeed {
    fn from(change: PoolChange) -> Self {
        let mut need = Self::from(change.need.clone());
        need.read_with_change = Some(Arc::new(change));
        need
    }
}

impl QualificationNeed {
    async fn pool(&self, ctx: &Context<'_>) -> Result<Vec<entity::need_participation::Model>> {
        if let Some(change) = &self.read_with_change {
            return Ok(change.pool.clone());
        }
        Ok(loader::<ParticipationsLoader>(ctx)?
            .load_one(self.model.id)
            .await
            .map_err(ApiError::from)?
            .unwrap_or_default())
    }

    async fn caller_organizations(&self, ctx: &Context<'_>) -> Result<Vec<uuid::Uuid>> {
        if let Some(change) = &self.read_with_change {
            return Ok(change.caller_organizations.clone());
        }
        let caller = context::require_user(ctx)?;
        Ok(loader::<CallerOrganizationsLoader>(ctx)?
            .load_one(caller)
            .await
            .map_err(ApiError::from)?
            .unwrap_or_default())
    }
}

#[ComplexObject]
impl QualificationNeed {
    /// The firm that posted the need.
    async fn firm(&self, ctx: &Context<'_>) -> Result<Organization> {
        let firm = loader::<OrganizationLoader>(ctx)?
            .load_one(self.model.firm_id)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::not_found("firm"))?;
        Ok(firm.into())
    }

    /// The firm's participants plus those of the firms that joined.
    async fn pooled_participants(&self, ctx: &Context<'_>) -> Result<i32> {
        let pool = self.pool(ctx).await?;
        Ok(self.model.participants + pool.iter().map(|p| p.participants).sum::<i32>())
    }

    /// Firms that joined this need with their own participants, oldest first; only the firms of
    /// the pool see them (others see `pooledParticipants`).
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn participations(&self, ctx: &Context<'_>) -> Result<Vec<NeedParticipation>> {
        let pool = self.pool(ctx).await?;
        let own = self.caller_organizations(ctx).await?;
        let firms = pool_firms(&self.model, &pool);
        Ok(if needs::in_pool(&own, &firms) { pool.into_iter().map(Into::into).collect() } else { Vec::new() })
    }

    /// Offers on the need: all of them for the firms of its pool, its own for a provider.
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn offers(&self, ctx: &Context<'_>) -> Result<Vec<Offer>> {
        let offers = loader::<OffersLoader>(ctx)?
            .load_one(self.model.id)
            .await
            .map_err(ApiError::from)?
            .unwrap_or_default();
        let own = self.caller_organizations(ctx).await?;
        let pool = pool_firms(&self.model, &self.pool(ctx).await?);
        Ok(offers.into_iter().filter(|o| offers::visible_to(o, &own, &pool)).map(Into::into).collect())
    }

    /// Required skills, MUST and NICE, in the firm's order.
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn skills(&self, ctx: &Context<'_>) -> Result<Vec<NeedSkill>> {
        let rows = loader::<NeedSkillsLoader>(ctx)?
            .load_one(self.model.id)
            .await
            .map_err(ApiError::from)?
            .unwrap_or_default();
        Ok(rows
            .into_iter()
            .map(|(link, skill)| NeedSkill { skill: skill.into(), importance: link.importance.into() })
            .collect())
    }
}

#[derive(InputObject, Clone)]
pub struct NeedSkillInput {
    pub skill_id: String,
    pub importance: SkillImportance,
}

#[derive(InputObject, Clone)]
pub struct NeedLocationInput {
    /// Five digits.
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub bundesland: Option<Bundesland>,
    pub point: Option<GeoPointInput>,
}

/// The fields of a need. On create, `title` is required and the location defaults to the firm's;
/// on update, fields left out stay as they are.
#[derive(InputObject, Default)]
pub struct NeedInput {
    /// 3–200 characters.
    pub title: Option<String>,
    pub description: Option<String>,
    /// Replaces the list; at least one MUST skill to open the need. At most 20 values.
    pub skills: Option<Vec<NeedSkillInput>>,
    /// 1–8, or null.
    pub target_dqr_level: MaybeUndefined<i32>,
    /// 1–1000.
    pub participants: Option<i32>,
    /// Replaces the whole location.
    pub location: Option<NeedLocationInput>,
    /// 1–1000 km, or null.
    pub max_distance_km: MaybeUndefined<i32>,
    pub online_acceptable: Option<bool>,
    pub preferred_schedule: MaybeUndefined<CourseSchedule>,
    pub earliest_start: MaybeUndefined<NaiveDate>,
    /// Not before `earliestStart`.
    pub latest_start: MaybeUndefined<NaiveDate>,
    /// In cents.
    pub budget_cents_per_participant: MaybeUndefined<i64>,
    /// At most 20 values.
    pub funding_wanted: Option<Vec<FundingOption>>,
    pub poolable: Option<bool>,
    /// ISO 639-1 code of the course language wanted; defaults to de.
    pub language: Option<String>,
    /// Defaults to PUBLIC.
    pub visibility: Option<NeedVisibility>,
}

impl From<NeedInput> for NeedFields {
    fn from(i: NeedInput) -> Self {
        Self {
            title: i.title,
            description: i.description,
            skills: i
                .skills
                .map(|list| list.into_iter().map(|s| (s.skill_id, s.importance.into())).collect()),
            target_dqr_level: maybe(i.target_dqr_level),
            participants: i.participants,
            location: i.location.map(|l| ServiceLocation {
                postal_code: l.postal_code,
                city: l.city,
                bundesland: l.bundesland.map(Into::into),
                location: l.point.map(|p| (p.lat, p.lng)),
            }),
            max_distance_km: maybe(i.max_distance_km),
            online_acceptable: i.online_acceptable,
            preferred_schedule: maybe(i.preferred_schedule).map(|s| s.map(Into::into)),
            earliest_start: maybe(i.earliest_start),
            latest_start: maybe(i.latest_start),
            budget_cents_per_participant: maybe(i.budget_cents_per_participant),
            funding_wanted: i.funding_wanted.map(|f| f.into_iter().map(Into::into).collect()),
            poolable: i.poolable,
            language: i.language,
            visibility: i.visibility.map(Into::into),
        }
    }
}

/// Filters of `needs`; lists mean "any of".
#[derive(InputObject, Default)]
pub struct NeedFilter {
    pub firm_id: Option<ID>,
    /// At most 20 values.
    #[graphql(default)]
    pub statuses: Vec<NeedStatus>,
    /// Skill ids. At most 50 values.
    #[graphql(default)]
    pub skill_ids: Vec<String>,
    /// At most 20 values.
    #[graphql(default)]
    pub bundeslaender: Vec<Bundesland>,
}

/// The need's firm and the firms that joined it (as [`needs::pool_firms`] reads them).
fn pool_firms(need: &need::Model, joined: &[entity::need_participation::Model]) -> Vec<uuid::Uuid> {
    std::iter::once(need.firm_id).chain(joined.iter().map(|p| p.firm_id)).collect()
}
