//! Offers: a provider answers a firm's OPEN need with one of its offerings or a custom (e.g. inhouse)
//! proposal; the firm accepts one — which moves the need to IN_NEGOTIATION and declines the rest —
//! or declines; the provider may withdraw while the offer is pending.
//!
//! Every change locks the need row first, so two accepts on one need run one after the other and the
//! second finds the need no longer OPEN.

use chrono::{NaiveDate, Utc};
use entity::course::{self, CourseStatus};
use entity::offer::{self, OfferStatus};
use entity::offering;
use entity::organization::OrganizationKind;
use entity::qualification_need::{self as need, NeedStatus};
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use crate::alerts::{self, AlertEvent};
use crate::context::AppState;
use crate::db;
use crate::error::{ApiError, ApiResult};
use crate::events::OfferChange;
use crate::service::courses::price_cents;
use crate::service::{access, needs, validate};

/// A custom proposal instead of an existing offering.
#[derive(Debug, Clone)]
pub struct Proposal {
    pub title: String,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub price_cents_per_participant: Option<i64>,
    pub inhouse: bool,
}

#[derive(Debug, Clone)]
pub struct NewOffer {
    pub need_id: Uuid,
    pub provider_id: Uuid,
    pub offering_id: Option<Uuid>,
    pub proposal: Option<Proposal>,
    pub message: String,
}

async fn lock_need(txn: &DatabaseTransaction, id: Uuid) -> ApiResult<need::Model> {
    need::Entity::find_by_id(id).lock_exclusive().one(txn).await?.ok_or_else(|| ApiError::not_found("need"))
}

pub async fn submit(state: &AppState, caller: Uuid, input: NewOffer) -> ApiResult<offer::Model> {
    let db = &state.db;
    let message = validate::text("input.message", &input.message, 1, 5_000)?;
    let txn = db::begin_write(db).await?;
    access::member_of_kind(&txn, caller, input.provider_id, OrganizationKind::Provider, "input.providerId")
        .await?;
    let need = lock_need(&txn, input.need_id).await?;
    if !needs::can_see(&txn, &[input.provider_id], &need).await? {
        return Err(ApiError::not_found("need"));
    }
    if need.status != NeedStatus::Open {
        return Err(ApiError::conflict_on("input.needId", "offers can be made only on OPEN needs"));
    }
    let pending = offer::Entity::find()
        .filter(offer::Column::NeedId.eq(need.id))
        .filter(offer::Column::ProviderId.eq(input.provider_id))
        .filter(offer::Column::Status.eq(OfferStatus::Submitted))
        .one(&txn)
        .await?;
    if pending.is_some() {
        return Err(ApiError::conflict_on(
            "input.needId",
            "this provider already has a pending offer on the need; withdraw it first",
        ));
    }
    let now = Utc::now();
    let mut model = offer::Model {
        id: Uuid::now_v7(),
        need_id: need.id,
        provider_id: input.provider_id,
        offering_id: None,
        title: None,
        start_date: None,
        end_date: None,
        price_cents_per_participant: None,
        inhouse: false,
        message,
        status: OfferStatus::Submitted,
        created_at: now,
        updated_at: now,
        decided_at: None,
        version: 1,
    };
    match (input.offering_id, input.proposal) {
        (Some(offering_id), None) => {
            let (run, course) = own_offering(&txn, input.provider_id, offering_id).await?;
            model.offering_id = Some(run.id);
            model.start_date = Some(run.start_date);
            model.end_date = Some(run.end_date);
            model.price_cents_per_participant = run.price_cents_override.or(course.price_cents);
        }
        (None, Some(p)) => {
            model.title = Some(validate::text("input.proposal.title", &p.title, 3, 200)?);
            if let (Some(start), Some(end)) = (p.start_date, p.end_date)
                && end < start
            {
                return Err(ApiError::bad_input(
                    "input.proposal.endDate",
                    "the end must not be before the start",
                ));
            }
            if p.start_date.is_some_and(|d| d < now.date_naive()) {
                return Err(ApiError::bad_input(
                    "input.proposal.startDate",
                    "the start must not be in the past",
                ));
            }
            model.start_date = p.start_date;
            model.end_date = p.end_date;
            model.price_cents_per_participant = p
                .price_cents_per_participant
                .map(|c| price_cents("input.proposal.priceCentsPerParticipant", c))
                .transpose()?;
            model.inhouse = p.inhouse;
        }
        _ => {
            return Err(ApiError::bad_input(
                "input.offeringId",
                "give either offeringId or proposal, exactly one of them",
            ));
        }
    }
    let inserted = offer::ActiveModel::from(model).insert(&txn).await?;
    record(&txn, &inserted, &need, OfferChange::Submitted).await?;
    txn.commit().await?;
    Ok(inserted)
}

