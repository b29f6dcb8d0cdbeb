//! The embedded search backend: a tantivy index in the data directory, serving the same contract as
//! Meilisearch so that `cargo run` needs no search server.
//!
//! German text is lower-cased, folded (ä → a, ß → ss) and stemmed (Snowball German), so "Schulungen"
//! meets "Schulung" and "Schweissen" meets "Schweißen". Stop words, synonyms and typo rules (one edit
//! from 5 letters, two from 9) come from `search-config/courses.json`, the file Meilisearch gets
//! (see [`super::settings`]). Compounds: a separate field holds every suffix of longer words,
//! so "Sicherheit" finds "Arbeitssicherheit" and "Labor" finds "Chemielaboranten".

use std::collections::{HashMap, HashSet};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use rustc_hash::FxHashMap;
use std::sync::Mutex;
use tantivy::collector::{Count, TopDocs};
use tantivy::indexer::{LogMergePolicy, NoMergePolicy};
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, FuzzyTermQuery, Occur, Query, RangeQuery, TermQuery,
    TermSetQuery,
};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, TextAnalyzer,
};
use tantivy::{DocAddress, Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term};
use uuid::Uuid;

use super::document::{CourseDocuments, DocumentVersion, OfferingDocument, compound_parts};
use super::expand_once::ExpandOnce;
use super::query::{
    CourseHit, Facets, SearchRequest, SearchResults, SearchSort, Suggestion, haversine_km, top_facets,
};
use super::settings::{self, TextSettings, TypoTolerance};
use super::{PositionStore, SearchBackend, SearchError};

const STEMMED: &str = "de_stemmed";
const PLAIN: &str = "de_plain";
const WRITER_MEMORY: usize = 64 * 1024 * 1024;

#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    course_id: Field,
    course_hi: Field,
    course_lo: Field,
    offering_id: Field,
    offering_hi: Field,
    offering_lo: Field,
    title: Field,
    title_plain: Field,
    subtitle: Field,
    description: Field,
    skills_text: Field,
    keywords: Field,
    provider_name: Field,
    city: Field,
    parts: Field,
    skill_ids: Field,
    provider_id: Field,
    postal_code: Field,
    bundesland: Field,
    dqr: Field,
    format: Field,
    schedule: Field,
    funding: Field,
    languages: Field,
    start: Field,
    price: Field,
    seats: Field,
    rolling: Field,
    lat: Field,
    lng: Field,
    updated: Field,
    version: Field,
}

/// A query's text as one query, and the stems to highlight.
type TextQuery = (Box<dyn Query>, Vec<String>);

/// What each matched query word adds to a document's score: more than any relevance score, so
/// that the number of words matched ranks first (see [`EmbeddedIndex::text_query`]).
const WORD_TIER: f32 = 10_000.0;
/// Query words that count towards the tier; later ones still add relevance (a 200-word query
/// costs no more tiers than this).
const MAX_TIERED_WORDS: usize = 10;

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = |analyzer: &str, stored: bool| {
        let options = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(analyzer)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        );
        if stored { options.set_stored() } else { options }
    };
    let fields = Fields {
        id: b.add_text_field("id", STRING | STORED | FAST),
        course_id: b.add_text_field("courseId", STRING | STORED | FAST),
        // The course id as numbers: grouping by course reads no dictionary.
        course_hi: b.add_u64_field("courseHi", FAST),
        course_lo: b.add_u64_field("courseLo", FAST),
        offering_id: b.add_text_field("offeringId", STRING | STORED),
        // The offering id as numbers too (0 and 0 for none): a hit's offerings are read without
        // decompressing a block of a string column's dictionary for each.
        offering_hi: b.add_u64_field("offeringHi", FAST),
        offering_lo: b.add_u64_field("offeringLo", FAST),
        title: b.add_text_field("title", text(STEMMED, true)),
        title_plain: b.add_text_field("titlePlain", text(PLAIN, false)),
        subtitle: b.add_text_field("subtitle", text(STEMMED, false)),
        description: b.add_text_field("description", text(STEMMED, true)),
        skills_text: b.add_text_field("skillLabels", text(STEMMED, false)),
        keywords: b.add_text_field("keywords", text(STEMMED, false)),
        provider_name: b.add_text_field("providerName", text(STEMMED, false)),
        city: b.add_text_field("city", text(PLAIN, false)),
        parts: b.add_text_field("parts", STRING),
        skill_ids: b.add_text_field("skillIds", STRING | FAST),
        provider_id: b.add_text_field("providerId", STRING | FAST),
        postal_code: b.add_text_field("postalCode", STRING),
        bundesland: b.add_text_field("bundesland", STRING | FAST),
        dqr: b.add_i64_field("dqrLevel", INDEXED | FAST),
        format: b.add_text_field("format", STRING | FAST),
        schedule: b.add_text_field("schedule", STRING | FAST),
        funding: b.add_text_field("funding", STRING | FAST),
        languages: b.add_text_field("languages", STRING | FAST),
        start: b.add_i64_field("start", INDEXED | FAST),
        price: b.add_i64_field("price", INDEXED | FAST),
        seats: b.add_i64_field("seatsAvailable", INDEXED | FAST),
        rolling: b.add_i64_field("rollingStart", INDEXED | FAST),
        lat: b.add_f64_field("lat", INDEXED | FAST),
        lng: b.add_f64_field("lng", INDEXED | FAST),
        updated: b.add_i64_field("updated", INDEXED | FAST),
        version: b.add_i64_field("version", FAST),
    };
    (b.build(), fields)
}

fn register_analyzers(index: &Index) {
    index.tokenizers().register(
        STEMMED,
        TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(RemoveLongFilter::limit(60))
            .filter(LowerCaser)
            .filter(AsciiFoldingFilter)
            .filter(Stemmer::new(Language::German))
            .build(),
    );
    index.tokenizers().register(
        PLAIN,
        TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(RemoveLongFilter::limit(60))
            .filter(LowerCaser)
            .filter(AsciiFoldingFilter)
            .build(),
    );
}

