//! Database outages (issue 13, item 6): a database that cannot be reached is `SERVICE_UNAVAILABLE`
//! with HTTP 503, `/readyz` says so at once, service resumes when the database is back, and a
//! mutation whose write committed answers from its transaction.

use std::io::Write;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use api::auth::{AuthUser, Caller, JwtKeys};
use api::config::{AuthSettings, Settings};
use api::db::reads::Reads;
use api::events::EventBus;
use api::graphql::{AppState, LoaderCache, SchemaOptions, attach_request_data, build_schema};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::helpers::{TestApp, eventually, spawn_app, spawn_app_with};
use crate::matching::{JENA, firm_at, open_need};

const COURSES: &str = "{ courses(first: 5) { nodes { id } } }";

/// The test database refusing connections, as during a restart or a failover: new sessions are
/// refused and every open one is terminated. Connections are allowed again when it ends or is
/// dropped (before the helper drops the database).
struct Outage {
    admin_url: String,
    name: String,
    admin: DatabaseConnection,
    over: bool,
}

impl Outage {
    /// `None` (with a note) unless the test runs on PostgreSQL.
    async fn begin(app: &TestApp) -> Option<Self> {
        let admin_url = std::env::var("TEST_DATABASE_URL").ok().filter(|_| app.on_postgres());
        let Some(admin_url) = admin_url else {
            eprintln!("skipped: the outage tests need PostgreSQL (set TEST_DATABASE_URL)");
            return None;
        };
        let name = app.database_url.rsplit('/').next().expect("database name").to_owned();
        let admin = Database::connect(&admin_url).await.expect("connect to TEST_DATABASE_URL");
        for statement in [
            format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS false"),
            format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"),
        ] {
            admin.execute_unprepared(&statement).await.expect("take the test database away");
        }
        Some(Self { admin_url, name, admin, over: false })
    }

    async fn end(mut self) {
        self.admin.execute_unprepared(&self.restore()).await.expect("allow connections again");
        self.over = true;
    }

    fn restore(&self) -> String {
        format!("ALTER DATABASE \"{}\" ALLOW_CONNECTIONS true", self.name)
    }
}

impl Drop for Outage {
    /// A test that failed mid-outage still gives its database back, on a runtime of its own.
    fn drop(&mut self) {
        if self.over {
            return;
        }
        let (admin_url, statement) = (self.admin_url.clone(), self.restore());
        let restored = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(async {
                let admin = Database::connect(&admin_url).await.ok()?;
                admin.execute_unprepared(&statement).await.ok()
            })
        })
        .join();
        if !matches!(restored, Ok(Some(_))) {
            eprintln!("warning: could not allow connections to {} again", self.name);
        }
    }
}

/// Status and body of a POSTed operation.
async fn post(app: &TestApp, token: Option<&str>, query: &str, variables: Value) -> (u16, Value) {
    app.post_graphql(token, query, variables, &[]).await
}

async fn readyz(app: &TestApp) -> u16 {
    let response = app.client.get(format!("{}/readyz", app.address)).send().await.expect("readyz");
    response.status().as_u16()
}

fn assert_unavailable(status: u16, body: &Value) {
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["data"], Value::Null, "{body}");
    let errors = body["errors"].as_array().expect("errors");
    assert!(!errors.is_empty());
    for error in errors {
        assert_eq!(error["extensions"]["code"], "SERVICE_UNAVAILABLE", "{body}");
    }
}

