//! The skills vocabulary held in memory, for the skills of courses: a page of courses reads only
//! its (course, skill id) links, by the link table's key, and takes the skills from here. Joining
//! the skill table instead made PostgreSQL hash all of it (~400 rows with synonyms and search
//! text) for every page.
//!
//! Skills are only ever added (`skills::create`, the seed); nothing changes or deletes one. So a
//! link to a skill not held here means the vocabulary grew, on this instance or on another one
//! over the same database, and the whole vocabulary is read again before answering. A skill
//! changed by hand in the database is seen within [`MAX_AGE`], when the vocabulary is read again
//! anyway.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use entity::skill;
use sea_orm::{ConnectionTrait, DbErr, EntityTrait};

/// How long a read of the vocabulary is used at most.
pub const MAX_AGE: Duration = Duration::from_secs(60);

/// Skills by id.
pub type Skills = Arc<HashMap<String, Arc<skill::Model>>>;

#[derive(Default)]
pub struct SkillVocabulary {
    held: RwLock<Option<(Skills, Instant)>>,
}

impl SkillVocabulary {
    /// The vocabulary, holding every one of `ids` that exists: read again when one is missing or
    /// the held one is older than [`MAX_AGE`].
    pub async fn holding<'a>(
        &self,
        db: &impl ConnectionTrait,
        ids: impl IntoIterator<Item = &'a str>,
    ) -> Result<Skills, DbErr> {
        if let Some(skills) = self.fresh() {
            let mut ids = ids.into_iter();
            if ids.all(|id| skills.contains_key(id)) {
                return Ok(skills);
            }
        }
        let rows = skill::Entity::find().all(db).await?;
        let skills: Skills = Arc::new(rows.into_iter().map(|s| (s.id.clone(), Arc::new(s))).collect());
        if let Ok(mut held) = self.held.write() {
            *held = Some((skills.clone(), Instant::now()));
        }
        Ok(skills)
    }

    fn fresh(&self) -> Option<Skills> {
        let held = self.held.read().ok()?;
        let (skills, read_at) = held.as_ref()?;
        (read_at.elapsed() < MAX_AGE).then(|| skills.clone())
    }
}
