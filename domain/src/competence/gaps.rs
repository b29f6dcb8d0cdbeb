//! The gap analysis: for each person, their profile's target level per skill against the level
//! they are assessed at (the manager's assessment where there is one, else the self-assessment,
//! raised to what held certificates and courses evidence); per firm, team or site a matrix of
//! skills × people and one German sentence per skill ("4 von 7 Mitarbeitenden unter Zielniveau
//! ‚Anwenden' in SPS-Programmierung"). Required skills come before desired ones.

use std::collections::{BTreeMap, HashMap};

use entity::staff_assessment::{self, AssessmentSource};
use entity::{job_profile, job_profile_skill, staff_evidence, staff_member};
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use super::{level_name, profiles, staff};
use crate::error::ApiResult;
use crate::service::{json_list, skills};

/// One person's standing in one skill of their profile.
#[derive(Debug, Clone, PartialEq)]
pub struct SkillStanding {
    pub skill_id: String,
    pub target_level: i32,
    pub required: bool,
    pub self_level: Option<i32>,
    pub manager_level: Option<i32>,
    /// The highest level held certificates or courses evidence, with the evidence's title.
    pub evidenced: Option<(i32, String)>,
    /// What counts: manager over self, raised to the evidence; 0 when nothing is known.
    pub assessed_level: i32,
    /// Whether any assessment or evidence exists for the skill.
    pub known: bool,
}

impl SkillStanding {
    /// Target minus assessed level, never below 0.
    pub fn gap(&self) -> i32 {
        (self.target_level - self.assessed_level).max(0)
    }
}

/// The standings of one person against `profile_skills`, required first, then larger gaps first.
pub fn standings(
    profile_skills: &[job_profile_skill::Model],
    assessments: &[&staff_assessment::Model],
    evidence: &[&staff_evidence::Model],
) -> Vec<SkillStanding> {
    let mut list: Vec<SkillStanding> = profile_skills
        .iter()
        .map(|ps| {
            let level_of = |source| {
                assessments.iter().find(|a| a.skill_id == ps.skill_id && a.source == source).map(|a| a.level)
            };
            let self_level = level_of(AssessmentSource::SelfAssessment);
            let manager_level = level_of(AssessmentSource::Manager);
            let evidenced = evidence
                .iter()
                .filter(|e| json_list::decode::<String>(&e.skills).contains(&ps.skill_id))
                .max_by_key(|e| e.level)
                .map(|e| (e.level, e.title.clone()));
            let assessed =
                manager_level.or(self_level).unwrap_or(0).max(evidenced.as_ref().map_or(0, |e| e.0));
            SkillStanding {
                skill_id: ps.skill_id.clone(),
                target_level: ps.target_level,
                required: ps.required,
                known: self_level.is_some() || manager_level.is_some() || evidenced.is_some(),
                self_level,
                manager_level,
                evidenced,
                assessed_level: assessed,
            }
        })
        .collect();
    list.sort_by_key(|s| (!s.required, -s.gap()));
    list
}

/// One person of an analysis.
#[derive(Debug, Clone)]
pub struct PersonGaps {
    pub member: staff_member::Model,
    pub standings: Vec<SkillStanding>,
}

/// Across the people of an analysis, one skill at one target level.
#[derive(Debug, Clone, PartialEq)]
pub struct SkillSummary {
    pub skill_id: String,
    pub skill_label: String,
    pub target_level: i32,
    pub required: bool,
    /// People whose profile holds the skill at this target.
    pub people: usize,
    /// Of them, those below the target, and their ids.
    pub below: Vec<Uuid>,
    /// The sum of their gaps.
    pub total_gap: i32,
    pub sentence: String,
}

#[derive(Debug, Clone)]
pub struct Analysis {
    pub people: Vec<PersonGaps>,
    pub summaries: Vec<SkillSummary>,
    /// Labels of the profiles' skills and of every assessed skill, by id.
    pub skill_labels: HashMap<String, String>,
    /// People without a profile: nothing to compare them with.
    pub without_profile: usize,
    /// What the analysis read of the people: their assessments and prior learning.
    pub assessments: Vec<staff_assessment::Model>,
    pub evidence: Vec<staff_evidence::Model>,
}

/// The German sentence of a summary.
pub fn sentence(below: usize, people: usize, target_level: i32, label: &str) -> String {
    let level = level_name(target_level);
    if below == 0 {
        return format!("Alle {people} Mitarbeitenden erreichen das Zielniveau ‚{level}' in {label}");
    }
    format!("{below} von {people} Mitarbeitenden unter Zielniveau ‚{level}' in {label}")
}

/// Summaries of `people`'s standings: required first, then more people below, then larger gaps.
pub fn summarize(people: &[PersonGaps], labels: &HashMap<String, String>) -> Vec<SkillSummary> {
    let mut groups: BTreeMap<(String, i32), SkillSummary> = BTreeMap::new();
    for person in people {
        for s in &person.standings {
            let label = labels.get(&s.skill_id).cloned().unwrap_or_else(|| s.skill_id.clone());
            let entry = groups.entry((s.skill_id.clone(), s.target_level)).or_insert_with(|| SkillSummary {
                skill_id: s.skill_id.clone(),
                skill_label: label,
                target_level: s.target_level,
                required: false,
                people: 0,
                below: Vec::new(),
                total_gap: 0,
                sentence: String::new(),
            });
            entry.required |= s.required;
            entry.people += 1;
            if s.gap() > 0 {
                entry.below.push(person.member.id);
                entry.total_gap += s.gap();
            }
        }
    }
    let mut list: Vec<SkillSummary> = groups
        .into_values()
        .map(|mut s| {
            s.sentence = sentence(s.below.len(), s.people, s.target_level, &s.skill_label);
            s
        })
        .collect();
    list.sort_by(|a, b| {
        (!a.required, std::cmp::Reverse(a.below.len()), std::cmp::Reverse(a.total_gap), &a.skill_label).cmp(
            &(!b.required, std::cmp::Reverse(b.below.len()), std::cmp::Reverse(b.total_gap), &b.skill_label),
        )
    });
    list
}