#[tokio::test]
async fn an_unreachable_database_is_service_unavailable_and_service_resumes() {
    let app = spawn_app().await;
    let (hr, firm) = firm_at(&app, "personal@ausfall.de", "Ausfall Jena GmbH", JENA).await;
    let (status, body) = post(&app, None, COURSES, json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(readyz(&app).await, 200);

    let Some(outage) = Outage::begin(&app).await else { return };
    let started = Instant::now();
    // Terminated sessions may answer a last statement while they exit: poll for the first 503.
    let (first_503, body) = eventually(Duration::from_secs(30), "a 503 during the outage", || async {
        let (status, body) = post(&app, None, COURSES, json!({})).await;
        (status != 200).then(|| (started.elapsed(), (status, body)))
    })
    .await;
    assert_unavailable(body.0, &body.1);

    let asked = Instant::now();
    let (status, body) = post(&app, None, COURSES, json!({})).await;
    let answered_in = asked.elapsed();
    assert_unavailable(status, &body);
    let mutation = "mutation($id: ID!) { updateOrganization(id: $id, expectedVersion: 1, input: {name: \"Neu\"}) { name } }";
    let (status, body) = post(&app, Some(&hr.access_token), mutation, json!({ "id": firm })).await;
    assert_unavailable(status, &body);

    let asked = Instant::now();
    assert_eq!(readyz(&app).await, 503);
    let readyz_in = asked.elapsed();
    eprintln!(
        "measurement: first SERVICE_UNAVAILABLE {first_503:?} after the outage began; a query during it \
         answered in {answered_in:?}, /readyz in {readyz_in:?} (acquire timeout {:?})",
        Settings::default().db_acquire_timeout()
    );

    outage.end().await;
    let restored = Instant::now();
    eventually(Duration::from_secs(30), "queries after the outage", || async {
        let (status, body) = post(&app, None, COURSES, json!({})).await;
        (status == 200 && body["data"]["courses"]["nodes"].is_array()).then_some(())
    })
    .await;
    eventually(Duration::from_secs(30), "/readyz after the outage", || async {
        (readyz(&app).await == 200).then_some(())
    })
    .await;
    eprintln!("measurement: serving again {:?} after connections were allowed", restored.elapsed());
    let (status, body) = post(&app, Some(&hr.access_token), mutation, json!({ "id": firm })).await;
    assert_eq!((status, &body["data"]["updateOrganization"]["name"]), (200, &json!("Neu")), "{body}");
}

/// A TCP relay in front of the PostgreSQL server that can stop and start again on its port: stopped,
/// it refuses new connections and cuts the open ones — a database server restarting, which a
/// client can only wait for.
struct Relay {
    port: u16,
    stop: Arc<AtomicBool>,
    streams: Arc<Mutex<Vec<TcpStream>>>,
    accepting: std::thread::JoinHandle<()>,
}

impl Relay {
    fn start(port: u16, upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind the relay");
        let port = listener.local_addr().expect("relay address").port();
        let stop = Arc::new(AtomicBool::new(false));
        let streams: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (stopping, open) = (stop.clone(), streams.clone());
        let accepting = std::thread::spawn(move || {
            for client in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let (Ok(client), Ok(server)) = (client, TcpStream::connect(upstream)) else { continue };
                for (mut from, mut to) in
                    [(client.try_clone(), server.try_clone()), (server.try_clone(), client.try_clone())]
                        .into_iter()
                        .filter_map(|(a, b)| Some((a.ok()?, b.ok()?)))
                {
                    std::thread::spawn(move || {
                        std::io::copy(&mut from, &mut to).ok();
                        to.shutdown(Shutdown::Write).ok();
                    });
                }
                if let Ok(mut open) = open.lock() {
                    open.extend([client, server]);
                }
            }
        });
        Self { port, stop, streams, accepting }
    }

    fn stop(self) -> u16 {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accepting thread, which then drops the listener: the port refuses.
        if let Ok(mut wake) = TcpStream::connect(("127.0.0.1", self.port)) {
            wake.flush().ok();
        }
        self.accepting.join().expect("relay thread");
        for stream in self.streams.lock().expect("relay streams").drain(..) {
            stream.shutdown(Shutdown::Both).ok();
        }
        self.port
    }
}

/// The server of `TEST_DATABASE_URL`, when the tests run on PostgreSQL.
fn postgres_server() -> Option<SocketAddr> {
    let url = std::env::var("TEST_DATABASE_URL").ok().filter(|u| u.starts_with("postgres"))?;
    let authority = url.split_once("://")?.1.split('/').next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host_port = if host_port.contains(':') { host_port.to_owned() } else { format!("{host_port}:5432") };
    host_port.to_socket_addrs().ok()?.next()
}

/// A server that goes away and comes back (a restart): requests are answered `SERVICE_UNAVAILABLE`
/// within the acquire timeout instead of hanging, and served again once it is back.
#[tokio::test]
async fn a_restarting_database_is_service_unavailable_within_the_acquire_timeout() {
    let Some(upstream) = postgres_server() else {
        eprintln!("skipped: the outage tests need PostgreSQL (set TEST_DATABASE_URL)");
        return;
    };
    let relay = Relay::start(0, upstream);
    let port = relay.port;
    let app = spawn_app_with(|settings| {
        let url = settings.database_url.as_ref().expect("test database").expose_secret().to_owned();
        let (scheme, rest) = url.split_once("://").expect("url");
        let (credentials, path) = rest.split_once('/').expect("database name");
        let user = credentials.rsplit_once('@').map(|(user, _)| format!("{user}@")).unwrap_or_default();
        settings.database_url = Some(SecretString::from(format!("{scheme}://{user}127.0.0.1:{port}/{path}")));
    })
    .await;
    let (status, body) = post(&app, None, COURSES, json!({})).await;
    assert_eq!(status, 200, "{body}");

    let port = relay.stop();
    let started = Instant::now();
    let first_503 = eventually(Duration::from_secs(30), "a 503 while the database is away", || async {
        let (status, body) = post(&app, None, COURSES, json!({})).await;
        (status != 200).then(|| {
            assert_unavailable(status, &body);
            started.elapsed()
        })
    })
    .await;
    let mut answered_in = Vec::new();
    for _ in 0..3 {
        let asked = Instant::now();
        let (status, body) = post(&app, None, COURSES, json!({})).await;
        answered_in.push(asked.elapsed());
        assert_unavailable(status, &body);
    }
    let asked = Instant::now();
    assert_eq!(readyz(&app).await, 503);
    let readyz_in = asked.elapsed();
    eprintln!(
        "measurement (restart): first SERVICE_UNAVAILABLE {first_503:?} after the server went away; \
         queries during it answered in {answered_in:?}, /readyz in {readyz_in:?} (acquire timeout {:?})",
        Settings::default().db_acquire_timeout()
    );

    let relay = Relay::start(port, upstream);
    eventually(Duration::from_secs(30), "queries after the restart", || async {
        let (status, body) = post(&app, None, COURSES, json!({})).await;
        (status == 200 && body["data"]["courses"]["nodes"].is_array()).then_some(())
    })
    .await;
    assert_eq!(readyz(&app).await, 200);
    relay.stop();
}

