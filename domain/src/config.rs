//! Layered configuration: built-in defaults → optional TOML file → environment variables.
//!
//! Every setting has a default that works with zero setup (SQLite under `./data/`, a generated JWT
//! secret kept in the data directory). Secrets are `SecretString`s, so they never reach a log line or
//! `Debug` output.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// `development` enables GraphiQL and friendly defaults; `production` turns them off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Development,
    Production,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub environment: Environment,
    /// Where the SQLite file, the generated JWT secret and (later) the embedded index live.
    pub data_dir: PathBuf,
    /// `postgres://…` or `sqlite://…`; defaults to a SQLite file in `data_dir`.
    pub database_url: Option<SecretString>,
    /// How long a statement waits for a PostgreSQL connection (pool checkout and connecting) before
    /// the request is answered `SERVICE_UNAVAILABLE`. SQLite waits as long as its writers may.
    pub db_acquire_timeout_ms: u64,
    /// Reads by id from a SQLite file on the calling thread (see `db::reads`); off: through the pool.
    pub db_local_reads: bool,
    pub bind: SocketAddr,
    pub log_format: LogFormat,
    /// GraphiQL at `/graphiql` (and for browsers at `GET /graphql`); defaults to on outside production.
    pub graphiql: Option<bool>,
    /// Hooks for benchmarks and tests, off otherwise: `GET /bench/raw`, a plain actix-web JSON route
    /// without GraphQL or database (the ceiling the HTTP benchmark compares against), and an operation
    /// named `PanicProbe` that panics during execution (to prove panics are caught).
    pub diagnostics: bool,
    pub cors_origins: Vec<String>,
    pub auth: AuthSettings,
    pub search: SearchSettings,
    pub alerts: AlertSettings,
    pub jobs: JobSettings,
    pub limits: Limits,
    pub websocket: WebSocketSettings,
    pub metrics: MetricsSettings,
    pub redis: RedisSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    /// HS256 secret. Ignored when key files are given.
    pub jwt_secret: Option<SecretString>,
    /// Ed25519 key pair in PEM files: signs with EdDSA instead of HS256.
    pub jwt_private_key_file: Option<PathBuf>,
    pub jwt_public_key_file: Option<PathBuf>,
    pub issuer: String,
    pub audience: String,
    pub access_token_ttl_secs: i64,
    pub refresh_token_ttl_secs: i64,
    /// Password hashes computed at once (each holds 19 MiB while it runs); 0 = one per core.
    pub password_hash_concurrency: usize,
    /// How long a sign-in waits for a free hashing slot before `RATE_LIMITED`.
    pub password_hash_queue_timeout_ms: u64,
    /// Registrations per client address and hour; 0 = unlimited.
    pub registrations_per_hour: u32,
    /// Days an organization invitation can be accepted.
    pub invitation_ttl_days: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SearchSettings {
    pub meili_url: Option<String>,
    pub meili_master_key: Option<SecretString>,
    /// The Meilisearch index of the courses.
    pub meili_index: String,
    /// Run the indexing worker in this instance (turn off for instances that only serve requests).
    pub worker: bool,
    /// Hours the search change log keeps a change; an index further behind is rebuilt fully.
    pub change_retention_hours: u64,
    /// Seconds between comparisons of the index with the database (self-repair), the first at
    /// start-up; 0 turns the comparison off.
    pub check_interval_secs: u64,
}

impl Default for SearchSettings {
    fn default() -> Self {
        Self {
            meili_url: None,
            meili_master_key: None,
            meili_index: "courses".into(),
            worker: true,
            change_retention_hours: 24,
            check_interval_secs: 60,
        }
    }
}

/// Live alerts and webhooks.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertSettings {
    /// Run the event dispatcher and webhook sender in this instance.
    pub worker: bool,
    /// First retry delay of a failed webhook delivery; it doubles per attempt.
    pub webhook_retry_base_ms: u64,
    /// Attempts before a delivery is marked FAILED.
    pub webhook_max_attempts: i32,
    /// Accept `http://` endpoints on loopback hosts; ignored in production.
    pub webhook_allow_loopback_http: bool,
}

impl Default for AlertSettings {
    fn default() -> Self {
        Self {
            worker: true,
            webhook_retry_base_ms: 2_000,
            webhook_max_attempts: 8,
            webhook_allow_loopback_http: true,
        }
    }
}

