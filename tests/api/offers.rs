//! Offers on needs through HTTP: submit, accept, decline, withdraw; the concurrent-accept race; bad
//! input that changes nothing.

use serde_json::{Value, json};

use crate::catalog::provider;
use crate::helpers::{Account, TestApp, assert_error, error_code, spawn_app};
use crate::matching::{JENA, SPS_KOMPAKT, firm_at, open_need, publish};

pub const SUBMIT: &str = "mutation($input: SubmitOfferInput!) { submitOffer(input: $input) { id status priceCentsPerParticipant startDate title inhouse provider { name } offering { id } } }";
const ACCEPT: &str = "mutation($id: ID!) { acceptOffer(offerId: $id) { id status decidedAt } }";
const DECLINE: &str = "mutation($id: ID!) { declineOffer(offerId: $id) { id status } }";
const WITHDRAW: &str = "mutation($id: ID!) { withdrawOffer(offerId: $id) { id status } }";
const NEED_OFFERS: &str =
    "query($id: ID!) { need(id: $id) { status version offers { id status provider { name } } } }";

/// A provider with a published course in Jena; returns (owner, provider id, offering id).
pub async fn provider_with_offering(app: &TestApp, email: &str, name: &str) -> (Account, String, String) {
    let (owner, provider_id) = provider(app, email, name).await;
    let course = publish(app, &owner, &provider_id, &SPS_KOMPAKT).await;
    let data = app
        .gql_ok(None, "query($id: ID!) { course(id: $id) { offerings { id } } }", json!({ "id": course }))
        .await;
    let offering = data["course"]["offerings"][0]["id"].as_str().expect("offering").to_owned();
    (owner, provider_id, offering)
}

pub async fn submit(app: &TestApp, who: &Account, need: &str, provider: &str, offering: &str) -> String {
    let data = app
        .gql_ok(
            Some(&who.access_token),
            SUBMIT,
            json!({ "input": { "needId": need, "providerId": provider, "offeringId": offering, "message": "Wir bieten den Kurs in Jena an." } }),
        )
        .await;
    data["submitOffer"]["id"].as_str().expect("offer id").to_owned()
}

