//! Short-lived access tokens. The algorithm is pinned by the configuration (HS256 with a secret, or
//! EdDSA with an Ed25519 key pair); `iss`, `aud`, `sub`, `exp`, `iat` and `nbf` are all required and
//! validated, so an `alg: none` token, a foreign audience or an expired token is rejected.

use std::path::Path;

use anyhow::Context;
use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AuthUser;
use crate::config::AuthSettings;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// The user id.
    pub sub: String,
    pub exp: i64,
    pub iat: i64,
    pub nbf: i64,
    /// A unique id per token, for log correlation.
    pub jti: String,
}

pub struct JwtKeys {
    algorithm: Algorithm,
    encoding: EncodingKey,
    decoding: DecodingKey,
    issuer: String,
    audience: String,
    access_ttl_secs: i64,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKeys")
            .field("algorithm", &self.algorithm)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

impl JwtKeys {
    /// Keys from the settings: Ed25519 PEM files when given, else the HS256 secret, else a secret
    /// generated once and kept in `data_dir` (fine for one instance; set one for several).
    pub fn from_settings(settings: &AuthSettings, data_dir: &Path) -> anyhow::Result<Self> {
        if let (Some(private), Some(public)) = (&settings.jwt_private_key_file, &settings.jwt_public_key_file)
        {
            let private_pem = std::fs::read(private)
                .with_context(|| format!("reading JWT private key {}", private.display()))?;
            let public_pem = std::fs::read(public)
                .with_context(|| format!("reading JWT public key {}", public.display()))?;
            return Ok(Self {
                algorithm: Algorithm::EdDSA,
                encoding: EncodingKey::from_ed_pem(&private_pem)
                    .context("JWT private key is no Ed25519 PEM")?,
                decoding: DecodingKey::from_ed_pem(&public_pem)
                    .context("JWT public key is no Ed25519 PEM")?,
                issuer: settings.issuer.clone(),
                audience: settings.audience.clone(),
                access_ttl_secs: settings.access_token_ttl_secs,
            });
        }
        let secret = match &settings.jwt_secret {
            Some(secret) => secret.clone(),
            None => load_or_generate_secret(data_dir)?,
        };
        Ok(Self::hs256(&secret, settings))
    }

    pub fn hs256(secret: &SecretString, settings: &AuthSettings) -> Self {
        let bytes = secret.expose_secret().as_bytes();
        Self {
            algorithm: Algorithm::HS256,
            encoding: EncodingKey::from_secret(bytes),
            decoding: DecodingKey::from_secret(bytes),
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            access_ttl_secs: settings.access_token_ttl_secs,
        }
    }

    pub fn access_ttl_secs(&self) -> i64 {
        self.access_ttl_secs
    }

    pub fn issue(&self, user_id: Uuid) -> anyhow::Result<String> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: user_id.to_string(),
            exp: now + self.access_ttl_secs,
            iat: now,
            nbf: now,
            jti: Uuid::now_v7().to_string(),
        };
        jsonwebtoken::encode(&Header::new(self.algorithm), &claims, &self.encoding)
            .context("signing access token")
    }

    /// `None` for any token that is not one of ours, valid now.
    pub fn verify(&self, token: &str) -> Option<AuthUser> {
        let mut validation = Validation::new(self.algorithm);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["iss", "aud", "sub", "exp", "iat", "nbf"]);
        validation.validate_nbf = true;
        validation.leeway = 5;
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation).ok()?;
        if data.claims.iat > Utc::now().timestamp() + validation.leeway as i64 {
            return None;
        }
        let user_id = Uuid::parse_str(&data.claims.sub).ok()?;
        Some(AuthUser { user_id, api_key: None })
    }
}

fn load_or_generate_secret(data_dir: &Path) -> anyhow::Result<SecretString> {
    let path = data_dir.join("jwt-secret");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let trimmed = existing.trim();
        if trimmed.len() >= 32 {
            return Ok(SecretString::from(trimmed.to_owned()));
        }
    }
    tracing::warn!(
        path = %path.display(),
        "no APP_JWT_SECRET configured: generated one and kept it in the data directory; \
         configure a shared secret when running several instances"
    );
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating data directory {}", data_dir.display()))?;
    let mut bytes = [0u8; 48];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut bytes);
    let secret = hex::encode(bytes);
    write_private_file(&path, &secret)?;
    Ok(SecretString::from(secret))
}

#[cfg(unix)]
fn write_private_file(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(contents.as_bytes()).with_context(|| format!("writing {}", path.display()))
}

#[cfg(not(unix))]
fn write_private_file(path: &Path, contents: &str) -> anyhow::Result<()> {
    std::fs::write(path, contents).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> JwtKeys {
        JwtKeys::hs256(&SecretString::from("x".repeat(40)), &AuthSettings::default())
    }

    #[test]
    fn issued_tokens_verify() -> anyhow::Result<()> {
        let keys = keys();
        let user_id = Uuid::now_v7();
        let token = keys.issue(user_id)?;
        assert_eq!(keys.verify(&token), Some(AuthUser { user_id, api_key: None }));
        Ok(())
    }

    /// A key pair made for this test only (`openssl genpkey -algorithm ed25519`).
    const TEST_PRIVATE: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIPpSTtg6hC8h7Z3rPvVBi+nn8wdknXKUcL7muT3qLhiY\n-----END PRIVATE KEY-----\n";
    const TEST_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAc/3V8IwuMNT4fHSbvJhkdHzHfjG+Yhwhe2wfyA8qiII=\n-----END PUBLIC KEY-----\n";

    #[test]
    fn key_files_sign_with_eddsa_and_hs256_tokens_are_refused() -> anyhow::Result<()> {
        let dir = std::env::temp_dir().join(format!("bm-ed-{}", Uuid::now_v7()));
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("private.pem"), TEST_PRIVATE)?;
        std::fs::write(dir.join("public.pem"), TEST_PUBLIC)?;
        let settings = AuthSettings {
            jwt_private_key_file: Some(dir.join("private.pem")),
            jwt_public_key_file: Some(dir.join("public.pem")),
            jwt_secret: Some(SecretString::from("x".repeat(40))),
            ..AuthSettings::default()
        };
        let keys = JwtKeys::from_settings(&settings, &dir)?;
        let user_id = Uuid::now_v7();
        let token = keys.issue(user_id)?;
        assert!(token.starts_with("eyJ0eXAiOiJKV1QiLCJhbGciOiJFZERTQSJ9"), "an EdDSA header: {token}");
        assert_eq!(keys.verify(&token), Some(AuthUser { user_id, api_key: None }));
        // The algorithm is pinned: a token signed with the (ignored) HS256 secret does not pass.
        let hs =
            JwtKeys::hs256(&SecretString::from("x".repeat(40)), &AuthSettings::default()).issue(user_id)?;
        assert_eq!(keys.verify(&hs), None);
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }

    #[test]
    fn a_generated_secret_is_kept() -> anyhow::Result<()> {
        let dir = std::env::temp_dir().join(format!("bm-jwt-{}", Uuid::now_v7()));
        let first = load_or_generate_secret(&dir)?;
        let second = load_or_generate_secret(&dir)?;
        assert_eq!(first.expose_secret(), second.expose_secret());
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }
}
