//! Live alerts and webhooks: a lead reaches a provider over a real WebSocket (also from another API
//! instance on PostgreSQL), offer updates stream to the firm, and webhooks are signed, retried and
//! recorded.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::SinkExt;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{Account, TestApp, eventually, spawn_app, spawn_app_with};
use crate::matching::{JENA, firm_at, open_need};
use crate::offers::{provider_with_offering, submit};
use crate::subscriptions::{Socket, connect, next_message};

async fn subscribe(app: &TestApp, who: &Account, query: &str, variables: Value) -> Socket {
    let mut socket = connect(app, json!({ "Authorization": format!("Bearer {}", who.access_token) })).await;
    let ack = next_message(&mut socket, Duration::from_secs(10)).await.expect("ack");
    assert_eq!(ack["type"], "connection_ack");
    let message =
        json!({ "id": "1", "type": "subscribe", "payload": { "query": query, "variables": variables } });
    socket.send(Message::text(message.to_string())).await.expect("subscribe");
    socket
}

const NEW_LEADS: &str = "subscription($o: ID!) { newLeads(organizationId: $o) { needId courseId offeringId score course { title } } }";

/// Opens needs on `writer` until the subscriber on `socket` hears of one (the subscription registers
/// asynchronously, so the first need may open before it listens); returns (lead, opened need ids, the
/// firm's HR account).
async fn first_lead(writer: &TestApp, socket: &mut Socket) -> (Value, Vec<String>, Account) {
    let (hr, firm) = firm_at(writer, "personal@optik.de", "Optik Jena GmbH", JENA).await;
    let mut opened = Vec::new();
    for _ in 0..5 {
        opened.push(open_need(writer, &hr, &firm, 3).await.0);
        if let Some(message) = next_message(socket, Duration::from_secs(5)).await {
            assert_eq!(message["type"], "next", "{message}");
            return (message["payload"]["data"]["newLeads"].clone(), opened, hr);
        }
    }
    panic!("no lead arrived for {} opened needs", opened.len());
}

#[tokio::test]
async fn a_provider_gets_a_lead_over_websocket_and_the_firm_sees_offers_live() {
    let app = spawn_app().await;
    let (trainer, provider_id, offering) = provider_with_offering(&app, "kurse@bz.de", "BZ Jena").await;
    let mut leads = subscribe(&app, &trainer, NEW_LEADS, json!({ "o": provider_id })).await;
    let (lead, opened, hr) = first_lead(&app, &mut leads).await;
    assert!(opened.iter().any(|n| lead["needId"] == n.as_str()), "{lead}");
    assert_eq!(lead["offeringId"], offering.as_str());
    assert_eq!(lead["course"]["title"], "SPS kompakt");
    assert!(lead["score"].as_i64().is_some_and(|s| s >= 60), "{lead}");

    // A stranger cannot follow the provider's leads.
    let stranger = app.register("neugierig@example.de").await;
    let mut denied = subscribe(&app, &stranger, NEW_LEADS, json!({ "o": provider_id })).await;
    let refused = next_message(&mut denied, Duration::from_secs(10)).await.expect("answer");
    assert_eq!(refused["payload"]["errors"][0]["extensions"]["code"], "FORBIDDEN", "{refused}");

    // The firm follows its need's offers.
    let need = lead["needId"].as_str().expect("need").to_owned();
    let mut offers = subscribe(
        &app,
        &hr,
        "subscription($n: ID!) { offerUpdates(needId: $n) { eventType needId offerId offer { status provider { name } } } }",
        json!({ "n": need }),
    )
    .await;
    let mut received = None;
    let mut tries = 0;
    while received.is_none() && tries < 3 {
        tries += 1;
        if tries == 1 {
            submit(&app, &trainer, &need, &provider_id, &offering).await;
        } else {
            // Nudge with a withdraw/resubmit pair if the subscription registered late.
            let data = app
                .gql_ok(Some(&trainer.access_token), "query($o: ID!) { providerOffers(organizationId: $o, first: 1) { edges { node { id status } } } }", json!({ "o": provider_id }))
                .await;
            let id = data["providerOffers"]["edges"][0]["node"]["id"].as_str().expect("offer").to_owned();
            app.gql_ok(
                Some(&trainer.access_token),
                "mutation($id: ID!) { withdrawOffer(offerId: $id) { status } }",
                json!({ "id": id }),
            )
            .await;
        }
        received = next_message(&mut offers, Duration::from_secs(5)).await;
    }
    let event = received.expect("an offer update");
    let update = &event["payload"]["data"]["offerUpdates"];
    assert_eq!(update["needId"], need.as_str());
    assert!(matches!(update["eventType"].as_str(), Some("SUBMITTED" | "WITHDRAWN")), "{update}");
    assert_eq!(update["offer"]["provider"]["name"], "BZ Jena");
}

