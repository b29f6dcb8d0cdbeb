//! The server process a benchmark started: readiness, CPU time and memory from `/proc`.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// The server as `bildungsmarkt serve` runs it, from the environment: a benchmark starts itself with
/// `--serve`, so that the server it measures is built with the benchmark's own profile.
pub async fn serve_from_environment() -> anyhow::Result<()> {
    let settings = api::config::Settings::load(None)?;
    api::telemetry::init(settings.log_format);
    Ok(api::startup::Application::build(settings).await?.run_until_stopped().await?)
}

/// Waits until `base/readyz` answers 200 (two minutes at most).
pub async fn wait_ready(client: &reqwest::Client, base: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !client.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status().is_success()) {
        if Instant::now() > deadline {
            bail!("the server did not become ready in 120 s");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

/// CPU time the process has used so far, all its threads, in ns (`/proc/<pid>/task/*/schedstat`).
pub fn cpu_ns(pid: u32) -> anyhow::Result<u64> {
    let mut total = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let Ok(schedstat) = std::fs::read_to_string(task?.path().join("schedstat")) else {
            continue; // a thread that ended meanwhile
        };
        total += schedstat.split_whitespace().next().and_then(|ns| ns.parse::<u64>().ok()).unwrap_or(0);
    }
    Ok(total)
}

/// A `/proc/<pid>/status` field in KiB.
pub fn rss_kib(pid: u32, field: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("no {field} for process {pid}"))
}
