//! Estimate of the Qualifizierungschancengesetz (QCG, § 82 SGB III) course-cost subsidy for one
//! participant, from the dated rules in `matching-config/funding-rules.json`.

use chrono::NaiveDate;
use entity::course::VatTreatment;

use super::config::{FundingRule, FundingRules, QCG_PROGRAM, band_for};
use super::text::text;

/// German VAT on services that are not exempt, in percent.
pub const VAT_PERCENT: u8 = 19;

/// Shown with every estimate: what it is and what it leaves out.
pub const ESTIMATE_NOTE: &str = "Unverbindliche Schätzung, keine Rechtsberatung: Über die Förderung \
    entscheidet die Agentur für Arbeit. Nicht eingerechnet sind der Zuschlag von 5 Prozentpunkten bei \
    Tarifvertrag oder Betriebsvereinbarung sowie der Zuschuss zum Arbeitsentgelt; die Nettokosten \
    berücksichtigen nur den Zuschuss zu den Lehrgangskosten.";

/// What the estimate needs to know about a course offering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FundingFacts {
    /// Price per participant as listed (see `vat`).
    pub price_cents: Option<i64>,
    pub vat: VatTreatment,
    pub duration_hours: Option<i32>,
    pub provider_azav_certified: bool,
    pub azav_measure_number: Option<String>,
    /// Selects the rule in force: the offering's start, or today for a rolling start.
    pub reference_date: NaiveDate,
}

/// The estimated QCG subsidy and what remains for the firm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FundingEstimate {
    /// Always "QCG".
    pub program: &'static str,
    pub rule_id: Option<String>,
    pub rule_valid_from: Option<NaiveDate>,
    pub eligible: bool,
    /// German sentences: each condition met or missed, the firm-size band, the wage subsidy.
    pub reasons: Vec<String>,
    /// Price per participant including VAT.
    pub gross_cents: Option<i64>,
    /// Course-cost subsidy; 0 when not eligible.
    pub subsidy_percent: u8,
    pub subsidy_cents: Option<i64>,
    /// `gross_cents - subsidy_cents`.
    pub net_cents: Option<i64>,
    pub note: &'static str,
}

/// [`FundingFacts`] borrowed, so scoring need not copy the measure number for every pair.
#[derive(Debug, Clone, Copy)]
pub(super) struct Facts<'a> {
    pub price_cents: Option<i64>,
    pub vat: VatTreatment,
    pub duration_hours: Option<i32>,
    pub provider_azav_certified: bool,
    pub azav_measure_number: Option<&'a str>,
    pub reference_date: NaiveDate,
}

/// Estimates the QCG course-cost subsidy for a firm of `employee_count` employees. An unknown size
/// takes the lowest band, so the estimate errs on the side of the firm paying more.
pub fn estimate(facts: &FundingFacts, employee_count: Option<i32>, rules: &FundingRules) -> FundingEstimate {
    Assessment::new(Facts::from(facts), employee_count, rules).estimate()
}

/// The `subsidy_percent` of [`estimate`] when `eligible`, `None` when not — without building the
/// estimate's sentences.
pub fn subsidy_percent(
    facts: &FundingFacts,
    employee_count: Option<i32>,
    rules: &FundingRules,
) -> Option<u8> {
    Assessment::new(Facts::from(facts), employee_count, rules).subsidy_percent()
}

impl<'a> From<&'a FundingFacts> for Facts<'a> {
    fn from(facts: &'a FundingFacts) -> Self {
        Facts {
            price_cents: facts.price_cents,
            vat: facts.vat,
            duration_hours: facts.duration_hours,
            provider_azav_certified: facts.provider_azav_certified,
            azav_measure_number: facts.azav_measure_number.as_deref(),
            reference_date: facts.reference_date,
        }
    }
}

