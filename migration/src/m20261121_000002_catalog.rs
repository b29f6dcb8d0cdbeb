//! Skills vocabulary, courses with offerings, qualification needs.
//!
//! List-valued attributes (keywords, languages, funding options) are JSON arrays in text columns, the
//! same on SQLite and PostgreSQL; relations that are joined or filtered on (skills) get their own tables.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organization {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum SkillCategory {
    Table,
    Id,
    Label,
    LabelEn,
    Position,
}

#[derive(DeriveIden)]
enum Skill {
    Table,
    Id,
    CategoryId,
    Label,
    LabelEn,
    Synonyms,
    SearchText,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Course {
    Table,
    Id,
    ProviderId,
    Status,
    Title,
    Subtitle,
    Description,
    Keywords,
    DqrLevel,
    CertificateType,
    ExaminingBody,
    Zusatzqualifikation,
    TargetGroup,
    Prerequisites,
    Languages,
    DurationHours,
    Format,
    Schedule,
    PriceCents,
    Currency,
    Vat,
    FundingOptions,
    AzavMeasureNumber,
    InhousePossible,
    MinParticipants,
    MaxParticipants,
    RollingStart,
    PublishedAt,
    CreatedAt,
    UpdatedAt,
    Version,
}

#[derive(DeriveIden)]
enum CourseSkill {
    Table,
    CourseId,
    SkillId,
    Position,
}

#[derive(DeriveIden)]
enum Offering {
    Table,
    Id,
    CourseId,
    StartDate,
    EndDate,
    SignupDeadline,
    RollingStart,
    ScheduleDetails,
    Online,
    Street,
    PostalCode,
    City,
    Bundesland,
    Latitude,
    Longitude,
    SeatsTotal,
    SeatsAvailable,
    PriceCentsOverride,
    CreatedAt,
    UpdatedAt,
    Version,
}

#[derive(DeriveIden)]
enum QualificationNeed {
    Table,
    Id,
    FirmId,
    Status,
    Title,
    Description,
    TargetDqrLevel,
    Participants,
    PostalCode,
    City,
    Bundesland,
    Latitude,
    Longitude,
    MaxDistanceKm,
    OnlineAcceptable,
    PreferredSchedule,
    EarliestStart,
    LatestStart,
    BudgetCentsPerParticipant,
    FundingWanted,
    Poolable,
    Visibility,
    OpenedAt,
    CreatedAt,
    UpdatedAt,
    Version,
}

#[derive(DeriveIden)]
enum NeedSkill {
    Table,
    NeedId,
    SkillId,
    Importance,
    Position,
}

fn fk(
    name: &str,
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

fn index(name: &str, table: impl IntoIden, cols: Vec<DynIden>) -> IndexCreateStatement {
    let mut index = Index::create().name(name).table(table).to_owned();
    for col in cols {
        index.col(col);
    }
    index
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SkillCategory::Table)
                    .col(ColumnDef::new(SkillCategory::Id).string_len(40).not_null().primary_key())
                    .col(ColumnDef::new(SkillCategory::Label).string_len(120).not_null())
                    .col(ColumnDef::new(SkillCategory::LabelEn).string_len(120).null())
                    .col(ColumnDef::new(SkillCategory::Position).integer().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Skill::Table)
                    .col(ColumnDef::new(Skill::Id).string_len(120).not_null().primary_key())
                    .col(ColumnDef::new(Skill::CategoryId).string_len(40).not_null())
                    .col(ColumnDef::new(Skill::Label).string_len(200).not_null().unique_key())
                    .col(ColumnDef::new(Skill::LabelEn).string_len(200).null())
                    .col(ColumnDef::new(Skill::Synonyms).text().not_null())
                    .col(ColumnDef::new(Skill::SearchText).text().not_null())
                    .col(ColumnDef::new(Skill::CreatedAt).timestamp_with_time_zone().not_null())
                    .foreign_key(&mut fk(
                        "fk_skill_category",
                        (Skill::Table, Skill::CategoryId),
                        (SkillCategory::Table, SkillCategory::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("idx_skill_category", Skill::Table, vec![Skill::CategoryId.into_iden()]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Course::Table)
                    .col(ColumnDef::new(Course::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Course::ProviderId).uuid().not_null())
                    .col(ColumnDef::new(Course::Status).string_len(16).not_null())
                    .col(ColumnDef::new(Course::Title).string_len(200).not_null())
                    .col(ColumnDef::new(Course::Subtitle).string_len(300).null())
                    .col(ColumnDef::new(Course::Description).text().not_null())
                    .col(ColumnDef::new(Course::Keywords).text().not_null())
                    .col(ColumnDef::new(Course::DqrLevel).small_integer().null())
                    .col(ColumnDef::new(Course::CertificateType).string_len(32).not_null())
                    .col(ColumnDef::new(Course::ExaminingBody).string_len(200).null())
                    .col(ColumnDef::new(Course::Zusatzqualifikation).boolean().not_null().default(false))
                    .col(ColumnDef::new(Course::TargetGroup).text().null())
                    .col(ColumnDef::new(Course::Prerequisites).text().null())
                    .col(ColumnDef::new(Course::Languages).text().not_null())
                    .col(ColumnDef::new(Course::DurationHours).integer().null())
                    .col(ColumnDef::new(Course::Format).string_len(16).not_null())
                    .col(ColumnDef::new(Course::Schedule).string_len(24).not_null())
                    .col(ColumnDef::new(Course::PriceCents).big_integer().null())
                    .col(ColumnDef::new(Course::Currency).string_len(3).not_null())
                    .col(ColumnDef::new(Course::Vat).string_len(16).not_null())
                    .col(ColumnDef::new(Course::FundingOptions).text().not_null())
                    .col(ColumnDef::new(Course::AzavMeasureNumber).string_len(64).null())
                    .col(ColumnDef::new(Course::InhousePossible).boolean().not_null().default(false))
                    .col(ColumnDef::new(Course::MinParticipants).integer().null())
                    .col(ColumnDef::new(Course::MaxParticipants).integer().null())
                    .col(ColumnDef::new(Course::RollingStart).boolean().not_null().default(false))
                    .col(ColumnDef::new(Course::PublishedAt).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(Course::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(Course::UpdatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(Course::Version).integer().not_null().default(1))
                    .foreign_key(&mut fk(
                        "fk_course_provider",
                        (Course::Table, Course::ProviderId),
                        (Organization::Table, Organization::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_course_provider",
                Course::Table,
                vec![Course::ProviderId.into_iden(), Course::Id.into_iden()],
            ))
            .await?;
        manager
            .create_index(index(
                "idx_course_status",
                Course::Table,
                vec![Course::Status.into_iden(), Course::Id.into_iden()],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(CourseSkill::Table)
                    .col(ColumnDef::new(CourseSkill::CourseId).uuid().not_null())
                    .col(ColumnDef::new(CourseSkill::SkillId).string_len(120).not_null())
                    .col(ColumnDef::new(CourseSkill::Position).integer().not_null())
                    .primary_key(Index::create().col(CourseSkill::CourseId).col(CourseSkill::SkillId))
                    .foreign_key(&mut fk(
                        "fk_course_skill_course",
                        (CourseSkill::Table, CourseSkill::CourseId),
                        (Course::Table, Course::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_course_skill_skill",
                        (CourseSkill::Table, CourseSkill::SkillId),
                        (Skill::Table, Skill::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_course_skill_skill",
                CourseSkill::Table,
                vec![CourseSkill::SkillId.into_iden()],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Offering::Table)
                    .col(ColumnDef::new(Offering::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Offering::CourseId).uuid().not_null())
                    .col(ColumnDef::new(Offering::StartDate).date().not_null())
                    .col(ColumnDef::new(Offering::EndDate).date().not_null())
                    .col(ColumnDef::new(Offering::SignupDeadline).date().null())
                    .col(ColumnDef::new(Offering::RollingStart).boolean().not_null().default(false))
                    .col(ColumnDef::new(Offering::ScheduleDetails).string_len(500).null())
                    .col(ColumnDef::new(Offering::Online).boolean().not_null().default(false))
                    .col(ColumnDef::new(Offering::Street).string_len(200).null())
                    .col(ColumnDef::new(Offering::PostalCode).string_len(10).null())
                    .col(ColumnDef::new(Offering::City).string_len(120).null())
                    .col(ColumnDef::new(Offering::Bundesland).string_len(8).null())
                    .col(ColumnDef::new(Offering::Latitude).double().null())
                    .col(ColumnDef::new(Offering::Longitude).double().null())
                    .col(ColumnDef::new(Offering::SeatsTotal).integer().not_null())
                    .col(ColumnDef::new(Offering::SeatsAvailable).integer().not_null())
                    .col(ColumnDef::new(Offering::PriceCentsOverride).big_integer().null())
                    .col(ColumnDef::new(Offering::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(Offering::UpdatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(Offering::Version).integer().not_null().default(1))
                    .foreign_key(&mut fk(
                        "fk_offering_course",
                        (Offering::Table, Offering::CourseId),
                        (Course::Table, Course::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_offering_course",
                Offering::Table,
                vec![Offering::CourseId.into_iden(), Offering::StartDate.into_iden()],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(QualificationNeed::Table)
                    .col(ColumnDef::new(QualificationNeed::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(QualificationNeed::FirmId).uuid().not_null())
                    .col(ColumnDef::new(QualificationNeed::Status).string_len(16).not_null())
                    .col(ColumnDef::new(QualificationNeed::Title).string_len(200).not_null())
                    .col(ColumnDef::new(QualificationNeed::Description).text().not_null())
                    .col(ColumnDef::new(QualificationNeed::TargetDqrLevel).small_integer().null())
                    .col(ColumnDef::new(QualificationNeed::Participants).integer().not_null())
                    .col(ColumnDef::new(QualificationNeed::PostalCode).string_len(10).null())
                    .col(ColumnDef::new(QualificationNeed::City).string_len(120).null())
                    .col(ColumnDef::new(QualificationNeed::Bundesland).string_len(8).null())
                    .col(ColumnDef::new(QualificationNeed::Latitude).double().null())
                    .col(ColumnDef::new(QualificationNeed::Longitude).double().null())
                    .col(ColumnDef::new(QualificationNeed::MaxDistanceKm).integer().null())
                    .col(
                        ColumnDef::new(QualificationNeed::OnlineAcceptable)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(ColumnDef::new(QualificationNeed::PreferredSchedule).string_len(24).null())
                    .col(ColumnDef::new(QualificationNeed::EarliestStart).date().null())
                    .col(ColumnDef::new(QualificationNeed::LatestStart).date().null())
                    .col(ColumnDef::new(QualificationNeed::BudgetCentsPerParticipant).big_integer().null())
                    .col(ColumnDef::new(QualificationNeed::FundingWanted).text().not_null())
                    .col(ColumnDef::new(QualificationNeed::Poolable).boolean().not_null().default(false))
                    .col(ColumnDef::new(QualificationNeed::Visibility).string_len(16).not_null())
                    .col(ColumnDef::new(QualificationNeed::OpenedAt).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(QualificationNeed::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(QualificationNeed::UpdatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(QualificationNeed::Version).integer().not_null().default(1))
                    .foreign_key(&mut fk(
                        "fk_need_firm",
                        (QualificationNeed::Table, QualificationNeed::FirmId),
                        (Organization::Table, Organization::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_need_firm",
                QualificationNeed::Table,
                vec![QualificationNeed::FirmId.into_iden(), QualificationNeed::Id.into_iden()],
            ))
            .await?;
        manager
            .create_index(index(
                "idx_need_status_visibility",
                QualificationNeed::Table,
                vec![
                    QualificationNeed::Status.into_iden(),
                    QualificationNeed::Visibility.into_iden(),
                    QualificationNeed::Id.into_iden(),
                ],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(NeedSkill::Table)
                    .col(ColumnDef::new(NeedSkill::NeedId).uuid().not_null())
                    .col(ColumnDef::new(NeedSkill::SkillId).string_len(120).not_null())
                    .col(ColumnDef::new(NeedSkill::Importance).string_len(8).not_null())
                    .col(ColumnDef::new(NeedSkill::Position).integer().not_null())
                    .primary_key(Index::create().col(NeedSkill::NeedId).col(NeedSkill::SkillId))
                    .foreign_key(&mut fk(
                        "fk_need_skill_need",
                        (NeedSkill::Table, NeedSkill::NeedId),
                        (QualificationNeed::Table, QualificationNeed::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_need_skill_skill",
                        (NeedSkill::Table, NeedSkill::SkillId),
                        (Skill::Table, Skill::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_need_skill_skill",
                NeedSkill::Table,
                vec![NeedSkill::SkillId.into_iden()],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            NeedSkill::Table.into_iden(),
            QualificationNeed::Table.into_iden(),
            Offering::Table.into_iden(),
            CourseSkill::Table.into_iden(),
            Course::Table.into_iden(),
            Skill::Table.into_iden(),
            SkillCategory::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
