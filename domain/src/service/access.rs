//! Who may act for an organization.

use entity::organization::{self, OrganizationKind};
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::service::organizations;

/// The organization `id` when `caller` is one of its members and it is of `kind`; `field` names the
/// argument that carried the id.
pub async fn member_of_kind(
    db: &impl ConnectionTrait,
    caller: Uuid,
    id: Uuid,
    kind: OrganizationKind,
    field: &str,
) -> ApiResult<organization::Model> {
    let org = organizations::find(db, id).await?;
    if organizations::role_of(db, id, caller).await?.is_none() {
        return Err(ApiError::forbidden("only members of the organization may do this"));
    }
    if org.kind != kind {
        let wanted = match kind {
            OrganizationKind::Provider => "a training provider",
            OrganizationKind::Firm => "a firm",
        };
        return Err(ApiError::bad_input(field, format!("{field} must be {wanted}")));
    }
    Ok(org)
}

/// The ids of the organizations `caller` belongs to.
pub async fn organizations_of(db: &impl ConnectionTrait, caller: Uuid) -> ApiResult<Vec<Uuid>> {
    use entity::membership;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
    Ok(membership::Entity::find()
        .select_only()
        .column(membership::Column::OrganizationId)
        .filter(membership::Column::UserId.eq(caller))
        .into_tuple()
        .all(db)
        .await?)
}
