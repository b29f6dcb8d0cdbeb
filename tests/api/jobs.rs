//! The job runner without HTTP: retries, dead letters, leases, dedupe keys, two runners on one
//! database and a clean stop. The app only provides the migrated database; its own runner is off.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use api::auth::JwtKeys;
use api::config::{AuthSettings, Settings};
use api::db::reads::Reads;
use api::error::{ApiError, ApiResult};
use api::events::EventBus;
use api::graphql::AppState;
use api::jobs::{self, Job, JobState, Registry, Runner, RunnerOptions};
use api::shutdown::Shutdown;
use entity::background_job as job;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::helpers::{TestApp, eventually, spawn_app_with};

/// Runs per job, by `(tag, n)`; each test uses its own tag.
static RUNS: LazyLock<Mutex<HashMap<(Uuid, u32), u32>>> = LazyLock::new(Mutex::default);

/// Counts a run and returns which one it is (1 for the first).
fn count_run(tag: Uuid, n: u32) -> u32 {
    let mut runs = RUNS.lock().unwrap_or_else(|p| p.into_inner());
    let count = runs.entry((tag, n)).or_default();
    *count += 1;
    *count
}

fn runs_of(tag: Uuid) -> Vec<u32> {
    let runs = RUNS.lock().unwrap_or_else(|p| p.into_inner());
    runs.iter().filter(|((t, _), _)| *t == tag).map(|(_, count)| *count).collect()
}

/// Fails its first `failures` runs, then succeeds.
#[derive(Serialize, Deserialize)]
struct Flaky {
    tag: Uuid,
    failures: u32,
}

impl Job for Flaky {
    const KIND: &'static str = "test.flaky";
    const MAX_ATTEMPTS: i32 = 5;

    fn backoff_base(_: &AppState) -> Duration {
        Duration::from_millis(10)
    }

    async fn run(&self, _: &AppState) -> ApiResult<()> {
        let run = count_run(self.tag, 0);
        if run <= self.failures {
            return Err(ApiError::Internal(anyhow::anyhow!("flaky failure number {run}")));
        }
        Ok(())
    }
}

/// Blocks forever on its first run, succeeds on later ones: a job its runner dies in.
#[derive(Serialize, Deserialize)]
struct Stuck {
    tag: Uuid,
}

impl Job for Stuck {
    const KIND: &'static str = "test.stuck";

    async fn run(&self, _: &AppState) -> ApiResult<()> {
        if count_run(self.tag, 0) == 1 {
            std::future::pending::<()>().await;
        }
        Ok(())
    }
}

/// Counts its run; for the two-runner test.
#[derive(Serialize, Deserialize)]
struct Counted {
    tag: Uuid,
    n: u32,
}

impl Job for Counted {
    const KIND: &'static str = "test.counted";

    fn dedupe_key(&self) -> Option<String> {
        Some(format!("counted:{}:{}", self.tag, self.n))
    }

    async fn run(&self, _: &AppState) -> ApiResult<()> {
        count_run(self.tag, self.n);
        // Long enough for the other runner to try to claim it while it runs.
        tokio::time::sleep(Duration::from_millis(5)).await;
        Ok(())
    }
}

async fn database() -> (TestApp, DatabaseConnection) {
    let app = spawn_app_with(|s| {
        s.jobs.worker = false;
        s.alerts.worker = false;
        s.search.worker = false;
    })
    .await;
    let db = app.db().await;
    (app, db)
}

/// An AppState over `db` for runners of the test jobs (search and auth are never used by them).
fn state(db: &DatabaseConnection) -> AppState {
    let jwt = JwtKeys::hs256(&SecretString::from("x".repeat(40)), &AuthSettings::default());
    let search_dir = tempfile::tempdir().expect("temp dir");
    let search = api::search::embedded::EmbeddedIndex::open(search_dir.path()).expect("index");
    AppState {
        reads: Reads::pool(db.clone()),
        db: db.clone(),
        jwt: Arc::new(jwt),
        events: EventBus::new(),
        settings: Arc::new(Settings::default()),
        search: Arc::new(search),
        indexing: Arc::default(),
        jobs_wake: Arc::default(),
        indexing_wake: Arc::default(),
        metrics: Arc::default(),
    }
}

fn options(lease_ms: u64) -> RunnerOptions {
    RunnerOptions {
        lease: Duration::from_millis(lease_ms),
        poll: Duration::from_millis(50),
        concurrency: 8,
        retention: Duration::from_secs(3600),
        stop_grace: Duration::from_millis(200),
    }
}

