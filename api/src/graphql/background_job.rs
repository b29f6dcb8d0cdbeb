//! Background jobs for platform admins: the dead letters and their retry.

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, Enum, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use crate::error::ApiError;
use crate::graphql::context::{self, require_person};
use crate::graphql::pagination::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, page_cost};
use crate::jobs::JobRow;
use crate::service::background_jobs;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entity::background_job::JobState")]
pub enum BackgroundJobState {
    /// Waiting for its time or a runner.
    Pending,
    /// Claimed by a runner that renews its lease.
    Running,
    Done,
    /// Failed its last attempt; kept with its last error until retried.
    Dead,
}

/// One unit of background work (alert dispatch, webhook delivery, search sync).
#[derive(SimpleObject, Clone)]
pub struct BackgroundJob {
    pub id: ID,
    /// What the job does, e.g. `webhook.deliver`.
    pub kind: String,
    pub state: BackgroundJobState,
    pub attempts: i32,
    pub max_attempts: i32,
    /// The error of the last failed attempt.
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    /// When it was (or will be) due.
    pub run_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<JobRow> for BackgroundJob {
    fn from(j: JobRow) -> Self {
        Self {
            id: ID(j.id.to_string()),
            kind: j.kind,
            state: j.state.into(),
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            last_error: j.last_error,
            created_at: j.created_at,
            run_at: j.run_at,
            finished_at: j.finished_at,
        }
    }
}

/// How many jobs are dead in all, beside the page.
#[derive(SimpleObject)]
pub struct DeadJobsTotal {
    pub total_count: u64,
}

#[derive(Default)]
pub struct BackgroundJobQuery;

#[Object]
impl BackgroundJobQuery {
    /// Jobs that failed their last attempt, newest first (platform admins only).
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn dead_jobs(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 1–100 (default 20).")] first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, BackgroundJob, DeadJobsTotal, EmptyFields>> {
        let caller = require_person(ctx)?;
        let state = context::state(ctx)?;
        let first = first.unwrap_or(DEFAULT_PAGE_SIZE);
        if !(1..=MAX_PAGE_SIZE).contains(&first) {
            return Err(
                ApiError::bad_input("first", format!("first must be between 1 and {MAX_PAGE_SIZE}")).into()
            );
        }
        let after = after.as_deref().map(job_id("after")).transpose()?;
        let (mut rows, total) = background_jobs::dead(state, caller, first as u64, after).await?;
        let has_next = rows.len() > first as usize;
        rows.truncate(first as usize);
        let mut connection = Connection::with_additional_fields(
            after.is_some(),
            has_next,
            DeadJobsTotal { total_count: total },
        );
        connection
            .edges
            .extend(rows.into_iter().map(|j| Edge::new(j.id.to_string(), BackgroundJob::from(j))));
        Ok(connection)
    }
}

#[derive(Default)]
pub struct BackgroundJobMutation;

#[Object]
impl BackgroundJobMutation {
    /// Queues a dead job again with fresh attempts (platform admins only); returns its id.
    async fn retry_job(&self, ctx: &Context<'_>, id: ID) -> Result<ID> {
        let caller = require_person(ctx)?;
        let state = context::state(ctx)?;
        background_jobs::retry(state, caller, job_id("id")(&id)?).await?;
        Ok(id)
    }
}

/// Job ids (and cursors) are their numbers.
fn job_id(field: &'static str) -> impl Fn(&str) -> Result<i64, ApiError> {
    move |text| text.parse().map_err(|_| ApiError::bad_input(field, format!("{field} is not a job id")))
}