/// The rule in force and which of its conditions hold: the numbers of an estimate without its
/// sentences. [`estimate`] and the scoring both derive from it, so they cannot disagree.
#[derive(Debug, Clone, Copy)]
pub(super) struct Assessment<'a> {
    facts: Facts<'a>,
    employees: Option<i32>,
    rule: Option<&'a FundingRule>,
    /// The measure number, trimmed, if not blank.
    measure_number: Option<&'a str>,
    /// The conditions of `rule` (all false without a rule).
    hours_ok: bool,
    provider_ok: bool,
    measure_ok: bool,
}

impl<'a> Assessment<'a> {
    /// Finds the QCG rule in force on the reference date and checks its conditions.
    pub(super) fn new(facts: Facts<'a>, employees: Option<i32>, rules: &'a FundingRules) -> Self {
        let rule = rules.qcg_rule_on(facts.reference_date);
        let measure_number = facts.azav_measure_number.map(str::trim).filter(|n| !n.is_empty());
        let (hours_ok, provider_ok, measure_ok) = match rule {
            Some(rule) => (
                facts.duration_hours.is_some_and(|h| h > rule.min_hours_exclusive),
                !rule.requires_azav_provider || facts.provider_azav_certified,
                !rule.requires_azav_measure || measure_number.is_some(),
            ),
            None => (false, false, false),
        };
        Assessment { facts, employees, rule, measure_number, hours_ok, provider_ok, measure_ok }
    }

    /// The course-cost subsidy when a rule is in force and all its conditions are met.
    pub(super) fn subsidy_percent(&self) -> Option<u8> {
        let rule = self.rule.filter(|_| self.hours_ok && self.provider_ok && self.measure_ok)?;
        Some(band_for(&rule.cost_subsidy, self.employees).map_or(0, |b| b.percent))
    }

    /// Price per participant including VAT.
    pub(super) fn gross_cents(&self) -> Option<i64> {
        self.facts.price_cents.map(|p| gross(p, self.facts.vat))
    }

    /// What remains for the firm: the gross price less the subsidy (none when not eligible).
    pub(super) fn net_cents(&self) -> Option<i64> {
        let percent = self.subsidy_percent().unwrap_or(0);
        self.gross_cents().map(|g| g - percent_of(g, percent))
    }

    /// The full estimate with its sentences.
    pub(super) fn estimate(&self) -> FundingEstimate {
        // Hours, provider, measure, band, wage subsidy: one allocation for all sentences.
        let mut reasons = Vec::with_capacity(5);
        match self.rule {
            Some(rule) => self.explain(rule, &mut reasons),
            None => reasons.push(text!(
                "Für einen Start am ",
                self.facts.reference_date,
                " ist keine Förderregel nach dem Qualifizierungschancengesetz hinterlegt."
            )),
        }
        let percent = self.subsidy_percent();
        let subsidy_percent = percent.unwrap_or(0);
        let gross_cents = self.gross_cents();
        FundingEstimate {
            program: QCG_PROGRAM,
            rule_id: self.rule.map(|r| r.id.clone()),
            rule_valid_from: self.rule.map(|r| r.valid_from),
            eligible: percent.is_some(),
            reasons,
            gross_cents,
            subsidy_percent,
            subsidy_cents: gross_cents.map(|g| percent_of(g, subsidy_percent)),
            net_cents: self.net_cents(),
            note: ESTIMATE_NOTE,
        }
    }

