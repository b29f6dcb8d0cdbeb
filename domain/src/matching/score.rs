//! Scoring one candidate (a course offering, or a course with rolling start) against a
//! qualification need, and ranking many.
//!
//! Every criterion yields a score 0–100 and one German sentence; the total is the weighted mean.
//! Hard constraints (no seats, too far, online-only while attendance is wanted, start outside the
//! window, already started, signup closed) do not change the score but mark the candidate excluded,
//! with every reason that applies, so a user asking "why not this one?" gets the full answer.
//!
//! `passed` on a criterion means "no known shortfall": unknown data (no price, no DQR level, no venue)
//! scores `unknownScore` but does not count as failed.
//!
//! [`quick`] computes the same total, exclusion and distance without any text: rank or pick with it,
//! then [`score`] only the candidates shown. Both take their numbers from the same per-criterion
//! classification (`Fits`), so they cannot disagree.

use std::cmp::Ordering;

use chrono::NaiveDate;
use entity::course::{CourseFormat, CourseSchedule, FundingOption, VatTreatment};
use uuid::Uuid;

use super::config::{FundingRules, MatchingConfig};
use super::funding::{self, FundingEstimate};
use super::text::{Euros, Piece, push_text, text};

/// Room for the longer explanations (distance, price), so they are allocated once.
const LONG_TEXT: usize = 160;
use crate::search::query::haversine_km;

/// A skill of the shared vocabulary: stable id and German label (for explanations).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkillRef {
    pub id: String,
    pub label: String,
}

/// A firm taking part in a need (the owner or a firm that joined the pool).
#[derive(Debug, Clone, PartialEq)]
pub struct PoolMember {
    pub firm_id: Uuid,
    pub name: String,
    pub participants: i32,
    /// (latitude, longitude) of the firm's site; `None` = the need's location.
    pub location: Option<(f64, f64)>,
}

/// What a qualification need asks for, as far as matching is concerned.
#[derive(Debug, Clone, PartialEq)]
pub struct NeedProfile {
    pub must_skills: Vec<SkillRef>,
    pub nice_skills: Vec<SkillRef>,
    pub target_dqr_level: Option<i16>,
    /// The owning firm first, then firms that joined; total = sum of participants.
    pub pool: Vec<PoolMember>,
    /// (latitude, longitude) of the need's place (the owning firm's site).
    pub location: Option<(f64, f64)>,
    pub max_distance_km: Option<i32>,
    pub online_acceptable: bool,
    pub preferred_schedule: Option<CourseSchedule>,
    pub earliest_start: Option<NaiveDate>,
    pub latest_start: Option<NaiveDate>,
    pub budget_cents_per_participant: Option<i64>,
    pub funding_wanted: Vec<FundingOption>,
    /// ISO 639-1, e.g. "de".
    pub language: String,
    /// For the funding estimate.
    pub owner_employee_count: Option<i32>,
}

impl NeedProfile {
    /// Participants of all pool members (negative counts ignored).
    pub fn total_participants(&self) -> i32 {
        self.pool.iter().map(|m| m.participants.max(0)).fold(0, i32::saturating_add)
    }
}

/// A course offering (or a course with rolling start) with everything scoring needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub course_id: Uuid,
    /// `None`: a course with rolling start / no dated offering.
    pub offering_id: Option<Uuid>,
    pub provider_id: Uuid,
    pub skill_ids: Vec<String>,
    pub dqr_level: Option<i16>,
    pub format: CourseFormat,
    pub schedule: CourseSchedule,
    /// ISO 639-1 codes.
    pub languages: Vec<String>,
    pub duration_hours: Option<i32>,
    /// Per participant, as listed (see `vat`).
    pub price_cents: Option<i64>,
    pub vat: VatTreatment,
    pub funding_options: Vec<FundingOption>,
    pub provider_azav_certified: bool,
    pub azav_measure_number: Option<String>,
    pub inhouse_possible: bool,
    pub min_participants: Option<i32>,
    pub rolling_start: bool,
    pub start_date: Option<NaiveDate>,
    pub signup_deadline: Option<NaiveDate>,
    /// The offering (or course) is held online.
    pub online: bool,
    /// (latitude, longitude) of the venue.
    pub location: Option<(f64, f64)>,
    /// `None` = unknown/unlimited (rolling start without offering).
    pub seats_available: Option<i32>,
}

impl Candidate {
    /// Held online without any attendance (blended courses need a venue).
    fn is_online(&self) -> bool {
        self.online || self.format == CourseFormat::Online
    }
}

/// The scoring criteria, in the order of every breakdown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Criterion {
    MustSkills,
    NiceSkills,
    DqrLevel,
    Distance,
    StartWindow,
    Price,
    Seats,
    ScheduleFormat,
    Language,
}

impl Criterion {
    pub const ALL: [Criterion; 9] = [
        Criterion::MustSkills,
        Criterion::NiceSkills,
        Criterion::DqrLevel,
        Criterion::Distance,
        Criterion::StartWindow,
        Criterion::Price,
        Criterion::Seats,
        Criterion::ScheduleFormat,
        Criterion::Language,
    ];

    /// The key in `weights.json`, e.g. "mustSkills".
    pub fn key(self) -> &'static str {
        match self {
            Criterion::MustSkills => "mustSkills",
            Criterion::NiceSkills => "niceSkills",
            Criterion::DqrLevel => "dqrLevel",
            Criterion::Distance => "distance",
            Criterion::StartWindow => "startWindow",
            Criterion::Price => "price",
            Criterion::Seats => "seats",
            Criterion::ScheduleFormat => "scheduleFormat",
            Criterion::Language => "language",
        }
    }

    /// German name for users.
    pub fn label(self) -> &'static str {
        match self {
            Criterion::MustSkills => "Pflichtkompetenzen",
            Criterion::NiceSkills => "Wunschkompetenzen",
            Criterion::DqrLevel => "DQR-Niveau",
            Criterion::Distance => "Entfernung",
            Criterion::StartWindow => "Starttermin",
            Criterion::Price => "Preis",
            Criterion::Seats => "Plätze",
            Criterion::ScheduleFormat => "Zeitmodell und Format",
            Criterion::Language => "Sprache",
        }
    }
}

/// One criterion's share of a score.
#[derive(Debug, Clone, PartialEq)]
pub struct CriterionResult {
    pub criterion: Criterion,
    /// 0–100.
    pub score: u8,
    pub weight: f64,
    pub passed: bool,
    /// One German sentence.
    pub explanation: String,
}

/// The score of one candidate for one need.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchScore {
    /// 0–100, weighted mean of the breakdown (also computed for excluded candidates).
    pub score: u8,
    pub excluded: bool,
    /// Every hard constraint violated, in criterion order.
    pub exclusion_reasons: Vec<String>,
    /// All criteria, in `Criterion::ALL` order.
    pub breakdown: Vec<CriterionResult>,
    /// From the need's location to the venue; `None` for online or unknown places.
    pub distance_km: Option<f64>,
    /// Whenever the candidate has a price.
    pub funding: Option<FundingEstimate>,
}

impl MatchScore {
    /// The result of one criterion.
    pub fn result(&self, c: Criterion) -> Option<&CriterionResult> {
        self.breakdown.iter().find(|r| r.criterion == c)
    }
}

/// The ranking facts of `score()` without explanations or the funding estimate's texts: same total,
/// same exclusion, same distance. Much cheaper; use it to rank or pick, then call `score()` for the
/// candidates you show.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuickScore {
    pub score: u8,
    pub excluded: bool,
    pub distance_km: Option<f64>,
}

impl From<&MatchScore> for QuickScore {
    fn from(s: &MatchScore) -> Self {
        QuickScore { score: s.score, excluded: s.excluded, distance_km: s.distance_km }
    }
}

/// A criterion's numbers: all `quick` needs, and what `score` explains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Verdict {
    score: u8,
    passed: bool,
    /// A hard constraint is violated (then score 0, not passed).
    excluded: bool,
}

impl Verdict {
    const EXCLUDED: Verdict = Verdict { score: 0, passed: false, excluded: true };

    const fn soft(score: u8, passed: bool) -> Self {
        Verdict { score, passed, excluded: false }
    }
}

/// A criterion's German sentence and, when excluded, the reasons.
struct Explanation {
    text: String,
    exclusions: Vec<String>,
}

impl Explanation {
    fn soft(text: impl Into<String>) -> Self {
        Explanation { text: text.into(), exclusions: Vec::new() }
    }

    /// A violated hard constraint; the sentence repeats the reasons.
    fn excluded(reasons: Vec<String>) -> Self {
        Explanation { text: reasons.join("; "), exclusions: reasons }
    }
}

