//! Per-caller token buckets charged by query cost (the complexity async-graphql computes while
//! validating: a list costs `first × child`). Each caller — a user, an API key, else the client
//! address — has a bucket that holds one minute of its quota and refills continuously, so bursts up
//! to the quota pass and a steady stream is held to it.
//!
//! The buckets live in this instance's memory: behind a load balancer with N instances a caller gets
//! up to N times its quota. That bounds abuse without a database write per request.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use uuid::Uuid;

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

#[derive(Debug)]
pub struct RateLimiter {
    quotas: Quotas,
    buckets: Mutex<HashMap<Principal, Bucket>>,
}

impl RateLimiter {
    pub fn new(quotas: Quotas) -> Self {
        Self { quotas, buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes `cost` from `who`'s bucket, or says how long to wait until it holds that much.
    pub fn charge(&self, who: Principal, cost: u32) -> Result<(), Duration> {
        self.charge_at(who, cost, Instant::now())
    }

    fn charge_at(&self, who: Principal, cost: u32, now: Instant) -> Result<(), Duration> {
        let quota = self.quotas.per_minute(&who);
        if quota == 0 {
            return Ok(());
        }
        let capacity = f64::from(quota);
        let per_sec = capacity / 60.0;
        // A query dearer than the whole bucket (only when the quota is below the complexity limit)
        // is charged the whole bucket rather than refused forever.
        let cost = f64::from(cost.max(1)).min(capacity);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter() -> RateLimiter {
        RateLimiter::new(Quotas { anonymous: 600, user: 6_000, api_key: 0 })
    }

    #[test]
    fn a_burst_up_to_the_quota_passes_then_waits_for_the_refill() {
        let limiter = limiter();
        let who = Principal::Address(IpAddr::from([203, 0, 113, 7]));
        let start = Instant::now();
        for _ in 0..6 {
            assert!(limiter.charge_at(who, 100, start).is_ok());
        }
        // Empty: 100 units refill at 10 per second.
        let wait = limiter.charge_at(who, 100, start).err();
        assert_eq!(wait.map(|d| d.as_secs()), Some(10));
        assert!(limiter.charge_at(who, 100, start + Duration::from_secs(10)).is_ok());
    }

    #[test]
    fn callers_have_their_own_buckets_and_quotas() {
        let limiter = limiter();
        let now = Instant::now();
        let address = Principal::Address(IpAddr::from([203, 0, 113, 7]));
        assert!(limiter.charge_at(address, 600, now).is_ok());
        assert!(limiter.charge_at(address, 1, now).is_err());
        let other = Principal::Address(IpAddr::from([203, 0, 113, 8]));
        assert!(limiter.charge_at(other, 600, now).is_ok());
        let user = Principal::User(Uuid::now_v7());
        assert!(limiter.charge_at(user, 5_000, now).is_ok());
        // A quota of 0 is no limit.
        let key = Principal::ApiKey(Uuid::now_v7());
        assert!(limiter.charge_at(key, 1_000_000, now).is_ok());
    }

    #[test]
    fn a_query_dearer_than_the_bucket_takes_all_of_it() {
        let limiter = limiter();
        let who = Principal::Address(IpAddr::from([203, 0, 113, 9]));
        let now = Instant::now();
        assert!(limiter.charge_at(who, 5_000, now).is_ok());
        assert!(limiter.charge_at(who, 1, now).is_err());
    }
}
