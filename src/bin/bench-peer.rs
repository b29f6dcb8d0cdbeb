//! Peer benchmark, measured in one run: catalogue reads of our server against PostGraphile v4 (the
//! npm package pinned in `bench/peer/`), both as their own processes over the same PostgreSQL
//! database with the demo catalogue grown to N courses, loaded in turn by `wrk` with the same
//! scenarios. Before timing, each scenario is sent once to both and the answers must carry the same
//! data. Reports per scenario and server: req/s, p50, p99, the server's CPU per request, its
//! PostgreSQL backends' CPU per request (both from `/proc`), their sum, and the transactions and rows
//! the database counted per request (`pg_stat_database`).
//!
//! `cargo run --release --bin bench-peer -- --courses 20000` (needs `wrk` and `npm`; the database
//! `bench_peer` on 127.0.0.1:5432 is dropped and made anew unless `--reuse`)

#[path = "shared/catalogue.rs"]
#[allow(dead_code)]
mod catalogue;
#[path = "shared/process.rs"]
#[allow(dead_code)]
mod process;
#[path = "shared/wrk.rs"]
mod wrk;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use entity::{course, offering};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, PaginatorTrait, Statement};
use serde_json::{Value, json};

const SECRET: &str = "bench-peer-secret-that-is-long-enough-for-hs256";
/// The role PostGraphile connects as: it may read the catalogue tables and nothing else.
const READER: &str = "bench_peer_reader";
const CATALOGUE_TABLES: &str = "organization, course, offering, course_skill, skill";
/// Database connections per server: our pool's size, given to PostGraphile too.
const POOL: usize = 20;

#[derive(Parser)]
struct Args {
    /// Courses in the catalogue.
    #[arg(long, default_value_t = 20_000)]
    courses: usize,
    /// Measured seconds per scenario and server (after 2 s of warm-up).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Open connections.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// wrk threads (the machine's cores are shared with the servers and PostgreSQL).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// The PostgreSQL server, as a superuser without a database name.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432")]
    postgres: String,
    /// The benchmark's own database on it; dropped and created anew unless `--reuse`.
    #[arg(long, default_value = "bench_peer")]
    database: String,
    /// Keep the database of an earlier run when it holds a catalogue.
    #[arg(long)]
    reuse: bool,
    /// PostGraphile processes (`--cluster-workers`); 1 runs its default single process.
    #[arg(long, default_value_t = 1)]
    peer_workers: usize,
    /// Runs the server from the environment; the benchmark starts itself with it.
    #[arg(long, hide = true)]
    serve: bool,
}

#[derive(Clone, Copy, PartialEq)]
enum Side {
    Ours,
    Peer,
}

impl Side {
    fn label(self) -> &'static str {
        match self {
            Side::Ours => "Bildungsmarkt",
            Side::Peer => "PostGraphile 4",
        }
    }

    /// The `application_name` of its database connections, to find its PostgreSQL backends.
    fn application_name(self) -> &'static str {
        match self {
            Side::Ours => "bench-peer-ours",
            Side::Peer => "bench-peer-postgraphile",
        }
    }
}

/// One scenario as each server spells it, and how to bring both answers to one comparable shape.
struct Scenario {
    name: &'static str,
    ours: Vec<String>,
    peer: Vec<String>,
    normalize_ours: fn(&Value) -> Option<Value>,
    normalize_peer: fn(&Value) -> Option<Value>,
}

struct Server {
    side: Side,
    process: Child,
    url: String,
}

/// What one server cost during a measured run.
struct Run {
    measured: wrk::Measured,
    server_cpu_ns: u64,
    database_cpu_ns: u64,
    counters: Counters,
}