/// The background job runner (see [`crate::jobs`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JobSettings {
    /// Run the job runner in this instance (it runs the kinds this instance registers).
    pub worker: bool,
    /// How long a claimed job is held without a heartbeat; renewed every third of it while the job
    /// runs, so a dead worker's job is free again after at most this long.
    pub lease_ms: u64,
    /// How often an idle runner looks for due jobs enqueued by other instances (its own wake it at
    /// once).
    pub poll_ms: u64,
    /// Jobs one runner runs at once.
    pub concurrency: usize,
    /// DONE jobs are deleted after this long; DEAD ones stay until retried or deleted by hand.
    pub retention_hours: u64,
    /// On stop, how long running jobs may take to finish before their leases are released.
    pub stop_grace_ms: u64,
}

impl Default for JobSettings {
    fn default() -> Self {
        Self {
            worker: true,
            lease_ms: 10_000,
            poll_ms: 200,
            concurrency: 16,
            retention_hours: 7 * 24,
            stop_grace_ms: 25_000,
        }
    }
}

/// `/graphql/ws`: what one client may hold open.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebSocketSettings {
    /// A connection that has not sent `connection_init` by then is closed with 4408.
    pub init_timeout_ms: u64,
    /// The server pings this often; a peer silent for two intervals is dropped.
    pub ping_interval_ms: u64,
    /// Operations (subscriptions) running at once on one connection.
    pub max_subscriptions: usize,
    /// Open connections in this instance, and from one client address.
    pub max_connections: usize,
    pub max_connections_per_address: usize,
}

impl Default for WebSocketSettings {
    fn default() -> Self {
        Self {
            init_timeout_ms: 10_000,
            ping_interval_ms: 15_000,
            max_subscriptions: 20,
            max_connections: 1_000,
            max_connections_per_address: 50,
        }
    }
}

/// Prometheus metrics, on a listener of their own: they need no credentials, so not on the public one.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsSettings {
    /// `GET /metrics` is served here; `None` turns it off.
    pub bind: Option<SocketAddr>,
    /// Distinct operation names kept as labels (the first seen); later ones count as `other`.
    pub max_operations: usize,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        Self { bind: Some(SocketAddr::from(([127, 0, 0, 1], 9464))), max_operations: 100 }
    }
}

/// Redis, for rate-limit buckets that every instance shares.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedisSettings {
    /// `redis://[user:password@]host[:port][/db]` or `unix:///path`; without it each instance keeps
    /// its own buckets.
    pub url: Option<SecretString>,
    /// Put before every key, so instances of one deployment share buckets and others do not.
    pub key_prefix: String,
    /// How long a request waits for Redis before its instance decides alone.
    pub timeout_ms: u64,
}

