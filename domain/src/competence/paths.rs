//! Learning paths: for a person (or a group with the same target) an ordered plan of dated
//! offerings that closes the gaps against a job profile.
//!
//! **The model.** A course raises each of its skills to the level its DQR level stands for, from
//! the level it presupposes (the DQR ladder, [`ladder`]): short courses without a DQR level and
//! levels 1–3 take anyone to 2 ‚Anwenden'; DQR 4–5 (Geprüfte/r Berufsspezialist/in) take who holds
//! 1 to 3 ‚Vertiefen'; DQR 6 (Bachelor Professional) takes who holds 2 to 4 ‚Experte'; DQR 7–8
//! (Master Professional) takes who holds 3 to 4. Prior learning (certificates, completed courses)
//! counts through the assessed level, so steps it covers fall away.
//!
//! **The search.** Choosing steps is a set-cover-like problem with an order (dates must follow each
//! other, a course's entry level must be reached by earlier steps). Gaps are few (a profile has at
//! most [`super::MAX_PROFILE_SKILLS`] skills, in practice 5–9), so an exact search over a pruned
//! candidate set is affordable: the courses are ranked by how much of the gaps they can close and
//! the best [`CANDIDATE_COURSES`] kept (plus the best three per gap skill, so no skill loses its
//! only teachers); a depth-first branch-and-bound then tries every order of at most `max_steps` of
//! them, each course at its earliest run that starts after the previous step ends (a later run of
//! the same course never finishes sooner), and keeps the best plan by, in this order: fewest gap
//! levels left open, earliest completion, lowest cost after the funding estimate, fewest hours.
//! It prunes branches that cannot beat the best plan found (levels only rise, so what the unused
//! courses could close from a node, ignoring entry levels, bounds what its branch can still close;
//! a branch that cannot leave fewer levels open must finish sooner), tries the courses that close
//! most first, and stops after
//! [`NODE_BUDGET`] nodes, saying so. Within the candidate set the result is optimal; the pruning
//! only drops courses that close less than the kept ones.

use std::collections::HashMap;

