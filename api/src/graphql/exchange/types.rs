use async_graphql::{ComplexObject, Enum, ID, InputObject, SimpleObject, Upload};
use chrono::{DateTime, Utc};
use entity::import_run;

use crate::exchange;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entity::import_run::ImportFormat")]
pub enum CatalogueFormat {
    /// OpenQCAT 1.1 XML, as delivered to the Federal Employment Agency's KURSNET (full catalogue or
    /// delta), in the encoding its declaration names (usually ISO-8859-15).
    Openqcat,
    /// The CSV template: one row per offering, `;`-separated, as Excel saves it.
    Csv,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entity::import_run::ImportStatus")]
pub enum ImportRunStatus {
    Running,
    /// Every record went through; `failed` counts those that were refused.
    Finished,
    /// The file as a whole could not be read (not well-formed, not in its declared encoding, a
    /// delta out of sequence): nothing was written.
    Rejected,
    /// The run stopped (its server stopped, or the database became unreachable): what it had
    /// committed stays; importing the file again skips what is unchanged.
    Interrupted,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::exchange::Severity")]
pub enum ImportProblemSeverity {
    /// The record was not imported.
    Error,
    /// The record was imported; something was left out, or the course was not published.
    Warning,
}

/// A finding of an import, in German, with the record's key and its place in the file.
#[derive(SimpleObject, Clone)]
pub struct ImportProblem {
    /// The record's `PRODUCT_ID` (OpenQCAT) or `angebot_id`/`termin_id` (CSV).
    pub product_id: Option<String>,
    /// Where in the file: an XML path such as `/OPENQCAT/NEW_CATALOG/SERVICE[3]/SERVICE_DETAILS/TITLE`,
    /// or `Zeile 4, Spalte preis`.
    pub path: String,
    pub message: String,
    pub severity: ImportProblemSeverity,
}

impl From<exchange::Problem> for ImportProblem {
    fn from(p: exchange::Problem) -> Self {
        Self { product_id: p.product_id, path: p.path, message: p.message, severity: p.severity.into() }
    }
}

/// One import of a provider's catalogue file and its report. Records are OpenQCAT `SERVICE`s (an
/// offer or a dated run) or CSV rows' courses and runs; every record counts once.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct ImportRun {
    pub id: ID,
    pub provider_id: ID,
    pub format: CatalogueFormat,
    pub file_name: Option<String>,
    /// `FULL` (OpenQCAT `NEW_CATALOG`), `DELTA` (`UPDATE_CATALOG`) or `ROWS` (CSV), once read.
    pub catalogue_kind: Option<String>,
    /// A delta's `seq_number`.
    pub sequence_number: Option<i64>,
    /// Checked and counted; nothing was kept.
    pub dry_run: bool,
    pub publish: bool,
    pub status: ImportRunStatus,
    /// Records in the file (known after the first pass) and done so far.
    pub total: i32,
    pub processed: i32,
    pub created: i32,
    pub updated: i32,
    pub unchanged: i32,
    /// Courses archived or removed and runs removed (a delta's deletions; for a full catalogue also
    /// what it no longer lists).
    pub deleted: i32,
    pub failed: i32,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    #[graphql(skip)]
    pub problems: String,
}

#[ComplexObject]
impl ImportRun {
    /// The report's findings in file order (at most 1 000 are kept), optionally of one severity.
    async fn problems(&self, severity: Option<ImportProblemSeverity>) -> Vec<ImportProblem> {
        let wanted: Option<exchange::Severity> = severity.map(Into::into);
        crate::service::json_list::decode::<exchange::Problem>(&self.problems)
            .into_iter()
            .filter(|p| wanted.is_none_or(|w| p.severity == w))
            .map(Into::into)
            .collect()
    }
}

impl From<import_run::Model> for ImportRun {
    fn from(m: import_run::Model) -> Self {
        Self {
            id: ID(m.id.to_string()),
            provider_id: ID(m.provider_id.to_string()),
            format: m.format.into(),
            file_name: m.file_name,
            catalogue_kind: m.catalogue_kind,
            sequence_number: m.sequence_number,
            dry_run: m.dry_run,
            publish: m.publish,
            status: m.status.into(),
            total: m.total,
            processed: m.processed,
            created: m.created,
            updated: m.updated,
            unchanged: m.unchanged,
            deleted: m.deleted,
            failed: m.failed,
            started_at: m.started_at,
            finished_at: m.finished_at,
            problems: m.problems,
        }
    }
}

#[derive(InputObject)]
pub struct ImportCatalogueInput {
    pub provider_id: ID,
    pub format: CatalogueFormat,
    /// The file, as a GraphQL multipart request's upload.
    pub file: Upload,
    /// Check and count everything, keep nothing.
    #[graphql(default)]
    pub dry_run: bool,
    /// Publish the courses the file lists that pass the publish rules (else they stay drafts;
    /// new courses always arrive as drafts without it).
    #[graphql(default)]
    pub publish: bool,
}
