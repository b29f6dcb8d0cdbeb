use sea_orm::entity::prelude::*;

/// One import of a provider's catalogue file, with its report; see `domain::exchange`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "import_run")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub provider_id: Uuid,
    /// The user who started it (for an API key: its service account); none from the CLI.
    pub started_by: Option<Uuid>,
    pub format: ImportFormat,
    pub file_name: Option<String>,
    /// OpenQCAT: `FULL` (`NEW_CATALOG`) or `DELTA` (`UPDATE_CATALOG`), once the file's head is read.
    pub catalogue_kind: Option<String>,
    /// OpenQCAT delta: the delivery's sequence number.
    pub sequence_number: Option<i64>,
    /// Checked and counted, nothing kept.
    pub dry_run: bool,
    /// Courses that pass the publish rules are published.
    pub publish: bool,
    pub status: ImportStatus,
    /// Records in the file (known after the check pass), and done so far.
    pub total: i32,
    pub processed: i32,
    pub created: i32,
    pub updated: i32,
    pub unchanged: i32,
    pub deleted: i32,
    pub failed: i32,
    /// The report's problems as a JSON list (`domain::exchange::Problem`).
    #[sea_orm(column_type = "Text")]
    pub problems: String,
    pub started_at: DateTimeUtc,
    /// Renewed while the run works; a RUNNING run whose heartbeat is old was interrupted.
    pub heartbeat_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum ImportFormat {
    #[sea_orm(string_value = "OPENQCAT")]
    Openqcat,
    #[sea_orm(string_value = "CSV")]
    Csv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum ImportStatus {
    #[sea_orm(string_value = "RUNNING")]
    Running,
    /// Every record went through (some may have failed: see `failed`).
    #[sea_orm(string_value = "FINISHED")]
    Finished,
    /// The file could not be read as a whole (malformed, wrong encoding, mixed catalogues): nothing
    /// was written.
    #[sea_orm(string_value = "REJECTED")]
    Rejected,
    /// The instance running it stopped; what was done stays done, the rest was not started.
    #[sea_orm(string_value = "INTERRUPTED")]
    Interrupted,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::organization::Entity",
        from = "Column::ProviderId",
        to = "super::organization::Column::Id",
        on_delete = "Cascade"
    )]
    Provider,
}

impl Related<super::organization::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Provider.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