#[tokio::test]
async fn leads_reach_subscribers_of_another_instance() {
    let app = spawn_app().await;
    if !app.on_postgres() {
        eprintln!(
            "SKIPPED leads_reach_subscribers_of_another_instance: needs PostgreSQL (set TEST_DATABASE_URL); SQLite runs one instance"
        );
        return;
    }
    // An instance that only serves requests: an embedded index is one process's, so the indexing
    // and alert workers run on the first instance (with Meilisearch any instance may run them).
    let other = app
        .second_instance(|s| {
            s.search.worker = false;
            s.alerts.worker = false;
        })
        .await;
    let (trainer, provider_id, _) = provider_with_offering(&app, "kurse@bz.de", "BZ Jena").await;
    // Subscribed on the second instance; the need opens through the first.
    let mut leads = subscribe(&other, &trainer, NEW_LEADS, json!({ "o": provider_id })).await;
    let (lead, opened, _) = first_lead(&app, &mut leads).await;
    assert!(opened.iter().any(|n| lead["needId"] == n.as_str()), "{lead}");
}

/// What a webhook receiver got: headers (lower-case names) and body per request.
type Received = Arc<Mutex<Vec<(Vec<(String, String)>, String)>>>;

/// A minimal HTTP endpoint that answers 500 to the first `failures` requests, then 200.
async fn webhook_receiver(failures: usize) -> (String, Received) {
    receiver(failures, false).await
}

/// Like [`webhook_receiver`]; with `hang_first` the first request is read and never answered.
async fn receiver(failures: usize, hang_first: bool) -> (String, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://127.0.0.1:{}/hooks", listener.local_addr().expect("addr").port());
    let received: Received = Arc::default();
    let log = received.clone();
    tokio::spawn(async move {
        let mut hung = Vec::new();
        loop {
            let Ok((mut stream, _)) = listener.accept().await else { return };
            let mut buffer = Vec::new();
            let mut chunk = [0u8; 4096];
            let (headers, body) = loop {
                let Ok(n) = stream.read(&mut chunk).await else { break (Vec::new(), String::new()) };
                if n == 0 {
                    break (Vec::new(), String::new());
                }
                buffer.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buffer).to_string();
                let Some((head, rest)) = text.split_once("\r\n\r\n") else { continue };
                let headers: Vec<(String, String)> = head
                    .lines()
                    .skip(1)
                    .filter_map(|l| l.split_once(':'))
                    .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
                    .collect();
                let length = headers
                    .iter()
                    .find(|(k, _)| k == "content-length")
                    .and_then(|(_, v)| v.parse::<usize>().ok())
                    .unwrap_or(0);
                if rest.len() >= length {
                    break (headers, rest[..length].to_owned());
                }
            };
            let seen = {
                let mut log = log.lock().expect("log");
                log.push((headers, body));
                log.len()
            };
            if hang_first && seen == 1 {
                hung.push(stream);
                continue;
            }
            let status = if seen <= failures { "500 Internal Server Error" } else { "200 OK" };
            let response = format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            let _ = stream.write_all(response.as_bytes()).await;
        }
    });
    (url, received)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("")
}