/// A published course's offering of `provider_id` that has not started.
async fn own_offering(
    txn: &DatabaseTransaction,
    provider_id: Uuid,
    offering_id: Uuid,
) -> ApiResult<(offering::Model, course::Model)> {
    let found = offering::Entity::find_by_id(offering_id).find_also_related(course::Entity).one(txn).await?;
    let Some((run, Some(course))) = found else {
        return Err(ApiError::not_found("offering"));
    };
    if course.provider_id != provider_id {
        return Err(ApiError::not_found("offering"));
    }
    if course.status != CourseStatus::Published {
        return Err(ApiError::bad_input(
            "input.offeringId",
            "only offerings of published courses can be offered",
        ));
    }
    if !run.rolling_start && run.start_date < Utc::now().date_naive() {
        return Err(ApiError::bad_input("input.offeringId", "this offering has already started"));
    }
    Ok((run, course))
}

/// Loads the offer and its need, locking the need.
async fn lock(
    txn: &DatabaseTransaction,
    caller: Uuid,
    offer_id: Uuid,
) -> ApiResult<(offer::Model, need::Model, Vec<Uuid>)> {
    let found =
        offer::Entity::find_by_id(offer_id).one(txn).await?.ok_or_else(|| ApiError::not_found("offer"))?;
    let need = lock_need(txn, found.need_id).await?;
    // Re-read under the need's lock: a concurrent accept may have declined it meanwhile.
    let current =
        offer::Entity::find_by_id(offer_id).one(txn).await?.ok_or_else(|| ApiError::not_found("offer"))?;
    let own = access::organizations_of(txn, caller).await?;
    let pool = needs::pool_firms(txn, &need).await?;
    if !visible_to(&current, &own, &pool) {
        return Err(ApiError::not_found("offer"));
    }
    Ok((current, need, own))
}

fn expect_pending(offer: &offer::Model, action: &str) -> ApiResult<()> {
    if offer.status == OfferStatus::Submitted {
        Ok(())
    } else {
        Err(ApiError::conflict_on(
            "offerId",
            format!("an offer that is {} cannot be {action}", offer.status.to_value()),
        ))
    }
}

fn expect_firm_member(own: &[Uuid], need: &need::Model) -> ApiResult<()> {
    if own.contains(&need.firm_id) {
        Ok(())
    } else {
        Err(ApiError::forbidden("only members of the firm that posted the need may decide on its offers"))
    }
}

/// The firm accepts: the need moves to IN_NEGOTIATION and every other pending offer is declined.
pub async fn accept(state: &AppState, caller: Uuid, offer_id: Uuid) -> ApiResult<offer::Model> {
    let db = &state.db;
    let txn = db::begin_write(db).await?;
    let (current, need, own) = lock(&txn, caller, offer_id).await?;
    expect_firm_member(&own, &need)?;
    expect_pending(&current, "accepted")?;
    if need.status != NeedStatus::Open {
        return Err(ApiError::conflict_on(
            "offerId",
            "the need is no longer OPEN; another offer may have been accepted",
        ));
    }
    let accepted = decide(&txn, current, OfferStatus::Accepted).await?;
    record(&txn, &accepted, &need, OfferChange::Accepted).await?;
    let version = need.version + 1;
    let mut active: need::ActiveModel = need.clone().into();
    active.status = Set(NeedStatus::InNegotiation);
    active.version = Set(version);
    active.updated_at = Set(Utc::now());
    active.update(&txn).await?;
    decline_pending(&txn, &need, Some(accepted.id)).await?;
    txn.commit().await?;
    Ok(accepted)
}

pub async fn decline(state: &AppState, caller: Uuid, offer_id: Uuid) -> ApiResult<offer::Model> {
    let db = &state.db;
    let txn = db::begin_write(db).await?;
    let (current, need, own) = lock(&txn, caller, offer_id).await?;
    expect_firm_member(&own, &need)?;
    expect_pending(&current, "declined")?;
    let declined = decide(&txn, current, OfferStatus::Declined).await?;
    record(&txn, &declined, &need, OfferChange::Declined).await?;
    txn.commit().await?;
    Ok(declined)
}

pub async fn withdraw(state: &AppState, caller: Uuid, offer_id: Uuid) -> ApiResult<offer::Model> {
    let db = &state.db;
    let txn = db::begin_write(db).await?;
    let (current, need, own) = lock(&txn, caller, offer_id).await?;
    if !own.contains(&current.provider_id) {
        return Err(ApiError::forbidden("only members of the provider may withdraw its offer"));
    }
    expect_pending(&current, "withdrawn")?;
    let withdrawn = decide(&txn, current, OfferStatus::Withdrawn).await?;
    record(&txn, &withdrawn, &need, OfferChange::Withdrawn).await?;
    txn.commit().await?;
    Ok(withdrawn)
}

