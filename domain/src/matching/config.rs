//! The matching tunables and funding rules in `matching-config/`, compiled in, parsed once and validated.

use std::fmt;
use std::sync::OnceLock;

use chrono::NaiveDate;
use serde::Deserialize;

use super::score::Criterion;

const WEIGHTS_JSON: &str = include_str!("../../../matching-config/weights.json");
const FUNDING_RULES_JSON: &str = include_str!("../../../matching-config/funding-rules.json");

/// The program name of the Qualifizierungschancengesetz in `funding-rules.json`.
pub const QCG_PROGRAM: &str = "QCG";

/// Why a configuration file was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: &'static str,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "matching-config/{}: {}", self.file, self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Relative weight of each criterion in the total score.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Weights {
    pub must_skills: f64,
    pub nice_skills: f64,
    pub dqr_level: f64,
    pub distance: f64,
    pub start_window: f64,
    pub price: f64,
    pub seats: f64,
    pub schedule_format: f64,
    pub language: f64,
}

/// Weights and tunables of the scoring (`matching-config/weights.json`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MatchingConfig {
    pub weights: Weights,
    /// Score (0–100) from which a provider gets a lead alert for a new need.
    pub lead_threshold: u8,
    /// At most this many candidates are loaded and scored for one ranking.
    pub max_candidates: usize,
    /// Distance at which the distance score reaches 0 when the need gives no maximum.
    pub distance_scale_km: f64,
    /// Score of a criterion the candidate has no data for (neither match nor miss).
    pub unknown_score: u8,
    /// Score of a course one DQR level off the target.
    pub dqr_off_by_one_score: u8,
    /// Score when the schedule differs from the preferred one.
    pub schedule_mismatch_score: u8,
}

impl MatchingConfig {
    /// The shipped configuration. Panics only if the compiled-in file is invalid, which the unit
    /// tests rule out.
    pub fn get() -> &'static MatchingConfig {
        static CONFIG: OnceLock<MatchingConfig> = OnceLock::new();
        CONFIG.get_or_init(|| Self::from_json(WEIGHTS_JSON).unwrap_or_else(|e| panic!("{e}")))
    }

    /// Parses and validates a `weights.json` document.
    pub fn from_json(json: &str) -> Result<Self, ConfigError> {
        let config: Self = serde_json::from_str(json).map_err(|e| weights_error(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Weights must be finite and non-negative with a positive sum; scores are percentages.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut sum = 0.0;
        for c in Criterion::ALL {
            let w = self.weight(c);
            if !w.is_finite() || w < 0.0 {
                return Err(weights_error(format!("weight {} must be a number ≥ 0, is {w}", c.key())));
            }
            sum += w;
        }
        if sum <= 0.0 {
            return Err(weights_error("the weights must not all be 0".into()));
        }
        if !self.distance_scale_km.is_finite() || self.distance_scale_km <= 0.0 {
            return Err(weights_error("distanceScaleKm must be > 0".into()));
        }
        if self.max_candidates == 0 {
            return Err(weights_error("maxCandidates must be > 0".into()));
        }
        let percentages = [
            ("leadThreshold", self.lead_threshold),
            ("unknownScore", self.unknown_score),
            ("dqrOffByOneScore", self.dqr_off_by_one_score),
            ("scheduleMismatchScore", self.schedule_mismatch_score),
        ];
        match percentages.iter().find(|(_, v)| *v > 100) {
            Some((key, v)) => Err(weights_error(format!("{key} must be 0–100, is {v}"))),
            None => Ok(()),
        }
    }

    /// The weight of one criterion.
    pub fn weight(&self, c: Criterion) -> f64 {
        let w = &self.weights;
        match c {
            Criterion::MustSkills => w.must_skills,
            Criterion::NiceSkills => w.nice_skills,
            Criterion::DqrLevel => w.dqr_level,
            Criterion::Distance => w.distance,
            Criterion::StartWindow => w.start_window,
            Criterion::Price => w.price,
            Criterion::Seats => w.seats,
            Criterion::ScheduleFormat => w.schedule_format,
            Criterion::Language => w.language,
        }
    }

    /// Sum of all weights (> 0 once validated).
    pub fn weight_sum(&self) -> f64 {
        Criterion::ALL.iter().map(|&c| self.weight(c)).sum()
    }
}

fn weights_error(message: String) -> ConfigError {
    ConfigError { file: "weights.json", message }
}

fn rules_error(message: String) -> ConfigError {
    ConfigError { file: "funding-rules.json", message }
}

/// A percentage for firms up to `max_employees` (inclusive; `None` = any size).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SizeBand {
    pub max_employees: Option<i32>,
    pub percent: u8,
}

