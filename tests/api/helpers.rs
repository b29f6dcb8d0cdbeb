//! `spawn_app()`: a server on port 0 over a fresh database — a SQLite file in a temp dir, or, when
//! `TEST_DATABASE_URL` is set, a uniquely named PostgreSQL database that is dropped afterwards.

use std::io::Write;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use api::config::Settings;
use api::startup::Application;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use secrecy::SecretString;
use serde_json::{Value, json};
use uuid::Uuid;

pub const JWT_SECRET: &str = "integration-test-secret-that-is-long-enough";
pub const PASSWORD: &str = "richtig-geheim-123";

pub struct TestApp {
    pub address: String,
    pub port: u16,
    /// The metrics listener's port (`None` when a test turned metrics off).
    pub metrics_port: Option<u16>,
    pub client: reqwest::Client,
    pub database_url: String,
    stop: api::startup::StopHandle,
    /// The server's task, taken by [`TestApp::stop`].
    running: std::sync::Mutex<Option<tokio::task::JoinHandle<std::io::Result<()>>>>,
    _data_dir: tempfile::TempDir,
    _postgres: Option<PostgresDatabase>,
}

/// A registered user with a fresh session.
pub struct Account {
    pub id: String,
    pub email: String,
    pub access_token: String,
    pub refresh_token: String,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_with_search(configure, None).await
}

/// With a given search backend (default: the embedded index in the app's data directory).
pub async fn spawn_app_with_search(
    configure: impl FnOnce(&mut Settings),
    search: Option<api::search::Backend>,
) -> TestApp {
    if std::env::var_os("TEST_LOG").is_some() {
        api::telemetry::init(api::config::LogFormat::Pretty);
    }
    let data_dir = tempfile::tempdir().expect("temp dir");
    let (database_url, postgres) = match std::env::var("TEST_DATABASE_URL") {
        Ok(base) if !base.trim().is_empty() => {
            let db = PostgresDatabase::create(&base).await;
            (db.url.clone(), Some(db))
        }
        _ => (format!("sqlite://{}?mode=rwc", data_dir.path().join("test.db").display()), None),
    };
    let mut settings = Settings {
        data_dir: data_dir.path().to_path_buf(),
        database_url: Some(SecretString::from(database_url.clone())),
        bind: "127.0.0.1:0".parse().expect("address"),
        ..Settings::default()
    };
    settings.auth.jwt_secret = Some(SecretString::from(JWT_SECRET));
    settings.metrics.bind = Some("127.0.0.1:0".parse().expect("address"));
    // Tests send many queries from one address; the rate-limit tests turn the limits on.
    settings.limits.rate_anonymous_per_min = 0;
    settings.limits.rate_user_per_min = 0;
    settings.limits.rate_api_key_per_min = 0;
    settings.auth.registrations_per_hour = 0;
    configure(&mut settings);
    let app = match search {
        Some(search) => Application::build_with_search(settings, search).await,
        None => Application::build(settings).await,
    }
    .expect("build application");
    let port = app.port();
    let metrics_port = app.metrics_port();
    let stop = app.stop_handle();
    let running = std::sync::Mutex::new(Some(tokio::spawn(app.run_until_stopped())));
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        metrics_port,
        client: reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("client"),
        database_url,
        stop,
        running,
        _data_dir: data_dir,
        _postgres: postgres,
    }
}

