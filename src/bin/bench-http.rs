//! HTTP benchmark, measured in one run: the server in its own process on the embedded defaults
//! (SQLite + embedded index) in production mode with N courses, loaded by `wrk` — a separate
//! process — over loopback. Reports req/s, p50 and p99 for
//! (a) a raw actix-web JSON route in the same binary (`APP_DIAGNOSTICS`, off unless benchmarking),
//! (b) `{ course(id) { title } }`, (c) `courses(first: 20)` with relations, (d) `searchCourses`,
//! (e) `matchesForNeed`, each as a ratio to (a); the server's CPU time per request (wrk shares the
//! cores, so this is the server's own cost, apart from the load generator's); and its memory (RSS).
//!
//! `cargo run --release --bin bench-http -- --courses 100000` (needs `wrk`: `apt-get install wrk`)

#[path = "shared/catalogue.rs"]
#[allow(dead_code)]
mod catalogue;
#[path = "shared/process.rs"]
mod process;
#[path = "shared/wrk.rs"]
mod wrk;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use anyhow::{Context, bail};
use api::search::SearchBackend;
use api::search::embedded::EmbeddedIndex;
use api::search::worker::all_documents;
use clap::Parser;
use entity::course::{self, CourseStatus};
use entity::offering;
use entity::qualification_need::{self as need, NeedStatus};
use process::{cpu_ns, rss_kib};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect};
use serde_json::{Value, json};

const SECRET: &str = "bench-http-secret-that-is-long-enough-for-hs256";

#[derive(Parser)]
struct Args {
    /// Courses in the catalogue.
    #[arg(long, default_value_t = 100_000)]
    courses: usize,
    /// Measured seconds per scenario (after 2 s of warm-up).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Open connections.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// wrk threads (the machine's cores are shared with the server).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Keep the generated data here and reuse it on the next run (default: a temporary directory).
    #[arg(long)]
    data: Option<std::path::PathBuf>,
    /// Reads by id through the pool instead of on the calling thread (`APP_DB_LOCAL_READS=false`).
    #[arg(long)]
    pool_reads: bool,
    /// Runs the server from the environment; the benchmark starts itself with it.
    #[arg(long, hide = true)]
    serve: bool,
}

struct Scenario {
    name: &'static str,
    path: &'static str,
    /// POST bodies, used in turn; none for a GET.
    bodies: Vec<String>,
    token: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.serve {
        return process::serve_from_environment().await;
    }
    wrk::ensure_installed()?;

