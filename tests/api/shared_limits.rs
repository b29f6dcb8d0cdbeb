//! Rate limits shared through Redis (issue 14, item 4): with `REDIS_URL` every instance charges one
//! bucket per caller; without it each instance has its own; a Redis that fails or does not answer
//! leaves each instance limiting on its own, without errors and without waiting.
//!
//! The tests that need a Redis server run when `TEST_REDIS_URL` is set (`.ci/run` sets it) and say
//! that they were skipped otherwise. Each uses a key prefix of its own.

use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::time::{Duration, Instant};

use api::config::Settings;
use secrecy::SecretString;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Relay, TestApp, assert_error, eventually, spawn_app_with};

/// A minute's quota for every kind of caller, and the complexity limit (which may not exceed it).
const QUOTA: u32 = 1_000;

/// Costs 400 of the 1 000 a minute: two pass, the third waits about 12 s for the refill.
fn costly() -> String {
    format!("{{ {} }}", "__typename ".repeat(400))
}

/// `TEST_REDIS_URL`, or `None` with a note that `test` was skipped.
fn redis_url(test: &str) -> Option<String> {
    let url = std::env::var("TEST_REDIS_URL").ok().filter(|u| !u.trim().is_empty());
    if url.is_none() {
        eprintln!("skipped: {test} needs Redis (set TEST_REDIS_URL, e.g. redis://127.0.0.1:6379)");
    }
    url
}

/// Low quotas, charged in the Redis at `url` (none: in the instance) under `prefix`.
fn limited(url: Option<&str>, prefix: &str) -> impl FnOnce(&mut Settings) + use<> {
    let (url, prefix) = (url.map(str::to_owned), prefix.to_owned());
    move |s| {
        s.limits.max_complexity = QUOTA as usize;
        s.limits.rate_anonymous_per_min = QUOTA;
        s.limits.rate_user_per_min = QUOTA;
        s.limits.rate_api_key_per_min = QUOTA;
        s.redis.url = url.map(SecretString::from);
        s.redis.key_prefix = prefix;
    }
}

fn unique_prefix() -> String {
    format!("bildungsmarkt-test:{}:", Uuid::new_v4().simple())
}

/// Asserts HTTP 429 with `RATE_LIMITED`, a `retryAfter` within the minute and the cost.
fn assert_refused(status: u16, body: &Value) {
    assert_eq!(status, 429, "{body}");
    assert_error(body, "RATE_LIMITED", None);
    let retry_after = body["errors"][0]["extensions"]["retryAfter"].as_u64().unwrap_or_default();
    assert!((1..=60).contains(&retry_after), "{body}");
    assert_eq!(body["errors"][0]["extensions"]["cost"], 400, "{body}");
}

async fn post(app: &TestApp, token: Option<&str>, query: &str) -> (u16, Value) {
    app.post_graphql(token, query, json!({}), &[]).await
}

async fn passes(app: &TestApp, token: Option<&str>, query: &str) {
    let (status, body) = post(app, token, query).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("errors").is_none(), "{body}");
}

/// `bildungsmarkt_rate_limit_redis_total` of `app`: charged in Redis, failed, skipped.
async fn redis_outcomes(app: &TestApp) -> [u64; 3] {
    let port = app.metrics_port.expect("metrics listener");
    let text = app
        .client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    ["charged", "failed", "skipped"].map(|outcome| {
        let series = format!("bildungsmarkt_rate_limit_redis_total{{outcome=\"{outcome}\"}} ");
        text.lines()
            .find_map(|line| line.strip_prefix(series.as_str()))
            .and_then(|count| count.parse().ok())
            .unwrap_or_else(|| panic!("no {series} in {text}"))
    })
}