/// `pg_stat_database` counters of the bench database.
#[derive(Clone, Copy, Default)]
struct Counters {
    transactions: i64,
    rows_returned: i64,
    rows_fetched: i64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.serve {
        return process::serve_from_environment().await;
    }
    wrk::ensure_installed()?;
    let postgraphile = ensure_peer_installed()?;
    if !args.database.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
        bail!("--database: lower-case letters, digits and underscores only");
    }

    let started = Instant::now();
    let (db, generated) = prepare_database(&args).await?;
    let courses = course::Entity::find().count(&db).await?;
    let offerings = offering::Entity::find().count(&db).await?;
    println!(
        "data: {courses} courses, {offerings} offerings in PostgreSQL database {} ({}, {:.1} s)",
        args.database,
        if generated { "generated" } else { "reused" },
        started.elapsed().as_secs_f64()
    );
    let providers = providers_with_courses(&db, 20, 10).await?;

    let dir = tempfile::tempdir()?;
    let mut servers = Vec::new();
    let result = async {
        servers.push(start_ours(&args, dir.path())?);
        servers.push(start_peer(&args, &postgraphile)?);
        let client = reqwest::Client::new();
        for server in &servers {
            wait_ready(&client, server).await?;
        }
        wait_idle(&servers[0]).await?;
        let scenarios = scenarios(&providers);
        for scenario in &scenarios {
            check_same_data(&client, &servers, scenario).await?;
        }
        measure(&args, &db, &servers, &scenarios, dir.path()).await
    }
    .await;
    for server in &mut servers {
        server.process.kill().ok();
        server.process.wait().ok();
    }
    result
}

/// The PostGraphile command from `bench/peer/node_modules`, installed from the lock file if missing.
fn ensure_peer_installed() -> anyhow::Result<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/peer");
    let cli = dir.join("node_modules/.bin/postgraphile");
    if !cli.exists() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .status()
            .context("npm is needed to install PostGraphile (apt-get install npm)")?;
        if !status.success() {
            bail!("npm ci in {} failed", dir.display());
        }
    }
    Ok(cli)
}

fn database_url(args: &Args, database: &str, application: &str) -> String {
    format!("{}/{database}?application_name={application}", args.postgres.trim_end_matches('/'))
}

/// The bench database with the grown catalogue, readable by [`READER`]; `true` when made anew.
async fn prepare_database(args: &Args) -> anyhow::Result<(DatabaseConnection, bool)> {
    let timeout = api::config::Settings::default().db_acquire_timeout();
    let connect = |database: &str| {
        let url = secrecy::SecretString::from(database_url(args, database, "bench-peer"));
        async move { api::db::connect(&url, "bench database", timeout).await }
    };
    let admin = connect("postgres").await?;
    let exists = admin
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT 1 FROM pg_database WHERE datname = $1",
            [args.database.clone().into()],
        ))
        .await?
        .is_some();
    if exists && args.reuse {
        let db = connect(&args.database).await?;
        if course::Entity::find().count(&db).await? > 0 {
            admin.close().await?;
            return Ok((db, false));
        }
        db.close().await?;
    }
    // The name is checked to be a plain identifier; identifiers cannot be bound.
    admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", args.database)).await?;
    admin.execute_unprepared(&format!("CREATE DATABASE {}", args.database)).await?;
    admin
        .execute_unprepared(&format!(
            "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{READER}') \
             THEN CREATE ROLE {READER} LOGIN; END IF; END $$"
        ))
        .await?;
    admin.close().await?;

    let db = connect(&args.database).await?;
    api::db::migrate(&db).await?;
    api::seed::skills::ensure(&db).await?;
    api::seed::demo::seed(&db).await?;
    let (demo_courses, demo_offerings) =
        (course::Entity::find().count(&db).await?, offering::Entity::find().count(&db).await?);
    let target = (args.courses as u64 * demo_offerings).div_ceil(demo_courses.max(1)) as usize;
    catalogue::replicate_catalogue(&db, target, 0).await?;
    for sql in [
        format!("GRANT CONNECT ON DATABASE {} TO {READER}", args.database),
        format!("GRANT USAGE ON SCHEMA public TO {READER}"),
        format!("GRANT SELECT ON {CATALOGUE_TABLES} TO {READER}"),
        "ANALYZE".to_owned(),
    ] {
        db.execute_unprepared(&sql).await?;
    }
    Ok((db, true))
}