/// Per criterion, which case applies and the numbers its sentence quotes — found without allocating.
/// [`score`] and [`quick`] both take every number from here, so they cannot disagree; only `score`
/// turns the cases into sentences.
struct Fits<'a> {
    must: SkillFit,
    nice: SkillFit,
    dqr: DqrFit,
    place: Place<'a>,
    start: StartFit,
    price: PriceFit<'a>,
    seats: SeatsFit,
    schedule: ScheduleFit,
    language: LanguageFit,
}

impl<'a> Fits<'a> {
    fn new(
        need: &'a NeedProfile,
        c: &'a Candidate,
        today: NaiveDate,
        config: &MatchingConfig,
        rules: &'a FundingRules,
    ) -> Self {
        Fits {
            must: SkillFit::new(&need.must_skills, &c.skill_ids),
            nice: SkillFit::new(&need.nice_skills, &c.skill_ids),
            dqr: DqrFit::new(need.target_dqr_level, c.dqr_level),
            place: Place::new(need, c, config),
            start: StartFit::new(need, c, today),
            price: PriceFit::new(need, c, today, rules),
            seats: SeatsFit::new(need, c),
            schedule: ScheduleFit::new(need.preferred_schedule, c.schedule),
            language: LanguageFit::new(&need.language, &c.languages),
        }
    }

    /// In `Criterion::ALL` order.
    fn verdicts(&self, config: &MatchingConfig) -> [Verdict; 9] {
        [
            self.must.verdict(),
            self.nice.verdict(),
            self.dqr.verdict(config),
            self.place.verdict(config),
            self.start.verdict(config),
            self.price.verdict(config),
            self.seats.verdict(),
            self.schedule.verdict(config),
            self.language.verdict(config),
        ]
    }

    /// In `Criterion::ALL` order.
    fn explanations(&self, need: &NeedProfile, c: &Candidate) -> [Explanation; 9] {
        [
            self.must.explain(&need.must_skills, &c.skill_ids, &MUST),
            self.nice.explain(&need.nice_skills, &c.skill_ids, &NICE),
            self.dqr.explain(),
            self.place.explain(),
            self.start.explain(need),
            self.price.explain(need, c),
            self.seats.explain(),
            self.schedule.explain(c),
            self.language.explain(&need.language, &c.languages),
        ]
    }
}

/// The weighted mean of the verdicts' scores as a rounded percentage.
fn weighted_total(verdicts: &[Verdict; 9], config: &MatchingConfig) -> u8 {
    let mut weighted = 0.0;
    for (criterion, verdict) in Criterion::ALL.into_iter().zip(verdicts) {
        weighted += config.weight(criterion) * f64::from(verdict.score);
    }
    let weight_sum = config.weight_sum();
    let total = if weight_sum > 0.0 { weighted / weight_sum } else { 0.0 };
    percent(total / 100.0)
}

/// Scores `candidate` for `need` as of `today`.
pub fn score(
    need: &NeedProfile,
    candidate: &Candidate,
    today: NaiveDate,
    config: &MatchingConfig,
    rules: &FundingRules,
) -> MatchScore {
    let fits = Fits::new(need, candidate, today, config, rules);
    let verdicts = fits.verdicts(config);
    let mut exclusion_reasons = Vec::new();
    let mut breakdown = Vec::with_capacity(Criterion::ALL.len());
    let criteria = Criterion::ALL.into_iter().zip(verdicts).zip(fits.explanations(need, candidate));
    for ((criterion, verdict), explanation) in criteria {
        exclusion_reasons.extend(explanation.exclusions);
        breakdown.push(CriterionResult {
            criterion,
            score: verdict.score,
            weight: config.weight(criterion),
            passed: verdict.passed,
            explanation: explanation.text,
        });
    }
    let excluded = verdicts.iter().any(|v| v.excluded);
    debug_assert_eq!(excluded, !exclusion_reasons.is_empty());
    MatchScore {
        score: weighted_total(&verdicts, config),
        excluded,
        exclusion_reasons,
        breakdown,
        distance_km: fits.place.km(),
        funding: fits.price.estimate(),
    }
}

/// The total, exclusion and distance of [`score`] without building any text.
pub fn quick(
    need: &NeedProfile,
    candidate: &Candidate,
    today: NaiveDate,
    config: &MatchingConfig,
    rules: &FundingRules,
) -> QuickScore {
    let fits = Fits::new(need, candidate, today, config, rules);
    let verdicts = fits.verdicts(config);
    QuickScore {
        score: weighted_total(&verdicts, config),
        excluded: verdicts.iter().any(|v| v.excluded),
        distance_km: fits.place.km(),
    }
}

/// Scores all candidates and sorts them: included before excluded, then score descending, distance
/// ascending (unknown/online last), start ascending (rolling start first), then by (course, offering)
/// id so equal inputs always give the same order. Does not truncate (see `maxCandidates`).
pub fn rank(
    need: &NeedProfile,
    candidates: Vec<Candidate>,
    today: NaiveDate,
    config: &MatchingConfig,
    rules: &FundingRules,
) -> Vec<(Candidate, MatchScore)> {
    let mut scored: Vec<(Candidate, MatchScore)> = candidates
        .into_iter()
        .map(|c| {
            let s = score(need, &c, today, config, rules);
            (c, s)
        })
        .collect();
    scored.sort_by(|(ca, sa), (cb, sb)| ranking_order(ca, &sa.into(), cb, &sb.into()));
    scored
}

/// Sorts indices of `candidates` by the same order as `rank()` (included first, score desc, distance
/// asc with None last, start asc rolling first, then (course_id, offering_id)), using `quick` scores.
pub fn quick_order(
    need: &NeedProfile,
    candidates: &[Candidate],
    today: NaiveDate,
    config: &MatchingConfig,
    rules: &FundingRules,
) -> Vec<(usize, QuickScore)> {
    let mut scored: Vec<(usize, QuickScore)> =
        candidates.iter().map(|c| quick(need, c, today, config, rules)).enumerate().collect();
    // Stable, like `rank`, so even duplicate ids come out in the same order.
    scored.sort_by(|(a, sa), (b, sb)| ranking_order(&candidates[*a], sa, &candidates[*b], sb));
    scored
}

/// The order of [`rank`] and [`quick_order`].
fn ranking_order(ca: &Candidate, sa: &QuickScore, cb: &Candidate, sb: &QuickScore) -> Ordering {
    sa.excluded
        .cmp(&sb.excluded)
        .then(sb.score.cmp(&sa.score))
        .then_with(|| by_distance(sa.distance_km, sb.distance_km))
        .then_with(|| start_key(ca).cmp(&start_key(cb)))
        .then_with(|| (ca.course_id, ca.offering_id).cmp(&(cb.course_id, cb.offering_id)))
}

