//! Indexes for learning paths: a course's format with its id (which courses run online, read from
//! the index alone), and an offering's reach (start, seats, online, place) beside its course, so the
//! runs within reach are found in the index and only those rows are read.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Course {
    Table,
    Id,
    Format,
}

#[derive(DeriveIden)]
enum Offering {
    Table,
    Id,
    CourseId,
    StartDate,
    SeatsAvailable,
    Online,
    Latitude,
    Longitude,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("idx_course_format")
                    .table(Course::Table)
                    .col(Course::Format)
                    .col(Course::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_offering_reach")
                    .table(Offering::Table)
                    .col(Offering::CourseId)
                    .col(Offering::StartDate)
                    .col(Offering::SeatsAvailable)
                    .col(Offering::Online)
                    .col(Offering::Latitude)
                    .col(Offering::Longitude)
                    .col(Offering::Id)
                    .to_owned(),
            )
            .await
    }
}