fn analyze(index: &Index, analyzer: &str, text: &str) -> Vec<String> {
    let Some(mut analyzer) = index.tokenizers().get(analyzer) else {
        return Vec::new();
    };
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

/// A query word: folded (for exact fields and prefixes) and stemmed (for text fields).
#[derive(Debug, Clone)]
struct Word {
    plain: String,
    stem: String,
}

/// `search-config/courses.json`'s text settings in the words the analyzers produce, so that "für"
/// in the file meets "fur" in a query.
struct Vocabulary {
    stop_words: HashSet<String>,
    /// `search-config/query.json`'s generic words, folded: never the word a course must match.
    optional: HashSet<String>,
    /// Key words and their alternatives, longest key first.
    synonyms: Vec<(Vec<Word>, Vec<Vec<Word>>)>,
    typos: TypoTolerance,
}

impl Vocabulary {
    fn new(index: &Index, settings: TextSettings, query: settings::QuerySettings) -> Self {
        let stop_words: HashSet<String> =
            settings.stop_words.iter().flat_map(|w| analyze(index, PLAIN, w)).collect();
        // Folded and stemmed, so that "Kollege" is as generic as "Kollegen".
        let optional: HashSet<String> = query
            .optional_words
            .iter()
            .flat_map(|w| analyze(index, PLAIN, w).into_iter().chain(analyze(index, STEMMED, w)))
            .collect();
        let mut vocabulary =
            Self { stop_words, optional, synonyms: Vec::new(), typos: settings.typo_tolerance };
        let mut synonyms: Vec<(Vec<Word>, Vec<Vec<Word>>)> = settings
            .synonyms
            .iter()
            .map(|(key, alternatives)| {
                let key = vocabulary.words(index, key);
                let alternatives = alternatives
                    .iter()
                    .map(|a| vocabulary.words(index, a))
                    .filter(|words| !words.is_empty())
                    .collect();
                (key, alternatives)
            })
            .filter(|(key, _): &(Vec<Word>, _)| !key.is_empty())
            .collect();
        synonyms.sort_by(|a, b| {
            b.0.len()
                .cmp(&a.0.len())
                .then_with(|| a.0.iter().map(|w| &w.plain).cmp(b.0.iter().map(|w| &w.plain)))
        });
        vocabulary.synonyms = synonyms;
        vocabulary
    }

    /// The words of `text` that carry meaning.
    fn words(&self, index: &Index, text: &str) -> Vec<Word> {
        let plain = analyze(index, PLAIN, text);
        let stemmed = analyze(index, STEMMED, text);
        plain
            .into_iter()
            .zip(stemmed)
            .filter(|(p, _)| !self.stop_words.contains(p))
            .map(|(plain, stem)| Word { plain, stem })
            .collect()
    }

    /// Whether `word` is generic (`search-config/query.json`).
    fn generic(&self, word: &Word) -> bool {
        self.optional.contains(&word.plain) || self.optional.contains(&word.stem)
    }

    /// How many of `words` a synonym key covers from the start (1 when none does), and its
    /// alternatives. A key word covers a query word spelled the same, with umlauts written out, or
    /// with the same stem ("Gehälter" for "Gehalt").
    fn synonyms_at(&self, words: &[Word]) -> (usize, &[Vec<Word>]) {
        // Keys are sorted longest first: no key reaches past the first one's length.
        let reach = self.synonyms.first().map_or(0, |(key, _)| key.len()).min(words.len());
        let written: Vec<String> = words[..reach].iter().map(|w| umlauts_written_out(&w.plain)).collect();
        for (key, alternatives) in &self.synonyms {
            let covers =
                key.len() <= reach
                    && key.iter().zip(words).zip(&written).all(|((k, w), written)| {
                        k.plain == w.plain || k.plain == *written || k.stem == w.stem
                    });
            if covers {
                return (key.len(), alternatives);
            }
        }
        (1, &[])
    }
}

/// An open index: the writer (one per process) and a reader reloaded after every commit.
struct Open {
    index: Index,
    writer: IndexWriter,
    reader: IndexReader,
    /// The change-log position the last commit recorded (`None`: never filled).
    position: Option<i64>,
}

/// What every commit stores with its documents, so that the index knows which changes it holds.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct CommitPayload {
    change_log_position: i64,
}

/// The embedded backend; cheap to clone, the work runs on blocking threads.
#[derive(Clone)]
pub struct EmbeddedIndex {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    fields: Fields,
    vocabulary: Vocabulary,
    /// One writer per process; readers share the reloaded searcher.
    open: Mutex<Open>,
    reader: IndexReader,
    index: Index,
}

fn engine_error(e: impl std::fmt::Display) -> SearchError {
    SearchError::Internal(e.to_string())
}

impl EmbeddedIndex {
    /// Opens (or creates) the index under `dir`.
    pub fn open(dir: &Path) -> Result<Self, SearchError> {
        std::fs::create_dir_all(dir).map_err(engine_error)?;
        let (schema, fields) = schema();
        let index = match Index::open_in_dir(dir) {
            Ok(index) if index.schema() == schema => index,
            // A missing index, or one of an older schema: start afresh; it holds no position, so the
            // worker refills it from the database.
            _ => {
                std::fs::remove_dir_all(dir).map_err(engine_error)?;
                std::fs::create_dir_all(dir).map_err(engine_error)?;
                Index::create_in_dir(dir, schema).map_err(engine_error)?
            }
        };
        let open = open_index(index)?;
        let vocabulary = Vocabulary::new(&open.index, settings::courses()?, settings::query()?);
        Ok(Self {
            inner: Arc::new(Inner {
                dir: dir.to_path_buf(),
                fields,
                vocabulary,
                reader: open.reader.clone(),
                index: open.index.clone(),
                open: Mutex::new(open),
            }),
        })
    }

    pub fn directory(&self) -> &Path {
        &self.inner.dir
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Inner) -> Result<T, SearchError> + Send + 'static,
    ) -> Result<T, SearchError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || work(&inner)).await.map_err(engine_error)?
    }
}

fn open_index(index: Index) -> Result<Open, SearchError> {
    register_analyzers(&index);
    let writer = index.writer(WRITER_MEMORY).map_err(|e| {
        SearchError::Internal(format!("the embedded index is locked by another process ({e})"))
    })?;
    let reader =
        index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into().map_err(engine_error)?;
    let position = index
        .load_metas()
        .map_err(engine_error)?
        .payload
        .and_then(|p| serde_json::from_str::<CommitPayload>(&p).ok())
        .map(|p| p.change_log_position);
    Ok(Open { index, writer, reader, position })
}

impl Open {
    /// Commits the pending operations together with the position they bring the index to.
    fn commit_at(&mut self, position: Option<i64>) -> Result<(), SearchError> {
        let position = position.or(self.position);
        let mut commit = self.writer.prepare_commit().map_err(engine_error)?;
        if let Some(change_log_position) = position {
            let payload =
                serde_json::to_string(&CommitPayload { change_log_position }).map_err(engine_error)?;
            commit.set_payload(&payload);
        }
        commit.commit().map_err(engine_error)?;
        self.position = position;
        Ok(())
    }
}

impl Inner {
    fn searcher(&self) -> Searcher {
        self.reader.searcher()
    }