/// Up to `limit` providers with at least `courses` published courses, most courses first.
async fn providers_with_courses(
    db: &DatabaseConnection,
    courses: i64,
    limit: i64,
) -> anyhow::Result<Vec<uuid::Uuid>> {
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT provider_id FROM course WHERE status = 'PUBLISHED' GROUP BY provider_id \
             HAVING count(*) >= $1 ORDER BY count(*) DESC, provider_id LIMIT $2",
            [courses.into(), limit.into()],
        ))
        .await?;
    let ids: Vec<uuid::Uuid> =
        rows.iter().map(|row| row.try_get("", "provider_id")).collect::<Result<_, _>>()?;
    if ids.is_empty() {
        bail!("no provider has {courses} published courses");
    }
    Ok(ids)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Our server in production mode, rate limits off (the load measures the server, not the limiter).
fn start_ours(args: &Args, dir: &Path) -> anyhow::Result<Server> {
    let port = free_port()?;
    let process = Command::new(std::env::current_exe()?)
        .arg("--serve")
        .env("APP_ENV", "production")
        .env("APP_DATA_DIR", dir)
        .env("DATABASE_URL", database_url(args, &args.database, Side::Ours.application_name()))
        .env("APP_BIND", format!("127.0.0.1:{port}"))
        .env("APP_JWT_SECRET", SECRET)
        .env("APP_METRICS_BIND", "off")
        .env("APP_RATE_LIMIT_ANONYMOUS", "0")
        .env("APP_RATE_LIMIT_USER", "0")
        .env("APP_RATE_LIMIT_API_KEY", "0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .context("starting our server")?;
    Ok(Server { side: Side::Ours, process, url: format!("http://127.0.0.1:{port}/graphql") })
}

/// PostGraphile as [`READER`], read-only (no mutations, only what the role may select), without its
/// per-query log, GraphiQL off, with the same pool size as ours.
fn start_peer(args: &Args, cli: &Path) -> anyhow::Result<Server> {
    let port = free_port()?;
    let reader = args.postgres.replacen("postgres@", &format!("{READER}@"), 1);
    let connection = format!(
        "{}/{}?application_name={}",
        reader.trim_end_matches('/'),
        args.database,
        Side::Peer.application_name()
    );
    let mut command = Command::new(cli);
    command
        .args(["--connection", &connection, "--schema", "public", "--host", "127.0.0.1"])
        .args(["--port", &port.to_string(), "--max-pool-size", &POOL.to_string()])
        .args([
            "--no-ignore-rbac",
            "--disable-default-mutations",
            "--disable-graphiql",
            "--disable-query-log",
        ])
        .env("NODE_ENV", "production")
        .stdout(Stdio::null());
    if args.peer_workers > 1 {
        command.args(["--cluster-workers", &args.peer_workers.to_string()]);
    }
    let process = command.spawn().context("starting PostGraphile")?;
    Ok(Server { side: Side::Peer, process, url: format!("http://127.0.0.1:{port}/graphql") })
}

/// Waits until the server answers `{ __typename }` (two minutes at most).
async fn wait_ready(client: &reqwest::Client, server: &Server) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let answer = client.post(&server.url).json(&json!({ "query": "{ __typename }" })).send().await;
        if answer.is_ok_and(|r| r.status().is_success()) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{} did not become ready in 120 s", server.side.label());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until the server's start-up work (search outbox, migrations check) is done: less than 2 %
/// of a core over a second, two minutes at most.
async fn wait_idle(server: &Server) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let before = tree_cpu_ns(server.process.id())?;
        tokio::time::sleep(Duration::from_secs(1)).await;
        if tree_cpu_ns(server.process.id())?.saturating_sub(before) < 20_000_000 {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{} stayed busy for 120 s after start-up", server.side.label());
        }
    }
}