impl Default for RedisSettings {
    fn default() -> Self {
        Self { url: None, key_prefix: "bildungsmarkt:ratelimit:".into(), timeout_ms: 200 }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    pub max_depth: usize,
    pub max_complexity: usize,
    pub max_recursive_depth: usize,
    /// Directives on one field.
    pub max_directives: usize,
    pub max_body_bytes: usize,
    /// Bytes of one query text (the document, not its variables).
    pub max_query_bytes: usize,
    /// Time to receive a whole request body; a slower one is answered 408.
    pub body_read_timeout_secs: u64,
    /// Bytes of a file uploaded with a GraphQL multipart request (a catalogue import); it goes to a
    /// temporary file as it arrives.
    pub max_upload_bytes: usize,
    /// Time to receive a whole multipart request.
    pub upload_timeout_secs: u64,
    /// Aliased fields per document.
    pub max_aliases: usize,
    /// Field selections per document (repeated ones count each time, a fragment's once per spread).
    pub max_fields: usize,
    /// Fragment spreads per document, counted as for fields.
    pub max_fragment_spreads: usize,
    /// Operations in one batched POST; 0 turns batching off.
    pub max_batch: usize,
    /// Query cost (complexity) per minute an anonymous client address may spend; 0 = unlimited.
    pub rate_anonymous_per_min: u32,
    /// … a signed-in user.
    pub rate_user_per_min: u32,
    /// … an API key.
    pub rate_api_key_per_min: u32,
    /// Reverse proxies in front of the server that append to `X-Forwarded-For`: the client address
    /// is the entry this many places from the right. 0 = use the TCP peer and ignore the header.
    pub trusted_proxy_hops: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            environment: Environment::Development,
            data_dir: PathBuf::from("./data"),
            database_url: None,
            db_acquire_timeout_ms: 2_000,
            db_local_reads: true,
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            log_format: LogFormat::Pretty,
            graphiql: None,
            diagnostics: false,
            cors_origins: Vec::new(),
            auth: AuthSettings::default(),
            search: SearchSettings::default(),
            alerts: AlertSettings::default(),
            jobs: JobSettings::default(),
            limits: Limits::default(),
            websocket: WebSocketSettings::default(),
            metrics: MetricsSettings::default(),
            redis: RedisSettings::default(),
        }
    }
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            jwt_secret: None,
            jwt_private_key_file: None,
            jwt_public_key_file: None,
            issuer: "bildungsmarkt".into(),
            audience: "bildungsmarkt-api".into(),
            access_token_ttl_secs: 15 * 60,
            refresh_token_ttl_secs: 30 * 24 * 60 * 60,
            password_hash_concurrency: 0,
            password_hash_queue_timeout_ms: 5_000,
            registrations_per_hour: 10,
            invitation_ttl_days: 14,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 12,
            max_complexity: 5_000,
            max_recursive_depth: 32,
            max_directives: 8,
            max_body_bytes: 1024 * 1024,
            max_query_bytes: 64 * 1024,
            body_read_timeout_secs: 10,
            max_upload_bytes: 128 * 1024 * 1024,
            upload_timeout_secs: 300,
            max_aliases: 50,
            max_fields: 500,
            max_fragment_spreads: 100,
            max_batch: 10,
            rate_anonymous_per_min: 20_000,
            rate_user_per_min: 60_000,
            rate_api_key_per_min: 300_000,
            trusted_proxy_hops: 0,
        }
    }
}

