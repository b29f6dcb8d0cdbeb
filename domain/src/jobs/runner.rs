//! The one runner: claims due jobs of the registered kinds, runs them concurrently under a renewed
//! lease, records each outcome, prunes finished jobs and, on stop, finishes or releases what it holds.

use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use rand::Rng;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::{Job, queue};
use crate::config::JobSettings;
use crate::context::AppState;
use crate::error::ApiError;
use crate::outage::OutageLog;
use crate::shutdown::Stop;
use entity::background_job as job;

/// Wait after a failed claim or record (the database is away).
const OUTAGE_RETRY: Duration = Duration::from_secs(1);
/// How often DONE jobs past their retention are deleted.
const PRUNE_EVERY: Duration = Duration::from_secs(600);

/// Why a job run failed; `permanent` failures (a payload this version cannot read) go DEAD at once.
struct Failure {
    message: String,
    permanent: bool,
}

type Handler = Arc<dyn Fn(AppState, String) -> BoxFuture<'static, Result<(), Failure>> + Send + Sync>;

struct Kind {
    name: &'static str,
    run: Handler,
    backoff_base: fn(&AppState) -> Duration,
    max_backoff: Duration,
}

/// The job kinds a runner runs. An instance runs only what it registers, so an instance without
/// alert workers leaves alert jobs to the others.
#[derive(Default)]
pub struct Registry {
    kinds: HashMap<&'static str, Kind>,
}

impl Registry {
    pub fn register<J: Job>(&mut self) -> &mut Self {
        let run: Handler = Arc::new(|state: AppState, payload: String| {
            async move {
                let job: J = serde_json::from_str(&payload).map_err(|e| Failure {
                    message: format!("unreadable {} payload: {e}", J::KIND),
                    permanent: true,
                })?;
                job.run(&state).await.map_err(|e| Failure { message: describe(&e), permanent: false })
            }
            .boxed()
        });
        self.kinds.insert(
            J::KIND,
            Kind { name: J::KIND, run, backoff_base: J::backoff_base, max_backoff: J::MAX_BACKOFF },
        );
        self
    }

    pub fn is_empty(&self) -> bool {
        self.kinds.is_empty()
    }

    fn names(&self) -> Vec<&'static str> {
        let mut names: Vec<_> = self.kinds.keys().copied().collect();
        names.sort_unstable();
        names
    }
}

/// Timings of a [`Runner`] (see [`JobSettings`]).
#[derive(Debug, Clone)]
pub struct RunnerOptions {
    pub lease: Duration,
    pub poll: Duration,
    pub concurrency: usize,
    pub retention: Duration,
    pub stop_grace: Duration,
}

impl From<&JobSettings> for RunnerOptions {
    fn from(s: &JobSettings) -> Self {
        Self {
            lease: Duration::from_millis(s.lease_ms),
            poll: Duration::from_millis(s.poll_ms),
            concurrency: s.concurrency.max(1),
            retention: Duration::from_secs(s.retention_hours.saturating_mul(3600)),
            stop_grace: Duration::from_millis(s.stop_grace_ms),
        }
    }
}

/// Runs the jobs of a [`Registry`] until stopped. Woken by `state.jobs_wake`.
pub struct Runner {
    state: AppState,
    registry: Registry,
    options: RunnerOptions,
    /// Written to `locked_by`; unique per runner, so two runners of one process are told apart too.
    id: String,
    outage: OutageLog,
}

impl Runner {
    pub fn new(state: AppState, registry: Registry, options: RunnerOptions) -> Self {
        let id = format!("runner-{}", uuid::Uuid::new_v4().simple());
        Self { state, registry, options, id, outage: OutageLog::new("job runner") }
    }

