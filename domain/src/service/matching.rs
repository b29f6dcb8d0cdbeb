//! Matching with data: loads needs and candidates, lets [`crate::matching`] score them, and applies
//! who may see what. For a need, candidates come from the search backend's filters (skills, and — when
//! excluded ones are not wanted — the hard constraints: start window, seats, radius); their exact
//! scores are computed here from the database rows.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, Utc};
use entity::course::{self, CourseFormat, CourseStatus};
use entity::need_skill::SkillImportance;
use entity::organization::{self, OrganizationKind};
use entity::qualification_need::{self as need, NeedStatus, NeedVisibility};
use entity::{course_skill, need_participation, need_skill, offering, skill};
use sea_orm::sea_query::{Query, SelectStatement};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DerivePartialModel, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::context::AppState;
use crate::error::{ApiError, ApiResult};
use crate::matching::score::QuickScore;
use crate::matching::{
    Candidate, FundingEstimate, FundingFacts, FundingRules, MatchScore, MatchingConfig, NeedProfile,
    PoolMember, SkillRef, funding, score,
};
use crate::search::query::{Near, SearchFilter, SearchRequest, SearchSort};
use crate::search::{Backend, document};
use crate::service::{access, courses, json_list, needs, organizations};

/// SQL `IN` lists are split into chunks of this size.
const CHUNK: usize = 900;

/// A scored candidate of a need.
#[derive(Debug, Clone)]
pub struct Match {
    pub candidate: Candidate,
    pub score: MatchScore,
}

/// A need a provider could serve, with its best-scoring course.
#[derive(Debug, Clone)]
pub struct Lead {
    pub need: need::Model,
    pub candidate: Candidate,
    pub score: MatchScore,
}

/// A lead to announce when a need opens.
#[derive(Debug, Clone, Copy)]
pub struct NewLead {
    pub provider_id: Uuid,
    pub course_id: Uuid,
    pub offering_id: Option<Uuid>,
    pub score: u8,
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

// ---- needs → profiles ----

/// The columns of a need that scoring reads (not its texts: leads read thousands of needs).
#[derive(Debug, Clone, DerivePartialModel)]
#[sea_orm(entity = "need::Entity")]
struct NeedRow {
    id: Uuid,
    firm_id: Uuid,
    target_dqr_level: Option<i16>,
    participants: i32,
    latitude: Option<f64>,
    longitude: Option<f64>,
    max_distance_km: Option<i32>,
    online_acceptable: bool,
    preferred_schedule: Option<entity::course::CourseSchedule>,
    earliest_start: Option<NaiveDate>,
    latest_start: Option<NaiveDate>,
    budget_cents_per_participant: Option<i64>,
    funding_wanted: String,
    language: String,
}

impl From<&need::Model> for NeedRow {
    fn from(n: &need::Model) -> Self {
        Self {
            id: n.id,
            firm_id: n.firm_id,
            target_dqr_level: n.target_dqr_level,
            participants: n.participants,
            latitude: n.latitude,
            longitude: n.longitude,
            max_distance_km: n.max_distance_km,
            online_acceptable: n.online_acceptable,
            preferred_schedule: n.preferred_schedule,
            earliest_start: n.earliest_start,
            latest_start: n.latest_start,
            budget_cents_per_participant: n.budget_cents_per_participant,
            funding_wanted: n.funding_wanted.clone(),
            language: n.language.clone(),
        }
    }
}

/// Profiles of `needs` (skills with labels, pool, owner size) in a fixed number of queries.
async fn profiles(db: &DatabaseConnection, needs: &[need::Model]) -> ApiResult<HashMap<Uuid, NeedProfile>> {
    let ids: Vec<Uuid> = needs.iter().map(|n| n.id).collect();
    let rows: Vec<NeedRow> = needs.iter().map(NeedRow::from).collect();
    profiles_of(db, &rows, NeedScope::Ids(&ids)).await
}

/// Which needs' skills and pools to read: listed ids, or those a subquery selects (one statement
/// for thousands of needs instead of chunked id lists).
enum NeedScope<'a> {
    Ids(&'a [Uuid]),
    Subquery(Box<SelectStatement>),
}

impl NeedScope<'_> {
    fn conditions(&self, column: impl ColumnTrait) -> Vec<sea_orm::Condition> {
        match self {
            Self::Ids(ids) => ids
                .chunks(CHUNK)
                .map(|chunk| sea_orm::Condition::all().add(column.is_in(chunk.iter().copied())))
                .collect(),
            Self::Subquery(select) => {
                vec![sea_orm::Condition::all().add(column.in_subquery((**select).clone()))]
            }
        }
    }
}