fn scenarios(providers: &[uuid::Uuid]) -> Vec<Scenario> {
    let body = |query: &str, variables: Value| json!({ "query": query, "variables": variables }).to_string();
    vec![
        Scenario {
            name: "courses(first: 20) with provider, skills, offerings",
            ours: vec![body(
                "{ courses(first: 20) { edges { node { title price { amountCents } provider { name } \
                 skills { label } offerings { startDate venue { city } } } } } }",
                json!({}),
            )],
            peer: vec![body(
                "{ allCourses(first: 20, condition: { status: \"PUBLISHED\" }, orderBy: PRIMARY_KEY_ASC) \
                 { nodes { title priceCents organizationByProviderId { name } \
                 courseSkillsByCourseId(orderBy: POSITION_ASC) { nodes { skillBySkillId { label } } } \
                 offeringsByCourseId(orderBy: [START_DATE_ASC, ID_ASC]) { nodes { startDate city } } } } }",
                json!({}),
            )],
            normalize_ours: |answer| {
                let edges = answer.pointer("/data/courses/edges")?.as_array()?;
                edges
                    .iter()
                    .map(|edge| {
                        let course = edge.get("node")?;
                        Some(json!({
                            "title": course.get("title")?,
                            "priceCents": number(course.pointer("/price/amountCents")),
                            "provider": course.pointer("/provider/name")?,
                            "skills": course.get("skills")?.as_array()?.iter()
                                .map(|s| s.get("label").cloned()).collect::<Option<Vec<_>>>()?,
                            "offerings": course.get("offerings")?.as_array()?.iter()
                                .map(|o| Some(json!([o.get("startDate")?, o.pointer("/venue/city")])))
                                .collect::<Option<Vec<_>>>()?,
                        }))
                    })
                    .collect::<Option<Vec<_>>>()
                    .map(Value::from)
            },
            normalize_peer: |answer| {
                let nodes = answer.pointer("/data/allCourses/nodes")?.as_array()?;
                nodes
                    .iter()
                    .map(|course| {
                        Some(json!({
                            "title": course.get("title")?,
                            "priceCents": number(course.get("priceCents")),
                            "provider": course.pointer("/organizationByProviderId/name")?,
                            "skills": course.pointer("/courseSkillsByCourseId/nodes")?.as_array()?.iter()
                                .map(|s| s.pointer("/skillBySkillId/label").cloned())
                                .collect::<Option<Vec<_>>>()?,
                            "offerings": course.pointer("/offeringsByCourseId/nodes")?.as_array()?.iter()
                                .map(|o| Some(json!([o.get("startDate")?, o.get("city")])))
                                .collect::<Option<Vec<_>>>()?,
                        }))
                    })
                    .collect::<Option<Vec<_>>>()
                    .map(Value::from)
            },
        },
        Scenario {
            name: "organization(id) with 20 course titles",
            ours: providers
                .iter()
                .map(|id| {
                    body(
                        "query($id: ID!) { organization(id: $id) { name } \
                         courses(filter: { providerId: $id }, first: 20) { edges { node { title } } } }",
                        json!({ "id": id }),
                    )
                })
                .collect(),
            peer: providers
                .iter()
                .map(|id| {
                    body(
                        "query($id: UUID!) { organizationById(id: $id) { name \
                         coursesByProviderId(first: 20, condition: { status: \"PUBLISHED\" }, \
                         orderBy: PRIMARY_KEY_ASC) { nodes { title } } } }",
                        json!({ "id": id }),
                    )
                })
                .collect(),
            normalize_ours: |answer| {
                let titles = answer.pointer("/data/courses/edges")?.as_array()?.iter();
                Some(json!({
                    "name": answer.pointer("/data/organization/name")?,
                    "titles": titles.map(|e| e.pointer("/node/title").cloned()).collect::<Option<Vec<_>>>()?,
                }))
            },
            normalize_peer: |answer| {
                let organization = answer.pointer("/data/organizationById")?;
                let titles = organization.pointer("/coursesByProviderId/nodes")?.as_array()?.iter();
                Some(json!({
                    "name": organization.get("name")?,
                    "titles": titles.map(|n| n.get("title").cloned()).collect::<Option<Vec<_>>>()?,
                }))
            },
        },
    ]
}

