//! The bounds of `/graphql/ws`: init deadline, operations per connection, connections per address
//! and in total, keep-alive, and coded errors.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use futures_util::SinkExt;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::{self, Message};

use crate::helpers::{spawn_app, spawn_app_with};
use crate::subscriptions::{Socket, connect, next_message, upgrade};

/// The next frame that is not a ping: a JSON message, or the close frame's code and reason.
async fn next_frame(socket: &mut Socket, wait: Duration) -> Option<Result<Value, (u16, String)>> {
    use futures_util::StreamExt;
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, socket.next()).await.ok()??.ok()? {
            Message::Text(text) => return Some(Ok(serde_json::from_str(&text).expect("JSON message"))),
            Message::Close(frame) => {
                return Some(Err(frame
                    .map(|f| (f.code.into(), f.reason.to_string()))
                    .unwrap_or((1005, String::new()))));
            }
            _ => continue,
        }
    }
}

/// The first error of a `next` (or `error`) message.
fn first_error(message: &Value) -> &Value {
    if message["type"] == "error" { &message["payload"][0] } else { &message["payload"]["errors"][0] }
}

async fn acknowledged(app: &crate::helpers::TestApp, init: Value) -> Socket {
    let mut socket = connect(app, init).await;
    let ack = next_message(&mut socket, Duration::from_secs(10)).await.expect("ack");
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    socket
}

#[tokio::test]
async fn a_connection_without_connection_init_is_closed_with_4408() {
    let app = spawn_app_with(|s| s.websocket.init_timeout_ms = 300).await;
    // Opened first, so its deadline passes before the idle one's.
    let mut initialised = acknowledged(&app, json!({})).await;

    // The server's deadline starts when it accepts the upgrade, before the client reads the 101.
    let opened = Instant::now();
    let mut idle = upgrade(&app).await.expect("upgrade");
    let frame = next_frame(&mut idle, Duration::from_secs(10)).await.expect("a close frame");
    let closed_after = opened.elapsed();
    assert_eq!(frame, Err((4408, "Connection initialisation timeout".to_owned())));
    assert!(closed_after >= Duration::from_millis(300), "closed before the deadline: {closed_after:?}");
    println!("idle WebSocket closed after {} ms (init timeout 300 ms)", closed_after.as_millis());

    // The connection that initialised in time stays open and answers.
    initialised.send(Message::text(json!({ "type": "ping" }).to_string())).await.expect("ping");
    let pong = next_frame(&mut initialised, Duration::from_secs(10)).await.expect("answer");
    assert_eq!(pong.ok().map(|m| m["type"].clone()), Some(json!("pong")));
}