impl Settings {
    /// Defaults, then `file` (or `APP_CONFIG_FILE`, or `./bildungsmarkt.toml` when present), then the
    /// process environment.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let explicit =
            file.map(Path::to_path_buf).or_else(|| std::env::var_os("APP_CONFIG_FILE").map(PathBuf::from));
        let mut settings = match explicit {
            Some(path) => Self::from_file(&path)?,
            None if Path::new("bildungsmarkt.toml").exists() => {
                Self::from_file(Path::new("bildungsmarkt.toml"))?
            }
            None => Self::default(),
        };
        settings.apply_env(|name| std::env::var(name).ok())?;
        Ok(settings)
    }

    fn from_file(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("parsing config file {}", path.display()))
    }

    /// Overrides settings from variables; `lookup` is the environment (a map in tests).
    pub fn apply_env(&mut self, lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        if let Some(v) = get("APP_ENV") {
            self.environment = match v.to_ascii_lowercase().as_str() {
                "development" | "dev" => Environment::Development,
                "production" | "prod" => Environment::Production,
                other => bail!("APP_ENV must be development or production, not {other:?}"),
            };
        }
        if let Some(v) = get("APP_DATA_DIR") {
            self.data_dir = PathBuf::from(v);
        }
        if let Some(v) = get("DATABASE_URL") {
            self.database_url = Some(SecretString::from(v));
        }
        if let Some(v) = get("APP_DB_ACQUIRE_TIMEOUT_MS") {
            self.db_acquire_timeout_ms = parse_num("APP_DB_ACQUIRE_TIMEOUT_MS", &v)?;
        }
        if let Some(v) = get("APP_DB_LOCAL_READS") {
            self.db_local_reads = parse_bool("APP_DB_LOCAL_READS", &v)?;
        }
        if let Some(v) = get("APP_BIND") {
            self.bind = v.parse().with_context(|| format!("APP_BIND {v:?} is no socket address"))?;
        }
        if let Some(v) = get("APP_LOG_FORMAT") {
            self.log_format = match v.to_ascii_lowercase().as_str() {
                "pretty" | "text" => LogFormat::Pretty,
                "json" => LogFormat::Json,
                other => bail!("APP_LOG_FORMAT must be pretty or json, not {other:?}"),
            };
        }
        if let Some(v) = get("APP_DIAGNOSTICS") {
            self.diagnostics = parse_bool("APP_DIAGNOSTICS", &v)?;
        }
        if let Some(v) = get("APP_GRAPHIQL") {
            self.graphiql = Some(parse_bool("APP_GRAPHIQL", &v)?);
        }
        if let Some(v) = get("APP_CORS_ORIGINS") {
            self.cors_origins = v.split(',').map(|o| o.trim().to_owned()).filter(|o| !o.is_empty()).collect();
        }
        if let Some(v) = get("APP_JWT_SECRET") {
            self.auth.jwt_secret = Some(SecretString::from(v));
        }
        if let Some(v) = get("APP_JWT_PRIVATE_KEY_FILE") {
            self.auth.jwt_private_key_file = Some(PathBuf::from(v));
        }
        if let Some(v) = get("APP_JWT_PUBLIC_KEY_FILE") {
            self.auth.jwt_public_key_file = Some(PathBuf::from(v));
        }
        if let Some(v) = get("APP_JWT_ISSUER") {
            self.auth.issuer = v;
        }
        if let Some(v) = get("APP_JWT_AUDIENCE") {
            self.auth.audience = v;
        }
        if let Some(v) = get("APP_ACCESS_TOKEN_TTL_SECS") {
            self.auth.access_token_ttl_secs = parse_num("APP_ACCESS_TOKEN_TTL_SECS", &v)?;
        }
        if let Some(v) = get("APP_REFRESH_TOKEN_TTL_SECS") {
            self.auth.refresh_token_ttl_secs = parse_num("APP_REFRESH_TOKEN_TTL_SECS", &v)?;
        }
        if let Some(v) = get("APP_PASSWORD_HASH_CONCURRENCY") {
            self.auth.password_hash_concurrency = parse_num("APP_PASSWORD_HASH_CONCURRENCY", &v)?;
        }
        if let Some(v) = get("APP_PASSWORD_HASH_QUEUE_TIMEOUT_MS") {
            self.auth.password_hash_queue_timeout_ms = parse_num("APP_PASSWORD_HASH_QUEUE_TIMEOUT_MS", &v)?;
        }
        if let Some(v) = get("APP_REGISTRATIONS_PER_HOUR") {
            self.auth.registrations_per_hour = parse_num("APP_REGISTRATIONS_PER_HOUR", &v)?;
        }
        if let Some(v) = get("APP_INVITATION_TTL_DAYS") {
            self.auth.invitation_ttl_days = parse_num("APP_INVITATION_TTL_DAYS", &v)?;
        }
        if let Some(v) = get("MEILI_URL") {
            self.search.meili_url = Some(v);
        }
        if let Some(v) = get("APP_SEARCH_WORKER") {
            self.search.worker = parse_bool("APP_SEARCH_WORKER", &v)?;
        }
        if let Some(v) = get("APP_SEARCH_CHANGE_RETENTION_HOURS") {
            self.search.change_retention_hours = parse_num("APP_SEARCH_CHANGE_RETENTION_HOURS", &v)?;
        }
        if let Some(v) = get("APP_SEARCH_CHECK_INTERVAL_SECS") {
            self.search.check_interval_secs = parse_num("APP_SEARCH_CHECK_INTERVAL_SECS", &v)?;
        }
        if let Some(v) = get("MEILI_INDEX") {
            self.search.meili_index = v;
        }
        if let Some(v) = get("MEILI_MASTER_KEY") {
            self.search.meili_master_key = Some(SecretString::from(v));
        }
        if let Some(v) = get("APP_ALERT_WORKER") {
            self.alerts.worker = parse_bool("APP_ALERT_WORKER", &v)?;
        }
        if let Some(v) = get("APP_JOB_WORKER") {
            self.jobs.worker = parse_bool("APP_JOB_WORKER", &v)?;
        }
        if let Some(v) = get("APP_JOB_LEASE_MS") {
            self.jobs.lease_ms = parse_num("APP_JOB_LEASE_MS", &v)?;
        }
        if let Some(v) = get("APP_JOB_POLL_MS") {
            self.jobs.poll_ms = parse_num("APP_JOB_POLL_MS", &v)?;
        }
        if let Some(v) = get("APP_JOB_CONCURRENCY") {
            self.jobs.concurrency = parse_num("APP_JOB_CONCURRENCY", &v)?;
        }
        if let Some(v) = get("APP_JOB_RETENTION_HOURS") {
            self.jobs.retention_hours = parse_num("APP_JOB_RETENTION_HOURS", &v)?;
        }
        if let Some(v) = get("APP_JOB_STOP_GRACE_MS") {
            self.jobs.stop_grace_ms = parse_num("APP_JOB_STOP_GRACE_MS", &v)?;
        }
        if let Some(v) = get("APP_WEBHOOK_RETRY_BASE_MS") {
            self.alerts.webhook_retry_base_ms = parse_num("APP_WEBHOOK_RETRY_BASE_MS", &v)?;
        }
        if let Some(v) = get("APP_WEBHOOK_MAX_ATTEMPTS") {
            self.alerts.webhook_max_attempts = parse_num("APP_WEBHOOK_MAX_ATTEMPTS", &v)?;
        }
        if let Some(v) = get("APP_WEBHOOK_ALLOW_LOOPBACK_HTTP") {
            self.alerts.webhook_allow_loopback_http = parse_bool("APP_WEBHOOK_ALLOW_LOOPBACK_HTTP", &v)?;
        }
        if let Some(v) = get("APP_MAX_DEPTH") {
            self.limits.max_depth = parse_num("APP_MAX_DEPTH", &v)?;
        }
        if let Some(v) = get("APP_MAX_COMPLEXITY") {
            self.limits.max_complexity = parse_num("APP_MAX_COMPLEXITY", &v)?;
        }
        if let Some(v) = get("APP_MAX_RECURSIVE_DEPTH") {
            self.limits.max_recursive_depth = parse_num("APP_MAX_RECURSIVE_DEPTH", &v)?;
        }
        if let Some(v) = get("APP_MAX_DIRECTIVES") {
            self.limits.max_directives = parse_num("APP_MAX_DIRECTIVES", &v)?;
        }
        if let Some(v) = get("APP_MAX_ALIASES") {
            self.limits.max_aliases = parse_num("APP_MAX_ALIASES", &v)?;
        }
        if let Some(v) = get("APP_MAX_FIELDS") {
            self.limits.max_fields = parse_num("APP_MAX_FIELDS", &v)?;
        }
        if let Some(v) = get("APP_MAX_QUERY_BYTES") {
            self.limits.max_query_bytes = parse_num("APP_MAX_QUERY_BYTES", &v)?;
        }
        if let Some(v) = get("APP_MAX_FRAGMENT_SPREADS") {
            self.limits.max_fragment_spreads = parse_num("APP_MAX_FRAGMENT_SPREADS", &v)?;
        }
        if let Some(v) = get("APP_MAX_BODY_BYTES") {
            self.limits.max_body_bytes = parse_num("APP_MAX_BODY_BYTES", &v)?;
        }
        if let Some(v) = get("APP_BODY_READ_TIMEOUT_SECS") {
            self.limits.body_read_timeout_secs = parse_num("APP_BODY_READ_TIMEOUT_SECS", &v)?;
        }
        if let Some(v) = get("APP_MAX_UPLOAD_BYTES") {
            self.limits.max_upload_bytes = parse_num("APP_MAX_UPLOAD_BYTES", &v)?;
        }
        if let Some(v) = get("APP_UPLOAD_TIMEOUT_SECS") {
            self.limits.upload_timeout_secs = parse_num("APP_UPLOAD_TIMEOUT_SECS", &v)?;
        }
        if let Some(v) = get("APP_MAX_BATCH") {
            self.limits.max_batch = parse_num("APP_MAX_BATCH", &v)?;
        }
        if let Some(v) = get("APP_RATE_LIMIT_ANONYMOUS") {
            self.limits.rate_anonymous_per_min = parse_num("APP_RATE_LIMIT_ANONYMOUS", &v)?;
        }
        if let Some(v) = get("APP_RATE_LIMIT_USER") {
            self.limits.rate_user_per_min = parse_num("APP_RATE_LIMIT_USER", &v)?;
        }
        if let Some(v) = get("APP_RATE_LIMIT_API_KEY") {
            self.limits.rate_api_key_per_min = parse_num("APP_RATE_LIMIT_API_KEY", &v)?;
        }
        if let Some(v) = get("APP_TRUSTED_PROXY_HOPS") {
            self.limits.trusted_proxy_hops = parse_num("APP_TRUSTED_PROXY_HOPS", &v)?;
        }
        self.apply_server_env(&get)?;
        self.validate()
    }

    /// The WebSocket, metrics and Redis settings.
    fn apply_server_env(&mut self, get: &impl Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        let ws = &mut self.websocket;
        if let Some(v) = get("APP_WS_INIT_TIMEOUT_MS") {
            ws.init_timeout_ms = parse_num("APP_WS_INIT_TIMEOUT_MS", &v)?;
        }
        if let Some(v) = get("APP_WS_PING_INTERVAL_MS") {
            ws.ping_interval_ms = parse_num("APP_WS_PING_INTERVAL_MS", &v)?;
        }
        if let Some(v) = get("APP_WS_MAX_SUBSCRIPTIONS") {
            ws.max_subscriptions = parse_num("APP_WS_MAX_SUBSCRIPTIONS", &v)?;
        }
        if let Some(v) = get("APP_WS_MAX_CONNECTIONS") {
            ws.max_connections = parse_num("APP_WS_MAX_CONNECTIONS", &v)?;
        }
        if let Some(v) = get("APP_WS_MAX_CONNECTIONS_PER_ADDRESS") {
            ws.max_connections_per_address = parse_num("APP_WS_MAX_CONNECTIONS_PER_ADDRESS", &v)?;
        }
        if let Some(v) = get("APP_METRICS_BIND") {
            self.metrics.bind = match v.trim().to_ascii_lowercase().as_str() {
                "off" | "none" | "false" => None,
                _ => Some(
                    v.trim()
                        .parse()
                        .with_context(|| format!("APP_METRICS_BIND {v:?} is no socket address"))?,
                ),
            };
        }
        if let Some(v) = get("APP_METRICS_MAX_OPERATIONS") {
            self.metrics.max_operations = parse_num("APP_METRICS_MAX_OPERATIONS", &v)?;
        }
        if let Some(v) = get("REDIS_URL") {
            self.redis.url = Some(SecretString::from(v));
        }
        if let Some(v) = get("APP_REDIS_KEY_PREFIX") {
            self.redis.key_prefix = v;
        }
        if let Some(v) = get("APP_REDIS_TIMEOUT_MS") {
            self.redis.timeout_ms = parse_num("APP_REDIS_TIMEOUT_MS", &v)?;
        }
        Ok(())
    }

    fn validate(&self) -> anyhow::Result<()> {
        if self.auth.access_token_ttl_secs <= 0 || self.auth.refresh_token_ttl_secs <= 0 {
            bail!("token lifetimes must be positive");
        }
        if self.auth.invitation_ttl_days <= 0 {
            bail!("APP_INVITATION_TTL_DAYS must be positive");
        }
        if self.auth.jwt_private_key_file.is_some() != self.auth.jwt_public_key_file.is_some() {
            bail!("APP_JWT_PRIVATE_KEY_FILE and APP_JWT_PUBLIC_KEY_FILE go together");
        }
        if self.db_acquire_timeout_ms == 0 {
            bail!("APP_DB_ACQUIRE_TIMEOUT_MS must be at least 1");
        }
        if self.jobs.lease_ms < 300 || self.jobs.poll_ms == 0 || self.jobs.concurrency == 0 {
            bail!(
                "APP_JOB_LEASE_MS must be at least 300, APP_JOB_POLL_MS and APP_JOB_CONCURRENCY at least 1"
            );
        }
        if self.alerts.webhook_max_attempts < 1 {
            bail!("APP_WEBHOOK_MAX_ATTEMPTS must be at least 1");
        }
        let limits = &self.limits;
        for (name, quota) in [
            ("APP_RATE_LIMIT_ANONYMOUS", limits.rate_anonymous_per_min),
            ("APP_RATE_LIMIT_USER", limits.rate_user_per_min),
            ("APP_RATE_LIMIT_API_KEY", limits.rate_api_key_per_min),
        ] {
            if quota != 0 && (quota as usize) < limits.max_complexity {
                bail!(
                    "{name} ({quota}) must be 0 (no limit) or at least APP_MAX_COMPLEXITY ({}), \
                     or the dearest allowed query could never run",
                    limits.max_complexity
                );
            }
        }
        if self.websocket.init_timeout_ms == 0 || self.websocket.ping_interval_ms == 0 {
            bail!("APP_WS_INIT_TIMEOUT_MS and APP_WS_PING_INTERVAL_MS must be positive");
        }
        if self.redis.timeout_ms == 0 {
            bail!("APP_REDIS_TIMEOUT_MS must be at least 1");
        }
        if self.limits.body_read_timeout_secs == 0 {
            bail!("APP_BODY_READ_TIMEOUT_SECS must be positive");
        }
        if self.cors_origins.iter().any(|o| o == "*") {
            bail!("APP_CORS_ORIGINS takes explicit origins; a wildcard is not allowed with credentials");
        }
        Ok(())
    }

    /// Plain-HTTP webhook endpoints on loopback hosts: development and tests only.
    pub fn allows_loopback_webhooks(&self) -> bool {
        self.alerts.webhook_allow_loopback_http && !self.is_production()
    }

    pub fn is_production(&self) -> bool {
        self.environment == Environment::Production
    }

    pub fn graphiql_enabled(&self) -> bool {
        self.graphiql.unwrap_or(!self.is_production())
    }

    /// The configured database URL, or the default SQLite file in the data directory.
    pub fn database_url(&self) -> SecretString {
        match &self.database_url {
            Some(url) => url.clone(),
            None => SecretString::from(format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("bildungsmarkt.db").display()
            )),
        }
    }

    pub fn db_acquire_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.db_acquire_timeout_ms)
    }

    /// The Redis URL with any password replaced, fit for a log line.
    pub fn redis_url_redacted(&self) -> Option<String> {
        self.redis.url.as_ref().map(|url| redact_url(url.expose_secret()))
    }

    /// The database URL with any password replaced, fit for a log line.
    pub fn database_url_redacted(&self) -> String {
        redact_url(self.database_url().expose_secret())
    }
}