/// Verifies `t=<ts>,v1=<hex>` as documented: HMAC-SHA256(secret, "<ts>.<body>").
fn signature_verifies(secret: &str, signature: &str, body: &str) -> bool {
    let mut parts = signature.split(',');
    let (Some(t), Some(v1)) =
        (parts.next().and_then(|p| p.strip_prefix("t=")), parts.next().and_then(|p| p.strip_prefix("v1=")))
    else {
        return false;
    };
    let Ok(expected) = hex::decode(v1) else { return false };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else { return false };
    mac.update(format!("{t}.{body}").as_bytes());
    mac.verify_slice(&expected).is_ok()
}

const CREATE_ENDPOINT: &str = "mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { secret endpoint { id url eventTypes } } }";
const DELIVERIES: &str = "query($o: ID!) { webhookDeliveries(organizationId: $o, first: 10) { edges { node { eventType status attempts lastStatusCode deliveredAt payload } } } }";

#[tokio::test]
async fn webhooks_are_signed_retried_and_recorded() {
    let app = spawn_app_with(|s| s.alerts.webhook_retry_base_ms = 100).await;
    let (url, received) = webhook_receiver(1).await;
    let (hr, firm) = firm_at(&app, "personal@optik.de", "Optik Jena GmbH", JENA).await;
    let created = app
        .gql_ok(
            Some(&hr.access_token),
            CREATE_ENDPOINT,
            json!({ "input": { "organizationId": firm, "url": url, "eventTypes": ["OFFER_SUBMITTED", "NEED_JOINED"] } }),
        )
        .await;
    let secret = created["createWebhookEndpoint"]["secret"].as_str().expect("secret").to_owned();
    assert!(secret.starts_with("whsec_"));
    let listed = app
        .gql_ok(
            Some(&hr.access_token),
            "query($o: ID!) { webhookEndpoints(organizationId: $o) { url eventTypes } }",
            json!({ "o": firm }),
        )
        .await;
    assert_eq!(listed["webhookEndpoints"][0]["eventTypes"], json!(["OFFER_SUBMITTED", "NEED_JOINED"]));

    let (need, _) = open_need(&app, &hr, &firm, 3).await;
    let (trainer, provider_id, offering) = provider_with_offering(&app, "kurse@bz.de", "BZ Jena").await;
    let offer = submit(&app, &trainer, &need, &provider_id, &offering).await;

    // The first attempt gets a 500; the retry after the backoff is delivered.
    let delivery = eventually(Duration::from_secs(20), "webhook delivered", || async {
        let data = app.gql_ok(Some(&hr.access_token), DELIVERIES, json!({ "o": firm })).await;
        let node = data["webhookDeliveries"]["edges"][0]["node"].clone();
        (node["status"] == "DELIVERED").then_some(node)
    })
    .await;
    assert_eq!(delivery["eventType"], "OFFER_SUBMITTED");
    assert_eq!(delivery["attempts"], 2);
    assert_eq!(delivery["lastStatusCode"], 200);

    let requests = received.lock().expect("log").clone();
    assert_eq!(requests.len(), 2, "one failed attempt, one retry");
    for (headers, body) in &requests {
        assert!(signature_verifies(&secret, header(headers, "bildungsmarkt-signature"), body), "{headers:?}");
        assert_eq!(header(headers, "bildungsmarkt-event"), "OFFER_SUBMITTED");
        let payload: Value = serde_json::from_str(body).expect("JSON body");
        assert_eq!(payload["type"], "OFFER_SUBMITTED");
        assert_eq!(payload["data"]["offerId"], offer.as_str());
        assert_eq!(payload["data"]["needId"], need.as_str());
    }
    assert_eq!(requests[0].1, requests[1].1, "a retry sends the same body");
    assert!(!signature_verifies(
        "whsec_wrong",
        header(&requests[0].0, "bildungsmarkt-signature"),
        &requests[0].1
    ));
    assert_eq!(delivery["payload"], requests[1].1.as_str());
}

