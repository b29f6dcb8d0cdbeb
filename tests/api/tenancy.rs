//! Cross-tenant writes, table-driven from the schema's own mutation list: every mutation either has
//! an attempt on another organization's data here, or is named as not tenant-bound with the reason.
//! A new mutation without an entry fails this test until someone writes its attempt.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::catalog::{course_input, offering_input, provider};
use crate::helpers::{TestApp, error_code, spawn_app};
use crate::matching::{JENA, SPS_KOMPAKT, firm_at, open_need, publish};
use crate::offers::submit;

/// Mutations that act on no organization's data, and why.
const NOT_TENANT_BOUND: &[(&str, &str)] = &[
    ("register", "creates a new account"),
    ("login", "starts the caller's own session"),
    ("refreshToken", "rotates the caller's own refresh token"),
    ("logout", "revokes the caller's own refresh token"),
    ("createOrganization", "creates a new organization owned by the caller"),
];

/// Mutations that take a file: their attempt is a GraphQL multipart request.
const UPLOADS: &[&str] = &["importCatalogue"];

/// What the victim's tenant holds.
struct Victim {
    firm: String,
    firm_owner_id: String,
    joined_firm: String,
    other_firm: String,
    provider: String,
    course: String,
    offering: String,
    need: String,
    offer: String,
    endpoint: String,
    api_key: String,
    /// An open invitation of a colleague into the firm.
    invitation: String,
    /// The firm's own job profile, a staff record on it and that record's prior learning.
    profile: String,
    staff: String,
    prior_learning: String,
}

