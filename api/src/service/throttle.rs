//! Sign-in throttling per account and per client address, kept in the database so every instance
//! counts the same failures. An account is blocked after 5 failures in 15 minutes (1 minute,
//! doubling with each further failure, at most 15 minutes); an address after 30 (15 minutes). A
//! successful sign-in clears the account's count.

use chrono::{DateTime, Duration, Utc};
use entity::login_throttle as throttle;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect, Set,
};

use crate::db;
use crate::error::{ApiError, ApiResult};

const WINDOW: Duration = Duration::minutes(15);
const ACCOUNT_FAILURES: i32 = 5;
const ADDRESS_FAILURES: i32 = 30;
const MAX_BLOCK: Duration = Duration::minutes(15);

/// What is counted: an account (normalised email) or a client address.
#[derive(Debug, Clone)]
pub enum Key {
    Account(String),
    Address(std::net::IpAddr),
}

impl Key {
    fn stored(&self) -> String {
        match self {
            Self::Account(email) => format!("account:{email}"),
            Self::Address(ip) => format!("ip:{ip}"),
        }
    }

    /// The block after `failures` failures in the window, if any.
    fn block(&self, failures: i32) -> Option<Duration> {
        match self {
            Self::Account(_) if failures >= ACCOUNT_FAILURES => {
                let doublings = (failures - ACCOUNT_FAILURES).clamp(0, 4) as u32;
                Some((Duration::minutes(1) * 2_i32.pow(doublings)).min(MAX_BLOCK))
            }
            Self::Address(_) if failures >= ADDRESS_FAILURES => Some(MAX_BLOCK),
            _ => None,
        }
    }
}

/// `RATE_LIMITED` with the seconds to wait when any key is blocked.
pub async fn check(db: &DatabaseConnection, keys: &[Key]) -> ApiResult<()> {
    let stored: Vec<String> = keys.iter().map(Key::stored).collect();
    let now = Utc::now();
    let blocked_until: Option<DateTime<Utc>> = throttle::Entity::find()
        .filter(throttle::Column::Key.is_in(stored))
        .all(db)
        .await?
        .into_iter()
        .filter_map(|row| row.blocked_until)
        .filter(|until| *until > now)
        .max();
    match blocked_until {
        Some(until) => {
            let secs = (until - now).num_seconds().max(1) as u64;
            Err(ApiError::RateLimited {
                message: format!("too many failed sign-ins; try again in {secs} s"),
                retry_after_secs: secs,
            })
        }
        None => Ok(()),
    }
}

/// Counts a failed sign-in for every key.
pub async fn record_failure(db: &DatabaseConnection, keys: &[Key]) -> ApiResult<()> {
    let now = Utc::now();
    let txn = db::begin_write(db).await?;
    for key in keys {
        let stored = key.stored();
        let row = throttle::Entity::find_by_id(stored.clone()).lock_exclusive().one(&txn).await?;
        let (failures, window) = match &row {
            Some(r) if now - r.window_started_at < WINDOW => (r.failures + 1, r.window_started_at),
            _ => (1, now),
        };
        let blocked_until = key.block(failures).map(|d| now + d);
        let model = throttle::ActiveModel {
            key: Set(stored),
            failures: Set(failures),
            window_started_at: Set(window),
            blocked_until: Set(blocked_until),
        };
        if row.is_some() {
            model.update(&txn).await?;
        } else {
            model.insert(&txn).await?;
        }
    }
    txn.commit().await?;
    Ok(())
}

/// Clears the count of `key` (after a successful sign-in).
pub async fn reset(db: &DatabaseConnection, key: &Key) -> ApiResult<()> {
    throttle::Entity::delete_by_id(key.stored()).exec(db).await?;
    Ok(())
}