#[tokio::test]
async fn a_firm_accepts_one_offer_and_the_rest_are_declined() {
    let app = spawn_app().await;
    let (hr, firm) = firm_at(&app, "personal@optik.de", "Optik Jena GmbH", JENA).await;
    let (need, _) = open_need(&app, &hr, &firm, 3).await;
    let (a, a_id, a_offering) = provider_with_offering(&app, "a@bz.de", "BZ Jena").await;
    let (b, b_id, _) = provider_with_offering(&app, "b@akademie.de", "Akademie Erfurt").await;

    let first = app
        .gql_ok(
            Some(&a.access_token),
            SUBMIT,
            json!({ "input": { "needId": need, "providerId": a_id, "offeringId": a_offering, "message": "Termin im März passt." } }),
        )
        .await;
    let offer_a = &first["submitOffer"];
    assert_eq!(offer_a["status"], "SUBMITTED");
    assert_eq!(offer_a["priceCentsPerParticipant"], 249000);
    assert_eq!(offer_a["offering"]["id"], a_offering.as_str());
    let offer_a = offer_a["id"].as_str().expect("id").to_owned();
    let proposal = app
        .gql_ok(
            Some(&b.access_token),
            SUBMIT,
            json!({ "input": { "needId": need, "providerId": b_id, "message": "Inhouse bei Ihnen.",
                "proposal": { "title": "SPS-Inhouse-Schulung", "startDate": crate::matching::day(45), "endDate": crate::matching::day(50),
                              "priceCentsPerParticipant": 180000, "inhouse": true } } }),
        )
        .await;
    assert_eq!(proposal["submitOffer"]["title"], "SPS-Inhouse-Schulung");
    assert_eq!(proposal["submitOffer"]["inhouse"], true);
    let offer_b = proposal["submitOffer"]["id"].as_str().expect("id").to_owned();

    // The firm sees both; each provider only its own.
    let seen = app.gql_ok(Some(&hr.access_token), NEED_OFFERS, json!({ "id": need })).await;
    assert_eq!(seen["need"]["offers"].as_array().map(Vec::len), Some(2));
    let seen_by_a = app.gql_ok(Some(&a.access_token), NEED_OFFERS, json!({ "id": need })).await;
    assert_eq!(
        seen_by_a["need"]["offers"],
        json!([{ "id": offer_a, "status": "SUBMITTED", "provider": { "name": "BZ Jena" } }])
    );

    // Only the firm decides; only the provider withdraws.
    assert_error(&app.gql(Some(&a.access_token), ACCEPT, json!({ "id": offer_a })).await, "FORBIDDEN", None);
    assert_error(
        &app.gql(Some(&hr.access_token), WITHDRAW, json!({ "id": offer_a })).await,
        "FORBIDDEN",
        None,
    );
    assert_error(&app.gql(Some(&b.access_token), ACCEPT, json!({ "id": offer_a })).await, "NOT_FOUND", None);

    let accepted = app.gql_ok(Some(&hr.access_token), ACCEPT, json!({ "id": offer_b })).await;
    assert_eq!(accepted["acceptOffer"]["status"], "ACCEPTED");
    let after = app.gql_ok(Some(&hr.access_token), NEED_OFFERS, json!({ "id": need })).await;
    assert_eq!(after["need"]["status"], "IN_NEGOTIATION");
    let statuses: Vec<(&str, &str)> = after["need"]["offers"]
        .as_array()
        .expect("offers")
        .iter()
        .map(|o| (o["id"].as_str().unwrap_or(""), o["status"].as_str().unwrap_or("")))
        .collect();
    assert!(statuses.contains(&(offer_a.as_str(), "DECLINED")), "{statuses:?}");
    // The provider whose offer was declined still sees the need it offered on.
    let seen_by_a = app.gql_ok(Some(&a.access_token), NEED_OFFERS, json!({ "id": need })).await;
    assert_eq!(seen_by_a["need"]["offers"][0]["status"], "DECLINED");

    // Invalid transitions are conflicts and change nothing.
    assert_error(
        &app.gql(Some(&hr.access_token), ACCEPT, json!({ "id": offer_a })).await,
        "CONFLICT",
        Some("offerId"),
    );
    assert_error(
        &app.gql(Some(&a.access_token), WITHDRAW, json!({ "id": offer_a })).await,
        "CONFLICT",
        Some("offerId"),
    );
    assert_error(
        &app.gql(Some(&hr.access_token), DECLINE, json!({ "id": offer_b })).await,
        "CONFLICT",
        Some("offerId"),
    );
    let again = app
        .gql(
            Some(&a.access_token),
            SUBMIT,
            json!({ "input": { "needId": need, "providerId": a_id, "offeringId": a_offering, "message": "Noch einmal." } }),
        )
        .await;
    assert_error(&again, "CONFLICT", Some("input.needId"));

    // Reopening a failed negotiation releases the accepted offer: never two ACCEPTED offers.
    let version = after["need"]["version"].as_i64().expect("version");
    app.gql_ok(
        Some(&hr.access_token),
        "mutation($id: ID!, $v: Int!) { changeNeedStatus(id: $id, expectedVersion: $v, status: OPEN) { status } }",
        json!({ "id": need, "v": version }),
    )
    .await;
    let reopened = app
        .gql_ok(
            Some(&hr.access_token),
            "query($id: ID!) { offer(id: $id) { status } }",
            json!({ "id": offer_b }),
        )
        .await;
    assert_eq!(reopened["offer"]["status"], "DECLINED");
    submit(&app, &a, &need, &a_id, &a_offering).await;
}

