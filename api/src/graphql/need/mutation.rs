use async_graphql::{Context, ID, Object, Result};

use super::types::{NeedInput, NeedStatus, QualificationNeed};
use crate::graphql::context::{self, parse_id, require_user};
use crate::service::needs;

#[derive(Default)]
pub struct NeedMutation;

#[Object]
impl NeedMutation {
    /// Creates a DRAFT need of a firm you belong to. `input.title` is required.
    async fn create_need(
        &self,
        ctx: &Context<'_>,
        firm_id: ID,
        input: NeedInput,
    ) -> Result<QualificationNeed> {
        let caller = require_user(ctx)?;
        let state = context::state(ctx)?;
        let firm = parse_id("firmId", &firm_id)?;
        Ok(needs::create(state, caller, firm, input.into()).await?.into())
    }

    /// Edits a DRAFT or OPEN need, with the version check of `updateOrganization`.
    async fn update_need(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
        input: NeedInput,
    ) -> Result<QualificationNeed> {
        let caller = require_user(ctx)?;
        let state = context::state(ctx)?;
        Ok(needs::update(state, caller, parse_id("id", &id)?, expected_version, input.into()).await?.into())
    }

    /// Moves a need through its lifecycle: DRAFT → OPEN → IN_NEGOTIATION → FULFILLED, back from OPEN
    /// to DRAFT and from IN_NEGOTIATION to OPEN, and to CLOSED or CANCELLED from any open state.
    /// Opening needs a MUST skill and a location (or online acceptable).
    async fn change_need_status(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
        status: NeedStatus,
    ) -> Result<QualificationNeed> {
        let caller = require_user(ctx)?;
        let state = context::state(ctx)?;
        let id = parse_id("id", &id)?;
        let changed = needs::change_status(state, caller, id, expected_version, status.into()).await?;
        Ok(changed.into())
    }

    /// Deletes a DRAFT need; returns its id.
    async fn delete_need(&self, ctx: &Context<'_>, id: ID) -> Result<ID> {
        let caller = require_user(ctx)?;
        let state = context::state(ctx)?;
        let deleted = needs::delete(state, caller, parse_id("id", &id)?).await?;
        Ok(ID(deleted.id.to_string()))
    }
}
