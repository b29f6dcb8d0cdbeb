"""Schemathesis hooks for `.ci/schemathesis`: teach it this API's GraphQL error codes.

Out of the box, schemathesis (4.x) counts a GraphQL error as a *client* error only when it carries a
code from a short list (BAD_USER_INPUT, GRAPHQL_VALIDATION_FAILED, ...); any other error with a `path`
(or with partial `data`) is reported by `not_a_server_error` as a server error. This API answers
ordinary refusals from its resolvers with their own codes (README, "every GraphQL error carries
extensions.code"): UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, CONFLICT, RATE_LIMITED. Random arguments
hit those all the time; they are the API working as documented, not server errors.

The rule installed here: a GraphQL response with errors is a client error when *every* error carries
one of the codes below. Anything else -- INTERNAL_SERVER_ERROR, SERVICE_UNAVAILABLE, an unknown code,
or an error without a code at all -- stays a server error, and an HTTP status >= 500 is always one.
"""

from __future__ import annotations

import datetime
from typing import Any

import schemathesis
from hypothesis import strategies as st
from schemathesis.graphql import nodes
from schemathesis.specs.graphql import schemas as _schemas
from schemathesis.specs.graphql import validation as _validation

# Refusals this API documents as the caller's doing (README: "every GraphQL error carries
# extensions.code").
EXPECTED_CODES = frozenset(
    {
        "BAD_USER_INPUT",
        "GRAPHQL_VALIDATION_FAILED",
        "UNAUTHENTICATED",
        "FORBIDDEN",
        "NOT_FOUND",
        "CONFLICT",
        "RATE_LIMITED",
    }
)


def _code(error: Any) -> str | None:
    if isinstance(error, dict) and isinstance(error.get("extensions"), dict):
        code = error["extensions"].get("code")
        if isinstance(code, str):
            return code
    return None


def is_client_error(payload: dict) -> bool:
    errors = payload.get("errors")
    if not errors or not isinstance(errors, list):
        return False
    return all(_code(error) in EXPECTED_CODES for error in errors)


# `validate_graphql_response` looks the name up in its module; `schemas` imported it by name.
_validation.is_client_error = is_client_error
_schemas.is_client_error = is_client_error


# `NaiveDate` (async-graphql's chrono::NaiveDate: "YYYY-MM-DD") is not one of schemathesis' built-in
# scalars; without a strategy no test case could be generated for an operation taking a date
# ("Scalar 'NaiveDate' is not supported"). Half the dates fall in the next few years, so that start,
# end and signup deadline sometimes fit together; the others are any date from year 1 to 9999, for
# the date arithmetic near the ends of the range.
_near_dates = st.dates(min_value=datetime.date(2026, 1, 1), max_value=datetime.date(2030, 12, 31))
schemathesis.graphql.scalar("NaiveDate", st.one_of(_near_dates, st.dates()).map(str).map(nodes.String))

# `Upload` (GraphQL multipart request) has no literal form: a file only arrives as a part of a
# multipart request, which the integration tests send (tests/api/imports.rs). In a JSON request any
# value in its place is refused as bad input; the fuzzer sends a string there and so checks that
# refusal instead of giving up on `importCatalogue`.
schemathesis.graphql.scalar("Upload", st.sampled_from(["file", ""]).map(nodes.String))
