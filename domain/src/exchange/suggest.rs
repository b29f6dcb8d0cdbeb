//! Skills suggested for an imported course: OpenQCAT and the CSV template carry no skills, so the
//! vocabulary's labels and synonyms are looked for in the course's title, keywords and
//! classification. A suggestion is marked as such until the provider confirms the course's skills.
//!
//! Words are compared by their German stem (the search index's analyzer: lower case, umlauts
//! folded, Snowball stemmer), a label of several words as a run of words; a one-word label of six
//! or more letters also finds a compound it begins ("Schweißen" in "Schweißkurs").

use entity::skill;
use sea_orm::{ConnectionTrait, EntityTrait, QueryOrder};
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, TextAnalyzer,
};

use crate::error::ApiResult;
use crate::service::json_list;

/// Suggestions per course at most.
pub const MAX_SUGGESTIONS: usize = 5;
const MIN_PREFIX: usize = 6;

/// The vocabulary as stems, read once per import.
pub struct Vocabulary {
    /// (skill id, one phrase of it as stems), labels before synonyms.
    phrases: Vec<(String, Vec<String>)>,
    analyzer: TextAnalyzer,
}

fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(60))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(Stemmer::new(Language::German))
        .build()
}

fn stems(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stream = analyzer.token_stream(text);
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

impl Vocabulary {
    pub async fn load(db: &impl ConnectionTrait) -> ApiResult<Self> {
        let skills = skill::Entity::find().order_by_asc(skill::Column::Id).all(db).await?;
        Ok(Self::new(
            skills.iter().map(|s| (s.id.as_str(), s.label.as_str(), json_list::decode(&s.synonyms))),
        ))
    }

    pub fn new<'a>(skills: impl IntoIterator<Item = (&'a str, &'a str, Vec<String>)>) -> Self {
        let mut analyzer = analyzer();
        let mut phrases = Vec::new();
        for (id, label, synonyms) in skills {
            for text in std::iter::once(label.to_owned()).chain(synonyms) {
                let phrase = stems(&mut analyzer, &text);
                // A one-word name of two letters ("MS", "QM") is too ambiguous to suggest from.
                let ambiguous = matches!(phrase.as_slice(), [word] if word.chars().count() < 3);
                if !phrase.is_empty() && !ambiguous {
                    phrases.push((id.to_owned(), phrase));
                }
            }
        }
        Self { phrases, analyzer }
    }

    /// Skill ids found in `text`, in the order of their first place in it, at most
    /// [`MAX_SUGGESTIONS`].
    pub fn suggest(&mut self, text: &str) -> Vec<String> {
        let words = stems(&mut self.analyzer, text);
        let mut found: Vec<(usize, &str)> = Vec::new();
        for (id, phrase) in &self.phrases {
            let at = if let [word] = phrase.as_slice() {
                words.iter().position(|w| {
                    w == word || (word.chars().count() >= MIN_PREFIX && w.starts_with(word.as_str()))
                })
            } else {
                words.windows(phrase.len()).position(|window| window == phrase.as_slice())
            };
            if let Some(at) = at {
                match found.iter_mut().find(|(_, f)| *f == id) {
                    Some(entry) => entry.0 = entry.0.min(at),
                    None => found.push((at, id)),
                }
            }
        }
        found.sort();
        found.into_iter().take(MAX_SUGGESTIONS).map(|(_, id)| id.to_owned()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_synonyms_and_compounds_are_found_in_order() {
        let mut vocabulary = Vocabulary::new([
            ("metal/schweissen", "Schweißen", vec!["MAG-Schweißen".to_owned()]),
            ("automation/sps", "SPS-Programmierung", vec!["Speicherprogrammierbare Steuerung".to_owned()]),
            ("care/praxisanleitung", "Praxisanleitung", vec![]),
            ("office/excel", "Excel", vec![]),
        ]);
        assert_eq!(
            vocabulary.suggest("Schweißkurs MAG | SPS-Programmierung mit TIA Portal"),
            ["metal/schweissen", "automation/sps"]
        );
        assert_eq!(vocabulary.suggest("Speicherprogrammierbare Steuerungen"), ["automation/sps"]);
        // Stems meet across word forms: "Praxisanleiter" and "Praxisanleitung" are both "praxisanleit".
        assert_eq!(vocabulary.suggest("Praxisanleiter/in in der Pflege"), ["care/praxisanleitung"]);
        assert_eq!(vocabulary.suggest("Praxisanleitung nach § 4 PflAPrV"), ["care/praxisanleitung"]);
        // "MS Excel" is no course in Massenspektrometrie (synonym "MS").
        let mut ms = Vocabulary::new([("lab/ms", "Massenspektrometrie", vec!["MS".to_owned()])]);
        assert!(ms.suggest("MS Excel für Einsteiger").is_empty());
        // A short label only as a whole word: "Excelsior" is no Excel course.
        assert!(vocabulary.suggest("Hotel Excelsior").is_empty());
    }
}
