//! What the public listener gives away or lets a client hold: metrics live on their own listener with
//! bounded labels, and a slow request body is cut off.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{assert_error, spawn_app, spawn_app_with};

async fn scrape(app: &crate::helpers::TestApp) -> String {
    let port = app.metrics_port.expect("metrics listener");
    let response = app.client.get(format!("http://127.0.0.1:{port}/metrics")).send().await.expect("metrics");
    assert_eq!(response.status().as_u16(), 200);
    response.text().await.expect("text")
}

fn series_count(text: &str, operation: &str, outcome: &str) -> Option<u64> {
    let series = format!(
        "bildungsmarkt_graphql_request_duration_seconds_count{{operation=\"{operation}\",outcome=\"{outcome}\"}} "
    );
    text.lines().find_map(|l| l.strip_prefix(series.as_str())).and_then(|n| n.parse().ok())
}

#[tokio::test]
async fn metrics_are_not_on_the_public_listener() {
    let app = spawn_app().await;
    let public = app.client.get(format!("{}/metrics", app.address)).send().await.expect("get");
    assert_eq!(public.status().as_u16(), 404);
    let body: Value = public.json().await.expect("json");
    assert_error(&body, "NOT_FOUND", None);
    assert_ne!(app.metrics_port, Some(app.port));
    assert!(scrape(&app).await.contains("bildungsmarkt_db_pool_connections"));

    // The metrics listener serves nothing else.
    let port = app.metrics_port.expect("metrics listener");
    let graphql = app
        .client
        .post(format!("http://127.0.0.1:{port}/graphql"))
        .json(&json!({ "query": "{ __typename }" }));
    assert_eq!(graphql.send().await.expect("post").status().as_u16(), 404);

    let off = spawn_app_with(|s| s.metrics.bind = None).await;
    assert_eq!(off.metrics_port, None);
    off.gql_ok(None, "{ skillCategories { id } }", json!({})).await;
}

#[tokio::test]
async fn operation_labels_are_bounded_and_unnamed_operations_are_anonymous() {
    let app = spawn_app_with(|s| s.metrics.max_operations = 2).await;
    for query in [
        "query Kategorien { skillCategories { id } }",
        "query Zweite { skillCategories { id } }",
        "query Aevilx1 { skillCategories { id } }",
        "query Aevilx2 { skillCategories { id } }",
        "query Kategorien { skillCategories { id } }",
    ] {
        app.gql_ok(None, query, json!({})).await;
    }
    // Unnamed: nothing of the variable list may become a label.
    for query in [
        "query($show: Boolean!) { skillCategories @include(if: $show) { id } }",
        "{ skillCategories { id } }",
    ] {
        app.gql_ok(None, query, json!({ "show": true })).await;
    }
    let text = scrape(&app).await;
    assert_eq!(series_count(&text, "Kategorien", "ok"), Some(2), "{text}");
    assert_eq!(series_count(&text, "Zweite", "ok"), Some(1), "{text}");
    assert_eq!(series_count(&text, "other", "ok"), Some(2), "{text}");
    assert_eq!(series_count(&text, "anonymous", "ok"), Some(2), "{text}");
    assert!(!text.contains("Aevilx") && !text.contains("showBoolean"), "{text}");
}

#[tokio::test]
async fn a_body_that_trickles_is_answered_408_and_the_connection_closed() {
    let app = spawn_app_with(|s| s.limits.body_read_timeout_secs = 1).await;
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", app.port)).await.expect("tcp");
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\n\
         Content-Length: 1000000\r\n\r\n{{",
        app.port
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    let started = Instant::now();
    // One byte (JSON whitespace) every 200 ms until the server answers, then read to the end.
    let mut trickle = tokio::time::interval(Duration::from_millis(200));
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    let mut answered = false;
    loop {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "still open: {}",
            String::from_utf8_lossy(&received)
        );
        tokio::select! {
            read = stream.read(&mut buffer) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    received.extend_from_slice(&buffer[..n]);
                    answered = true;
                }
            },
            _ = trickle.tick(), if !answered => {
                if stream.write_all(b" ").await.is_err() {
                    answered = true;
                }
            }
        }
    }
    let closed_after = started.elapsed();
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    let body: Value = serde_json::from_str(text.split("\r\n\r\n").nth(1).expect("body")).expect("JSON body");
    assert_error(&body, "BAD_USER_INPUT", Some("body"));
    assert!(closed_after >= Duration::from_secs(1), "cut off before the deadline: {closed_after:?}");
    println!("trickling body answered 408 and closed after {} ms (timeout 1 s)", closed_after.as_millis());

    // The server keeps serving.
    app.gql_ok(None, "{ skillCategories { id } }", json!({})).await;
}
