"""Prepare the fuzzing account and argument dictionaries of `.ci/schemathesis` on a running server.

    python .ci/schemathesis_setup.py URL EMAIL PASSWORD CONFIG_FILE

EMAIL is an existing account that `create-admin` made a platform admin. With the demo marketplace
loaded, the owners of a few demo providers and firms add it as ADMIN, so fuzzed writes get past the
permission checks; it submits an offer so that the offer operations have one to act on. Then the
ids of real organizations, courses, offerings, needs, offers and users, with slugs, emails and skill
ids, go into CONFIG_FILE: a schemathesis.toml whose dictionaries replace matching arguments
(`courseId`, `input.needId`, `course(id:)`, ...) with real values most of the time, so that fuzzed
operations reach the rules and transactions behind the "not found" answers. Prints the access
token on stdout. Without demo data the dictionaries just hold less.
"""

from __future__ import annotations

import json
import sys
import urllib.request

DEMO_PASSWORD = "demo-passwort-2026"
MEMBER_ORGS_PER_KIND = 3
# How often a dictionary value replaces what schemathesis generated for a bound argument.
PROBABILITY = 0.8


def gql(url: str, query: str, variables: dict | None = None, token: str | None = None) -> dict:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=60) as response:
        payload = json.load(response)
    if payload.get("errors"):
        raise RuntimeError(f"{query.split('{')[0].strip() or 'query'}: {payload['errors']}")
    return payload["data"]


def login(url: str, email: str, password: str) -> str:
    data = gql(
        url,
        "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
        {"i": {"email": email, "password": password}},
    )
    return data["login"]["accessToken"]


def nodes(connection: dict) -> list[dict]:
    return [edge["node"] for edge in connection["edges"]]


def unique(values: list) -> list:
    seen: list = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen


