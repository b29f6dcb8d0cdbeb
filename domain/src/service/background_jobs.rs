//! Dead letters for platform admins: the jobs that failed their last attempt, and their retry.

use uuid::Uuid;

use crate::context::AppState;
use crate::error::{ApiError, ApiResult};
use crate::jobs::{self, JobRow};
use crate::service::accounts;

/// DEAD jobs, newest first: up to `first` after the job `after`, plus one to tell whether more
/// follow; and how many there are in all.
pub async fn dead(
    state: &AppState,
    caller: Uuid,
    first: u64,
    after: Option<i64>,
) -> ApiResult<(Vec<JobRow>, u64)> {
    require_platform_admin(state, caller).await?;
    jobs::dead_jobs(&state.db, first + 1, after).await
}

/// Queues a DEAD job again with fresh attempts and wakes this instance's runner.
pub async fn retry(state: &AppState, caller: Uuid, id: i64) -> ApiResult<()> {
    require_platform_admin(state, caller).await?;
    if !jobs::retry_dead(&state.db, id).await? {
        return Err(ApiError::NotFound("dead job".into()));
    }
    state.jobs_wake.notify_one();
    Ok(())
}

async fn require_platform_admin(state: &AppState, caller: Uuid) -> ApiResult<()> {
    let admin = accounts::find_by_id(&state.db, caller).await?.is_some_and(|u| u.is_platform_admin);
    if admin { Ok(()) } else { Err(ApiError::forbidden("only platform admins may see background jobs")) }
}