    fn to_document(&self, doc: &OfferingDocument) -> TantivyDocument {
        let f = &self.fields;
        let mut d = TantivyDocument::default();
        d.add_text(f.id, &doc.id);
        d.add_text(f.course_id, &doc.course_id);
        add_uuid(&mut d, (f.course_hi, f.course_lo), Some(&doc.course_id));
        d.add_text(f.offering_id, doc.offering_id.as_deref().unwrap_or(""));
        add_uuid(&mut d, (f.offering_hi, f.offering_lo), doc.offering_id.as_deref());
        d.add_text(f.title, &doc.title);
        d.add_text(f.title_plain, &doc.title);
        if let Some(subtitle) = &doc.subtitle {
            d.add_text(f.subtitle, subtitle);
        }
        d.add_text(f.description, &doc.description);
        for label in &doc.skill_labels {
            d.add_text(f.skills_text, label);
        }
        for keyword in &doc.keywords {
            d.add_text(f.keywords, keyword);
        }
        d.add_text(f.provider_name, &doc.provider_name);
        if let Some(city) = &doc.city {
            d.add_text(f.city, city);
        }
        if let Some(code) = &doc.postal_code {
            d.add_text(f.postal_code, code);
        }
        let mut texts: Vec<&str> = vec![&doc.title];
        texts.extend(doc.skill_labels.iter().map(String::as_str));
        texts.extend(doc.keywords.iter().map(String::as_str));
        for part in compound_parts(&texts) {
            d.add_text(f.parts, &part);
        }
        for id in &doc.skill_ids {
            d.add_text(f.skill_ids, id);
        }
        d.add_text(f.provider_id, &doc.provider_id);
        if let Some(b) = &doc.bundesland {
            d.add_text(f.bundesland, b);
        }
        d.add_i64(f.dqr, doc.dqr_level.unwrap_or(0));
        d.add_text(f.format, &doc.format);
        d.add_text(f.schedule, &doc.schedule);
        for funding in &doc.funding {
            d.add_text(f.funding, funding);
        }
        for language in &doc.languages {
            d.add_text(f.languages, language);
        }
        // Missing values get sentinels, so every document has every fast field.
        d.add_i64(f.start, doc.start.unwrap_or(i64::MAX));
        d.add_i64(f.price, doc.price.unwrap_or(i64::MAX));
        d.add_i64(f.seats, doc.seats_available.unwrap_or(i64::MAX));
        d.add_i64(f.rolling, i64::from(doc.rolling_start));
        d.add_f64(f.lat, doc.geo.map(|g| g.lat).unwrap_or(f64::NAN));
        d.add_f64(f.lng, doc.geo.map(|g| g.lng).unwrap_or(f64::NAN));
        d.add_i64(f.updated, doc.updated);
        d.add_i64(f.version, doc.version);
        d
    }

    fn analyze(&self, analyzer: &str, text: &str) -> Vec<String> {
        analyze(&self.index, analyzer, text)
    }

    /// The query's words as one query for `searcher`, with the stems to highlight. As Meilisearch's
    /// `last` matching strategy: a course need not match every word — words no course has are
    /// dropped, and a course must match the first remaining word that is not generic
    /// (`search-config/query.json`), so a generic word such as "Kurs", or a place a course is not
    /// offered in, never empties the result, and a query costs no more than that word; courses
    /// matching more of the words rank first — each matched word
    /// (or synonym phrase) adds [`WORD_TIER`] to the score, above any relevance score, so the tier is
    /// the first ranking rule whatever the sort (see [`sort_courses`]). Words past
    /// [`MAX_TIERED_WORDS`] only add relevance.
    fn text_query(&self, searcher: &Searcher, text: &str) -> Result<Option<TextQuery>, SearchError> {
        let words = self.vocabulary.words(&self.index, text);
        if words.is_empty() {
            return Ok(None);
        }
        let last = words.len() - 1;
        // Each word (or synonym phrase) as a query, and whether all its words are generic.
        let mut groups: Vec<(Box<dyn Query>, bool)> = Vec::new();
        let mut i = 0;
        while i < words.len() {
            let (len, alternatives) = self.vocabulary.synonyms_at(&words[i..]);
            let generic = words[i..i + len].iter().all(|w| self.vocabulary.generic(w));
            let original: Box<dyn Query> = if len == 1 {
                if groups.len() < MAX_TIERED_WORDS {
                    self.spelled_query(searcher, &words[i], i == last)?
                } else {
                    self.word_query(&words[i], i == last)
                }
            } else {
                let phrase = words[i..i + len].iter().enumerate();
                Box::new(BooleanQuery::new(
                    phrase.map(|(k, w)| (Occur::Must, self.word_query(w, i + k == last))).collect(),
                ))
            };
            let clause: Box<dyn Query> = if alternatives.is_empty() {
                original
            } else {
                let mut any = vec![(Occur::Should, original)];
                for phrase in alternatives {
                    let all = phrase.iter().map(|w| (Occur::Must, self.word_query(w, false))).collect();
                    any.push((Occur::Should, boosted(BooleanQuery::new(all), 0.8)));
                }
                Box::new(BooleanQuery::new(any))
            };
            groups.push((clause, generic));
            i += len;
        }
        let stems = words.into_iter().map(|w| w.stem).collect();
        if groups.len() == 1 {
            return Ok(groups.pop().map(|(query, _)| (query, stems)));
        }
        // Words no course has are dropped. The first of the others that is not generic is the one a
        // course must match (Meilisearch's `last` strategy keeps the first word too); when every
        // word is generic, the first that matches.
        let mut found: Vec<(Box<dyn Query>, bool)> = Vec::with_capacity(groups.len());
        for (group, generic) in groups {
            if searcher.search(&group, &Count).map_err(engine_error)? > 0 {
                found.push((group, generic));
            }
        }
        let Some(anchor) =
            found.iter().position(|(_, generic)| !generic).or((!found.is_empty()).then_some(0))
        else {
            // No word matches anything: a query that finds nothing.
            return Ok(Some((Box::new(BooleanQuery::new(Vec::new())), stems)));
        };
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::with_capacity(found.len() * 2 + 1);
        clauses.push((Occur::Must, found[anchor].0.box_clone()));
        for (n, (group, _)) in found.into_iter().enumerate() {
            if n < MAX_TIERED_WORDS {
                clauses.push((Occur::Should, Box::new(ConstScoreQuery::new(group.box_clone(), WORD_TIER))));
            }
            clauses.push((Occur::Should, group));
        }
        Ok(Some((Box::new(BooleanQuery::new(clauses)), stems)))
    }

