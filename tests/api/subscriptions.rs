//! Subscriptions over WebSocket (graphql-transport-ws), authenticated in `connection_init`.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::helpers::{TestApp, spawn_app};

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub async fn connect(app: &TestApp, init: Value) -> Socket {
    let mut socket = upgrade(app).await.expect("connect");
    socket
        .send(Message::text(json!({ "type": "connection_init", "payload": init }).to_string()))
        .await
        .expect("init");
    socket
}

/// A graphql-transport-ws connection that has sent nothing yet; the refusal when there is none.
pub async fn upgrade(app: &TestApp) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
    let mut request =
        format!("ws://127.0.0.1:{}/graphql/ws", app.port).into_client_request().expect("request");
    request.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().expect("header"));
    let (socket, response) = tokio_tungstenite::connect_async(request).await?;
    assert_eq!(
        response.headers().get("sec-websocket-protocol").and_then(|v| v.to_str().ok()),
        Some("graphql-transport-ws")
    );
    Ok(socket)
}

/// The next JSON message, skipping pings; `None` when the socket closes or nothing comes within
/// `wait` (pings do not extend it).
pub async fn next_message(socket: &mut Socket, wait: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, socket.next()).await.ok()??.ok()? {
            Message::Text(text) => {
                let value: Value = serde_json::from_str(&text).ok()?;
                if value["type"] == "ping" {
                    continue;
                }
                return Some(value);
            }
            Message::Close(_) => return None,
            _ => continue,
        }
    }
}

#[tokio::test]
async fn members_receive_organization_events_over_websocket() {
    let app = spawn_app().await;
    let owner = app.register("chefin@firma.de").await;
    let colleague = app.register("kollege@firma.de").await;
    let org = app.create_organization(&owner, "FIRM", "Laborbedarf Jena").await;

    let mut socket =
        connect(&app, json!({ "Authorization": format!("Bearer {}", owner.access_token) })).await;
    let ack = next_message(&mut socket, Duration::from_secs(10)).await.expect("ack");
    assert_eq!(ack["type"], "connection_ack");
    let subscribe = json!({
        "id": "1", "type": "subscribe",
        "payload": {
            "query": "subscription($org: ID!) { organizationEvents(organizationId: $org) { eventType organizationId userId role } }",
            "variables": { "org": org }
        }
    });
    socket.send(Message::text(subscribe.to_string())).await.expect("subscribe");

    // The subscription is registered asynchronously: nudge with profile edits until one arrives.
    let version_query = "query($id: ID!) { organization(id: $id) { version } }";
    let update = "mutation($id: ID!, $v: Int!) { updateOrganization(id: $id, expectedVersion: $v, input: { description: \"x\" }) { version } }";
    let first = {
        let socket = &mut socket;
        let app = &app;
        let owner = &owner;
        let org = &org;
        let mut attempts = 0;
        loop {
            attempts += 1;
            assert!(attempts < 50, "no event arrived");
            let v = app.gql_ok(Some(&owner.access_token), version_query, json!({ "id": org })).await["organization"]["version"].clone();
            app.gql_ok(Some(&owner.access_token), update, json!({ "id": org, "v": v })).await;
            if let Some(message) = next_message(socket, Duration::from_millis(300)).await {
                break message;
            }
        }
    };
    assert_eq!(first["type"], "next", "{first}");
    assert_eq!(first["payload"]["data"]["organizationEvents"]["eventType"], "ORGANIZATION_UPDATED");

    app.add_member(&owner, &org, &colleague, "ADMIN").await;
    // Events of the nudging above may still be queued; the membership event follows them.
    let added = loop {
        let message = next_message(&mut socket, Duration::from_secs(10)).await.expect("MEMBER_ADDED event");
        let event = message["payload"]["data"]["organizationEvents"].clone();
        if event["eventType"] == "MEMBER_ADDED" {
            break event;
        }
    };
    assert_eq!(added["userId"], colleague.id.as_str());
    assert_eq!(added["role"], "ADMIN");
    assert_eq!(added["organizationId"], org.as_str());
}

#[tokio::test]
async fn subscriptions_check_the_caller() {
    let app = spawn_app().await;
    let owner = app.register("chef@firma.de").await;
    let outsider = app.register("fremd@andere.de").await;
    let org = app.create_organization(&owner, "FIRM", "Metallbau Sachsen").await;
    let query = "subscription($org: ID!) { organizationEvents(organizationId: $org) { eventType } }";

    // A member of another organization is refused.
    let mut socket =
        connect(&app, json!({ "Authorization": format!("Bearer {}", outsider.access_token) })).await;
    assert_eq!(
        next_message(&mut socket, Duration::from_secs(10)).await.expect("ack")["type"],
        "connection_ack"
    );
    let subscribe =
        json!({ "id": "1", "type": "subscribe", "payload": { "query": query, "variables": { "org": org } } });
    socket.send(Message::text(subscribe.to_string())).await.expect("subscribe");
    let refused = next_message(&mut socket, Duration::from_secs(10)).await.expect("answer");
    let error = if refused["type"] == "error" {
        refused["payload"][0].clone()
    } else {
        refused["payload"]["errors"][0].clone()
    };
    assert_eq!(error["extensions"]["code"], "FORBIDDEN", "{refused}");

    // Anonymous connections may connect but not follow an organization.
    let mut socket = connect(&app, json!({})).await;
    assert_eq!(
        next_message(&mut socket, Duration::from_secs(10)).await.expect("ack")["type"],
        "connection_ack"
    );
    socket.send(Message::text(subscribe.to_string())).await.expect("subscribe");
    let refused = next_message(&mut socket, Duration::from_secs(10)).await.expect("answer");
    let error = if refused["type"] == "error" {
        refused["payload"][0].clone()
    } else {
        refused["payload"]["errors"][0].clone()
    };
    assert_eq!(error["extensions"]["code"], "UNAUTHENTICATED", "{refused}");

    // A forged token is refused at connection_init: the server closes the connection.
    let mut socket = connect(&app, json!({ "Authorization": "Bearer forged.token.value" })).await;
    let answer = next_message(&mut socket, Duration::from_secs(10)).await;
    assert!(answer.as_ref().is_none_or(|m| m["type"] != "connection_ack"), "{answer:?}");
}