/// Known distances first, nearest first.
fn by_distance(a: Option<f64>, b: Option<f64>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.total_cmp(&b),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// Rolling start first, then by date, undated offerings last.
fn start_key(c: &Candidate) -> (u8, Option<NaiveDate>) {
    match (c.rolling_start, c.start_date) {
        (true, _) => (0, None),
        (false, Some(d)) => (1, Some(d)),
        (false, None) => (2, None),
    }
}

/// A fraction 0–1 as a rounded percentage, clamped.
fn percent(fraction: f64) -> u8 {
    if fraction.is_nan() { 0 } else { (fraction * 100.0).round().clamp(0.0, 100.0) as u8 }
}

/// German singular and plural of a skill list's name.
struct SkillNoun {
    one: &'static str,
    many: &'static str,
}

const MUST: SkillNoun = SkillNoun { one: "Pflichtkompetenz", many: "Pflichtkompetenzen" };
const NICE: SkillNoun = SkillNoun { one: "Wunschkompetenz", many: "Wunschkompetenzen" };

/// How many of the wanted skills the course teaches; the sentence names the missing ones.
#[derive(Clone, Copy)]
struct SkillFit {
    wanted: usize,
    covered: usize,
}

impl SkillFit {
    fn new(wanted: &[SkillRef], offered: &[String]) -> Self {
        let covered = wanted.iter().filter(|s| offered.contains(&s.id)).count();
        SkillFit { wanted: wanted.len(), covered }
    }

    fn verdict(self) -> Verdict {
        if self.wanted == 0 {
            return Verdict::soft(100, true);
        }
        Verdict::soft(percent(self.covered as f64 / self.wanted as f64), self.covered == self.wanted)
    }

    fn explain(self, wanted: &[SkillRef], offered: &[String], noun: &SkillNoun) -> Explanation {
        let total = self.wanted;
        if total == 0 {
            return Explanation::soft(text!("Keine ", noun.many, " angegeben"));
        }
        let name = if total == 1 { noun.one } else { noun.many };
        let complete = self.covered == total;
        if complete && total > 1 {
            return Explanation::soft(text!("Alle ", total, ' ', name, " abgedeckt"));
        }
        let mut out = text!(self.covered, " von ", total, ' ', name, " abgedeckt");
        let missing = wanted.iter().filter(|s| !offered.contains(&s.id));
        for (i, skill) in missing.enumerate() {
            out.push_str(if i == 0 { " (fehlt: " } else { ", " });
            out.push_str(&skill.label);
        }
        if !complete {
            out.push(')');
        }
        Explanation::soft(out)
    }
}

/// The course's DQR level against the target: exact 100, one off `dqrOffByOneScore`, further off 0.
#[derive(Clone, Copy)]
enum DqrFit {
    NoTarget,
    NoLevel,
    Level { level: i16, target: i16 },
}

impl DqrFit {
    fn new(target: Option<i16>, level: Option<i16>) -> Self {
        match (target, level) {
            (None, _) => DqrFit::NoTarget,
            (Some(_), None) => DqrFit::NoLevel,
            (Some(target), Some(level)) => DqrFit::Level { level, target },
        }
    }

    fn verdict(self, config: &MatchingConfig) -> Verdict {
        match self {
            DqrFit::NoTarget => Verdict::soft(100, true),
            DqrFit::NoLevel => Verdict::soft(config.unknown_score, true),
            DqrFit::Level { level, target } => match (i32::from(level) - i32::from(target)).abs() {
                0 => Verdict::soft(100, true),
                1 => Verdict::soft(config.dqr_off_by_one_score, true),
                _ => Verdict::soft(0, false),
            },
        }
    }

    fn explain(self) -> Explanation {
        let (level, target) = match self {
            DqrFit::NoTarget => return Explanation::soft("Kein DQR-Niveau vorgegeben"),
            DqrFit::NoLevel => return Explanation::soft("Kurs ohne DQR-Niveau"),
            DqrFit::Level { level, target } => (level, target),
        };
        let diff = i32::from(level) - i32::from(target);
        let direction = if diff > 0 { "höher" } else { "niedriger" };
        Explanation::soft(match diff.abs() {
            0 => text!("DQR ", level, " entspricht dem Zielniveau"),
            1 => text!("DQR ", level, " statt DQR ", target, " (eine Stufe ", direction, ')'),
            n => text!("DQR ", level, " statt DQR ", target, " (", n, " Stufen ", direction, ')'),
        })
    }
}

fn km_between(a: (f64, f64), b: (f64, f64)) -> f64 {
    haversine_km(a.0, a.1, b.0, b.1)
}

/// 1 at the door, 0 at `scale` km and beyond.
fn closeness(km: f64, scale: f64) -> f64 {
    (1.0 - km / scale).clamp(0.0, 1.0)
}

/// Travel for the pool, weighted by participants; venues beyond the need's maximum are excluded.
#[derive(Clone, Copy)]
enum Place<'a> {
    Online {
        acceptable: bool,
    },
    NoHome,
    NoVenue,
    /// `rounded` (whole km, as shown) exceeds `max`.
    TooFar {
        km: f64,
        rounded: i64,
        max: i32,
    },
    Near {
        km: f64,
        rounded: i64,
        max: Option<i32>,
        closeness: f64,
        farthest: Option<(&'a str, f64)>,
    },
}

impl<'a> Place<'a> {
    fn new(need: &'a NeedProfile, c: &Candidate, config: &MatchingConfig) -> Self {
        if c.is_online() {
            return Place::Online { acceptable: need.online_acceptable };
        }
        let Some(home) = need.location else {
            return Place::NoHome;
        };
        let Some(venue) = c.location else {
            return Place::NoVenue;
        };
        let km = km_between(home, venue);
        let rounded = km.round() as i64;
        // Compared in whole km, as shown, so "50 km entfernt, maximal 50 km" is never a reason.
        if let Some(max) = need.max_distance_km.filter(|&max| rounded > i64::from(max)) {
            return Place::TooFar { km, rounded, max };
        }
        let max = need.max_distance_km;
        let scale = max.filter(|&m| m > 0).map_or(config.distance_scale_km, f64::from);
        let (closeness, farthest) = pool_closeness(need, home, venue, km, scale);
        Place::Near { km, rounded, max, closeness, farthest }
    }

    /// From the need's location to the venue; `None` for online or unknown places.
    fn km(&self) -> Option<f64> {
        match *self {
            Place::TooFar { km, .. } | Place::Near { km, .. } => Some(km),
            Place::Online { .. } | Place::NoHome | Place::NoVenue => None,
        }
    }

    fn verdict(&self, config: &MatchingConfig) -> Verdict {
        match *self {
            Place::Online { acceptable: true } | Place::NoHome => Verdict::soft(100, true),
            Place::Online { acceptable: false } | Place::TooFar { .. } => Verdict::EXCLUDED,
            Place::NoVenue => Verdict::soft(config.unknown_score, true),
            Place::Near { closeness, .. } => Verdict::soft(percent(closeness), true),
        }
    }

    fn explain(&self) -> Explanation {
        match *self {
            Place::Online { acceptable: true } => Explanation::soft("Online – keine Anreise"),
            Place::Online { acceptable: false } => {
                Explanation::excluded(vec!["Nur online, Präsenz gewünscht".to_owned()])
            }
            Place::NoHome => Explanation::soft("Kein Standort angegeben"),
            Place::NoVenue => Explanation::soft("Ort unbekannt"),
            Place::TooFar { rounded, max, .. } => Explanation::excluded(vec![text!(
                "Veranstaltungsort ",
                rounded,
                " km entfernt, maximal ",
                max,
                " km"
            )]),
            Place::Near { rounded, max, farthest, .. } => {
                let mut text = String::with_capacity(LONG_TEXT);
                push_text!(&mut text, "Veranstaltungsort ", rounded, " km entfernt");
                if let Some(max) = max {
                    push_text!(&mut text, " (maximal ", max, " km)");
                }
                if let Some((name, far)) = farthest {
                    push_text!(&mut text, "; am weitesten für ", name, ": ", far.round() as i64, " km");
                }
                Explanation::soft(text)
            }
        }
    }
}

/// Participant-weighted closeness of all pool members (each from its own site), and for pools of
/// several firms the farthest one. Without participants, the need's own distance counts.
fn pool_closeness(
    need: &NeedProfile,
    home: (f64, f64),
    venue: (f64, f64),
    home_km: f64,
    scale: f64,
) -> (f64, Option<(&str, f64)>) {
    let (mut total, mut weighted, mut members) = (0.0, 0.0, 0);
    let mut farthest: Option<(&str, f64)> = None;
    for member in need.pool.iter().filter(|m| m.participants > 0) {
        let km = match member.location {
            Some(site) if site != home => km_between(site, venue),
            _ => home_km,
        };
        let weight = f64::from(member.participants);
        total += weight;
        weighted += weight * closeness(km, scale);
        members += 1;
        if farthest.is_none_or(|(_, f)| km > f) {
            farthest = Some((member.name.as_str(), km));
        }
    }
    if total == 0.0 {
        return (closeness(home_km, scale), None);
    }
    (weighted / total, farthest.filter(|_| members > 1))
}

/// A dated start must lie ahead, with signup still open, inside the wished window.
#[derive(Clone, Copy)]
enum StartFit {
    Rolling,
    Undated,
    Dated {
        start: NaiveDate,
        /// The start is before today.
        started: bool,
        /// The passed signup deadline (only checked when not yet started).
        deadline_passed: Option<NaiveDate>,
        /// The earliest wished start, when the start is before it.
        too_early: Option<NaiveDate>,
        /// The latest wished start, when the start is after it.
        too_late: Option<NaiveDate>,
    },
}

impl StartFit {
    fn new(need: &NeedProfile, c: &Candidate, today: NaiveDate) -> Self {
        if c.rolling_start {
            return StartFit::Rolling;
        }
        let Some(start) = c.start_date else {
            return StartFit::Undated;
        };
        let started = start < today;
        StartFit::Dated {
            start,
            started,
            deadline_passed: c.signup_deadline.filter(|&d| !started && d < today),
            too_early: need.earliest_start.filter(|&e| start < e),
            too_late: need.latest_start.filter(|&l| start > l),
        }
    }

    fn is_excluded(&self) -> bool {
        match *self {
            StartFit::Rolling | StartFit::Undated => false,
            StartFit::Dated { started, deadline_passed, too_early, too_late, .. } => {
                started || deadline_passed.is_some() || too_early.is_some() || too_late.is_some()
            }
        }
    }

    fn verdict(&self, config: &MatchingConfig) -> Verdict {
        match self {
            StartFit::Rolling => Verdict::soft(100, true),
            StartFit::Undated => Verdict::soft(config.unknown_score, true),
            StartFit::Dated { .. } if self.is_excluded() => Verdict::EXCLUDED,
            StartFit::Dated { .. } => Verdict::soft(100, true),
        }
    }

    fn explain(&self, need: &NeedProfile) -> Explanation {
        let excluded = self.is_excluded();
        let (start, started, deadline_passed, too_early, too_late) = match *self {
            StartFit::Rolling => return Explanation::soft("Einstieg jederzeit möglich"),
            StartFit::Undated => return Explanation::soft("Starttermin nicht angegeben"),
            StartFit::Dated { start, started, deadline_passed, too_early, too_late } => {
                (start, started, deadline_passed, too_early, too_late)
            }
        };
        if excluded {
            let mut reasons = Vec::new();
            if started {
                reasons.push(text!("Kurs hat bereits begonnen (Start ", start, ')'));
            }
            if let Some(deadline) = deadline_passed {
                reasons.push(text!("Anmeldeschluss ", deadline, " verstrichen"));
            }
            if let Some(earliest) = too_early {
                reasons.push(text!("Start ", start, " vor dem frühesten Wunschtermin ", earliest));
            }
            if let Some(latest) = too_late {
                reasons.push(text!("Start ", start, " nach dem spätesten Wunschtermin ", latest));
            }
            return Explanation::excluded(reasons);
        }
        let wished = need.earliest_start.is_some() || need.latest_start.is_some();
        Explanation::soft(text!("Start am ", start, if wished { " im Wunschzeitraum" } else { "" }))
    }
}

/// Cost per participant after QCG funding (when wanted and eligible) against the budget; over budget
/// the score falls linearly to 0 at twice the budget.
#[derive(Clone, Copy)]
enum PriceFit<'a> {
    OnRequest,
    Priced {
        /// Net when funded, else gross.
        cost: i64,
        budget: Option<i64>,
        /// The QCG percentage when wanted, eligible and above 0.
        subsidy: Option<u8>,
        wants_qcg: bool,
        funding: funding::Assessment<'a>,
    },
}

