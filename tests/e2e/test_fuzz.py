"""Schema-driven fuzzing: every operation of the committed OpenAPI document, as every caller.

Schemathesis generates requests from ``openapi/v1.json`` (valid ones, then invalid ones) and sends
them to the app in process, on each database backend. Each response must:

* never be a 5xx;
* use a status code, content type, headers and body the document declares for the operation;
* be ``application/problem+json`` whenever it is an error (4xx/5xx);
* refuse (401/403) a caller the route policy (``auth/policy.py``) does not admit: above all,
  no route that needs authentication answers an anonymous request with anything but 401.

A hand-written stateful chain then drives practices through their life (create → read → patch
with If-Match → withdraw → versions) from bodies Schemathesis generates.

The run is bounded for CI: a few examples per operation and caller, no deadline.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from recnet.app import create_app
from recnet.auth.policy import ROUTE_POLICY
from recnet.auth.principal import Role
from recnet.db import Database
from tests.conftest import make_settings
from tests.factories import bearer, client_for_role, get_token
from tests.paths import ROOT

SCHEMA_PATH = ROOT / "openapi" / "v1.json"
SCHEMA = schemathesis.openapi.from_path(str(SCHEMA_PATH))
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]
BASE_URL = "http://testserver"

# Bounded for CI: examples per operation and caller, and per generation mode.
POSITIVE_EXAMPLES = 3
NEGATIVE_EXAMPLES = 2
FUZZ_SETTINGS = settings(
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)

SCHEMA_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def fuzz_app(database: Database, db_url: str) -> FastAPI:
    """The app on the test database, with rate limits out of the fuzzer's way."""
    unlimited = make_settings(db_url, rate_anonymous=10**9, rate_client=10**9)
    return create_app(unlimited, database)


