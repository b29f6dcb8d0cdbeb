//! Values as catalogue files write them (German dates and prices, yes/no), checked against the
//! platform's bounds with German messages naming the place in the file, so that a record that
//! passes here also passes the course and offering rules.

use chrono::NaiveDate;

use super::{Problem, plz};
use crate::service::courses::{MAX_PRICE_CENTS, Venue};
use crate::service::validate::bounds;

/// Collects a record's problems while its values are read.
pub struct Checker<'a> {
    pub key: Option<&'a str>,
    pub errors: Vec<Problem>,
    pub warnings: Vec<Problem>,
}

impl<'a> Checker<'a> {
    pub fn new(key: Option<&'a str>) -> Self {
        Self { key, errors: Vec::new(), warnings: Vec::new() }
    }

    pub fn error(&mut self, path: &str, message: impl Into<String>) {
        self.errors.push(Problem::error(self.key, path, message));
    }

    pub fn warn(&mut self, path: &str, message: impl Into<String>) {
        self.warnings.push(Problem::warning(self.key, path, message));
    }

    /// Text of `min` to `max` characters, trimmed; empty is `None` (an error when `min > 0`).
    pub fn text(&mut self, path: &str, value: Option<&str>, min: usize, max: usize) -> Option<String> {
        let value = value.map(str::trim).filter(|v| !v.is_empty());
        let Some(value) = value else {
            if min > 0 {
                self.error(path, "fehlt");
            }
            return None;
        };
        let length = value.chars().count();
        if length < min {
            self.error(path, format!("zu kurz: mindestens {min} Zeichen"));
            None
        } else if length > max {
            self.error(path, format!("zu lang: höchstens {max} Zeichen, hier {length}"));
            None
        } else {
            Some(value.to_owned())
        }
    }

    /// Keywords: blank ones dropped, each at most 60 characters, at most [`bounds::KEYWORDS`] (the
    /// rest dropped with a warning).
    pub fn keywords(&mut self, path: &str, values: impl IntoIterator<Item = String>) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut dropped = 0;
        for value in values {
            let value = value.trim();
            if value.is_empty() || out.iter().any(|k| k.eq_ignore_ascii_case(value)) {
                continue;
            }
            if value.chars().count() > 60 {
                self.warn(
                    path,
                    format!(
                        "Schlagwort „{}…“ ist länger als 60 Zeichen und wurde ausgelassen",
                        value.chars().take(20).collect::<String>()
                    ),
                );
            } else if out.len() == bounds::KEYWORDS {
                dropped += 1;
            } else {
                out.push(value.to_owned());
            }
        }
        if dropped > 0 {
            self.warn(
                path,
                format!("mehr als {} Schlagwörter: {dropped} wurden ausgelassen", bounds::KEYWORDS),
            );
        }
        out
    }

    pub fn date(&mut self, path: &str, value: Option<&str>) -> Option<NaiveDate> {
        let value = value.map(str::trim).filter(|v| !v.is_empty())?;
        match parse_date(value) {
            Some(date) => Some(date),
            None => {
                self.error(
                    path,
                    format!("„{value}“ ist kein gültiges Datum (erwartet JJJJ-MM-TT oder TT.MM.JJJJ)"),
                );
                None
            }
        }
    }

    /// A price in euros as written in German or in XML (`1.290,50`, `1290.50`, `1290 €`) → cents.
    pub fn price(&mut self, path: &str, value: Option<&str>) -> Option<i64> {
        let value = value.map(str::trim).filter(|v| !v.is_empty())?;
        match parse_price(value) {
            Some(cents) if (0..=MAX_PRICE_CENTS).contains(&cents) => Some(cents),
            Some(_) => {
                self.error(
                    path,
                    format!("Preis „{value}“ liegt außerhalb von 0 bis {} €", MAX_PRICE_CENTS / 100),
                );
                None
            }
            None => {
                self.error(path, format!("„{value}“ ist kein Preis (erwartet z. B. 1290.00 oder 1.290,00)"));
                None
            }
        }
    }

    /// A whole number from `min` to `max`.
    pub fn number(&mut self, path: &str, value: Option<&str>, min: i64, max: i64) -> Option<i64> {
        let value = value.map(str::trim).filter(|v| !v.is_empty())?;
        let parsed = value.parse::<f64>().ok().filter(|n| n.fract() == 0.0).map(|n| n as i64);
        match parsed {
            Some(n) if (min..=max).contains(&n) => Some(n),
            _ => {
                self.error(path, format!("„{value}“ ist keine ganze Zahl von {min} bis {max}"));
                None
            }
        }
    }

    pub fn flag(&mut self, path: &str, value: Option<&str>) -> Option<bool> {
        let value = value.map(str::trim).filter(|v| !v.is_empty())?;
        match value.to_lowercase().as_str() {
            "true" | "1" | "ja" | "j" | "x" | "yes" => Some(true),
            "false" | "0" | "nein" | "n" | "no" => Some(false),
            _ => {
                self.error(path, format!("„{value}“ ist weder ja noch nein"));
                None
            }
        }
    }

    /// A venue from its address: the postal code's coordinates from the shipped table; an unknown
    /// code keeps the address without coordinates (a warning).
    pub fn venue(
        &mut self,
        path: &str,
        street: Option<&str>,
        postal_code: Option<&str>,
        city: Option<&str>,
    ) -> Venue {
        let street = self.text(&format!("{path}/STREET"), street, 0, 200);
        let mut city = self.text(&format!("{path}/CITY"), city, 0, 120);
        let code = postal_code.map(str::trim).filter(|c| !c.is_empty());
        let mut location = None;
        let postal_code = match code {
            Some(code) if code.len() == 5 && code.bytes().all(|b| b.is_ascii_digit()) => {
                match plz::lookup(code) {
                    Some(place) => {
                        location = Some((place.latitude, place.longitude));
                        if city.is_none() && !place.name.is_empty() {
                            city = Some(place.name.to_owned());
                        }
                    }
                    None => self.warn(
                        &format!("{path}/ZIP"),
                        format!(
                            "Postleitzahl {code} ist nicht im Verzeichnis: der Ort bleibt ohne Koordinaten"
                        ),
                    ),
                }
                Some(code.to_owned())
            }
            Some(code) => {
                self.warn(
                    &format!("{path}/ZIP"),
                    format!("„{code}“ ist keine deutsche Postleitzahl und wurde ausgelassen"),
                );
                None
            }
            None => None,
        };
        Venue { street, postal_code, city, bundesland: None, location }
    }
}