    /// This runner's `locked_by`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Runs until `stop` fires. Then it claims nothing more, lets running jobs finish for the stop
    /// grace, gives the rest back (PENDING at once, attempt not counted) and returns — its caller
    /// joins it before the runtime and the pool go away.
    pub async fn run(self, mut stop: Stop) {
        let runner = Arc::new(self);
        let kinds = runner.registry.names();
        tracing::info!(runner = %runner.id, kinds = ?kinds, "job runner started");
        let mut running: JoinSet<()> = JoinSet::new();
        let mut held: HashMap<tokio::task::Id, i64> = HashMap::new();
        let mut heartbeat = tokio::time::interval(runner.options.lease / 3);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut next_prune = Instant::now();
        while !stop.is_stopping() {
            let free = runner.options.concurrency.saturating_sub(running.len());
            let mut wait = runner.options.poll;
            if free > 0 {
                match queue::claim(&runner.state.db, &kinds, &runner.id, free as u64, runner.lease()).await {
                    Ok(jobs) => {
                        runner.outage.succeeded();
                        let full = jobs.len() == free;
                        for row in jobs {
                            let id = row.id;
                            let task = running.spawn(runner.clone().execute(row));
                            held.insert(task.id(), id);
                        }
                        if full {
                            // More may be due: look again as soon as a slot frees.
                            wait = Duration::ZERO;
                        }
                    }
                    Err(e) => {
                        runner.outage.failed("claiming jobs", &e);
                        wait = OUTAGE_RETRY;
                    }
                }
            }
            if Instant::now() >= next_prune {
                next_prune = Instant::now() + PRUNE_EVERY;
                runner.prune().await;
            }
            if wait.is_zero() && running.len() < runner.options.concurrency {
                continue;
            }
            tokio::select! {
                stopping = stop.sleep(wait) => if stopping { break },
                _ = runner.state.jobs_wake.notified() => {}
                Some(done) = running.join_next_with_id(), if !running.is_empty() => {
                    forget(&mut held, done);
                }
                _ = heartbeat.tick(), if !running.is_empty() => runner.renew().await,
            }
        }
        runner.drain(running, held, heartbeat).await;
        tracing::info!(runner = %runner.id, "job runner stopped");
    }

    /// Waits for running jobs up to the stop grace, renewing their leases, then releases the rest.
    async fn drain(
        &self,
        mut running: JoinSet<()>,
        mut held: HashMap<tokio::task::Id, i64>,
        mut heartbeat: tokio::time::Interval,
    ) {
        let deadline = Instant::now() + self.options.stop_grace;
        while !running.is_empty() {
            tokio::select! {
                Some(done) = running.join_next_with_id() => forget(&mut held, done),
                _ = heartbeat.tick() => self.renew().await,
                _ = tokio::time::sleep_until(deadline) => break,
            }
        }
        running.abort_all();
        while running.join_next().await.is_some() {}
        for (_, id) in held {
            match queue::release(&self.state.db, id, &self.id).await {
                Ok(()) => tracing::info!(job = id, "released an unfinished job for another runner"),
                Err(e) => {
                    tracing::warn!(job = id, error = ?e, "releasing a job failed; it is free once its lease lapses")
                }
            }
        }
    }

