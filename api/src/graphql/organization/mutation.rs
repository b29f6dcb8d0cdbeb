use async_graphql::{Context, ID, Object, Result};

use super::types::{
    CreateOrganizationInput, Invitation, Membership, MembershipRole, Organization, UpdateOrganizationInput,
};
use crate::graphql::context::{self, parse_id, require_person, require_user};
use crate::service::invitations;
use crate::service::organizations::{self, NewOrganization, OrganizationPatch};

#[derive(Default)]
pub struct OrganizationMutation;

#[Object]
impl OrganizationMutation {
    /// Creates a provider or a firm; you become its OWNER.
    async fn create_organization(
        &self,
        ctx: &Context<'_>,
        input: CreateOrganizationInput,
    ) -> Result<Organization> {
        let caller = require_person(ctx)?;
        let state = context::state(ctx)?;
        let new = NewOrganization {
            kind: input.kind.into(),
            name: input.name,
            slug: input.slug,
            description: input.description,
            website: input.website,
            address: input.address.map(Into::into),
            location: input.location.map(|p| (p.lat, p.lng)),
            employee_count: input.employee_count,
            azav_certified: input.azav_certified,
        };
        Ok(organizations::create(state, caller, new).await?.into())
    }

    /// Edits an organization (OWNER or ADMIN). `expectedVersion` is the `version` you read; when the
    /// organization changed since, nothing is written and the error is a `CONFLICT`.
    async fn update_organization(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
        input: UpdateOrganizationInput,
    ) -> Result<Organization> {
        let caller = require_user(ctx)?;
        let state = context::state(ctx)?;
        let patch = OrganizationPatch {
            name: input.name,
            description: input.description,
            website: input.website,
            address: input.address.map(Into::into),
            location: input.location.map(|p| (p.lat, p.lng)),
            clear_location: input.clear_location,
            employee_count: input.employee_count,
            azav_certified: input.azav_certified,
        };
        let id = parse_id("id", &id)?;
        Ok(organizations::update(state, caller, id, expected_version, patch).await?.into())
    }

    /// Invites an email address into the organization with a role (OWNER or ADMIN; only an OWNER
    /// invites owners). The answer is the same whether an account with this email exists or not; the
    /// person sees it in `myInvitations` once they sign in with that email, and becomes a member only
    /// by accepting it within `APP_INVITATION_TTL_DAYS` (14). Inviting an address with an open
    /// invitation renews it; a member's email is a `CONFLICT` on `email`.
    async fn invite_member(
        &self,
        ctx: &Context<'_>,
        organization_id: ID,
        #[graphql(desc = "The invited person's email address.")] email: String,
        #[graphql(default_with = "MembershipRole::Member", desc = "The role on accepting (default MEMBER).")]
        role: MembershipRole,
    ) -> Result<Invitation> {
        let caller = require_user(ctx)?;
        let state = context::state(ctx)?;
        let org = parse_id("organizationId", &organization_id)?;
        let ttl = chrono::Duration::days(state.settings.auth.invitation_ttl_days);
        Ok(invitations::invite(state, caller, org, &email, role.into(), ttl).await?.into())
    }

    /// Withdraws an open invitation (OWNER or ADMIN; only an OWNER withdraws an invitation to become
    /// OWNER). An answered or expired one is a `CONFLICT`.
    async fn revoke_invitation(&self, ctx: &Context<'_>, id: ID) -> Result<Invitation> {
        let caller = require_user(ctx)?;
        let state = context::state(ctx)?;
        let id = parse_id("id", &id)?;
        Ok(invitations::revoke(state, caller, id).await?.into())
    }

    /// Accepts an invitation to your email: you become a member with its role. Another person's
    /// invitation is `NOT_FOUND`; a declined, revoked, accepted or expired one is a `CONFLICT`.
    async fn accept_invitation(&self, ctx: &Context<'_>, id: ID) -> Result<Membership> {
        let caller = require_person(ctx)?;
        let state = context::state(ctx)?;
        let id = parse_id("id", &id)?;
        Ok(invitations::accept(state, caller, id).await?.into())
    }

    /// Declines an invitation to your email. Another person's invitation is `NOT_FOUND`; one that is
    /// no longer open is a `CONFLICT`.
    async fn decline_invitation(&self, ctx: &Context<'_>, id: ID) -> Result<Invitation> {
        let caller = require_person(ctx)?;
        let state = context::state(ctx)?;
        let id = parse_id("id", &id)?;
        Ok(invitations::decline(state, caller, id).await?.into())
    }

    /// Removes a member and returns the removed membership. Anyone may leave; OWNER and ADMIN remove
    /// others; the last OWNER cannot be removed.
    async fn remove_member(&self, ctx: &Context<'_>, organization_id: ID, user_id: ID) -> Result<Membership> {
        let caller = require_user(ctx)?;
        let state = context::state(ctx)?;
        let org = parse_id("organizationId", &organization_id)?;
        let user = parse_id("userId", &user_id)?;
        Ok(organizations::remove_member(state, caller, org, user).await?.into())
    }

    /// Changes a member's role (OWNER or ADMIN; only an OWNER grants or takes OWNER). The last OWNER
    /// cannot be demoted.
    async fn change_member_role(
        &self,
        ctx: &Context<'_>,
        organization_id: ID,
        user_id: ID,
        role: MembershipRole,
    ) -> Result<Membership> {
        let caller = require_user(ctx)?;
        let state = context::state(ctx)?;
        let org = parse_id("organizationId", &organization_id)?;
        let user = parse_id("userId", &user_id)?;
        Ok(organizations::change_role(state, caller, org, user, role.into()).await?.into())
    }

    /// Marks an organization as verified or not. Platform admins only.
    async fn set_organization_verified(
        &self,
        ctx: &Context<'_>,
        id: ID,
        verified: bool,
    ) -> Result<Organization> {
        let caller = require_user(ctx)?;
        let state = context::state(ctx)?;
        let id = parse_id("id", &id)?;
        Ok(organizations::set_verified(state, caller, id, verified).await?.into())
    }
}