    /// One sentence per condition of `rule`; when all are met, the firm-size band and wage subsidy.
    fn explain(&self, rule: &FundingRule, reasons: &mut Vec<String>) {
        let min = rule.min_hours_exclusive;
        reasons.push(match self.facts.duration_hours {
            Some(h) if self.hours_ok => text!("Kurs hat ", h, " Stunden (mehr als ", min, ")."),
            Some(h) => {
                text!("Kurs hat ", h, " Stunden; gefördert werden Kurse mit mehr als ", min, " Stunden.")
            }
            None => text!("Kursdauer unbekannt; gefördert werden Kurse mit mehr als ", min, " Stunden."),
        });
        if rule.requires_azav_provider {
            let sentence = if self.provider_ok {
                "Anbieter ist nach AZAV zugelassen."
            } else {
                "Anbieter ist nicht nach AZAV zugelassen."
            };
            reasons.push(sentence.to_owned());
        }
        if rule.requires_azav_measure {
            reasons.push(match self.measure_number {
                Some(n) => text!("Maßnahme ist nach AZAV zertifiziert (Maßnahmenummer ", n, ")."),
                None => "Maßnahme ist nicht nach AZAV zertifiziert (keine Maßnahmenummer).".to_owned(),
            });
        }
        let Some(cost) = self.subsidy_percent() else {
            return;
        };
        reasons.push(match self.employees {
            Some(n) => {
                text!("Betrieb mit ", n, " Beschäftigten: Lehrgangskosten bis zu ", cost, " % förderfähig.")
            }
            None => {
                text!("Betriebsgröße unbekannt; angenommen wird die niedrigste Förderquote von ", cost, " %.")
            }
        });
        if let Some(wage) = band_for(&rule.wage_subsidy, self.employees) {
            reasons.push(text!(
                "Zusätzlich ist ein Zuschuss zum Arbeitsentgelt von bis zu ",
                wage.percent,
                " % möglich (nicht in den Nettokosten)."
            ));
        }
    }
}

/// The listed price plus VAT where the listing excludes it.
pub fn gross(price_cents: i64, vat: VatTreatment) -> i64 {
    match vat {
        VatTreatment::Excluded => percent_of(price_cents, 100 + VAT_PERCENT),
        VatTreatment::Included | VatTreatment::Exempt => price_cents,
    }
}

