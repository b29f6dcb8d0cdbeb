"""Summarise a schemathesis NDJSON report of `.ci/schemathesis`: what was sent and what came back.

    python .ci/schemathesis_summary.py target/schemathesis-report/ndjson-*.ndjson

Prints the requests per phase, HTTP statuses, GraphQL error codes, how many operations got at least
one answer without errors, and every request whose check failed with its body and response.
Informational only: the exit code of `.ci/schemathesis` comes from schemathesis itself.
"""

from __future__ import annotations

import base64
import collections
import json
import sys


def _decode(body: object) -> str:
    if isinstance(body, dict) and "$base64" in body:
        return base64.b64decode(body["$base64"]).decode("utf-8", "replace")
    if isinstance(body, dict) and "string" in body:
        return str(body["string"])
    return "" if body is None else str(body)


def _codes(payload: object) -> list[str]:
    if not isinstance(payload, dict) or not isinstance(payload.get("errors"), list):
        return []
    codes = []
    for error in payload["errors"]:
        extensions = error.get("extensions") if isinstance(error, dict) else None
        code = extensions.get("code") if isinstance(extensions, dict) else None
        codes.append(code if isinstance(code, str) else "<no code>")
    return codes


def _failure_title(check: dict) -> str:
    info = check.get("failure_info") or {}
    failure = info.get("failure") if isinstance(info, dict) else None
    if isinstance(failure, dict):
        return str(failure.get("title") or failure.get("message") or "")[:300]
    return ""


def main(path: str) -> int:
    phases: collections.Counter[str] = collections.Counter()
    statuses: collections.Counter[int] = collections.Counter()
    codes: collections.Counter[str] = collections.Counter()
    operations: set[str] = set()
    answered: set[str] = set()
    failures: list[tuple[str, str, str, str, int, str]] = []
    requests = 0
    with open(path, encoding="utf-8") as events:
        for line in events:
            event = json.loads(line)
            finished = event.get("ScenarioFinished")
            if not finished:
                continue
            recorder = finished["recorder"]
            label = recorder["label"]
            operations.add(label)
            failed = {
                case_id: check
                for case_id, checks in recorder.get("checks", {}).items()
                for check in checks
                if isinstance(check, dict) and check.get("status") == "failure"
            }
            for case_id, interaction in recorder.get("interactions", {}).items():
                response = interaction.get("response")
                requests += 1
                phases[finished.get("phase") or "?"] += 1
                if not response:
                    statuses[-1] += 1
                    continue
                statuses[response["status_code"]] += 1
                text = _decode(response.get("content"))
                try:
                    payload = json.loads(text)
                except ValueError:
                    payload = None
                found = _codes(payload)
                codes.update(found)
                if not found and isinstance(payload, dict) and payload.get("data") is not None:
                    answered.add(label)
                if case_id in failed:
                    check = failed[case_id]
                    failures.append(
                        (
                            label,
                            check.get("name", "?"),
                            _failure_title(check),
                            _decode(interaction["request"].get("body")),
                            response["status_code"],
                            text,
                        )
                    )
    print(f"operations: {len(operations)}, requests: {requests} ({dict(sorted(phases.items()))})")
    print(f"HTTP statuses: {dict(sorted(statuses.items()))}")
    print(f"GraphQL error codes: {dict(codes.most_common())}")
    print(f"operations with at least one error-free answer: {len(answered)}/{len(operations)}")
    for label, check, title, body, status, text in failures:
        print(f"\nFAILED {label} [{check}] {title}\n  request:  {body}\n  response: HTTP {status} {text[:2000]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
