//! How fast every instance's search converges on the database, and that it does after faults:
//! several server processes on one PostgreSQL database, each with its own embedded index, or all
//! on one Meilisearch (`--meili-bin`: a Meilisearch binary this benchmark starts, kills and
//! restarts itself).
//!
//! Measures (1) the time until every instance finds a change written to the database (as another
//! instance would), (2) after `kill -9` of one instance during writes, the time from its restart
//! until the change log is applied and every renamed course is found, (3) with Meilisearch,
//! the same after `kill -9` of Meilisearch, (4) after deleting an index (the instance's directory,
//! or the Meilisearch index), the time until search is complete again, by itself, (5) after the
//! database refused connections for `--refuse-secs` during writes, the time from its return until
//! every change is applied; last, every instance's index is compared with the database.
//!
//! `cargo build --release --bin bildungsmarkt --bin bench-convergence && target/release/bench-convergence
//! --database-url postgres://postgres@127.0.0.1:5432/postgres [--meili-bin path/to/meilisearch]`
//! (a fresh database is created and dropped).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use api::search::{Backend, outbox};
use clap::Parser;
use entity::course;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, Database, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
};
use serde_json::{Value, json};
use uuid::Uuid;

#[derive(Parser)]
struct Args {
    /// A PostgreSQL server; the benchmark creates its own database there.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    database_url: String,
    /// The server binary (default: `bildungsmarkt` next to this one).
    #[arg(long)]
    server: Option<PathBuf>,
    /// Server processes on the one database.
    #[arg(long, default_value_t = 3)]
    instances: usize,
    /// A Meilisearch binary: run every instance on one Meilisearch that the benchmark starts (in a
    /// temporary directory) and kills. Without it, each instance has its embedded index.
    #[arg(long)]
    meili_bin: Option<PathBuf>,
    /// Changes in the first measure.
    #[arg(long, default_value_t = 10)]
    changes: usize,
    /// Renames written during each fault.
    #[arg(long, default_value_t = 200)]
    writes: usize,
    /// How long the database refuses connections.
    #[arg(long, default_value_t = 20)]
    refuse_secs: u64,
    /// The instances' `APP_SEARCH_CHECK_INTERVAL_SECS`.
    #[arg(long, default_value_t = 10)]
    check_secs: u64,
}

const MEILI_KEY: &str = "bench-convergence-master-key-0123456789";
const MEILI_INDEX: &str = "bench_convergence_courses";

/// A child process the benchmark starts and may `kill -9`.
struct Process {
    child: Option<Child>,
}