#[tokio::test]
async fn a_caller_who_spent_its_quota_on_one_instance_is_refused_on_the_other() {
    let Some(url) = redis_url("a_caller_who_spent_its_quota_on_one_instance_is_refused_on_the_other") else {
        return;
    };
    let prefix = unique_prefix();
    let a = spawn_app_with(limited(Some(&url), &prefix)).await;
    let b = a.second_instance(limited(Some(&url), &prefix)).await;
    let user = a.register("geteilt@optik.de").await;
    let query = costly();

    // The client address spends 800 on A (and the registration): B refuses the next 400, so does A.
    passes(&a, None, &query).await;
    passes(&a, None, &query).await;
    let (status, body) = post(&b, None, &query).await;
    assert_refused(status, &body);
    let (status, body) = post(&a, None, &query).await;
    assert_refused(status, &body);

    // A signed-in user has one bucket of their own, whichever instance answers.
    let token = Some(user.access_token.as_str());
    passes(&b, token, &query).await;
    passes(&a, token, &query).await;
    let (status, body) = post(&b, token, &query).await;
    assert_refused(status, &body);

    let [charged_a, failed_a, skipped_a] = redis_outcomes(&a).await;
    let [charged_b, failed_b, skipped_b] = redis_outcomes(&b).await;
    assert_eq!((charged_a, charged_b), (5, 3), "every charge went through Redis");
    assert_eq!((failed_a, skipped_a, failed_b, skipped_b), (0, 0, 0, 0));
}

/// An anonymous caller uses up its quota of two costly requests on A (the third is refused), then is
/// served on B: each instance decided alone.
async fn quota_on_a_then_again_on_b(a: &TestApp, b: &TestApp) {
    let query = costly();
    passes(a, None, &query).await;
    passes(a, None, &query).await;
    let (status, body) = post(a, None, &query).await;
    assert_refused(status, &body);
    passes(b, None, &query).await;
}

#[tokio::test]
async fn without_redis_each_instance_has_buckets_of_its_own() {
    let prefix = unique_prefix();
    let a = spawn_app_with(limited(None, &prefix)).await;
    let b = a.second_instance(limited(None, &prefix)).await;
    // The same client, the same quota again on B: N instances give a caller N times its quota.
    quota_on_a_then_again_on_b(&a, &b).await;
    assert_eq!(redis_outcomes(&a).await, [0, 0, 0], "no Redis, no Redis charges");
}

#[tokio::test]
async fn an_unreachable_redis_leaves_each_instance_limiting_on_its_own() {
    // Nothing listens on port 1: every connection is refused at once.
    let unreachable = Some("redis://127.0.0.1:1");
    let prefix = unique_prefix();
    let a = spawn_app_with(limited(unreachable, &prefix)).await;
    let b = a.second_instance(limited(unreachable, &prefix)).await;
    quota_on_a_then_again_on_b(&a, &b).await;

    let [charged, failed, skipped] = redis_outcomes(&a).await;
    assert_eq!(charged, 0);
    assert!(failed >= 1, "the failure is counted: {failed}");
    assert_eq!(failed + skipped, 3, "each charge was decided locally");
}

#[tokio::test]
async fn a_redis_that_does_not_answer_costs_a_request_at_most_the_timeout() {
    // Accepts connections (the kernel does, into the backlog) and never answers.
    let silent = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("redis://{}", silent.local_addr().expect("address"));
    let prefix = unique_prefix();
    let app = spawn_app_with(|s| {
        limited(Some(&url), &prefix)(s);
        s.redis.timeout_ms = 150;
    })
    .await;
    let query = costly();
    let asked = Instant::now();
    passes(&app, None, &query).await;
    eprintln!("measurement: answered {:?} after asking, Redis silent, timeout 150 ms", asked.elapsed());
    passes(&app, None, &query).await;
    let (status, body) = post(&app, None, &query).await;
    assert_refused(status, &body);
    let [charged, failed, skipped] = redis_outcomes(&app).await;
    assert_eq!(charged, 0);
    assert!(failed >= 1 && skipped >= 1, "after the wait, the pause: {failed} failed, {skipped} skipped");
    assert_eq!(failed + skipped, 3);
    drop(silent);
}