async fn decide(
    txn: &DatabaseTransaction,
    current: offer::Model,
    status: OfferStatus,
) -> ApiResult<offer::Model> {
    let now = Utc::now();
    let version = current.version + 1;
    let mut active: offer::ActiveModel = current.into();
    active.status = Set(status);
    active.decided_at = Set(Some(now));
    active.updated_at = Set(now);
    active.version = Set(version);
    Ok(active.update(txn).await?)
}

/// Declines the need's pending offers except `keep` (the need was decided or ended).
pub(crate) async fn decline_pending(
    txn: &DatabaseTransaction,
    need: &need::Model,
    keep: Option<Uuid>,
) -> ApiResult<()> {
    let mut pending = offer::Entity::find()
        .filter(offer::Column::NeedId.eq(need.id))
        .filter(offer::Column::Status.eq(OfferStatus::Submitted));
    if let Some(keep) = keep {
        pending = pending.filter(offer::Column::Id.ne(keep));
    }
    for other in pending.all(txn).await? {
        let declined = decide(txn, other, OfferStatus::Declined).await?;
        record(txn, &declined, need, OfferChange::Declined).await?;
    }
    Ok(())
}

/// Declines the need's ACCEPTED offer (the firm reopened the need).
pub(crate) async fn decline_accepted(txn: &DatabaseTransaction, need: &need::Model) -> ApiResult<()> {
    let accepted = offer::Entity::find()
        .filter(offer::Column::NeedId.eq(need.id))
        .filter(offer::Column::Status.eq(OfferStatus::Accepted))
        .all(txn)
        .await?;
    for offer in accepted {
        let declined = decide(txn, offer, OfferStatus::Declined).await?;
        record(txn, &declined, need, OfferChange::Declined).await?;
    }
    Ok(())
}

async fn record(
    txn: &impl ConnectionTrait,
    offer: &offer::Model,
    need: &need::Model,
    change: OfferChange,
) -> ApiResult<()> {
    alerts::record(
        txn,
        &AlertEvent::OfferChanged {
            offer_id: offer.id,
            need_id: need.id,
            firm_id: need.firm_id,
            provider_id: offer.provider_id,
            change,
        },
    )
    .await
}

/// An offer the caller may see: the provider's members and the pooled firms' members.
pub async fn visible(state: &AppState, caller: Uuid, id: Uuid) -> ApiResult<offer::Model> {
    let db = &state.db;
    let found = offer::Entity::find_by_id(id).one(db).await?.ok_or_else(|| ApiError::not_found("offer"))?;
    let own = access::organizations_of(db, caller).await?;
    if own.contains(&found.provider_id) {
        return Ok(found);
    }
    let need =
        need::Entity::find_by_id(found.need_id).one(db).await?.ok_or_else(|| ApiError::not_found("offer"))?;
    let pool = needs::pool_firms(db, &need).await?;
    if needs::in_pool(&own, &pool) { Ok(found) } else { Err(ApiError::not_found("offer")) }
}

/// The offers on these needs, oldest first; callers filter with [`visible_to`].
pub async fn of_needs(state: &AppState, need_ids: &[Uuid]) -> ApiResult<Vec<offer::Model>> {
    let db = &state.db;
    Ok(offer::Entity::find()
        .filter(offer::Column::NeedId.is_in(need_ids.iter().copied()))
        .order_by_asc(offer::Column::Id)
        .all(db)
        .await?)
}

/// Whether members of `own` may see `offer` on a need whose pool is `pool`: the pooled firms see
/// every offer, a provider its own.
pub fn visible_to(offer: &offer::Model, own: &[Uuid], pool: &[Uuid]) -> bool {
    own.contains(&offer.provider_id) || needs::in_pool(own, pool)
}

/// A provider's offers, newest first, one page after `after`.
pub async fn of_provider(
    state: &AppState,
    caller: Uuid,
    provider_id: Uuid,
    after: Option<Uuid>,
    limit: u64,
) -> ApiResult<Vec<offer::Model>> {
    let db = &state.db;
    access::member_of_kind(db, caller, provider_id, OrganizationKind::Provider, "organizationId").await?;
    let mut select = offer::Entity::find()
        .filter(offer::Column::ProviderId.eq(provider_id))
        .order_by_desc(offer::Column::Id);
    if let Some(after) = after {
        select = select.filter(offer::Column::Id.lt(after));
    }
    Ok(select.limit(limit + 1).all(db).await?)
}
