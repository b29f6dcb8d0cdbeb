use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{invitation, membership, organization};

use super::loaders::{MembersLoader, OrganizationLoader, UserLoader};
use crate::error::ApiError;
use crate::events::OrganizationEventKind;
use crate::graphql::account::types::User;
use crate::graphql::context::{loader, state, viewer};
use crate::service::invitations;
use crate::service::organizations::AddressInput as ServiceAddress;

/// What an unpaginated list counts for in the query complexity: that many children, assumed.
pub const LIST_COST: usize = 10;

/// Training providers publish courses; firms post qualification needs.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entity::organization::OrganizationKind")]
pub enum OrganizationKind {
    /// Bildungsdienstleister: chambers' training centres, private providers, universities.
    Provider,
    /// A firm (KMU) with qualification needs.
    Firm,
}

/// The sixteen German states.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entity::organization::Bundesland")]
pub enum Bundesland {
    BadenWuerttemberg,
    Bayern,
    Berlin,
    Brandenburg,
    Bremen,
    Hamburg,
    Hessen,
    MecklenburgVorpommern,
    Niedersachsen,
    NordrheinWestfalen,
    RheinlandPfalz,
    Saarland,
    Sachsen,
    SachsenAnhalt,
    SchleswigHolstein,
    Thueringen,
}

/// A member's rights: OWNER > ADMIN > MEMBER.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entity::membership::MembershipRole")]
pub enum MembershipRole {
    /// Everything, including managing owners. Every organization keeps at least one.
    Owner,
    /// Edits the organization and manages members (not owners).
    Admin,
    /// Works on the organization's courses or needs.
    Member,
}

#[derive(SimpleObject, Clone)]
pub struct Address {
    pub street: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub bundesland: Option<Bundesland>,
    /// ISO 3166-1 alpha-2 country code.
    pub country: String,
}

/// WGS 84 coordinates in decimal degrees.
#[derive(SimpleObject, Clone, Copy)]
pub struct GeoPoint {
    pub lat: f64,
    pub lng: f64,
}

#[derive(InputObject, Clone, Copy)]
#[graphql(name = "GeoPointInput")]
pub struct GeoPointInput {
    /// -90 to 90.
    pub lat: f64,
    /// -180 to 180.
    pub lng: f64,
}

#[derive(InputObject, Clone)]
pub struct AddressInput {
    pub street: Option<String>,
    /// Five digits for Germany.
    pub postal_code: Option<String>,
    pub city: Option<String>,
    /// Only for addresses in Germany.
    pub bundesland: Option<Bundesland>,
    /// ISO 3166-1 alpha-2; defaults to DE.
    pub country: Option<String>,
}

impl From<AddressInput> for ServiceAddress {
    fn from(a: AddressInput) -> Self {
        Self {
            street: a.street,
            postal_code: a.postal_code,
            city: a.city,
            bundesland: a.bundesland.map(Into::into),
            country: a.country,
        }
    }
}

/// A training provider or a firm.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Organization {
    pub id: ID,
    pub kind: OrganizationKind,
    pub name: String,
    /// Unique, URL-safe; usable instead of the id in `organization(slug:)`.
    pub slug: String,
    /// Markdown.
    pub description: String,
    pub website: Option<String>,
    pub address: Address,
    pub location: Option<GeoPoint>,
    /// Providers: certified under AZAV (needed for QCG and Bildungsgutschein funding).
    pub azav_certified: bool,
    /// Checked by the platform operators.
    pub verified: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Increases with every change; pass it as `expectedVersion` to `updateOrganization`.
    pub version: i32,
    #[graphql(skip)]
    pub model: organization::Model,
}

