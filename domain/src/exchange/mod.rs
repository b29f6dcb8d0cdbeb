//! Catalogue exchange: a provider's catalogue file in (OpenQCAT 1.1 as delivered to KURSNET, or the
//! CSV template), as courses and offerings.
//!
//! A reader ([`openqcat`], [`csv`]) turns a file into [`Item`]s, one per record: an offer (our course)
//! or a dated run (our offering), each with its key from the provider's catalogue, or the problems
//! that keep it out. [`run::execute`] reads the file three times, each as a stream, so memory stays
//! bounded by the largest record and the set of keys:
//!
//! 1. **check**: the whole file is read; a file that is not well-formed, not in its declared
//!    encoding, or mixes a full catalogue with a delta is rejected before anything is written;
//!    duplicate keys are found here.
//! 2. **offers**, then 3. **runs**: each record is applied on its own (a savepoint) — a record that
//!    fails leaves nothing of itself behind and never stops the others — in transactions of up to
//!    [`run::CHUNK`] records, after each of which the run's progress is stored.
//!
//! A full catalogue then retires the provider's imported courses and runs it no longer lists; with
//! `publish`, the drafts it touched that pass the publish rules are published. A dry run does all of
//! it and rolls every transaction back. An import never touches another provider's courses, nor a
//! course the provider entered on the platform without a catalogue key.

pub mod apply;
pub mod csv;
pub mod elm;
pub mod esco;
pub mod moochub;
pub mod openqcat;
pub mod openqcat_export;
pub mod plz;
pub mod run;
pub mod schema_org;
pub mod suggest;
mod transcode;
pub mod values;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::service::courses::{CourseFields, OfferingFields};

/// What a record asks for. A full catalogue's records are all `New`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    New,
    Update,
    Delete,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Severity {
    /// The record was not applied.
    Error,
    /// The record was applied; something in it was left out or changed, or a course was not published.
    Warning,
}

/// One finding of an import, named by the record's key and its place in the file, in German.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    pub product_id: Option<String>,
    /// An XPath-like path (`/OPENQCAT/NEW_CATALOG/SERVICE[3]/SERVICE_DETAILS/TITLE`) or a CSV
    /// place (`Zeile 4, Spalte preis`).
    pub path: String,
    pub message: String,
    pub severity: Severity,
}

impl Problem {
    pub fn error(product_id: Option<&str>, path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            product_id: product_id.map(str::to_owned),
            path: path.into(),
            message: message.into(),
            severity: Severity::Error,
        }
    }

    pub fn warning(product_id: Option<&str>, path: impl Into<String>, message: impl Into<String>) -> Self {
        Self { severity: Severity::Warning, ..Self::error(product_id, path, message) }
    }
}

/// An offer: one course of the provider.
#[derive(Debug, Clone)]
pub struct OfferRecord {
    pub key: String,
    pub mode: Mode,
    /// The course's fields the format carries; `None` leaves a field as the platform has it.
    pub fields: CourseFields,
    pub classification: Option<String>,
    /// The text skills are suggested from (title, keywords, classification).
    pub skill_text: String,
}

/// A dated run of an offer.
#[derive(Debug, Clone)]
pub struct RunRecord {
    pub key: String,
    /// The key of the offer it belongs to.
    pub offer_key: String,
    pub mode: Mode,
    pub start: Option<NaiveDate>,
    pub end: Option<NaiveDate>,
    pub fields: OfferingFields,
    /// Funding the run names (OpenQCAT keeps federal funding types on runs): added to its course's.
    pub funding: Vec<entity::course::FundingOption>,
}

#[derive(Debug, Clone)]
pub enum Record {
    Offer(OfferRecord),
    Run(RunRecord),
}

impl Record {
    pub fn key(&self) -> &str {
        match self {
            Self::Offer(o) => &o.key,
            Self::Run(r) => &r.key,
        }
    }

    pub fn is_offer(&self) -> bool {
        matches!(self, Self::Offer(_))
    }
}

/// One record of a file as a reader gives it.
#[derive(Debug, Clone)]
pub struct Item {
    /// The record's key, when the file gives one.
    pub key: Option<String>,
    /// Whether the file says it is an offer (for a record that failed: as far as it could tell).
    pub is_offer: bool,
    /// A run read from an offer's own dates: used only when the file has no run of that offer.
    pub implicit: bool,
    pub path: String,
    /// The record, or the errors that keep it out.
    pub record: Result<Record, Vec<Problem>>,
    /// Findings that did not keep the record out.
    pub warnings: Vec<Problem>,
}

/// A fault that makes the whole file unreadable: nothing of it is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fatal {
    pub path: String,
    pub message: String,
}

/// What kind of delivery a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatalogueKind {
    /// OpenQCAT `NEW_CATALOG`: the provider's whole catalogue; imported courses it does not list
    /// are retired.
    Full,
    /// OpenQCAT `UPDATE_CATALOG`: changes only.
    Delta,
    /// The CSV template: creates and updates what it lists; rows ask for deletion explicitly.
    Rows,
}

impl CatalogueKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Full => "FULL",
            Self::Delta => "DELTA",
            Self::Rows => "ROWS",
        }
    }
}

/// The file's head, once read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub kind: CatalogueKind,
    /// A delta's sequence number.
    pub sequence: Option<i64>,
    /// The supplier as the file names it.
    pub supplier: Option<String>,
}

/// A catalogue file read as a stream of records.
pub trait CatalogueReader: Iterator<Item = Result<Item, Fatal>> + Send {
    /// Known once the first record (or the end) has been read.
    fn head(&self) -> Option<Head>;
}

/// Opens a reader of `format` over `file` from its start.
pub fn open(
    format: entity::import_run::ImportFormat,
    file: &std::fs::File,
) -> std::io::Result<Box<dyn CatalogueReader>> {
    use std::io::{Seek, SeekFrom};
    let mut file = file.try_clone()?;
    file.seek(SeekFrom::Start(0))?;
    Ok(match format {
        entity::import_run::ImportFormat::Openqcat => Box::new(openqcat::Reader::new(file)?),
        entity::import_run::ImportFormat::Csv => Box::new(csv::Reader::new(file)?),
    })
}
