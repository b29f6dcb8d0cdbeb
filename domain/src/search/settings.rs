//! The text settings of `search-config/courses.json` — stop words, synonyms and typo rules — as the
//! embedded backend reads them. Meilisearch gets the same file (see [`super::meili::settings`]), so
//! both backends answer a query with the same words.

use std::collections::HashMap;

use serde::Deserialize;

use super::SearchError;
use super::meili::SETTINGS;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TextSettings {
    #[serde(default)]
    pub stop_words: Vec<String>,
    /// A word or phrase, and what else it may be written as (one direction, as in Meilisearch).
    #[serde(default)]
    pub synonyms: HashMap<String, Vec<String>>,
    #[serde(default)]
    pub typo_tolerance: TypoTolerance,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TypoTolerance {
    pub enabled: bool,
    pub min_word_size_for_typos: MinWordSizeForTypos,
}

impl Default for TypoTolerance {
    fn default() -> Self {
        Self { enabled: true, min_word_size_for_typos: MinWordSizeForTypos::default() }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MinWordSizeForTypos {
    pub one_typo: usize,
    pub two_typos: usize,
}

impl Default for MinWordSizeForTypos {
    /// Meilisearch's defaults.
    fn default() -> Self {
        Self { one_typo: 5, two_typos: 9 }
    }
}

impl TypoTolerance {
    /// Edits forgiven in a word of `chars` characters.
    pub fn typos_for(&self, chars: usize) -> u8 {
        let sizes = &self.min_word_size_for_typos;
        match chars {
            _ if !self.enabled => 0,
            n if n >= sizes.two_typos => 2,
            n if n >= sizes.one_typo => 1,
            _ => 0,
        }
    }
}

/// How the embedded backend reads a query beyond Meilisearch's settings
/// (`search-config/query.json`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuerySettings {
    /// Generic words ("Kurs", "Weiterbildung", "online") a course may lack: they rank courses that
    /// have them higher but never decide which courses are found.
    #[serde(default)]
    pub optional_words: Vec<String>,
}

pub const QUERY_SETTINGS: &str = include_str!("../../../search-config/query.json");

pub fn query() -> Result<QuerySettings, SearchError> {
    serde_json::from_str(QUERY_SETTINGS)
        .map_err(|e| SearchError::Internal(format!("search-config/query.json: {e}")))
}

/// The settings of the course index.
pub fn courses() -> Result<TextSettings, SearchError> {
    serde_json::from_str(SETTINGS)
        .map_err(|e| SearchError::Internal(format!("search-config/courses.json: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_holds_stop_words_synonyms_and_typo_rules() -> Result<(), SearchError> {
        let settings = courses()?;
        assert!(settings.stop_words.iter().any(|w| w == "für"));
        assert!(settings.synonyms.get("aevo").is_some_and(|s| s.iter().any(|w| w == "ausbildereignung")));
        let typos = &settings.typo_tolerance;
        assert_eq!((typos.typos_for(4), typos.typos_for(5), typos.typos_for(9)), (0, 1, 2));
        Ok(())
    }

    #[test]
    fn the_query_settings_name_generic_words() -> Result<(), SearchError> {
        let settings = query()?;
        for word in ["kurs", "lehrgang", "weiterbildung", "seminar"] {
            assert!(settings.optional_words.iter().any(|w| w == word), "{word}");
        }
        Ok(())
    }
}