impl From<organization::Model> for Organization {
    fn from(m: organization::Model) -> Self {
        Self {
            id: ID(m.id.to_string()),
            kind: m.kind.into(),
            name: m.name.clone(),
            slug: m.slug.clone(),
            description: m.description.clone(),
            website: m.website.clone(),
            address: Address {
                street: m.street.clone(),
                postal_code: m.postal_code.clone(),
                city: m.city.clone(),
                bundesland: m.bundesland.map(Into::into),
                country: m.country.clone(),
            },
            location: m.latitude.zip(m.longitude).map(|(lat, lng)| GeoPoint { lat, lng }),
            azav_certified: m.azav_certified,
            verified: m.verified,
            created_at: m.created_at,
            updated_at: m.updated_at,
            version: m.version,
            model: m,
        }
    }
}

impl Organization {
    async fn members_of(&self, ctx: &Context<'_>) -> Result<Vec<membership::Model>> {
        let members = loader::<MembersLoader>(ctx)?
            .load_one(self.model.id)
            .await
            .map_err(ApiError::from)?
            .unwrap_or_default();
        Ok(members)
    }

    async fn viewer_membership(&self, ctx: &Context<'_>) -> Result<Option<membership::Model>> {
        let Some(viewer) = viewer(ctx) else {
            return Ok(None);
        };
        Ok(self.members_of(ctx).await?.into_iter().find(|m| m.user_id == viewer.user_id))
    }
}

#[ComplexObject]
impl Organization {
    /// Your role here, or null when you are not a member.
    async fn viewer_role(&self, ctx: &Context<'_>) -> Result<Option<MembershipRole>> {
        Ok(self.viewer_membership(ctx).await?.map(|m| m.role.into()))
    }

    /// Firms: number of employees (decides QCG funding rates). Members only; null for others.
    async fn employee_count(&self, ctx: &Context<'_>) -> Result<Option<i32>> {
        Ok(self.viewer_membership(ctx).await?.and(self.model.employee_count))
    }

    /// Members and their roles. Members only; null for others.
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn members(&self, ctx: &Context<'_>) -> Result<Option<Vec<Membership>>> {
        if self.viewer_membership(ctx).await?.is_none() {
            return Ok(None);
        }
        Ok(Some(self.members_of(ctx).await?.into_iter().map(Membership::from).collect()))
    }

    /// Invitations into this organization, newest first (at most 100), whatever became of them.
    /// OWNERs and ADMINs only; null for others.
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn invitations(&self, ctx: &Context<'_>) -> Result<Option<Vec<Invitation>>> {
        let admin = self
            .viewer_membership(ctx)
            .await?
            .is_some_and(|m| m.role >= entity::membership::MembershipRole::Admin);
        if !admin {
            return Ok(None);
        }
        let rows = invitations::of_organization(state(ctx)?, self.model.id).await?;
        Ok(Some(rows.into_iter().map(Invitation::from).collect()))
    }
}

/// A user's membership in an organization.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Membership {
    pub id: ID,
    pub role: MembershipRole,
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    pub model: membership::Model,
}

impl From<membership::Model> for Membership {
    fn from(m: membership::Model) -> Self {
        Self { id: ID(m.id.to_string()), role: m.role.into(), created_at: m.created_at, model: m }
    }
}

#[ComplexObject]
impl Membership {
    async fn user(&self, ctx: &Context<'_>) -> Result<User> {
        let user = loader::<UserLoader>(ctx)?
            .load_one(self.model.user_id)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::not_found("user"))?;
        Ok(user.into())
    }

    async fn organization(&self, ctx: &Context<'_>) -> Result<Organization> {
        let org = loader::<OrganizationLoader>(ctx)?
            .load_one(self.model.organization_id)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::not_found("organization"))?;
        Ok(org.into())
    }
}

#[derive(InputObject)]
pub struct CreateOrganizationInput {
    pub kind: OrganizationKind,
    /// 2–200 characters, e.g. "Bildungszentrum Jena GmbH".
    pub name: String,
    /// Derived from the name when not given (umlauts transliterated, made unique).
    pub slug: Option<String>,
    /// Markdown, up to 10 000 characters.
    pub description: Option<String>,
    /// An http(s) URL.
    pub website: Option<String>,
    pub address: Option<AddressInput>,
    pub location: Option<GeoPointInput>,
    /// Firms only.
    pub employee_count: Option<i32>,
    /// Providers only.
    pub azav_certified: Option<bool>,
}

