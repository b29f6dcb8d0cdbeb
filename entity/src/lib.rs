//! sea-orm entities, nothing else: GraphQL types live in `api` and convert from these models.

pub mod api_key;
pub mod background_job;
pub mod course;
pub mod course_skill;
pub mod import_run;
pub mod invitation;
pub mod login_throttle;
pub mod membership;
pub mod need_participation;
pub mod need_skill;
pub mod offer;
pub mod offering;
pub mod organization;
pub mod qualification_need;
pub mod refresh_token;
pub mod search_change;
pub mod search_cursor;
pub mod skill;
pub mod skill_category;
pub mod user;
pub mod webhook_delivery;
pub mod webhook_endpoint;
