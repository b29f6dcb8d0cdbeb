use async_graphql::{Context, ID, Object, Result};
use chrono::NaiveDate;

use super::types::{
    CompetenceLevel, GapAnalysis, JobProfile, LearningPath, QuestionnaireItem, StaffMember, scale,
};
use crate::competence::paths::{self, PathRequest};
use crate::competence::{gaps, profiles, staff};
use crate::graphql::context::{self, parse_id, require_person, viewer};
use crate::seed;
use crate::service::skills;

fn parse_ids(field: &str, ids: &[ID]) -> Result<Vec<uuid::Uuid>> {
    Ok(ids.iter().map(|id| parse_id(field, id)).collect::<Result<_, _>>()?)
}

#[derive(Default)]
pub struct CompetenceQuery;

#[Object]
impl CompetenceQuery {
    /// The four-level scale of target and assessed levels.
    async fn competence_scale(&self) -> Vec<CompetenceLevel> {
        scale()
    }

    /// The shared job profiles, and with `organizationId` that firm's own (its members only).
    async fn job_profiles(
        &self,
        ctx: &Context<'_>,
        organization_id: Option<ID>,
        job_family: Option<String>,
    ) -> Result<Vec<JobProfile>> {
        let state = context::state(ctx)?;
        let caller = viewer(ctx).map(|u| u.user_id);
        let org = organization_id.as_ref().map(|id| parse_id("organizationId", id)).transpose()?;
        let list = profiles::list(state, caller, org, job_family.as_deref()).await?;
        Ok(JobProfile::load(&state.db, list).await?)
    }

    async fn job_profile(&self, ctx: &Context<'_>, id: ID) -> Result<JobProfile> {
        let state = context::state(ctx)?;
        let caller = viewer(ctx).map(|u| u.user_id);
        let profile = profiles::visible(&state.db, caller, parse_id("id", &id)?).await?;
        Ok(JobProfile::one(&state.db, profile).await?)
    }

    /// The self-assessment questionnaire for a profile: per skill four statements, one per level.
    async fn self_assessment_questionnaire(
        &self,
        ctx: &Context<'_>,
        profile_id: ID,
    ) -> Result<Vec<QuestionnaireItem>> {
        let state = context::state(ctx)?;
        let caller = viewer(ctx).map(|u| u.user_id);
        let profile = profiles::visible(&state.db, caller, parse_id("profileId", &profile_id)?).await?;
        let skills = profiles::skills_of(&state.db, &[profile.id]).await?;
        let labels = skills::labels(&state.db, skills.iter().map(|s| s.skill_id.clone())).await?;
        Ok(skills
            .into_iter()
            .map(|s| {
                let label = labels.get(&s.skill_id).cloned().unwrap_or_else(|| s.skill_id.clone());
                let statements = match seed::profiles::statements(&s.skill_id) {
                    Some(list) => list.to_vec(),
                    None => vec![
                        format!("Ich kenne die Grundbegriffe von {label} und arbeite darin unter Anleitung."),
                        format!("Ich wende {label} in Routineaufgaben selbstständig an."),
                        format!("Ich löse auch ungewohnte Aufgaben in {label} und gebe mein Wissen weiter."),
                        format!("Ich gestalte und bewerte Lösungen in {label} und leite andere darin an."),
                    ],
                };
                QuestionnaireItem {
                    skill_id: s.skill_id,
                    skill_label: label,
                    target_level: s.target_level,
                    statements,
                }
            })
            .collect())
    }

    /// The firm's staff records (OWNER/ADMIN of the firm, signed in as a person), in id order.
    async fn staff_members(
        &self,
        ctx: &Context<'_>,
        firm_id: ID,
        site: Option<String>,
        profile_id: Option<ID>,
        after: Option<ID>,
        #[graphql(default = 100)] first: i32,
    ) -> Result<Vec<StaffMember>> {
        let caller = require_person(ctx)?;
        let state = context::state(ctx)?;
        let firm = parse_id("firmId", &firm_id)?;
        let profile = profile_id.as_ref().map(|id| parse_id("profileId", id)).transpose()?;
        let after = after.as_ref().map(|id| parse_id("after", id)).transpose()?;
        let first = usize::try_from(first).unwrap_or(0);
        let list = staff::list(&state.db, caller, firm, site.as_deref(), profile, after, first).await?;
        Ok(StaffMember::load(&state.db, list).await?)
    }

    async fn staff_member(&self, ctx: &Context<'_>, id: ID) -> Result<StaffMember> {
        let caller = require_person(ctx)?;
        let state = context::state(ctx)?;
        let member = staff::find(&state.db, caller, parse_id("id", &id)?).await?;
        Ok(StaffMember::one(&state.db, member).await?)
    }

    /// Everything recorded about one staff member, as a JSON document (the export of a record).
    async fn staff_member_export(&self, ctx: &Context<'_>, id: ID) -> Result<String> {
        let caller = require_person(ctx)?;
        let state = context::state(ctx)?;
        let document = staff::export(state, caller, parse_id("id", &id)?).await?;
        Ok(document.to_string())
    }

    /// The needs analysis of a firm, a site, a profile's holders or chosen people: skills × people
    /// and a sentence per skill. At most 500 people per request.
    async fn gap_analysis(
        &self,
        ctx: &Context<'_>,
        firm_id: ID,
        site: Option<String>,
        profile_id: Option<ID>,
        #[graphql(desc = "Chosen people instead of a site or profile; at most 500 values.")]
        staff_ids: Option<Vec<ID>>,
    ) -> Result<GapAnalysis> {
        let caller = require_person(ctx)?;
        let state = context::state(ctx)?;
        let firm = parse_id("firmId", &firm_id)?;
        let profile = profile_id.as_ref().map(|id| parse_id("profileId", id)).transpose()?;
        staff::authorize(&state.db, caller, firm).await?;
        let members = match &staff_ids {
            Some(ids) => staff::of_firm(&state.db, firm, &parse_ids("staffIds", ids)?, "staffIds").await?,
            None => staff::for_analysis(&state.db, firm, site.as_deref(), profile).await?,
        };
        let analysis = gaps::analyse(&state.db, members, None).await?;
        Ok(GapAnalysis::from_analysis(firm, analysis))
    }

    /// An ordered plan of offerings that closes the gaps of `staffIds` (one person, or a group that
    /// shares the target) against `profileId` (by default their own profile). A skill no course
    /// teaches is reported in `open`, not as an error.
    #[allow(clippy::too_many_arguments)]
    async fn learning_path(
        &self,
        ctx: &Context<'_>,
        firm_id: ID,
        #[graphql(desc = "One person, or a group that shares the target; at most 500 values.")]
        staff_ids: Vec<ID>,
        profile_id: Option<ID>,
        earliest_start: Option<NaiveDate>,
        max_distance_km: Option<i32>,
        #[graphql(desc = "Whether online runs count (default true).")] online_acceptable: Option<bool>,
        max_steps: Option<i32>,
    ) -> Result<LearningPath> {
        let caller = require_person(ctx)?;
        let state = context::state(ctx)?;
        let request = PathRequest {
            staff_ids: parse_ids("staffIds", &staff_ids)?,
            profile_id: profile_id.as_ref().map(|id| parse_id("profileId", id)).transpose()?,
            earliest_start,
            max_distance_km,
            online_acceptable: online_acceptable.unwrap_or(true),
            max_steps: max_steps.map(|n| usize::try_from(n).unwrap_or(0)),
        };
        let path = paths::learning_path(&state.db, caller, parse_id("firmId", &firm_id)?, request).await?;
        Ok(path.into())
    }
}
