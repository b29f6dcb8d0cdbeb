//! From gaps to a need: chosen gaps of a firm's staff become a DRAFT qualification need, which HR
//! edits and opens; matching, pooling and offers then work on it as on any need. The need names
//! skills, counts and a place, never who has the gap: providers may see needs, never people.

use std::collections::BTreeSet;

use entity::need_skill::SkillImportance;
use entity::qualification_need as need;
use entity::{job_profile, staff_member};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::{MAX_STAFF_PER_REQUEST, gaps, level_name, staff};
use crate::context::AppState;
use crate::error::{ApiError, ApiResult};
use crate::service::needs::{self, NeedFields, NeedLocation};
use crate::service::validate;

/// One chosen gap: a skill, and the people to train in it (by default everyone analysed who
/// falls short of their target).
#[derive(Debug, Clone)]
pub struct GapChoice {
    pub skill_id: String,
    pub staff_ids: Option<Vec<Uuid>>,
}

/// Most gaps one draft takes.
pub const MAX_CHOICES: usize = crate::service::validate::bounds::GAP_CHOICES;

/// Drafts a need for `firm_id` from `choices` among the gaps of `staff_ids` (all of the firm's
/// staff when `None`). Skills are MUST when any person's profile requires them, else NICE;
/// participants are the people with a chosen gap; the target DQR level is the highest DQR level of
/// their profiles where a chosen gap aims at ‚Vertiefen' or above; the place is the people's common
/// site, else the firm.
pub async fn draft_need_from_gaps(
    state: &AppState,
    caller: Uuid,
    firm_id: Uuid,
    staff_ids: Option<Vec<Uuid>>,
    choices: Vec<GapChoice>,
    title: Option<String>,
) -> ApiResult<need::Model> {
    let db = &state.db;
    if choices.is_empty() {
        return Err(ApiError::bad_input("gaps", "choose at least one gap"));
    }
    validate::at_most("gaps", choices.len(), MAX_CHOICES)?;
    staff::authorize(db, caller, firm_id).await?;
    let members = match &staff_ids {
        Some(ids) => staff::of_firm(db, firm_id, ids, "staffIds").await?,
        None => {
            let all =
                staff_member::Entity::find().filter(staff_member::Column::FirmId.eq(firm_id)).all(db).await?;
            validate::at_most("staffIds", all.len(), MAX_STAFF_PER_REQUEST)?;
            all
        }
    };
    for (i, choice) in choices.iter().enumerate() {
        if let Some(ids) = &choice.staff_ids {
            staff::of_firm(db, firm_id, ids, &format!("gaps[{i}].staffIds")).await?;
        }
    }
    let profile_ids: BTreeSet<Uuid> = members.iter().filter_map(|m| m.profile_id).collect();
    let profiles: Vec<job_profile::Model> =
        job_profile::Entity::find().filter(job_profile::Column::Id.is_in(profile_ids)).all(db).await?;
    let analysis = gaps::analyse(db, members, None).await?;
    let mut skills: Vec<(String, SkillImportance)> = Vec::new();
    let mut people: BTreeSet<Uuid> = BTreeSet::new();
    let mut postal_codes: BTreeSet<Option<String>> = BTreeSet::new();
    let mut dqr: Option<i16> = None;
    let mut sentences = Vec::new();
    for (i, choice) in choices.iter().enumerate() {
        let field = format!("gaps[{i}].skillId");
        if skills.iter().any(|(id, _)| *id == choice.skill_id) {
            return Err(ApiError::bad_input(field, format!("{} is chosen twice", choice.skill_id)));
        }
        let mut required = false;
        let mut count = 0;
        let mut lowest_target = 4;
        for person in &analysis.people {
            if choice.staff_ids.as_ref().is_some_and(|ids| !ids.contains(&person.member.id)) {
                continue;
            }
            let Some(standing) = person.standings.iter().find(|s| s.skill_id == choice.skill_id) else {
                continue;
            };
            if standing.gap() == 0 {
                continue;
            }
            count += 1;
            required |= standing.required;
            lowest_target = lowest_target.min(standing.target_level);
            people.insert(person.member.id);
            postal_codes.insert(person.member.postal_code.clone());
            if standing.target_level >= 3
                && let Some(level) = person
                    .member
                    .profile_id
                    .and_then(|p| profiles.iter().find(|x| x.id == p))
                    .and_then(|p| p.dqr_level)
            {
                dqr = dqr.max(Some(level));
            }
        }
        if count == 0 {
            return Err(ApiError::bad_input(
                field,
                format!("no one chosen falls short of their target in {}", choice.skill_id),
            ));
        }
        let label =
            analysis.skill_labels.get(&choice.skill_id).cloned().unwrap_or_else(|| choice.skill_id.clone());
        sentences.push(format!(
            "{label}: {count} Mitarbeitende unter Zielniveau ‚{}' ({}).",
            level_name(lowest_target),
            if required { "erforderlich" } else { "wünschenswert" }
        ));
        skills.push((
            choice.skill_id.clone(),
            if required { SkillImportance::Must } else { SkillImportance::Nice },
        ));
    }
    // Required skills first, as a need lists them.
    skills.sort_by_key(|(_, importance)| *importance != SkillImportance::Must);
    let labels: Vec<String> = skills
        .iter()
        .map(|(id, _)| analysis.skill_labels.get(id).cloned().unwrap_or_else(|| id.clone()))
        .collect();
    let title = match title {
        Some(title) => title,
        None => {
            let mut t =
                format!("Weiterbildung {}", labels.iter().take(3).cloned().collect::<Vec<_>>().join(", "));
            if labels.len() > 3 {
                t.push_str(" u. a.");
            }
            t.chars().take(200).collect()
        }
    };
    let description = format!(
        "Entwurf aus der Kompetenzanalyse für {} Mitarbeitende.\n{}",
        people.len(),
        sentences.join("\n")
    );
    let location = match postal_codes.iter().collect::<Vec<_>>().as_slice() {
        [Some(code)] => crate::exchange::plz::lookup(code).map(|place| NeedLocation {
            postal_code: Some(code.clone()),
            city: Some(place.name.to_owned()),
            bundesland: None,
            location: Some((place.latitude, place.longitude)),
        }),
        _ => None,
    };
    let fields = NeedFields {
        title: Some(title),
        description: Some(description),
        skills: Some(skills),
        target_dqr_level: Some(dqr.map(i32::from)),
        participants: Some(people.len() as i32),
        location,
        ..NeedFields::default()
    };
    needs::create(state, caller, firm_id, fields).await
}