impl<'a> PriceFit<'a> {
    fn new(need: &NeedProfile, c: &'a Candidate, today: NaiveDate, rules: &'a FundingRules) -> Self {
        let Some(price) = c.price_cents else {
            return PriceFit::OnRequest;
        };
        let funding = funding::Assessment::new(funding_facts(c, today), need.owner_employee_count, rules);
        let wants_qcg = need.funding_wanted.contains(&FundingOption::Qcg);
        let subsidy = funding.subsidy_percent().filter(|&p| wants_qcg && p > 0);
        let gross = funding.gross_cents().unwrap_or(price);
        let cost = if subsidy.is_some() { funding.net_cents().unwrap_or(gross) } else { gross };
        PriceFit::Priced { cost, budget: need.budget_cents_per_participant, subsidy, wants_qcg, funding }
    }

    fn verdict(&self, config: &MatchingConfig) -> Verdict {
        match *self {
            PriceFit::OnRequest => Verdict::soft(config.unknown_score, true),
            PriceFit::Priced { cost, budget: Some(budget), .. } if cost > budget => {
                let over = if budget > 0 { (cost - budget) as f64 / budget as f64 } else { 1.0 };
                Verdict::soft(percent(1.0 - over), false)
            }
            PriceFit::Priced { .. } => Verdict::soft(100, true),
        }
    }

    fn explain(&self, need: &NeedProfile, c: &Candidate) -> Explanation {
        match *self {
            PriceFit::OnRequest => Explanation::soft("Preis auf Anfrage"),
            PriceFit::Priced { cost, budget, subsidy, wants_qcg, .. } => {
                let mut text = price_text(cost, budget, subsidy, wants_qcg);
                push_other_funding(&mut text, &need.funding_wanted, &c.funding_options);
                Explanation::soft(text)
            }
        }
    }

    /// Whenever the candidate has a price.
    fn estimate(&self) -> Option<FundingEstimate> {
        match self {
            PriceFit::OnRequest => None,
            PriceFit::Priced { funding, .. } => Some(funding.estimate()),
        }
    }
}

/// "Nettokosten 750 € je Teilnehmende (nach 50 % QCG-Förderung) – im Budget von 1.500 €".
fn price_text(cost: i64, budget: Option<i64>, subsidy: Option<u8>, wants_qcg: bool) -> String {
    let mut text = String::with_capacity(LONG_TEXT);
    if budget.is_none() {
        text.push_str("Kein Budget angegeben; ");
    }
    let label = if subsidy.is_some() { "Nettokosten " } else { "Kosten " };
    push_text!(&mut text, label, Euros(cost), " je Teilnehmende");
    match subsidy {
        Some(p) => push_text!(&mut text, " (nach ", p, " % QCG-Förderung)"),
        None if wants_qcg => text.push_str(" (ohne QCG-Förderung)"),
        None => {}
    }
    match budget {
        Some(b) if cost <= b => push_text!(&mut text, " – im Budget von ", Euros(b)),
        Some(b) => push_text!(&mut text, " – ", Euros(cost - b), " über dem Budget von ", Euros(b)),
        None => {}
    }
    text
}

/// The facts the funding estimate needs; a rolling start is judged by today's rules.
fn funding_facts(c: &Candidate, today: NaiveDate) -> funding::Facts<'_> {
    let reference_date = if c.rolling_start { today } else { c.start_date.unwrap_or(today) };
    funding::Facts {
        price_cents: c.price_cents,
        vat: c.vat,
        duration_hours: c.duration_hours,
        provider_azav_certified: c.provider_azav_certified,
        azav_measure_number: c.azav_measure_number.as_deref(),
        reference_date,
    }
}

/// Names the other wanted programs the provider lists; the engine estimates only QCG.
fn push_other_funding(text: &mut String, wanted: &[FundingOption], offered: &[FundingOption]) {
    let mut first = true;
    for option in wanted.iter().filter(|&&o| o != FundingOption::Qcg && offered.contains(&o)) {
        text.push_str(if first { "; laut Anbieter auch förderfähig mit " } else { ", " });
        text.push_str(funding_label(*option));
        first = false;
    }
}

fn funding_label(option: FundingOption) -> &'static str {
    match option {
        FundingOption::Qcg => "Qualifizierungschancengesetz",
        FundingOption::Bildungsgutschein => "Bildungsgutschein",
        FundingOption::AufstiegsBafoeg => "Aufstiegs-BAföG",
        FundingOption::RegionalEsf => "Landes-/ESF-Förderung",
        FundingOption::Bildungsurlaub => "Bildungsurlaub",
        FundingOption::Qualifizierungsgeld => "Qualifizierungsgeld",
    }
}

/// Free seats for the whole pool; an inhouse run makes up for a full offering.
#[derive(Clone, Copy)]
enum SeatsFit {
    Unlimited,
    Full,
    Enough {
        seats: i32,
        total: i32,
    },
    Inhouse {
        seats: i32,
        total: i32,
    },
    /// Fewer seats (> 0) than participants, no inhouse run.
    Short {
        seats: i32,
        total: i32,
    },
}

impl SeatsFit {
    fn new(need: &NeedProfile, c: &Candidate) -> Self {
        let Some(seats) = c.seats_available else {
            return SeatsFit::Unlimited;
        };
        if seats <= 0 {
            return SeatsFit::Full;
        }
        let total = need.total_participants();
        if seats >= total {
            SeatsFit::Enough { seats, total }
        } else if c.inhouse_possible && c.min_participants.is_none_or(|min| total >= min) {
            SeatsFit::Inhouse { seats, total }
        } else {
            SeatsFit::Short { seats, total }
        }
    }

    fn verdict(self) -> Verdict {
        match self {
            SeatsFit::Unlimited | SeatsFit::Enough { .. } | SeatsFit::Inhouse { .. } => {
                Verdict::soft(100, true)
            }
            SeatsFit::Full => Verdict::EXCLUDED,
            SeatsFit::Short { seats, total } => {
                Verdict::soft(percent(f64::from(seats) / f64::from(total)), false)
            }
        }
    }

    fn explain(self) -> Explanation {
        match self {
            SeatsFit::Unlimited => Explanation::soft("Keine Platzbegrenzung bekannt"),
            SeatsFit::Full => Explanation::excluded(vec!["Keine freien Plätze".to_owned()]),
            SeatsFit::Enough { seats, total } | SeatsFit::Short { seats, total } => {
                Explanation::soft(text!(FreeSeats(seats), " für ", total, " Teilnehmende"))
            }
            SeatsFit::Inhouse { seats, total } => Explanation::soft(text!(
                "Inhouse-Durchführung möglich (",
                FreeSeats(seats),
                " für ",
                total,
                " Teilnehmende)"
            )),
        }
    }
}

/// "1 freier Platz", "5 freie Plätze".
struct FreeSeats(i32);

impl Piece for FreeSeats {
    fn push_to(&self, out: &mut String) {
        self.0.push_to(out);
        out.push_str(if self.0 == 1 { " freier Platz" } else { " freie Plätze" });
    }