#[tokio::test]
async fn webhook_endpoints_are_checked_and_admin_only() {
    let app = spawn_app().await;
    let (hr, firm) = firm_at(&app, "personal@optik.de", "Optik Jena GmbH", JENA).await;
    let member = app.register("mitarbeiter@optik.de").await;
    app.add_member(&hr, &firm, &member, "MEMBER").await;
    let create = |url: &str, types: Value| json!({ "input": { "organizationId": firm, "url": url, "eventTypes": types } });
    for url in [
        "http://hooks.example.de/x",
        "ftp://hooks.example.de/",
        "kaputt",
        "https://user:pw@hooks.example.de/",
    ] {
        let body =
            app.gql(Some(&hr.access_token), CREATE_ENDPOINT, create(url, json!(["OFFER_SUBMITTED"]))).await;
        crate::helpers::assert_error(&body, "BAD_USER_INPUT", Some("input.url"));
    }
    let none = app
        .gql(Some(&hr.access_token), CREATE_ENDPOINT, create("https://hooks.example.de/x", json!([])))
        .await;
    crate::helpers::assert_error(&none, "BAD_USER_INPUT", Some("input.eventTypes"));
    let by_member = app
        .gql(
            Some(&member.access_token),
            CREATE_ENDPOINT,
            create("https://hooks.example.de/x", json!(["LEAD_CREATED"])),
        )
        .await;
    crate::helpers::assert_error(&by_member, "FORBIDDEN", None);
    let listed = app.gql(Some(&member.access_token), DELIVERIES, json!({ "o": firm })).await;
    crate::helpers::assert_error(&listed, "FORBIDDEN", None);

    let created = app
        .gql_ok(
            Some(&hr.access_token),
            CREATE_ENDPOINT,
            create("https://hooks.example.de/x", json!(["LEAD_CREATED"])),
        )
        .await;
    let id = created["createWebhookEndpoint"]["endpoint"]["id"].as_str().expect("id").to_owned();
    let delete = "mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }";
    crate::helpers::assert_error(
        &app.gql(Some(&member.access_token), delete, json!({ "id": id })).await,
        "FORBIDDEN",
        None,
    );
    app.gql_ok(Some(&hr.access_token), delete, json!({ "id": id })).await;
    crate::helpers::assert_error(
        &app.gql(Some(&hr.access_token), delete, json!({ "id": id })).await,
        "NOT_FOUND",
        None,
    );
}

#[tokio::test]
async fn a_removed_member_stops_receiving_leads() {
    let app = spawn_app().await;
    let (trainer, provider_id, _) = provider_with_offering(&app, "kurse@bz.de", "BZ Jena").await;
    let member = app.register("vertrieb@bz.de").await;
    app.add_member(&trainer, &provider_id, &member, "MEMBER").await;
    let mut leads = subscribe(&app, &member, NEW_LEADS, json!({ "o": provider_id })).await;
    first_lead(&app, &mut leads).await;

    app.gql_ok(
        Some(&trainer.access_token),
        "mutation($o: ID!, $u: ID!) { removeMember(organizationId: $o, userId: $u) { id } }",
        json!({ "o": provider_id, "u": member.id }),
    )
    .await;
    // The next matching need ends the former member's subscription instead of reaching it.
    let (hr, firm) = firm_at(&app, "hr@glas.de", "Glaswerk Jena", JENA).await;
    let mut ended = None;
    for _ in 0..5 {
        open_need(&app, &hr, &firm, 2).await;
        if let Some(message) = next_message(&mut leads, Duration::from_secs(5)).await {
            ended = Some(message);
            break;
        }
    }
    let message = ended.expect("an answer after the removal");
    assert_eq!(message["type"], "complete", "{message}");
}

const DEAD_JOBS: &str = "{ deadJobs(first: 10) { totalCount edges { node { id kind state attempts maxAttempts lastError finishedAt } } } }";

