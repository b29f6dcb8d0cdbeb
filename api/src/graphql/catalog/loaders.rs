//! Course relations, each one query for a whole page of courses.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use entity::{course, offering, skill};
use uuid::Uuid;

use crate::context::AppState;
use crate::db::reads::Reads;
use crate::graphql::organization::loaders::{LoadError, empty_lists};
use crate::service::courses;

pub struct CourseLoader {
    pub reads: Reads,
}

impl Loader<Uuid> for CourseLoader {
    type Value = course::Model;
    type Error = LoadError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = self.reads.by_ids::<course::Entity>(keys).await.map_err(|e| Arc::new(e.into()))?;
        Ok(rows.into_iter().map(|c| (c.id, c)).collect())
    }
}

/// Offerings by course id, earliest start first.
pub struct OfferingsLoader {
    pub state: AppState,
}

impl Loader<Uuid> for OfferingsLoader {
    type Value = Vec<offering::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = courses::offerings_of(&self.state, keys).await.map_err(Arc::new)?;
        let mut by_course: HashMap<Uuid, Vec<offering::Model>> = empty_lists(keys);
        for row in rows {
            by_course.entry(row.course_id).or_default().push(row);
        }
        Ok(by_course)
    }
}

/// Skills by course id, in the provider's order.
pub struct CourseSkillsLoader {
    pub state: AppState,
}

impl Loader<Uuid> for CourseSkillsLoader {
    type Value = Vec<Arc<skill::Model>>;
    type Error = LoadError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = courses::course_skills(&self.state, keys).await.map_err(Arc::new)?;
        let mut by_course: HashMap<Uuid, Self::Value> = empty_lists(keys);
        for (course, skill) in rows {
            by_course.entry(course).or_default().push(skill);
        }
        Ok(by_course)
    }
}
