use async_graphql::{Context, Object, Result};

use super::types::User;
use crate::error::ApiError;
use crate::graphql::context::{self, require_user};
use crate::service::accounts;

#[derive(Default)]
pub struct AccountQuery;

#[Object]
impl AccountQuery {
    /// The authenticated caller. `UNAUTHENTICATED` without a valid access token.
    async fn me(&self, ctx: &Context<'_>) -> Result<User> {
        let user_id = require_user(ctx)?;
        let state = context::state(ctx)?;
        let user = accounts::find_by_id(&state.db, user_id)
            .await?
            .ok_or_else(|| ApiError::Unauthenticated("the account of this token no longer exists".into()))?;
        Ok(user.into())
    }
}
