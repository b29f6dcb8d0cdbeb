//! What a hostile client costs the server, measured from outside: the server in its own process in
//! production mode with the demo data, then
//! - the fragment bomb seen in testing (one inline fragment spreading a fragment of 440 `__typename`s
//!   38 000 times) and a doubling-fragment chain of 2^30 fields: time to the refusal, and the
//!   server's memory before and after;
//! - `/healthz` while two bombs are in flight;
//! - 100 concurrent failed sign-ins with unknown emails, each from its own address (so every one is
//!   hashed, none throttled): the server's memory after them.
//!
//! `cargo run --release --bin bench-abuse`

#[path = "shared/documents.rs"]
mod documents;
#[path = "shared/process.rs"]
#[allow(dead_code)]
mod process;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use documents::{doubling_fragments, fragment_bomb};
use futures_util::future::join_all;
use process::rss_kib;
use serde_json::{Value, json};

#[derive(Parser)]
struct Args {
    /// Times each document is sent.
    #[arg(long, default_value_t = 20)]
    rounds: usize,
    /// Concurrent failed sign-ins.
    #[arg(long, default_value_t = 100)]
    logins: usize,
    /// Runs the server from the environment; the benchmark starts itself with it.
    #[arg(long, hide = true)]
    serve: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.serve {
        return process::serve_from_environment().await;
    }
    let dir = tempfile::tempdir()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut server = Command::new(std::env::current_exe()?)
        .arg("--serve")
        .env("APP_ENV", "production")
        .env("APP_DATA_DIR", dir.path())
        .env("APP_BIND", format!("127.0.0.1:{port}"))
        .env("APP_JWT_SECRET", "bench-abuse-secret-that-is-long-enough-for-hs256")
        .env("APP_RATE_LIMIT_ANONYMOUS", "0")
        // Each sign-in comes from its own address, so none is throttled and every one is hashed.
        .env("APP_TRUSTED_PROXY_HOPS", "1")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .spawn()
        .context("starting the server")?;
    let result = measure(&args, port, server.id()).await;
    server.kill().ok();
    server.wait().ok();
    result
}

async fn measure(args: &Args, port: u16, pid: u32) -> anyhow::Result<()> {
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder().timeout(Duration::from_secs(120)).build()?;
    process::wait_ready(&client, &base).await?;
    println!("server idle: RSS {} MiB", rss_kib(pid, "VmRSS")? / 1024);

    let documents = [
        ("fragment bomb (38 000 × 440 fields)", fragment_bomb(38_000)),
        ("fragment bomb under the text limit (11 000 × 440 fields)", fragment_bomb(11_000)),
        ("doubling fragments (2^30 fields)", doubling_fragments(30)),
    ];
    for (name, query) in &documents {
        let body = json!({ "query": query }).to_string();
        let rss_before = rss_kib(pid, "VmRSS")?;
        let mut times = Vec::with_capacity(args.rounds);
        for _ in 0..args.rounds {
            let started = Instant::now();
            let answer = post(&client, &base, body.clone()).await?;
            times.push(started.elapsed());
            let code = &answer["errors"][0]["extensions"]["code"];
            if code != "GRAPHQL_VALIDATION_FAILED" {
                bail!("{name} was not refused: {answer}");
            }
        }
        times.sort();
        println!(
            "{name}, {} KB: refused in p50 {:.1} ms, max {:.1} ms; RSS {} → {} MiB (peak {} MiB)",
            body.len() / 1024,
            ms(times[times.len() / 2]),
            ms(times[times.len() - 1]),
            rss_before / 1024,
            rss_kib(pid, "VmRSS")? / 1024,
            rss_kib(pid, "VmHWM")? / 1024,
        );
    }

    let bombs = (0..2).map(|_| post(&client, &base, json!({ "query": fragment_bomb(38_000) }).to_string()));
    let health = async {
        let started = Instant::now();
        client.get(format!("{base}/healthz")).send().await.map(|_| started.elapsed())
    };
    let (_, health) = tokio::join!(join_all(bombs), health);
    println!("/healthz during two bombs: {:.1} ms", ms(health?));

    let started = Instant::now();
    let logins = (0..args.logins).map(|i| {
        let query = "mutation($input: LoginInput!) { login(input: $input) { accessToken } }";
        let input = json!({ "email": format!("niemand{i}@example.de"), "password": "falsch-geraten-123" });
        let body = json!({ "query": query, "variables": { "input": input } }).to_string();
        let request = client
            .post(format!("{base}/graphql"))
            .header("content-type", "application/json")
            .header("x-forwarded-for", format!("198.51.100.{}", i % 250 + 1))
            .body(body);
        async move { anyhow::Ok(request.send().await?.json::<Value>().await?) }
    });
    let answers = join_all(logins).await;
    let mut codes = std::collections::BTreeMap::<String, usize>::new();
    for answer in answers {
        let code = answer?["errors"][0]["extensions"]["code"].as_str().unwrap_or("none").to_owned();
        *codes.entry(code).or_default() += 1;
    }
    println!(
        "{} concurrent failed sign-ins in {:.1} s ({codes:?}): RSS {} MiB, peak {} MiB",
        args.logins,
        started.elapsed().as_secs_f64(),
        rss_kib(pid, "VmRSS")? / 1024,
        rss_kib(pid, "VmHWM")? / 1024,
    );
    Ok(())
}

async fn post(client: &reqwest::Client, base: &str, body: String) -> anyhow::Result<Value> {
    let response = client
        .post(format!("{base}/graphql"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await?;
    Ok(response.json().await?)
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