async fn profiles_of(
    db: &DatabaseConnection,
    needs: &[NeedRow],
    scope: NeedScope<'_>,
) -> ApiResult<HashMap<Uuid, NeedProfile>> {
    let relations = need_relations(db, &scope).await?;
    profiles_from(db, needs, relations).await
}

/// The skills (with labels) and pool participations of the needs in `scope`.
struct NeedRelations {
    skills: HashMap<Uuid, Vec<(need_skill::Model, String)>>,
    pools: HashMap<Uuid, Vec<need_participation::Model>>,
}

/// Reads skills, labels and pools side by side (each on its own pooled connection).
async fn need_relations(db: &DatabaseConnection, scope: &NeedScope<'_>) -> ApiResult<NeedRelations> {
    // Labels of the whole vocabulary (a few hundred short rows) instead of a join per need skill.
    let labels = async {
        skill::Entity::find()
            .select_only()
            .column(skill::Column::Id)
            .column(skill::Column::Label)
            .into_tuple::<(String, String)>()
            .all(db)
            .await
    };
    let links = async {
        let mut all = Vec::new();
        for condition in scope.conditions(need_skill::Column::NeedId) {
            all.extend(need_skill::Entity::find().filter(condition).all(db).await?);
        }
        Ok::<_, sea_orm::DbErr>(all)
    };
    let participations = async {
        let mut all = Vec::new();
        for condition in scope.conditions(need_participation::Column::NeedId) {
            all.extend(need_participation::Entity::find().filter(condition).all(db).await?);
        }
        Ok::<_, sea_orm::DbErr>(all)
    };
    let (labels, links, participations) = futures_util::try_join!(labels, links, participations)?;
    let labels: HashMap<String, String> = labels.into_iter().collect();
    let mut skills: HashMap<Uuid, Vec<(need_skill::Model, String)>> = HashMap::new();
    for link in links {
        let label = labels.get(&link.skill_id).cloned().unwrap_or_else(|| link.skill_id.clone());
        skills.entry(link.need_id).or_default().push((link, label));
    }
    let mut pools: HashMap<Uuid, Vec<need_participation::Model>> = HashMap::new();
    for p in participations {
        pools.entry(p.need_id).or_default().push(p);
    }
    Ok(NeedRelations { skills, pools })
}

async fn profiles_from(
    db: &DatabaseConnection,
    needs: &[NeedRow],
    relations: NeedRelations,
) -> ApiResult<HashMap<Uuid, NeedProfile>> {
    let NeedRelations { mut skills, mut pools } = relations;
    let mut firm_ids: HashSet<Uuid> = needs.iter().map(|n| n.firm_id).collect();
    firm_ids.extend(pools.values().flatten().map(|p| p.firm_id));
    let firms = organizations_by_id(db, firm_ids).await?;
    let mut out = HashMap::with_capacity(needs.len());
    for n in needs {
        let mut list = skills.remove(&n.id).unwrap_or_default();
        list.sort_by_key(|(link, _)| link.position);
        let pool = pools.remove(&n.id).unwrap_or_default();
        out.insert(n.id, profile(n, list, &pool, &firms));
    }
    Ok(out)
}

async fn organizations_by_id(
    db: &DatabaseConnection,
    ids: impl IntoIterator<Item = Uuid>,
) -> ApiResult<HashMap<Uuid, organization::Model>> {
    let ids: Vec<Uuid> = ids.into_iter().collect();
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        for org in organization::Entity::find()
            .filter(organization::Column::Id.is_in(chunk.iter().copied()))
            .all(db)
            .await?
        {
            out.insert(org.id, org);
        }
    }
    Ok(out)
}

