use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, Result, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use entity::{need_participation, offer};

use crate::error::ApiError;
use crate::events::OfferChange;
use crate::graphql::catalog::types::Offering;
use crate::graphql::context::{self, loader};
use crate::graphql::organization::loaders::OrganizationLoader;
use crate::graphql::organization::types::Organization;
use crate::service::courses;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entity::offer::OfferStatus")]
pub enum OfferStatus {
    /// Waiting for the firm's answer.
    Submitted,
    Accepted,
    /// Declined by the firm, or because it accepted another offer or ended the need.
    Declined,
    /// Taken back by the provider.
    Withdrawn,
}

/// A provider's offer on a need.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Offer {
    pub id: ID,
    pub need_id: ID,
    pub status: OfferStatus,
    /// Title of a custom proposal (null when an existing offering is offered).
    pub title: Option<String>,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    /// Price per participant in cents.
    pub price_cents_per_participant: Option<i64>,
    /// Held at the firm's site.
    pub inhouse: bool,
    pub message: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When the firm accepted or declined, or the provider withdrew.
    pub decided_at: Option<DateTime<Utc>>,
    pub version: i32,
    #[graphql(skip)]
    pub model: offer::Model,
}

impl From<offer::Model> for Offer {
    fn from(m: offer::Model) -> Self {
        Self {
            id: ID(m.id.to_string()),
            need_id: ID(m.need_id.to_string()),
            status: m.status.into(),
            title: m.title.clone(),
            start_date: m.start_date,
            end_date: m.end_date,
            price_cents_per_participant: m.price_cents_per_participant,
            inhouse: m.inhouse,
            message: m.message.clone(),
            created_at: m.created_at,
            updated_at: m.updated_at,
            decided_at: m.decided_at,
            version: m.version,
            model: m,
        }
    }
}

#[ComplexObject]
impl Offer {
    async fn provider(&self, ctx: &Context<'_>) -> Result<Organization> {
        organization(ctx, self.model.provider_id).await
    }

    /// The offering offered; null for a custom proposal.
    async fn offering(&self, ctx: &Context<'_>) -> Result<Option<Offering>> {
        let Some(id) = self.model.offering_id else { return Ok(None) };
        let state = context::state(ctx)?;
        match courses::find_offering(state, None, id).await {
            Ok(run) => Ok(Some(run.into())),
            // Its course is no longer public.
            Err(ApiError::NotFound(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

pub async fn organization(ctx: &Context<'_>, id: uuid::Uuid) -> Result<Organization> {
    let org = loader::<OrganizationLoader>(ctx)?
        .load_one(id)
        .await
        .map_err(ApiError::from)?
        .ok_or_else(|| ApiError::not_found("organization"))?;
    Ok(org.into())
}

/// A firm that joined a pooled need.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct NeedParticipation {
    pub participants: i32,
    pub note: Option<String>,
    pub joined_at: DateTime<Utc>,
    #[graphql(skip)]
    pub model: need_participation::Model,
}

impl From<need_participation::Model> for NeedParticipation {
    fn from(m: need_participation::Model) -> Self {
        Self { participants: m.participants, note: m.note.clone(), joined_at: m.created_at, model: m }
    }
}

#[ComplexObject]
impl NeedParticipation {
    async fn firm(&self, ctx: &Context<'_>) -> Result<Organization> {
        organization(ctx, self.model.firm_id).await
    }
}

/// A custom proposal: e.g. an inhouse course for the pooled firms.
#[derive(InputObject, Clone)]
pub struct ProposalInput {
    /// 3–200 characters.
    pub title: String,
    /// Not in the past.
    pub start_date: Option<NaiveDate>,
    /// Not before the start.
    pub end_date: Option<NaiveDate>,
    /// In cents.
    pub price_cents_per_participant: Option<i64>,
    #[graphql(default)]
    pub inhouse: bool,
}

/// An offer: exactly one of `offeringId` and `proposal`.
#[derive(InputObject)]
pub struct SubmitOfferInput {
    pub need_id: ID,
    /// The provider making the offer (you must be a member).
    pub provider_id: ID,
    /// One of the provider's published offerings that has not started.
    pub offering_id: Option<ID>,
    pub proposal: Option<ProposalInput>,
    /// 1–5000 characters to the firm.
    pub message: String,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum OfferEventType {
    Submitted,
    Accepted,
    Declined,
    Withdrawn,
}

impl From<OfferChange> for OfferEventType {
    fn from(c: OfferChange) -> Self {
        match c {
            OfferChange::Submitted => Self::Submitted,
            OfferChange::Accepted => Self::Accepted,
            OfferChange::Declined => Self::Declined,
            OfferChange::Withdrawn => Self::Withdrawn,
        }
    }
}

/// A change of an offer on a need.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct OfferEvent {
    pub event_type: OfferEventType,
    pub need_id: ID,
    pub offer_id: ID,
    pub occurred_at: DateTime<Utc>,
}

#[ComplexObject]
impl OfferEvent {
    /// The offer as it is now.
    async fn offer(&self, ctx: &Context<'_>) -> Result<Option<Offer>> {
        let state = context::state(ctx)?;
        let caller = context::require_user(ctx)?;
        let id = context::parse_id("offerId", &self.offer_id)?;
        Ok(crate::service::offers::visible(state, caller, id).await.ok().map(Into::into))
    }
}