fn registry() -> Registry {
    let mut registry = Registry::default();
    registry.register::<Flaky>().register::<Stuck>().register::<Counted>();
    registry
}

/// Starts a runner; the returned `Shutdown` stops it, the handle joins it.
fn start(db: &DatabaseConnection, lease_ms: u64) -> (Shutdown, tokio::task::JoinHandle<()>) {
    let shutdown = Shutdown::default();
    let runner = Runner::new(state(db), registry(), options(lease_ms));
    let handle = tokio::spawn(runner.run(shutdown.stop_signal()));
    (shutdown, handle)
}

async fn enqueue(db: &DatabaseConnection, job: &impl Job) -> bool {
    jobs::enqueue(db, job).await.expect("enqueue")
}

async fn rows(db: &DatabaseConnection, kind: &str) -> Vec<job::Model> {
    job::Entity::find().filter(job::Column::Kind.eq(kind)).all(db).await.expect("jobs")
}

/// Waits until the only job of `kind` is in `state`.
async fn settled(db: &DatabaseConnection, kind: &str, state: JobState) -> job::Model {
    eventually(Duration::from_secs(20), &format!("the {kind} job to be {state:?}"), || async {
        rows(db, kind).await.into_iter().next().filter(|j| j.state == state)
    })
    .await
}

#[tokio::test]
async fn a_failing_job_is_retried_until_it_succeeds() {
    let (_app, db) = database().await;
    let tag = Uuid::new_v4();
    enqueue(&db, &Flaky { tag, failures: 3 }).await;
    let (shutdown, runner) = start(&db, 2_000);

    let done = settled(&db, Flaky::KIND, JobState::Done).await;
    assert_eq!(done.attempts, 4, "three failures, then the run that worked");
    assert_eq!(runs_of(tag), vec![4]);
    assert!(done.last_error.is_none(), "a done job keeps no error: {:?}", done.last_error);
    assert!(done.locked_by.is_none() && done.finished_at.is_some());
    shutdown.trigger();
    runner.await.expect("runner");
}

#[tokio::test]
async fn a_job_that_keeps_failing_ends_dead_with_its_last_error() {
    let (_app, db) = database().await;
    let tag = Uuid::new_v4();
    enqueue(&db, &Flaky { tag, failures: u32::MAX }).await;
    let (shutdown, runner) = start(&db, 2_000);

    let dead = settled(&db, Flaky::KIND, JobState::Dead).await;
    assert_eq!(dead.attempts, Flaky::MAX_ATTEMPTS);
    assert_eq!(dead.last_error.as_deref(), Some("flaky failure number 5"));
    let (listed, total) = jobs::dead_jobs(&db, 10, None).await.expect("dead jobs");
    assert_eq!((listed.len(), total), (1, 1));

    // Never retried by itself: a later job runs to its end while the dead one's count stays.
    let later = Uuid::new_v4();
    job::Entity::delete_many().filter(job::Column::State.eq(JobState::Done)).exec(&db).await.expect("clean");
    enqueue(&db, &Counted { tag: later, n: 0 }).await;
    eventually(Duration::from_secs(20), "a later job to run", || async {
        (runs_of(later) == vec![1]).then_some(())
    })
    .await;
    assert_eq!(runs_of(tag), vec![5]);

    // A platform admin's retry gives it fresh attempts.
    assert!(jobs::retry_dead(&db, dead.id).await.expect("retry"));
    eventually(Duration::from_secs(20), "the retried job to fail five more times", || async {
        (runs_of(tag) == vec![10]).then_some(())
    })
    .await;
    assert_eq!(settled(&db, Flaky::KIND, JobState::Dead).await.attempts, Flaky::MAX_ATTEMPTS);
    shutdown.trigger();
    runner.await.expect("runner");
}

#[tokio::test]
async fn a_dead_runners_job_is_taken_over_when_its_short_lease_lapses() {
    let (_app, db) = database().await;
    let tag = Uuid::new_v4();
    enqueue(&db, &Stuck { tag }).await;
    let (_first_shutdown, first) = start(&db, 1_000);
    let running = settled(&db, Stuck::KIND, JobState::Running).await;

    // The first runner dies without a word: no release, no more heartbeats.
    first.abort();
    let died = Instant::now();
    let (shutdown, second) = start(&db, 1_000);
    let done = settled(&db, Stuck::KIND, JobState::Done).await;
    eprintln!("a dead runner's job was done by another after {:?} (lease 1 s)", died.elapsed());
    assert_eq!(done.attempts, 2, "the dead runner's attempt counts");
    assert_ne!(running.locked_by, None);
    assert_eq!(runs_of(tag), vec![2]);
    shutdown.trigger();
    second.await.expect("runner");
}