/// `joinNeed` commits, then its answer is resolved. Here every read after the mutation's own
/// transaction goes to a pool that is closed — what an outage right after the commit looks like:
/// the pool figures of the answer come from the transaction, and a field that must read again fails
/// as `SERVICE_UNAVAILABLE` beneath the mutation, never as an internal error.
#[tokio::test]
async fn a_committed_pool_change_answers_from_its_transaction() {
    let app = spawn_app().await;
    let (hr, firm) = firm_at(&app, "personal@optik.de", "Optik Jena GmbH", JENA).await;
    let (need, _) = open_need(&app, &hr, &firm, 3).await;
    let (partner, partner_firm) = firm_at(&app, "hr@feinmechanik.de", "Feinmechanik Jena", JENA).await;
    let partner_id = partner.id.parse().expect("user id");

    let db = app.db().await;
    let settings = Settings::default();
    let jwt = JwtKeys::hs256(&SecretString::from("x".repeat(40)), &AuthSettings::default());
    let search_dir = tempfile::tempdir().expect("temp dir");
    let search = api::search::embedded::EmbeddedIndex::open(search_dir.path()).expect("index");
    let state = AppState {
        reads: Reads::pool(db.clone()),
        db,
        jwt: Arc::new(jwt),
        events: EventBus::new(),
        settings: Arc::new(settings),
        search: Arc::new(search),
        indexing: Arc::default(),
        jobs_wake: Arc::default(),
        indexing_wake: Arc::default(),
        metrics: Arc::default(),
    };
    let schema = build_schema(state.clone(), SchemaOptions { introspection: true });
    let gone = app.db().await;
    gone.clone().close().await.expect("close the pool");
    let after_commit = AppState { db: gone.clone(), reads: Reads::pool(gone), ..state.clone() };
    let caller = Caller(Some(AuthUser { user_id: partner_id, api_key: None }));
    let execute = |query: &'static str| {
        let mut request =
            async_graphql::Request::new(query).variables(async_graphql::Variables::from_json(json!({
                "n": need, "o": partner_firm
            })));
        attach_request_data(&mut request.data, &after_commit, caller, LoaderCache::PerRequest);
        schema.execute(request)
    };

    let joined = execute(
        "mutation($n: ID!, $o: ID!) { joinNeed(needId: $n, organizationId: $o, participants: 10) {
            pooledParticipants participations { participants } } }",
    )
    .await;
    assert!(joined.errors.is_empty(), "{:?}", joined.errors);
    let data = joined.data.into_json().expect("json");
    assert_eq!(
        data["joinNeed"],
        json!({ "pooledParticipants": 13, "participations": [{ "participants": 10 }] })
    );

    let left = execute(
        "mutation($n: ID!, $o: ID!) { leaveNeed(needId: $n, organizationId: $o) { pooledParticipants firm { name } } }",
    )
    .await;
    let data = left.data.into_json().expect("json");
    assert_eq!(data["leaveNeed"]["pooledParticipants"], 3, "{data}");
    let codes: Vec<String> = left
        .errors
        .iter()
        .map(|e| {
            let code = e.extensions.as_ref().and_then(|x| x.get("code")).map(|c| c.to_string());
            format!("{:?} {}", e.path, code.unwrap_or_default())
        })
        .collect();
    assert_eq!(codes.len(), 1, "{codes:?}");
    assert!(codes[0].contains("leaveNeed") && codes[0].contains("SERVICE_UNAVAILABLE"), "{codes:?}");

    let seen = app
        .gql_ok(
            Some(&hr.access_token),
            "query($id: ID!) { need(id: $id) { pooledParticipants } }",
            json!({ "id": need }),
        )
        .await;
    assert_eq!(seen["need"]["pooledParticipants"], 3, "both changes were committed");
}
