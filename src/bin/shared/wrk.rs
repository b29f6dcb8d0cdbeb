//! Load from `wrk`, a separate process: a Lua script that sends a scenario's bodies in turn, and
//! wrk's req/s, latency percentiles and failures read from its output. Shared by `bench-http` and
//! `bench-peer`.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

/// How wrk loads a server.
pub struct Load {
    pub threads: usize,
    pub connections: usize,
}

pub struct Measured {
    pub requests_per_sec: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub failed: u64,
    pub requests: u64,
}

/// Fails with the install hint when wrk is missing.
pub fn ensure_installed() -> anyhow::Result<()> {
    Command::new("wrk")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .context("wrk is needed for the load (apt-get install wrk)")?;
    Ok(())
}

/// A wrk script sending `bodies` in turn as JSON POSTs (a GET when there are none).
pub fn script(bodies: &[String], token: Option<&str>) -> String {
    let mut script = String::new();
    if let Some(token) = token {
        script.push_str(&format!("wrk.headers[\"Authorization\"] = \"Bearer {token}\"\n"));
    }
    if bodies.is_empty() {
        return script;
    }
    script.push_str("wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\n");
    script.push_str("local bodies = {\n");
    for body in bodies {
        script.push_str(&format!("  [==[{body}]==],\n"));
    }
    script.push_str(
        "}\nlocal i = 0\nrequest = function()\n  i = i % #bodies + 1\n  return wrk.format(nil, nil, nil, bodies[i])\nend\n",
    );
    script
}

pub fn run(load: &Load, url: &str, script: &Path, seconds: u64) -> anyhow::Result<Measured> {
    let output = Command::new("wrk")
        .arg(format!("-t{}", load.threads))
        .arg(format!("-c{}", load.connections))
        .arg(format!("-d{seconds}s"))
        .arg("--latency")
        .arg("--timeout")
        .arg("10s")
        .arg("-s")
        .arg(script)
        .arg(url)
        .output()
        .context("running wrk")?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!("wrk failed: {text}{}", String::from_utf8_lossy(&output.stderr));
    }
    parse(&text).with_context(|| format!("reading wrk's output:\n{text}"))
}

fn parse(text: &str) -> anyhow::Result<Measured> {
    let mut requests_per_sec = None;
    let (mut p50, mut p99) = (None, None);
    let mut failed = 0;
    let mut requests = None;
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["Requests/sec:", value] => requests_per_sec = value.parse().ok(),
            [n, "requests", "in", ..] => requests = n.parse().ok(),
            ["50%", value] => p50 = millis(value),
            ["99%", value] => p99 = millis(value),
            ["Non-2xx", "or", "3xx", "responses:", n] => failed += n.parse::<u64>().unwrap_or(0),
            ["Socket", "errors:", rest @ ..] => {
                failed += rest.iter().filter_map(|w| w.trim_end_matches(',').parse::<u64>().ok()).sum::<u64>()
            }
            _ => {}
        }
    }
    Ok(Measured {
        requests_per_sec: requests_per_sec.context("no Requests/sec")?,
        p50_ms: p50.context("no 50% latency")?,
        p99_ms: p99.context("no 99% latency")?,
        failed,
        requests: requests.context("no request count")?,
    })
}

/// wrk's latency (`812.00us`, `1.23ms`, `2.01s`) in milliseconds.
fn millis(value: &str) -> Option<f64> {
    let split = value.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = value.split_at(split);
    let number: f64 = number.parse().ok()?;
    match unit {
        "us" => Some(number / 1000.0),
        "ms" => Some(number),
        "s" => Some(number * 1000.0),
        "m" => Some(number * 60_000.0),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_wrk_output() {
        let text = "Running 10s test @ http://127.0.0.1:1/graphql
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.71ms    1.02ms  21.45ms   80.12%
    Req/Sec    17.11k     1.20k   19.01k    71.00%
  Latency Distribution
     50%    1.71ms
     75%    2.10ms
     90%    2.90ms
     99%    6.84ms
  170310 requests in 10.00s, 44.35MB read
  Non-2xx or 3xx responses: 3
Requests/sec:  17031.00
Transfer/sec:      4.43MB
";
        let measured = parse(text).expect("a complete wrk output");
        assert_eq!(measured.requests, 170_310);
        assert_eq!(measured.failed, 3);
        assert!((measured.requests_per_sec - 17_031.0).abs() < 1e-9);
        assert!((measured.p50_ms - 1.71).abs() < 1e-9 && (measured.p99_ms - 6.84).abs() < 1e-9);
        assert!((millis("812.00us").expect("µs") - 0.812).abs() < 1e-9);
        assert!((millis("2.01s").expect("s") - 2010.0).abs() < 1e-9);
        assert_eq!(millis("3 parsecs"), None);
    }
}