fn profile(
    n: &NeedRow,
    skills: Vec<(need_skill::Model, String)>,
    pool: &[need_participation::Model],
    firms: &HashMap<Uuid, organization::Model>,
) -> NeedProfile {
    let (mut must, mut nice) = (Vec::new(), Vec::new());
    for (link, label) in skills {
        let skill = SkillRef { id: link.skill_id, label };
        match link.importance {
            SkillImportance::Must => must.push(skill),
            SkillImportance::Nice => nice.push(skill),
        }
    }
    let location = n.latitude.zip(n.longitude);
    let owner = firms.get(&n.firm_id);
    let mut members = vec![PoolMember {
        firm_id: n.firm_id,
        name: owner.map(|f| f.name.clone()).unwrap_or_default(),
        participants: n.participants,
        location,
    }];
    members.extend(pool.iter().map(|p| {
        let firm = firms.get(&p.firm_id);
        PoolMember {
            firm_id: p.firm_id,
            name: firm.map(|f| f.name.clone()).unwrap_or_default(),
            participants: p.participants,
            location: firm.and_then(|f| f.latitude.zip(f.longitude)),
        }
    }));
    NeedProfile {
        must_skills: must,
        nice_skills: nice,
        target_dqr_level: n.target_dqr_level,
        pool: members,
        location,
        max_distance_km: n.max_distance_km,
        online_acceptable: n.online_acceptable,
        preferred_schedule: n.preferred_schedule,
        earliest_start: n.earliest_start,
        latest_start: n.latest_start,
        budget_cents_per_participant: n.budget_cents_per_participant,
        funding_wanted: json_list::decode(&n.funding_wanted),
        language: n.language.clone(),
        owner_employee_count: owner.and_then(|f| f.employee_count),
    }
}

// ---- courses → candidates ----

/// The columns of a course that scoring reads (not its texts: a candidate list holds hundreds).
#[derive(Debug, Clone, DerivePartialModel)]
#[sea_orm(entity = "course::Entity")]
struct CourseRow {
    id: Uuid,
    provider_id: Uuid,
    dqr_level: Option<i16>,
    format: CourseFormat,
    schedule: entity::course::CourseSchedule,
    languages: String,
    duration_hours: Option<i32>,
    price_cents: Option<i64>,
    vat: entity::course::VatTreatment,
    funding_options: String,
    azav_measure_number: Option<String>,
    inhouse_possible: bool,
    min_participants: Option<i32>,
    rolling_start: bool,
}

/// The columns of an offering that scoring reads.
#[derive(Debug, Clone, DerivePartialModel)]
#[sea_orm(entity = "offering::Entity")]
struct RunRow {
    id: Uuid,
    course_id: Uuid,
    start_date: NaiveDate,
    signup_deadline: Option<NaiveDate>,
    rolling_start: bool,
    online: bool,
    latitude: Option<f64>,
    longitude: Option<f64>,
    seats_available: i32,
    price_cents_override: Option<i64>,
}

impl From<&offering::Model> for RunRow {
    fn from(o: &offering::Model) -> Self {
        Self {
            id: o.id,
            course_id: o.course_id,
            start_date: o.start_date,
            signup_deadline: o.signup_deadline,
            rolling_start: o.rolling_start,
            online: o.online,
            latitude: o.latitude,
            longitude: o.longitude,
            seats_available: o.seats_available,
            price_cents_override: o.price_cents_override,
        }
    }
}

/// What the scoring needs of one course.
struct CourseFacts {
    course: CourseRow,
    provider_azav: bool,
    skill_ids: Vec<String>,
}

fn candidate(facts: &CourseFacts, run: Option<&RunRow>) -> Candidate {
    let c = &facts.course;
    let online_only = c.format == CourseFormat::Online;
    Candidate {
        course_id: c.id,
        offering_id: run.map(|o| o.id),
        provider_id: c.provider_id,
        skill_ids: facts.skill_ids.clone(),
        dqr_level: c.dqr_level,
        format: c.format,
        schedule: c.schedule,
        languages: json_list::decode(&c.languages),
        duration_hours: c.duration_hours,
        price_cents: run.and_then(|o| o.price_cents_override).or(c.price_cents),
        vat: c.vat,
        funding_options: json_list::decode(&c.funding_options),
        provider_azav_certified: facts.provider_azav,
        azav_measure_number: c.azav_measure_number.clone(),
        inhouse_possible: c.inhouse_possible,
        min_participants: c.min_participants,
        rolling_start: run.map_or(c.rolling_start, |o| o.rolling_start),
        start_date: run.map(|o| o.start_date),
        signup_deadline: run.and_then(|o| o.signup_deadline),
        online: online_only || run.is_some_and(|o| o.online),
        location: run.and_then(|o| o.latitude.zip(o.longitude)),
        seats_available: run.map(|o| o.seats_available),
    }
}