impl TestApp {
    /// POSTs a GraphQL operation and returns the whole JSON response.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let (status, body) = self.post_graphql(token, query, variables, &[]).await;
        assert!(status < 500, "server error {status} for {query}");
        body
    }

    /// POSTs a GraphQL operation with extra headers; the HTTP status and the JSON body.
    pub async fn post_graphql(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
        headers: &[(&str, &str)],
    ) -> (u16, Value) {
        let mut request = self
            .client
            .post(format!("{}/graphql", self.address))
            .json(&json!({ "query": query, "variables": variables }));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON body"))
    }

    /// POSTs a GraphQL multipart request (one file at `file_path`, e.g. `variables.input.file`, which
    /// `variables` holds as null); the HTTP status and the JSON body.
    pub async fn upload(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
        file_path: &str,
        file_name: &str,
        content: &[u8],
    ) -> (u16, Value) {
        let boundary = format!("bm-test-{}", Uuid::new_v4().simple());
        let mut body = Vec::new();
        let mut part = |name: &str, extra: &str, data: &[u8]| {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"{extra}\r\n\r\n")
                    .as_bytes(),
            );
            body.extend_from_slice(data);
            body.extend_from_slice(b"\r\n");
        };
        let operations = json!({ "query": query, "variables": variables }).to_string();
        part("operations", "", operations.as_bytes());
        part("map", "", json!({ "0": [file_path] }).to_string().as_bytes());
        part("0", &format!("; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream"), content);
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let mut request = self
            .client
            .post(format!("{}/graphql", self.address))
            .header("Content-Type", format!("multipart/form-data; boundary={boundary}"))
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON body"))
    }

    /// Like [`gql`](Self::gql) but fails the test on any error; returns `data`.
    pub async fn gql_ok(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let body = self.gql(token, query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    pub async fn register(&self, email: &str) -> Account {
        let data = self
            .gql_ok(
                None,
                "mutation($input: RegisterInput!) { register(input: $input) { accessToken refreshToken user { id email } } }",
                json!({ "input": { "email": email, "password": PASSWORD, "displayName": "Test Person" } }),
            )
            .await;
        let payload = &data["register"];
        Account {
            id: payload["user"]["id"].as_str().expect("id").to_owned(),
            email: payload["user"]["email"].as_str().expect("email").to_owned(),
            access_token: payload["accessToken"].as_str().expect("token").to_owned(),
            refresh_token: payload["refreshToken"].as_str().expect("refresh").to_owned(),
        }
    }

    /// Creates an organization owned by `owner`; returns its id.
    pub async fn create_organization(&self, owner: &Account, kind: &str, name: &str) -> String {
        let data = self
            .gql_ok(
                Some(&owner.access_token),
                "mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { id } }",
                json!({ "input": { "kind": kind, "name": name } }),
            )
            .await;
        data["createOrganization"]["id"].as_str().expect("id").to_owned()
    }

    /// Makes `member` a member of `org` with `role` the only way there is: `by` invites their email,
    /// they accept. Returns the membership (`role`, `user { email }`).
    pub async fn add_member(&self, by: &Account, org: &str, member: &Account, role: &str) -> Value {
        let invited = self
            .gql_ok(
                Some(&by.access_token),
                "mutation($org: ID!, $email: String!, $role: MembershipRole!) {
                    inviteMember(organizationId: $org, email: $email, role: $role) { id } }",
                json!({ "org": org, "email": member.email, "role": role }),
            )
            .await;
        let accepted = self
            .gql_ok(
                Some(&member.access_token),
                "mutation($id: ID!) { acceptInvitation(id: $id) { role user { email } } }",
                json!({ "id": invited["inviteMember"]["id"] }),
            )
            .await;
        accepted["acceptInvitation"].clone()
    }

    /// Another API instance on the same database (its own data directory and embedded index), as
    /// behind a load balancer.
    pub async fn second_instance(&self, configure: impl FnOnce(&mut Settings)) -> TestApp {
        self.second_instance_with_search(configure, None).await
    }

    /// Another instance with a given search backend (default: its own embedded index).
    pub async fn second_instance_with_search(
        &self,
        configure: impl FnOnce(&mut Settings),
        search: Option<api::search::Backend>,
    ) -> TestApp {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut settings = Settings {
            data_dir: data_dir.path().to_path_buf(),
            database_url: Some(SecretString::from(self.database_url.clone())),
            bind: "127.0.0.1:0".parse().expect("address"),
            ..Settings::default()
        };
        settings.auth.jwt_secret = Some(SecretString::from(JWT_SECRET));
        settings.metrics.bind = Some("127.0.0.1:0".parse().expect("address"));
        configure(&mut settings);
        let app = match search {
            Some(search) => Application::build_with_search(settings, search).await,
            None => Application::build(settings).await,
        }
        .expect("build second instance");
        let port = app.port();
        let metrics_port = app.metrics_port();
        let stop = app.stop_handle();
        let running = std::sync::Mutex::new(Some(tokio::spawn(app.run_until_stopped())));
        TestApp {
            address: format!("http://127.0.0.1:{port}"),
            port,
            metrics_port,
            client: self.client.clone(),
            database_url: self.database_url.clone(),
            stop,
            running,
            _data_dir: data_dir,
            _postgres: None,
        }
    }

    /// Stops the server as SIGTERM would and waits until it and its workers have stopped.
    pub async fn stop(&self) {
        self.stop.stop().await;
        let running = self.running.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(running) = running {
            running.await.expect("server task").expect("server");
        }
    }

    /// `GET /readyz` as JSON.
    pub async fn readyz(&self) -> Value {
        let response = self.client.get(format!("{}/readyz", self.address)).send().await.expect("readyz");
        response.json().await.expect("readyz json")
    }

    /// `GET /metrics` as text.
    pub async fn metrics(&self) -> String {
        let port = self.metrics_port.expect("metrics listener");
        let response =
            self.client.get(format!("http://127.0.0.1:{port}/metrics")).send().await.expect("metrics");
        response.text().await.expect("metrics text")
    }

    pub fn on_postgres(&self) -> bool {
        self.database_url.starts_with("postgres")
    }

    pub async fn db(&self) -> DatabaseConnection {
        Database::connect(&self.database_url).await.expect("connect to test database")
    }
}