/// A number that one server sends as a JSON number and the other as a string (PostGraphile's
/// `BigInt`), as a number; null stays null.
fn number(value: Option<&Value>) -> Value {
    match value {
        Some(Value::String(s)) => s.parse::<i64>().map_or(Value::Null, Value::from),
        Some(v) => v.clone(),
        None => Value::Null,
    }
}

/// Every body of the scenario, once to each server outside the measurement: both must answer 200
/// without GraphQL errors and with the same data, or the figures would compare different work.
async fn check_same_data(
    client: &reqwest::Client,
    servers: &[Server],
    scenario: &Scenario,
) -> anyhow::Result<()> {
    let mut items = 0;
    for (ours, peer) in scenario.ours.iter().zip(&scenario.peer) {
        let mut answers = Vec::new();
        for server in servers {
            let (body, normalize) = match server.side {
                Side::Ours => (ours, scenario.normalize_ours),
                Side::Peer => (peer, scenario.normalize_peer),
            };
            let response = client
                .post(&server.url)
                .header("Content-Type", "application/json")
                .body(body.clone())
                .send()
                .await?;
            let status = response.status();
            let answer: Value = response.json().await?;
            if !status.is_success() || answer.get("errors").is_some() {
                bail!("{} on {}: {status} {answer}", scenario.name, server.side.label());
            }
            answers.push(normalize(&answer).with_context(|| {
                format!("{} on {}: unexpected shape {answer}", scenario.name, server.side.label())
            })?);
        }
        if answers[0] != answers[1] {
            bail!("{}: the servers disagree\nours: {}\npeer: {}", scenario.name, answers[0], answers[1]);
        }
        items += courses_in(&answers[0]);
    }
    println!(
        "checked: {} — {} request(s), both 200 with the same data, {items} course(s) in all",
        scenario.name,
        scenario.ours.len()
    );
    Ok(())
}

fn courses_in(normalized: &Value) -> usize {
    match normalized {
        Value::Array(courses) => courses.len(),
        other => other.get("titles").and_then(Value::as_array).map_or(0, Vec::len),
    }
}

async fn measure(
    args: &Args,
    db: &DatabaseConnection,
    servers: &[Server],
    scenarios: &[Scenario],
    dir: &Path,
) -> anyhow::Result<()> {
    let load = wrk::Load { threads: args.threads, connections: args.connections };
    let mut results = Vec::new();
    for (n, scenario) in scenarios.iter().enumerate() {
        let mut runs = Vec::new();
        for server in servers {
            let bodies = if server.side == Side::Ours { &scenario.ours } else { &scenario.peer };
            let script = dir.join(format!("scenario-{n}-{}.lua", server.side.application_name()));
            std::fs::write(&script, wrk::script(bodies, None))?;
            wrk::run(&load, &server.url, &script, 2)?;
            let server_before = tree_cpu_ns(server.process.id())?;
            let database_before = backends_cpu_ns(db, &args.database, server.side).await?;
            let counters_before = counters(db, &args.database).await?;
            let measured = wrk::run(&load, &server.url, &script, args.seconds)?;
            let server_cpu_ns = tree_cpu_ns(server.process.id())?.saturating_sub(server_before);
            let database_after = backends_cpu_ns(db, &args.database, server.side).await?;
            let counters_after = counters(db, &args.database).await?;
            let database_cpu_ns = database_after
                .iter()
                .map(|(pid, ns)| ns.saturating_sub(database_before.get(pid).copied().unwrap_or(0)))
                .sum();
            let counters = Counters {
                transactions: counters_after.transactions - counters_before.transactions,
                rows_returned: counters_after.rows_returned - counters_before.rows_returned,
                rows_fetched: counters_after.rows_fetched - counters_before.rows_fetched,
            };
            runs.push(Run { measured, server_cpu_ns, database_cpu_ns, counters });
        }
        results.push((scenario.name, runs));
    }
    report(args, &results);
    Ok(())
}