/// A delivery that never gets through ends as a FAILED delivery and a DEAD job with its last error;
/// platform admins see it and can queue it again, others cannot; `/metrics` counts both.
#[tokio::test]
async fn a_webhook_that_never_gets_through_is_a_dead_letter_for_platform_admins() {
    let app = spawn_app_with(|s| {
        s.alerts.webhook_retry_base_ms = 10;
        s.alerts.webhook_max_attempts = 2;
    })
    .await;
    // Nothing listens there: every attempt fails to connect.
    let closed = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://127.0.0.1:{}/hooks", closed.local_addr().expect("addr").port());
    drop(closed);
    let (hr, firm) = firm_at(&app, "personal@optik.de", "Optik Jena GmbH", JENA).await;
    let endpoint =
        json!({ "input": { "organizationId": firm, "url": url, "eventTypes": ["OFFER_SUBMITTED"] } });
    app.gql_ok(Some(&hr.access_token), CREATE_ENDPOINT, endpoint).await;
    let (need, _) = open_need(&app, &hr, &firm, 3).await;
    let (trainer, provider_id, offering) = provider_with_offering(&app, "kurse@bz.de", "BZ Jena").await;
    submit(&app, &trainer, &need, &provider_id, &offering).await;

    let delivery = eventually(Duration::from_secs(20), "the delivery to fail", || async {
        let data = app.gql_ok(Some(&hr.access_token), DELIVERIES, json!({ "o": firm })).await;
        let node = data["webhookDeliveries"]["edges"][0]["node"].clone();
        (node["status"] == "FAILED").then_some(node)
    })
    .await;
    assert_eq!(delivery["attempts"], 2);

    crate::helpers::assert_error(
        &app.gql(Some(&hr.access_token), DEAD_JOBS, json!({})).await,
        "FORBIDDEN",
        None,
    );
    let operator = app.register("betrieb@bildungsmarkt.de").await;
    api::service::accounts::create_admin(&app.db().await, &operator.email, None, None).await.expect("admin");
    let dead = eventually(Duration::from_secs(20), "the dead job to be listed", || async {
        let data = app.gql_ok(Some(&operator.access_token), DEAD_JOBS, json!({})).await;
        (data["deadJobs"]["totalCount"] == 1).then(|| data["deadJobs"]["edges"][0]["node"].clone())
    })
    .await;
    assert_eq!(dead["kind"], "webhook.deliver");
    assert_eq!(dead["state"], "DEAD");
    assert_eq!((dead["attempts"].as_i64(), dead["maxAttempts"].as_i64()), (Some(2), Some(2)));
    assert_eq!(dead["lastError"], "gave up after 2 attempts: could not connect");
    assert!(dead["finishedAt"].is_string());

    // The run is counted just after its outcome is written.
    let scrape = format!("http://127.0.0.1:{}/metrics", app.metrics_port.expect("metrics"));
    let metrics = eventually(Duration::from_secs(20), "the dead run to be counted", || async {
        let text = app.client.get(&scrape).send().await.ok()?.text().await.ok()?;
        let counted = text
            .contains("bildungsmarkt_job_runs_total{kind=\"webhook.deliver\",outcome=\"dead\"} 1")
            && text.contains("bildungsmarkt_job_runs_total{kind=\"alert.dispatch\",outcome=\"done\"}");
        counted.then_some(text)
    })
    .await;
    assert!(metrics.contains("bildungsmarkt_jobs{state=\"DEAD\"} 1"), "{metrics}");

    let retry = "mutation($id: ID!) { retryJob(id: $id) }";
    let id = json!({ "id": dead["id"] });
    crate::helpers::assert_error(
        &app.gql(Some(&hr.access_token), retry, id.clone()).await,
        "FORBIDDEN",
        None,
    );
    let retried = app.gql_ok(Some(&operator.access_token), retry, id.clone()).await;
    assert_eq!(retried["retryJob"], dead["id"]);
    // The delivery had given up, so the retried job finds nothing to send and is done.
    eventually(Duration::from_secs(20), "the retried job to leave the dead letters", || async {
        let data = app.gql_ok(Some(&operator.access_token), DEAD_JOBS, json!({})).await;
        (data["deadJobs"]["totalCount"] == 0).then_some(())
    })
    .await;
    let again = app.gql(Some(&operator.access_token), retry, id).await;
    crate::helpers::assert_error(&again, "NOT_FOUND", None);
}

