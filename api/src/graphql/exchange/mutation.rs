use async_graphql::{Context, Object, Result};

use super::types::{ImportCatalogueInput, ImportRun};
use crate::exchange::run::{self, Options};
use crate::graphql::context::{self, parse_id, require_user};

#[derive(Default)]
pub struct ExchangeMutation;

#[Object]
impl ExchangeMutation {
    /// Imports a catalogue file for a provider (its OWNER or ADMIN, or one of its ORGANIZATION API
    /// keys), sent as a GraphQL multipart request. The run starts at once and goes on in the
    /// background: the answer is the run as RUNNING; `importRun(id)` shows its progress and, at
    /// the end, its report. One run per provider at a time.
    async fn import_catalogue(&self, ctx: &Context<'_>, input: ImportCatalogueInput) -> Result<ImportRun> {
        let caller = require_user(ctx)?;
        let state = context::state(ctx)?;
        let provider = parse_id("input.providerId", &input.provider_id)?;
        let upload = input.file.value(ctx).map_err(|e| {
            crate::error::ApiError::bad_input("input.file", format!("the upload could not be read: {e}"))
        })?;
        let options = Options { dry_run: input.dry_run, publish: input.publish };
        let started = run::start(
            &state.db,
            Some(caller),
            provider,
            input.format.into(),
            Some(&upload.filename),
            options,
        )
        .await?;
        let background = state.clone();
        let job = started.clone();
        tokio::spawn(async move {
            if let Err(err) = run::execute(&background.db, job, upload.content, &|_| {}).await {
                tracing::error!(error = %err, "an import run could not record its end");
            }
        });
        Ok(started.into())
    }
}