fn report(args: &Args, results: &[(&str, Vec<Run>)]) {
    println!(
        "\nwrk: {} thread(s), {} connections, {} s per scenario and server after 2 s warm-up; our server in \
         production mode, PostGraphile with {} process(es); both with {POOL} database connections\n",
        args.threads, args.connections, args.seconds, args.peer_workers
    );
    println!(
        "| scenario | server | req/s | p50 | p99 | server CPU per request | PostgreSQL CPU per request | \
         total CPU per request | transactions per request | rows returned / fetched per request |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for (name, runs) in results {
        for (run, side) in runs.iter().zip([Side::Ours, Side::Peer]) {
            let m = &run.measured;
            let per_request = |ns: u64| ns as f64 / 1000.0 / m.requests.max(1) as f64;
            let per = |count: i64| count as f64 / m.requests.max(1) as f64;
            let failed = if m.failed > 0 { format!(" ({} failed)", m.failed) } else { String::new() };
            println!(
                "| {name} | {} | {:.0}{failed} | {:.2} ms | {:.2} ms | {:.0} µs | {:.0} µs | {:.0} µs | {:.2} | {:.0} / {:.0} |",
                side.label(),
                m.requests_per_sec,
                m.p50_ms,
                m.p99_ms,
                per_request(run.server_cpu_ns),
                per_request(run.database_cpu_ns),
                per_request(run.server_cpu_ns + run.database_cpu_ns),
                per(run.counters.transactions),
                per(run.counters.rows_returned),
                per(run.counters.rows_fetched),
            );
        }
    }
    println!("\n| scenario | req/s ours ÷ PostGraphile | total CPU per request ours ÷ PostGraphile |");
    println!("|---|---|---|");
    for (name, runs) in results {
        let [ours, peer] = runs.as_slice() else { continue };
        let total = |run: &Run| {
            (run.server_cpu_ns + run.database_cpu_ns) as f64 / run.measured.requests.max(1) as f64
        };
        println!(
            "| {name} | {:.2} | {:.2} |",
            ours.measured.requests_per_sec / peer.measured.requests_per_sec,
            total(ours) / total(peer)
        );
    }
}

/// CPU time of the process and all its descendants (PostGraphile's cluster workers), in ns.
fn tree_cpu_ns(root: u32) -> anyhow::Result<u64> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for entry in std::fs::read_dir("/proc")? {
        let Some(pid) = entry?.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        // The command name in parentheses may hold spaces; the parent's pid is the second field after it.
        let parent = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse().ok());
        if let Some(parent) = parent {
            children.entry(parent).or_default().push(pid);
        }
    }
    let (mut total, mut pending) = (0, vec![root]);
    while let Some(pid) = pending.pop() {
        total += process::cpu_ns(pid).unwrap_or(0); // a process that ended meanwhile
        pending.extend(children.get(&pid).into_iter().flatten());
    }
    Ok(total)
}

/// CPU time so far of each PostgreSQL backend serving `side` on the bench database, by pid.
async fn backends_cpu_ns(
    db: &DatabaseConnection,
    database: &str,
    side: Side,
) -> anyhow::Result<HashMap<u32, u64>> {
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = $2",
            [database.into(), side.application_name().into()],
        ))
        .await?;
    let mut out = HashMap::new();
    for row in rows {
        let pid: i32 = row.try_get("", "pid")?;
        if let Ok(ns) = process::cpu_ns(pid as u32) {
            out.insert(pid as u32, ns);
        }
    }
    Ok(out)
}

/// The bench database's counters. Backends publish them at most once a second while busy, so a
/// window of 10 s is right to within a few per cent.
async fn counters(db: &DatabaseConnection, database: &str) -> anyhow::Result<Counters> {
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT xact_commit + xact_rollback AS transactions, tup_returned, tup_fetched \
             FROM pg_stat_database WHERE datname = $1",
            [database.into()],
        ))
        .await?
        .context("no statistics for the bench database")?;
    Ok(Counters {
        transactions: row.try_get("", "transactions")?,
        rows_returned: row.try_get("", "tup_returned")?,
        rows_fetched: row.try_get("", "tup_fetched")?,
    })
}