/// Stopping an instance mid-delivery on PostgreSQL (issue 14, part 5): its runner gives the job back
/// at once, another instance delivers it long before the lease would have lapsed, and the stop logs
/// no runtime-shutdown error.
#[tokio::test]
async fn a_stopped_instance_hands_its_running_delivery_to_another_at_once() {
    let logs = Logs::default();
    let _capture = tracing::subscriber::set_default(
        tracing_subscriber::fmt().with_writer(logs.clone()).with_max_level(tracing::Level::DEBUG).finish(),
    );
    // A lease far longer than the test's deadline: only a release lets the other instance in.
    let app = spawn_app_with(|s| {
        s.jobs.lease_ms = 300_000;
        s.jobs.stop_grace_ms = 300;
    })
    .await;
    if !app.on_postgres() {
        eprintln!(
            "SKIPPED a_stopped_instance_hands_its_running_delivery_to_another_at_once: needs PostgreSQL (set TEST_DATABASE_URL)"
        );
        return;
    }
    let (url, received) = receiver(0, true).await;
    let (hr, firm) = firm_at(&app, "personal@optik.de", "Optik Jena GmbH", JENA).await;
    let endpoint =
        json!({ "input": { "organizationId": firm, "url": url, "eventTypes": ["OFFER_SUBMITTED"] } });
    app.gql_ok(Some(&hr.access_token), CREATE_ENDPOINT, endpoint).await;
    let (need, _) = open_need(&app, &hr, &firm, 3).await;
    let (trainer, provider_id, offering) = provider_with_offering(&app, "kurse@bz.de", "BZ Jena").await;
    submit(&app, &trainer, &need, &provider_id, &offering).await;
    // The first instance's attempt is under way (and will not get an answer).
    eventually(Duration::from_secs(20), "the first attempt to arrive", || async {
        (received.lock().expect("log").len() == 1).then_some(())
    })
    .await;
    let other = app
        .second_instance(|s| {
            s.search.worker = false;
            s.jobs.lease_ms = 300_000;
        })
        .await;

    let stopping = std::time::Instant::now();
    app.stop().await;
    let delivery = eventually(Duration::from_secs(60), "the other instance to deliver", || async {
        let data = other.gql_ok(Some(&hr.access_token), DELIVERIES, json!({ "o": firm })).await;
        let node = data["webhookDeliveries"]["edges"][0]["node"].clone();
        (node["status"] == "DELIVERED").then_some(node)
    })
    .await;
    eprintln!("stopped and delivered by the other instance {:?} after the stop began", stopping.elapsed());
    assert_eq!(delivery["attempts"], 1, "the interrupted attempt was never recorded");
    assert_eq!(received.lock().expect("log").len(), 2);
    // The delivery is recorded inside the job; the job's own outcome right after it.
    let db = other.db().await;
    let job = eventually(Duration::from_secs(20), "the delivery job to be done", || async {
        let jobs = jobs_of_kind(&db, "webhook.deliver").await;
        assert_eq!(jobs.len(), 1);
        jobs.into_iter().next().filter(|j| j.state == api::jobs::JobState::Done)
    })
    .await;
    assert_eq!(job.attempts, 1, "the release gave the interrupted attempt back");

    let logs = logs.text();
    assert!(logs.contains("released an unfinished job"), "{logs}");
    for error in ["being shutdown", "failed"] {
        assert!(!logs.contains(error), "the stop logged {error:?}: {logs}");
    }
}

async fn jobs_of_kind(db: &sea_orm::DatabaseConnection, kind: &str) -> Vec<api::jobs::JobRow> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    entity::background_job::Entity::find()
        .filter(entity::background_job::Column::Kind.eq(kind))
        .all(db)
        .await
        .expect("jobs")
}

/// Log lines of this test's thread (its runtime runs the app's workers).
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("logs")).into_owned()
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("logs").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