pub fn parse_date(value: &str) -> Option<NaiveDate> {
    let value = value.trim();
    // XML dates may carry a time or zone: 2026-03-02T00:00:00+01:00.
    let day = value.get(..10).unwrap_or(value);
    NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(value, "%d.%m.%Y"))
        .or_else(|_| NaiveDate::parse_from_str(value, "%d.%m.%y"))
        .ok()
}

pub fn parse_price(value: &str) -> Option<i64> {
    let cleaned: String = value
        .trim()
        .trim_end_matches("EUR")
        .trim_end_matches('€')
        .trim()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    if cleaned.is_empty() || !cleaned.chars().all(|c| c.is_ascii_digit() || c == '.' || c == ',') {
        return None;
    }
    // The last separator followed by one or two digits is the decimal one; others group thousands.
    let (whole, fraction) = match cleaned.rfind([',', '.']) {
        Some(at) if cleaned.len() - at - 1 <= 2 && cleaned.len() - at > 1 => {
            (&cleaned[..at], &cleaned[at + 1..])
        }
        _ => (cleaned.as_str(), ""),
    };
    let whole: String = whole.chars().filter(char::is_ascii_digit).collect();
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    let euros: i64 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
    let cents: i64 = match fraction.len() {
        0 => 0,
        1 => fraction.parse::<i64>().ok()? * 10,
        _ => fraction.parse().ok()?,
    };
    euros.checked_mul(100)?.checked_add(cents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn german_and_xml_prices_and_dates() {
        assert_eq!(parse_price("1.290,50"), Some(129_050));
        assert_eq!(parse_price("1290.50"), Some(129_050));
        assert_eq!(parse_price("1290"), Some(129_000));
        assert_eq!(parse_price("1.290"), Some(129_000));
        assert_eq!(parse_price("12,5"), Some(1_250));
        assert_eq!(parse_price("890 €"), Some(89_000));
        assert_eq!(parse_price("12,5o"), None);
        assert_eq!(parse_price("-5"), None);
        assert_eq!(parse_date("2026-03-02"), NaiveDate::from_ymd_opt(2026, 3, 2));
        assert_eq!(parse_date("02.03.2026"), NaiveDate::from_ymd_opt(2026, 3, 2));
        assert_eq!(parse_date("2026-03-02T08:00:00+01:00"), NaiveDate::from_ymd_opt(2026, 3, 2));
        assert_eq!(parse_date("31.02.2026"), None);
        assert_eq!(parse_date("2026-13-01"), None);
    }
}