/// Facts of published courses `ids` with their provider's AZAV status and skill ids.
async fn course_facts(db: &DatabaseConnection, ids: &[Uuid]) -> ApiResult<HashMap<Uuid, CourseFacts>> {
    let mut list: Vec<CourseRow> = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        list.extend(
            course::Entity::find()
                .filter(course::Column::Id.is_in(chunk.iter().copied()))
                .filter(course::Column::Status.eq(CourseStatus::Published))
                .into_partial_model::<CourseRow>()
                .all(db)
                .await?,
        );
    }
    let providers =
        organizations_by_id(db, list.iter().map(|c| c.provider_id).collect::<HashSet<_>>()).await?;
    let mut skills: HashMap<Uuid, Vec<String>> = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<(Uuid, String)> = course_skill::Entity::find()
            .select_only()
            .column(course_skill::Column::CourseId)
            .column(course_skill::Column::SkillId)
            .filter(course_skill::Column::CourseId.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        for (course_id, skill_id) in rows {
            skills.entry(course_id).or_default().push(skill_id);
        }
    }
    Ok(list
        .into_iter()
        .map(|c| {
            let facts = CourseFacts {
                provider_azav: providers.get(&c.provider_id).is_some_and(|p| p.azav_certified),
                skill_ids: skills.remove(&c.id).unwrap_or_default(),
                course: c,
            };
            (facts.course.id, facts)
        })
        .collect())
}

/// Offerings by id (`column` = `Id`) or of courses (`column` = `CourseId`), earliest start first.
async fn runs_where(
    db: &DatabaseConnection,
    column: offering::Column,
    ids: &[Uuid],
) -> ApiResult<Vec<RunRow>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        out.extend(
            offering::Entity::find()
                .filter(column.is_in(chunk.iter().copied()))
                .order_by_asc(offering::Column::StartDate)
                .order_by_asc(offering::Column::Id)
                .into_partial_model::<RunRow>()
                .all(db)
                .await?,
        );
    }
    Ok(out)
}

/// Every dated offering of the courses (plus the course itself when it has none) as candidates.
fn candidates_of(facts: &HashMap<Uuid, CourseFacts>, runs: &[RunRow]) -> Vec<Candidate> {
    let mut by_course: HashMap<Uuid, Vec<&RunRow>> = HashMap::new();
    for run in runs {
        by_course.entry(run.course_id).or_default().push(run);
    }
    let mut out = Vec::new();
    for (id, f) in facts {
        match by_course.get(id) {
            Some(runs) => out.extend(runs.iter().map(|r| candidate(f, Some(r)))),
            None => out.push(candidate(f, None)),
        }
    }
    out
}

/// The search request that finds a need's candidates: courses sharing a skill; with `strict`, also
/// only those that pass the hard constraints the engine can check.
fn candidate_request(profile: &NeedProfile, n: &need::Model, strict: bool) -> SearchRequest {
    let mut filter = SearchFilter {
        skills: profile.must_skills.iter().chain(&profile.nice_skills).map(|s| s.id.clone()).collect(),
        ..SearchFilter::default()
    };
    if strict {
        let earliest = n.earliest_start.map_or(today(), |e| e.max(today()));
        filter.start_from = Some(document::day_timestamp(earliest));
        filter.start_to = n.latest_start.map(document::day_timestamp);
        filter.has_seats = true;
        if !n.online_acceptable
            && let (Some((lat, lng)), Some(km)) = (profile.location, n.max_distance_km)
        {
            filter.near = Some(Near { lat, lng, radius_km: f64::from(km) });
        }
    }
    // Beyond `maxCandidates` the nearest (or earliest) courses are kept.
    let sort = if filter.near.is_some() { SearchSort::Distance } else { SearchSort::StartDate };
    let limit = MatchingConfig::get().max_candidates;
    SearchRequest {
        query: String::new(),
        filter,
        sort,
        limit,
        without_facets: true,
        ..SearchRequest::default()
    }
}

