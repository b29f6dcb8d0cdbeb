//! Credentials: password hashing, access tokens (JWT) and opaque refresh tokens.

pub mod jwt;
pub mod password;

use sha2::{Digest, Sha256};
use uuid::Uuid;

pub use jwt::{Claims, JwtKeys};

/// Who is calling, once their access token has been verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthUser {
    pub user_id: Uuid,
    /// The organization API key acting through its service account, when not a person.
    pub api_key: Option<Uuid>,
}

/// The caller of one request: anonymous or an authenticated user.
#[derive(Debug, Clone, Copy, Default)]
pub struct Caller(pub Option<AuthUser>);

/// A new opaque secret (refresh tokens, API keys): 32 random bytes, URL-safe base64. Only its hash
/// is stored.
pub fn new_token() -> String {
    use base64::Engine;
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// SHA-256 is enough here: the secrets carry 256 bits of entropy, so no salt or slow hash is needed.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}