#[tokio::test]
async fn offers_reject_bad_input_and_change_nothing() {
    let app = spawn_app().await;
    let (hr, firm) = firm_at(&app, "personal@optik.de", "Optik Jena GmbH", JENA).await;
    let (need, _) = open_need(&app, &hr, &firm, 3).await;
    let (a, a_id, a_offering) = provider_with_offering(&app, "a@bz.de", "BZ Jena").await;
    let (_, _, b_offering) = provider_with_offering(&app, "b@akademie.de", "Akademie Erfurt").await;
    let input = |extra: Value| {
        let mut base = json!({ "needId": need, "providerId": a_id, "message": "Angebot" });
        if let (Some(base), Some(extra)) = (base.as_object_mut(), extra.as_object()) {
            base.extend(extra.clone());
        }
        json!({ "input": base })
    };
    let cases = [
        (json!({}), "BAD_USER_INPUT", "input.offeringId"),
        (
            json!({ "offeringId": a_offering, "proposal": { "title": "Beides" } }),
            "BAD_USER_INPUT",
            "input.offeringId",
        ),
        (json!({ "offeringId": b_offering }), "NOT_FOUND", ""),
        (json!({ "offeringId": "kaputt" }), "BAD_USER_INPUT", "input.offeringId"),
        (json!({ "proposal": { "title": "X" } }), "BAD_USER_INPUT", "input.proposal.title"),
        (
            json!({ "proposal": { "title": "Kurs", "priceCentsPerParticipant": -5 } }),
            "BAD_USER_INPUT",
            "input.proposal.priceCentsPerParticipant",
        ),
        (
            json!({ "proposal": { "title": "Kurs", "startDate": "2020-01-01" } }),
            "BAD_USER_INPUT",
            "input.proposal.startDate",
        ),
        (json!({ "offeringId": a_offering, "message": "" }), "BAD_USER_INPUT", "input.message"),
    ];
    for (extra, code, field) in cases {
        let body = app.gql(Some(&a.access_token), SUBMIT, input(extra.clone())).await;
        assert_eq!(error_code(&body), code, "{extra}: {body}");
        if !field.is_empty() {
            assert_error(&body, code, Some(field));
        }
    }
    // A firm cannot make offers; a provider cannot offer on a need it cannot see.
    let as_firm = app
        .gql(Some(&hr.access_token), SUBMIT, json!({ "input": { "needId": need, "providerId": firm, "offeringId": a_offering, "message": "x" } }))
        .await;
    assert_error(&as_firm, "BAD_USER_INPUT", Some("input.providerId"));
    let unknown = app
        .gql(Some(&a.access_token), SUBMIT, json!({ "input": { "needId": uuid::Uuid::now_v7().to_string(), "providerId": a_id, "offeringId": a_offering, "message": "x" } }))
        .await;
    assert_error(&unknown, "NOT_FOUND", None);
    let seen = app.gql_ok(Some(&hr.access_token), NEED_OFFERS, json!({ "id": need })).await;
    assert_eq!(seen["need"]["offers"], json!([]));

    // A withdrawn offer cannot be accepted; the need stays OPEN.
    let offer = submit(&app, &a, &need, &a_id, &a_offering).await;
    app.gql_ok(Some(&a.access_token), WITHDRAW, json!({ "id": offer })).await;
    assert_error(
        &app.gql(Some(&hr.access_token), ACCEPT, json!({ "id": offer })).await,
        "CONFLICT",
        Some("offerId"),
    );
    let seen = app.gql_ok(Some(&hr.access_token), NEED_OFFERS, json!({ "id": need })).await;
    assert_eq!(seen["need"]["status"], "OPEN");
    assert_eq!(seen["need"]["offers"][0]["status"], "WITHDRAWN");

    // A closed need takes no offers.
    let version = seen["need"]["version"].as_i64().expect("version");
    app.gql_ok(
        Some(&hr.access_token),
        "mutation($id: ID!, $v: Int!) { changeNeedStatus(id: $id, expectedVersion: $v, status: CLOSED) { status } }",
        json!({ "id": need, "v": version }),
    )
    .await;
    let closed = app.gql(Some(&a.access_token), SUBMIT, input(json!({ "offeringId": a_offering }))).await;
    assert!(matches!(error_code(&closed), "CONFLICT" | "NOT_FOUND"), "{closed}");
}

#[tokio::test]
async fn of_two_concurrent_accepts_exactly_one_succeeds() {
    let app = spawn_app().await;
    let (hr, firm) = firm_at(&app, "personal@optik.de", "Optik Jena GmbH", JENA).await;
    let colleague = app.register("kollegin@optik.de").await;
    app.add_member(&hr, &firm, &colleague, "ADMIN").await;
    for round in 0..3 {
        let (need, _) = open_need(&app, &hr, &firm, 3).await;
        let (a, a_id, a_offering) =
            provider_with_offering(&app, &format!("a{round}@bz.de"), &format!("BZ {round}")).await;
        let (b, b_id, b_offering) =
            provider_with_offering(&app, &format!("b{round}@ak.de"), &format!("Akademie {round}")).await;
        let offer_a = submit(&app, &a, &need, &a_id, &a_offering).await;
        let offer_b = submit(&app, &b, &need, &b_id, &b_offering).await;

        let (one, two) = tokio::join!(
            app.gql(Some(&hr.access_token), ACCEPT, json!({ "id": offer_a })),
            app.gql(Some(&colleague.access_token), ACCEPT, json!({ "id": offer_b })),
        );
        let outcomes = [&one, &two].map(|b| b.get("errors").is_none());
        assert_eq!(outcomes.iter().filter(|ok| **ok).count(), 1, "round {round}: {one} / {two}");
        let loser = if outcomes[0] { &two } else { &one };
        assert_eq!(error_code(loser), "CONFLICT", "{loser}");

        let after = app.gql_ok(Some(&hr.access_token), NEED_OFFERS, json!({ "id": need })).await;
        assert_eq!(after["need"]["status"], "IN_NEGOTIATION");
        let mut statuses: Vec<&str> = after["need"]["offers"]
            .as_array()
            .expect("offers")
            .iter()
            .filter_map(|o| o["status"].as_str())
            .collect();
        statuses.sort();
        assert_eq!(statuses, ["ACCEPTED", "DECLINED"]);
    }
}
