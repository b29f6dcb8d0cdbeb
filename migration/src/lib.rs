//! Schema migrations. They run at start-up (`Migrator::up`) and through `bildungsmarkt migrate`,
//! identically on SQLite and PostgreSQL: only portable column types, no backend-specific SQL.

pub use sea_orm_migration::prelude::*;

mod m20261121_000001_accounts;
mod m20261121_000002_catalog;
mod m20261121_000003_search_outbox;
mod m20261121_000004_collaboration;
mod m20261121_000005_login_throttle;
mod m20261121_000006_api_keys;
mod m20261201_000007_invitations;
mod m20261202_000008_background_jobs;
mod m20261202_000009_alert_jobs;
mod m20261202_000010_search_change;
mod m20261202_000011_catalogue_exchange;
mod m20261202_000012_skill_esco_uri;
mod m20261203_000013_competences;
mod m20261203_000014_learning_path_indexes;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261121_000001_accounts::Migration),
            Box::new(m20261121_000002_catalog::Migration),
            Box::new(m20261121_000003_search_outbox::Migration),
            Box::new(m20261121_000004_collaboration::Migration),
            Box::new(m20261121_000005_login_throttle::Migration),
            Box::new(m20261121_000006_api_keys::Migration),
            Box::new(m20261201_000007_invitations::Migration),
            Box::new(m20261202_000008_background_jobs::Migration),
            Box::new(m20261202_000009_alert_jobs::Migration),
            Box::new(m20261202_000010_search_change::Migration),
            Box::new(m20261202_000011_catalogue_exchange::Migration),
            Box::new(m20261202_000012_skill_esco_uri::Migration),
            Box::new(m20261203_000013_competences::Migration),
            Box::new(m20261203_000014_learning_path_indexes::Migration),
        ]
    }
}
