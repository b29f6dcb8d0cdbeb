//! The memory a login flood costs, measured on the real server process: the built binary in
//! production mode, 100 concurrent failed sign-ins with unknown emails, then the process's peak
//! resident memory (`VmHWM`) from `/proc`. Each argon2 hash fills 19 MiB; unbounded, 100 at once
//! would need about 2 GB.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::json;

use crate::helpers::{JWT_SECRET, eventually};

const LIMIT_KB: u64 = 150 * 1024;

/// The server process, killed when the test ends however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `VmRSS`/`VmHWM`-style line of `/proc/<pid>/status`, in kB.
fn status_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.trim().strip_suffix("kB")?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{field} missing from /proc/{pid}/status"))
}

#[tokio::test]
async fn a_hundred_concurrent_failed_logins_keep_the_server_under_150_mb() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let port =
        std::net::TcpListener::bind("127.0.0.1:0").expect("free port").local_addr().expect("addr").port();
    let child = Command::new(env!("CARGO_BIN_EXE_bildungsmarkt"))
        .arg("serve")
        .env_clear()
        .current_dir(data_dir.path())
        .env("APP_ENV", "production")
        .env("APP_DATA_DIR", data_dir.path())
        .env("APP_BIND", format!("127.0.0.1:{port}"))
        .env("APP_JWT_SECRET", JWT_SECRET)
        .env("APP_TRUSTED_PROXY_HOPS", "1")
        .env("APP_LOG_FORMAT", "json")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the server binary");
    let server = Server(child);
    let pid = server.0.id();
    let client = reqwest::Client::builder().timeout(Duration::from_secs(120)).build().expect("client");
    let base = format!("http://127.0.0.1:{port}");
    eventually(Duration::from_secs(60), "the server answers /healthz", || {
        let request = client.get(format!("{base}/healthz")).send();
        async move { request.await.ok().filter(|r| r.status().is_success()).map(|_| ()) }
    })
    .await;
    let idle_kb = status_kb(pid, "VmRSS:");

    // Each from its own address, so that no throttle answers before a hash is computed.
    let logins = (0..100).map(|i| {
        let request = client
            .post(format!("{base}/graphql"))
            .header("X-Forwarded-For", format!("10.1.0.{}", i + 1))
            .json(&json!({
                "query": "mutation($e: String!) { login(input: { email: $e, password: \"falsch-geraten-1\" }) { accessToken } }",
                "variables": { "e": format!("niemand{i}@example.de") },
            }))
            .send();
        async move {
            let body: serde_json::Value = request.await.expect("login request").json().await.expect("JSON");
            body["errors"][0]["extensions"]["code"].as_str().unwrap_or_default().to_owned()
        }
    });
    let codes = futures_util::future::join_all(logins).await;
    let hashed = codes.iter().filter(|c| *c == "UNAUTHENTICATED").count();
    assert!(codes.iter().all(|c| c == "UNAUTHENTICATED" || c == "RATE_LIMITED"), "{codes:?}");
    assert!(hashed > 0, "{codes:?}");

    let peak_kb = status_kb(pid, "VmHWM:");
    let after_kb = status_kb(pid, "VmRSS:");
    eprintln!(
        "login flood: {hashed} of 100 hashed; RSS idle {} MB, after {} MB, peak {} MB",
        idle_kb / 1024,
        after_kb / 1024,
        peak_kb / 1024
    );
    assert!(peak_kb < LIMIT_KB, "peak RSS {peak_kb} kB over {LIMIT_KB} kB");
}