async fn candidates_for_need(
    db: &DatabaseConnection,
    search: &Backend,
    n: &need::Model,
    profile: &NeedProfile,
    include_excluded: bool,
) -> ApiResult<Vec<Candidate>> {
    if profile.must_skills.is_empty() && profile.nice_skills.is_empty() {
        return Ok(Vec::new());
    }
    let results = search.search(&candidate_request(profile, n, !include_excluded)).await?;
    let course_ids: Vec<Uuid> = results.hits.iter().map(|h| h.course_id).collect();
    let facts = course_facts(db, &course_ids).await?;
    // A course's single document (rolling start, online) names no offering: take all of its runs.
    let whole: Vec<Uuid> =
        results.hits.iter().filter(|h| h.offering_ids.is_empty()).map(|h| h.course_id).collect();
    let mut runs = runs_where(db, offering::Column::CourseId, &whole).await?;
    let named: Vec<Uuid> = results.hits.iter().flat_map(|h| h.offering_ids.iter().copied()).collect();
    runs.extend(runs_where(db, offering::Column::Id, &named).await?);
    Ok(candidates_of(&facts, &runs))
}

// ---- public operations ----

/// A need whose matches the caller may see: members of the firms in its pool, and members of a
/// provider that may see the need. Returns the need and whether the caller is in its pool.
async fn need_for_matching(
    db: &DatabaseConnection,
    caller: Uuid,
    need_id: Uuid,
) -> ApiResult<(need::Model, bool)> {
    let n = need::Entity::find_by_id(need_id).one(db).await?.ok_or_else(|| ApiError::not_found("need"))?;
    let own = access::organizations_of(db, caller).await?;
    if !needs::can_see(db, &own, &n).await? {
        return Err(ApiError::not_found("need"));
    }
    if needs::in_pool(&own, &needs::pool_firms(db, &n).await?) {
        return Ok((n, true));
    }
    let providers = organization::Entity::find()
        .filter(organization::Column::Id.is_in(own))
        .filter(organization::Column::Kind.eq(OrganizationKind::Provider))
        .all(db)
        .await?;
    if providers.is_empty() {
        return Err(ApiError::forbidden("only the need's firms and training providers may see its matches"));
    }
    Ok((n, false))
}

/// What outsiders (providers) see: scores computed without the firm's confidential size, and no
/// funding estimate for it.
fn for_outsiders(profile: &mut NeedProfile) {
    profile.owner_employee_count = None;
}

/// One page of the offerings ranked for a need (`offset`, up to `limit`): all of them, or with
/// `include_excluded` also those a hard constraint rules out (last, with the reason). Every
/// candidate is ranked by its numeric score; only the page gets explanations.
pub async fn matches_for_need(
    state: &AppState,
    caller: Uuid,
    need_id: Uuid,
    include_excluded: bool,
    offset: usize,
    limit: usize,
) -> ApiResult<Vec<Match>> {
    let db = &state.db;
    let search = &state.search;
    let (n, in_pool) = need_for_matching(db, caller, need_id).await?;
    let mut profiles = profiles(db, std::slice::from_ref(&n)).await?;
    let mut profile = profiles.remove(&n.id).ok_or_else(|| ApiError::not_found("need"))?;
    if !in_pool {
        for_outsiders(&mut profile);
    }
    let candidates = candidates_for_need(db, search, &n, &profile, include_excluded).await?;
    let (config, rules, today) = (MatchingConfig::get(), FundingRules::get(), today());
    Ok(score::quick_order(&profile, &candidates, today, config, rules)
        .into_iter()
        .filter(|(_, quick)| include_excluded || !quick.excluded)
        .skip(offset)
        .take(limit)
        .map(|(i, _)| {
            let mut score = score::score(&profile, &candidates[i], today, config, rules);
            if !in_pool {
                score.funding = None;
            }
            Match { candidate: candidates[i].clone(), score }
        })
        .collect())
}

