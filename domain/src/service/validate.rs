//! Input checks shared by the services. Each returns `BAD_USER_INPUT` naming the field path.

use crate::error::{ApiError, ApiResult};

/// The bounds of the schema's list arguments. Each list field's `///` doc states its bound, and
/// [`at_most`] enforces it before a list reaches the database: every value of a list becomes a bound
/// parameter of a statement, and SQLite takes at most 32 766 of them.
pub mod bounds {
    /// Skill ids in a filter (`courses`, `needs`, `searchCourses`).
    pub const FILTER_SKILLS: usize = 50;
    /// Values of an enum list (statuses, formats, schedules, funding options, Bundesländer, event
    /// types): more than any of those enums has.
    pub const ENUM_VALUES: usize = 20;
    /// DQR levels in a filter: there are eight.
    pub const DQR_LEVELS: usize = 8;
    /// Language codes in a filter or on a course.
    pub const LANGUAGES: usize = 10;
    /// Skills of a course.
    pub const COURSE_SKILLS: usize = 30;
    /// Keywords of a course.
    pub const KEYWORDS: usize = 30;
    /// Skills a need asks for.
    pub const NEED_SKILLS: usize = 20;
    /// Synonyms of a skill.
    pub const SYNONYMS: usize = 20;
    /// Staff records one request names (a learning path for a group, an analysis, a drafted need).
    pub const STAFF_IDS: usize = 500;
    /// Skills of a job profile.
    pub const PROFILE_SKILLS: usize = 40;
    /// Levels one assessment records, skills one prior-learning record evidences.
    pub const ASSESSMENTS: usize = 60;
    /// Gaps one drafted need takes.
    pub const GAP_CHOICES: usize = 20;
}

/// Refuses a list argument `field` of `count` values when it holds more than `max`: the one check
/// every list a client sends passes (see [`bounds`]).
pub fn at_most(field: &str, count: usize, max: usize) -> ApiResult<()> {
    if count > max {
        return Err(ApiError::bad_input(field, format!("{field} takes at most {max} values, not {count}")));
    }
    Ok(())
}

/// [`at_most`] for each `(field, count, max)`, in order.
pub fn all_at_most(lists: &[(&str, usize, usize)]) -> ApiResult<()> {
    lists.iter().try_for_each(|&(field, count, max)| at_most(field, count, max))
}

/// Trims `value` and checks its length in characters.
pub fn text(field: &str, value: &str, min: usize, max: usize) -> ApiResult<String> {
    let value = value.trim();
    let len = value.chars().count();
    if len < min {
        return Err(ApiError::bad_input(
            field,
            if min == 1 {
                format!("{field} must not be empty")
            } else {
                format!("{field} must have at least {min} characters")
            },
        ));
    }
    if len > max {
        return Err(ApiError::bad_input(field, format!("{field} must have at most {max} characters")));
    }
    Ok(value.to_owned())
}

/// Like [`text`], but an empty or missing value becomes `None`.
pub fn optional_text(field: &str, value: Option<&str>, max: usize) -> ApiResult<Option<String>> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) => text(field, v, 1, max).map(Some),
        None => Ok(None),
    }
}

/// Lower-cases and trims an email address and checks its shape (`local@domain.tld`, RFC 5321 lengths).
pub fn email(field: &str, value: &str) -> ApiResult<String> {
    let email = value.trim().to_lowercase();
    let invalid = || ApiError::bad_input(field, format!("{field} is not a valid email address"));
    if email.len() > 254 {
        return Err(invalid());
    }
    let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.chars().all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
    let domain_ok = domain.contains('.')
        && domain
            .split('.')
            .all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'))
        && domain.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '.');
    if local_ok && domain_ok { Ok(email) } else { Err(invalid()) }
}

/// An absolute http(s) URL without whitespace.
pub fn website(field: &str, value: Option<&str>) -> ApiResult<Option<String>> {
    let Some(url) = optional_text(field, value, 500)? else {
        return Ok(None);
    };
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && host.contains('.') && !url.chars().any(char::is_whitespace) => {
            Ok(Some(url))
        }
        _ => Err(ApiError::bad_input(
            field,
            format!("{field} must be an http(s) URL such as https://example.de"),
        )),
    }
}