/// Fields left out stay as they are; an empty string clears an optional text.
#[derive(InputObject)]
pub struct UpdateOrganizationInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub website: Option<String>,
    /// Replaces the whole address.
    pub address: Option<AddressInput>,
    pub location: Option<GeoPointInput>,
    /// Removes the coordinates.
    #[graphql(default)]
    pub clear_location: bool,
    /// Firms only.
    pub employee_count: Option<i32>,
    /// Providers only.
    pub azav_certified: Option<bool>,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum OrganizationEventType {
    MemberAdded,
    MemberRemoved,
    MemberRoleChanged,
    OrganizationUpdated,
}

impl From<OrganizationEventKind> for OrganizationEventType {
    fn from(kind: OrganizationEventKind) -> Self {
        match kind {
            OrganizationEventKind::MemberAdded => Self::MemberAdded,
            OrganizationEventKind::MemberRemoved => Self::MemberRemoved,
            OrganizationEventKind::MemberRoleChanged => Self::MemberRoleChanged,
            OrganizationEventKind::OrganizationUpdated => Self::OrganizationUpdated,
        }
    }
}

/// Something changed in an organization you belong to.
#[derive(SimpleObject, Clone)]
pub struct OrganizationEvent {
    pub event_type: OrganizationEventType,
    pub organization_id: ID,
    /// The member concerned, for membership events.
    pub user_id: Option<ID>,
    /// The member's new role, for MEMBER_ADDED and MEMBER_ROLE_CHANGED.
    pub role: Option<MembershipRole>,
    pub occurred_at: DateTime<Utc>,
}

/// Where an invitation stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum InvitationStatus {
    /// Waiting for an answer.
    Pending,
    Accepted,
    Declined,
    /// Withdrawn by an OWNER or ADMIN.
    Revoked,
    /// Not answered in time; it can no longer be accepted.
    Expired,
}

/// An invitation of an email address into an organization. Seen by the organization's OWNERs and
/// ADMINs and by the person whose account has that email.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Invitation {
    pub id: ID,
    /// Normalised (trimmed, lower-case).
    pub email: String,
    /// The role the invited person gets on accepting.
    pub role: MembershipRole,
    pub status: InvitationStatus,
    pub created_at: DateTime<Utc>,
    /// Until then it can be accepted.
    pub expires_at: DateTime<Utc>,
    /// When it was accepted, declined or revoked.
    pub responded_at: Option<DateTime<Utc>>,
    #[graphql(skip)]
    pub model: invitation::Model,
}

impl From<invitation::Model> for Invitation {
    fn from(m: invitation::Model) -> Self {
        use entity::invitation::InvitationStatus as Stored;
        let status = match m.status {
            Stored::Pending if m.expires_at <= Utc::now() => InvitationStatus::Expired,
            Stored::Pending => InvitationStatus::Pending,
            Stored::Accepted => InvitationStatus::Accepted,
            Stored::Declined => InvitationStatus::Declined,
            Stored::Revoked => InvitationStatus::Revoked,
        };
        Self {
            id: ID(m.id.to_string()),
            email: m.email.clone(),
            role: m.role.into(),
            status,
            created_at: m.created_at,
            expires_at: m.expires_at,
            responded_at: m.responded_at,
            model: m,
        }
    }
}

#[ComplexObject]
impl Invitation {
    /// The organization you are invited into (its public fields).
    async fn organization(&self, ctx: &Context<'_>) -> Result<Organization> {
        let org = loader::<OrganizationLoader>(ctx)?
            .load_one(self.model.organization_id)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::not_found("organization"))?;
        Ok(org.into())
    }
}
