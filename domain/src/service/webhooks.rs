//! Webhook endpoints of an organization: registered and removed by its admins; deliveries are
//! recorded for them to inspect.

use std::net::IpAddr;

use chrono::Utc;
use entity::membership::MembershipRole;
use entity::webhook_delivery as delivery;
use entity::webhook_endpoint as endpoint;
use rand::RngCore;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use uuid::Uuid;

use crate::alerts::EventType;
use crate::context::AppState;
use crate::db;
use crate::error::{ApiError, ApiResult};
use crate::service::{json_list, organizations, validate};

/// Endpoints per organization at most.
pub const MAX_ENDPOINTS: u64 = 10;

/// Checks an endpoint URL: HTTPS with a host name; plain HTTP only to loopback when `allow_loopback`
/// (development and tests). Credentials in the URL are refused, so they never show up in listings.
pub fn endpoint_url(field: &str, raw: &str, allow_loopback: bool) -> ApiResult<String> {
    let bad = |message: &str| ApiError::bad_input(field, message.to_owned());
    if raw.len() > 2048 {
        return Err(bad("the URL is longer than 2048 characters"));
    }
    let url = reqwest::Url::parse(raw.trim()).map_err(|_| bad("not a valid URL"))?;
    let host = url.host_str().ok_or_else(|| bad("the URL has no host"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("credentials in the URL are not allowed; use the signature to authenticate"));
    }
    let ip = host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().ok();
    let loopback = host == "localhost" || ip.is_some_and(|ip| ip.is_loopback());
    if ip.is_some_and(|ip| !is_public(ip)) && !(loopback && allow_loopback) {
        return Err(bad(
            "webhook endpoints must be public: private, loopback and link-local addresses are refused",
        ));
    }
    match url.scheme() {
        "https" if !loopback || allow_loopback => Ok(url.to_string()),
        "http" if loopback && allow_loopback => Ok(url.to_string()),
        _ => Err(bad("webhook endpoints must use https:// with a public host name")),
    }
}

/// Whether `ip` is reachable on the public internet: not private, loopback, link-local (cloud
/// metadata), shared, documentation, multicast or unspecified. Webhooks go only there, so an
/// endpoint cannot make the server call into its own network.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_unspecified()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (18..20).contains(&b)))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
    }
}

/// Registers an endpoint; returns it with its signing secret, which is shown only this once.
pub async fn create(
    state: &AppState,
    caller: Uuid,
    organization_id: Uuid,
    url: &str,
    event_types: &[EventType],
    allow_loopback: bool,
) -> ApiResult<endpoint::Model> {
    let db = &state.db;
    let url = endpoint_url("input.url", url, allow_loopback)?;
    validate::at_most("input.eventTypes", event_types.len(), validate::bounds::ENUM_VALUES)?;
    if event_types.is_empty() {
        return Err(ApiError::bad_input("input.eventTypes", "name at least one event type"));
    }
    let mut types: Vec<EventType> = Vec::new();
    for t in event_types {
        if !types.contains(t) {
            types.push(*t);
        }
    }
    let txn = db::begin_write(db).await?;
    // Locked, so concurrent registrations on PostgreSQL cannot pass the limit together.
    entity::organization::Entity::find_by_id(organization_id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found("organization"))?;
    organizations::require_role(&txn, organization_id, caller, MembershipRole::Admin).await?;
    let count = endpoint::Entity::find()
        .filter(endpoint::Column::OrganizationId.eq(organization_id))
        .count(&txn)
        .await?;
    if count >= MAX_ENDPOINTS {
        return Err(ApiError::conflict_on(
            "input.organizationId",
            format!("at most {MAX_ENDPOINTS} endpoints per organization"),
        ));
    }
    let mut secret = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut secret);
    let model = endpoint::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(organization_id),
        url: Set(url),
        secret: Set(format!("whsec_{}", hex::encode(secret))),
        event_types: Set(json_list::encode(&types)),
        created_by: Set(caller),
        created_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(model)
}

/// An endpoint the caller administers.
async fn administered(db: &DatabaseConnection, caller: Uuid, id: Uuid) -> ApiResult<endpoint::Model> {
    let found = endpoint::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| ApiError::not_found("webhook endpoint"))?;
    match organizations::role_of(db, found.organization_id, caller).await? {
        Some(role) if role >= MembershipRole::Admin => Ok(found),
        Some(_) => Err(ApiError::forbidden("this needs the ADMIN role in the organization")),
        None => Err(ApiError::not_found("webhook endpoint")),
    }
}

/// Removes an endpoint with its delivery records.
pub async fn delete(state: &AppState, caller: Uuid, id: Uuid) -> ApiResult<endpoint::Model> {
    let db = &state.db;
    let found = administered(db, caller, id).await?;
    endpoint::Entity::delete_by_id(id).exec(db).await?;
    Ok(found)
}

pub async fn list(state: &AppState, caller: Uuid, organization_id: Uuid) -> ApiResult<Vec<endpoint::Model>> {
    let db = &state.db;
    organizations::require_admin(db, organization_id, caller).await?;
    Ok(endpoint::Entity::find()
        .filter(endpoint::Column::OrganizationId.eq(organization_id))
        .order_by_asc(endpoint::Column::Id)
        .all(db)
        .await?)
}

/// One page of the organization's deliveries, newest first (optionally of one endpoint).
pub async fn deliveries(
    state: &AppState,
    caller: Uuid,
    organization_id: Uuid,
    endpoint_id: Option<Uuid>,
    after: Option<Uuid>,
    limit: u64,
) -> ApiResult<Vec<delivery::Model>> {
    let db = &state.db;
    organizations::require_admin(db, organization_id, caller).await?;
    let mut select = delivery::Entity::find()
        .filter(delivery::Column::OrganizationId.eq(organization_id))
        .order_by_desc(delivery::Column::Id);
    if let Some(endpoint_id) = endpoint_id {
        select = select.filter(delivery::Column::EndpointId.eq(endpoint_id));
    }
    if let Some(after) = after {
        select = select.filter(delivery::Column::Id.lt(after));
    }
    Ok(select.limit(limit + 1).all(db).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_urls_are_checked() {
        assert!(endpoint_url("url", "https://hooks.example.de/bm", false).is_ok());
        assert!(endpoint_url("url", "http://hooks.example.de/bm", true).is_err());
        assert!(endpoint_url("url", "http://127.0.0.1:9000/hook", true).is_ok());
        assert!(endpoint_url("url", "http://127.0.0.1:9000/hook", false).is_err());
        assert!(endpoint_url("url", "https://localhost/hook", false).is_err());
        assert!(endpoint_url("url", "https://user:pw@hooks.example.de/", false).is_err());
        assert!(endpoint_url("url", "ftp://hooks.example.de/", false).is_err());
        assert!(endpoint_url("url", "kaputt", false).is_err());
        for private in [
            "https://10.0.0.5/",
            "https://169.254.169.254/latest",
            "https://127.0.0.2/",
            "https://[::ffff:127.0.0.1]/",
            "https://[fd00::1]/",
            "https://100.64.0.1/",
        ] {
            assert!(endpoint_url("url", private, false).is_err(), "{private}");
        }
        assert!(endpoint_url("url", "https://93.184.216.34/hook", false).is_ok());
    }
}