/// ISO 639-1 language codes, lower-cased, at most [`bounds::LANGUAGES`], duplicates dropped.
pub fn language_codes(field: &str, codes: &[String]) -> ApiResult<Vec<String>> {
    at_most(field, codes.len(), bounds::LANGUAGES)?;
    let mut out: Vec<String> = Vec::new();
    for code in codes {
        let code = code.trim().to_ascii_lowercase();
        if code.len() != 2 || !code.chars().all(|c| c.is_ascii_lowercase()) {
            return Err(ApiError::bad_input(field, format!("{code:?} is not an ISO 639-1 code such as de")));
        }
        if !out.contains(&code) {
            out.push(code);
        }
    }
    Ok(out)
}

/// A German postal code: five digits.
pub fn german_postal_code(field: &str, value: &str) -> ApiResult<String> {
    let code = value.trim();
    if code.len() == 5 && code.chars().all(|c| c.is_ascii_digit()) {
        Ok(code.to_owned())
    } else {
        Err(ApiError::bad_input(field, "a German postal code has five digits"))
    }
}

pub fn coordinates(field: &str, lat: f64, lng: f64) -> ApiResult<(f64, f64)> {
    if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
        return Err(ApiError::bad_input(format!("{field}.lat"), "latitude must be between -90 and 90"));
    }
    if !lng.is_finite() || !(-180.0..=180.0).contains(&lng) {
        return Err(ApiError::bad_input(format!("{field}.lng"), "longitude must be between -180 and 180"));
    }
    Ok((lat, lng))
}

/// A URL-safe identifier: lower-case letters, digits and single hyphens, 3–80 characters.
pub fn slug(field: &str, value: &str) -> ApiResult<String> {
    let slug = value.trim().to_owned();
    let shape_ok = (3..=80).contains(&slug.len())
        && slug.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !slug.starts_with('-')
        && !slug.ends_with('-')
        && !slug.contains("--");
    if shape_ok {
        Ok(slug)
    } else {
        Err(ApiError::bad_input(
            field,
            format!("{field} must be 3–80 lower-case letters, digits and single hyphens"),
        ))
    }
}

/// A slug derived from a German name: umlauts and ß transliterated, everything else to hyphens.
pub fn slugify(name: &str) -> String {
    let mut slug = String::with_capacity(name.len());
    for c in name.trim().to_lowercase().chars() {
        match c {
            'ä' => slug.push_str("ae"),
            'ö' => slug.push_str("oe"),
            'ü' => slug.push_str("ue"),
            'ß' => slug.push_str("ss"),
            c if c.is_ascii_alphanumeric() => slug.push(c),
            _ if !slug.ends_with('-') && !slug.is_empty() => slug.push('-'),
            _ => {}
        }
    }
    let mut slug: String = slug.trim_end_matches('-').chars().take(60).collect();
    while slug.ends_with('-') {
        slug.pop();
    }
    if slug.len() < 3 {
        slug = format!("org-{slug}").trim_end_matches('-').to_owned();
    }
    slug
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            email("email", "  Anna.Schmidt@Example.DE ").ok().as_deref(),
            Some("anna.schmidt@example.de")
        );
        for bad in
            ["", "anna", "anna@", "@example.de", "anna@example", "an na@example.de", "a@b..de", "a@@b.de"]
        {
            assert!(email("email", bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn slugs_transliterate_german() {
        assert_eq!(slugify("Bildungszentrum Jena-Göschwitz GmbH"), "bildungszentrum-jena-goeschwitz-gmbh");
        assert_eq!(slugify("Weiß & Söhne"), "weiss-soehne");
        assert_eq!(slugify("X"), "org-x");
        assert!(slug("slug", "Bad Slug").is_err());
        assert!(slug("slug", "good-slug-1").is_ok());
    }

    #[test]
    fn websites_need_a_scheme_and_host() {
        assert!(website("w", Some("https://ihk.de")).is_ok());
        assert!(website("w", Some("ihk.de")).is_err());
        assert!(website("w", Some("javascript:alert(1)")).is_err());
        assert_eq!(website("w", Some("  ")).ok(), Some(None));
    }
}