/// The `extensions.code` of the first error.
pub fn error_code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"].as_str().unwrap_or("<no error>")
}

/// The `extensions.field` of the first error.
pub fn error_field(body: &Value) -> &str {
    body["errors"][0]["extensions"]["field"].as_str().unwrap_or("<no field>")
}

/// Asserts the first error's code (and field, when given) and that no data was returned for it.
pub fn assert_error(body: &Value, code: &str, field: Option<&str>) {
    assert_eq!(error_code(body), code, "{body}");
    if let Some(field) = field {
        assert_eq!(error_field(body), field, "{body}");
    }
    let message = body["errors"][0]["message"].as_str().unwrap_or_default().to_lowercase();
    for leak in ["sql", "panicked", "sqlx", "constraint"] {
        assert!(!message.contains(leak), "internal detail in error message: {body}");
    }
}

pub struct PostgresDatabase {
    admin_url: String,
    name: String,
    pub url: String,
}

impl PostgresDatabase {
    pub async fn create(base_url: &str) -> Self {
        let name = format!("bm_test_{}", Uuid::new_v4().simple());
        let admin = Database::connect(base_url).await.expect("connect to TEST_DATABASE_URL");
        admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.expect("create test database");
        admin.close().await.ok();
        Self { admin_url: base_url.to_owned(), url: api::db::with_database(base_url, &name), name }
    }
}

impl Drop for PostgresDatabase {
    /// Runs on its own thread and runtime: the test's runtime may be shutting down.
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let statement = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(async {
                let admin = Database::connect(&admin_url).await.ok()?;
                admin.execute_unprepared(&statement).await.ok()?;
                admin.close().await.ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("warning: could not drop test database {}", self.name);
        }
    }
}

/// Polls `check` until it returns `Some`, or fails after `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(tokio::time::Instant::now() < deadline, "{what}: not within {timeout:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A TCP relay in front of a server (PostgreSQL, Redis) that can stop and start again on its port:
/// stopped, it refuses new connections and cuts the open ones — a server restarting, which a client
/// can only wait for.
pub struct Relay {
    pub port: u16,
    stop: Arc<AtomicBool>,
    streams: Arc<Mutex<Vec<TcpStream>>>,
    accepting: std::thread::JoinHandle<()>,
}

impl Relay {
    pub fn start(port: u16, upstream: SocketAddr) -> Self {
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

    pub fn stop(self) -> u16 {
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
