//! How fast every instance's embedded search index converges: two server processes on one
//! PostgreSQL database, each with its own index.
//!
//! Measures (1) the time until both instances find a change written to the database (as another
//! instance would), (2) after `kill -9` of one instance during writes, the time from its restart
//! until every renamed course is searchable on it, (3) after deleting its index directory, the time
//! from its restart until search is complete again, by itself.
//!
//! `cargo build --bin bildungsmarkt --bin bench-convergence && target/debug/bench-convergence
//! --database-url postgres://postgres@127.0.0.1:5432/postgres` (a fresh database is created and
//! dropped).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use api::search::outbox;
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
    /// Changes in the first measure.
    #[arg(long, default_value_t = 10)]
    changes: usize,
    /// Renames written while an instance is killed.
    #[arg(long, default_value_t = 200)]
    writes: usize,
}

struct Instance {
    name: &'static str,
    port: u16,
    data_dir: PathBuf,
    child: Option<Child>,
}

impl Instance {
    fn start(&mut self, server: &Path, database_url: &str) -> anyhow::Result<()> {
        let log =
            std::fs::OpenOptions::new().create(true).append(true).open(self.data_dir.join("server.log"))?;
        let child = Command::new(server)
            .arg("serve")
            .env("APP_ENV", "development")
            .env("DATABASE_URL", database_url)
            .env("APP_DATA_DIR", &self.data_dir)
            .env("APP_BIND", format!("127.0.0.1:{}", self.port))
            .env("APP_METRICS_BIND", "off")
            // The benchmark asks many searches a second from one address.
            .env("APP_RATE_LIMIT_ANONYMOUS", "0")
            .env("APP_JWT_SECRET", "bench-convergence-secret-that-is-long-enough")
            .env("RUST_LOG", "info,tantivy=warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", server.display()))?;
        self.child = Some(child);
        Ok(())
    }

    /// `kill -9`.
    fn kill(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.kill();
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

async fn ready(client: &reqwest::Client, instance: &Instance) -> Option<Value> {
    let response = client.get(format!("{}/readyz", instance.url())).send().await.ok()?;
    response.json().await.ok()
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let server = match args.server {
        Some(path) => path,
        None => std::env::current_exe()?.with_file_name("bildungsmarkt"),
    };
    let name = format!("bm_bench_{}", Uuid::now_v7().simple());
    let admin = Database::connect(&args.database_url).await?;
    admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await?;
    let result = run(&server, &with_database(&args.database_url, &name), args.changes, args.writes).await;
    admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await?;
    result
}

async fn run(server: &Path, database_url: &str, changes: usize, writes: usize) -> anyhow::Result<()> {
    let secret = secrecy::SecretString::from(database_url.to_owned());
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
    println!("demo data: {} published courses, {offerings} offerings, PostgreSQL\n", published.len());

    let dirs = [tempfile::tempdir()?, tempfile::tempdir()?];
    let port = |i: u16| 18_400 + (std::process::id() % 1000) as u16 * 2 + i;
    let mut a = Instance { name: "A", port: port(0), data_dir: dirs[0].path().to_path_buf(), child: None };
    let mut b = Instance { name: "B", port: port(1), data_dir: dirs[1].path().to_path_buf(), child: None };
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
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
    for instance in [&mut a, &mut b] {
        instance.start(server, database_url)?;
    }
    for instance in [&a, &b] {
        let took = until("first fill", Duration::from_secs(120), || complete(instance)).await?;
        println!(
            "instance {}: complete {:.1} s after start (empty index, filled by itself)",
            instance.name,
            took.as_secs_f64()
        );
    }

    println!("\n| measure | value |\n|---|---|");
    // (1) A change written by another instance (neither of these is woken: the poll path).
    let mut times = Vec::new();
    for (i, id) in published.iter().take(changes).enumerate() {
        let word = word("Konvergenz", i);
        rename(&db, *id, &word).await?;
        let started = Instant::now();
        until("both instances find the change", Duration::from_secs(30), || async {
            finds(&client, &a, &word, *id).await && finds(&client, &b, &word, *id).await
        })
        .await?;
        times.push(started.elapsed());
    }
    println!("| two instances, one PostgreSQL: change → searchable on both | {} |", summary(&mut times));

    // (2) kill -9 of B in the middle of a stream of renames.
    let mut last: std::collections::HashMap<Uuid, String> = std::collections::HashMap::new();
    for i in 0..writes {
        let id = published[i % published.len()];
        let word = word("Absturz", i);
        rename(&db, id, &word).await?;
        last.insert(id, word);
        if i == writes / 2 {
            b.kill()?;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let head = outbox::head(&db).await.map_err(|e| anyhow::anyhow!("{}", e.message()))?;
    b.start(server, database_url)?;
    // A commit carries its position, so reaching the head means every change is searchable.
    let caught_up = until("B applies every change", Duration::from_secs(60), || async {
        ready(&client, &b).await.is_some_and(|r| r["search"]["position"].as_i64() >= Some(head))
    })
    .await?;
    let mut missing = 0;
    for (id, word) in &last {
        if !finds(&client, &b, word, *id).await {
            missing += 1;
        }
    }
    anyhow::ensure!(missing == 0, "{missing} renamed courses not found on B after it reached the head");
    println!(
        "| kill -9 during {writes} renames → restart until every renamed course is searchable ({} checked) | {:.2} s |",
        last.len(),
        caught_up.as_secs_f64()
    );

    // (3) The index directory deleted.
    b.kill()?;
    std::fs::remove_dir_all(b.data_dir.join("search-index"))?;
    let restarted = Instant::now();
    b.start(server, database_url)?;
    until("search complete again", Duration::from_secs(120), || complete(&b)).await?;
    let took = restarted.elapsed();
    let status = ready(&client, &b).await.unwrap_or_default();
    println!(
        "| index deleted → search complete again after restart ({total} courses, by itself; refills {}) | {:.2} s |",
        status["search"]["refills"],
        took.as_secs_f64()
    );
    for instance in [&a, &b] {
        let drift = until("no drift", Duration::from_secs(30), || async {
            ready(&client, instance).await.is_some_and(|r| {
                let s = &r["search"];
                s["position"] == s["head"] && ["missing", "stale", "extra"].iter().all(|k| s["drift"][k] == 0)
            })
        })
        .await;
        println!(
            "| instance {}: position at the head, last check without drift | {} |",
            instance.name,
            if drift.is_ok() { "yes" } else { "NO" }
        );
    }
    Ok(())
}

/// `base` with its database name replaced by `name`.
fn with_database(base: &str, name: &str) -> String {
    let (without_query, query) = base.split_once('?').map_or((base, None), |(b, q)| (b, Some(q)));
    let scheme_end = without_query.find("://").map_or(0, |i| i + 3);
    let root = match without_query[scheme_end..].find('/') {
        Some(slash) => &without_query[..scheme_end + slash],
        None => without_query,
    };
    match query {
        Some(q) => format!("{root}/{name}?{q}"),
        None => format!("{root}/{name}"),
    }
}
