//! Data shipped with the server: the skills vocabulary (always) and the demo marketplace (on request).

pub mod demo;
pub mod profiles;
pub mod skills;
