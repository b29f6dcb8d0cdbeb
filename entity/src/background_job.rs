use sea_orm::entity::prelude::*;

/// One unit of background work; see `domain::jobs`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "background_job")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Names the handler (`Job::KIND`).
    pub kind: String,
    /// The job's value as JSON.
    #[sea_orm(column_type = "Text")]
    pub payload: String,
    /// At most one PENDING job per key (a partial unique index).
    pub dedupe_key: Option<String>,
    /// Higher runs first among due jobs.
    pub priority: i32,
    pub state: JobState,
    /// Claims so far, the one running included.
    pub attempts: i32,
    pub max_attempts: i32,
    /// Not claimed before this time (the backoff of a retry).
    pub run_at: DateTimeUtc,
    /// The runner holding the lease.
    pub locked_by: Option<String>,
    pub lease_until: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum JobState {
    #[sea_orm(string_value = "PENDING")]
    Pending,
    /// Claimed; the lease says until when.
    #[sea_orm(string_value = "RUNNING")]
    Running,
    #[sea_orm(string_value = "DONE")]
    Done,
    /// Failed `max_attempts` times; kept with its last error until retried.
    #[sea_orm(string_value = "DEAD")]
    Dead,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
