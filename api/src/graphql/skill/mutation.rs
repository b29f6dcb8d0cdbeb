use async_graphql::{Context, Object, Result};

use super::types::{Skill, SkillInput};
use crate::graphql::context::{self, require_user};
use crate::service::{accounts, skills};

#[derive(Default)]
pub struct SkillMutation;

#[Object]
impl SkillMutation {
    /// Adds a skill to the vocabulary. Platform admins only.
    async fn create_skill(&self, ctx: &Context<'_>, input: SkillInput) -> Result<Skill> {
        let caller = require_user(ctx)?;
        let state = context::state(ctx)?;
        let is_admin = accounts::find_by_id(&state.db, caller).await?.is_some_and(|u| u.is_platform_admin);
        let new = skills::NewSkill {
            category: input.category,
            label: input.label,
            label_en: input.label_en,
            synonyms: input.synonyms,
        };
        Ok(skills::create(state, is_admin, new).await?.into())
    }
}
