use std::collections::HashMap;

use async_graphql::{Enum, ID, InputObject, MaybeUndefined, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use entity::{job_profile, job_profile_skill, staff_assessment, staff_evidence, staff_member};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::competence::gaps::{self, SkillStanding};
use crate::competence::paths;
use crate::competence::profiles::{self, ProfileFields, ProfileSkill};
use crate::competence::staff::StaffFields;
use crate::competence::{LEVELS, level_name};
use crate::error::ApiResult;
use crate::graphql::catalog::types::maybe;
use crate::service::{json_list, skills};

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entity::staff_assessment::AssessmentSource")]
pub enum AssessmentSource {
    /// The person's own answer to the questionnaire.
    SelfAssessment,
    /// Their manager's view; it counts over the self-assessment.
    Manager,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entity::staff_evidence::EvidenceKind")]
pub enum PriorLearningKind {
    Certificate,
    Course,
}

/// A level of the four-level competence scale.
#[derive(SimpleObject, Clone)]
pub struct CompetenceLevel {
    /// 1 Grundlagen, 2 Anwenden, 3 Vertiefen, 4 Experte.
    pub level: i32,
    pub name: String,
    pub description: String,
}

pub fn scale() -> Vec<CompetenceLevel> {
    LEVELS
        .iter()
        .map(|(level, name, description)| CompetenceLevel {
            level: *level,
            name: (*name).to_owned(),
            description: (*description).to_owned(),
        })
        .collect()
}

/// A skill's label, or its id where the vocabulary has none.
fn label(labels: &HashMap<String, String>, id: &str) -> String {
    labels.get(id).cloned().unwrap_or_else(|| id.to_owned())
}

/// A skill of a job profile with its target level.
#[derive(SimpleObject, Clone)]
pub struct JobProfileSkill {
    pub skill_id: String,
    pub skill_label: String,
    /// 1 Grundlagen … 4 Experte.
    pub target_level: i32,
    pub target_level_name: String,
    /// Required by the role; otherwise desired.
    pub required: bool,
}

/// A competence model for a role: the skills it needs and at what level.
#[derive(SimpleObject, Clone)]
pub struct JobProfile {
    pub id: ID,
    /// A shipped profile's stable key, e.g. `feinoptik-fertigung`.
    pub key: Option<String>,
    pub name: String,
    pub job_family: String,
    pub description: String,
    pub dqr_level: Option<i32>,
    /// Shared profiles are curated by platform admins; otherwise it is `organizationId`'s own.
    pub shared: bool,
    pub organization_id: Option<ID>,
    /// The profile this one was copied from.
    pub based_on_id: Option<ID>,
    pub skills: Vec<JobProfileSkill>,
    pub version: i32,
    pub updated_at: DateTime<Utc>,
}

impl JobProfile {
    /// The profiles with their skills: two reads for any number.
    pub async fn load(db: &impl ConnectionTrait, models: Vec<job_profile::Model>) -> ApiResult<Vec<Self>> {
        let ids: Vec<uuid::Uuid> = models.iter().map(|m| m.id).collect();
        let skills = profiles::skills_of(db, &ids).await?;
        let labels = skills::labels(db, skills.iter().map(|s| s.skill_id.clone())).await?;
        let mut by_profile: HashMap<uuid::Uuid, Vec<job_profile_skill::Model>> = HashMap::new();
        for s in skills {
            by_profile.entry(s.profile_id).or_default().push(s);
        }
        Ok(models
            .into_iter()
            .map(|m| {
                let skills = by_profile
                    .remove(&m.id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|s| JobProfileSkill {
                        skill_label: label(&labels, &s.skill_id),
                        target_level_name: level_name(s.target_level).to_owned(),
                        skill_id: s.skill_id,
                        target_level: s.target_level,
                        required: s.required,
                    })
                    .collect();
                JobProfile {
                    id: ID(m.id.to_string()),
                    key: m.key,
                    name: m.name,
                    job_family: m.job_family,
                    description: m.description,
                    dqr_level: m.dqr_level.map(i32::from),
                    shared: m.organization_id.is_none(),
                    organization_id: m.organization_id.map(|o| ID(o.to_string())),
                    based_on_id: m.based_on.map(|o| ID(o.to_string())),
                    skills,
                    version: m.version,
                    updated_at: m.updated_at,
                }
            })
            .collect())
    }

    pub async fn one(db: &impl ConnectionTrait, model: job_profile::Model) -> ApiResult<Self> {
        let mut list = Self::load(db, vec![model]).await?;
        list.pop().ok_or_else(|| crate::error::ApiError::not_found("job profile"))
    }
}

#[derive(InputObject)]
pub struct JobProfileSkillInput {
    pub skill_id: String,
    /// 1 Grundlagen, 2 Anwenden, 3 Vertiefen, 4 Experte.
    pub target_level: i32,
    #[graphql(default = true)]
    pub required: bool,
}

#[derive(InputObject)]
pub struct JobProfileInput {
    pub name: Option<String>,
    pub job_family: Option<String>,
    pub description: Option<String>,
    #[graphql(name = "dqrLevel")]
    pub dqr_level: MaybeUndefined<i32>,
    /// Replaces the profile's skills, in this order; at most 40 values.
    pub skills: Option<Vec<JobProfileSkillInput>>,
}

impl From<JobProfileInput> for ProfileFields {
    fn from(i: JobProfileInput) -> Self {
        ProfileFields {
            name: i.name,
            job_family: i.job_family,
            description: i.description,
            dqr_level: maybe(i.dqr_level),
            skills: i.skills.map(|list| {
                list.into_iter()
                    .map(|s| ProfileSkill {
                        skill_id: s.skill_id,
                        target_level: s.target_level,
                        required: s.required,
                    })
                    .collect()
            }),
        }
    }
}

/// One skill of the self-assessment questionnaire: four observable statements, one per level; the
/// person picks the highest that is true (none: level 0).
#[derive(SimpleObject, Clone)]
pub struct QuestionnaireItem {
    pub skill_id: String,
    pub skill_label: String,
    pub target_level: i32,
    /// Statements for levels 1 to 4, in order.
    pub statements: Vec<String>,
}

/// A person's level in one skill from one source.
#[derive(SimpleObject, Clone)]
pub struct Assessment {
    pub skill_id: String,
    pub skill_label: String,
    pub source: AssessmentSource,
    /// 0 (not yet at Grundlagen) to 4 (Experte).
    pub level: i32,
    pub level_name: String,
    pub assessed_on: NaiveDate,
}

impl Assessment {
    pub fn from_model(m: &staff_assessment::Model, labels: &HashMap<String, String>) -> Self {
        Self {
            skill_label: label(labels, &m.skill_id),
            skill_id: m.skill_id.clone(),
            source: m.source.into(),
            level: m.level,
            level_name: level_name(m.level).to_owned(),
            assessed_on: m.assessed_on,
        }
    }
}

/// A certificate or completed course a person holds, counted as prior learning.
#[derive(SimpleObject, Clone)]
pub struct PriorLearning {
    pub id: ID,
    pub kind: PriorLearningKind,
    pub title: String,
    pub skill_ids: Vec<String>,
    /// The level it evidences in each of its skills.
    pub level: i32,
    pub course_id: Option<ID>,
    pub achieved_on: Option<NaiveDate>,
}

impl From<staff_evidence::Model> for PriorLearning {
    fn from(m: staff_evidence::Model) -> Self {
        Self {
            id: ID(m.id.to_string()),
            kind: m.kind.into(),
            title: m.title,
            skill_ids: json_list::decode(&m.skills),
            level: m.level,
            course_id: m.course_id.map(|c| ID(c.to_string())),
            achieved_on: m.achieved_on,
        }
    }
}

#[derive(InputObject)]
pub struct PriorLearningInput {
    pub kind: PriorLearningKind,
    pub title: String,
    /// The skills it evidences; at most 60 values.
    pub skill_ids: Vec<String>,
    /// 1 to 4.
    pub level: i32,
    pub course_id: Option<ID>,
    pub achieved_on: Option<NaiveDate>,
}

/// A person's standing in one skill of their profile.
#[derive(SimpleObject, Clone)]
pub struct SkillGap {
    pub skill_id: String,
    pub skill_label: String,
    pub required: bool,
    pub target_level: i32,
    /// What counts: the manager's assessment over the self-assessment, raised to prior learning.
    pub assessed_level: i32,
    pub self_level: Option<i32>,
    pub manager_level: Option<i32>,
    pub evidenced_level: Option<i32>,
    pub evidenced_by: Option<String>,
    /// Target minus assessed, never below 0.
    pub gap: i32,
    /// Whether anything is known: an unassessed skill counts as level 0.
    pub assessed: bool,
    /// In German, e.g. "SPS-Programmierung: ‚Grundlagen' statt Ziel ‚Vertiefen' (erforderlich)".
    pub sentence: String,
}

impl SkillGap {
    pub fn from_standing(s: &SkillStanding, labels: &HashMap<String, String>) -> Self {
        let name = label(labels, &s.skill_id);
        let kind = if s.required { "erforderlich" } else { "wünschenswert" };
        let sentence = if s.gap() == 0 {
            format!("{name}: Zielniveau ‚{}' erreicht ({kind})", level_name(s.target_level))
        } else if !s.known {
            format!("{name}: noch nicht eingeschätzt, Ziel ‚{}' ({kind})", level_name(s.target_level))
        } else {
            format!(
                "{name}: ‚{}' statt Ziel ‚{}' ({kind})",
                level_name(s.assessed_level),
                level_name(s.target_level)
            )
        };
        Self {
            skill_label: name,
            skill_id: s.skill_id.clone(),
            required: s.required,
            target_level: s.target_level,
            assessed_level: s.assessed_level,
            self_level: s.self_level,
            manager_level: s.manager_level,
            evidenced_level: s.evidenced.as_ref().map(|e| e.0),
            evidenced_by: s.evidenced.as_ref().map(|e| e.1.clone()),
            gap: s.gap(),
            assessed: s.known,
            sentence,
        }
    }
}

/// A person on a firm's staff, as HR records them: a label, never a name.
#[derive(SimpleObject, Clone)]
pub struct StaffMember {
    pub id: ID,
    pub firm_id: ID,
    /// Initials or a personnel number.
    pub label: String,
    pub site: Option<String>,
    pub postal_code: Option<String>,
    pub profile: Option<JobProfile>,
    pub assessments: Vec<Assessment>,
    pub prior_learning: Vec<PriorLearning>,
    /// Against the profile: required first, larger gaps first.
    pub gaps: Vec<SkillGap>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl StaffMember {
    /// The records with profiles, assessments, prior learning and gaps: a handful of reads for any
    /// number of records.
    pub async fn load(db: &impl ConnectionTrait, members: Vec<staff_member::Model>) -> ApiResult<Vec<Self>> {
        let mut profile_ids: Vec<uuid::Uuid> = members.iter().filter_map(|m| m.profile_id).collect();
        profile_ids.sort();
        profile_ids.dedup();
        let profile_models =
            job_profile::Entity::find().filter(job_profile::Column::Id.is_in(profile_ids)).all(db).await?;
        let profiles: HashMap<String, JobProfile> =
            JobProfile::load(db, profile_models).await?.into_iter().map(|p| (p.id.to_string(), p)).collect();
        let analysis = gaps::analyse(db, members, None).await?;
        let (assessments, evidence, labels) =
            (&analysis.assessments, &analysis.evidence, &analysis.skill_labels);
        Ok(analysis
            .people
            .into_iter()
            .map(|person| {
                let m = person.member;
                StaffMember {
                    id: ID(m.id.to_string()),
                    firm_id: ID(m.firm_id.to_string()),
                    label: m.label,
                    site: m.site,
                    postal_code: m.postal_code,
                    profile: m.profile_id.and_then(|p| profiles.get(&p.to_string()).cloned()),
                    assessments: assessments
                        .iter()
                        .filter(|a| a.staff_id == m.id)
                        .map(|a| Assessment::from_model(a, labels))
                        .collect(),
                    prior_learning: evidence
                        .iter()
                        .filter(|e| e.staff_id == m.id)
                        .cloned()
                        .map(PriorLearning::from)
                        .collect(),
                    gaps: person.standings.iter().map(|s| SkillGap::from_standing(s, labels)).collect(),
                    version: m.version,
                    created_at: m.created_at,
                    updated_at: m.updated_at,
                }
            })
            .collect())
    }

    pub async fn one(db: &impl ConnectionTrait, member: staff_member::Model) -> ApiResult<Self> {
        let mut list = Self::load(db, vec![member]).await?;
        list.pop().ok_or_else(|| crate::error::ApiError::not_found("staff member"))
    }
}

#[derive(InputObject)]
pub struct StaffMemberInput {
    /// Initials or a personnel number (1–40 characters), unique in the firm; no names needed.
    pub label: Option<String>,
    pub profile_id: MaybeUndefined<ID>,
    pub site: MaybeUndefined<String>,
    /// The site's postal code: learning paths measure travel from it.
    pub postal_code: MaybeUndefined<String>,
}

impl StaffMemberInput {
    pub fn into_fields(self) -> ApiResult<StaffFields> {
        let profile_id = match self.profile_id {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(id) => {
                Some(Some(crate::graphql::context::parse_id("input.profileId", &id)?))
            }
        };
        Ok(StaffFields {
            label: self.label,
            profile_id,
            site: maybe(self.site),
            postal_code: maybe(self.postal_code),
        })
    }
}

#[derive(InputObject)]
pub struct AssessmentInput {
    pub skill_id: String,
    /// 0 (not yet at Grundlagen) to 4 (Experte).
    pub level: i32,
}

/// One cell of the analysis matrix: a person in a skill.
#[derive(SimpleObject, Clone)]
pub struct GapCell {
    pub skill_id: String,
    pub target_level: i32,
    pub assessed_level: i32,
    pub gap: i32,
    pub required: bool,
}

/// One row of the matrix: a person (by label) and their cells.
#[derive(SimpleObject, Clone)]
pub struct GapRow {
    pub staff_id: ID,
    pub label: String,
    pub site: Option<String>,
    pub profile_id: Option<ID>,
    pub cells: Vec<GapCell>,
}

/// Across the analysed people, one skill at one target level.
#[derive(SimpleObject, Clone)]
pub struct GapSummary {
    pub skill_id: String,
    pub skill_label: String,
    pub target_level: i32,
    pub target_level_name: String,
    pub required: bool,
    /// People whose profile holds the skill at this target.
    pub people: i32,
    /// Of them, below the target.
    pub below: i32,
    pub staff_ids_below: Vec<ID>,
    pub total_gap: i32,
    /// E.g. "4 von 7 Mitarbeitenden unter Zielniveau ‚Anwenden' in SPS-Programmierung".
    pub sentence: String,
}

/// A firm's needs analysis: skills × people, for a heat map, and a sentence per skill.
#[derive(SimpleObject, Clone)]
pub struct GapAnalysis {
    pub firm_id: ID,
    pub people: i32,
    /// People without a job profile: nothing to compare them with.
    pub without_profile: i32,
    /// Required skills first, then those with more people below target.
    pub skills: Vec<GapSummary>,
    pub rows: Vec<GapRow>,
}

impl GapAnalysis {
    pub fn from_analysis(firm_id: uuid::Uuid, a: gaps::Analysis) -> Self {
        Self {
            firm_id: ID(firm_id.to_string()),
            people: a.people.len() as i32,
            without_profile: a.without_profile as i32,
            skills: a
                .summaries
                .into_iter()
                .map(|s| GapSummary {
                    target_level_name: level_name(s.target_level).to_owned(),
                    people: s.people as i32,
                    below: s.below.len() as i32,
                    staff_ids_below: s.below.iter().map(|id| ID(id.to_string())).collect(),
                    skill_id: s.skill_id,
                    skill_label: s.skill_label,
                    target_level: s.target_level,
                    required: s.required,
                    total_gap: s.total_gap,
                    sentence: s.sentence,
                })
                .collect(),
            rows: a
                .people
                .into_iter()
                .map(|p| GapRow {
                    staff_id: ID(p.member.id.to_string()),
                    label: p.member.label,
                    site: p.member.site,
                    profile_id: p.member.profile_id.map(|id| ID(id.to_string())),
                    cells: p
                        .standings
                        .iter()
                        .map(|s| GapCell {
                            skill_id: s.skill_id.clone(),
                            target_level: s.target_level,
                            assessed_level: s.assessed_level,
                            gap: s.gap(),
                            required: s.required,
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

#[derive(InputObject)]
pub struct GapChoiceInput {
    pub skill_id: String,
    /// The people to train (at most 500 values); by default everyone analysed below target.
    pub staff_ids: Option<Vec<ID>>,
}

/// A gap a learning path works on: from the group's lowest level to the target.
#[derive(SimpleObject, Clone)]
pub struct PathGap {
    pub skill_id: String,
    pub skill_label: String,
    pub from_level: i32,
    pub to_level: i32,
    pub required: bool,
}

impl From<paths::PathGap> for PathGap {
    fn from(g: paths::PathGap) -> Self {
        Self {
            skill_id: g.skill_id,
            skill_label: g.skill_label,
            from_level: g.from,
            to_level: g.to,
            required: g.required,
        }
    }
}

/// A gap a path leaves open, and why.
#[derive(SimpleObject, Clone)]
pub struct OpenGap {
    pub gap: PathGap,
    pub reason: String,
}

/// A skill a step raises.
#[derive(SimpleObject, Clone)]
pub struct LevelRaise {
    pub skill_id: String,
    pub skill_label: String,
    pub from_level: i32,
    pub to_level: i32,
}

/// Another run to book when a step fills up.
#[derive(SimpleObject, Clone)]
pub struct PathAlternative {
    pub offering_id: ID,
    pub course_id: ID,
    pub course_title: String,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
}

/// One step of a learning path: a dated offering.
#[derive(SimpleObject, Clone)]
pub struct PathStep {
    pub offering_id: ID,
    pub course_id: ID,
    pub course_title: String,
    pub provider_name: String,
    pub dqr_level: Option<i32>,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub online: bool,
    pub city: Option<String>,
    pub distance_km: Option<f64>,
    pub hours: Option<i32>,
    /// Per person, VAT included.
    pub gross_cents: Option<i64>,
    /// Per person after the QCG funding estimate for the firm's size.
    pub net_cents: Option<i64>,
    pub raises: Vec<LevelRaise>,
    pub explanation: String,
    pub alternatives: Vec<PathAlternative>,
}

/// An ordered plan of offerings that closes a person's (or a group's) gaps against a profile.
#[derive(SimpleObject, Clone)]
pub struct LearningPath {
    pub profile_id: ID,
    pub profile_name: String,
    pub participants: i32,
    pub gaps: Vec<PathGap>,
    pub steps: Vec<PathStep>,
    /// Gaps no plan closes (e.g. no course teaches the skill): an explained result, not an error.
    pub open: Vec<OpenGap>,
    /// What assessments or prior learning already hold: steps skipped.
    pub already_held: Vec<String>,
    pub earliest_completion: Option<NaiveDate>,
    pub total_hours: i32,
    pub total_net_cents: Option<i64>,
    /// The plan in German sentences.
    pub explanation: Vec<String>,
    /// Runs that were considered.
    pub candidate_offerings: i32,
    /// The search stopped at its budget: the plan is the best found until then.
    pub search_cut: bool,
}

impl From<paths::LearningPath> for LearningPath {
    fn from(p: paths::LearningPath) -> Self {
        Self {
            profile_id: ID(p.profile_id.to_string()),
            profile_name: p.profile_name,
            participants: p.participants as i32,
            gaps: p.gaps.into_iter().map(PathGap::from).collect(),
            steps: p
                .steps
                .into_iter()
                .map(|s| PathStep {
                    offering_id: ID(s.offering_id.to_string()),
                    course_id: ID(s.course_id.to_string()),
                    course_title: s.course_title,
                    provider_name: s.provider_name,
                    dqr_level: s.dqr_level.map(i32::from),
                    start_date: s.start_date,
                    end_date: s.end_date,
                    online: s.online,
                    city: s.city,
                    distance_km: s.distance_km.map(|d| (d * 10.0).round() / 10.0),
                    hours: s.hours,
                    gross_cents: s.gross_cents,
                    net_cents: s.net_cents,
                    raises: s
                        .raises
                        .into_iter()
                        .map(|r| LevelRaise {
                            skill_id: r.skill_id,
                            skill_label: r.skill_label,
                            from_level: r.from,
                            to_level: r.to,
                        })
                        .collect(),
                    explanation: s.explanation,
                    alternatives: s
                        .alternatives
                        .into_iter()
                        .map(|a| PathAlternative {
                            offering_id: ID(a.offering_id.to_string()),
                            course_id: ID(a.course_id.to_string()),
                            course_title: a.course_title,
                            start_date: a.start_date,
                            end_date: a.end_date,
                        })
                        .collect(),
                })
                .collect(),
            open: p.open.into_iter().map(|(gap, reason)| OpenGap { gap: gap.into(), reason }).collect(),
            already_held: p.held,
            earliest_completion: p.completion,
            total_hours: p.total_hours,
            total_net_cents: p.total_net_cents,
            explanation: p.explanation,
            candidate_offerings: p.candidate_offerings as i32,
            search_cut: p.search_cut,
        }
    }
}
