//! Per-caller token buckets charged by query cost (the complexity async-graphql computes while
//! validating: a list costs `first × child`). Each caller — a user, an API key, else the client
//! address — has a bucket that holds one minute of its quota and refills continuously, so bursts up
//! to the quota pass and a steady stream is held to it.
//!
//! With `REDIS_URL` every instance charges the same buckets in Redis ([`shared`]), so a caller gets
//! its quota once however many instances serve it. Without Redis — or while Redis does not answer —
//! the buckets live in this instance's memory: behind a load balancer with N instances a caller then
//! gets up to N times its quota. That still bounds abuse, where refusing or waiting would not.

pub mod shared;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::config::Settings;
use crate::metrics::Metrics;

/// Who is charged for a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Principal {
    Address(IpAddr),
    User(Uuid),
    ApiKey(Uuid),
}

/// Cost units per minute for each kind of caller; 0 turns the limit off for that kind.
#[derive(Debug, Clone, Copy)]
pub struct Quotas {
    pub anonymous: u32,
    pub user: u32,
    pub api_key: u32,
}

impl Quotas {
    pub fn of(limits: &crate::config::Limits) -> Self {
        Self {
            anonymous: limits.rate_anonymous_per_min,
            user: limits.rate_user_per_min,
            api_key: limits.rate_api_key_per_min,
        }
    }

    fn per_minute(&self, who: &Principal) -> u32 {
        match who {
            Principal::Address(_) => self.anonymous,
            Principal::User(_) => self.user,
            Principal::ApiKey(_) => self.api_key,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Buckets kept before idle, full ones are dropped.
const PRUNE_AT: usize = 50_000;

/// This instance's buckets: all of them without Redis, the stand-ins while Redis does not answer.
#[derive(Debug)]
struct LocalBuckets {
    quotas: Quotas,
    buckets: Mutex<HashMap<Principal, Bucket>>,
}

impl LocalBuckets {
    fn new(quotas: Quotas) -> Self {
        Self { quotas, buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes `cost` (at most the quota) from `who`'s bucket, or says how long until it holds that
    /// much.
    fn charge_at(&self, who: Principal, cost: u32, now: Instant) -> Result<(), Duration> {
        let capacity = f64::from(self.quotas.per_minute(&who));
        let per_sec = capacity / 60.0;
        let cost = f64::from(cost);
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if buckets.len() >= PRUNE_AT {
            buckets.retain(|k, b| {
                let cap = f64::from(self.quotas.per_minute(k));
                b.tokens + now.saturating_duration_since(b.updated).as_secs_f64() * cap / 60.0 < cap
            });
        }
        let bucket = buckets.entry(who).or_insert(Bucket { tokens: capacity, updated: now });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_sec).min(capacity);
        bucket.updated = now;
        if bucket.tokens >= cost {
            bucket.tokens -= cost;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((cost - bucket.tokens) / per_sec))
        }
    }
}

/// The rate limiter the GraphQL extension charges.
pub struct RateLimiter {
    local: LocalBuckets,
    shared: Option<shared::SharedBuckets>,
}

impl RateLimiter {
    /// Buckets in this instance only.
    pub fn new(quotas: Quotas) -> Self {
        Self { local: LocalBuckets::new(quotas), shared: None }
    }

    /// Buckets shared through Redis when `settings.redis.url` is set, else in this instance.
    pub fn from_settings(settings: &Settings, metrics: Arc<Metrics>) -> anyhow::Result<Self> {
        let shared = shared::SharedBuckets::connect(settings, metrics)?;
        Ok(Self { shared, ..Self::new(Quotas::of(&settings.limits)) })
    }

    /// Takes `cost` from `who`'s bucket, or says how long to wait until it holds that much.
    pub async fn charge(&self, who: Principal, cost: u32) -> Result<(), Duration> {
        let quota = self.local.quotas.per_minute(&who);
        if quota == 0 {
            return Ok(());
        }
        // A query dearer than the whole bucket (only when the quota is below the complexity limit)
        // is charged the whole bucket rather than refused forever.
        let cost = cost.clamp(1, quota);
        if let Some(shared) = &self.shared
            && let Some(decided) = shared.charge(who, quota, cost).await
        {
            return decided;
        }
        self.local.charge_at(who, cost, Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUOTAS: Quotas = Quotas { anonymous: 600, user: 6_000, api_key: 0 };

    #[test]
    fn a_burst_up_to_the_quota_passes_then_waits_for_the_refill() {
        let buckets = LocalBuckets::new(QUOTAS);
        let who = Principal::Address(IpAddr::from([203, 0, 113, 7]));
        let start = Instant::now();
        for _ in 0..6 {
            assert!(buckets.charge_at(who, 100, start).is_ok());
        }
        // Empty: 100 units refill at 10 per second.
        let wait = buckets.charge_at(who, 100, start).err();
        assert_eq!(wait.map(|d| d.as_secs()), Some(10));
        assert!(buckets.charge_at(who, 100, start + Duration::from_secs(10)).is_ok());
    }

    #[test]
    fn callers_have_their_own_buckets() {
        let buckets = LocalBuckets::new(QUOTAS);
        let now = Instant::now();
        let address = Principal::Address(IpAddr::from([203, 0, 113, 7]));
        assert!(buckets.charge_at(address, 600, now).is_ok());
        assert!(buckets.charge_at(address, 1, now).is_err());
        let other = Principal::Address(IpAddr::from([203, 0, 113, 8]));
        assert!(buckets.charge_at(other, 600, now).is_ok());
        let user = Principal::User(Uuid::now_v7());
        assert!(buckets.charge_at(user, 5_000, now).is_ok());
    }

    #[tokio::test]
    async fn a_quota_of_zero_is_no_limit() {
        let limiter = RateLimiter::new(QUOTAS);
        let key = Principal::ApiKey(Uuid::now_v7());
        for _ in 0..3 {
            assert!(limiter.charge(key, 1_000_000).await.is_ok());
        }
    }

    #[tokio::test]
    async fn a_query_dearer_than_the_bucket_takes_all_of_it() {
        let limiter = RateLimiter::new(QUOTAS);
        let who = Principal::Address(IpAddr::from([203, 0, 113, 9]));
        assert!(limiter.charge(who, 5_000).await.is_ok());
        assert!(limiter.charge(who, 1).await.is_err());
    }
}
