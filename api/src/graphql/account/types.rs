use async_graphql::{ComplexObject, Context, ID, InputObject, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entity::user;

use crate::graphql::context::{self, viewer};
use crate::graphql::organization::types::{LIST_COST, Membership};
use crate::service::{accounts::Session, organizations};

/// A person with an account. Reachable as yourself (`me`) or as a member of your organizations.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct User {
    pub id: ID,
    /// Normalised (trimmed, lower-case) email address; visible to yourself and your co-members.
    pub email: String,
    pub display_name: String,
    /// Platform operators: may verify organizations.
    pub is_platform_admin: bool,
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    pub model: user::Model,
}

impl From<user::Model> for User {
    fn from(model: user::Model) -> Self {
        Self {
            id: ID(model.id.to_string()),
            email: model.email.clone(),
            display_name: model.display_name.clone(),
            is_platform_admin: model.is_platform_admin,
            created_at: model.created_at,
            model,
        }
    }
}

#[ComplexObject]
impl User {
    /// The organizations this user belongs to. Only visible to the user themselves (empty otherwise).
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn memberships(&self, ctx: &Context<'_>) -> Result<Vec<Membership>> {
        if viewer(ctx).map(|v| v.user_id) != Some(self.model.id) {
            return Ok(Vec::new());
        }
        let state = context::state(ctx)?;
        let rows = organizations::memberships_of_user(state, self.model.id).await?;
        Ok(rows.into_iter().map(Membership::from).collect())
    }
}

/// The result of `register`, `login` and `refreshToken`.
#[derive(SimpleObject)]
pub struct AuthPayload {
    /// Send as `Authorization: Bearer <accessToken>`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Lifetime of the access token in seconds.
    pub expires_in: i64,
    /// Opaque, single use: exchange it with `refreshToken` for a new pair before it expires.
    pub refresh_token: String,
    pub user: User,
}

impl From<Session> for AuthPayload {
    fn from(session: Session) -> Self {
        Self {
            access_token: session.access_token,
            token_type: "Bearer",
            expires_in: session.expires_in_secs,
            refresh_token: session.refresh_token,
            user: session.user.into(),
        }
    }
}

#[derive(InputObject)]
pub struct RegisterInput {
    /// Any valid address; stored trimmed and lower-case.
    pub email: String,
    /// At least 10 characters.
    pub password: String,
    /// How colleagues see you, e.g. "Anna Schmidt".
    pub display_name: String,
}

#[derive(InputObject)]
pub struct LoginInput {
    pub email: String,
    pub password: String,
}