/// The analysis of `members` (of one firm) against each one's profile, or against `target` for all
/// when given. Four reads, however many people.
pub async fn analyse(
    db: &impl ConnectionTrait,
    members: Vec<staff_member::Model>,
    target: Option<&job_profile::Model>,
) -> ApiResult<Analysis> {
    let ids: Vec<Uuid> = members.iter().map(|m| m.id).collect();
    let mut profile_ids: Vec<Uuid> = match target {
        Some(p) => vec![p.id],
        None => members.iter().filter_map(|m| m.profile_id).collect(),
    };
    profile_ids.sort();
    profile_ids.dedup();
    let profile_skills = profiles::skills_of(db, &profile_ids).await?;
    let assessments = staff::assessments_of(db, &ids).await?;
    let evidence = staff::evidence_of(db, &ids).await?;
    // Labels of the profiles' skills and of every assessed one (a record lists all its assessments).
    let skill_ids = profile_skills.iter().map(|s| &s.skill_id).chain(assessments.iter().map(|a| &a.skill_id));
    let skill_labels = skills::labels(db, skill_ids.cloned()).await?;
    let mut by_profile: HashMap<Uuid, Vec<job_profile_skill::Model>> = HashMap::new();
    for s in profile_skills {
        by_profile.entry(s.profile_id).or_default().push(s);
    }
    let mut assessed: HashMap<Uuid, Vec<&staff_assessment::Model>> = HashMap::new();
    for a in &assessments {
        assessed.entry(a.staff_id).or_default().push(a);
    }
    let mut held: HashMap<Uuid, Vec<&staff_evidence::Model>> = HashMap::new();
    for e in &evidence {
        held.entry(e.staff_id).or_default().push(e);
    }
    let mut without_profile = 0;
    let mut people = Vec::with_capacity(members.len());
    for member in members {
        let profile = target.map(|p| p.id).or(member.profile_id);
        let Some(skills) = profile.and_then(|p| by_profile.get(&p)) else {
            without_profile += 1;
            people.push(PersonGaps { member, standings: Vec::new() });
            continue;
        };
        let standings = standings(
            skills,
            assessed.get(&member.id).map_or(&[][..], Vec::as_slice),
            held.get(&member.id).map_or(&[][..], Vec::as_slice),
        );
        people.push(PersonGaps { member, standings });
    }
    let summaries = summarize(&people, &skill_labels);
    Ok(Analysis { people, summaries, skill_labels, without_profile, assessments, evidence })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn profile_skill(skill: &str, target: i32, required: bool) -> job_profile_skill::Model {
        job_profile_skill::Model {
            profile_id: Uuid::nil(),
            skill_id: skill.into(),
            target_level: target,
            required,
            position: 0,
        }
    }

    fn assessment(skill: &str, source: AssessmentSource, level: i32) -> staff_assessment::Model {
        staff_assessment::Model {
            staff_id: Uuid::nil(),
            skill_id: skill.into(),
            source,
            level,
            assessed_on: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
        }
    }

    #[test]
    fn the_manager_counts_over_the_self_assessment_and_evidence_raises_both() {
        let skills = [
            profile_skill("a/sps", 3, true),
            profile_skill("a/cnc", 2, false),
            profile_skill("a/qm", 2, true),
        ];
        let own = assessment("a/sps", AssessmentSource::SelfAssessment, 3);
        let manager = assessment("a/sps", AssessmentSource::Manager, 1);
        let qm = assessment("a/qm", AssessmentSource::SelfAssessment, 1);
        let certificate = staff_evidence::Model {
            id: Uuid::nil(),
            staff_id: Uuid::nil(),
            kind: entity::staff_evidence::EvidenceKind::Certificate,
            title: "QM-Beauftragte/r (TÜV)".into(),
            skills: json_list::encode(&["a/qm".to_owned()]),
            level: 3,
            course_id: None,
            achieved_on: None,
            created_at: chrono::Utc::now(),
        };
        let list = standings(&skills, &[&own, &manager, &qm], &[&certificate]);
        let by = |id: &str| list.iter().find(|s| s.skill_id == id).unwrap();
        assert_eq!((by("a/sps").assessed_level, by("a/sps").gap()), (1, 2));
        assert_eq!((by("a/qm").assessed_level, by("a/qm").gap()), (3, 0));
        assert_eq!((by("a/cnc").assessed_level, by("a/cnc").gap(), by("a/cnc").known), (0, 2, false));
        // Required before desired, larger gaps first.
        assert_eq!(list.iter().map(|s| s.skill_id.as_str()).collect::<Vec<_>>(), ["a/sps", "a/qm", "a/cnc"]);
    }

    #[test]
    fn the_sentence_counts_people_below_the_target() {
        assert_eq!(
            sentence(4, 7, 2, "SPS-Programmierung"),
            "4 von 7 Mitarbeitenden unter Zielniveau ‚Anwenden' in SPS-Programmierung"
        );
        assert_eq!(
            sentence(0, 3, 1, "Excel"),
            "Alle 3 Mitarbeitenden erreichen das Zielniveau ‚Grundlagen' in Excel"
        );
    }
}