    let temporary = tempfile::tempdir()?;
    let dir = args.data.clone().unwrap_or_else(|| temporary.path().to_path_buf());
    let database = dir.join("bench.db");
    let reuse = database.exists();
    let url = format!("sqlite://{}?mode=rwc", database.display());
    let db = api::db::connect(
        &secrecy::SecretString::from(url.clone()),
        "bench database",
        api::config::Settings::default().db_acquire_timeout(),
    )
    .await?;
    api::db::migrate(&db).await?;
    let started = Instant::now();
    if !reuse {
        api::seed::skills::ensure(&db).await?;
        api::seed::demo::seed(&db).await?;
        let (demo_courses, demo_offerings) =
            (course::Entity::find().count(&db).await?, offering::Entity::find().count(&db).await?);
        let target = (args.courses as u64 * demo_offerings).div_ceil(demo_courses.max(1)) as usize;
        catalogue::replicate_catalogue(&db, target, 0).await?;
        let index = EmbeddedIndex::open(&dir.join("search-index"))?;
        // At the log's head, so that the server's worker does not refill it.
        let position =
            api::search::outbox::head(&db).await.map_err(|e| anyhow::anyhow!("{}", e.message()))?;
        index
            .rebuild(
                all_documents(&db).await.map_err(|e| anyhow::anyhow!("{}", e.message()))?,
                Some(position),
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let courses = course::Entity::find().count(&db).await?;
    let offerings = offering::Entity::find().count(&db).await?;
    println!(
        "data: {courses} courses, {offerings} offerings, indexed ({}, {:.1} s)",
        if reuse { "reused" } else { "generated" },
        started.elapsed().as_secs_f64()
    );

    let course_ids: Vec<uuid::Uuid> = course::Entity::find()
        .select_only()
        .column(course::Column::Id)
        .filter(course::Column::Status.eq(CourseStatus::Published))
        .limit(200)
        .into_tuple()
        .all(&db)
        .await?;
    let owners = catalogue::owners(&db).await?;
    let need = need::Entity::find()
        .filter(need::Column::Status.eq(NeedStatus::Open))
        .all(&db)
        .await?
        .into_iter()
        .find(|n| owners.contains_key(&n.firm_id))
        .context("no open demo need")?;
    let auth = api::config::AuthSettings {
        jwt_secret: Some(secrecy::SecretString::from(SECRET)),
        ..Default::default()
    };
    let keys = api::auth::JwtKeys::from_settings(&auth, &dir)?;
    let token = keys.issue(owners[&need.firm_id])?;
    db.close().await?;

    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut server = Command::new(std::env::current_exe()?)
        .arg("--serve")
        .env("APP_ENV", "production")
        .env("APP_DATA_DIR", &dir)
        .env("APP_DB_LOCAL_READS", (!args.pool_reads).to_string())
        .env("DATABASE_URL", &url)
        .env("APP_BIND", format!("127.0.0.1:{port}"))
        .env("APP_JWT_SECRET", SECRET)
        .env("APP_DIAGNOSTICS", "true")
        .env("APP_METRICS_BIND", "off")
        .env("APP_RATE_LIMIT_ANONYMOUS", "0")
        .env("APP_RATE_LIMIT_USER", "0")
        .env("APP_RATE_LIMIT_API_KEY", "0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .context("starting the server")?;
    let result = measure(&args, port, &server, &dir, &course_ids, need.id, &token).await;
    server.kill().ok();
    server.wait().ok();
    result
}

async fn measure(
    args: &Args,
    port: u16,
    server: &Child,
    dir: &Path,
    course_ids: &[uuid::Uuid],
    need_id: uuid::Uuid,
    token: &str,
) -> anyhow::Result<()> {
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    process::wait_ready(&client, &base).await?;
    let idle_rss = rss_kib(server.id(), "VmRSS")?;

    let body = |query: &str, variables: Value| json!({ "query": query, "variables": variables }).to_string();
    let scenarios = vec![
        Scenario { name: "(a) raw actix-web JSON route", path: "/bench/raw", bodies: vec![], token: None },
        Scenario {
            name: "(a') { __typename }: GraphQL, no database",
            path: "/graphql",
            bodies: vec![body("{ __typename }", json!({}))],
            token: None,
        },
        Scenario {
            name: "(b) { course(id) { title } }",
            path: "/graphql",
            bodies: course_ids
                .iter()
                .map(|id| body("query($id: ID!) { course(id: $id) { title } }", json!({ "id": id })))
                .collect(),
            token: None,
        },
        Scenario {
            name: "(c) courses(first: 20) with provider, skills, offerings",
            path: "/graphql",
            bodies: vec![body(
                "{ courses(first: 20) { edges { node { title price { amountCents } provider { name } skills { label } offerings { startDate venue { city } } } } } }",
                json!({}),
            )],
            token: None,
        },
        Scenario {
            name: "(d) searchCourses, first 20",
            path: "/graphql",
            bodies: ["Schweißen", "SPS Programmierung", "Pflege", "Projektmanagment", "Gabelstapler"]
                .iter()
                .map(|q| {
                    body(
                        "query($q: String) { searchCourses(query: $q, first: 20) { totalHits hits { course { title } } } }",
                        json!({ "q": q }),
                    )
                })
                .collect(),
            token: None,
        },
        Scenario {
            name: "(e) matchesForNeed, first 20",
            path: "/graphql",
            bodies: vec![body(
                "query($n: ID!) { matchesForNeed(needId: $n, first: 20) { edges { node { score course { title } } } } }",
                json!({ "n": need_id }),
            )],
            token: Some(token.to_owned()),
        },
    ];

    let mut results = Vec::new();
    for scenario in &scenarios {
        check_once(&client, &base, scenario).await?;
        let script = dir.join(format!("scenario-{}.lua", results.len()));
        std::fs::write(&script, wrk::script(&scenario.bodies, scenario.token.as_deref()))?;
        let url = format!("{base}{}", scenario.path);
        let load = wrk::Load { threads: args.threads, connections: args.connections };
        wrk::run(&load, &url, &script, 2)?;
        let cpu_before = cpu_ns(server.id())?;
        let measured = wrk::run(&load, &url, &script, args.seconds)?;
        // The server's CPU time per request (all its threads), in µs.
        let cpu_us =
            cpu_ns(server.id())?.saturating_sub(cpu_before) as f64 / 1000.0 / measured.requests.max(1) as f64;
        results.push((scenario.name, measured, cpu_us));
    }
    let rss = rss_kib(server.id(), "VmRSS")?;
    let peak = rss_kib(server.id(), "VmHWM")?;
    let (anonymous, file) = (rss_kib(server.id(), "RssAnon")?, rss_kib(server.id(), "RssFile")?);

    println!(
        "\nwrk: {} thread(s), {} connections, {} s per scenario after 2 s warm-up; server in production mode\n",
        args.threads, args.connections, args.seconds
    );
    println!("| scenario | req/s | p50 | p99 | req/s ÷ (a) | server CPU per request | (a)'s CPU ÷ this |");
    println!("|---|---|---|---|---|---|---|");
    let (raw, raw_cpu) = results.first().map_or((1.0, 1.0), |(_, m, cpu_us)| (m.requests_per_sec, *cpu_us));
    for (name, m, cpu_us) in &results {
        let failed = if m.failed > 0 { format!(" ({} failed)", m.failed) } else { String::new() };
        println!(
            "| {name} | {:.0}{failed} | {:.2} ms | {:.2} ms | {:.2} | {:.1} µs | {:.2} |",
            m.requests_per_sec,
            m.p50_ms,
            m.p99_ms,
            m.requests_per_sec / raw,
            cpu_us,
            raw_cpu / cpu_us
        );
    }
    println!(
        "\nserver memory: {:.0} MiB resident when idle, {:.0} MiB after the load (peak {:.0} MiB): \
         {:.0} MiB anonymous (heap), {:.0} MiB file-backed (memory-mapped SQLite file and search \
         index, counted once per mapping; the kernel can drop these pages)",
        idle_rss as f64 / 1024.0,
        rss as f64 / 1024.0,
        peak as f64 / 1024.0,
        anonymous as f64 / 1024.0,
        file as f64 / 1024.0
    );
    Ok(())
}

/// One request outside the measurement: the scenario must answer 200 without GraphQL errors, or the
/// figures would measure error responses.
async fn check_once(client: &reqwest::Client, base: &str, scenario: &Scenario) -> anyhow::Result<()> {
    let url = format!("{base}{}", scenario.path);
    let request = match scenario.bodies.first() {
        Some(body) => client.post(&url).header("Content-Type", "application/json").body(body.clone()),
        None => client.get(&url),
    };
    let request = match &scenario.token {
        Some(token) => request.bearer_auth(token),
        None => request,
    };
    let response = request.send().await?;
    let status = response.status();
    let body: Value = response.json().await?;
    if !status.is_success() || body.get("errors").is_some() {
        bail!("{}: {status} {body}", scenario.name);
    }
    Ok(())
}
