//! Argon2id password hashing, off the async executor.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use std::sync::LazyLock;

use crate::error::{ApiError, ApiResult};

pub const MIN_PASSWORD_LEN: usize = 10;
pub const MAX_PASSWORD_LEN: usize = 256;

/// Hashed on a blocking thread: argon2id takes tens of milliseconds by design.
pub async fn hash(password: String) -> ApiResult<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("hashing password: {e}")))
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?
}

/// Verifies `password` against `stored`; with no stored hash (unknown account) it still does the same
/// work against a fixed hash, so the response time does not reveal which emails exist.
pub async fn verify(password: String, stored: Option<String>) -> ApiResult<bool> {
    tokio::task::spawn_blocking(move || {
        let known = stored.is_some();
        let stored = match stored {
            Some(stored) => stored,
            None => DUMMY_HASH.clone().ok_or_else(|| ApiError::Internal(anyhow::anyhow!("no dummy hash")))?,
        };
        let parsed = PasswordHash::new(&stored)
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("stored password hash is invalid: {e}")))?;
        let matches = Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok();
        Ok(known && matches)
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?
}

pub fn validate(password: &str) -> ApiResult<()> {
    let len = password.chars().count();
    if len < MIN_PASSWORD_LEN {
        return Err(ApiError::bad_input(
            "password",
            format!("password must have at least {MIN_PASSWORD_LEN} characters"),
        ));
    }
    if len > MAX_PASSWORD_LEN {
        return Err(ApiError::bad_input(
            "password",
            format!("password must have at most {MAX_PASSWORD_LEN} characters"),
        ));
    }
    Ok(())
}

/// The hash of a random password nobody knows, with the same parameters as real ones.
static DUMMY_HASH: LazyLock<Option<String>> = LazyLock::new(|| {
    let secret: [u8; 32] = rand::random();
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default().hash_password(&secret, &salt).ok().map(|h| h.to_string())
});

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_then_verify() -> ApiResult<()> {
        let stored = hash("correct horse battery".into()).await?;
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify("correct horse battery".into(), Some(stored.clone())).await?);
        assert!(!verify("wrong horse battery".into(), Some(stored)).await?);
        assert!(!verify("anything at all".into(), None).await?);
        Ok(())
    }

    #[test]
    fn length_bounds() {
        assert!(validate("short").is_err());
        assert!(validate("long enough!").is_ok());
        assert!(validate(&"x".repeat(MAX_PASSWORD_LEN + 1)).is_err());
    }
}
