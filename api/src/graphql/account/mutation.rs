use async_graphql::{Context, Object, Result};

use super::types::{AuthPayload, LoginInput, RegisterInput};
use crate::graphql::context;
use crate::graphql::context::ClientAddress;
use crate::service::accounts::{self, NewUser};

#[derive(Default)]
pub struct AccountMutation;

#[Object]
impl AccountMutation {
    /// Creates an account and signs it in. A taken email is a `CONFLICT` on `email`. A client address
    /// gets `APP_REGISTRATIONS_PER_HOUR` (10) attempts an hour, then `RATE_LIMITED` with
    /// `extensions.retryAfter` seconds.
    async fn register(&self, ctx: &Context<'_>, input: RegisterInput) -> Result<AuthPayload> {
        let state = context::state(ctx)?;
        let auth = &state.settings.auth;
        let new_user =
            NewUser { email: input.email, password: input.password, display_name: input.display_name };
        let session = accounts::register(
            state,
            &state.jwt,
            auth.refresh_token_ttl_secs,
            new_user,
            ctx.data_opt::<ClientAddress>().map(|a| a.0),
            auth.registrations_per_hour,
        )
        .await?;
        Ok(session.into())
    }

    /// Signs in. Unknown email and wrong password give the same `UNAUTHENTICATED` error. Attempts are
    /// limited per account and client address (5 in 15 minutes, then a block of 1 minute that doubles
    /// up to 15), per address (30) and per account from anywhere (100); over a limit: `RATE_LIMITED`
    /// with `extensions.retryAfter` seconds. Also `RATE_LIMITED` when the server is hashing too many
    /// passwords at once to take yours within `APP_PASSWORD_HASH_QUEUE_TIMEOUT_MS`.
    async fn login(&self, ctx: &Context<'_>, input: LoginInput) -> Result<AuthPayload> {
        let state = context::state(ctx)?;
        let session = accounts::login(
            state,
            &state.jwt,
            state.settings.auth.refresh_token_ttl_secs,
            &input.email,
            input.password,
            ctx.data_opt::<ClientAddress>().map(|a| a.0),
        )
        .await?;
        Ok(session.into())
    }

    /// Exchanges a refresh token for a new access token and a new refresh token. Each refresh token
    /// works once; using one twice revokes the whole session.
    async fn refresh_token(&self, ctx: &Context<'_>, refresh_token: String) -> Result<AuthPayload> {
        let state = context::state(ctx)?;
        let session =
            accounts::refresh(state, &state.jwt, state.settings.auth.refresh_token_ttl_secs, &refresh_token)
                .await?;
        Ok(session.into())
    }

    /// Ends the session of this refresh token (it and its successors stop working). Returns whether a
    /// session was found; access tokens already issued stay valid until they expire.
    async fn logout(&self, ctx: &Context<'_>, refresh_token: String) -> Result<bool> {
        let state = context::state(ctx)?;
        Ok(accounts::logout(state, &refresh_token).await?)
    }
}