#[tokio::test]
async fn the_21st_subscription_on_a_connection_is_refused_while_20_run() {
    let app = spawn_app().await;
    let owner = app.register("chefin@firma.de").await;
    let org = app.create_organization(&owner, "FIRM", "Laborbedarf Jena").await;
    let mut socket =
        acknowledged(&app, json!({ "Authorization": format!("Bearer {}", owner.access_token) })).await;
    let query = "subscription($org: ID!) { organizationEvents(organizationId: $org) { eventType } }";
    for id in 1..=21 {
        let subscribe = json!({
            "id": id.to_string(), "type": "subscribe",
            "payload": { "query": query, "variables": { "org": org } }
        });
        socket.send(Message::text(subscribe.to_string())).await.expect("subscribe");
    }
    let refused = next_message(&mut socket, Duration::from_secs(10)).await.expect("refusal");
    assert_eq!(refused["id"], "21", "{refused}");
    assert_eq!(first_error(&refused)["extensions"]["code"], "RATE_LIMITED", "{refused}");
    assert_eq!(first_error(&refused)["extensions"]["limit"], 20, "{refused}");
    let complete = next_message(&mut socket, Duration::from_secs(10)).await.expect("complete");
    assert_eq!(complete, json!({ "type": "complete", "id": "21" }));

    // Every one of the 20 gets the events; subscriptions register as they are first polled, so
    // nudge with profile edits until each has had one.
    let version_query = "query($id: ID!) { organization(id: $id) { version } }";
    let update = "mutation($id: ID!, $v: Int!) { updateOrganization(id: $id, expectedVersion: $v, input: { description: \"x\" }) { version } }";
    let mut heard = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while heard.len() < 20 {
        assert!(Instant::now() < deadline, "only {heard:?} received events");
        let v =
            app.gql_ok(Some(&owner.access_token), version_query, json!({ "id": org })).await["organization"]
                ["version"]
                .clone();
        app.gql_ok(Some(&owner.access_token), update, json!({ "id": org, "v": v })).await;
        while let Some(message) = next_message(&mut socket, Duration::from_millis(300)).await {
            assert_eq!(message["type"], "next", "{message}");
            assert_eq!(message["payload"]["data"]["organizationEvents"]["eventType"], "ORGANIZATION_UPDATED");
            heard.insert(message["id"].as_str().expect("id").parse::<u32>().expect("numeric id"));
        }
    }
    assert_eq!(heard, (1..=20).collect::<BTreeSet<u32>>());

    // Completing one makes room for another.
    socket.send(Message::text(json!({ "id": "3", "type": "complete" }).to_string())).await.expect("complete");
    let subscribe =
        json!({ "id": "22", "type": "subscribe", "payload": { "query": "{ skillCategories { id } }" } });
    socket.send(Message::text(subscribe.to_string())).await.expect("subscribe");
    let answer = loop {
        let message = next_message(&mut socket, Duration::from_secs(10)).await.expect("answer to 22");
        if message["id"] == "22" {
            break message;
        }
    };
    assert_eq!(answer["type"], "next", "{answer}");
    assert!(
        answer["payload"]["data"]["skillCategories"].as_array().is_some_and(|c| !c.is_empty()),
        "{answer}"
    );
}

/// The status and `extensions.code` of a refused upgrade.
fn refusal(result: Result<Socket, tungstenite::Error>) -> (u16, String) {
    match result {
        Err(tungstenite::Error::Http(response)) => {
            let body: Value =
                serde_json::from_slice(response.body().as_deref().unwrap_or_default()).expect("JSON body");
            (
                response.status().as_u16(),
                body["errors"][0]["extensions"]["code"].as_str().unwrap_or_default().to_owned(),
            )
        }
        Err(other) => panic!("refused without a status: {other}"),
        Ok(_) => panic!("the upgrade was accepted"),
    }
}

#[tokio::test]
async fn connections_are_capped_per_address_and_in_total() {
    let app = spawn_app_with(|s| s.websocket.max_connections_per_address = 2).await;
    let first = upgrade(&app).await.expect("first");
    let _second = upgrade(&app).await.expect("second");
    assert_eq!(refusal(upgrade(&app).await), (429, "RATE_LIMITED".to_owned()));
    // HTTP from the same address is not affected.
    app.gql_ok(None, "{ skillCategories { id } }", json!({})).await;

    // A closed connection frees its place (the server notices the close asynchronously).
    drop(first);
    crate::helpers::eventually(Duration::from_secs(10), "a place after closing one", || async {
        upgrade(&app).await.ok()
    })
    .await;

    let full = spawn_app_with(|s| s.websocket.max_connections = 1).await;
    let _only = upgrade(&full).await.expect("only");
    assert_eq!(refusal(upgrade(&full).await), (503, "SERVICE_UNAVAILABLE".to_owned()));
}