impl Process {
    fn kill(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}

struct Instance {
    name: String,
    port: u16,
    data_dir: PathBuf,
    process: Process,
}

/// Where the instances search.
#[derive(Clone)]
enum Search {
    Embedded,
    Meili { url: String },
}

impl Instance {
    fn start(
        &mut self,
        server: &Path,
        database_url: &str,
        search: &Search,
        check_secs: u64,
    ) -> anyhow::Result<()> {
        let log =
            std::fs::OpenOptions::new().create(true).append(true).open(self.data_dir.join("server.log"))?;
        let mut command = Command::new(server);
        command
            .arg("serve")
            .env("APP_ENV", "development")
            .env("DATABASE_URL", database_url)
            .env("APP_DATA_DIR", &self.data_dir)
            .env("APP_BIND", format!("127.0.0.1:{}", self.port))
            .env("APP_METRICS_BIND", "off")
            .env("APP_SEARCH_CHECK_INTERVAL_SECS", check_secs.to_string())
            // The benchmark asks many searches a second from one address.
            .env("APP_RATE_LIMIT_ANONYMOUS", "0")
            .env("APP_JWT_SECRET", "bench-convergence-secret-that-is-long-enough")
            .env("RUST_LOG", "info,tantivy=warn")
            .stdout(Stdio::null())
            .stderr(log);
        if let Search::Meili { url } = search {
            command.env("MEILI_URL", url).env("MEILI_MASTER_KEY", MEILI_KEY).env("MEILI_INDEX", MEILI_INDEX);
        }
        let child = command.spawn().with_context(|| format!("starting {}", server.display()))?;
        self.process.child = Some(child);
        Ok(())
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// The Meilisearch process.
struct Engine {
    bin: PathBuf,
    port: u16,
    dir: tempfile::TempDir,
    process: Process,
}

impl Engine {
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn start(&mut self, client: &reqwest::Client) -> anyhow::Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("meilisearch.log"))?;
        let child = Command::new(&self.bin)
            .arg("--db-path")
            .arg(self.dir.path().join("data.ms"))
            .arg("--http-addr")
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("--master-key")
            .arg(MEILI_KEY)
            .arg("--no-analytics")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", self.bin.display()))?;
        self.process.child = Some(child);
        let url = format!("{}/health", self.url());
        until("Meilisearch answers", Duration::from_secs(60), || async {
            client.get(&url).send().await.is_ok_and(|r| r.status().is_success())
        })
        .await?;
        Ok(())
    }
}

async fn search(client: &reqwest::Client, instance: &Instance, query: &str) -> Option<Value> {
    let body = json!({ "query": "query($q: String) { searchCourses(query: $q, first: 100) { totalHits hits { course { id } } } }",
        "variables": { "q": query } });
    let response = client.post(format!("{}/graphql", instance.url())).json(&body).send().await.ok()?;
    let value: Value = response.json().await.ok()?;
    Some(value["data"]["searchCourses"].clone())
}

async fn finds(client: &reqwest::Client, instance: &Instance, query: &str, id: Uuid) -> bool {
    search(client, instance, query).await.is_some_and(|r| {
        r["hits"].as_array().is_some_and(|hits| hits.iter().any(|h| h["course"]["id"] == id.to_string()))
    })
}

/// `/readyz`: its status code and body.
async fn ready(client: &reqwest::Client, instance: &Instance) -> Option<(u16, Value)> {
    let response = client.get(format!("{}/readyz", instance.url())).send().await.ok()?;
    let status = response.status().as_u16();
    Some((status, response.json().await.ok()?))
}

/// Whether the instance's index (or the shared cursor it reports) has applied the log up to `head`.
async fn applied(client: &reqwest::Client, instance: &Instance, head: i64) -> bool {
    ready(client, instance).await.is_some_and(|(_, r)| r["search"]["position"].as_i64() >= Some(head))
}

/// Waits until every instance reports the log applied up to `head`; the time it took.
async fn all_applied(
    client: &reqwest::Client,
    instances: &[Instance],
    head: i64,
    what: &str,
    limit: Duration,
) -> anyhow::Result<Duration> {
    until(what, limit, || async {
        for instance in instances {
            if !applied(client, instance, head).await {
                return false;
            }
        }
        true
    })
    .await
}

/// Polls every 20 ms until `check` holds; the time it took.
async fn until<F, Fut>(what: &str, limit: Duration, mut check: F) -> anyhow::Result<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        anyhow::ensure!(started.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(started.elapsed())
}

/// Renames a course as a mutation would: the title and the change log in one transaction.
async fn rename(db: &DatabaseConnection, id: Uuid, word: &str) -> anyhow::Result<()> {
    let txn = api::db::begin_write(db).await?;
    course::Entity::update_many()
        .col_expr(course::Column::Title, Expr::value(format!("{word} Grundlagen")))
        .col_expr(course::Column::Version, Expr::col(course::Column::Version).add(1))
        .filter(course::Column::Id.eq(id))
        .exec(&txn)
        .await?;
    outbox::enqueue(&txn, [id]).await.map_err(|e| anyhow::anyhow!("{}", e.message()))?;
    txn.commit().await?;
    Ok(())
}

fn word(label: &str, i: usize) -> String {
    format!("{label}{i}x{}", &Uuid::now_v7().simple().to_string()[20..26])
}

fn summary(times: &mut [Duration]) -> String {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!(
        "median {:.0} ms, max {:.0} ms ({} changes)",
        ms(times[times.len() / 2]),
        ms(times[times.len() - 1]),
        times.len()
    )
}

async fn head(db: &DatabaseConnection) -> anyhow::Result<i64> {
    outbox::head(db).await.map_err(|e| anyhow::anyhow!("{}", e.message()))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let server = match &args.server {
        Some(path) => path.clone(),
        None => std::env::current_exe()?.with_file_name("bildungsmarkt"),
    };
    let name = format!("bm_bench_{}", Uuid::now_v7().simple());
    let admin = Database::connect(&args.database_url).await?;
    admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await?;
    let result = run(&args, &server, &admin, &name).await;
    admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await?;
    result
}

/// The course titles last written, by course.
type Renamed = HashMap<Uuid, String>;

/// Writes `writes` renames, 5 ms apart, calling `fault` halfway; renames the database refuses are
/// counted, not retried.
async fn renames_with<F, Fut>(
    db: &DatabaseConnection,
    published: &[Uuid],
    label: &str,
    writes: usize,
    last: &mut Renamed,
    fault: F,
) -> anyhow::Result<usize>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let mut fault = Some(fault);
    let mut refused = 0;
    for i in 0..writes {
        let id = published[i % published.len()];
        let word = word(label, i);
        match rename(db, id, &word).await {
            Ok(()) => {
                last.insert(id, word);
            }
            Err(_) => refused += 1,
        }
        if i == writes / 2
            && let Some(fault) = fault.take()
        {
            fault().await?;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(refused)
}

/// Every renamed course found by its last title on every instance; the number not found.
async fn missing(client: &reqwest::Client, instances: &[Instance], last: &Renamed) -> usize {
    let mut missing = 0;
    for instance in instances {
        for (id, word) in last {
            if !finds(client, instance, word, *id).await {
                missing += 1;
            }
        }
    }
    missing
}

async fn run(args: &Args, server: &Path, admin: &DatabaseConnection, name: &str) -> anyhow::Result<()> {
    let database_url = api::db::with_database(&args.database_url, name);
    let secret = secrecy::SecretString::from(database_url.clone());
    let db = api::db::connect(&secret, "bench database", Duration::from_secs(5)).await?;
    api::db::migrate(&db).await?;
    api::seed::skills::ensure(&db).await?;
    api::seed::demo::seed(&db).await?;
    let published: Vec<Uuid> = course::Entity::find()
        .filter(course::Column::Status.eq(course::CourseStatus::Published))
        .all(&db)
        .await?
        .into_iter()
        .map(|c| c.id)
        .collect();
    let offerings = entity::offering::Entity::find().count(&db).await?;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
    let base_port = 18_400 + (std::process::id() % 500) as u16 * 8;

    let mut engine = match &args.meili_bin {
        Some(bin) => {
            let mut engine = Engine {
                bin: bin.clone(),
                port: base_port + 7,
                dir: tempfile::tempdir()?,
                process: Process { child: None },
            };
            engine.start(&client).await?;
            Some(engine)
        }
        None => None,
    };
    let search_mode = match &engine {
        Some(engine) => Search::Meili { url: engine.url() },
        None => Search::Embedded,
    };
    println!(
        "demo data: {} published courses, {offerings} offerings, PostgreSQL; {} instances, {}\n",
        published.len(),
        args.instances,
        match &search_mode {
            Search::Embedded => "each with its embedded index",
            Search::Meili { .. } => "one Meilisearch",
        }
    );

    let dirs: Vec<tempfile::TempDir> =
        (0..args.instances).map(|_| tempfile::tempdir()).collect::<Result<_, _>>()?;
    let mut instances: Vec<Instance> = dirs
        .iter()
        .enumerate()
        .map(|(i, dir)| Instance {
            name: ((b'A' + i as u8) as char).to_string(),
            port: base_port + i as u16,
            data_dir: dir.path().to_path_buf(),
            process: Process { child: None },
        })
        .collect();
    let total = published.len() as i64;
    let complete = |instance: &Instance| {
        let client = client.clone();
        let url = instance.url();
        async move {
            let body = json!({ "query": "{ searchCourses(first: 1) { totalHits } }" });
            let Ok(response) = client.post(format!("{url}/graphql")).json(&body).send().await else {
                return false;
            };
            let value: Value = response.json().await.unwrap_or_default();
            value["data"]["searchCourses"]["totalHits"].as_i64() == Some(total)
        }
    };
    let start =
        |instance: &mut Instance| instance.start(server, &database_url, &search_mode, args.check_secs);
    for instance in instances.iter_mut() {
        start(instance)?;
    }
    for instance in &instances {
        let took = until("first fill", Duration::from_secs(180), || complete(instance)).await?;
        println!(
            "instance {}: complete {:.1} s after start (empty index, filled by itself)",
            instance.name,
            took.as_secs_f64()
        );
    }

    println!("\n| measure | value |\n|---|---|");
    // (1) A change written as by another instance (none of these is woken: the poll path).
    let mut times = Vec::new();
    for (i, id) in published.iter().take(args.changes).enumerate() {
        let word = word("Konvergenz", i);
        rename(&db, *id, &word).await?;
        let started = Instant::now();
        until("every instance finds the change", Duration::from_secs(30), || async {
            for instance in &instances {
                if !finds(&client, instance, &word, *id).await {
                    return false;
                }
            }
            true
        })
        .await?;
        times.push(started.elapsed());
    }
    println!(
        "| {} instances, one PostgreSQL: change → searchable on every one | {} |",
        instances.len(),
        summary(&mut times)
    );

    // (2) kill -9 of the last instance in the middle of a stream of renames.
    let mut last = Renamed::new();
    let victim = instances.len() - 1;
    {
        let instance = &mut instances[victim];
        renames_with(&db, &published, "Absturz", args.writes, &mut last, || async {
            instance.process.kill()
        })
        .await?;
    }
    let log_head = head(&db).await?;
    let restarted = Instant::now();
    start(&mut instances[victim])?;
    all_applied(
        &client,
        &instances,
        log_head,
        "every instance applies every change",
        Duration::from_secs(60),
    )
    .await?;
    let caught_up = restarted.elapsed();
    let not_found = missing(&client, &instances, &last).await;
    anyhow::ensure!(not_found == 0, "{not_found} renamed courses not found after the log was applied");
    println!(
        "| kill -9 of instance {} during {} renames → from its restart until every instance has every change searchable ({} courses checked on each) | {:.2} s |",
        instances[victim].name,
        args.writes,
        last.len(),
        caught_up.as_secs_f64()
    );

    // (3) kill -9 of Meilisearch in the middle of a stream of renames.
    if let Some(engine) = engine.as_mut() {
        let mut last = Renamed::new();
        let mut stopped = false;
        renames_with(&db, &published, "Engine", args.writes, &mut last, || async {
            stopped = true;
            engine.process.kill()
        })
        .await?;
        anyhow::ensure!(stopped, "Meilisearch was not killed");
        let log_head = head(&db).await?;
        let restarted = Instant::now();
        engine.start(&client).await?;
        all_applied(
            &client,
            &instances,
            log_head,
            "the shared index applies every change",
            Duration::from_secs(120),
        )
        .await?;
        let caught_up = restarted.elapsed();
        let not_found = missing(&client, &instances, &last).await;
        anyhow::ensure!(not_found == 0, "{not_found} renamed courses not found after Meilisearch came back");
        let dead = api::jobs::dead_jobs(&db, 100, None).await.map(|(_, total)| total).unwrap_or(0);
        println!(
            "| kill -9 of Meilisearch during {} renames → from its restart until every change is searchable on every instance ({} courses checked on each; dead jobs: {dead}) | {:.2} s |",
            args.writes,
            last.len(),
            caught_up.as_secs_f64()
        );
    }

    // (4) An index deleted.
    let lost = Instant::now();
    let what = match (&search_mode, engine.as_ref()) {
        (Search::Meili { .. }, Some(engine)) => {
            let response = client
                .delete(format!("{}/indexes/{MEILI_INDEX}", engine.url()))
                .bearer_auth(MEILI_KEY)
                .send()
                .await?;
            anyhow::ensure!(response.status().is_success(), "deleting the index: {}", response.status());
            "the Meilisearch index deleted while serving → search complete again on every instance"
        }
        _ => {
            let instance = &mut instances[victim];
            instance.process.kill()?;
            std::fs::remove_dir_all(instance.data_dir.join("search-index"))?;
            start(instance)?;
            "an index directory deleted, instance restarted → search complete again on it"
        }
    };
    until("search complete again", Duration::from_secs(180), || async {
        for instance in &instances {
            if !complete(instance).await {
                return false;
            }
        }
        true
    })
    .await?;
    println!("| {what} ({total} courses, by itself) | {:.2} s |", lost.elapsed().as_secs_f64());

    // (5) The database refuses connections while writes go on: renames are tried throughout.
    let mut last = Renamed::new();
    let refuse = Duration::from_secs(args.refuse_secs);
    let mut unready = vec![false; instances.len()];
    admin.execute_unprepared(&format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS false")).await?;
    admin
        .execute_unprepared(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        ))
        .await?;
    let refused_at = Instant::now();
    let mut back = None;
    let (mut tried, mut refused) = (0, 0);
    while tried < args.writes || back.is_none() {
        if back.is_none() && refused_at.elapsed() >= refuse {
            admin.execute_unprepared(&format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS true")).await?;
            back = Some(Instant::now());
        }
        let id = published[tried % published.len()];
        let word = word("Ausfall", tried);
        match rename(&db, id, &word).await {
            Ok(()) => {
                last.insert(id, word);
            }
            Err(_) => refused += 1,
        }
        tried += 1;
        if back.is_none() {
            for (i, instance) in instances.iter().enumerate() {
                if ready(&client, instance).await.is_some_and(|(status, _)| status == 503) {
                    unready[i] = true;
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        } else {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let back = back.unwrap_or_else(Instant::now);
    let log_head = loop {
        match head(&db).await {
            Ok(head) => break head,
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    };
    all_applied(
        &client,
        &instances,
        log_head,
        "every instance applies every change after the outage",
        Duration::from_secs(120),
    )
    .await?;
    let caught_up = back.elapsed();
    let not_found = missing(&client, &instances, &last).await;
    anyhow::ensure!(not_found == 0, "{not_found} renamed courses not found after the outage");
    println!(
        "| PostgreSQL refused connections for {} s while renames went on ({tried} tried, {refused} refused) → from its return until every instance has every change searchable; `/readyz` 503 during the outage on {} of {} | {:.2} s |",
        args.refuse_secs,
        unready.iter().filter(|u| **u).count(),
        instances.len(),
        caught_up.as_secs_f64()
    );

    // Last: every instance's index against the database.
    let db = api::db::connect(&secret, "bench database", Duration::from_secs(5)).await?;
    match &search_mode {
        Search::Meili { url } => {
            let backend: Backend = Arc::new(
                api::search::meili::MeiliBackend::connect(url, Some(MEILI_KEY), MEILI_INDEX)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?,
            );
            let drift = until("the shared index has no drift", Duration::from_secs(60), || async {
                api::search::check(&db, backend.as_ref())
                    .await
                    .is_ok_and(|d| d.is_clean() && d.pending_changes == 0)
            })
            .await;
            println!(
                "| the shared Meilisearch index compared with the database: drift 0, every change applied | {} |",
                if drift.is_ok() { "yes" } else { "NO" }
            );
            for instance in &instances {
                println!(
                    "| instance {}: counts every published course | {} |",
                    instance.name,
                    if complete(instance).await { "yes" } else { "NO" }
                );
            }
        }
        Search::Embedded => {
            for instance in &instances {
                // A comparison that starts after now: the one before may predate the faults.
                let checks = |r: &Value| r["search"]["checks"].as_u64().unwrap_or(0);
                let before = ready(&client, instance).await.map(|(_, r)| checks(&r)).unwrap_or(0);
                let drift = until("a check without drift", Duration::from_secs(60), || async {
                    ready(&client, instance).await.is_some_and(|(_, r)| {
                        let s = &r["search"];
                        checks(&r) > before
                            && s["position"] == s["head"]
                            && ["missing", "stale", "extra"].iter().all(|k| s["drift"][k] == 0)
                    })
                })
                .await;
                println!(
                    "| instance {}: position at the log's head, last check against the database without drift | {} |",
                    instance.name,
                    if drift.is_ok() { "yes" } else { "NO" }
                );
            }
        }
    }
    Ok(())
}
