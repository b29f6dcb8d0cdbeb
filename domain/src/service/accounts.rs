//! Accounts: registration, login, rotating refresh tokens, platform admins.

use chrono::{Duration, Utc};
use entity::{refresh_token, user};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Set,
    sea_query::Expr,
};
use uuid::Uuid;

use crate::auth::{JwtKeys, hash_token, new_token, password};
use crate::context::AppState;
use crate::db;
use crate::error::{ApiError, ApiResult};
use crate::service::{throttle, validate};

/// What a successful register, login or refresh hands out.
pub struct Session {
    pub user: user::Model,
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in_secs: i64,
}

pub struct NewUser {
    pub email: String,
    pub password: String,
    pub display_name: String,
}

fn invalid_credentials() -> ApiError {
    ApiError::Unauthenticated("invalid email or password".into())
}

fn invalid_refresh_token() -> ApiError {
    ApiError::Unauthenticated("refresh token is invalid or expired".into())
}

/// Creates the account and its first session in one transaction: no account without a session.
/// Attempts from one client address are throttled to `per_hour` (0: unlimited) once the input is
/// valid, whether the email turns out to be free or not.
pub async fn register(
    state: &AppState,
    keys: &JwtKeys,
    refresh_ttl_secs: i64,
    input: NewUser,
    client: Option<std::net::IpAddr>,
    per_hour: u32,
) -> ApiResult<Session> {
    let db = &state.db;
    validate_new_user(&input)?;
    if let Some(address) = client.filter(|_| per_hour > 0) {
        throttle::admit(state, &[throttle::Key::Registration { address, per_hour }]).await?;
    }
    let model = new_user(db, input, false).await?;
    let txn = db::begin_write(db).await?;
    let user = insert_user(&txn, model).await?;
    let refresh_token = insert_refresh_token(&txn, user.id, Uuid::now_v7(), refresh_ttl_secs).await?;
    txn.commit().await?;
    session(keys, user, refresh_token)
}

/// Creates a user; the email must be new (`CONFLICT` on field `email` otherwise).
async fn create_user(
    db: &DatabaseConnection,
    input: NewUser,
    platform_admin: bool,
) -> ApiResult<user::Model> {
    let model = new_user(db, input, platform_admin).await?;
    insert_user(db, model).await
}

/// Validates the input and hashes the password (slow, so before any transaction begins).
async fn new_user(
    db: &DatabaseConnection,
    input: NewUser,
    platform_admin: bool,
) -> ApiResult<user::ActiveModel> {
    let (email, display_name) = validate_new_user(&input)?;
    if find_by_email(db, &email).await?.is_some() {
        return Err(email_taken());
    }
    let password_hash = password::hash(input.password).await?;
    let now = Utc::now();
    Ok(user::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(email),
        password_hash: Set(password_hash),
        display_name: Set(display_name),
        is_platform_admin: Set(platform_admin),
        created_at: Set(now),
        updated_at: Set(now),
        version: Set(1),
    })
}

/// The normalised email and display name; checks the password's length.
fn validate_new_user(input: &NewUser) -> ApiResult<(String, String)> {
    let email = validate::email("email", &input.email)?;
    password::validate(&input.password)?;
    let display_name = validate::text("displayName", &input.display_name, 1, 200)?;
    Ok((email, display_name))
}

async fn insert_user(db: &impl ConnectionTrait, model: user::ActiveModel) -> ApiResult<user::Model> {
    // A concurrent registration of the same email loses on the unique index.
    model.insert(db).await.map_err(|e| match ApiError::from(e) {
        ApiError::Conflict { .. } => email_taken(),
        other => other,
    })
}

fn email_taken() -> ApiError {
    ApiError::conflict_on("email", "an account with this email already exists")
}

pub(crate) async fn find_by_email(db: &impl ConnectionTrait, email: &str) -> ApiResult<Option<user::Model>> {
    Ok(user::Entity::find().filter(user::Column::Email.eq(email)).one(db).await?)
}

pub async fn find_by_id(db: &impl ConnectionTrait, id: Uuid) -> ApiResult<Option<user::Model>> {
    Ok(user::Entity::find_by_id(id).one(db).await?)
}

/// Unknown email and wrong password give the same error after the same amount of work. Attempts are
/// throttled per account and address, per address and per account (see [`throttle`]).
pub async fn login(
    state: &AppState,
    keys: &JwtKeys,
    refresh_ttl_secs: i64,
    email: &str,
    password: String,
    client: Option<std::net::IpAddr>,
) -> ApiResult<Session> {
    let db = &state.db;
    let email = validate::email("email", email)?;
    let counted = throttle::Key::sign_in(&email, client);
    throttle::admit(state, &counted).await?;
    let user = find_by_email(db, &email).await?;
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    if !password::verify(password, stored).await? {
        return Err(invalid_credentials());
    }
    let user = user.ok_or_else(invalid_credentials)?;
    throttle::succeeded(state, &counted).await?;
    start_session(db, keys, refresh_ttl_secs, user).await
}

