use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "organization")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub kind: OrganizationKind,
    pub name: String,
    #[sea_orm(unique)]
    pub slug: String,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    pub website: Option<String>,
    pub street: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub bundesland: Option<Bundesland>,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub employee_count: Option<i32>,
    pub azav_certified: bool,
    pub verified: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub version: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum OrganizationKind {
    #[sea_orm(string_value = "PROVIDER")]
    Provider,
    #[sea_orm(string_value = "FIRM")]
    Firm,
}

/// The sixteen German states, stored by their ISO 3166-2 code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(8))")]
pub enum Bundesland {
    #[sea_orm(string_value = "DE-BW")]
    BadenWuerttemberg,
    #[sea_orm(string_value = "DE-BY")]
    Bayern,
    #[sea_orm(string_value = "DE-BE")]
    Berlin,
    #[sea_orm(string_value = "DE-BB")]
    Brandenburg,
    #[sea_orm(string_value = "DE-HB")]
    Bremen,
    #[sea_orm(string_value = "DE-HH")]
    Hamburg,
    #[sea_orm(string_value = "DE-HE")]
    Hessen,
    #[sea_orm(string_value = "DE-MV")]
    MecklenburgVorpommern,
    #[sea_orm(string_value = "DE-NI")]
    Niedersachsen,
    #[sea_orm(string_value = "DE-NW")]
    NordrheinWestfalen,
    #[sea_orm(string_value = "DE-RP")]
    RheinlandPfalz,
    #[sea_orm(string_value = "DE-SL")]
    Saarland,
    #[sea_orm(string_value = "DE-SN")]
    Sachsen,
    #[sea_orm(string_value = "DE-ST")]
    SachsenAnhalt,
    #[sea_orm(string_value = "DE-SH")]
    SchleswigHolstein,
    #[sea_orm(string_value = "DE-TH")]
    Thueringen,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::membership::Entity")]
    Membership,
}

impl Related<super::membership::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Membership.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