/// `cents · percent / 100`, rounded half up to whole cents: the subsidy of a gross price.
pub fn percent_of(cents: i64, percent: u8) -> i64 {
    (cents.saturating_mul(i64::from(percent)) + 50).div_euclid(100)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// An eligible 200-hour course at 2,000 € incl. VAT starting in 2025.
    fn facts() -> FundingFacts {
        FundingFacts {
            price_cents: Some(200_000),
            vat: VatTreatment::Included,
            duration_hours: Some(200),
            provider_azav_certified: true,
            azav_measure_number: Some("123/456/2024".into()),
            reference_date: date(2025, 9, 1),
        }
    }

    fn run(facts: &FundingFacts, employees: Option<i32>) -> FundingEstimate {
        estimate(facts, employees, FundingRules::get())
    }

    #[test]
    fn subsidy_by_firm_size() {
        for (employees, percent, net) in
            [(Some(10), 100, 0), (Some(49), 100, 0), (Some(50), 50, 100_000), (Some(800), 25, 150_000)]
        {
            let e = run(&facts(), employees);
            assert!(e.eligible, "{employees:?}");
            assert_eq!(e.subsidy_percent, percent, "{employees:?}");
            assert_eq!(e.net_cents, Some(net), "{employees:?}");
            assert_eq!(e.gross_cents.unwrap() - e.subsidy_cents.unwrap(), net);
        }
        let e = run(&facts(), Some(120));
        assert_eq!(e.program, "QCG");
        assert_eq!(e.rule_id.as_deref(), Some("qcg-2024-04"));
        assert_eq!(e.rule_valid_from, Some(date(2024, 4, 1)));
        assert!(
            e.reasons
                .contains(&"Betrieb mit 120 Beschäftigten: Lehrgangskosten bis zu 50 % förderfähig.".into())
        );
        assert!(e.reasons.iter().any(|r| r.contains("Arbeitsentgelt von bis zu 50 %")));
        assert!(e.note.contains("Agentur für Arbeit"));
    }

    #[test]
    fn unknown_firm_size_assumes_lowest_band() {
        let e = run(&facts(), None);
        assert!(e.eligible);
        assert_eq!(e.subsidy_percent, 25);
        assert!(e.reasons.iter().any(|r| r.starts_with("Betriebsgröße unbekannt")));
    }

    #[test]
    fn short_courses_are_not_eligible() {
        for hours in [80, 120] {
            let e = run(&FundingFacts { duration_hours: Some(hours), ..facts() }, Some(10));
            assert!(!e.eligible);
            assert_eq!((e.subsidy_percent, e.subsidy_cents, e.net_cents), (0, Some(0), Some(200_000)));
            let expected =
                format!("Kurs hat {hours} Stunden; gefördert werden Kurse mit mehr als 120 Stunden.");
            assert!(e.reasons.contains(&expected), "{:?}", e.reasons);
        }
        let e = run(&FundingFacts { duration_hours: Some(121), ..facts() }, Some(10));
        assert!(e.eligible);
        assert!(!run(&FundingFacts { duration_hours: None, ..facts() }, Some(10)).eligible);
    }

    #[test]
    fn azav_is_required() {
        let e = run(&FundingFacts { provider_azav_certified: false, ..facts() }, Some(10));
        assert!(!e.eligible);
        assert!(e.reasons.contains(&"Anbieter ist nicht nach AZAV zugelassen.".into()));
        let e = run(&FundingFacts { azav_measure_number: None, ..facts() }, Some(10));
        assert!(!e.eligible);
        assert!(e.reasons.iter().any(|r| r.starts_with("Maßnahme ist nicht nach AZAV")));
        let blank = run(&FundingFacts { azav_measure_number: Some("  ".into()), ..facts() }, Some(10));
        assert!(!blank.eligible);
    }

    #[test]
    fn vat_excluded_adds_19_percent() {
        let e = run(
            &FundingFacts { vat: VatTreatment::Excluded, price_cents: Some(100_000), ..facts() },
            Some(100),
        );
        assert_eq!(e.gross_cents, Some(119_000));
        assert_eq!(e.subsidy_cents, Some(59_500));
        assert_eq!(e.net_cents, Some(59_500));
        assert_eq!(gross(100_000, VatTreatment::Exempt), 100_000);
        assert_eq!(gross(99, VatTreatment::Excluded), 118); // 117.81 rounds up
    }

    #[test]
    fn rule_selected_by_date() {
        let e = run(&FundingFacts { reference_date: date(2024, 3, 31), ..facts() }, Some(10));
        assert!(!e.eligible);
        assert_eq!((e.rule_id, e.subsidy_percent, e.net_cents), (None, 0, Some(200_000)));
        assert_eq!(
            e.reasons,
            [
                "Für einen Start am 31.03.2024 ist keine Förderregel nach dem Qualifizierungschancengesetz hinterlegt."
            ]
        );
        assert!(run(&FundingFacts { reference_date: date(2024, 4, 1), ..facts() }, Some(10)).eligible);
    }

    #[test]
    fn subsidy_percent_agrees_with_estimate() {
        let variants = [
            facts(),
            FundingFacts { duration_hours: Some(120), ..facts() },
            FundingFacts { duration_hours: None, ..facts() },
            FundingFacts { provider_azav_certified: false, ..facts() },
            FundingFacts { azav_measure_number: Some(" ".into()), ..facts() },
            FundingFacts { reference_date: date(2024, 3, 31), ..facts() },
            FundingFacts { price_cents: None, vat: VatTreatment::Excluded, ..facts() },
        ];
        for f in &variants {
            for employees in [None, Some(10), Some(50), Some(800)] {
                let e = run(f, employees);
                let expected = e.eligible.then_some(e.subsidy_percent);
                assert_eq!(
                    subsidy_percent(f, employees, FundingRules::get()),
                    expected,
                    "{f:?} {employees:?}"
                );
            }
        }
    }

    #[test]
    fn unknown_price_still_judges_eligibility() {
        let e = run(&FundingFacts { price_cents: None, ..facts() }, Some(10));
        assert!(e.eligible);
        assert_eq!((e.gross_cents, e.subsidy_cents, e.net_cents), (None, None, None));
    }
}