/// One dated rule set of a funding program.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FundingRule {
    pub id: String,
    /// E.g. "QCG".
    pub program: String,
    pub valid_from: NaiveDate,
    /// Inclusive; `None` = in force until further notice.
    pub valid_to: Option<NaiveDate>,
    /// The course must last more than this many hours.
    pub min_hours_exclusive: i32,
    pub requires_azav_provider: bool,
    pub requires_azav_measure: bool,
    /// Course-cost subsidy by firm size, bands ascending, the last open-ended.
    pub cost_subsidy: Vec<SizeBand>,
    /// Wage subsidy by firm size (not part of the net course cost).
    pub wage_subsidy: Vec<SizeBand>,
    /// Extra percentage points with a collective or works agreement (not in the estimate).
    pub collective_agreement_bonus_points: u8,
    /// Legal basis, for readers.
    pub source: String,
}

impl FundingRule {
    /// Whether the rule is in force on `date`.
    pub fn applies_on(&self, date: NaiveDate) -> bool {
        self.valid_from <= date && self.valid_to.is_none_or(|to| date <= to)
    }
}

/// The band for a firm of `employees`; `None` (unknown size) takes the lowest percentage.
pub fn band_for(bands: &[SizeBand], employees: Option<i32>) -> Option<&SizeBand> {
    match employees {
        Some(n) => bands.iter().find(|b| b.max_employees.is_none_or(|max| n <= max)),
        None => bands.iter().min_by_key(|b| b.percent),
    }
}

/// All dated funding rules (`matching-config/funding-rules.json`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FundingRules {
    pub rules: Vec<FundingRule>,
}

impl FundingRules {
    /// The shipped rules. Panics only if the compiled-in file is invalid, which the unit tests rule out.
    pub fn get() -> &'static FundingRules {
        static RULES: OnceLock<FundingRules> = OnceLock::new();
        RULES.get_or_init(|| Self::from_json(FUNDING_RULES_JSON).unwrap_or_else(|e| panic!("{e}")))
    }

    /// Parses and validates a `funding-rules.json` document.
    pub fn from_json(json: &str) -> Result<Self, ConfigError> {
        let rules: Self = serde_json::from_str(json).map_err(|e| rules_error(e.to_string()))?;
        rules.validate()?;
        Ok(rules)
    }

    /// Ids unique; per program sorted by `validFrom` without overlaps; bands well-formed.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (i, rule) in self.rules.iter().enumerate() {
            validate_rule(rule)?;
            if self.rules[..i].iter().any(|r| r.id == rule.id) {
                return Err(rules_error(format!("duplicate rule id {}", rule.id)));
            }
            let previous = self.rules[..i].iter().rev().find(|r| r.program == rule.program);
            if let Some(prev) = previous {
                check_sequence(prev, rule)?;
            }
        }
        Ok(())
    }

    /// The QCG rule in force on `date`.
    pub fn qcg_rule_on(&self, date: NaiveDate) -> Option<&FundingRule> {
        self.rule_on(QCG_PROGRAM, date)
    }

    /// The rule of `program` in force on `date`.
    pub fn rule_on(&self, program: &str, date: NaiveDate) -> Option<&FundingRule> {
        self.rules.iter().find(|r| r.program == program && r.applies_on(date))
    }
}

fn validate_rule(rule: &FundingRule) -> Result<(), ConfigError> {
    if rule.valid_to.is_some_and(|to| to < rule.valid_from) {
        return Err(rules_error(format!("{}: validTo before validFrom", rule.id)));
    }
    if rule.min_hours_exclusive < 0 {
        return Err(rules_error(format!("{}: minHoursExclusive must be ≥ 0", rule.id)));
    }
    if rule.collective_agreement_bonus_points > 100 {
        return Err(rules_error(format!("{}: collectiveAgreementBonusPoints must be 0–100", rule.id)));
    }
    validate_bands(&rule.id, "costSubsidy", &rule.cost_subsidy)?;
    validate_bands(&rule.id, "wageSubsidy", &rule.wage_subsidy)
}