@pytest.fixture
def fuzz_client(fuzz_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(fuzz_app, raise_server_exceptions=False) as http:
        yield http


@pytest.fixture
def callers(fuzz_client: TestClient, database: Database) -> dict[Role, dict[str, str]]:
    headers: dict[Role, dict[str, str]] = {Role.anonymous: {}}
    for role in Role:
        if role is not Role.anonymous:
            headers[role] = bearer(get_token(fuzz_client, client_for_role(database, role)))
    return headers


def send(http: TestClient, case: Any, headers: dict[str, str]) -> Any:
    """Send a generated case through the app's own test client (lifespan and all)."""
    if isinstance(case.query, dict) and "wait" in case.query:
        case.query["wait"] = 0  # the change feed's long poll would only burn the time box
    kwargs = case.as_transport_kwargs(base_url=BASE_URL, headers=headers)
    request: dict[str, Any] = {
        "method": kwargs["method"],
        "url": kwargs["url"],
        "headers": {
            key: value
            for key, value in kwargs.get("headers", {}).items()
            if key.lower() not in {"connection", "accept-encoding"}
        },
        "params": kwargs.get("params") or None,
        "cookies": kwargs.get("cookies") or None,
    }
    if "json" in kwargs:
        request["content"] = json.dumps(kwargs["json"]).encode()
        request["headers"].setdefault("Content-Type", "application/json")
    elif "data" in kwargs:
        data = kwargs["data"]
        if isinstance(data, bytes | str):
            request["content"] = data
        else:
            request["data"] = data
    if "files" in kwargs:
        request["files"] = kwargs["files"]
    return http.request(**request)


def check_problem(response: Any, label: str) -> None:
    if response.status_code >= 400:
        content_type = response.headers.get("content-type", "")
        assert content_type.startswith("application/problem+json"), (
            f"{label}: {response.status_code} answered as {content_type!r}: {response.text[:300]}"
        )
        body = response.json()
        assert body.get("status") == response.status_code, f"{label}: {body}"


def check_policy(response: Any, role: Role, method: str, path: str, *, strict: bool) -> None:
    """A caller outside the policy is never served; with a valid request it is told why."""
    allowed = ROUTE_POLICY[(method, path)]
    if role in allowed:
        return
    label = f"{method} {path} as {role}"
    assert response.status_code >= 400, f"{label}: {response.status_code} {response.text[:300]}"
    if not strict:  # an invalid request may be refused for its form before its caller
        return
    if role is Role.anonymous:
        assert response.status_code == 401, f"{label}: {response.status_code} {response.text[:300]}"
    else:
        assert response.status_code in (401, 403), (
            f"{label}: {response.status_code} {response.text[:300]}"
        )


def test_every_operation_is_in_the_route_policy() -> None:
    documented = {(op.method.upper(), op.path) for op in OPERATIONS}
    assert documented == set(ROUTE_POLICY)


def _fuzz(
    http: TestClient,
    operation: Any,
    role: Role,
    headers: dict[str, str],
    mode: GenerationMode,
    examples: int,
) -> None:
    method, path = operation.method.upper(), operation.path
    failures: list[str] = []

    @settings(FUZZ_SETTINGS, max_examples=examples)
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        response = send(http, case, headers)
        label = f"{method} {path} as {role} ({mode.value})"
        check_problem(response, label)
        check_policy(response, role, method, path, strict=mode is GenerationMode.POSITIVE)
        if mode is GenerationMode.POSITIVE:
            case.validate_response(response, checks=SCHEMA_CHECKS)
        else:
            case.validate_response(response, checks=[not_a_server_error])

    try:
        run()
    except Unsatisfiable:  # nothing to negate: the operation takes no input
        return
    except Exception as error:  # report every caller's failure together
        failures.append(f"{role}/{mode.value}: {error}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: f"{op.method.upper()} {op.path}")
def test_fuzz_operation(
    fuzz_client: TestClient, callers: dict[Role, dict[str, str]], operation: Any
) -> None:
    errors: list[str] = []
    for role, headers in callers.items():
        for mode, examples in (
            (GenerationMode.POSITIVE, POSITIVE_EXAMPLES),
            (GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES),
        ):
            try:
                _fuzz(fuzz_client, operation, role, headers, mode, examples)
            except AssertionError as error:
                errors.append(str(error))
    assert not errors, "\n\n".join(errors)


# -- Stateful: a practice's life, from generated bodies ----------------------------------------

CREATE_PRACTICE = SCHEMA["/v1/practices"]["POST"]


def _practice_bodies() -> st.SearchStrategy[dict[str, Any]]:
    return CREATE_PRACTICE.as_strategy().map(lambda case: case.body)


def _patch_bodies() -> st.SearchStrategy[dict[str, Any]]:
    return SCHEMA["/v1/practices/{record_id}"]["PATCH"].as_strategy().map(lambda case: case.body)


def _ok(response: Any, expected: int, label: str) -> dict[str, Any]:
    assert response.status_code == expected, f"{label}: {response.status_code} {response.text}"
    body: dict[str, Any] = response.json()
    return body


def _validated(operation_key: tuple[str, str]) -> Callable[[Any, str], None]:
    """A response check against the document's schema for one operation."""
    path, method = operation_key
    operation = SCHEMA[path][method]

    def check(response: Any, record_id: str) -> None:
        case = operation.Case(path_parameters={"record_id": record_id})
        case.validate_response(
            response,
            checks=[
                status_code_conformance,
                content_type_conformance,
                response_schema_conformance,
            ],
        )

    return check


def test_practice_life_cycle_from_generated_bodies(
    fuzz_client: TestClient, callers: dict[Role, dict[str, str]]
) -> None:
    agency = callers[Role.member_state]
    validate_get = _validated(("/v1/practices/{record_id}", "GET"))
    validate_versions = _validated(("/v1/practices/{record_id}/versions", "GET"))
    created_ids: list[str] = []

    @settings(FUZZ_SETTINGS, max_examples=5)
    @given(body=_practice_bodies(), patch=_patch_bodies())
    def life(body: dict[str, Any], patch: dict[str, Any]) -> None:
        created = fuzz_client.post("/v1/practices", json=body, headers=agency)
        assert created.status_code < 500, created.text
        check_problem(created, "POST /v1/practices")
        if created.status_code != 201:
            # A generated body may name what does not exist (an organisation code, say).
            assert created.status_code in (404, 409, 422), created.text
            return
        record = created.json()
        record_id = record["id"]
        created_ids.append(record_id)
        etag = created.headers["etag"]

        read = fuzz_client.get(f"/v1/practices/{record_id}", headers=agency)
        _ok(read, 200, "GET")
        validate_get(read, record_id)
        assert read.headers["etag"] == etag

        # Without If-Match the update is refused (428), with a stale one 412.
        unconditional = fuzz_client.patch(f"/v1/practices/{record_id}", json=patch, headers=agency)
        assert unconditional.status_code == 428, unconditional.text
        check_problem(unconditional, "PATCH without If-Match")
        stale = fuzz_client.patch(
            f"/v1/practices/{record_id}",
            json=patch,
            headers={**agency, "If-Match": '"stale"'},
        )
        assert stale.status_code == 412, stale.text
        check_problem(stale, "PATCH stale")

        patched = fuzz_client.patch(
            f"/v1/practices/{record_id}", json=patch, headers={**agency, "If-Match": etag}
        )
        assert patched.status_code < 500, patched.text
        check_problem(patched, "PATCH")
        if patched.status_code == 200:
            assert patched.headers["etag"] != etag or not patch
            etag = patched.headers["etag"]

        withdrawn = fuzz_client.delete(
            f"/v1/practices/{record_id}", headers={**agency, "If-Match": etag}
        )
        assert withdrawn.status_code < 500, withdrawn.text
        check_problem(withdrawn, "DELETE")
        assert withdrawn.status_code == 200, withdrawn.text

        versions = fuzz_client.get(f"/v1/practices/{record_id}/versions", headers=agency)
        _ok(versions, 200, "versions")
        validate_versions(versions, record_id)

        after = fuzz_client.get(f"/v1/practices/{record_id}", headers=agency)
        assert after.status_code < 500, after.text
        check_problem(after, "GET after withdrawal")

    life()
    assert created_ids, "no generated practice was accepted: the chain never ran"