def toml_string(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid TOML basic string


def main(url: str, email: str, password: str, config_file: str) -> int:
    orgs = sorted(
        nodes(gql(url, "{ organizations(first: 100) { edges { node { id kind slug } } } }")["organizations"]),
        key=lambda o: o["slug"],
    )
    members: list[dict] = []
    token = login(url, email, password)
    for kind in ("PROVIDER", "FIRM"):
        for org in [o for o in orgs if o["kind"] == kind][:MEMBER_ORGS_PER_KIND]:
            try:
                owner = login(url, f"{org['slug']}@demo.example", DEMO_PASSWORD)
                invitation = gql(
                    url,
                    "mutation($o: ID!, $e: String!) { inviteMember(organizationId: $o, email: $e, role: ADMIN) { id } }",
                    {"o": org["id"], "e": email},
                    owner,
                )["inviteMember"]
                gql(
                    url,
                    "mutation($id: ID!) { acceptInvitation(id: $id) { role } }",
                    {"id": invitation["id"]},
                    token,
                )
            except RuntimeError as exc:  # not a demo organization
                print(f"setup: skipping {org['slug']}: {exc}", file=sys.stderr)
                continue
            members.append(org)
    member_providers = [o for o in members if o["kind"] == "PROVIDER"]
    member_firms = [o for o in members if o["kind"] == "FIRM"]

    courses = sorted(
        nodes(
            gql(
                url,
                "{ courses(first: 100) { edges { node { id title provider { id } offerings { id startDate } } } } }",
                token=token,
            )["courses"]
        ),
        key=lambda c: c["title"],
    )
    needs = sorted(
        nodes(gql(url, "{ needs(first: 100) { edges { node { id title status visibility firm { id } } } } }", token=token)["needs"]),
        key=lambda n: n["title"],
    )

    # Offers from a provider the account administers on open needs, of its own firms first (so that
    # accepting and declining them is allowed), then of others.
    own_ids = {o["id"] for o in member_providers}
    own_firm_ids = {o["id"] for o in member_firms}
    own_offerings = [(c["provider"]["id"], o["id"]) for c in courses if c["provider"]["id"] in own_ids for o in c["offerings"]]
    open_needs = [n for n in needs if n["status"] == "OPEN"]
    open_needs = [n for n in open_needs if n["firm"]["id"] in own_firm_ids][:2] + [
        n for n in open_needs if n["firm"]["id"] not in own_firm_ids
    ][:2]
    for (provider, offering), need in zip(own_offerings, open_needs):
        try:
            gql(
                url,
                "mutation($i: SubmitOfferInput!) { submitOffer(input: $i) { id } }",
                {"i": {"needId": need["id"], "providerId": provider, "offeringId": offering, "message": "Angebot"}},
                token,
            )
        except RuntimeError as exc:
            print(f"setup: no offer: {exc}", file=sys.stderr)

    # A webhook endpoint and an API key for the delete/revoke operations (best effort: no webhook is
    # ever sent, the script starts the server without the alert worker).
    webhooks: list[str] = []
    api_keys: list[str] = []
    for org in members[:2]:
        try:
            created = gql(
                url,
                "mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) { endpoint { id } } }",
                {"i": {"organizationId": org["id"], "url": "https://hooks.example.de/bildungsmarkt", "eventTypes": ["OFFER_SUBMITTED"]}},
                token,
            )
            webhooks.append(created["createWebhookEndpoint"]["endpoint"]["id"])
        except RuntimeError as exc:
            print(f"setup: no webhook endpoint: {exc}", file=sys.stderr)
        try:
            created = gql(
                url,
                "mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { apiKey { id } } }",
                {"i": {"organizationId": org["id"], "name": "schemathesis", "scope": "READ"}},
                token,
            )
            api_keys.append(created["createApiKey"]["apiKey"]["id"])
        except RuntimeError as exc:  # a server without API keys
            print(f"setup: no API key: {exc}", file=sys.stderr)

    users: list[str] = []
    emails: list[str] = []
    offers: list[str] = []
    for org in members:
        detail = gql(
            url,
            "query($o: ID!) { organization(id: $o) { members { user { id email } } } }",
            {"o": org["id"]},
            token,
        )["organization"]
        for member in sorted(detail["members"] or [], key=lambda m: m["user"]["email"]):
            users.append(member["user"]["id"])
            if member["user"]["email"] != email:
                emails.append(member["user"]["email"])
        if org["kind"] == "PROVIDER":
            page = gql(
                url,
                "query($o: ID!) { providerOffers(organizationId: $o, first: 50) { edges { node { id createdAt } } } }",
                {"o": org["id"]},
                token,
            )["providerOffers"]
            offers += [o["id"] for o in sorted(nodes(page), key=lambda o: o["createdAt"])]
    skills = [s["id"] for s in nodes(gql(url, "{ skills(first: 60) { edges { node { id } } } }")["skills"])]
    categories = [c["id"] for c in gql(url, "{ skillCategories { id } }")["skillCategories"]]
    titles = unique([c["title"] for c in courses])

    def own_half(own: list[str], rest: list[str]) -> list[str]:
        """Own rows repeated until they are about half the entries (entries are drawn uniformly)."""
        rest = [value for value in rest if value not in own]
        if not own:
            return rest
        return own * max(1, len(rest) // len(own)) + rest

    own = {o["id"] for o in members}
    dictionaries: dict[str, list] = {
        "organizations": own_half([o["id"] for o in members], [o["id"] for o in orgs]),
        "providers": own_half([o["id"] for o in member_providers], [o["id"] for o in orgs if o["kind"] == "PROVIDER"]),
        "firms": own_half([o["id"] for o in member_firms], [o["id"] for o in orgs if o["kind"] == "FIRM"]),
        "slugs": [o["slug"] for o in orgs],
        "courses": own_half(
            [c["id"] for c in courses if c["provider"]["id"] in own_ids], [c["id"] for c in courses[:40]]
        ),
        "offerings": own_half([o for _, o in own_offerings], [o["id"] for c in courses[:40] for o in c["offerings"][:2]]),
        "needs": own_half([n["id"] for n in needs if n["firm"]["id"] in own], [n["id"] for n in needs]),
        "offers": unique(offers),
        "users": unique(users),
        "emails": unique(emails),
        "new_emails": [f"fuzz-{n}@ci.example" for n in range(100)],
        "skills": skills,
        "skill_categories": categories,
        "webhooks": webhooks,
        "api_keys": api_keys,
        "urls": ["https://hooks.example.de/bildungsmarkt", "https://partner.example.com/webhooks/1"],
        "versions": [0, 1, 2, 3, 4, 5],
        "page_sizes": [1, 2, 10, 100],
        "limits": [1, 8, 20],
        "search_words": ["Schweißen", "Schweisen", "Projektmanagment", "Pflege", "SPS", "Sicherheit", "Excel", "Führung"],
        "title_prefixes": unique([t[:n] for t in titles[:20] for n in (3, 8)]),
        "titles": titles[:20] or ["SPS-Programmierung mit TIA Portal"],
        "participants": [1, 3, 12, 1000],
    }
    # (dictionary, `<Type>.<field>.<argument path>`, probability); `*` is any type or field.
    bindings: list[tuple[str, str, float]] = [
        *[("organizations", key, PROBABILITY) for key in (
            "*.*.organizationId",
            "*.*.input.organizationId",
            "QueryRoot.organization.id",
            "MutationRoot.updateOrganization.id",
            "MutationRoot.setOrganizationVerified.id",
        )],
        *[("providers", key, PROBABILITY) for key in ("*.*.providerId", "*.*.input.providerId", "*.*.filter.providerId")],
        *[("firms", key, PROBABILITY) for key in ("*.*.firmId", "*.*.filter.firmId")],
        ("slugs", "QueryRoot.organization.slug", PROBABILITY),
        *[("courses", key, PROBABILITY) for key in (
            "*.*.courseId",
            "*.*.input.courseId",
            "QueryRoot.course.id",
            "MutationRoot.updateCourse.id",
            "MutationRoot.publishCourse.id",
            "MutationRoot.archiveCourse.id",
            "MutationRoot.unpublishCourse.id",
            "MutationRoot.deleteCourse.id",
        )],
        *[("offerings", key, PROBABILITY) for key in (
            "*.*.offeringId",
            "*.*.input.offeringId",
            "QueryRoot.offering.id",
            "MutationRoot.updateOffering.id",
            "MutationRoot.deleteOffering.id",
        )],
        *[("needs", key, PROBABILITY) for key in (
            "*.*.needId",
            "*.*.input.needId",
            "QueryRoot.need.id",
            "MutationRoot.updateNeed.id",
            "MutationRoot.changeNeedStatus.id",
            "MutationRoot.deleteNeed.id",
        )],
        ("offers", "*.*.offerId", PROBABILITY),
        ("offers", "QueryRoot.offer.id", PROBABILITY),
        ("users", "*.*.userId", PROBABILITY),
        ("emails", "MutationRoot.inviteMember.email", PROBABILITY),
        ("emails", "MutationRoot.login.input.email", PROBABILITY),
        ("new_emails", "MutationRoot.register.input.email", PROBABILITY),
        *[("skills", key, PROBABILITY) for key in (
            "QueryRoot.skill.id",
            "*.*.input.skillIds[*]",
            "*.*.input.skills[*].skillId",
            "*.*.filter.skillIds[*]",
            "*.*.filter.skills[*]",
        )],
        ("skill_categories", "MutationRoot.createSkill.input.category", PROBABILITY),
        ("skill_categories", "QueryRoot.skills.category", 0.5),
        ("webhooks", "MutationRoot.deleteWebhookEndpoint.id", PROBABILITY),
        ("webhooks", "*.*.endpointId", PROBABILITY),
        ("api_keys", "MutationRoot.revokeApiKey.id", PROBABILITY),
        ("urls", "MutationRoot.createWebhookEndpoint.input.url", PROBABILITY),
        ("versions", "*.*.expectedVersion", PROBABILITY),
        ("page_sizes", "*.*.first", 0.5),
        ("limits", "QueryRoot.suggestCourses.limit", 0.5),
        ("title_prefixes", "QueryRoot.suggestCourses.prefix", 0.5),
        ("search_words", "QueryRoot.searchCourses.query", 0.5),
        ("titles", "*.*.input.title", 0.5),
        ("participants", "*.*.participants", 0.5),
        ("participants", "*.*.input.participants", 0.5),
    ]
    lines = ["# Written by .ci/schemathesis_setup.py for one fuzzing run; see .ci/schemathesis.", ""]
    for name, values in dictionaries.items():
        if not values:
            continue
        rendered = ", ".join(str(v) if isinstance(v, int) else toml_string(v) for v in values)
        lines += [f"[dictionaries.{name}]", f"values = [{rendered}]", ""]
    lines.append("[parameters]")
    for name, key, probability in bindings:
        if dictionaries.get(name):
            lines.append(f"{toml_string(key)} = {{ dictionary = {toml_string(name)}, probability = {probability} }}")
    with open(config_file, "w", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")
    sizes = ", ".join(f"{name} {len(values)}" for name, values in dictionaries.items())
    print(f"setup: ADMIN of {len(members)} demo organizations; dictionaries: {sizes}", file=sys.stderr)
    print(token)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))
