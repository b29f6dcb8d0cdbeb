use async_graphql::{Context, ID, Object, Result};
use entity::course::CourseStatus;

use super::types::{Course, CourseInput, Offering, OfferingInput};
use crate::graphql::context::{self, parse_id, require_user};
use crate::service::courses;

#[derive(Default)]
pub struct CatalogMutation;

#[Object]
impl CatalogMutation {
    /// Creates a DRAFT course of a provider you belong to. `input.title` is required.
    async fn create_course(&self, ctx: &Context<'_>, provider_id: ID, input: CourseInput) -> Result<Course> {
        let caller = require_user(ctx)?;
        let state = context::state(ctx)?;
        let provider = parse_id("providerId", &provider_id)?;
        Ok(courses::create(state, caller, provider, input.into()).await?.into())
    }

    /// Edits a course. `expectedVersion` is the `version` you read; a stale one is a `CONFLICT` and
    /// nothing is written. A published course must stay publishable.
    async fn update_course(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
        input: CourseInput,
    ) -> Result<Course> {
        let caller = require_user(ctx)?;
        let state = context::state(ctx)?;
        Ok(courses::update(state, caller, parse_id("id", &id)?, expected_version, input.into()).await?.into())
    }

    /// DRAFT → PUBLISHED. Needs a description, duration, price, language, at least one skill and one
    /// offering (or a rolling start), and the conditions of the funding options listed.
    async fn publish_course(&self, ctx: &Context<'_>, id: ID, expected_version: i32) -> Result<Course> {
        change_status(ctx, id, expected_version, CourseStatus::Published).await
    }

    /// PUBLISHED → ARCHIVED: out of the catalogue, still readable by id. (Delete a draft instead.)
    async fn archive_course(&self, ctx: &Context<'_>, id: ID, expected_version: i32) -> Result<Course> {
        change_status(ctx, id, expected_version, CourseStatus::Archived).await
    }

    /// PUBLISHED or ARCHIVED → DRAFT, to rework a course out of public view.
    async fn unpublish_course(&self, ctx: &Context<'_>, id: ID, expected_version: i32) -> Result<Course> {
        change_status(ctx, id, expected_version, CourseStatus::Draft).await
    }

    /// Deletes a course and its offerings; returns its id.
    async fn delete_course(&self, ctx: &Context<'_>, id: ID) -> Result<ID> {
        let caller = require_user(ctx)?;
        let state = context::state(ctx)?;
        let deleted = courses::delete(state, caller, parse_id("id", &id)?).await?;
        Ok(ID(deleted.id.to_string()))
    }

    /// Adds a dated run to a course. `input.startDate` and `input.endDate` are required.
    async fn add_offering(&self, ctx: &Context<'_>, course_id: ID, input: OfferingInput) -> Result<Offering> {
        let caller = require_user(ctx)?;
        let state = context::state(ctx)?;
        let course = parse_id("courseId", &course_id)?;
        Ok(courses::add_offering(state, caller, course, input.into()).await?.into())
    }

    /// Edits an offering, with the same version check as `updateCourse`.
    async fn update_offering(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
        input: OfferingInput,
    ) -> Result<Offering> {
        let caller = require_user(ctx)?;
        let state = context::state(ctx)?;
        let id = parse_id("id", &id)?;
        Ok(courses::update_offering(state, caller, id, expected_version, input.into()).await?.into())
    }

    /// Removes an offering; returns its id. The last offering of a published course without rolling
    /// start stays (`CONFLICT`): archive the course instead.
    async fn delete_offering(&self, ctx: &Context<'_>, id: ID) -> Result<ID> {
        let caller = require_user(ctx)?;
        let state = context::state(ctx)?;
        let deleted = courses::delete_offering(state, caller, parse_id("id", &id)?).await?;
        Ok(ID(deleted.id.to_string()))
    }
}

async fn change_status(
    ctx: &Context<'_>,
    id: ID,
    expected_version: i32,
    status: CourseStatus,
) -> Result<Course> {
    let caller = require_user(ctx)?;
    let state = context::state(ctx)?;
    Ok(courses::change_status(state, caller, parse_id("id", &id)?, expected_version, status).await?.into())
}