    /// One query word as typed, or as its other spellings: umlauts written out ("Fuehrung" for
    /// "Führung") and a compound split into words the index holds ("Pflegekurs" → "Pflege" and
    /// "Kurs", "Schweisskurs" → "Schweiß…" and "Kurs", "Roboterprogrammierkurs" → "Roboter",
    /// "Programmier…" and "Kurs"), each part but the last also as the start of a compound; a generic
    /// part ("…kurs", "…schulung") need not match. The word as typed scores highest.
    fn spelled_query(
        &self,
        searcher: &Searcher,
        word: &Word,
        last: bool,
    ) -> Result<Box<dyn Query>, SearchError> {
        let mut any: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Should, self.word_query(word, last))];
        let plain = &word.plain;
        let transliterated = umlauts_written_out(plain);
        if transliterated != *plain {
            let variant = self.word(&transliterated);
            any.push((Occur::Should, Box::new(BoostQuery::new(self.word_query(&variant, true), 0.9))));
        }
        if let Some(parts) = self.compound_split(searcher, &transliterated, 3)? {
            let last_part = parts.len() - 1;
            let parts = parts.iter().enumerate().map(|(n, (part, generic))| {
                let occur = if *generic { Occur::Should } else { Occur::Must };
                (occur, self.word_query(part, n < last_part || last))
            });
            any.push((Occur::Should, boosted(BooleanQuery::new(parts.collect()), 0.7)));
        }
        if any.len() == 1 {
            return Ok(any.remove(0).1);
        }
        Ok(Box::new(BooleanQuery::new(any)))
    }

    /// `text` as a query word, folded and stemmed as the index's words are.
    fn word(&self, text: &str) -> Word {
        let plain = self.analyze(PLAIN, text).concat();
        let stem = self.analyze(STEMMED, text).concat();
        Word { plain, stem }
    }

    /// The split of a long query word into at most `max_parts` parts (at least four letters each; a
    /// linking "s" may sit between two) that occur in the index — the last part on its own or as a
    /// compound's last part, or a generic word ("…schulung"); the others as words or, before a
    /// generic last part, as the start of an indexed word — longest first parts first, each part
    /// with whether it is generic; `None` when no split does (or every part would be generic).
    fn compound_split(
        &self,
        searcher: &Searcher,
        plain: &str,
        max_parts: usize,
    ) -> Result<Option<Vec<(Word, bool)>>, SearchError> {
        const MIN_PART: usize = 4;
        let chars: Vec<char> = plain.chars().collect();
        if max_parts < 2 || chars.len() < 2 * MIN_PART || !chars.iter().all(|c| c.is_alphabetic()) {
            return Ok(None);
        }
        let f = &self.fields;
        // A word of the index; with `or_as_end`, also a compound's last part (indexed in `parts`).
        let known = |word: &Word, or_as_end: bool| -> Result<bool, SearchError> {
            for field in [f.title, f.skills_text, f.keywords, f.description] {
                if searcher.doc_freq(&Term::from_field_text(field, &word.stem)).map_err(engine_error)? > 0 {
                    return Ok(true);
                }
            }
            if or_as_end
                && searcher.doc_freq(&Term::from_field_text(f.parts, &word.plain)).map_err(engine_error)? > 0
            {
                return Ok(true);
            }
            Ok(false)
        };
        let starts_a_title_word = |word: &Word| -> Result<bool, SearchError> {
            let prefix =
                FuzzyTermQuery::new_prefix(Term::from_field_text(f.title_plain, &word.plain), 0, true);
            Ok(searcher.search(&prefix, &Count).map_err(engine_error)? > 0)
        };
        // First a last part that is a word of its own ("excel|schulung"), then one only indexed as a
        // compound's end ("excels|chulung" would match "Schulung").
        for as_word in [true, false] {
            for split in (MIN_PART..=chars.len() - MIN_PART).rev() {
                let head: String = chars[..split].iter().collect();
                let head_word = self.word(&head);
                let mut tails = vec![chars[split..].iter().collect::<String>()];
                if chars[split] == 's' && chars.len() - split > MIN_PART {
                    tails.push(chars[split + 1..].iter().collect());
                }
                for tail in tails {
                    let tail = self.word(&tail);
                    let generic = self.vocabulary.generic(&tail);
                    if !generic && !known(&tail, !as_word)? {
                        continue;
                    }
                    let head_parts = if known(&head_word, false)?
                        || (generic
                            && head.chars().count() >= 2 * MIN_PART
                            && starts_a_title_word(&head_word)?)
                    {
                        Some(vec![(head_word.clone(), false)])
                    } else if as_word {
                        // Splitting the first part again only before a last part that is a word:
                        // nearly every ending is some compound's end, and trying them all is
                        // quadratic in the word's length.
                        self.compound_split(searcher, &head, max_parts - 1)?
                    } else {
                        None
                    };
                    if let Some(mut parts) = head_parts {
                        parts.push((tail, generic));
                        if parts.iter().any(|(_, generic)| !generic) {
                            return Ok(Some(parts));
                        }
                    }
                }
            }
        }
        Ok(None)
    }

    /// One query word in any searchable field; `last` may be unfinished (search as you type).
    fn word_query(&self, word: &Word, last: bool) -> Box<dyn Query> {
        let f = &self.fields;
        let (plain, stem) = (&word.plain, &word.stem);
        let mut any: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let typos = self.vocabulary.typos.typos_for(stem.chars().count());
        // Typos are forgiven where people look for a course's subject; the long description is
        // matched exactly (its fuzzy expansion costs most and finds little more).
        for (field, boost, max_typos) in [
            (f.title, 6.0, 2),
            (f.skills_text, 5.0, 2),
            (f.keywords, 4.0, 1),
            (f.subtitle, 3.0, 1),
            (f.provider_name, 2.0, 0),
            (f.description, 1.0, 0),
        ] {
            let typos: u8 = typos.min(max_typos);
            let term = Term::from_field_text(field, stem);
            any.push((
                Occur::Should,
                boosted(TermQuery::new(term.clone(), IndexRecordOption::WithFreqs), boost),
            ));
            if typos > 0 {
                any.push((Occur::Should, boosted(expanded(term, typos, false), boost * 0.4)));
            }
        }
        any.push((
            Occur::Should,
            boosted(TermQuery::new(Term::from_field_text(f.city, plain), IndexRecordOption::Basic), 2.0),
        ));
        any.push((
            Occur::Should,
            boosted(
                TermQuery::new(Term::from_field_text(f.postal_code, plain), IndexRecordOption::Basic),
                2.0,
            ),
        ));
        if plain.chars().count() >= 4 {
            any.push((Occur::Should, boosted(expanded(Term::from_field_text(f.parts, plain), 0, true), 1.5)));
        }
        // The word as typed, with its typos: a stem can lose a suffix the typed word keeps
        // ("Hydraulik" is indexed as "hydraul", "Hydraulick" stems to itself).
        let plain_typos = self.vocabulary.typos.typos_for(plain.chars().count()).min(2);
        if plain_typos > 0 {
            let term = Term::from_field_text(f.title_plain, plain);
            any.push((Occur::Should, boosted(expanded(term, plain_typos, false), 6.0 * 0.4)));
        }
        if last && plain.chars().count() >= 2 {
            any.push((
                Occur::Should,
                boosted(expanded(Term::from_field_text(f.title_plain, plain), 0, true), 2.0),
            ));
        }
        Box::new(BooleanQuery::new(any))
    }

    fn filter_queries(&self, request: &SearchRequest) -> Vec<(Occur, Box<dyn Query>)> {
        let f = &self.fields;
        let filter = &request.filter;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut any_of = |field: Field, values: &[String]| {
            if !values.is_empty() {
                let terms = values.iter().map(|v| Term::from_field_text(field, v));
                clauses.push((Occur::Must, Box::new(TermSetQuery::new(terms))));
            }
        };
        any_of(f.skill_ids, &filter.skills);
        any_of(f.format, &filter.formats);
        any_of(f.schedule, &filter.schedules);
        any_of(f.funding, &filter.funding);
        any_of(f.bundesland, &filter.bundeslaender);
        any_of(f.languages, &filter.languages);
        if !filter.dqr_levels.is_empty() {
            let terms = filter.dqr_levels.iter().map(|l| Term::from_field_i64(f.dqr, *l));
            clauses.push((Occur::Must, Box::new(TermSetQuery::new(terms))));
        }
        if filter.start_from.is_some() || filter.start_to.is_some() {
            let lower = filter
                .start_from
                .map_or(Bound::Unbounded, |t| Bound::Included(Term::from_field_i64(f.start, t)));
            let upper = filter
                .start_to
                .map_or(Bound::Unbounded, |t| Bound::Included(Term::from_field_i64(f.start, t)));
            let dated: Box<dyn Query> = Box::new(RangeQuery::new(lower, upper));
            let rolling: Box<dyn Query> =
                Box::new(TermQuery::new(Term::from_field_i64(f.rolling, 1), IndexRecordOption::Basic));
            clauses.push((
                Occur::Must,
                Box::new(BooleanQuery::new(vec![(Occur::Should, dated), (Occur::Should, rolling)])),
            ));
        }
        if let Some(max) = filter.max_price {
            clauses.push((
                Occur::Must,
                Box::new(RangeQuery::new(
                    Bound::Unbounded,
                    Bound::Included(Term::from_field_i64(f.price, max)),
                )),
            ));
        }
        if filter.has_seats {
            clauses.push((
                Occur::Must,
                Box::new(RangeQuery::new(
                    Bound::Included(Term::from_field_i64(f.seats, 1)),
                    Bound::Unbounded,
                )),
            ));
        }
        if let Some(near) = filter.near {
            // A bounding box narrows the candidates; the exact radius is checked per document.
            let dlat = near.radius_km / 111.0;
            let dlng = near.radius_km / (111.0 * near.lat.to_radians().cos().abs().max(0.01));
            let range = |field: Field, center: f64, delta: f64| -> Box<dyn Query> {
                Box::new(RangeQuery::new(
                    Bound::Included(Term::from_field_f64(field, center - delta)),
                    Bound::Included(Term::from_field_f64(field, center + delta)),
                ))
            };
            clauses.push((Occur::Must, range(f.lat, near.lat, dlat)));
            clauses.push((Occur::Must, range(f.lng, near.lng, dlng)));
        }
        clauses
    }

    fn search_blocking(&self, request: &SearchRequest) -> Result<SearchResults, SearchError> {
        let started = Instant::now();
        let f = self.fields;
        let searcher = self.searcher();
        let text = self.text_query(&searcher, &request.query)?;
        let mut clauses = self.filter_queries(request);
        let stems = match text {
            Some((query, stems)) => {
                clauses.push((Occur::Must, query));
                stems
            }
            None => Vec::new(),
        };
        let query: Box<dyn Query> =
            if clauses.is_empty() { Box::new(AllQuery) } else { Box::new(BooleanQuery::new(clauses)) };
        // Scores matter when ranking by relevance, and for the words-matched tier of a query of
        // several words whatever the sort; otherwise they are not computed.
        let scoring = !stems.is_empty() && (request.sort == SearchSort::Relevance || stems.len() > 1);
        let collector = CourseCollector {
            near: request.filter.near,
            scoring,
            sort: request.sort,
            facets: !request.without_facets,
        };
        let fruits = searcher.search(&query, &collector).map_err(engine_error)?;
        let mut courses: FxHashMap<Uuid, CourseAgg> = FxHashMap::default();
        for (course, agg) in fruits.into_iter().flatten() {
            match courses.get_mut(&course) {
                Some(existing) => existing.merge(agg),
                None => {
                    courses.insert(course, agg);
                }
            }
        }
        let mut segments: Vec<Option<SegmentColumns>> = searcher
            .segment_readers()
            .iter()
            .map(|reader| SegmentColumns::new(reader).map(Some))
            .collect::<Result<_, _>>()?;

        let facets =
            if request.without_facets { Facets::default() } else { self.facets(&courses, &mut segments)? };
        let total_courses = courses.len();
        let mut ranked: Vec<(Uuid, CourseAgg)> = courses.into_iter().collect();
        // Only the courses up to the page's end are put in order.
        let wanted = request.offset.saturating_add(request.limit);
        if wanted < ranked.len() {
            ranked.select_nth_unstable_by(wanted, |(a_id, a), (b_id, b)| {
                compare_courses(a_id, a, b_id, b, request.sort)
            });
            ranked.truncate(wanted);
        }
        sort_courses(&mut ranked, request.sort);
        let page: Vec<(Uuid, CourseAgg)> =
            ranked.into_iter().skip(request.offset).take(request.limit).collect();

        let highlight = !stems.is_empty() && !request.without_highlights;
        let (title_snippets, description_snippets) = if highlight {
            let terms = |field: Field| -> BooleanQuery {
                BooleanQuery::new(
                    stems
                        .iter()
                        .map(|s| -> (Occur, Box<dyn Query>) {
                            (
                                Occur::Should,
                                Box::new(TermQuery::new(
                                    Term::from_field_text(field, s),
                                    IndexRecordOption::WithFreqsAndPositions,
                                )),
                            )
                        })
                        .collect(),
                )
            };
            let mut title =
                SnippetGenerator::create(&searcher, &terms(f.title), f.title).map_err(engine_error)?;
            title.set_max_num_chars(300);
            let description = SnippetGenerator::create(&searcher, &terms(f.description), f.description)
                .map_err(engine_error)?;
            (Some(title), Some(description))
        } else {
            (None, None)
        };
        let mut hits = Vec::with_capacity(page.len());
        for (course_uuid, agg) in page {
            let mut offering_ids = Vec::new();
            for address in &agg.docs {
                if let Some(columns) = segments[address.segment_ord as usize].as_ref() {
                    let id = read_uuid(&columns.offering_hi, &columns.offering_lo, address.doc_id);
                    if id != 0 {
                        offering_ids.push(Uuid::from_u128(id));
                    }
                }
            }
            let (mut title_highlight, mut description_snippet) = (None, None);
            if let (Some(title), Some(description)) = (&title_snippets, &description_snippets) {
                let doc: TantivyDocument = searcher.doc(agg.first).map_err(engine_error)?;
                title_highlight = Some(emphasised(title.snippet_from_doc(&doc)));
                let snippet = description.snippet_from_doc(&doc);
                description_snippet = (!snippet.fragment().is_empty()).then(|| emphasised(snippet));
            }
            hits.push(CourseHit {
                course_id: course_uuid,
                offering_ids,
                distance_km: agg.distance.map(|d| (d * 10.0).round() / 10.0),
                title_highlight,
                description_snippet,
            });
        }
        Ok(SearchResults {
            total_courses,
            hits,
            facets,
            processing_time_ms: started.elapsed().as_millis() as u64,
        })
    }

    /// Facet counts per value, in matching courses. Course-level values are read from one document
    /// of each course and counted by term ordinal per segment; each ordinal is decoded once. The
    /// Bundesland may differ per offering and was gathered per document.
    fn facets(
        &self,
        courses: &FxHashMap<Uuid, CourseAgg>,
        segments: &mut [Option<SegmentColumns>],
    ) -> Result<Facets, SearchError> {
        const FIELDS: usize = 5;
        // [segment][field] → ordinal → courses
        let mut by_ord: Vec<[HashMap<u64, usize>; FIELDS]> =
            (0..segments.len()).map(|_| Default::default()).collect();
        let mut dqr: HashMap<String, usize> = HashMap::new();
        let mut bundeslaender: HashMap<String, usize> = HashMap::new();
        for agg in courses.values() {
            let segment = agg.first.segment_ord as usize;
            let Some(columns) = segments[segment].as_ref() else { continue };
            let doc = agg.first.doc_id;
            for (i, column) in columns.facet_columns().into_iter().enumerate() {
                if let Some(column) = column {
                    for ord in column.term_ords(doc) {
                        *by_ord[segment][i].entry(ord).or_default() += 1;
                    }
                }
            }
            if let Some(level) = columns.dqr.first(doc).filter(|l| *l > 0) {
                *dqr.entry(level.to_string()).or_default() += 1;
            }
            for b in &agg.bundeslaender {
                *bundeslaender.entry(b.clone()).or_default() += 1;
            }
        }
        let mut named: [HashMap<String, usize>; FIELDS] = Default::default();
        let mut text = String::new();
        for (segment, fields) in by_ord.into_iter().enumerate() {
            let Some(columns) = segments[segment].as_ref() else { continue };
            let facet_columns = columns.facet_columns();
            for (i, counts) in fields.into_iter().enumerate() {
                let Some(column) = facet_columns[i] else { continue };
                for (ord, count) in counts {
                    text.clear();
                    if column.ord_to_str(ord, &mut text).map_err(engine_error)? {
                        *named[i].entry(text.clone()).or_default() += count;
                    }
                }
            }
        }
        let [skills, formats, schedules, funding, languages] = named;
        Ok(Facets {
            skills: top_facets(skills, 50),
            dqr_levels: top_facets(dqr, 8),
            formats: top_facets(formats, 10),
            schedules: top_facets(schedules, 10),
            funding: top_facets(funding, 10),
            bundeslaender: top_facets(bundeslaender, 16),
            languages: top_facets(languages, 20),
        })
    }

    fn suggest_blocking(&self, prefix: &str, limit: usize) -> Result<Vec<Suggestion>, SearchError> {
        let f = self.fields;
        let words = self.analyze(PLAIN, prefix);
        let Some((last, rest)) = words.split_last() else {
            return Ok(Vec::new());
        };
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = rest
            .iter()
            .map(|w| -> (Occur, Box<dyn Query>) {
                (
                    Occur::Must,
                    Box::new(TermQuery::new(
                        Term::from_field_text(f.title_plain, w),
                        IndexRecordOption::Basic,
                    )),
                )
            })
            .collect();
        clauses.push((
            Occur::Must,
            Box::new(FuzzyTermQuery::new_prefix(Term::from_field_text(f.title_plain, last), 0, true)),
        ));
        let searcher = self.searcher();
        let top = searcher
            .search(&BooleanQuery::new(clauses), &TopDocs::with_limit(limit * 20))
            .map_err(engine_error)?;
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for (_, address) in top {
            let doc: TantivyDocument = searcher.doc(address).map_err(engine_error)?;
            let course = doc.get_first(f.course_id).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
            let title = doc.get_first(f.title).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
            if let Ok(course_id) = Uuid::parse_str(&course)
                && seen.insert(title.clone())
            {
                out.push(Suggestion { course_id, title });
            }
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    fn apply_blocking(&self, changes: &[CourseDocuments], position: Option<i64>) -> Result<(), SearchError> {
        let mut open = self.open.lock().map_err(engine_error)?;
        for change in changes {
            open.writer
                .delete_term(Term::from_field_text(self.fields.course_id, &change.course_id.to_string()));
            for doc in &change.documents {
                open.writer.add_document(self.to_document(doc)).map_err(engine_error)?;
            }
        }
        open.commit_at(position)?;
        open.reader.reload().map_err(engine_error)?;
        Ok(())
    }

    fn position_blocking(&self) -> Result<Option<i64>, SearchError> {
        Ok(self.open.lock().map_err(engine_error)?.position)
    }

    fn rebuild_blocking(
        &self,
        documents: &[OfferingDocument],
        position: Option<i64>,
    ) -> Result<(), SearchError> {
        let mut open = self.open.lock().map_err(engine_error)?;
        // No background merges while rebuilding: one could take segments away from the merge into
        // one segment below (seen with ~190 000 documents).
        open.writer.set_merge_policy(Box::new(NoMergePolicy));
        let mut rebuild = || -> Result<(), SearchError> {
            open.writer.delete_all_documents().map_err(engine_error)?;
            for doc in documents {
                open.writer.add_document(self.to_document(doc)).map_err(engine_error)?;
            }
            open.commit_at(position)?;
            // A rebuilt index is merged into one segment: queries then walk one set of postings.
            let segments = open.index.searchable_segment_ids().map_err(engine_error)?;
            if segments.len() > 1 {
                open.writer.merge(&segments).wait().map_err(engine_error)?;
            }
            open.reader.reload().map_err(engine_error)
        };
        let result = rebuild();
        open.writer.set_merge_policy(Box::new(LogMergePolicy::default()));
        result
    }

    fn document_versions_blocking(&self) -> Result<Vec<DocumentVersion>, SearchError> {
        let searcher = self.searcher();
        let mut out = Vec::new();
        let mut text = String::new();
        for reader in searcher.segment_readers() {
            let ff = reader.fast_fields();
            let Some(ids) = ff.str("id").map_err(engine_error)? else { continue };
            let course_hi = ff.u64("courseHi").map_err(engine_error)?;
            let course_lo = ff.u64("courseLo").map_err(engine_error)?;
            let version = ff.i64("version").map_err(engine_error)?;
            let alive = reader.alive_bitset();
            for doc in 0..reader.max_doc() {
                if alive.is_some_and(|bits| !bits.is_alive(doc)) {
                    continue;
                }
                let course = read_uuid(&course_hi, &course_lo, doc);
                for id in columns_strs(&ids, doc, &mut text)? {
                    out.push(DocumentVersion {
                        id,
                        course_id: Uuid::from_u128(course),
                        version: version.first(doc).unwrap_or(0),
                    });
                }
            }
        }
        Ok(out)
    }
}

/// A uuid as the two numbers of its `…Hi` and `…Lo` columns; none (or no uuid) as 0 and 0.
fn add_uuid(d: &mut TantivyDocument, (hi, lo): (Field, Field), id: Option<&str>) {
    let id = id.and_then(|id| Uuid::parse_str(id).ok()).map_or(0, |u| u.as_u128());
    d.add_u64(hi, (id >> 64) as u64);
    d.add_u64(lo, id as u64);
}

/// The uuid, as a number, that a document's `…Hi` and `…Lo` columns hold (0 for none).
fn read_uuid(hi: &tantivy::columnar::Column<u64>, lo: &tantivy::columnar::Column<u64>, doc: u32) -> u128 {
    (u128::from(hi.first(doc).unwrap_or(0)) << 64) | u128::from(lo.first(doc).unwrap_or(0))
}

/// A folded word with umlauts written out read as umlauts, folded ("fuehrung" → "fuhrung", as the
/// analyzer folds "Führung").
fn umlauts_written_out(plain: &str) -> String {
    plain.replace("ae", "a").replace("oe", "o").replace("ue", "u")
}

/// Documents with a term within `typos` of `term` (or starting with it, with `prefix`), worked out
/// once per search however often the query word is used in it (see [`ExpandOnce`]).
fn expanded(term: Term, typos: u8, prefix: bool) -> ExpandOnce {
    let fuzzy = if prefix { FuzzyTermQuery::new_prefix } else { FuzzyTermQuery::new };
    ExpandOnce::new(fuzzy(term, typos, true))
}

fn boosted(query: impl Query + 'static, boost: f32) -> Box<dyn Query> {
    Box::new(BoostQuery::new(Box::new(query), boost))
}

fn emphasised(mut snippet: tantivy::snippet::Snippet) -> String {
    snippet.set_snippet_prefix_postfix("<em>", "</em>");
    snippet.to_html()
}

struct CourseAgg {
    first: DocAddress,
    docs: Vec<DocAddress>,
    score: f32,
    start: i64,
    price_min: i64,
    updated: i64,
    distance: Option<f64>,
    bundeslaender: HashSet<String>,
}

impl CourseAgg {
    fn new(first: DocAddress) -> Self {
        Self {
            first,
            docs: Vec::new(),
            score: f32::MIN,
            start: i64::MAX,
            price_min: i64::MAX,
            updated: 0,
            distance: None,
            bundeslaender: HashSet::new(),
        }
    }
}

impl CourseAgg {
    fn merge(&mut self, other: CourseAgg) {
        self.docs.extend(other.docs);
        self.score = self.score.max(other.score);
        self.start = self.start.min(other.start);
        self.price_min = self.price_min.min(other.price_min);
        self.updated = self.updated.max(other.updated);
        self.distance = match (self.distance, other.distance) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.bundeslaender.extend(other.bundeslaender);
    }
}

/// Aggregates matching documents per course while the query runs, reading fast fields in place:
/// no list of all matches is built, and each course id is decoded once per segment.
struct CourseCollector {
    near: Option<super::query::Near>,
    scoring: bool,
    /// Only the fast fields the sort needs are read per document.
    sort: SearchSort,
    /// Whether each course's Bundesländer are gathered (for the facet counts only).
    facets: bool,
}

struct SegmentCourseCollector {
    segment_ord: u32,
    sort: SearchSort,
    facets: bool,
    near: Option<super::query::Near>,
    columns: SegmentColumns,
    /// Per course; a fast hash (the keys are the index's own ids, not attacker-chosen strings).
    by_course: FxHashMap<u128, (CourseAgg, Vec<u64>)>,
}

impl tantivy::collector::Collector for CourseCollector {
    type Fruit = Vec<Vec<(Uuid, CourseAgg)>>;
    type Child = SegmentCourseCollector;

    fn for_segment(
        &self,
        segment_ord: tantivy::SegmentOrdinal,
        reader: &tantivy::SegmentReader,
    ) -> tantivy::Result<Self::Child> {
        let columns =
            SegmentColumns::new(reader).map_err(|e| tantivy::TantivyError::InternalError(e.to_string()))?;
        Ok(SegmentCourseCollector {
            segment_ord,
            sort: self.sort,
            facets: self.facets,
            near: self.near,
            columns,
            by_course: FxHashMap::default(),
        })
    }

    fn requires_scoring(&self) -> bool {
        self.scoring
    }

    fn merge_fruits(&self, fruits: Vec<Vec<(Uuid, CourseAgg)>>) -> tantivy::Result<Self::Fruit> {
        Ok(fruits)
    }
}

impl tantivy::collector::SegmentCollector for SegmentCourseCollector {
    type Fruit = Vec<(Uuid, CourseAgg)>;

    fn collect(&mut self, doc: tantivy::DocId, score: tantivy::Score) {
        let c = &self.columns;
        let distance = match self.near {
            Some(near) => {
                let lat = c.lat.first(doc).unwrap_or(f64::NAN);
                let lng = c.lng.first(doc).unwrap_or(f64::NAN);
                if lat.is_nan() {
                    return;
                }
                let km = haversine_km(near.lat, near.lng, lat, lng);
                if km > near.radius_km {
                    return;
                }
                Some(km)
            }
            None => None,
        };
        let key = read_uuid(&c.course_hi, &c.course_lo, doc);
        let address = DocAddress::new(self.segment_ord, doc);
        let (agg, bundesland_ords) =
            self.by_course.entry(key).or_insert_with(|| (CourseAgg::new(address), Vec::new()));
        agg.docs.push(address);
        agg.score = agg.score.max(score);
        match self.sort {
            SearchSort::StartDate => agg.start = agg.start.min(c.start.first(doc).unwrap_or(i64::MAX)),
            SearchSort::PriceAsc | SearchSort::PriceDesc => {
                agg.price_min = agg.price_min.min(c.price.first(doc).unwrap_or(i64::MAX));
            }
            SearchSort::Updated => agg.updated = agg.updated.max(c.updated.first(doc).unwrap_or(0)),
            SearchSort::Relevance | SearchSort::Distance => {}
        }
        if let Some(km) = distance {
            agg.distance = Some(agg.distance.map_or(km, |d: f64| d.min(km)));
        }
        if let Some(column) = c.bundesland.as_ref().filter(|_| self.facets) {
            for b in column.term_ords(doc) {
                if !bundesland_ords.contains(&b) {
                    bundesland_ords.push(b);
                }
            }
        }
    }

    fn harvest(self) -> Self::Fruit {
        let mut names: HashMap<u64, String> = HashMap::new();
        let mut out = Vec::with_capacity(self.by_course.len());
        for (key, (mut agg, bundesland_ords)) in self.by_course {
            if let Some(column) = &self.columns.bundesland {
                for ord in bundesland_ords {
                    let name = names.entry(ord).or_insert_with(|| {
                        let mut text = String::new();
                        let _ = column.ord_to_str(ord, &mut text);
                        text
                    });
                    agg.bundeslaender.insert(name.clone());
                }
            }
            out.push((Uuid::from_u128(key), agg));
        }
        out
    }
}

/// Courses matching more query words first (the score's [`WORD_TIER`]s; all equal without a
/// query of several words), then by `sort`, then by relevance.
fn sort_courses(courses: &mut [(Uuid, CourseAgg)], sort: SearchSort) {
    courses.sort_by(|(a_id, a), (b_id, b)| compare_courses(a_id, a, b_id, b, sort));
}

fn compare_courses(
    a_id: &Uuid,
    a: &CourseAgg,
    b_id: &Uuid,
    b: &CourseAgg,
    sort: SearchSort,
) -> std::cmp::Ordering {
    let tier = |agg: &CourseAgg| (agg.score / WORD_TIER).floor();
    let words = tier(b).total_cmp(&tier(a));
    let primary = match sort {
        SearchSort::Relevance => b.score.total_cmp(&a.score),
        SearchSort::StartDate => a.start.cmp(&b.start),
        SearchSort::PriceAsc => a.price_min.cmp(&b.price_min),
        SearchSort::PriceDesc => {
            let key = |p: i64| if p == i64::MAX { i64::MIN } else { p };
            key(b.price_min).cmp(&key(a.price_min))
        }
        SearchSort::Distance => {
            a.distance.unwrap_or(f64::INFINITY).total_cmp(&b.distance.unwrap_or(f64::INFINITY))
        }
        SearchSort::Updated => b.updated.cmp(&a.updated),
    };
    words.then(primary).then_with(|| b.score.total_cmp(&a.score)).then_with(|| a_id.cmp(b_id))
}

struct SegmentColumns {
    course_hi: tantivy::columnar::Column<u64>,
    course_lo: tantivy::columnar::Column<u64>,
    offering_hi: tantivy::columnar::Column<u64>,
    offering_lo: tantivy::columnar::Column<u64>,
    skill_ids: Option<tantivy::columnar::StrColumn>,
    format: Option<tantivy::columnar::StrColumn>,
    schedule: Option<tantivy::columnar::StrColumn>,
    funding: Option<tantivy::columnar::StrColumn>,
    languages: Option<tantivy::columnar::StrColumn>,
    bundesland: Option<tantivy::columnar::StrColumn>,
    dqr: tantivy::columnar::Column<i64>,
    start: tantivy::columnar::Column<i64>,
    price: tantivy::columnar::Column<i64>,
    updated: tantivy::columnar::Column<i64>,
    lat: tantivy::columnar::Column<f64>,
    lng: tantivy::columnar::Column<f64>,
}

impl SegmentColumns {
    /// The course-level string facets, in the order `facets` counts them.
    fn facet_columns(&self) -> [Option<&tantivy::columnar::StrColumn>; 5] {
        [
            self.skill_ids.as_ref(),
            self.format.as_ref(),
            self.schedule.as_ref(),
            self.funding.as_ref(),
            self.languages.as_ref(),
        ]
    }

    fn new(reader: &tantivy::SegmentReader) -> Result<Self, SearchError> {
        let ff = reader.fast_fields();
        Ok(Self {
            course_hi: ff.u64("courseHi").map_err(engine_error)?,
            course_lo: ff.u64("courseLo").map_err(engine_error)?,
            offering_hi: ff.u64("offeringHi").map_err(engine_error)?,
            offering_lo: ff.u64("offeringLo").map_err(engine_error)?,
            skill_ids: ff.str("skillIds").map_err(engine_error)?,
            format: ff.str("format").map_err(engine_error)?,
            schedule: ff.str("schedule").map_err(engine_error)?,
            funding: ff.str("funding").map_err(engine_error)?,
            languages: ff.str("languages").map_err(engine_error)?,
            bundesland: ff.str("bundesland").map_err(engine_error)?,
            dqr: ff.i64("dqrLevel").map_err(engine_error)?,
            start: ff.i64("start").map_err(engine_error)?,
            price: ff.i64("price").map_err(engine_error)?,
            updated: ff.i64("updated").map_err(engine_error)?,
            lat: ff.f64("lat").map_err(engine_error)?,
            lng: ff.f64("lng").map_err(engine_error)?,
        })
    }
}

/// A string column that may be absent in a segment (no document had a value).
trait StrColumnRef {
    fn column(&self) -> Option<&tantivy::columnar::StrColumn>;
}

impl StrColumnRef for tantivy::columnar::StrColumn {
    fn column(&self) -> Option<&tantivy::columnar::StrColumn> {
        Some(self)
    }
}

impl StrColumnRef for Option<tantivy::columnar::StrColumn> {
    fn column(&self) -> Option<&tantivy::columnar::StrColumn> {
        self.as_ref()
    }
}

fn columns_strs(column: &impl StrColumnRef, doc: u32, text: &mut String) -> Result<Vec<String>, SearchError> {
    let Some(column) = column.column() else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for ord in column.term_ords(doc) {
        text.clear();
        column.ord_to_str(ord, text).map_err(engine_error)?;
        out.push(text.clone());
    }
    Ok(out)
}

#[async_trait::async_trait]
impl SearchBackend for EmbeddedIndex {
    fn name(&self) -> &'static str {
        "embedded"
    }

    fn position_store(&self) -> PositionStore {
        PositionStore::Index
    }

    async fn position(&self) -> Result<Option<i64>, SearchError> {
        self.blocking(|inner| inner.position_blocking()).await
    }

    /// The documents and the position commit together: a crash loses both or neither.
    async fn apply(&self, changes: &[CourseDocuments], position: Option<i64>) -> Result<(), SearchError> {
        let changes = changes.to_vec();
        self.blocking(move |inner| inner.apply_blocking(&changes, position)).await
    }

    async fn search(&self, request: &SearchRequest) -> Result<SearchResults, SearchError> {
        let request = request.clone();
        self.blocking(move |inner| inner.search_blocking(&request)).await
    }

    async fn suggest(&self, prefix: &str, limit: usize) -> Result<Vec<Suggestion>, SearchError> {
        let prefix = prefix.to_owned();
        self.blocking(move |inner| inner.suggest_blocking(&prefix, limit)).await
    }

    async fn document_versions(&self) -> Result<Vec<DocumentVersion>, SearchError> {
        self.blocking(|inner| inner.document_versions_blocking()).await
    }

    /// Replaces every document in one commit: searches see the old index until the new one is
    /// complete, so there is no downtime.
    async fn rebuild(
        &self,
        documents: Vec<OfferingDocument>,
        position: Option<i64>,
    ) -> Result<(), SearchError> {
        self.blocking(move |inner| inner.rebuild_blocking(&documents, position)).await
    }
}