fn parse_bool(name: &str, value: &str) -> anyhow::Result<bool> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        other => bail!("{name} must be true or false, not {other:?}"),
    }
}

fn parse_num<T: std::str::FromStr>(name: &str, value: &str) -> anyhow::Result<T> {
    value.trim().parse().map_err(|_| anyhow::anyhow!("{name} must be a number, not {value:?}"))
}

fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}")
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn with_env(vars: &[(&str, &str)]) -> anyhow::Result<Settings> {
        let map: HashMap<String, String> =
            vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        let mut settings = Settings::default();
        settings.apply_env(|name| map.get(name).cloned())?;
        Ok(settings)
    }

    #[test]
    fn defaults_use_sqlite_in_data_dir() -> anyhow::Result<()> {
        let settings = with_env(&[])?;
        assert_eq!(settings.bind.to_string(), "127.0.0.1:8080");
        assert!(settings.database_url().expose_secret().starts_with("sqlite://"));
        assert!(settings.graphiql_enabled());
        Ok(())
    }

    #[test]
    fn the_database_acquire_timeout_is_configurable_and_positive() -> anyhow::Result<()> {
        assert_eq!(with_env(&[])?.db_acquire_timeout(), std::time::Duration::from_secs(2));
        let settings = with_env(&[("APP_DB_ACQUIRE_TIMEOUT_MS", "750")])?;
        assert_eq!(settings.db_acquire_timeout(), std::time::Duration::from_millis(750));
        assert!(with_env(&[("APP_DB_ACQUIRE_TIMEOUT_MS", "0")]).is_err());
        Ok(())
    }

    #[test]
    fn local_reads_are_on_unless_turned_off() -> anyhow::Result<()> {
        assert!(with_env(&[])?.db_local_reads);
        assert!(!with_env(&[("APP_DB_LOCAL_READS", "false")])?.db_local_reads);
        assert!(with_env(&[("APP_DB_LOCAL_READS", "maybe")]).is_err());
        Ok(())
    }

    #[test]
    fn environment_overrides_defaults() -> anyhow::Result<()> {
        let settings = with_env(&[
            ("APP_ENV", "production"),
            ("DATABASE_URL", "postgres://app:hunter2@db/app"),
            ("APP_CORS_ORIGINS", "https://a.example, https://b.example"),
            ("APP_ACCESS_TOKEN_TTL_SECS", "60"),
        ])?;
        assert!(!settings.graphiql_enabled());
        assert_eq!(settings.cors_origins.len(), 2);
        assert_eq!(settings.auth.access_token_ttl_secs, 60);
        assert_eq!(settings.database_url_redacted(), "postgres://app:***@db/app");
        Ok(())
    }

    #[test]
    fn secrets_never_show_in_debug_output() -> anyhow::Result<()> {
        let settings = with_env(&[
            ("APP_JWT_SECRET", "top-secret-value"),
            ("MEILI_MASTER_KEY", "meili-secret-value"),
            ("DATABASE_URL", "postgres://app:hunter2@db/app"),
            ("REDIS_URL", "redis://:redis-secret-value@cache:6379/0"),
        ])?;
        let debug = format!("{settings:?}");
        for secret in ["top-secret-value", "meili-secret-value", "hunter2", "redis-secret-value"] {
            assert!(!debug.contains(secret), "{secret} leaked into {debug}");
        }
        Ok(())
    }

    #[test]
    fn rate_limits_below_the_complexity_limit_are_refused() {
        let err = with_env(&[("APP_RATE_LIMIT_ANONYMOUS", "100")]).err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("APP_RATE_LIMIT_ANONYMOUS")));
        assert!(with_env(&[("APP_RATE_LIMIT_ANONYMOUS", "0")]).is_ok());
    }

    #[test]
    fn metrics_listen_on_loopback_unless_moved_or_turned_off() -> anyhow::Result<()> {
        assert_eq!(with_env(&[])?.metrics.bind.map(|a| a.to_string()).as_deref(), Some("127.0.0.1:9464"));
        let moved = with_env(&[("APP_METRICS_BIND", "0.0.0.0:9100")])?;
        assert_eq!(moved.metrics.bind.map(|a| a.port()), Some(9100));
        assert!(with_env(&[("APP_METRICS_BIND", "off")])?.metrics.bind.is_none());
        assert!(with_env(&[("APP_METRICS_BIND", "loopback")]).is_err());
        assert_eq!(with_env(&[("APP_WS_INIT_TIMEOUT_MS", "300")])?.websocket.init_timeout_ms, 300);
        assert!(with_env(&[("APP_BODY_READ_TIMEOUT_SECS", "0")]).is_err());
        Ok(())
    }

    #[test]
    fn sign_in_and_invitation_settings_come_from_the_environment() -> anyhow::Result<()> {
        let defaults = with_env(&[])?;
        assert_eq!(defaults.auth.password_hash_concurrency, 0, "one worker per core");
        assert_eq!(defaults.auth.registrations_per_hour, 10);
        assert_eq!(defaults.auth.invitation_ttl_days, 14);
        let settings = with_env(&[
            ("APP_PASSWORD_HASH_CONCURRENCY", "3"),
            ("APP_PASSWORD_HASH_QUEUE_TIMEOUT_MS", "250"),
            ("APP_REGISTRATIONS_PER_HOUR", "0"),
            ("APP_INVITATION_TTL_DAYS", "7"),
        ])?;
        assert_eq!(settings.auth.password_hash_concurrency, 3);
        assert_eq!(settings.auth.password_hash_queue_timeout_ms, 250);
        assert_eq!(settings.auth.registrations_per_hour, 0);
        assert_eq!(settings.auth.invitation_ttl_days, 7);
        assert!(with_env(&[("APP_INVITATION_TTL_DAYS", "0")]).is_err());
        Ok(())
    }

    #[test]
    fn redis_is_off_unless_its_url_is_set() -> anyhow::Result<()> {
        let defaults = with_env(&[])?;
        assert!(defaults.redis.url.is_none());
        assert_eq!(defaults.redis.key_prefix, "bildungsmarkt:ratelimit:");
        assert_eq!(defaults.redis.timeout_ms, 200);
        let settings = with_env(&[
            ("REDIS_URL", "redis://:pw@cache:6380/2"),
            ("APP_REDIS_KEY_PREFIX", "staging:rl:"),
            ("APP_REDIS_TIMEOUT_MS", "150"),
        ])?;
        assert_eq!(settings.redis_url_redacted().as_deref(), Some("redis://:***@cache:6380/2"));
        assert_eq!(settings.redis.key_prefix, "staging:rl:");
        assert_eq!(settings.redis.timeout_ms, 150);
        assert!(with_env(&[("APP_REDIS_TIMEOUT_MS", "0")]).is_err());
        Ok(())
    }

    #[test]
    fn bad_values_are_rejected_with_the_variable_name() {
        let err = with_env(&[("APP_MAX_DEPTH", "deep")]).err().map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some("APP_MAX_DEPTH must be a number, not \"deep\""));
        assert!(with_env(&[("APP_CORS_ORIGINS", "*")]).is_err());
    }
}
