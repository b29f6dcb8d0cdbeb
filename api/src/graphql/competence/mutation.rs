use async_graphql::{Context, ID, Object, Result};
use chrono::NaiveDate;

use super::types::{
    AssessmentInput, AssessmentSource, GapChoiceInput, JobProfile, JobProfileInput, PriorLearning,
    PriorLearningInput, StaffMember, StaffMemberInput,
};
use crate::competence::drafts::{self, GapChoice};
use crate::competence::profiles;
use crate::competence::staff::{self, EvidenceFields};
use crate::graphql::context::{self, parse_id, require_person, require_user};
use crate::graphql::need::types::QualificationNeed;
use crate::service::accounts;

async fn platform_admin(ctx: &Context<'_>, caller: uuid::Uuid) -> Result<bool> {
    let state = context::state(ctx)?;
    Ok(accounts::find_by_id(&state.db, caller).await?.is_some_and(|u| u.is_platform_admin))
}

#[derive(Default)]
pub struct CompetenceMutation;

#[Object]
impl CompetenceMutation {
    /// A new job profile: a firm's own (`organizationId`, its OWNER/ADMIN) or, without it, a shared
    /// one (platform admins). Needs a name and at least one skill.
    async fn create_job_profile(
        &self,
        ctx: &Context<'_>,
        organization_id: Option<ID>,
        input: JobProfileInput,
    ) -> Result<JobProfile> {
        let caller = require_user(ctx)?;
        let state = context::state(ctx)?;
        let org = organization_id.as_ref().map(|id| parse_id("organizationId", id)).transpose()?;
        let admin = platform_admin(ctx, caller).await?;
        let created = profiles::create(state, caller, admin, org, input.into()).await?;
        Ok(JobProfile::one(&state.db, created).await?)
    }

    /// Edits a job profile, with the version check of `updateOrganization`.
    async fn update_job_profile(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
        input: JobProfileInput,
    ) -> Result<JobProfile> {
        let caller = require_user(ctx)?;
        let state = context::state(ctx)?;
        let admin = platform_admin(ctx, caller).await?;
        let updated =
            profiles::update(state, caller, admin, parse_id("id", &id)?, expected_version, input.into())
                .await?;
        Ok(JobProfile::one(&state.db, updated).await?)
    }

    /// Copies a shared profile (or one of the firm's) into the firm, to adapt for its own role.
    async fn copy_job_profile(
        &self,
        ctx: &Context<'_>,
        id: ID,
        firm_id: ID,
        name: Option<String>,
    ) -> Result<JobProfile> {
        let caller = require_user(ctx)?;
        let state = context::state(ctx)?;
        let copy =
            profiles::copy(state, caller, parse_id("id", &id)?, parse_id("firmId", &firm_id)?, name).await?;
        Ok(JobProfile::one(&state.db, copy).await?)
    }

    /// Deletes a job profile; staff on it keep their records without a profile. Returns its id.
    async fn delete_job_profile(&self, ctx: &Context<'_>, id: ID) -> Result<ID> {
        let caller = require_user(ctx)?;
        let state = context::state(ctx)?;
        let admin = platform_admin(ctx, caller).await?;
        let deleted = profiles::delete(state, caller, admin, parse_id("id", &id)?).await?;
        Ok(ID(deleted.id.to_string()))
    }

    /// Adds a staff record to a firm (its OWNER/ADMIN, signed in as a person): a label such as
    /// initials or a personnel number, a profile, a site. No names are needed.
    async fn create_staff_member(
        &self,
        ctx: &Context<'_>,
        firm_id: ID,
        input: StaffMemberInput,
    ) -> Result<StaffMember> {
        let caller = require_person(ctx)?;
        let state = context::state(ctx)?;
        let created =
            staff::create(state, caller, parse_id("firmId", &firm_id)?, input.into_fields()?).await?;
        Ok(StaffMember::one(&state.db, created).await?)
    }

    async fn update_staff_member(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
        input: StaffMemberInput,
    ) -> Result<StaffMember> {
        let caller = require_person(ctx)?;
        let state = context::state(ctx)?;
        let updated =
            staff::update(state, caller, parse_id("id", &id)?, expected_version, input.into_fields()?)
                .await?;
        Ok(StaffMember::one(&state.db, updated).await?)
    }

