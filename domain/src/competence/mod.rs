//! Competences: job profiles (competence models), a firm's staff with their assessments and prior
//! learning, the gap analysis, needs drafted from gaps, and learning paths that close them.
//!
//! Staff data is personal data. Only the firm's OWNER and ADMIN members, signed in as persons, read
//! or write it: never other firms, never providers, never API keys (a key's service account is not
//! an admin, and [`staff::authorize`] asks for a person). A need drafted from gaps carries counts,
//! never who has the gap.

pub mod drafts;
pub mod gaps;
pub mod paths;
pub mod profiles;
pub mod staff;

/// The four-level scale of target and assessed levels (0 = not yet at level 1, for assessments).
pub const LEVELS: [(i32, &str, &str); 4] = [
    (1, "Grundlagen", "kennt die Begriffe und arbeitet unter Anleitung"),
    (2, "Anwenden", "wendet es in Routineaufgaben selbstständig an"),
    (3, "Vertiefen", "löst auch ungewohnte Aufgaben und gibt Wissen weiter"),
    (4, "Experte", "gestaltet, bewertet und leitet andere an"),
];

/// Most staff records one request may name (a path for a group, a drafted need, an analysis page).
pub const MAX_STAFF_PER_REQUEST: usize = crate::service::validate::bounds::STAFF_IDS;
/// Most skills in one job profile.
pub const MAX_PROFILE_SKILLS: usize = crate::service::validate::bounds::PROFILE_SKILLS;

/// The German name of a level of the scale; "keine Kenntnisse" for 0.
pub fn level_name(level: i32) -> &'static str {
    LEVELS.iter().find(|(l, _, _)| *l == level).map_or("keine Kenntnisse", |(_, name, _)| name)
}

/// That `level` is on the scale (`min` 1 for targets, 0 for assessments), else bad input on `field`.
pub fn check_level(field: &str, level: i32, min: i32) -> crate::error::ApiResult<i32> {
    if (min..=4).contains(&level) {
        Ok(level)
    } else {
        Err(crate::error::ApiError::bad_input(
            field,
            format!("{field} must be {min} to 4 (1 Grundlagen, 2 Anwenden, 3 Vertiefen, 4 Experte)"),
        ))
    }
}