#[tokio::test]
async fn errors_over_websocket_carry_the_code_they_have_over_http() {
    let app = spawn_app().await;
    let mut socket = acknowledged(&app, json!({})).await;
    // Validation, syntax (both from the engine, without a code of their own) and a resolver's refusal.
    for (id, query) in [("1", "{ noSuchField }"), ("2", "{ skillCategories {"), ("3", "{ me { id } }")] {
        let over_http = app.gql(None, query, json!({})).await;
        let http_code = crate::helpers::error_code(&over_http).to_owned();
        assert_ne!(http_code, "<no error>", "{over_http}");
        let subscribe = json!({ "id": id, "type": "subscribe", "payload": { "query": query } });
        socket.send(Message::text(subscribe.to_string())).await.expect("subscribe");
        let answer = next_message(&mut socket, Duration::from_secs(10)).await.expect("answer");
        assert_eq!(answer["id"], id, "{answer}");
        let error = first_error(&answer);
        assert_eq!(error["extensions"]["code"], http_code.as_str(), "{query}: {answer}");
        assert!(error["extensions"]["requestId"].is_string(), "{answer}");
        let complete = next_message(&mut socket, Duration::from_secs(10)).await.expect("complete");
        assert_eq!(complete, json!({ "type": "complete", "id": id }));
    }
}

#[tokio::test]
async fn the_server_pings_and_drops_a_peer_that_never_answers() {
    let app = spawn_app_with(|s| s.websocket.ping_interval_ms = 500).await;
    // A live client (tungstenite answers pings while it reads) beside a raw one that never does.
    let mut live = acknowledged(&app, json!({})).await;
    let dead_peer = async {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", app.port)).await.expect("tcp");
        let upgrade = format!(
            "GET /graphql/ws HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n",
            app.port
        );
        stream.write_all(upgrade.as_bytes()).await.expect("upgrade");
        let init = json!({ "type": "connection_init" }).to_string();
        stream.write_all(&masked_text_frame(init.as_bytes())).await.expect("init");
        let mut received = Vec::new();
        let mut buffer = [0u8; 4096];
        loop {
            match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer)).await {
                Ok(Ok(0)) | Ok(Err(_)) => break received,
                Ok(Ok(n)) => received.extend_from_slice(&buffer[..n]),
                Err(_) => panic!("the silent peer was not dropped"),
            }
        }
    };
    let received = tokio::select! {
        received = dead_peer => received,
        message = next_message(&mut live, Duration::from_secs(30)) => panic!("the live client lost its connection: {message:?}"),
    };
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 101"), "{text}");
    let head_end = received.windows(4).position(|w| w == b"\r\n\r\n").expect("response head") + 4;
    // Opcode 0x9 (ping) among the server's frames: the server pinged before giving up.
    assert!(frames(&received[head_end..]).contains(&0x9), "no ping frame in {:?}", &received[head_end..]);

    live.send(Message::text(json!({ "type": "ping" }).to_string())).await.expect("ping");
    let pong = next_frame(&mut live, Duration::from_secs(10)).await.expect("answer");
    assert_eq!(pong.ok().map(|m| m["type"].clone()), Some(json!("pong")));
}

/// A client text frame (clients must mask; the key is arbitrary).
fn masked_text_frame(payload: &[u8]) -> Vec<u8> {
    let key = [0x12u8, 0x34, 0x56, 0x78];
    assert!(payload.len() < 126, "short frames only");
    let mut frame = vec![0x81, 0x80 | payload.len() as u8];
    frame.extend_from_slice(&key);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    frame
}

/// The opcodes of the (unmasked, server-sent) frames in `bytes`.
fn frames(mut bytes: &[u8]) -> Vec<u8> {
    let mut opcodes = Vec::new();
    while bytes.len() >= 2 {
        let (len, header) = match bytes[1] & 0x7f {
            126 if bytes.len() >= 4 => (u16::from_be_bytes([bytes[2], bytes[3]]) as usize, 4),
            127 => break,
            n => (n as usize, 2),
        };
        opcodes.push(bytes[0] & 0x0f);
        bytes = bytes.get(header + len..).unwrap_or_default();
    }
    opcodes
}