    fn len_hint(&self) -> usize {
        32
    }
}

fn schedule_label(s: CourseSchedule) -> &'static str {
    match s {
        CourseSchedule::FullTime => "Vollzeit",
        CourseSchedule::PartTime => "Teilzeit",
        CourseSchedule::ExtraOccupational => "berufsbegleitend",
        CourseSchedule::SelfPaced => "im eigenen Tempo",
    }
}

fn format_label(f: CourseFormat) -> &'static str {
    match f {
        CourseFormat::InPerson => "Präsenz",
        CourseFormat::Online => "online",
        CourseFormat::Blended => "Blended Learning",
    }
}

/// The schedule against the preferred one; the format is only named (distance judges it).
#[derive(Clone, Copy)]
enum ScheduleFit {
    NoPreference,
    AsWished,
    /// The preferred schedule, which the course does not follow.
    Instead(CourseSchedule),
}

impl ScheduleFit {
    fn new(preferred: Option<CourseSchedule>, schedule: CourseSchedule) -> Self {
        match preferred {
            None => ScheduleFit::NoPreference,
            Some(p) if p == schedule => ScheduleFit::AsWished,
            Some(p) => ScheduleFit::Instead(p),
        }
    }

    fn verdict(self, config: &MatchingConfig) -> Verdict {
        match self {
            ScheduleFit::NoPreference | ScheduleFit::AsWished => Verdict::soft(100, true),
            ScheduleFit::Instead(_) => Verdict::soft(config.schedule_mismatch_score, false),
        }
    }

    fn explain(self, c: &Candidate) -> Explanation {
        let (schedule, format) = (schedule_label(c.schedule), format_label(c.format));
        Explanation::soft(match self {
            ScheduleFit::NoPreference => text!("Kein Zeitmodell vorgegeben; ", schedule, ", Format ", format),
            ScheduleFit::AsWished => text!("Zeitmodell ", schedule, " wie gewünscht; Format ", format),
            ScheduleFit::Instead(p) => {
                text!("Zeitmodell ", schedule, " statt ", schedule_label(p), "; Format ", format)
            }
        })
    }
}

const LANGUAGE_NAMES: &[(&str, &str)] = &[
    ("de", "Deutsch"),
    ("en", "Englisch"),
    ("fr", "Französisch"),
    ("es", "Spanisch"),
    ("it", "Italienisch"),
    ("nl", "Niederländisch"),
    ("pl", "Polnisch"),
    ("cs", "Tschechisch"),
    ("pt", "Portugiesisch"),
    ("tr", "Türkisch"),
    ("ru", "Russisch"),
    ("uk", "Ukrainisch"),
    ("ar", "Arabisch"),
];

/// German name of an ISO 639-1 code, or the code itself.
fn language_name(code: &str) -> &str {
    LANGUAGE_NAMES.iter().find(|(c, _)| c.eq_ignore_ascii_case(code)).map_or(code, |(_, name)| name)
}

/// Whether the course is taught in the need's language.
#[derive(Clone, Copy)]
enum LanguageFit {
    NoWish,
    Unknown,
    Taught,
    NotTaught,
}

impl LanguageFit {
    fn new(wanted: &str, offered: &[String]) -> Self {
        if wanted.trim().is_empty() {
            LanguageFit::NoWish
        } else if offered.is_empty() {
            LanguageFit::Unknown
        } else if offered.iter().any(|l| l.eq_ignore_ascii_case(wanted)) {
            LanguageFit::Taught
        } else {
            LanguageFit::NotTaught
        }
    }

    fn verdict(self, config: &MatchingConfig) -> Verdict {
        match self {
            LanguageFit::NoWish | LanguageFit::Taught => Verdict::soft(100, true),
            LanguageFit::Unknown => Verdict::soft(config.unknown_score, true),
            LanguageFit::NotTaught => Verdict::soft(0, false),
        }
    }