/// Providers whose courses match a newly opened need above the lead threshold: the best course
/// of each.
/// For the alert dispatcher, which runs outside any request.
pub(crate) async fn new_leads(
    db: &DatabaseConnection,
    search: &Backend,
    need_id: Uuid,
) -> ApiResult<Vec<NewLead>> {
    let Some(n) = need::Entity::find_by_id(need_id).one(db).await? else {
        return Ok(Vec::new());
    };
    if n.status != NeedStatus::Open || n.visibility != NeedVisibility::Public {
        return Ok(Vec::new());
    }
    let mut profiles = profiles(db, std::slice::from_ref(&n)).await?;
    let Some(mut profile) = profiles.remove(&n.id) else {
        return Ok(Vec::new());
    };
    for_outsiders(&mut profile);
    let (config, rules, today) = (MatchingConfig::get(), FundingRules::get(), today());
    let candidates = candidates_for_need(db, search, &n, &profile, false).await?;
    let mut best: HashMap<Uuid, NewLead> = HashMap::new();
    for (i, quick) in score::quick_order(&profile, &candidates, today, config, rules) {
        let c = &candidates[i];
        if !is_lead(&profile, c, quick, config) || best.contains_key(&c.provider_id) {
            continue;
        }
        best.insert(
            c.provider_id,
            NewLead {
                provider_id: c.provider_id,
                course_id: c.course_id,
                offering_id: c.offering_id,
                score: quick.score,
            },
        );
    }
    let mut leads: Vec<NewLead> = best.into_values().collect();
    leads.sort_by(|a, b| b.score.cmp(&a.score).then(a.provider_id.cmp(&b.provider_id)));
    Ok(leads)
}

/// Open public needs ranked for a provider's published courses (or one of them).
pub async fn leads_for_provider(
    state: &AppState,
    caller: Uuid,
    provider_id: Uuid,
    offset: usize,
    limit: usize,
) -> ApiResult<Vec<Lead>> {
    let db = &state.db;
    access::member_of_kind(db, caller, provider_id, OrganizationKind::Provider, "organizationId").await?;
    let ids: Vec<Uuid> = course::Entity::find()
        .select_only()
        .column(course::Column::Id)
        .filter(course::Column::ProviderId.eq(provider_id))
        .filter(course::Column::Status.eq(CourseStatus::Published))
        .into_tuple()
        .all(db)
        .await?;
    leads_for_courses(db, &ids, offset, limit).await
}

/// Open public needs ranked for one course; only its provider's members may ask.
pub async fn matching_needs_for_course(
    state: &AppState,
    caller: Uuid,
    course_id: Uuid,
    offset: usize,
    limit: usize,
) -> ApiResult<Vec<Lead>> {
    let reads = &state.reads;
    let db = reads.db();
    let c = courses::visible(state, Some(caller), course_id).await?;
    if organizations::role_of(db, c.provider_id, caller).await?.is_none() {
        return Err(ApiError::forbidden("only members of the course's provider may see its matching needs"));
    }
    leads_for_courses(db, &[c.id], offset, limit).await
}