/// Bands ascending by size, percentages 0–100, exactly the last one open-ended so every size has one.
fn validate_bands(id: &str, name: &str, bands: &[SizeBand]) -> Result<(), ConfigError> {
    let err = |what: &str| Err(rules_error(format!("{id}: {name} {what}")));
    let Some((last, bounded)) = bands.split_last() else {
        return err("must not be empty");
    };
    if last.max_employees.is_some() {
        return err("must end with an open-ended band (maxEmployees null)");
    }
    if bands.iter().any(|b| b.percent > 100) {
        return err("percentages must be 0–100");
    }
    let mut below = -1;
    for band in bounded {
        match band.max_employees {
            Some(max) if max > below => below = max,
            _ => return err("bands must be sorted by maxEmployees, only the last open-ended"),
        }
    }
    Ok(())
}

/// `next` must start after `prev` ended; only the latest rule of a program may be open-ended.
fn check_sequence(prev: &FundingRule, next: &FundingRule) -> Result<(), ConfigError> {
    match prev.valid_to {
        Some(to) if to < next.valid_from => Ok(()),
        _ => Err(rules_error(format!(
            "{} must end before {} starts (rules sorted by validFrom, not overlapping)",
            prev.id, next.id
        ))),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn shipped_files_parse_and_validate() {
        let config = MatchingConfig::from_json(WEIGHTS_JSON).unwrap();
        assert!(config.weight_sum() > 0.0);
        assert!(config.lead_threshold <= 100);
        assert!(config.weight(Criterion::MustSkills) >= config.weight(Criterion::NiceSkills));
        let rules = FundingRules::from_json(FUNDING_RULES_JSON).unwrap();
        assert!(!rules.rules.is_empty());
        assert_eq!(MatchingConfig::get(), &config);
        assert_eq!(FundingRules::get(), &rules);
    }

    #[test]
    fn qcg_rule_by_date() {
        let rules = FundingRules::get();
        assert_eq!(rules.qcg_rule_on(date("2024-04-01")).unwrap().id, "qcg-2024-04");
        assert!(rules.qcg_rule_on(date("2030-01-01")).is_some());
        assert!(rules.qcg_rule_on(date("2024-03-31")).is_none());
    }

    #[test]
    fn bands_by_firm_size() {
        let bands = &FundingRules::get().rules[0].cost_subsidy;
        let percent = |n| band_for(bands, n).unwrap().percent;
        assert_eq!(percent(Some(49)), 100);
        assert_eq!(percent(Some(50)), 50);
        assert_eq!(percent(Some(499)), 50);
        assert_eq!(percent(Some(500)), 25);
        assert_eq!(percent(None), 25);
    }

    #[test]
    fn invalid_weights_are_rejected() {
        let negative = WEIGHTS_JSON.replace("\"price\": 10", "\"price\": -1");
        assert!(MatchingConfig::from_json(&negative).unwrap_err().message.contains("price"));
        let mut zero = MatchingConfig::get().clone();
        zero.weights = Weights {
            must_skills: 0.0,
            nice_skills: 0.0,
            dqr_level: 0.0,
            distance: 0.0,
            start_window: 0.0,
            price: 0.0,
            seats: 0.0,
            schedule_format: 0.0,
            language: 0.0,
        };
        assert!(zero.validate().is_err());
        let threshold = WEIGHTS_JSON.replace("\"leadThreshold\": 60", "\"leadThreshold\": 101");
        assert!(MatchingConfig::from_json(&threshold).is_err());
        let unknown = WEIGHTS_JSON.replace("\"price\"", "\"prize\"");
        assert!(MatchingConfig::from_json(&unknown).is_err());
    }

    #[test]
    fn invalid_rules_are_rejected() {
        let base = FundingRules::get().rules[0].clone();
        let check = |rules: Vec<FundingRule>| FundingRules { rules }.validate();
        let mut later = base.clone();
        later.id = "qcg-2026".into();
        later.valid_from = date("2026-01-01");
        // The earlier rule is open-ended, so the two overlap.
        assert!(check(vec![base.clone(), later.clone()]).is_err());
        let mut ended = base.clone();
        ended.valid_to = Some(date("2025-12-31"));
        assert!(check(vec![ended.clone(), later.clone()]).is_ok());
        assert!(check(vec![later.clone(), ended.clone()]).is_err(), "unsorted");
        let mut percent = base.clone();
        percent.cost_subsidy[0].percent = 101;
        assert!(check(vec![percent]).is_err());
        let mut unsorted_bands = base.clone();
        unsorted_bands.cost_subsidy.swap(0, 1);
        assert!(check(vec![unsorted_bands]).is_err());
        let mut closed_bands = base.clone();
        closed_bands.wage_subsidy[2].max_employees = Some(10_000);
        assert!(check(vec![closed_bands]).is_err());
        let mut backwards = base;
        backwards.valid_to = Some(date("2024-01-01"));
        assert!(check(vec![backwards]).is_err());
    }
}