    fn lease(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.options.lease).unwrap_or_else(|_| chrono::Duration::seconds(10))
    }

    async fn renew(&self) {
        match queue::renew(&self.state.db, &self.id, self.lease()).await {
            Ok(_) => self.outage.succeeded(),
            Err(e) => self.outage.failed("renewing job leases", &e),
        }
    }

    async fn prune(&self) {
        let Ok(retention) = chrono::Duration::from_std(self.options.retention) else { return };
        match queue::prune(&self.state.db, chrono::Utc::now() - retention).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "pruned finished jobs"),
            Err(e) => tracing::debug!(error = ?e, "pruning finished jobs failed; next time"),
        }
    }

    /// Runs one claimed job and records its outcome.
    async fn execute(self: Arc<Self>, row: job::Model) {
        let Some(kind) = self.registry.kinds.get(row.kind.as_str()) else { return };
        let kind_name = kind.name;
        let (db, runner) = (&self.state.db, self.id.as_str());
        if row.attempts > row.max_attempts {
            // Its runner died during the last attempt (the lease lapsed): that attempt counted.
            let error = row.last_error.as_deref().unwrap_or("its runner stopped during the last attempt");
            self.record("dead", kind_name, &row, || queue::bury(db, row.id, runner, error)).await;
            return;
        }
        let started = Instant::now();
        let result = AssertUnwindSafe((kind.run)(self.state.clone(), row.payload.clone()))
            .catch_unwind()
            .await
            .unwrap_or_else(|_| Err(Failure { message: "the job panicked".into(), permanent: false }));
        let seconds = started.elapsed().as_secs_f64();
        match result {
            Ok(()) => {
                tracing::debug!(job = row.id, kind = kind_name, seconds, "job done");
                self.record("done", kind_name, &row, || queue::complete(db, row.id, runner)).await;
            }
            Err(failure) if failure.permanent || row.attempts >= row.max_attempts => {
                tracing::warn!(job = row.id, kind = kind_name, attempts = row.attempts, error = %failure.message, "job failed for the last time; it is DEAD");
                let error = failure.message.as_str();
                self.record("dead", kind_name, &row, || queue::bury(db, row.id, runner, error)).await;
            }
            Err(failure) => {
                let backoff = backoff((kind.backoff_base)(&self.state), row.attempts, kind.max_backoff);
                tracing::info!(job = row.id, kind = kind_name, attempts = row.attempts, retry_in_ms = backoff.as_millis() as u64, error = %failure.message, "job failed; retrying later");
                let backoff =
                    chrono::Duration::from_std(backoff).unwrap_or_else(|_| chrono::Duration::hours(1));
                let error = failure.message.as_str();
                self.record("retry", kind_name, &row, || async move {
                    queue::retry_later(db, row.id, runner, error, backoff).await.map(|()| true)
                })
                .await;
            }
        }
    }

    /// Writes an outcome, retrying while the database is away: a finished job is never run again for
    /// want of its record (unless the runner stops first; then its lease lapses and it reruns).
    async fn record<F, Fut>(&self, outcome: &'static str, kind: &'static str, row: &job::Model, write: F)
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<bool, ApiError>>,
    {
        loop {
            match write().await {
                Ok(true) => {
                    self.state.metrics.job_run(kind, outcome);
                    return;
                }
                Ok(false) => {
                    tracing::warn!(
                        job = row.id,
                        kind,
                        "a job's lease was taken over before its outcome was written"
                    );
                    self.state.metrics.job_run(kind, "lost");
                    return;
                }
                Err(e) => {
                    self.outage.failed("recording a job's outcome", &e);
                    tokio::time::sleep(OUTAGE_RETRY).await;
                }
            }
        }
    }
}

fn forget(
    held: &mut HashMap<tokio::task::Id, i64>,
    done: Result<(tokio::task::Id, ()), tokio::task::JoinError>,
) {
    let id = match done {
        Ok((id, ())) => id,
        Err(e) => e.id(),
    };
    held.remove(&id);
}

/// `base` · 2^(attempt−1), at most `max`, ±25 % so that jobs failing together do not retry together.
fn backoff(base: Duration, attempt: i32, max: Duration) -> Duration {
    let exponent = (attempt - 1).clamp(0, 20) as u32;
    let delay = base.saturating_mul(1 << exponent).min(max);
    delay.mul_f64(rand::thread_rng().gen_range(0.75..1.25))
}

/// An error as stored in `last_error`: the message a platform admin needs, with its cause.
fn describe(e: &ApiError) -> String {
    match e {
        ApiError::Internal(inner) => format!("{inner:#}"),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let base = Duration::from_secs(1);
        for attempt in 1..=5 {
            let expected = base * (1 << (attempt - 1));
            let got = backoff(base, attempt, Duration::from_secs(3600));
            assert!(
                got >= expected.mul_f64(0.75) && got <= expected.mul_f64(1.25),
                "attempt {attempt}: {got:?}"
            );
        }
        let max = Duration::from_secs(10);
        assert!(backoff(base, 40, max) <= max.mul_f64(1.25));
    }
}
