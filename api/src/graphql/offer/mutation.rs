use async_graphql::{Context, ID, Object, Result};

use super::types::{Offer, SubmitOfferInput};
use crate::graphql::context::{self, parse_id, require_user};
use crate::graphql::need::types::QualificationNeed;
use crate::service::offers::{self, NewOffer, Proposal};
use crate::service::pooling;

#[derive(Default)]
pub struct OfferMutation;

#[Object]
impl OfferMutation {
    /// Joins a poolable OPEN need of another firm with participants of your firm `organizationId`
    /// (Verbundweiterbildung). Matching then counts the pooled participants and your firm's site.
    async fn join_need(
        &self,
        ctx: &Context<'_>,
        need_id: ID,
        organization_id: ID,
        participants: i32,
        note: Option<String>,
    ) -> Result<QualificationNeed> {
        let caller = require_user(ctx)?;
        let state = context::state(ctx)?;
        let need = parse_id("needId", &need_id)?;
        let firm = parse_id("organizationId", &organization_id)?;
        let change = pooling::join(state, caller, need, firm, participants, note).await?;
        Ok(change.into())
    }

    /// Takes your firm's participants out of a need it joined, while the need is OPEN.
    async fn leave_need(
        &self,
        ctx: &Context<'_>,
        need_id: ID,
        organization_id: ID,
    ) -> Result<QualificationNeed> {
        let caller = require_user(ctx)?;
        let state = context::state(ctx)?;
        let need = parse_id("needId", &need_id)?;
        let firm = parse_id("organizationId", &organization_id)?;
        let change = pooling::leave(state, caller, need, firm).await?;
        Ok(change.into())
    }

    /// A provider offers one of its offerings, or a custom proposal, on an OPEN need. One pending
    /// offer per provider and need.
    async fn submit_offer(&self, ctx: &Context<'_>, input: SubmitOfferInput) -> Result<Offer> {
        let caller = require_user(ctx)?;
        let state = context::state(ctx)?;
        let new = NewOffer {
            need_id: parse_id("input.needId", &input.need_id)?,
            provider_id: parse_id("input.providerId", &input.provider_id)?,
            offering_id: input.offering_id.as_ref().map(|id| parse_id("input.offeringId", id)).transpose()?,
            proposal: input.proposal.map(|p| Proposal {
                title: p.title,
                start_date: p.start_date,
                end_date: p.end_date,
                price_cents_per_participant: p.price_cents_per_participant,
                inhouse: p.inhouse,
            }),
            message: input.message,
        };
        let offer = offers::submit(state, caller, new).await?;
        Ok(offer.into())
    }

    /// The firm accepts a pending offer: the need moves to IN_NEGOTIATION and its other pending
    /// offers are declined. Of two concurrent accepts on one need exactly one succeeds.
    async fn accept_offer(&self, ctx: &Context<'_>, offer_id: ID) -> Result<Offer> {
        let caller = require_user(ctx)?;
        let state = context::state(ctx)?;
        let offer = offers::accept(state, caller, parse_id("offerId", &offer_id)?).await?;
        Ok(offer.into())
    }

    /// The firm declines a pending offer.
    async fn decline_offer(&self, ctx: &Context<'_>, offer_id: ID) -> Result<Offer> {
        let caller = require_user(ctx)?;
        let state = context::state(ctx)?;
        let offer = offers::decline(state, caller, parse_id("offerId", &offer_id)?).await?;
        Ok(offer.into())
    }

    /// The provider takes back its pending offer.
    async fn withdraw_offer(&self, ctx: &Context<'_>, offer_id: ID) -> Result<Offer> {
        let caller = require_user(ctx)?;
        let state = context::state(ctx)?;
        let offer = offers::withdraw(state, caller, parse_id("offerId", &offer_id)?).await?;
        Ok(offer.into())
    }
}