/// (query, variables) of an attempt on the victim's data, or `None` for a mutation without one.
fn attempt(name: &str, v: &Victim, attacker_email: &str) -> Option<(&'static str, Value)> {
    let case = match name {
        "updateOrganization" => (
            "mutation($id: ID!) { updateOrganization(id: $id, expectedVersion: 1, input: { name: \"Übernommen\" }) { id } }",
            json!({ "id": v.firm }),
        ),
        "inviteMember" => (
            "mutation($o: ID!, $e: String!) { inviteMember(organizationId: $o, email: $e, role: OWNER) { id } }",
            json!({ "o": v.firm, "e": attacker_email }),
        ),
        "revokeInvitation" => {
            ("mutation($id: ID!) { revokeInvitation(id: $id) { id } }", json!({ "id": v.invitation }))
        }
        // Addressed to the victim's colleague: the attacker cannot answer it in their place.
        "acceptInvitation" => {
            ("mutation($id: ID!) { acceptInvitation(id: $id) { id } }", json!({ "id": v.invitation }))
        }
        "declineInvitation" => {
            ("mutation($id: ID!) { declineInvitation(id: $id) { id } }", json!({ "id": v.invitation }))
        }
        "removeMember" => (
            "mutation($o: ID!, $u: ID!) { removeMember(organizationId: $o, userId: $u) { id } }",
            json!({ "o": v.firm, "u": v.firm_owner_id }),
        ),
        "changeMemberRole" => (
            "mutation($o: ID!, $u: ID!) { changeMemberRole(organizationId: $o, userId: $u, role: MEMBER) { id } }",
            json!({ "o": v.firm, "u": v.firm_owner_id }),
        ),
        // Platform admins only; any job id will do.
        "retryJob" => ("mutation { retryJob(id: \"1\") }", json!({})),
        "setOrganizationVerified" => (
            "mutation($id: ID!) { setOrganizationVerified(id: $id, verified: true) { id } }",
            json!({ "id": v.provider }),
        ),
        "createSkill" => (
            "mutation { createSkill(input: { category: \"automation\", label: \"Fremdkompetenz\" }) { id } }",
            json!({}),
        ),
        "createCourse" => (
            "mutation($p: ID!, $input: CourseInput!) { createCourse(providerId: $p, input: $input) { id } }",
            json!({ "p": v.provider, "input": course_input() }),
        ),
        "updateCourse" => (
            "mutation($id: ID!, $input: CourseInput!) { updateCourse(id: $id, expectedVersion: 2, input: $input) { id } }",
            json!({ "id": v.course, "input": course_input() }),
        ),
        "publishCourse" => (
            "mutation($id: ID!) { publishCourse(id: $id, expectedVersion: 2) { id } }",
            json!({ "id": v.course }),
        ),
        "archiveCourse" => (
            "mutation($id: ID!) { archiveCourse(id: $id, expectedVersion: 2) { id } }",
            json!({ "id": v.course }),
        ),
        "unpublishCourse" => (
            "mutation($id: ID!) { unpublishCourse(id: $id, expectedVersion: 2) { id } }",
            json!({ "id": v.course }),
        ),
        "deleteCourse" => ("mutation($id: ID!) { deleteCourse(id: $id) }", json!({ "id": v.course })),
        "addOffering" => (
            "mutation($c: ID!, $input: OfferingInput!) { addOffering(courseId: $c, input: $input) { id } }",
            json!({ "c": v.course, "input": offering_input("2027-09-01", "2027-12-01", "Gera") }),
        ),
        "updateOffering" => (
            "mutation($id: ID!, $input: OfferingInput!) { updateOffering(id: $id, expectedVersion: 1, input: $input) { id } }",
            json!({ "id": v.offering, "input": offering_input("2027-09-01", "2027-12-01", "Gera") }),
        ),
        "deleteOffering" => ("mutation($id: ID!) { deleteOffering(id: $id) }", json!({ "id": v.offering })),
        "createNeed" => (
            "mutation($f: ID!, $input: NeedInput!) { createNeed(firmId: $f, input: $input) { id } }",
            json!({ "f": v.firm, "input": crate::needs::need_input("PUBLIC") }),
        ),
        "updateNeed" => (
            "mutation($id: ID!) { updateNeed(id: $id, expectedVersion: 2, input: { title: \"Übernommen\" }) { id } }",
            json!({ "id": v.need }),
        ),
        "changeNeedStatus" => (
            "mutation($id: ID!) { changeNeedStatus(id: $id, expectedVersion: 2, status: CLOSED) { id } }",
            json!({ "id": v.need }),
        ),
        "deleteNeed" => ("mutation($id: ID!) { deleteNeed(id: $id) }", json!({ "id": v.need })),
        "joinNeed" => (
            "mutation($n: ID!, $o: ID!) { joinNeed(needId: $n, organizationId: $o, participants: 5) { id } }",
            json!({ "n": v.need, "o": v.other_firm }),
        ),
        "leaveNeed" => (
            "mutation($n: ID!, $o: ID!) { leaveNeed(needId: $n, organizationId: $o) { id } }",
            json!({ "n": v.need, "o": v.joined_firm }),
        ),
        "submitOffer" => (
            "mutation($n: ID!, $p: ID!, $o: ID!) { submitOffer(input: { needId: $n, providerId: $p, offeringId: $o, message: \"Fremdangebot\" }) { id } }",
            json!({ "n": v.need, "p": v.provider, "o": v.offering }),
        ),
        "acceptOffer" => {
            ("mutation($id: ID!) { acceptOffer(offerId: $id) { id } }", json!({ "id": v.offer }))
        }
        "declineOffer" => {
            ("mutation($id: ID!) { declineOffer(offerId: $id) { id } }", json!({ "id": v.offer }))
        }
        "withdrawOffer" => {
            ("mutation($id: ID!) { withdrawOffer(offerId: $id) { id } }", json!({ "id": v.offer }))
        }
        "createWebhookEndpoint" => (
            "mutation($o: ID!) { createWebhookEndpoint(input: { organizationId: $o, url: \"https://hooks.example.de/x\", eventTypes: [OFFER_SUBMITTED] }) { secret } }",
            json!({ "o": v.firm }),
        ),
        "deleteWebhookEndpoint" => {
            ("mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }", json!({ "id": v.endpoint }))
        }
        "createApiKey" => (
            "mutation($o: ID!) { createApiKey(input: { organizationId: $o, name: \"Fremd\", scope: ORGANIZATION }) { key } }",
            json!({ "o": v.firm }),
        ),
        "revokeApiKey" => ("mutation($id: ID!) { revokeApiKey(id: $id) { id } }", json!({ "id": v.api_key })),
        // Sent as a multipart request with a catalogue file (see `UPLOADS`).
        "importCatalogue" => (
            "mutation($input: ImportCatalogueInput!) { importCatalogue(input: $input) { id } }",
            json!({ "input": { "providerId": v.provider, "format": "OPENQCAT", "file": null } }),
        ),
        // A firm's own profile: the attacker cannot add to, change, copy or delete it.
        "createJobProfile" => (
            "mutation($o: ID!) { createJobProfile(organizationId: $o, input: { name: \"Fremdprofil\", jobFamily: \"Logistik\", skills: [{ skillId: \"automation/sps-programmierung\", targetLevel: 2 }] }) { id } }",
            json!({ "o": v.firm }),
        ),
        "updateJobProfile" => (
            "mutation($id: ID!) { updateJobProfile(id: $id, expectedVersion: 1, input: { name: \"Übernommen\" }) { id } }",
            json!({ "id": v.profile }),
        ),
        "copyJobProfile" => (
            "mutation($id: ID!, $f: ID!) { copyJobProfile(id: $id, firmId: $f) { id } }",
            json!({ "id": v.profile, "f": v.firm }),
        ),
        "deleteJobProfile" => {
            ("mutation($id: ID!) { deleteJobProfile(id: $id) }", json!({ "id": v.profile }))
        }
        // Staff data: only the firm's OWNER/ADMIN.
        "createStaffMember" => (
            "mutation($f: ID!) { createStaffMember(firmId: $f, input: { label: \"X-9\" }) { id } }",
            json!({ "f": v.firm }),
        ),
        "updateStaffMember" => (
            "mutation($id: ID!) { updateStaffMember(id: $id, expectedVersion: 3, input: { site: \"Anderswo\" }) { id } }",
            json!({ "id": v.staff }),
        ),
        "deleteStaffMember" => {
            ("mutation($id: ID!) { deleteStaffMember(id: $id) }", json!({ "id": v.staff }))
        }
        "recordAssessment" => (
            "mutation($s: ID!) { recordAssessment(staffId: $s, source: MANAGER, levels: [{ skillId: \"automation/sps-programmierung\", level: 4 }]) { id } }",
            json!({ "s": v.staff }),
        ),
        "addPriorLearning" => (
            "mutation($s: ID!) { addPriorLearning(staffId: $s, input: { kind: CERTIFICATE, title: \"Gefälscht\", skillIds: [\"automation/sps-programmierung\"], level: 4 }) { id } }",
            json!({ "s": v.staff }),
        ),
        "removePriorLearning" => {
            ("mutation($id: ID!) { removePriorLearning(id: $id) }", json!({ "id": v.prior_learning }))
        }
        "draftNeedFromGaps" => (
            "mutation($f: ID!) { draftNeedFromGaps(firmId: $f, gaps: [{ skillId: \"automation/sps-programmierung\" }]) { id } }",
            json!({ "f": v.firm }),
        ),
        _ => return None,
    };
    Some(case)
}