    /// Erases a staff record with all its assessments and prior learning. Returns its id.
    async fn delete_staff_member(&self, ctx: &Context<'_>, id: ID) -> Result<ID> {
        let caller = require_person(ctx)?;
        let state = context::state(ctx)?;
        let deleted = staff::delete(state, caller, parse_id("id", &id)?).await?;
        Ok(ID(deleted.id.to_string()))
    }

    /// Records levels from a self-assessment (the questionnaire's answers) or the manager, dated
    /// `assessedOn` (today by default); each replaces that source's earlier level for the skill.
    async fn record_assessment(
        &self,
        ctx: &Context<'_>,
        staff_id: ID,
        source: AssessmentSource,
        #[graphql(desc = "One level per skill; at most 60 values.")] levels: Vec<AssessmentInput>,
        assessed_on: Option<NaiveDate>,
    ) -> Result<StaffMember> {
        let caller = require_person(ctx)?;
        let state = context::state(ctx)?;
        let id = parse_id("staffId", &staff_id)?;
        let levels: Vec<(String, i32)> = levels.into_iter().map(|l| (l.skill_id, l.level)).collect();
        staff::assess(state, caller, id, source.into(), &levels, assessed_on).await?;
        let member = staff::find(&state.db, caller, id).await?;
        Ok(StaffMember::one(&state.db, member).await?)
    }

    /// Records a certificate or completed course a staff member holds, as prior learning.
    async fn add_prior_learning(
        &self,
        ctx: &Context<'_>,
        staff_id: ID,
        input: PriorLearningInput,
    ) -> Result<PriorLearning> {
        let caller = require_person(ctx)?;
        let state = context::state(ctx)?;
        let fields = EvidenceFields {
            kind: input.kind.into(),
            title: input.title,
            skill_ids: input.skill_ids,
            level: input.level,
            course_id: input.course_id.as_ref().map(|id| parse_id("input.courseId", id)).transpose()?,
            achieved_on: input.achieved_on,
        };
        Ok(staff::add_evidence(state, caller, parse_id("staffId", &staff_id)?, fields).await?.into())
    }

    /// Removes a prior-learning record; returns its id.
    async fn remove_prior_learning(&self, ctx: &Context<'_>, id: ID) -> Result<ID> {
        let caller = require_person(ctx)?;
        let state = context::state(ctx)?;
        let removed = staff::remove_evidence(state, caller, parse_id("id", &id)?).await?;
        Ok(ID(removed.id.to_string()))
    }

    /// Turns chosen gaps into a DRAFT qualification need: skills MUST where a profile requires
    /// them, else NICE; the people with the gap as participants (counted, never named); a target
    /// DQR level where the profiles imply one; the people's site or the firm as the place.
    async fn draft_need_from_gaps(
        &self,
        ctx: &Context<'_>,
        firm_id: ID,
        #[graphql(desc = "The chosen gaps, one per skill; at most 20 values.")] gaps: Vec<GapChoiceInput>,
        #[graphql(desc = "The people analysed (default: all the firm's staff); at most 500 values.")]
        staff_ids: Option<Vec<ID>>,
        title: Option<String>,
    ) -> Result<QualificationNeed> {
        let caller = require_person(ctx)?;
        let state = context::state(ctx)?;
        let staff_ids = staff_ids
            .map(|ids| ids.iter().map(|id| parse_id("staffIds", id)).collect::<Result<Vec<_>, _>>())
            .transpose()?;
        let choices = gaps
            .into_iter()
            .enumerate()
            .map(|(i, g)| {
                let staff_ids = g
                    .staff_ids
                    .map(|ids| {
                        ids.iter()
                            .map(|id| parse_id(&format!("gaps[{i}].staffIds"), id))
                            .collect::<Result<Vec<_>, _>>()
                    })
                    .transpose()?;
                Ok(GapChoice { skill_id: g.skill_id, staff_ids })
            })
            .collect::<Result<Vec<_>, crate::error::ApiError>>()?;
        let need = drafts::draft_need_from_gaps(
            state,
            caller,
            parse_id("firmId", &firm_id)?,
            staff_ids,
            choices,
            title,
        )
        .await?;
        Ok(need.into())
    }
}