async fn start_session(
    db: &DatabaseConnection,
    keys: &JwtKeys,
    refresh_ttl_secs: i64,
    user: user::Model,
) -> ApiResult<Session> {
    let refresh_token = insert_refresh_token(db, user.id, Uuid::now_v7(), refresh_ttl_secs).await?;
    session(keys, user, refresh_token)
}

fn session(keys: &JwtKeys, user: user::Model, refresh_token: String) -> ApiResult<Session> {
    let access_token = keys.issue(user.id).map_err(ApiError::Internal)?;
    Ok(Session { user, access_token, refresh_token, expires_in_secs: keys.access_ttl_secs() })
}

async fn insert_refresh_token(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    family_id: Uuid,
    ttl_secs: i64,
) -> ApiResult<String> {
    let token = new_token();
    let now = Utc::now();
    refresh_token::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        family_id: Set(family_id),
        token_hash: Set(hash_token(&token)),
        expires_at: Set(now + Duration::seconds(ttl_secs)),
        created_at: Set(now),
        used_at: Set(None),
        revoked_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(token)
}

/// Exchanges a refresh token for a new pair. Each token works once: presenting a used token again
/// means it was copied, so the whole family (every token descended from that login) is revoked.
pub async fn refresh(
    state: &AppState,
    keys: &JwtKeys,
    refresh_ttl_secs: i64,
    token: &str,
) -> ApiResult<Session> {
    let db = &state.db;
    let hash = hash_token(token);
    let txn = db::begin_write(db).await?;
    let stored = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(hash))
        .one(&txn)
        .await?
        .ok_or_else(invalid_refresh_token)?;
    let now = Utc::now();
    if stored.revoked_at.is_some() || stored.expires_at <= now {
        return Err(invalid_refresh_token());
    }
    // Claim the token atomically: of two concurrent uses only one sees `used_at IS NULL`.
    let claimed = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::UsedAt, Expr::value(now))
        .filter(refresh_token::Column::Id.eq(stored.id))
        .filter(refresh_token::Column::UsedAt.is_null())
        // A logout that committed since the read above wins: a revoked token is not renewed.
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(&txn)
        .await?;
    if claimed.rows_affected == 0 {
        drop(txn);
        revoke_family(db, stored.family_id).await?;
        tracing::warn!(user_id = %stored.user_id, family_id = %stored.family_id, "refresh token reused: family revoked");
        return Err(invalid_refresh_token());
    }
    let user = find_by_id(&txn, stored.user_id).await?.ok_or_else(invalid_refresh_token)?;
    let new_token = insert_refresh_token(&txn, user.id, stored.family_id, refresh_ttl_secs).await?;
    txn.commit().await?;
    session(keys, user, new_token)
}

async fn revoke_family(db: &impl ConnectionTrait, family_id: Uuid) -> ApiResult<()> {
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(refresh_token::Column::FamilyId.eq(family_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Ends the session the refresh token belongs to. Idempotent: an unknown or revoked token is fine.
pub async fn logout(state: &AppState, token: &str) -> ApiResult<bool> {
    let db = &state.db;
    let stored = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(hash_token(token)))
        .one(db)
        .await?;
    match stored {
        Some(stored) => {
            revoke_family(db, stored.family_id).await?;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// Grants the platform-admin role, creating the account first when `password` is given. For the
/// command line, which runs without a server: it takes the database alone.
pub async fn create_admin(
    db: &DatabaseConnection,
    email: &str,
    password: Option<String>,
    display_name: Option<String>,
) -> ApiResult<user::Model> {
    let normalised = validate::email("email", email)?;
    if let Some(existing) = find_by_email(db, &normalised).await? {
        let mut active: user::ActiveModel = existing.clone().into();
        active.is_platform_admin = Set(true);
        active.updated_at = Set(Utc::now());
        active.version = Set(existing.version + 1);
        return Ok(active.update(db).await?);
    }
    let password = password.ok_or_else(|| {
        ApiError::bad_input("password", "no account with this email: give a password to create one")
    })?;
    let display_name = display_name.unwrap_or_else(|| "Plattform-Admin".into());
    create_user(db, NewUser { email: normalised, password, display_name }, true).await
}