/// Everything the victim can see of its tenant, to compare before and after the attempts.
async fn snapshot(app: &TestApp, token: &str, v: &Victim) -> Value {
    app.gql_ok(
        Some(token),
        "query($f: ID!, $p: ID!, $c: ID!, $n: ID!, $o: ID!) {
            firm: organization(id: $f) { name version verified members { role user { id } } invitations { id status role } }
            provider: organization(id: $p) { name version verified }
            course(id: $c) { status version title offerings { id version startDate venue { city } } }
            need(id: $n) { title status version pooledParticipants participations { firm { id } participants } }
            offer(id: $o) { status }
            webhookEndpoints(organizationId: $f) { id }
            apiKeys(organizationId: $f) { id revokedAt }
            jobProfiles(organizationId: $f) { id name version skills { skillId targetLevel } }
            staffMembers(firmId: $f) { id label site version assessments { skillId source level } priorLearning { id title } }
            needs(filter: { firmId: $f }) { edges { node { id } } }
        }",
        json!({ "f": v.firm, "p": v.provider, "c": v.course, "n": v.need, "o": v.offer }),
    )
    .await
}

#[tokio::test]
async fn no_mutation_writes_into_another_tenant() {
    let app = spawn_app().await;
    // The victim: a firm with an open pooled need, a webhook and an API key; a second firm pooled in;
    // a third firm; a provider with a published course that made an offer on the need.
    let (owner, firm) = firm_at(&app, "hr@optik.de", "Optik Jena GmbH", JENA).await;
    let (need, _) = open_need(&app, &owner, &firm, 3).await;
    let (joiner, joined_firm) = firm_at(&app, "hr@glas.de", "Glaswerk Jena", JENA).await;
    app.gql_ok(
        Some(&joiner.access_token),
        "mutation($n: ID!, $o: ID!) { joinNeed(needId: $n, organizationId: $o, participants: 2) { id } }",
        json!({ "n": need, "o": joined_firm }),
    )
    .await;
    let (_, other_firm) = firm_at(&app, "hr@feinmechanik.de", "Feinmechanik Jena", JENA).await;
    let (trainer, provider_id) = provider(&app, "kurse@bz.de", "BZ Jena").await;
    let course = publish(&app, &trainer, &provider_id, &SPS_KOMPAKT).await;
    let data = app
        .gql_ok(None, "query($id: ID!) { course(id: $id) { offerings { id } } }", json!({ "id": course }))
        .await;
    let offering = data["course"]["offerings"][0]["id"].as_str().expect("offering").to_owned();
    let offer = submit(&app, &trainer, &need, &provider_id, &offering).await;
    let endpoint = app
        .gql_ok(
            Some(&owner.access_token),
            "mutation($o: ID!) { createWebhookEndpoint(input: { organizationId: $o, url: \"https://hooks.example.de/bm\", eventTypes: [OFFER_SUBMITTED] }) { endpoint { id } } }",
            json!({ "o": firm }),
        )
        .await["createWebhookEndpoint"]["endpoint"]["id"]
        .as_str()
        .expect("endpoint")
        .to_owned();
    let api_key = app
        .gql_ok(
            Some(&owner.access_token),
            "mutation($o: ID!) { createApiKey(input: { organizationId: $o, name: \"Portal\", scope: ORGANIZATION }) { apiKey { id } } }",
            json!({ "o": firm }),
        )
        .await["createApiKey"]["apiKey"]["id"]
        .as_str()
        .expect("key")
        .to_owned();
    let invitation = app
        .gql_ok(
            Some(&owner.access_token),
            "mutation($o: ID!) { inviteMember(organizationId: $o, email: \"kollegin@optik.de\", role: ADMIN) { id } }",
            json!({ "o": firm }),
        )
        .await["inviteMember"]["id"]
        .as_str()
        .expect("invitation")
        .to_owned();
    let profile = app
        .gql_ok(
            Some(&owner.access_token),
            "mutation($o: ID!) { createJobProfile(organizationId: $o, input: { name: \"Instandhaltung Jena\", jobFamily: \"Metall, Elektro und Mechatronik\",
                skills: [{ skillId: \"automation/sps-programmierung\", targetLevel: 3, required: true }] }) { id } }",
            json!({ "o": firm }),
        )
        .await["createJobProfile"]["id"]
        .as_str()
        .expect("profile")
        .to_owned();
    let staff = app
        .gql_ok(
            Some(&owner.access_token),
            "mutation($f: ID!, $p: ID!) { createStaffMember(firmId: $f, input: { label: \"MA-1\", profileId: $p, site: \"Jena\" }) { id } }",
            json!({ "f": firm, "p": profile }),
        )
        .await["createStaffMember"]["id"]
        .as_str()
        .expect("staff")
        .to_owned();
    app.gql_ok(
        Some(&owner.access_token),
        "mutation($s: ID!) { recordAssessment(staffId: $s, source: SELF_ASSESSMENT, levels: [{ skillId: \"automation/sps-programmierung\", level: 1 }]) { id } }",
        json!({ "s": staff }),
    )
    .await;
    let prior_learning = app
        .gql_ok(
            Some(&owner.access_token),
            "mutation($s: ID!) { addPriorLearning(staffId: $s, input: { kind: COURSE, title: \"SPS-Einführung\", skillIds: [\"automation/sps-programmierung\"], level: 1 }) { id } }",
            json!({ "s": staff }),
        )
        .await["addPriorLearning"]["id"]
        .as_str()
        .expect("prior learning")
        .to_owned();
    let victim = Victim {
        firm,
        firm_owner_id: owner.id.clone(),
        joined_firm,
        other_firm,
        provider: provider_id,
        course,
        offering,
        need,
        offer,
        endpoint,
        api_key,
        invitation,
        profile,
        staff,
        prior_learning,
    };
    let before_firm = snapshot(&app, &owner.access_token, &victim).await;
    let before_provider = app
        .gql_ok(
            Some(&trainer.access_token),
            "query($p: ID!) { providerOffers(organizationId: $p) { edges { node { id status } } }
                courses(filter: { providerId: $p, statuses: [DRAFT, PUBLISHED, ARCHIVED] }, first: 100) { edges { node { id } } }
                importRuns(providerId: $p) { edges { node { id } } } }",
            json!({ "p": victim.provider }),
        )
        .await;

    // The attacker has organizations of both kinds of its own, so only tenancy stands in the way.
    let attacker = app.register("angreifer@example.de").await;
    app.create_organization(&attacker, "FIRM", "Angreifer GmbH").await;
    app.create_organization(&attacker, "PROVIDER", "Angreifer Akademie").await;

    let schema = app.gql_ok(None, "{ __schema { mutationType { fields { name } } } }", json!({})).await;
    let mutations: BTreeSet<String> = schema["__schema"]["mutationType"]["fields"]
        .as_array()
        .expect("mutations")
        .iter()
        .map(|f| f["name"].as_str().expect("name").to_owned())
        .collect();
    assert!(mutations.len() > 30, "{mutations:?}");
    let mut missing = Vec::new();
    for name in &mutations {
        if NOT_TENANT_BOUND.iter().any(|(n, _)| n == name) {
            continue;
        }
        let Some((query, variables)) = attempt(name, &victim, &attacker.email) else {
            missing.push(name.clone());
            continue;
        };
        let body = if UPLOADS.contains(&name.as_str()) {
            let file = crate::imports::fixture("openqcat/full.xml");
            let (status, body) = app
                .upload(
                    Some(&attacker.access_token),
                    query,
                    variables,
                    "variables.input.file",
                    "full.xml",
                    &file,
                )
                .await;
            assert!(status < 500, "{name}: {body}");
            body
        } else {
            app.gql(Some(&attacker.access_token), query, variables).await
        };
        let code = error_code(&body);
        assert!(
            matches!(code, "FORBIDDEN" | "NOT_FOUND"),
            "{name}: another tenant's write must be FORBIDDEN or NOT_FOUND, got {body}"
        );
        assert!(body["data"].is_null(), "{name}: {body}");
    }
    assert!(missing.is_empty(), "mutations without a cross-tenant case: {missing:?}");

    assert_eq!(snapshot(&app, &owner.access_token, &victim).await, before_firm);
    let after_provider = app
        .gql_ok(
            Some(&trainer.access_token),
            "query($p: ID!) { providerOffers(organizationId: $p) { edges { node { id status } } }
                courses(filter: { providerId: $p, statuses: [DRAFT, PUBLISHED, ARCHIVED] }, first: 100) { edges { node { id } } }
                importRuns(providerId: $p) { edges { node { id } } } }",
            json!({ "p": victim.provider }),
        )
        .await;
    assert_eq!(after_provider, before_provider);
}