#[tokio::test]
async fn rate_limits_are_shared_again_once_redis_is_back() {
    let Some(url) = redis_url("rate_limits_are_shared_again_once_redis_is_back") else {
        return;
    };
    let redis = redis_server(&url);
    let relay = Relay::start(0, redis);
    let port = relay.port;
    let through_relay = url.replacen(authority(&url), &format!("127.0.0.1:{port}"), 1);
    let prefix = unique_prefix();
    let a = spawn_app_with(limited(Some(&through_relay), &prefix)).await;
    let b = a.second_instance(limited(Some(&url), &prefix)).await;
    let query = costly();
    passes(&a, None, &query).await;
    assert_eq!(redis_outcomes(&a).await[0], 1);

    // Redis goes away: A answers and limits on its own (its own bucket is still full).
    let port = relay.stop();
    passes(&a, None, &query).await;
    passes(&a, None, &query).await;
    let (status, body) = post(&a, None, &query).await;
    assert_refused(status, &body);
    assert!(redis_outcomes(&a).await[1] >= 1, "the outage is counted");

    // Back: A charges Redis again within a pause or two; the shared bucket still holds what A spent
    // before the outage, so after one more 400 on A, B refuses.
    let relay = Relay::start(port, redis);
    let before = redis_outcomes(&a).await[0];
    let back = Instant::now();
    eventually(Duration::from_secs(10), "A charging Redis again", || async {
        post(&a, None, "{ __typename }").await;
        (redis_outcomes(&a).await[0] > before).then_some(())
    })
    .await;
    eprintln!("measurement: shared again {:?} after Redis came back", back.elapsed());
    passes(&a, None, &query).await;
    let (status, body) = post(&b, None, &query).await;
    assert_refused(status, &body);
    relay.stop();
}

#[tokio::test]
async fn measurement_the_latency_redis_adds_to_a_request() {
    let Some(url) = redis_url("measurement_the_latency_redis_adds_to_a_request") else {
        return;
    };
    let high = |url: Option<String>| {
        move |s: &mut Settings| {
            s.limits.rate_anonymous_per_min = 10_000_000;
            s.redis.url = url.map(SecretString::from);
            s.redis.key_prefix = unique_prefix();
        }
    };
    let local = spawn_app_with(high(None)).await;
    let shared = local.second_instance(high(Some(url))).await;
    const ROUNDS: usize = 300;
    let (mut local_times, mut shared_times) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS + 20 {
        // Alternating, so that both see the same load; the first 20 rounds warm up.
        for (app, times) in [(&local, &mut local_times), (&shared, &mut shared_times)] {
            let asked = Instant::now();
            passes(app, None, "{ __typename }").await;
            if round >= 20 {
                times.push(asked.elapsed());
            }
        }
    }
    // Medians: other processes on the machine make the means jump.
    let median = |times: &mut Vec<Duration>| {
        times.sort();
        times[times.len() / 2]
    };
    let (local_median, shared_median) = (median(&mut local_times), median(&mut shared_times));
    eprintln!(
        "measurement: {ROUNDS} sequential requests, median {local_median:?} with per-instance buckets, \
         {shared_median:?} with Redis: {:?} added per request",
        shared_median.saturating_sub(local_median)
    );
    assert_eq!(redis_outcomes(&shared).await, [ROUNDS as u64 + 20, 0, 0]);
}

/// The address of the Redis server in `url`.
fn redis_server(url: &str) -> SocketAddr {
    let host_port = authority(url);
    let with_port = if host_port.rsplit_once(':').is_some_and(|(_, port)| port.parse::<u16>().is_ok()) {
        host_port.to_owned()
    } else {
        format!("{host_port}:6379")
    };
    with_port.to_socket_addrs().ok().and_then(|mut a| a.next()).expect("Redis address")
}

/// `host[:port]` of a `redis://` URL, as written.
fn authority(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let host_port = rest.split('/').next().unwrap_or(rest);
    host_port.rsplit_once('@').map_or(host_port, |(_, h)| h)
}
