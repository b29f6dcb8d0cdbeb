//! Token buckets in Redis, charged by every instance: one atomic script reads a bucket, refills it
//! for the time passed on the Redis server's clock (so the instances' clocks do not matter), charges
//! or refuses, and lets the key expire once the bucket would be full again — a missing bucket is a
//! full one.
//!
//! Redis must not become the service's weak point: each call waits at most `APP_REDIS_TIMEOUT_MS`,
//! and when Redis fails or does not answer in time the instance decides alone, with its own buckets
//! (per-instance limits, as without Redis), logs the outage once and counts it in `/metrics`. After a
//! failure the next [`RETRY_PAUSE`] of requests do not wait for Redis; then one request tries again.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use redis::Script;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use secrecy::ExposeSecret;

use super::Principal;
use crate::config::{RedisSettings, Settings};
use crate::metrics::Metrics;

/// KEYS[1]: the bucket; ARGV[1]: its capacity (a minute's quota), ARGV[2]: the cost (at most the
/// capacity). Returns 0 when charged, else the milliseconds until the bucket holds the cost.
const TOKEN_BUCKET: &str = r"
if redis.replicate_commands then redis.replicate_commands() end
local capacity = tonumber(ARGV[1])
local cost = tonumber(ARGV[2])
local per_ms = capacity / 60000
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(bucket[1]) or capacity
local at = tonumber(bucket[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * per_ms)
local wait = 0
if tokens >= cost then
  tokens = tokens - cost
else
  wait = math.ceil((cost - tokens) / per_ms)
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', now)
redis.call('PEXPIRE', KEYS[1], math.max(1, math.ceil((capacity - tokens) / per_ms)))
return wait
";

/// How long requests decide locally after Redis failed, before one tries Redis again: an outage
/// costs one request per pause the timeout, not every request.
pub const RETRY_PAUSE: Duration = Duration::from_secs(1);

pub struct SharedBuckets {
    connection: ConnectionManager,
    script: Script,
    prefix: String,
    timeout: Duration,
    health: Health,
    metrics: Arc<Metrics>,
}

impl SharedBuckets {
    /// `None` without a Redis URL. Connects lazily: an instance starts, and limits on its own, while
    /// Redis is down.
    pub fn connect(settings: &Settings, metrics: Arc<Metrics>) -> anyhow::Result<Option<Self>> {
        let Some(client) = client(&settings.redis)? else {
            tracing::info!("rate limits are per instance (REDIS_URL is not set)");
            return Ok(None);
        };
        tracing::info!(
            redis = settings.redis_url_redacted().unwrap_or_default(),
            prefix = %settings.redis.key_prefix,
            "rate limits are shared through Redis"
        );
        let timeout = Duration::from_millis(settings.redis.timeout_ms);
        // One connection attempt per call: the reconnecting is paced by `RETRY_PAUSE`, not by
        // retries that would keep a request waiting.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(0);
        let connection = ConnectionManager::new_lazy_with_config(client, config)
            .context("setting up the Redis connection")?;
        Ok(Some(Self {
            connection,
            script: Script::new(TOKEN_BUCKET),
            prefix: settings.redis.key_prefix.clone(),
            timeout,
            health: Health::default(),
            metrics,
        }))
    }

    /// Charges `cost` to `who`'s bucket of capacity `quota` in Redis; `None` when Redis could not
    /// decide (the caller then decides locally).
    pub async fn charge(&self, who: Principal, quota: u32, cost: u32) -> Option<Result<(), Duration>> {
        if !self.health.may_try(self.health.now_ms()) {
            self.metrics.rate_limit_redis("skipped");
            return None;
        }
        let mut connection = self.connection.clone();
        let mut call = self.script.key(self.key(who));
        call.arg(quota).arg(cost);
        let answer = match tokio::time::timeout(self.timeout, call.invoke_async::<u64>(&mut connection)).await
        {
            Ok(Ok(wait_ms)) => wait_ms,
            Ok(Err(error)) => return self.failed(&error),
            Err(_) => return self.failed(&format!("no answer within {} ms", self.timeout.as_millis())),
        };
        if self.health.answered() {
            tracing::info!("Redis answers again: rate limits are shared by all instances again");
        }
        self.metrics.rate_limit_redis("charged");
        Some(if answer == 0 { Ok(()) } else { Err(Duration::from_millis(answer)) })
    }

    fn failed(&self, error: &dyn std::fmt::Display) -> Option<Result<(), Duration>> {
        self.metrics.rate_limit_redis("failed");
        if self.health.failed(self.health.now_ms()) {
            tracing::warn!(
                error = %error,
                "Redis does not answer: each instance enforces rate limits on its own until it does"
            );
        }
        None
    }

    fn key(&self, who: Principal) -> String {
        match who {
            Principal::Address(address) => format!("{}address:{address}", self.prefix),
            Principal::User(id) => format!("{}user:{id}", self.prefix),
            Principal::ApiKey(id) => format!("{}key:{id}", self.prefix),
        }
    }
}

/// The client for `settings.url`, which must be a Redis URL; `None` without one.
pub fn client(settings: &RedisSettings) -> anyhow::Result<Option<redis::Client>> {
    settings
        .url
        .as_ref()
        .map(|url| {
            redis::Client::open(url.expose_secret())
                .context("REDIS_URL must be redis://[user:password@]host[:port][/db] or unix:///path")
        })
        .transpose()
}

/// Whether Redis answered last time, and until when requests do not try it after a failure.
struct Health {
    started: Instant,
    /// Milliseconds since `started`; 0 while Redis answers.
    paused_until_ms: AtomicU64,
    down: AtomicBool,
}

impl Default for Health {
    fn default() -> Self {
        Self { started: Instant::now(), paused_until_ms: AtomicU64::new(0), down: AtomicBool::new(false) }
    }
}

impl Health {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Whether this request asks Redis: always while it answers; after a failure, one request per
    /// pause (it claims the next pause for itself, so the others do not wait with it).
    fn may_try(&self, now: u64) -> bool {
        let paused_until = self.paused_until_ms.load(Ordering::Acquire);
        if paused_until == 0 {
            return true;
        }
        now >= paused_until
            && self
                .paused_until_ms
                .compare_exchange(paused_until, now + pause_ms(), Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
    }

    /// Redis answered; true when it had been down.
    fn answered(&self) -> bool {
        self.paused_until_ms.store(0, Ordering::Release);
        self.down.swap(false, Ordering::AcqRel)
    }

    /// Redis failed; true when it had been up (the outage begins).
    fn failed(&self, now: u64) -> bool {
        self.paused_until_ms.store(now.max(1) + pause_ms(), Ordering::Release);
        !self.down.swap(true, Ordering::AcqRel)
    }
}

fn pause_ms() -> u64 {
    u64::try_from(RETRY_PAUSE.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_a_failure_one_request_per_pause_tries_redis() {
        let health = Health::default();
        assert!(health.may_try(0) && health.may_try(0), "while Redis answers, every request asks it");
        assert!(health.failed(10), "the first failure begins an outage");
        assert!(!health.failed(20), "… later ones do not");
        assert!(!health.may_try(900), "within the pause nobody waits for Redis");
        // The pause is over: one request claims the next try, the others keep deciding locally.
        assert!(health.may_try(1_020));
        assert!(!health.may_try(1_021));
        assert!(health.answered(), "an answer ends the outage");
        assert!(!health.answered());
        assert!(health.may_try(1_030) && health.may_try(1_030));
    }
}
