//! A skill may carry the URI of its ESCO concept (`http://data.europa.eu/esco/skill/…`), set by the
//! ESCO import; exports (ELM) link learning outcomes to it. Offerings are found by their catalogue
//! key alone (an import looks a run up by it before it knows the run's course).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Offering {
    Table,
    ExternalId,
}

#[derive(DeriveIden)]
enum Skill {
    Table,
    EscoUri,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Skill::Table)
                    .add_column(ColumnDef::new(Skill::EscoUri).string_len(255).null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_skill_esco_uri")
                    .table(Skill::Table)
                    .col(Skill::EscoUri)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_offering_external_key")
                    .table(Offering::Table)
                    .col(Offering::ExternalId)
                    .to_owned(),
            )
            .await
    }
}