    fn explain(self, wanted: &str, offered: &[String]) -> Explanation {
        match self {
            LanguageFit::NoWish => Explanation::soft("Keine Sprache vorgegeben"),
            LanguageFit::Unknown => Explanation::soft("Kurssprache nicht angegeben"),
            LanguageFit::Taught => Explanation::soft(text!("Kurs auf ", language_name(wanted))),
            LanguageFit::NotTaught => {
                let names: Vec<&str> = offered.iter().map(|l| language_name(l)).collect();
                Explanation::soft(text!("Kurssprache ", names.join(", "), " statt ", language_name(wanted)))
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const JENA: (f64, f64) = (50.9271, 11.5892);
    /// About 40 km north of Jena.
    const NORTH_40: (f64, f64) = (51.2868, 11.5892);
    /// About 20 km north of Jena.
    const NORTH_20: (f64, f64) = (51.1070, 11.5892);

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn today() -> NaiveDate {
        date(2025, 1, 15)
    }

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn skill(id: &str, label: &str) -> SkillRef {
        SkillRef { id: id.into(), label: label.into() }
    }

    fn member(n: u128, name: &str, participants: i32, location: Option<(f64, f64)>) -> PoolMember {
        PoolMember { firm_id: id(n), name: name.into(), participants, location }
    }

    /// 3 participants of a 200-employee firm in Jena: 4 must skills, DQR 5, within 50 km,
    /// berufsbegleitend, start March–June 2025, 1.500 € budget with QCG.
    fn need() -> NeedProfile {
        NeedProfile {
            must_skills: vec![
                skill("sps", "SPS-Programmierung"),
                skill("hmi", "HMI-Gestaltung"),
                skill("bus", "Feldbussysteme"),
                skill("safety", "Maschinensicherheit"),
            ],
            nice_skills: vec![skill("robot", "Robotik")],
            target_dqr_level: Some(5),
            pool: vec![member(100, "Optik Jena GmbH", 3, Some(JENA))],
            location: Some(JENA),
            max_distance_km: Some(50),
            online_acceptable: false,
            preferred_schedule: Some(CourseSchedule::ExtraOccupational),
            earliest_start: Some(date(2025, 3, 1)),
            latest_start: Some(date(2025, 6, 30)),
            budget_cents_per_participant: Some(150_000),
            funding_wanted: vec![FundingOption::Qcg],
            language: "de".into(),
            owner_employee_count: Some(200),
        }
    }

    /// A perfect fit for `need()`: all skills, DQR 5, in Jena, April 2025, 1.500 € (750 € after QCG).
    fn candidate(n: u128) -> Candidate {
        Candidate {
            course_id: id(n),
            offering_id: Some(id(1000 + n)),
            provider_id: id(9),
            skill_ids: ["sps", "hmi", "bus", "safety", "robot"].map(String::from).to_vec(),
            dqr_level: Some(5),
            format: CourseFormat::InPerson,
            schedule: CourseSchedule::ExtraOccupational,
            languages: vec!["de".into()],
            duration_hours: Some(200),
            price_cents: Some(150_000),
            vat: VatTreatment::Included,
            funding_options: vec![FundingOption::Qcg],
            provider_azav_certified: true,
            azav_measure_number: Some("955/123/2024".into()),
            inhouse_possible: false,
            min_participants: None,
            rolling_start: false,
            start_date: Some(date(2025, 4, 1)),
            signup_deadline: Some(date(2025, 3, 15)),
            online: false,
            location: Some(JENA),
            seats_available: Some(10),
        }
    }

    fn run(need: &NeedProfile, c: &Candidate) -> MatchScore {
        score(need, c, today(), MatchingConfig::get(), FundingRules::get())
    }

    fn explain(need: &NeedProfile, c: &Candidate, criterion: Criterion) -> String {
        run(need, c).result(criterion).unwrap().explanation.clone()
    }

    fn order(need: &NeedProfile, candidates: Vec<Candidate>) -> Vec<Uuid> {
        rank(need, candidates, today(), MatchingConfig::get(), FundingRules::get())
            .into_iter()
            .map(|(c, _)| c.course_id)
            .collect()
    }

    #[test]
    fn perfect_match_scores_100() {
        let s = run(&need(), &candidate(1));
        assert_eq!(s.score, 100);
        assert!(!s.excluded);
        assert!(s.exclusion_reasons.is_empty());
        let criteria: Vec<Criterion> = s.breakdown.iter().map(|r| r.criterion).collect();
        assert_eq!(criteria, Criterion::ALL);
        assert!(s.breakdown.iter().all(|r| r.passed && r.score == 100));
        assert_eq!(s.distance_km, Some(0.0));
        assert_eq!(s.funding.unwrap().net_cents, Some(75_000));
    }

    #[test]
    fn ranking_follows_construction() {
        let perfect = candidate(1);
        let skill_ids = ["hmi", "bus", "safety", "robot"].map(String::from).to_vec();
        let missing_skill = Candidate { skill_ids, ..candidate(2) };
        let far = Candidate { location: Some(NORTH_40), ..candidate(3) };
        // 5.000 € → 2.500 € after 50 % QCG: 1.000 € over a 1.500 € budget.
        let expensive = Candidate { price_cents: Some(500_000), ..candidate(4) };
        let wrong_level = Candidate { dqr_level: Some(3), ..candidate(5) };
        let full = Candidate { seats_available: Some(0), ..candidate(6) };
        let all = vec![full, wrong_level, far, missing_skill, expensive, perfect];
        let scores: Vec<u8> = all.iter().map(|c| run(&need(), c).score).collect();
        // 100 − 5 = 95; 100 − 10 = 90; 100 − 15·0.8 = 88; 100 − 35·¼ = 91.25; 100 − 10·⅔ = 93.3.
        assert_eq!(scores, [95, 90, 88, 91, 93, 100]);
        assert_eq!(order(&need(), all), [1, 4, 2, 5, 3, 6].map(id));
    }

    #[test]
    fn ranking_ties_are_deterministic() {
        let rolling = Candidate { rolling_start: true, start_date: None, offering_id: None, ..candidate(7) };
        let later = Candidate { start_date: Some(date(2025, 5, 1)), ..candidate(2) };
        let online = Candidate { online: true, format: CourseFormat::Online, ..candidate(8) };
        let need = NeedProfile { online_acceptable: true, max_distance_km: None, ..need() };
        let candidates = vec![online, later, candidate(3), rolling, candidate(1)];
        // Equal scores: at the door first (rolling, then by date, then id), online (no distance) last.
        assert_eq!(order(&need, candidates.clone()), [7, 1, 3, 2, 8].map(id));
        let mut reversed = candidates;
        reversed.reverse();
        assert_eq!(order(&need, reversed), [7, 1, 3, 2, 8].map(id));
    }

    #[test]
    fn skill_explanations() {
        let missing_sps =
            Candidate { skill_ids: vec!["hmi".into(), "bus".into(), "safety".into()], ..candidate(1) };
        assert_eq!(
            explain(&need(), &missing_sps, Criterion::MustSkills),
            "3 von 4 Pflichtkompetenzen abgedeckt (fehlt: SPS-Programmierung)"
        );
        assert_eq!(run(&need(), &missing_sps).result(Criterion::MustSkills).unwrap().score, 75);
        assert!(!run(&need(), &missing_sps).result(Criterion::MustSkills).unwrap().passed);
        let only_bus = Candidate { skill_ids: vec!["bus".into()], ..candidate(1) };
        assert_eq!(
            explain(&need(), &only_bus, Criterion::MustSkills),
            "1 von 4 Pflichtkompetenzen abgedeckt (fehlt: SPS-Programmierung, HMI-Gestaltung, Maschinensicherheit)"
        );
        assert_eq!(
            explain(&need(), &candidate(1), Criterion::MustSkills),
            "Alle 4 Pflichtkompetenzen abgedeckt"
        );
        assert_eq!(
            explain(&need(), &candidate(1), Criterion::NiceSkills),
            "1 von 1 Wunschkompetenz abgedeckt"
        );
        assert_eq!(
            explain(&need(), &only_bus, Criterion::NiceSkills),
            "0 von 1 Wunschkompetenz abgedeckt (fehlt: Robotik)"
        );
        let no_skills = NeedProfile { must_skills: vec![], nice_skills: vec![], ..need() };
        assert_eq!(
            explain(&no_skills, &only_bus, Criterion::MustSkills),
            "Keine Pflichtkompetenzen angegeben"
        );
        assert_eq!(
            explain(&no_skills, &only_bus, Criterion::NiceSkills),
            "Keine Wunschkompetenzen angegeben"
        );
    }

    #[test]
    fn dqr_explanations() {
        let at = |level| {
            let s = run(&need(), &Candidate { dqr_level: level, ..candidate(1) });
            let r = s.result(Criterion::DqrLevel).unwrap().clone();
            (r.score, r.passed, r.explanation)
        };
        assert_eq!(at(Some(5)), (100, true, "DQR 5 entspricht dem Zielniveau".into()));
        assert_eq!(at(Some(6)), (50, true, "DQR 6 statt DQR 5 (eine Stufe höher)".into()));
        assert_eq!(at(Some(4)), (50, true, "DQR 4 statt DQR 5 (eine Stufe niedriger)".into()));
        assert_eq!(at(Some(3)), (0, false, "DQR 3 statt DQR 5 (2 Stufen niedriger)".into()));
        assert_eq!(at(None), (50, true, "Kurs ohne DQR-Niveau".into()));
        let any_level = NeedProfile { target_dqr_level: None, ..need() };
        assert_eq!(explain(&any_level, &candidate(1), Criterion::DqrLevel), "Kein DQR-Niveau vorgegeben");
    }

    #[test]
    fn distance_explanations() {
        let far = Candidate { location: Some(NORTH_40), ..candidate(1) };
        assert_eq!(
            explain(&need(), &far, Criterion::Distance),
            "Veranstaltungsort 40 km entfernt (maximal 50 km)"
        );
        assert_eq!(run(&need(), &far).result(Criterion::Distance).unwrap().score, 20);
        assert_eq!(run(&need(), &far).distance_km.map(f64::round), Some(40.0));
        let anywhere = NeedProfile { max_distance_km: None, ..need() };
        assert_eq!(explain(&anywhere, &far, Criterion::Distance), "Veranstaltungsort 40 km entfernt");
        // Without a maximum the configured 100 km scale applies.
        assert_eq!(run(&anywhere, &far).result(Criterion::Distance).unwrap().score, 60);
        let online = Candidate { online: true, location: None, ..candidate(1) };
        let online_ok = NeedProfile { online_acceptable: true, ..need() };
        assert_eq!(explain(&online_ok, &online, Criterion::Distance), "Online – keine Anreise");
        assert_eq!(run(&online_ok, &online).distance_km, None);
        let nowhere = NeedProfile { location: None, ..need() };
        assert_eq!(explain(&nowhere, &far, Criterion::Distance), "Kein Standort angegeben");
        let unknown = Candidate { location: None, ..candidate(1) };
        assert_eq!(explain(&need(), &unknown, Criterion::Distance), "Ort unbekannt");
        assert_eq!(run(&need(), &unknown).result(Criterion::Distance).unwrap().score, 50);
    }

    #[test]
    fn distance_is_weighted_over_the_pool() {
        let mut pooled = need();
        pooled.pool.push(member(101, "Metall Nord GmbH", 1, Some(NORTH_40)));
        let s = run(&pooled, &Candidate { location: Some(NORTH_20), ..candidate(1) });
        let r = s.result(Criterion::Distance).unwrap();
        assert_eq!(
            r.explanation,
            "Veranstaltungsort 20 km entfernt (maximal 50 km); am weitesten für Optik Jena GmbH: 20 km"
        );
        // Both 20 km away: closeness 0.6 for all four participants.
        assert_eq!(r.score, 60);
        // At the owner's site: 3 participants at 0 km, 1 at 40 km → (3·1 + 1·0.2) / 4 = 0.8.
        let s = run(&pooled, &candidate(1));
        assert_eq!(s.result(Criterion::Distance).unwrap().score, 80);
        assert!(
            s.result(Criterion::Distance)
                .unwrap()
                .explanation
                .ends_with("am weitesten für Metall Nord GmbH: 40 km")
        );
    }

    #[test]
    fn start_explanations() {
        assert_eq!(
            explain(&need(), &candidate(1), Criterion::StartWindow),
            "Start am 01.04.2025 im Wunschzeitraum"
        );
        let rolling = Candidate { rolling_start: true, start_date: None, ..candidate(1) };
        assert_eq!(explain(&need(), &rolling, Criterion::StartWindow), "Einstieg jederzeit möglich");
        let open = NeedProfile { earliest_start: None, latest_start: None, ..need() };
        assert_eq!(explain(&open, &candidate(1), Criterion::StartWindow), "Start am 01.04.2025");
    }

    #[test]
    fn price_explanations() {
        assert_eq!(
            explain(&need(), &candidate(1), Criterion::Price),
            "Nettokosten 750 € je Teilnehmende (nach 50 % QCG-Förderung) – im Budget von 1.500 €"
        );
        let expensive = Candidate { price_cents: Some(500_000), ..candidate(1) };
        let s = run(&need(), &expensive);
        let r = s.result(Criterion::Price).unwrap();
        assert_eq!(
            r.explanation,
            "Nettokosten 2.500 € je Teilnehmende (nach 50 % QCG-Förderung) – 1.000 € über dem Budget von 1.500 €"
        );
        assert_eq!((r.score, r.passed), (33, false));
        // Without QCG wanted the gross counts; VAT excluded adds 19 %.
        let no_funding = NeedProfile { funding_wanted: vec![FundingOption::Bildungsurlaub], ..need() };
        let plus_vat = Candidate {
            vat: VatTreatment::Excluded,
            price_cents: Some(100_050),
            funding_options: vec![FundingOption::Qcg, FundingOption::Bildungsurlaub],
            ..candidate(1)
        };
        assert_eq!(
            explain(&no_funding, &plus_vat, Criterion::Price),
            "Kosten 1.190,60 € je Teilnehmende – im Budget von 1.500 €; laut Anbieter auch förderfähig mit Bildungsurlaub"
        );
        let short = Candidate { duration_hours: Some(80), ..candidate(1) };
        assert_eq!(
            explain(&need(), &short, Criterion::Price),
            "Kosten 1.500 € je Teilnehmende (ohne QCG-Förderung) – im Budget von 1.500 €"
        );
        let no_budget = NeedProfile { budget_cents_per_participant: None, ..need() };
        assert!(explain(&no_budget, &candidate(1), Criterion::Price).starts_with("Kein Budget angegeben"));
        let on_request = Candidate { price_cents: None, ..candidate(1) };
        let s = run(&need(), &on_request);
        assert_eq!(s.result(Criterion::Price).unwrap().explanation, "Preis auf Anfrage");
        assert_eq!(s.result(Criterion::Price).unwrap().score, 50);
        assert!(s.funding.is_none());
    }

    #[test]
    fn funding_uses_the_rule_at_the_start_date() {
        // Rolling start: today's rule; a dated start before the rule: no rule.
        let rolling = Candidate { rolling_start: true, start_date: None, ..candidate(1) };
        assert!(run(&need(), &rolling).funding.unwrap().eligible);
        let old = Candidate { start_date: Some(date(2024, 3, 1)), ..candidate(1) };
        let s = score(&need(), &old, date(2024, 1, 1), MatchingConfig::get(), FundingRules::get());
        assert!(!s.funding.unwrap().eligible);
    }

    #[test]
    fn seats_explanations() {
        let mut eight = need();
        eight.pool.push(member(101, "Partner", 5, None));
        let few = Candidate { seats_available: Some(5), ..candidate(1) };
        let r = run(&eight, &few).result(Criterion::Seats).unwrap().clone();
        assert_eq!(
            (r.score, r.passed, r.explanation.as_str()),
            (63, false, "5 freie Plätze für 8 Teilnehmende")
        );
        let inhouse = Candidate { inhouse_possible: true, min_participants: Some(6), ..few.clone() };
        assert_eq!(
            explain(&eight, &inhouse, Criterion::Seats),
            "Inhouse-Durchführung möglich (5 freie Plätze für 8 Teilnehmende)"
        );
        let too_few_for_inhouse = Candidate { min_participants: Some(10), ..inhouse };
        assert_eq!(run(&eight, &too_few_for_inhouse).result(Criterion::Seats).unwrap().score, 63);
        assert_eq!(explain(&need(), &candidate(1), Criterion::Seats), "10 freie Plätze für 3 Teilnehmende");
        let unlimited = Candidate { seats_available: None, ..candidate(1) };
        assert_eq!(explain(&need(), &unlimited, Criterion::Seats), "Keine Platzbegrenzung bekannt");
    }

    #[test]
    fn schedule_and_language_explanations() {
        assert_eq!(
            explain(&need(), &candidate(1), Criterion::ScheduleFormat),
            "Zeitmodell berufsbegleitend wie gewünscht; Format Präsenz"
        );
        let full_time =
            Candidate { schedule: CourseSchedule::FullTime, format: CourseFormat::Blended, ..candidate(1) };
        let r = run(&need(), &full_time).result(Criterion::ScheduleFormat).unwrap().clone();
        assert_eq!(r.score, 30);
        assert_eq!(r.explanation, "Zeitmodell Vollzeit statt berufsbegleitend; Format Blended Learning");
        assert_eq!(explain(&need(), &candidate(1), Criterion::Language), "Kurs auf Deutsch");
        let english = Candidate { languages: vec!["en".into(), "pl".into()], ..candidate(1) };
        let r = run(&need(), &english).result(Criterion::Language).unwrap().clone();
        assert_eq!((r.score, r.explanation.as_str()), (0, "Kurssprache Englisch, Polnisch statt Deutsch"));
        assert!(!run(&need(), &english).excluded, "language is soft");
    }

    fn exclusions(need: &NeedProfile, c: &Candidate) -> Vec<String> {
        let s = run(need, c);
        assert!(s.excluded);
        s.exclusion_reasons
    }

    #[test]
    fn hard_constraints_exclude_with_reason() {
        let full = Candidate { seats_available: Some(0), ..candidate(1) };
        assert_eq!(exclusions(&need(), &full), ["Keine freien Plätze"]);
        let far = Candidate { location: Some((51.9271, 11.5892)), ..candidate(1) };
        assert_eq!(exclusions(&need(), &far), ["Veranstaltungsort 111 km entfernt, maximal 50 km"]);
        let online = Candidate { online: true, location: None, ..candidate(1) };
        assert_eq!(exclusions(&need(), &online), ["Nur online, Präsenz gewünscht"]);
        let late = Candidate { start_date: Some(date(2025, 9, 1)), ..candidate(1) };
        assert_eq!(
            exclusions(&need(), &late),
            ["Start 01.09.2025 nach dem spätesten Wunschtermin 30.06.2025"]
        );
        let early = Candidate { start_date: Some(date(2025, 2, 1)), ..candidate(1) };
        assert_eq!(
            exclusions(&need(), &early),
            ["Start 01.02.2025 vor dem frühesten Wunschtermin 01.03.2025"]
        );
        let open = NeedProfile { earliest_start: None, latest_start: None, ..need() };
        let started = Candidate { start_date: Some(date(2025, 1, 10)), ..candidate(1) };
        assert_eq!(exclusions(&open, &started), ["Kurs hat bereits begonnen (Start 10.01.2025)"]);
        let closed = Candidate { signup_deadline: Some(date(2025, 1, 14)), ..candidate(1) };
        assert_eq!(exclusions(&need(), &closed), ["Anmeldeschluss 14.01.2025 verstrichen"]);
    }

    #[test]
    fn all_exclusion_reasons_are_collected_and_score_kept() {
        let bad = Candidate {
            seats_available: Some(0),
            online: true,
            start_date: Some(date(2025, 1, 1)),
            ..candidate(1)
        };
        let s = run(&need(), &bad);
        assert_eq!(
            s.exclusion_reasons,
            [
                "Nur online, Präsenz gewünscht",
                "Kurs hat bereits begonnen (Start 01.01.2025)",
                "Start 01.01.2025 vor dem frühesten Wunschtermin 01.03.2025",
                "Keine freien Plätze",
            ]
        );
        // Distance, start and seats score 0: 100 − 15 − 10 − 5.
        assert_eq!(s.score, 70);
        let r = s.result(Criterion::StartWindow).unwrap();
        assert_eq!(
            r.explanation,
            "Kurs hat bereits begonnen (Start 01.01.2025); Start 01.01.2025 vor dem frühesten Wunschtermin 01.03.2025"
        );
        assert!(!r.passed);
    }

    #[test]
    fn pooling_changes_ranking() {
        // The small offering is a little closer, so it wins while both have room.
        let small = Candidate { seats_available: Some(5), ..candidate(1) };
        let big = Candidate { seats_available: Some(20), location: Some((50.95, 11.5892)), ..candidate(2) };
        let alone = NeedProfile { max_distance_km: Some(500), ..need() };
        assert_eq!(order(&alone, vec![big.clone(), small.clone()]), [id(1), id(2)]);
        let mut pooled = alone;
        pooled.pool.push(member(101, "Feinmechanik Apolda", 10, None));
        assert_eq!(pooled.total_participants(), 13);
        assert_eq!(order(&pooled, vec![small, big]), [id(2), id(1)]);
    }

    /// Needs covering every case of every criterion (with `edge_candidates`).
    fn edge_needs() -> Vec<NeedProfile> {
        let mut pooled = need();
        pooled.pool.push(member(101, "Metall Nord GmbH", 2, Some(NORTH_40)));
        pooled.pool.push(member(102, "Ohne Teilnehmende", 0, Some(NORTH_20)));
        pooled.pool.push(member(103, "Am Standort", 1, None));
        let mut nobody = need();
        nobody.pool[0].participants = 0;
        let undemanding = NeedProfile {
            must_skills: vec![],
            nice_skills: vec![],
            target_dqr_level: None,
            preferred_schedule: None,
            language: " ".into(),
            ..need()
        };
        vec![
            need(),
            pooled,
            nobody,
            undemanding,
            NeedProfile { online_acceptable: true, max_distance_km: None, ..need() },
            NeedProfile { location: None, ..need() },
            NeedProfile { max_distance_km: Some(0), ..need() },
            NeedProfile { earliest_start: None, latest_start: None, ..need() },
            NeedProfile { budget_cents_per_participant: None, ..need() },
            NeedProfile { budget_cents_per_participant: Some(0), ..need() },
            NeedProfile { funding_wanted: vec![FundingOption::Bildungsurlaub], ..need() },
            NeedProfile { funding_wanted: vec![], ..need() },
            NeedProfile { owner_employee_count: None, ..need() },
            NeedProfile { owner_employee_count: Some(10), ..need() },
            NeedProfile { language: "en".into(), ..need() },
        ]
    }

    /// The candidates of the tests above plus edge cases, with distinct ids in input order.
    fn edge_candidates() -> Vec<Candidate> {
        let c = candidate(1);
        let skills = |ids: &[&str]| ids.iter().map(|&s| String::from(s)).collect::<Vec<_>>();
        let cases = vec![
            c.clone(),
            Candidate { skill_ids: skills(&["hmi", "bus", "safety", "robot"]), ..c.clone() },
            Candidate { skill_ids: skills(&["bus"]), ..c.clone() },
            Candidate { skill_ids: vec![], ..c.clone() },
            Candidate { location: Some(NORTH_40), ..c.clone() },
            Candidate { location: Some(NORTH_20), ..c.clone() },
            Candidate { location: Some((51.9271, 11.5892)), ..c.clone() },
            Candidate { location: Some((50.95, 11.5892)), seats_available: Some(20), ..c.clone() },
            Candidate { location: None, ..c.clone() },
            Candidate { online: true, location: None, ..c.clone() },
            Candidate { online: true, format: CourseFormat::Online, ..c.clone() },
            Candidate { format: CourseFormat::Online, ..c.clone() },
            Candidate { price_cents: Some(500_000), ..c.clone() },
            Candidate { price_cents: Some(0), ..c.clone() },
            Candidate { price_cents: None, ..c.clone() },
            Candidate {
                vat: VatTreatment::Excluded,
                price_cents: Some(100_050),
                funding_options: vec![FundingOption::Qcg, FundingOption::Bildungsurlaub],
                ..c.clone()
            },
            Candidate { duration_hours: Some(80), ..c.clone() },
            Candidate { duration_hours: None, ..c.clone() },
            Candidate { provider_azav_certified: false, ..c.clone() },
            Candidate { azav_measure_number: Some(" ".into()), ..c.clone() },
            Candidate { dqr_level: Some(3), ..c.clone() },
            Candidate { dqr_level: Some(4), ..c.clone() },
            Candidate { dqr_level: Some(6), ..c.clone() },
            Candidate { dqr_level: None, ..c.clone() },
            Candidate { seats_available: Some(0), ..c.clone() },
            Candidate { seats_available: Some(-1), ..c.clone() },
            Candidate { seats_available: Some(1), ..c.clone() },
            Candidate { seats_available: Some(2), inhouse_possible: true, ..c.clone() },
            Candidate {
                seats_available: Some(2),
                inhouse_possible: true,
                min_participants: Some(10),
                ..c.clone()
            },
            Candidate { seats_available: None, ..c.clone() },
            Candidate { rolling_start: true, start_date: None, offering_id: None, ..c.clone() },
            Candidate { start_date: None, ..c.clone() },
            Candidate { start_date: Some(date(2025, 5, 1)), ..c.clone() },
            Candidate { start_date: Some(date(2025, 9, 1)), ..c.clone() },
            Candidate { start_date: Some(date(2025, 2, 1)), ..c.clone() },
            Candidate { start_date: Some(date(2025, 1, 10)), ..c.clone() },
            Candidate { start_date: Some(date(2024, 3, 1)), ..c.clone() },
            Candidate { signup_deadline: Some(date(2025, 1, 14)), ..c.clone() },
            Candidate {
                seats_available: Some(0),
                online: true,
                start_date: Some(date(2025, 1, 1)),
                location: Some((51.9271, 11.5892)),
                ..c.clone()
            },
            Candidate { schedule: CourseSchedule::FullTime, format: CourseFormat::Blended, ..c.clone() },
            Candidate { languages: vec!["en".into(), "pl".into()], ..c.clone() },
            Candidate { languages: vec!["DE".into()], ..c.clone() },
            Candidate { languages: vec![], ..c.clone() },
        ];
        let n = cases.len();
        // Some equal in everything but the id, so the ranking's last tie-breaker is exercised too.
        let mut all: Vec<Candidate> = cases.into_iter().chain([c.clone(), c]).collect();
        for (i, candidate) in all.iter_mut().enumerate() {
            let i = i as u128;
            candidate.course_id = id(10 + (i * 7919) % (n as u128 + 2));
            candidate.offering_id = candidate.offering_id.map(|_| id(5000 + i));
        }
        all
    }

    #[test]
    fn quick_equals_score() {
        let (config, rules) = (MatchingConfig::get(), FundingRules::get());
        let candidates = edge_candidates();
        let (mut excluded, mut funded, mut pairs) = (0, 0, 0);
        for need in edge_needs() {
            for today in [today(), date(2024, 1, 1), date(2025, 3, 20)] {
                for c in &candidates {
                    let full = score(&need, c, today, config, rules);
                    assert_eq!(
                        quick(&need, c, today, config, rules),
                        QuickScore::from(&full),
                        "{need:?} {c:?}"
                    );
                    pairs += 1;
                    excluded += usize::from(full.excluded);
                    funded += usize::from(full.funding.is_some_and(|f| f.eligible));
                }
            }
        }
        // The fixtures reach both sides of the hard constraints and of the funding.
        assert!(excluded > 0 && excluded < pairs && funded > 0 && funded < pairs);
    }

    #[test]
    fn quick_order_equals_rank() {
        let (config, rules) = (MatchingConfig::get(), FundingRules::get());
        let check = |need: &NeedProfile, candidates: Vec<Candidate>| {
            let ranked: Vec<(Candidate, QuickScore)> = rank(need, candidates.clone(), today(), config, rules)
                .into_iter()
                .map(|(c, s)| (c, QuickScore::from(&s)))
                .collect();
            let quick: Vec<(Candidate, QuickScore)> = quick_order(need, &candidates, today(), config, rules)
                .into_iter()
                .map(|(i, s)| (candidates[i].clone(), s))
                .collect();
            assert_eq!(ranked, quick);
        };
        // The ranking fixture.
        let skill_ids = ["hmi", "bus", "safety", "robot"].map(String::from).to_vec();
        let ranking = vec![
            Candidate { seats_available: Some(0), ..candidate(6) },
            Candidate { dqr_level: Some(3), ..candidate(5) },
            Candidate { location: Some(NORTH_40), ..candidate(3) },
            Candidate { skill_ids, ..candidate(2) },
            Candidate { price_cents: Some(500_000), ..candidate(4) },
            candidate(1),
        ];
        let order = quick_order(&need(), &ranking, today(), config, rules);
        assert_eq!(
            order.iter().map(|&(i, _)| ranking[i].course_id).collect::<Vec<_>>(),
            [1, 4, 2, 5, 3, 6].map(id)
        );
        check(&need(), ranking);
        for need in edge_needs() {
            let mut candidates = edge_candidates();
            check(&need, candidates.clone());
            candidates.reverse();
            check(&need, candidates);
        }
    }

    /// `cargo test --release -p api --lib matching::score::tests::throughput -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn throughput() {
        use std::hint::black_box;
        use std::time::Instant;
        let (config, rules) = (MatchingConfig::get(), FundingRules::get());
        let one = vec![(need(), Candidate { location: Some(NORTH_20), ..candidate(1) })];
        let needs = edge_needs();
        let mixed: Vec<(NeedProfile, Candidate)> = edge_candidates()
            .into_iter()
            .enumerate()
            .map(|(i, c)| (needs[i % needs.len()].clone(), c))
            .collect();
        for (name, pairs) in [("one pair", one), ("mixed pairs", mixed)] {
            let pair = |i: usize| &pairs[i % pairs.len()];
            let started = Instant::now();
            let total: u64 = (0..100_000)
                .map(|i| {
                    let (need, c) = black_box(pair(i));
                    u64::from(black_box(score(need, c, today(), config, rules)).score)
                })
                .sum();
            let full = started.elapsed();
            let started = Instant::now();
            let quick_total: u64 = (0..100_000)
                .map(|i| {
                    let (need, c) = black_box(pair(i));
                    u64::from(black_box(quick(need, c, today(), config, rules)).score)
                })
                .sum();
            let fast = started.elapsed();
            println!(
                "{name}: 100k scores in {full:?}, 100k quick in {fast:?} ({:.1}× faster; {total})",
                full.as_secs_f64() / fast.as_secs_f64()
            );
            assert_eq!(total, quick_total);
        }
    }
}
