//! A typo-tolerant or prefix term query whose expansion is worked out once per segment and shared
//! by every copy of it in one search.
//!
//! A [`FuzzyTermQuery`] walks the segment's term dictionary with its automaton each time a scorer
//! is made, and the embedded backend's query uses each query word two or three times (the word
//! that must match, its rank tier, its score): most of a search's time went to walking the same
//! dictionaries again. Such a query scores every matching document alike (its boost), so the
//! documents it matched are all a copy needs.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use tantivy::index::SegmentId;
use tantivy::query::{EnableScoring, Explanation, FuzzyTermQuery, Query, Scorer, Weight};
use tantivy::{DocId, DocSet, Score, SegmentReader, TERMINATED, Term};

/// A [`FuzzyTermQuery`] whose clones share what it matched.
#[derive(Clone)]
pub struct ExpandOnce {
    query: Arc<FuzzyTermQuery>,
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    /// The query's weight: its automaton, built once.
    weight: Mutex<Option<Arc<dyn Weight>>>,
    /// The documents matched in each segment, in order.
    matched: Mutex<HashMap<SegmentId, Arc<[DocId]>>>,
}

impl ExpandOnce {
    pub fn new(query: FuzzyTermQuery) -> Self {
        Self { query: Arc::new(query), shared: Arc::default() }
    }
}

impl fmt::Debug for ExpandOnce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ExpandOnce").field(&self.query).finish()
    }
}

impl Query for ExpandOnce {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let mut slot = self.shared.weight.lock().unwrap_or_else(PoisonError::into_inner);
        let inner = match &*slot {
            Some(weight) => Arc::clone(weight),
            None => Arc::clone(slot.insert(Arc::from(self.query.weight(enable_scoring)?))),
        };
        Ok(Box::new(ExpandOnceWeight { inner, shared: Arc::clone(&self.shared) }))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        self.query.query_terms(visitor);
    }
}

struct ExpandOnceWeight {
    inner: Arc<dyn Weight>,
    shared: Arc<Shared>,
}

impl ExpandOnceWeight {
    fn matched(&self, reader: &SegmentReader) -> tantivy::Result<Arc<[DocId]>> {
        let segment = reader.segment_id();
        let known = self.shared.matched.lock().unwrap_or_else(PoisonError::into_inner).get(&segment).cloned();
        if let Some(docs) = known {
            return Ok(docs);
        }
        // Walked without the lock: segments may be searched side by side.
        let mut scorer = self.inner.scorer(reader, 1.0)?;
        let mut docs = Vec::with_capacity(scorer.size_hint() as usize);
        let mut doc = scorer.doc();
        while doc != TERMINATED {
            docs.push(doc);
            doc = scorer.advance();
        }
        let docs: Arc<[DocId]> = docs.into();
        self.shared.matched.lock().unwrap_or_else(PoisonError::into_inner).insert(segment, Arc::clone(&docs));
        Ok(docs)
    }
}

impl Weight for ExpandOnceWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        Ok(Box::new(Matched { docs: self.matched(reader)?, at: 0, score: boost }))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        self.inner.explain(reader, doc)
    }
}

/// The documents a query matched in one segment, each scored `score` (as the query's own scorer
/// does).
struct Matched {
    docs: Arc<[DocId]>,
    at: usize,
    score: Score,
}

impl DocSet for Matched {
    fn advance(&mut self) -> DocId {
        self.at = (self.at + 1).min(self.docs.len());
        self.doc()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if self.doc() < target {
            self.at += self.docs[self.at..].partition_point(|doc| *doc < target);
        }
        self.doc()
    }

    fn doc(&self) -> DocId {
        self.docs.get(self.at).copied().unwrap_or(TERMINATED)
    }

    fn size_hint(&self) -> u32 {
        (self.docs.len() - self.at) as u32
    }
}

impl Scorer for Matched {
    fn score(&mut self) -> Score {
        self.score
    }
}

#[cfg(test)]
mod tests {
    use tantivy::collector::{Count, TopDocs};
    use tantivy::query::{BooleanQuery, Occur};
    use tantivy::schema::{Schema, TEXT};
    use tantivy::{Index, IndexWriter, TantivyDocument};

    use super::*;

    /// Two segments of words; the shared query matches what the plain one does, with the same
    /// scores, however often it is used in one query.
    #[test]
    fn matches_and_scores_as_the_fuzzy_query() -> tantivy::Result<()> {
        let mut schema = Schema::builder();
        let title = schema.add_text_field("title", TEXT);
        let index = Index::create_in_ram(schema.build());
        let mut writer: IndexWriter = index.writer_with_num_threads(1, 15_000_000)?;
        for batch in [["schweissen", "schweisser", "loeten"], ["schweisen", "pflege", "schweissen kurs"]] {
            for text in batch {
                let mut doc = TantivyDocument::default();
                doc.add_text(title, text);
                writer.add_document(doc)?;
            }
            writer.commit()?;
        }
        let searcher = index.reader()?.searcher();
        assert_eq!(searcher.segment_readers().len(), 2);
        let fuzzy = || FuzzyTermQuery::new(Term::from_field_text(title, "schweissen"), 1, true);
        let shared = ExpandOnce::new(fuzzy());
        let twice = |query: Box<dyn Query>| {
            BooleanQuery::new(vec![(Occur::Must, query.box_clone()), (Occur::Should, query)])
        };
        let top = || (TopDocs::with_limit(10), Count);
        let plain = searcher.search(&twice(Box::new(fuzzy())), &top())?;
        let once = searcher.search(&twice(Box::new(shared.clone())), &top())?;
        assert_eq!(plain.1, 4, "schweissen, schweisser, schweisen, schweissen kurs");
        assert_eq!(once.1, plain.1);
        assert_eq!(once.0, plain.0);
        // Both copies were served from one walk per segment.
        assert_eq!(shared.shared.matched.lock().unwrap_or_else(PoisonError::into_inner).len(), 2);
        Ok(())
    }

    #[test]
    fn seeks_within_the_matched_documents() {
        let mut matched = Matched { docs: vec![2, 5, 9].into(), at: 0, score: 1.0 };
        assert_eq!(matched.doc(), 2);
        assert_eq!(matched.seek(2), 2);
        assert_eq!(matched.seek(6), 9);
        assert_eq!(matched.size_hint(), 1);
        assert_eq!(matched.advance(), TERMINATED);
        assert_eq!(matched.seek(3), TERMINATED);
    }
}
