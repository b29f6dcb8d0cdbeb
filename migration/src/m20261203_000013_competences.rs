//! Competences: job profiles (a role's skills with a target level on the four-level scale, shared
//! ones curated by platform admins and a firm's own copies), a firm's staff records (a label, no
//! personal data), their self- and manager assessments per skill, and the certificates and courses
//! they hold as prior learning. Deleting a staff record deletes everything recorded about it.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organization {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Skill {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum JobProfile {
    Table,
    Id,
    OrganizationId,
    Key,
    Name,
    JobFamily,
    Description,
    DqrLevel,
    BasedOn,
    CreatedAt,
    UpdatedAt,
    Version,
}

#[derive(DeriveIden)]
enum JobProfileSkill {
    Table,
    ProfileId,
    SkillId,
    TargetLevel,
    Required,
    Position,
}

#[derive(DeriveIden)]
enum StaffMember {
    Table,
    Id,
    FirmId,
    Label,
    ProfileId,
    Site,
    PostalCode,
    CreatedAt,
    UpdatedAt,
    Version,
}

#[derive(DeriveIden)]
enum StaffAssessment {
    Table,
    StaffId,
    SkillId,
    Source,
    Level,
    AssessedOn,
}

#[derive(DeriveIden)]
enum StaffEvidence {
    Table,
    Id,
    StaffId,
    Kind,
    Title,
    Skills,
    Level,
    CourseId,
    AchievedOn,
    CreatedAt,
}

fn cascade(
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create().from(from.0, from.1).to(to.0, to.1).on_delete(ForeignKeyAction::Cascade).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let stamp = |c: JobProfile| ColumnDef::new(c).timestamp_with_time_zone().not_null().to_owned();
        manager
            .create_table(
                Table::create()
                    .table(JobProfile::Table)
                    .col(ColumnDef::new(JobProfile::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(JobProfile::OrganizationId).uuid().null())
                    .col(ColumnDef::new(JobProfile::Key).string_len(80).null())
                    .col(ColumnDef::new(JobProfile::Name).string_len(120).not_null())
                    .col(ColumnDef::new(JobProfile::JobFamily).string_len(80).not_null())
                    .col(ColumnDef::new(JobProfile::Description).text().not_null())
                    .col(ColumnDef::new(JobProfile::DqrLevel).small_integer().null())
                    .col(ColumnDef::new(JobProfile::BasedOn).uuid().null())
                    .col(stamp(JobProfile::CreatedAt))
                    .col(stamp(JobProfile::UpdatedAt))
                    .col(ColumnDef::new(JobProfile::Version).integer().not_null().default(1))
                    .foreign_key(&mut cascade(
                        (JobProfile::Table, JobProfile::OrganizationId),
                        (Organization::Table, Organization::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_job_profile_key")
                    .table(JobProfile::Table)
                    .col(JobProfile::Key)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_job_profile_organization")
                    .table(JobProfile::Table)
                    .col(JobProfile::OrganizationId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(JobProfileSkill::Table)
                    .col(ColumnDef::new(JobProfileSkill::ProfileId).uuid().not_null())
                    .col(ColumnDef::new(JobProfileSkill::SkillId).string_len(120).not_null())
                    .col(ColumnDef::new(JobProfileSkill::TargetLevel).integer().not_null())
                    .col(ColumnDef::new(JobProfileSkill::Required).boolean().not_null())
                    .col(ColumnDef::new(JobProfileSkill::Position).integer().not_null())
                    .primary_key(
                        Index::create().col(JobProfileSkill::ProfileId).col(JobProfileSkill::SkillId),
                    )
                    .foreign_key(&mut cascade(
                        (JobProfileSkill::Table, JobProfileSkill::ProfileId),
                        (JobProfile::Table, JobProfile::Id),
                    ))
                    .foreign_key(&mut cascade(
                        (JobProfileSkill::Table, JobProfileSkill::SkillId),
                        (Skill::Table, Skill::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        let stamp = |c: StaffMember| ColumnDef::new(c).timestamp_with_time_zone().not_null().to_owned();
        manager
            .create_table(
                Table::create()
                    .table(StaffMember::Table)
                    .col(ColumnDef::new(StaffMember::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(StaffMember::FirmId).uuid().not_null())
                    .col(ColumnDef::new(StaffMember::Label).string_len(40).not_null())
                    .col(ColumnDef::new(StaffMember::ProfileId).uuid().null())
                    .col(ColumnDef::new(StaffMember::Site).string_len(80).null())
                    .col(ColumnDef::new(StaffMember::PostalCode).string_len(5).null())
                    .col(stamp(StaffMember::CreatedAt))
                    .col(stamp(StaffMember::UpdatedAt))
                    .col(ColumnDef::new(StaffMember::Version).integer().not_null().default(1))
                    .foreign_key(&mut cascade(
                        (StaffMember::Table, StaffMember::FirmId),
                        (Organization::Table, Organization::Id),
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .from(StaffMember::Table, StaffMember::ProfileId)
                            .to(JobProfile::Table, JobProfile::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_staff_member_label")
                    .table(StaffMember::Table)
                    .col(StaffMember::FirmId)
                    .col(StaffMember::Label)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(StaffAssessment::Table)
                    .col(ColumnDef::new(StaffAssessment::StaffId).uuid().not_null())
                    .col(ColumnDef::new(StaffAssessment::SkillId).string_len(120).not_null())
                    .col(ColumnDef::new(StaffAssessment::Source).string_len(16).not_null())
                    .col(ColumnDef::new(StaffAssessment::Level).integer().not_null())
                    .col(ColumnDef::new(StaffAssessment::AssessedOn).date().not_null())
                    .primary_key(
                        Index::create()
                            .col(StaffAssessment::StaffId)
                            .col(StaffAssessment::SkillId)
                            .col(StaffAssessment::Source),
                    )
                    .foreign_key(&mut cascade(
                        (StaffAssessment::Table, StaffAssessment::StaffId),
                        (StaffMember::Table, StaffMember::Id),
                    ))
                    .foreign_key(&mut cascade(
                        (StaffAssessment::Table, StaffAssessment::SkillId),
                        (Skill::Table, Skill::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(StaffEvidence::Table)
                    .col(ColumnDef::new(StaffEvidence::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(StaffEvidence::StaffId).uuid().not_null())
                    .col(ColumnDef::new(StaffEvidence::Kind).string_len(16).not_null())
                    .col(ColumnDef::new(StaffEvidence::Title).string_len(200).not_null())
                    .col(ColumnDef::new(StaffEvidence::Skills).text().not_null())
                    .col(ColumnDef::new(StaffEvidence::Level).integer().not_null())
                    .col(ColumnDef::new(StaffEvidence::CourseId).uuid().null())
                    .col(ColumnDef::new(StaffEvidence::AchievedOn).date().null())
                    .col(ColumnDef::new(StaffEvidence::CreatedAt).timestamp_with_time_zone().not_null())
                    .foreign_key(&mut cascade(
                        (StaffEvidence::Table, StaffEvidence::StaffId),
                        (StaffMember::Table, StaffMember::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_staff_evidence_staff")
                    .table(StaffEvidence::Table)
                    .col(StaffEvidence::StaffId)
                    .to_owned(),
            )
            .await
    }
}