/// One page of the leads of `course_ids`, best first. Every open need is ranked on the numeric
/// score from its scoring columns; only the page's needs are read whole and explained.
async fn leads_for_courses(
    db: &DatabaseConnection,
    course_ids: &[Uuid],
    offset: usize,
    limit: usize,
) -> ApiResult<Vec<Lead>> {
    let facts = course_facts(db, course_ids).await?;
    let runs = runs_where(db, offering::Column::CourseId, course_ids).await?;
    let candidates = candidates_of(&facts, &runs);
    // Inverted index skill → candidates, so each need is scored only against courses it shares a
    // skill with.
    let mut by_skill: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, c) in candidates.iter().enumerate() {
        for s in &c.skill_ids {
            by_skill.entry(s.as_str()).or_default().push(i);
        }
    }
    let skill_ids: Vec<String> = by_skill.keys().map(|s| (*s).to_owned()).collect();
    let open_ids = open_needs_with_skills(&skill_ids);
    let scope = NeedScope::Subquery(Box::new(open_ids.clone()));
    let open = need::Entity::find()
        .filter(need::Column::Id.in_subquery(open_ids))
        .into_partial_model::<NeedRow>()
        .all(db);
    // The needs and their relations are read side by side.
    let (open, relations) =
        futures_util::try_join!(async { open.await.map_err(ApiError::from) }, need_relations(db, &scope))?;
    let mut profiles = profiles_from(db, &open, relations).await?;
    profiles.values_mut().for_each(for_outsiders);
    let (config, rules, today) = (MatchingConfig::get(), FundingRules::get(), today());
    // (need, best candidate, its numeric score)
    let mut ranked: Vec<(Uuid, usize, u8)> = Vec::new();
    for n in &open {
        let Some(profile) = profiles.get(&n.id) else { continue };
        // A lead teaches a MUST skill: only those candidates are scored.
        let mut seen: HashSet<usize> = HashSet::new();
        let mut best: Option<(usize, QuickScore)> = None;
        for s in &profile.must_skills {
            for &i in by_skill.get(s.id.as_str()).map(Vec::as_slice).unwrap_or_default() {
                if !seen.insert(i) {
                    continue;
                }
                let quick = score::quick(profile, &candidates[i], today, config, rules);
                if quick.excluded {
                    continue;
                }
                let better = best.is_none_or(|(j, b)| {
                    (quick.score, std::cmp::Reverse(candidates[i].course_id))
                        > (b.score, std::cmp::Reverse(candidates[j].course_id))
                });
                if better {
                    best = Some((i, quick));
                }
            }
        }
        if let Some((i, quick)) = best {
            ranked.push((n.id, i, quick.score));
        }
    }
    ranked.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
    let page: Vec<(Uuid, usize)> =
        ranked.into_iter().skip(offset).take(limit).map(|(n, i, _)| (n, i)).collect();
    let mut whole: HashMap<Uuid, need::Model> = need::Entity::find()
        .filter(need::Column::Id.is_in(page.iter().map(|(n, _)| *n)))
        .all(db)
        .await?
        .into_iter()
        .map(|n| (n.id, n))
        .collect();
    Ok(page
        .into_iter()
        .filter_map(|(need_id, i)| {
            let profile = profiles.get(&need_id)?;
            let mut score = score::score(profile, &candidates[i], today, config, rules);
            score.funding = None;
            Some(Lead { need: whole.remove(&need_id)?, candidate: candidates[i].clone(), score })
        })
        .collect())
}

/// Worth an alert: included, teaches a MUST skill (whatever else fits, a course without one is
/// no lead), and scores at least the lead threshold.
fn is_lead(profile: &NeedProfile, c: &Candidate, quick: QuickScore, config: &MatchingConfig) -> bool {
    !quick.excluded
        && quick.score >= config.lead_threshold
        && profile.must_skills.iter().any(|s| c.skill_ids.contains(&s.id))
}

/// OPEN PUBLIC needs naming any of `skill_ids`, and the subquery that selects their ids.
fn open_needs_with_skills(skill_ids: &[String]) -> SelectStatement {
    let with_skills = Query::select()
        .column(need_skill::Column::NeedId)
        .from(need_skill::Entity)
        .and_where(need_skill::Column::SkillId.is_in(skill_ids.iter().cloned()))
        .to_owned();
    Query::select()
        .column(need::Column::Id)
        .from(need::Entity)
        .and_where(need::Column::Status.eq(NeedStatus::Open))
        .and_where(need::Column::Visibility.eq(NeedVisibility::Public))
        .and_where(need::Column::Id.in_subquery(with_skills))
        .to_owned()
}

/// The estimated net cost per participant of an offering for a firm (members of the firm only).
pub async fn funding_estimate(
    state: &AppState,
    caller: Uuid,
    offering_id: Uuid,
    organization_id: Uuid,
) -> ApiResult<(offering::Model, FundingEstimate)> {
    let reads = &state.reads;
    let db = reads.db();
    let org =
        access::member_of_kind(db, caller, organization_id, OrganizationKind::Firm, "organizationId").await?;
    let run = courses::find_offering(state, Some(caller), offering_id).await?;
    let facts = course_facts(db, &[run.course_id]).await?;
    let f = facts.get(&run.course_id).ok_or_else(|| ApiError::not_found("offering"))?;
    let c = candidate(f, Some(&RunRow::from(&run)));
    let estimate = funding::estimate(
        &FundingFacts {
            price_cents: c.price_cents,
            vat: c.vat,
            duration_hours: c.duration_hours,
            provider_azav_certified: c.provider_azav_certified,
            azav_measure_number: c.azav_measure_number,
            reference_date: if run.rolling_start { today() } else { run.start_date.max(today()) },
        },
        org.employee_count,
        FundingRules::get(),
    );
    Ok((run, estimate))
}