#[tokio::test]
async fn a_lease_is_renewed_while_the_job_runs() {
    let (_app, db) = database().await;
    let tag = Uuid::new_v4();
    enqueue(&db, &Stuck { tag }).await;
    let (shutdown, runner) = start(&db, 600);
    let first = settled(&db, Stuck::KIND, JobState::Running).await;
    let first_lease = first.lease_until.expect("lease");

    // Several lease lengths later the job is still this runner's, with a later lease.
    let renewed = eventually(Duration::from_secs(20), "the lease to be renewed", || async {
        let row = rows(&db, Stuck::KIND).await.into_iter().next()?;
        (row.lease_until? > first_lease + chrono::Duration::milliseconds(1_800)).then_some(row)
    })
    .await;
    assert_eq!(renewed.state, JobState::Running);
    assert_eq!(renewed.locked_by, first.locked_by, "nobody took it over");
    assert_eq!(renewed.attempts, 1);
    assert_eq!(runs_of(tag), vec![1]);
    shutdown.trigger();
    runner.await.expect("runner");
}

#[tokio::test]
async fn a_stopping_runner_gives_back_the_job_it_cannot_finish() {
    let (_app, db) = database().await;
    let tag = Uuid::new_v4();
    enqueue(&db, &Stuck { tag }).await;
    let (shutdown, first) = start(&db, 30_000);
    settled(&db, Stuck::KIND, JobState::Running).await;

    shutdown.trigger();
    first.await.expect("the runner returns after its grace");
    let released = rows(&db, Stuck::KIND).await.remove(0);
    assert_eq!(released.state, JobState::Pending, "released, not left to a 30 s lease");
    assert_eq!(released.attempts, 0, "the interrupted attempt is not counted");
    assert!(released.locked_by.is_none());

    let (shutdown, second) = start(&db, 30_000);
    let done = settled(&db, Stuck::KIND, JobState::Done).await;
    assert_eq!(done.attempts, 1);
    shutdown.trigger();
    second.await.expect("runner");
}

#[tokio::test]
async fn a_dedupe_key_holds_one_pending_job() {
    let (_app, db) = database().await;
    let tag = Uuid::new_v4();
    assert!(enqueue(&db, &Counted { tag, n: 1 }).await);
    assert!(!enqueue(&db, &Counted { tag, n: 1 }).await, "a second enqueue while pending is a no-op");
    assert!(enqueue(&db, &Counted { tag, n: 2 }).await, "another key is another job");
    assert_eq!(rows(&db, Counted::KIND).await.len(), 2);

    let (shutdown, runner) = start(&db, 2_000);
    eventually(Duration::from_secs(20), "both jobs done", || async {
        let rows = rows(&db, Counted::KIND).await;
        rows.iter().all(|j| j.state == JobState::Done).then_some(())
    })
    .await;
    assert!(enqueue(&db, &Counted { tag, n: 1 }).await, "once it ran, the key queues a new job");
    shutdown.trigger();
    runner.await.expect("runner");
}

#[tokio::test]
async fn two_runners_on_one_database_never_run_a_job_twice() {
    let (_app, db) = database().await;
    let tag = Uuid::new_v4();
    const JOBS: u32 = 200;
    for n in 0..JOBS {
        enqueue(&db, &Counted { tag, n }).await;
    }
    let (stop_a, a) = start(&db, 2_000);
    let (stop_b, b) = start(&db, 2_000);
    let runners: Vec<Option<String>> = eventually(Duration::from_secs(60), "every job done", || async {
        let rows = rows(&db, Counted::KIND).await;
        rows.iter()
            .all(|j| j.state == JobState::Done)
            .then(|| rows.iter().map(|j| j.locked_by.clone()).collect())
    })
    .await;
    assert!(runners.iter().all(Option::is_none), "done jobs hold no lock");
    let runs = runs_of(tag);
    assert_eq!(runs.len(), JOBS as usize, "every job ran");
    assert!(runs.iter().all(|&count| count == 1), "no job ran twice: {runs:?}");
    let attempts: i32 = rows(&db, Counted::KIND).await.iter().map(|j| j.attempts).sum();
    assert_eq!(attempts, JOBS as i32, "one claim per job");
    stop_a.trigger();
    stop_b.trigger();
    a.await.expect("runner a");
    b.await.expect("runner b");
}