use chrono::{NaiveDate, Utc};
use entity::course::{self, CourseFormat, CourseStatus, VatTreatment};
use entity::{course_skill, job_profile, offering, organization};
use sea_orm::sea_query::{Condition, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DerivePartialModel, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::gaps::{self, SkillStanding};
use super::{MAX_STAFF_PER_REQUEST, level_name, staff};
use crate::error::{ApiError, ApiResult};
use crate::matching::config::FundingRules;
use crate::matching::funding::{self, FundingFacts};
use crate::search::query::haversine_km;

/// Courses kept for the exact search.
pub const CANDIDATE_COURSES: usize = 14;
/// Nodes the search visits at most.
pub const NODE_BUDGET: usize = 200_000;
/// Steps a path holds at most.
pub const MAX_STEPS: usize = 8;
/// Alternatives offered per step.
const ALTERNATIVES: usize = 3;

#[derive(Debug, Clone)]
pub struct PathRequest {
    pub staff_ids: Vec<Uuid>,
    /// The profile to reach; by default the people's own (which must then be one).
    pub profile_id: Option<Uuid>,
    pub earliest_start: Option<NaiveDate>,
    /// Farthest travel to an in-person run; 50 km unless given.
    pub max_distance_km: Option<i32>,
    pub online_acceptable: bool,
    pub max_steps: Option<usize>,
}

/// What a course's DQR level presupposes and reaches on each of its skills (see the module text).
pub fn ladder(dqr: Option<i16>) -> (i32, i32) {
    match dqr {
        None | Some(..=3) => (0, 2),
        Some(4 | 5) => (1, 3),
        Some(6) => (2, 4),
        Some(_) => (3, 4),
    }
}

/// A gap of the group: the level it stands at (the lowest of its people) and the target.
#[derive(Debug, Clone, PartialEq)]
pub struct PathGap {
    pub skill_id: String,
    pub skill_label: String,
    pub from: i32,
    pub to: i32,
    pub required: bool,
}

/// One skill raised by a step.
#[derive(Debug, Clone, PartialEq)]
pub struct Raise {
    pub skill_id: String,
    pub skill_label: String,
    pub from: i32,
    pub to: i32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Alternative {
    pub offering_id: Uuid,
    pub course_id: Uuid,
    pub course_title: String,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PathStep {
    pub offering_id: Uuid,
    pub course_id: Uuid,
    pub course_title: String,
    pub provider_name: String,
    pub dqr_level: Option<i16>,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub online: bool,
    pub city: Option<String>,
    pub distance_km: Option<f64>,
    pub hours: Option<i32>,
    /// Per person, VAT included; and after the QCG estimate for the firm's size.
    pub gross_cents: Option<i64>,
    pub net_cents: Option<i64>,
    pub raises: Vec<Raise>,
    pub explanation: String,
    pub alternatives: Vec<Alternative>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LearningPath {
    pub profile_id: Uuid,
    pub profile_name: String,
    pub participants: usize,
    pub gaps: Vec<PathGap>,
    pub steps: Vec<PathStep>,
    /// Gap levels no plan closes, with the reason.
    pub open: Vec<(PathGap, String)>,
    /// What prior learning or assessment already holds, in German.
    pub held: Vec<String>,
    pub completion: Option<NaiveDate>,
    pub total_hours: i32,
    pub total_net_cents: Option<i64>,
    /// The plan in German sentences.
    pub explanation: Vec<String>,
    /// Whether the search stopped at its node budget (the plan is the best found until then).
    pub search_cut: bool,
    pub candidate_offerings: usize,
}

/// A course of the candidates, with its usable runs in date order.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub course: PathCourse,
    pub provider_name: String,
    /// Indexes into the gap list of the skills it teaches.
    pub skills: Vec<usize>,
    pub runs: Vec<Run>,
}

/// What a path reads of a course: no long texts (a path weighs thousands of candidate courses).
#[derive(Debug, Clone, DerivePartialModel)]
#[sea_orm(entity = "course::Entity")]
pub struct PathCourse {
    pub id: Uuid,
    pub provider_id: Uuid,
    pub title: String,
    pub dqr_level: Option<i16>,
    pub duration_hours: Option<i32>,
    pub format: CourseFormat,
    pub price_cents: Option<i64>,
    pub vat: VatTreatment,
    pub azav_measure_number: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Run {
    pub offering: offering::Model,
    pub distance_km: Option<f64>,
    pub online: bool,
    pub gross_cents: Option<i64>,
    pub net_cents: Option<i64>,
}

/// The plan's measure: lower is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Score {
    open: i32,
    completion: NaiveDate,
    cost: i64,
    hours: i32,
    steps: usize,
}

/// A course the search may take next: its index, the levels it raises, how many it closes.
type Move = (usize, Vec<(usize, i32)>, i32);

struct Search<'a> {
    candidates: &'a [Candidate],
    targets: Vec<i32>,
    max_steps: usize,
    best: Option<(Score, Vec<(usize, usize)>)>,
    nodes: usize,
    cut: bool,
    start: NaiveDate,
}

/// The levels `course` raises given `levels`: (gap index, new level) for each skill whose entry
/// level is held and which is still below both the course's reach and the target.
fn raises(candidate: &Candidate, levels: &[i32], targets: &[i32]) -> Vec<(usize, i32)> {
    let (entry, reach) = ladder(candidate.course.dqr_level);
    candidate
        .skills
        .iter()
        .filter_map(|&g| {
            let to = reach.min(targets[g]);
            (levels[g] >= entry && levels[g] < to).then_some((g, to))
        })
        .collect()
}

impl Search<'_> {
    fn score(&self, levels: &[i32], steps: &[(usize, usize)]) -> Score {
        let open = levels.iter().zip(&self.targets).map(|(l, t)| (t - l).max(0)).sum();
        let runs = steps.iter().map(|&(c, r)| (&self.candidates[c], &self.candidates[c].runs[r]));
        let mut cost = 0;
        let mut hours = 0;
        let mut completion = self.start;
        for (candidate, run) in runs {
            cost += run.net_cents.or(run.gross_cents).unwrap_or(0);
            hours += candidate.course.duration_hours.unwrap_or(0);
            completion = completion.max(run.offering.end_date);
        }
        Score { open, completion, cost, hours, steps: steps.len() }
    }

    fn visit(
        &mut self,
        levels: &mut Vec<i32>,
        after: Option<NaiveDate>,
        used: &mut Vec<bool>,
        steps: &mut Vec<(usize, usize)>,
    ) {
        self.nodes += 1;
        if self.nodes > NODE_BUDGET {
            self.cut = true;
            return;
        }
        let score = self.score(levels, steps);
        if self.best.as_ref().is_none_or(|(best, _)| score < *best) {
            self.best = Some((score, steps.clone()));
        }
        if score.open == 0 || steps.len() == self.max_steps {
            return;
        }
        // Levels only rise, so what an unused course could close from here, ignoring its entry
        // level, bounds what it will ever close on this branch.
        let mut reachable: Vec<i32> = Vec::new();
        let mut next: Vec<Move> = Vec::new();
        for c in (0..self.candidates.len()).filter(|&c| !used[c]) {
            let candidate = &self.candidates[c];
            let (_, reach) = ladder(candidate.course.dqr_level);
            reachable.push(
                candidate.skills.iter().map(|&g| (reach.min(self.targets[g]) - levels[g]).max(0)).sum(),
            );
            let gains = raises(candidate, levels, &self.targets);
            let closed: i32 = gains.iter().map(|&(g, to)| to - levels[g]).sum();
            if closed > 0 {
                next.push((c, gains, closed));
            }
        }
        if let Some((best, _)) = &self.best {
            reachable.sort_unstable_by(|a, b| b.cmp(a));
            let remaining = self.max_steps - steps.len();
            let lowest = (score.open - reachable.iter().take(remaining).sum::<i32>()).max(0);
            if lowest > best.open {
                return;
            }
            // It cannot leave fewer open than the best plan, and every further step ends later.
            if lowest == best.open && after.is_some_and(|a| a >= best.completion) {
                return;
            }
        }
        // The largest gains first, so that good plans are found early and prune the rest.
        next.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
        for (c, gains, _) in next {
            let candidate = &self.candidates[c];
            let first = match after {
                Some(after) => candidate.runs.partition_point(|r| r.offering.start_date <= after),
                None => 0,
            };
            if first >= candidate.runs.len() {
                continue;
            }
            let before: Vec<i32> = gains.iter().map(|&(g, _)| levels[g]).collect();
            for &(g, to) in &gains {
                levels[g] = to;
            }
            used[c] = true;
            steps.push((c, first));
            self.visit(levels, Some(candidate.runs[first].offering.end_date), used, steps);
            steps.pop();
            used[c] = false;
            for (&(g, _), level) in gains.iter().zip(before) {
                levels[g] = level;
            }
            if self.cut {
                return;
            }
        }
    }
}

/// The best plan over `candidates` from `levels` to `targets` (see the module text): the chosen
/// (candidate, run) pairs in date order, and whether the node budget cut the search.
pub fn plan(
    candidates: &[Candidate],
    levels: &[i32],
    targets: &[i32],
    max_steps: usize,
    start: NaiveDate,
) -> (Vec<(usize, usize)>, bool) {
    let mut search =
        Search { candidates, targets: targets.to_vec(), max_steps, best: None, nodes: 0, cut: false, start };
    search.visit(&mut levels.to_vec(), None, &mut vec![false; candidates.len()], &mut Vec::new());
    (search.best.map(|(_, steps)| steps).unwrap_or_default(), search.cut)
}

/// Keeps the courses worth searching: the best [`CANDIDATE_COURSES`] by the levels they can close
/// (then earlier end, lower cost), and the best three for each gap skill.
pub fn prune(mut candidates: Vec<Candidate>, levels: &[i32], targets: &[i32]) -> Vec<Candidate> {
    let gain = |c: &Candidate| {
        let (_, reach) = ladder(c.course.dqr_level);
        c.skills.iter().map(|&g| (reach.min(targets[g]) - levels[g]).max(0)).sum::<i32>()
    };
    let first_end = |c: &Candidate| c.runs.first().map(|r| r.offering.end_date);
    let cost = |c: &Candidate| c.runs.first().and_then(|r| r.net_cents.or(r.gross_cents)).unwrap_or(0);
    candidates.retain(|c| gain(c) > 0 && !c.runs.is_empty());
    candidates.sort_by(|a, b| {
        (std::cmp::Reverse(gain(a)), first_end(a), cost(a), a.course.id).cmp(&(
            std::cmp::Reverse(gain(b)),
            first_end(b),
            cost(b),
            b.course.id,
        ))
    });
    let mut keep: Vec<bool> = (0..candidates.len()).map(|i| i < CANDIDATE_COURSES).collect();
    for g in 0..targets.len() {
        for i in candidates.iter().enumerate().filter(|(_, c)| c.skills.contains(&g)).map(|(i, _)| i).take(3)
        {
            keep[i] = true;
        }
    }
    candidates.into_iter().zip(keep).filter(|(_, k)| *k).map(|(c, _)| c).collect()
}

fn money(cents: i64) -> String {
    let euros = cents as f64 / 100.0;
    format!("{euros:.0} €")
}

fn german(date: NaiveDate) -> String {
    date.format("%d.%m.%Y").to_string()
}

/// The learning path of `request` for the firm's OWNER/ADMIN `caller`.
pub async fn learning_path(
    db: &impl ConnectionTrait,
    caller: Uuid,
    firm_id: Uuid,
    request: PathRequest,
) -> ApiResult<LearningPath> {
    if request.staff_ids.is_empty() {
        return Err(ApiError::bad_input("staffIds", "name at least one staff member"));
    }
    if request.staff_ids.len() > MAX_STAFF_PER_REQUEST {
        return Err(ApiError::bad_input(
            "staffIds",
            format!("at most {MAX_STAFF_PER_REQUEST} staff members"),
        ));
    }
    let max_steps = request.max_steps.unwrap_or(5);
    if !(1..=MAX_STEPS).contains(&max_steps) {
        return Err(ApiError::bad_input("maxSteps", format!("maxSteps must be 1 to {MAX_STEPS}")));
    }
    let max_distance = request.max_distance_km.unwrap_or(50);
    if !(1..=1000).contains(&max_distance) {
        return Err(ApiError::bad_input("maxDistanceKm", "maximum distance must be 1 to 1000 km"));
    }
    let firm = staff::authorize(db, caller, firm_id).await?;
    let members = staff::of_firm(db, firm_id, &request.staff_ids, "staffIds").await?;
    let profile_id = match request.profile_id {
        Some(id) => id,
        None => {
            let mut own: Vec<Option<Uuid>> = members.iter().map(|m| m.profile_id).collect();
            own.dedup();
            match own.as_slice() {
                [Some(id)] => *id,
                [None] => {
                    return Err(ApiError::bad_input(
                        "profileId",
                        "the staff member has no job profile; name one",
                    ));
                }
                _ => {
                    return Err(ApiError::bad_input(
                        "profileId",
                        "the staff members hold different job profiles; name the one to reach",
                    ));
                }
            }
        }
    };
    let profile = job_profile::Entity::find_by_id(profile_id)
        .one(db)
        .await?
        .filter(|p| p.organization_id.is_none_or(|org| org == firm_id))
        .ok_or_else(|| {
            ApiError::bad_input("profileId", "the job profile is neither shared nor the firm's own")
        })?;
    let origin = origin(&firm, &members);
    let participants = members.len();
    let analysis = gaps::analyse(db, members, Some(&profile)).await?;
    let (gap_list, held) = group_gaps(&analysis);
    let start = request.earliest_start.unwrap_or_else(|| Utc::now().date_naive());
    let mut path = LearningPath {
        profile_id: profile.id,
        profile_name: profile.name.clone(),
        participants,
        gaps: gap_list.clone(),
        steps: Vec::new(),
        open: Vec::new(),
        held,
        completion: None,
        total_hours: 0,
        total_net_cents: None,
        explanation: Vec::new(),
        search_cut: false,
        candidate_offerings: 0,
    };
    if gap_list.is_empty() {
        path.explanation
            .push(format!("Keine Lücken gegenüber dem Profil ‚{}': kein Schritt nötig.", profile.name));
        return Ok(path);
    }
    let options = RunOptions {
        start,
        participants: participants as i32,
        origin,
        max_distance_km: f64::from(max_distance),
        online_acceptable: request.online_acceptable,
        employee_count: firm.employee_count,
    };
    let all = candidates(db, &gap_list, &options).await?;
    path.candidate_offerings = all.iter().map(|c| c.runs.len()).sum();
    let levels: Vec<i32> = gap_list.iter().map(|g| g.from).collect();
    let targets: Vec<i32> = gap_list.iter().map(|g| g.to).collect();
    let kept = prune(all.clone(), &levels, &targets);
    let (chosen, cut) = plan(&kept, &levels, &targets, max_steps, start);
    path.search_cut = cut;
    describe(&mut path, &kept, &all, &chosen, &gap_list, &targets);
    Ok(path)
}

/// Where travel is measured from: the people's common site postal code, else the firm.
fn origin(firm: &organization::Model, members: &[entity::staff_member::Model]) -> Option<(f64, f64)> {
    let mut codes: Vec<Option<&str>> = members.iter().map(|m| m.postal_code.as_deref()).collect();
    codes.dedup();
    if let [Some(code)] = codes.as_slice()
        && let Some(place) = crate::exchange::plz::lookup(code)
    {
        return Some((place.latitude, place.longitude));
    }
    firm.latitude.zip(firm.longitude)
}

/// The group's gaps (per skill the lowest standing of its people) and German sentences for what is
/// already held.
fn group_gaps(analysis: &gaps::Analysis) -> (Vec<PathGap>, Vec<String>) {
    let mut lowest: Vec<SkillStanding> = Vec::new();
    for person in &analysis.people {
        for s in &person.standings {
            match lowest.iter_mut().find(|l| l.skill_id == s.skill_id) {
                Some(l) if s.assessed_level < l.assessed_level => *l = s.clone(),
                Some(_) => {}
                None => lowest.push(s.clone()),
            }
        }
    }
    let label = |id: &str| analysis.skill_labels.get(id).cloned().unwrap_or_else(|| id.to_owned());
    let mut held = Vec::new();
    let mut list = Vec::new();
    for s in lowest {
        if s.gap() == 0 {
            let why = match &s.evidenced {
                Some((level, title)) if *level >= s.target_level => format!("nachgewiesen durch ‚{title}'"),
                _ => format!("eingeschätzt auf ‚{}'", level_name(s.assessed_level)),
            };
            held.push(format!(
                "{}: Zielniveau ‚{}' bereits erreicht ({why}) – kein Schritt nötig.",
                label(&s.skill_id),
                level_name(s.target_level)
            ));
            continue;
        }
        list.push(PathGap {
            skill_label: label(&s.skill_id),
            skill_id: s.skill_id,
            from: s.assessed_level,
            to: s.target_level,
            required: s.required,
        });
    }
    list.sort_by_key(|g| (!g.required, g.from - g.to));
    (list, held)
}

struct RunOptions {
    start: NaiveDate,
    participants: i32,
    origin: Option<(f64, f64)>,
    max_distance_km: f64,
    online_acceptable: bool,
    employee_count: Option<i32>,
}

/// Published courses teaching a gap skill (as chosen by their provider), with their runs that start
/// on or after the start, have seats for everyone and lie within reach. Four statements, whatever
/// the catalogue's size: the runs, through a subquery of the teaching courses (in-person ones only
/// inside the travel radius' bounding box; the exact distance is checked after); then those courses'
/// facts and taught skills, side by side; then their providers.
async fn candidates(
    db: &impl ConnectionTrait,
    gap_list: &[PathGap],
    options: &RunOptions,
) -> ApiResult<Vec<Candidate>> {
    let skill_ids: Vec<String> = gap_list.iter().map(|g| g.skill_id.clone()).collect();
    let teaching = Query::select()
        .column(course_skill::Column::CourseId)
        .from(course_skill::Entity)
        .and_where(course_skill::Column::SkillId.is_in(skill_ids.clone()))
        .and_where(course_skill::Column::Suggested.eq(false))
        .to_owned();
    let published = Query::select()
        .column(course::Column::Id)
        .from(course::Entity)
        .and_where(course::Column::Status.eq(CourseStatus::Published))
        .and_where(course::Column::Id.in_subquery(teaching))
        .to_owned();
    let mut reach = Condition::any();
    if options.online_acceptable {
        reach = reach.add(offering::Column::Online.eq(true)).add(
            offering::Column::CourseId.in_subquery(
                Query::select()
                    .column(course::Column::Id)
                    .from(course::Entity)
                    .and_where(course::Column::Format.eq(CourseFormat::Online))
                    .to_owned(),
            ),
        );
    }
    match options.origin {
        Some((lat, lng)) => {
            // 1° of latitude is 111 km; of longitude 111 km · cos(latitude).
            let dlat = options.max_distance_km / 111.0;
            let dlng = options.max_distance_km / (111.0 * lat.to_radians().cos().max(0.1));
            reach = reach.add(
                Condition::all()
                    .add(offering::Column::Latitude.between(lat - dlat, lat + dlat))
                    .add(offering::Column::Longitude.between(lng - dlng, lng + dlng)),
            );
        }
        None => reach = reach.add(offering::Column::Online.eq(false)),
    }
    // The runs within reach are found in `idx_offering_reach` alone; only their rows are read.
    let within_reach = Query::select()
        .column(offering::Column::Id)
        .from(offering::Entity)
        .and_where(offering::Column::CourseId.in_subquery(published))
        .and_where(offering::Column::StartDate.gte(options.start))
        .and_where(offering::Column::SeatsAvailable.gte(options.participants))
        .cond_where(reach)
        .to_owned();
    let offerings = offering::Entity::find()
        .filter(offering::Column::Id.in_subquery(within_reach))
        .order_by_asc(offering::Column::StartDate)
        .all(db)
        .await?;
    let mut runs: HashMap<Uuid, Vec<offering::Model>> = HashMap::new();
    for row in offerings {
        runs.entry(row.course_id).or_default().push(row);
    }
    if runs.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = runs.keys().copied().collect();
    let mut courses = Vec::with_capacity(ids.len());
    let mut taught: HashMap<Uuid, Vec<usize>> = HashMap::new();
    // Bound parameters stay far below SQLite's limit.
    for chunk in ids.chunks(2_000) {
        // Both statements at once: on a pool they run on two connections.
        let (rows, links) = futures_util::try_join!(
            course::Entity::find()
                .filter(course::Column::Id.is_in(chunk.iter().copied()))
                .into_partial_model::<PathCourse>()
                .all(db),
            course_skill::Entity::find()
                .select_only()
                .columns([course_skill::Column::CourseId, course_skill::Column::SkillId])
                .filter(course_skill::Column::CourseId.is_in(chunk.iter().copied()))
                .filter(course_skill::Column::SkillId.is_in(skill_ids.clone()))
                .filter(course_skill::Column::Suggested.eq(false))
                .into_tuple::<(Uuid, String)>()
                .all(db),
        )?;
        courses.extend(rows);
        for (course_id, skill_id) in links {
            if let Some(g) = gap_list.iter().position(|g| g.skill_id == skill_id) {
                taught.entry(course_id).or_default().push(g);
            }
        }
    }
    let providers = crate::service::organizations::by_ids(db, courses.iter().map(|c| c.provider_id)).await?;
    let rules = FundingRules::get();
    let mut list = Vec::new();
    for course in courses {
        let Some(offerings) = runs.remove(&course.id) else { continue };
        let Some(provider) = providers.get(&course.provider_id) else { continue };
        let mut skills = taught.remove(&course.id).unwrap_or_default();
        skills.sort_unstable();
        skills.dedup();
        let usable: Vec<Run> = offerings
            .into_iter()
            .filter_map(|o| {
                let online = o.online || course.format == CourseFormat::Online;
                let distance = match (options.origin, o.latitude.zip(o.longitude)) {
                    (Some((a, b)), Some((c, d))) => Some(haversine_km(a, b, c, d)),
                    _ => None,
                };
                let reachable = if online {
                    options.online_acceptable
                } else {
                    match (options.origin, distance) {
                        (None, _) => true,
                        (Some(_), Some(km)) => km <= options.max_distance_km,
                        (Some(_), None) => false,
                    }
                };
                if !reachable {
                    return None;
                }
                let price = o.price_cents_override.or(course.price_cents);
                let facts = FundingFacts {
                    price_cents: price,
                    vat: course.vat,
                    duration_hours: course.duration_hours,
                    provider_azav_certified: provider.azav_certified,
                    azav_measure_number: course.azav_measure_number.clone(),
                    reference_date: o.start_date,
                };
                // The estimate's figure without its sentences: this runs for every candidate run.
                let subsidy = funding::subsidy_percent(&facts, options.employee_count, rules).unwrap_or(0);
                let gross = price.map(|p| funding::gross(p, course.vat));
                Some(Run {
                    gross_cents: gross,
                    net_cents: gross.map(|g| g - funding::percent_of(g, subsidy)),
                    distance_km: if online { None } else { distance },
                    online,
                    offering: o,
                })
            })
            .collect();
        if usable.is_empty() || skills.is_empty() {
            continue;
        }
        list.push(Candidate { provider_name: provider.name.clone(), course, skills, runs: usable });
    }
    list.sort_by_key(|c| c.course.id);
    Ok(list)
}

/// Fills `path` with the chosen steps, their alternatives and the German explanation.
fn describe(
    path: &mut LearningPath,
    kept: &[Candidate],
    all: &[Candidate],
    chosen: &[(usize, usize)],
    gap_list: &[PathGap],
    targets: &[i32],
) {
    let mut levels: Vec<i32> = gap_list.iter().map(|g| g.from).collect();
    let mut total_net: Option<i64> = None;
    for (i, &(c, r)) in chosen.iter().enumerate() {
        let candidate = &kept[c];
        let run = &candidate.runs[r];
        let gains = raises(candidate, &levels, targets);
        let raises: Vec<Raise> = gains
            .iter()
            .map(|&(g, to)| Raise {
                skill_id: gap_list[g].skill_id.clone(),
                skill_label: gap_list[g].skill_label.clone(),
                from: levels[g],
                to,
            })
            .collect();
        let next_start = chosen.get(i + 1).map(|&(c, r)| kept[c].runs[r].offering.start_date);
        let prev_end = i.checked_sub(1).map(|p| kept[chosen[p].0].runs[chosen[p].1].offering.end_date);
        let alternatives = alternatives(all, run, &gains, &levels, targets, prev_end, next_start);
        for &(g, to) in &gains {
            levels[g] = to;
        }
        let closes = raises
            .iter()
            .map(|r| format!("{} von ‚{}' auf ‚{}'", r.skill_label, level_name(r.from), level_name(r.to)))
            .collect::<Vec<_>>()
            .join(", ");
        let place = if run.online {
            "online".to_owned()
        } else {
            match (&run.offering.city, run.distance_km) {
                (Some(city), Some(km)) => format!("in {city} ({km:.0} km)"),
                (Some(city), None) => format!("in {city}"),
                _ => "vor Ort".to_owned(),
            }
        };
        let mut explanation = format!(
            "Schritt {}: ‚{}' ({}) vom {} bis {} {place} hebt {closes}.",
            i + 1,
            candidate.course.title,
            candidate.provider_name,
            german(run.offering.start_date),
            german(run.offering.end_date),
        );
        if let Some(dqr) = candidate.course.dqr_level
            && dqr >= 4
        {
            let (entry, _) = ladder(Some(dqr));
            explanation.push_str(&format!(
                " DQR {dqr}: setzt ‚{}' voraus, das {}.",
                level_name(entry),
                if i == 0 { "bereits vorhanden ist" } else { "die Schritte davor erreichen" }
            ));
        }
        if let Some(hours) = candidate.course.duration_hours {
            explanation.push_str(&format!(" {hours} Stunden."));
        }
        match (run.gross_cents, run.net_cents) {
            (Some(gross), Some(net)) if net < gross => explanation.push_str(&format!(
                " Kosten {} je Person, nach geschätzter Förderung (QCG) etwa {}.",
                money(gross),
                money(net)
            )),
            (Some(gross), _) => explanation.push_str(&format!(" Kosten {} je Person.", money(gross))),
            _ => explanation.push_str(" Preis auf Anfrage."),
        }
        if alternatives.is_empty() {
            explanation.push_str(" Keine Alternative im selben Zeitraum.");
        }
        if let Some(cost) = run.net_cents.or(run.gross_cents) {
            total_net = Some(total_net.unwrap_or(0) + cost);
        }
        path.total_hours += candidate.course.duration_hours.unwrap_or(0);
        path.completion = path.completion.max(Some(run.offering.end_date));
        path.explanation.push(explanation.clone());
        path.steps.push(PathStep {
            offering_id: run.offering.id,
            course_id: candidate.course.id,
            course_title: candidate.course.title.clone(),
            provider_name: candidate.provider_name.clone(),
            dqr_level: candidate.course.dqr_level,
            start_date: run.offering.start_date,
            end_date: run.offering.end_date,
            online: run.online,
            city: run.offering.city.clone(),
            distance_km: run.distance_km,
            hours: candidate.course.duration_hours,
            gross_cents: run.gross_cents,
            net_cents: run.net_cents,
            raises,
            explanation,
            alternatives,
        });
    }
    path.total_net_cents = total_net;
    for (g, gap) in gap_list.iter().enumerate() {
        if levels[g] >= gap.to {
            continue;
        }
        let teaches = all.iter().any(|c| c.skills.contains(&g));
        let reason = if !teaches {
            format!(
                "Kein veröffentlichter Kurs mit freien Plätzen in Reichweite vermittelt {} ab dem Starttermin.",
                gap.skill_label
            )
        } else {
            format!(
                "Für {} bis ‚{}' fehlt ein passender Kurs in der Stufenfolge (DQR-Leiter) oder im Zeitplan.",
                gap.skill_label,
                level_name(gap.to)
            )
        };
        path.explanation.push(format!(
            "Offen: {} (noch ‚{}' statt ‚{}'). {reason}",
            gap.skill_label,
            level_name(levels[g]),
            level_name(gap.to)
        ));
        path.open.push((PathGap { from: levels[g], ..gap.clone() }, reason));
    }
    if let Some(end) = path.completion {
        path.explanation.push(format!("Frühester Abschluss: {}.", german(end)));
    }
}

/// Other runs that raise the same skills as far, fit between the previous step's end and the next
/// step's start, and are not the chosen one: what to book when the step fills up.
#[allow(clippy::too_many_arguments)]
fn alternatives(
    all: &[Candidate],
    run: &Run,
    gains: &[(usize, i32)],
    levels: &[i32],
    targets: &[i32],
    prev_end: Option<NaiveDate>,
    next_start: Option<NaiveDate>,
) -> Vec<Alternative> {
    let mut found: Vec<Alternative> = Vec::new();
    for candidate in all {
        let theirs = raises(candidate, levels, targets);
        if !gains.iter().all(|(g, to)| theirs.iter().any(|(h, t)| h == g && t >= to)) {
            continue;
        }
        for other in &candidate.runs {
            let o = &other.offering;
            if o.id == run.offering.id
                || prev_end.is_some_and(|end| o.start_date <= end)
                || next_start.is_some_and(|start| o.end_date >= start)
            {
                continue;
            }
            found.push(Alternative {
                offering_id: o.id,
                course_id: candidate.course.id,
                course_title: candidate.course.title.clone(),
                start_date: o.start_date,
                end_date: o.end_date,
            });
        }
    }
    found.sort_by_key(|a| (a.end_date, a.offering_id));
    found.truncate(ALTERNATIVES);
    found
}
