//! Throttling of sign-ins and registrations, kept in the database so every instance counts alike.
//!
//! Sign-ins follow the OWASP authentication cheat sheet: a stranger must not be able to lock an
//! account's owner out. Attempts are counted
//! - per account and client address: blocked after 5 in 15 minutes for 1 minute, doubling with each
//!   further attempt up to 15 minutes (the guesser at one address is slowed down hard);
//! - per client address: blocked for 15 minutes after 30 in 15 minutes (one address trying many
//!   accounts);
//! - per account: blocked for 15 minutes after 100 in 15 minutes (a guess spread over many
//!   addresses), high enough that the owner is locked out only by a distributed attack.
//!
//! An attempt is counted before the password is checked, in the same transaction that looks for a
//! block, so a burst of concurrent guesses cannot all slip in before the first failure is written. A
//! sign-in that succeeds takes its attempt back and clears its account-and-address count.
//!
//! Registrations are counted per client address (`APP_REGISTRATIONS_PER_HOUR` an hour), successful or
//! not: a taken email is a `CONFLICT`, so unthrottled registration would tell who has an account.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use entity::login_throttle as throttle;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};

use crate::context::AppState;
use crate::db;
use crate::error::{ApiError, ApiResult};

const SIGN_IN_WINDOW: Duration = Duration::minutes(15);
const PAIR_ATTEMPTS: i32 = 5;
const ADDRESS_ATTEMPTS: i32 = 30;
const ACCOUNT_ATTEMPTS: i32 = 100;
const MAX_BLOCK: Duration = Duration::minutes(15);
const REGISTRATION_WINDOW: Duration = Duration::hours(1);

/// What is counted.
#[derive(Debug, Clone)]
pub enum Key {
    /// Sign-ins to one account (normalised email) from one client address (if known).
    Pair { email: String, address: Option<IpAddr> },
    /// Sign-ins from one client address, to any account.
    Address(IpAddr),
    /// Sign-ins to one account, from anywhere.
    Account(String),
    /// Registrations from one client address, at most `per_hour`.
    Registration { address: IpAddr, per_hour: u32 },
}

impl Key {
    /// The keys a sign-in to `email` from `address` counts on.
    pub fn sign_in(email: &str, address: Option<IpAddr>) -> Vec<Key> {
        let mut keys = vec![Key::Pair { email: email.to_owned(), address }, Key::Account(email.to_owned())];
        keys.extend(address.map(Key::Address));
        keys
    }

    fn stored(&self) -> String {
        match self {
            Self::Pair { email, address: Some(ip) } => format!("pair:{ip}|{email}"),
            Self::Pair { email, address: None } => format!("pair:-|{email}"),
            Self::Address(ip) => format!("ip:{ip}"),
            Self::Account(email) => format!("account:{email}"),
            Self::Registration { address, .. } => format!("register:{address}"),
        }
    }

    fn window(&self) -> Duration {
        match self {
            Self::Registration { .. } => REGISTRATION_WINDOW,
            _ => SIGN_IN_WINDOW,
        }
    }

    fn limit(&self) -> i32 {
        match self {
            Self::Pair { .. } => PAIR_ATTEMPTS,
            Self::Address(_) => ADDRESS_ATTEMPTS,
            Self::Account(_) => ACCOUNT_ATTEMPTS,
            Self::Registration { per_hour, .. } => i32::try_from(*per_hour).unwrap_or(i32::MAX),
        }
    }

    /// Until when the key is blocked after `attempts` attempts in the window that began at `window`.
    fn blocked_until(
        &self,
        attempts: i32,
        window: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        if attempts < self.limit() {
            return None;
        }
        Some(match self {
            Self::Pair { .. } => {
                let doublings = (attempts - PAIR_ATTEMPTS).clamp(0, 4) as u32;
                now + (Duration::minutes(1) * 2_i32.pow(doublings)).min(MAX_BLOCK)
            }
            Self::Address(_) | Self::Account(_) => now + MAX_BLOCK,
            Self::Registration { .. } => window + REGISTRATION_WINDOW,
        })
    }
}

fn rate_limited(keys: &[Key], secs: u64) -> ApiError {
    let what = if matches!(keys.first(), Some(Key::Registration { .. })) {
        "too many registrations from this address"
    } else {
        "too many failed sign-ins"
    };
    ApiError::RateLimited { message: format!("{what}; try again in {secs} s"), retry_after_secs: secs }
}

/// Counts an attempt on every key, or, when one of them is blocked, refuses with `RATE_LIMITED` and
/// the seconds to wait (and counts nothing).
pub async fn admit(state: &AppState, keys: &[Key]) -> ApiResult<()> {
    let db = &state.db;
    let now = Utc::now();
    let mut keys: Vec<(String, &Key)> = keys.iter().map(|k| (k.stored(), k)).collect();
    // One lock order for every transaction.
    keys.sort_by(|a, b| a.0.cmp(&b.0));
    let txn = db::begin_write(db).await?;
    let fresh = keys.iter().map(|(stored, _)| throttle::ActiveModel {
        key: Set(stored.clone()),
        failures: Set(0),
        window_started_at: Set(now),
        blocked_until: Set(None),
    });
    throttle::Entity::insert_many(fresh).on_conflict_do_nothing().exec_without_returning(&txn).await?;
    let rows = throttle::Entity::find()
        .filter(throttle::Column::Key.is_in(keys.iter().map(|(stored, _)| stored.clone())))
        .order_by_asc(throttle::Column::Key)
        .lock_exclusive()
        .all(&txn)
        .await?;
    let blocked_until = rows.iter().filter_map(|r| r.blocked_until).filter(|until| *until > now).max();
    if let Some(until) = blocked_until {
        let secs = (until - now).num_seconds().max(1) as u64;
        let counted: Vec<Key> = keys.iter().map(|(_, k)| (*k).clone()).collect();
        return Err(rate_limited(&counted, secs));
    }
    for row in rows {
        let Some((_, key)) = keys.iter().find(|(stored, _)| *stored == row.key) else { continue };
        let (attempts, window) = if now - row.window_started_at < key.window() {
            (row.failures + 1, row.window_started_at)
        } else {
            (1, now)
        };
        let mut active: throttle::ActiveModel = row.into();
        active.failures = Set(attempts);
        active.window_started_at = Set(window);
        active.blocked_until = Set(key.blocked_until(attempts, window, now));
        active.update(&txn).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Takes back a sign-in attempt that succeeded: the account-and-address count is cleared, the others
/// drop by one (lifting a block only this attempt caused).
pub async fn succeeded(state: &AppState, keys: &[Key]) -> ApiResult<()> {
    let db = &state.db;
    let txn = db::begin_write(db).await?;
    for key in keys {
        if let Key::Pair { .. } = key {
            throttle::Entity::delete_by_id(key.stored()).exec(&txn).await?;
            continue;
        }
        let Some(row) = throttle::Entity::find_by_id(key.stored()).lock_exclusive().one(&txn).await? else {
            continue;
        };
        let attempts = (row.failures - 1).max(0);
        let still_blocked = attempts >= key.limit();
        let mut active: throttle::ActiveModel = row.into();
        active.failures = Set(attempts);
        if !still_blocked {
            active.blocked_until = Set(None);
        }
        active.update(&txn).await?;
    }
    txn.commit().await?;
    Ok(())
}
