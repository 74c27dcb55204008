"""The OpenAPI document says who may call each operation, and the routes answer as it says.

Generated over every operation: a code generator or Swagger UI that trusts the document sends a
token where one is read, with the scopes listed, and gets no 401 or 403 for it; a token lacking any
listed scope is refused; an operation marked open to anonymous callers answers them.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from recnet.app import api_routes
from recnet.auth.policy import ROUTE_POLICY
from recnet.auth.principal import Role
from recnet.auth.scopes import ALLOWED, Scope
from recnet.db import Database
from recnet.schemas.vocabularies import OrganisationKind
from tests.factories import ORGANISATION_FOR, bearer, get_token, make_client

SCHEME = "oauth2"


def _operations(app: FastAPI) -> list[tuple[str, str, dict[str, Any]]]:
    paths = app.openapi()["paths"]
    found = []
    for route in api_routes(app):
        for method in sorted(route.methods or ()):
            if method != "HEAD":
                found.append((method, route.path, paths[route.path][method.lower()]))
    return found


def _url(path: str) -> str:
    return re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)


def _documented(operation: dict[str, Any]) -> tuple[list[str], bool] | None:
    """The scopes an operation lists and whether it is open to anonymous callers too; None when
    it documents no security."""
    security: list[dict[str, list[str]]] | None = operation.get("security")
    if security is None:
        return None
    tokens = [requirement for requirement in security if requirement]
    assert len(tokens) == 1, security
    assert set(tokens[0]) == {SCHEME}, security
    return tokens[0][SCHEME], {} in security


def test_the_document_names_the_client_credentials_flow_and_every_scope(
    app: FastAPI, client: TestClient
) -> None:
    scheme = client.get("/v1/openapi.json").json()["components"]["securitySchemes"][SCHEME]
    assert scheme["type"] == "oauth2"
    assert set(scheme["flows"]) == {"clientCredentials"}
    flow = scheme["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == "/v1/auth/token"
    assert ("POST", flow["tokenUrl"]) in {(m, p) for m, p, _ in _operations(app)}
    assert set(flow["scopes"]) == {scope.value for scope in Scope}
    assert all(len(text) > 10 for text in flow["scopes"].values()), flow["scopes"]


def test_anonymous_access_is_documented_as_the_policy_table_has_it(app: FastAPI) -> None:
    wrong = []
    seen = set()
    for method, path, operation in _operations(app):
        documented = _documented(operation)
        if documented is None:
            continue
        _, optional = documented
        seen.add(optional)
        if optional != (Role.anonymous in ROUTE_POLICY[(method, path)]):
            wrong.append((method, path, operation["security"]))
    assert wrong == []
    assert seen == {True, False}  # both kinds are documented


def test_an_operation_documents_security_exactly_when_it_reads_the_bearer_token(
    app: FastAPI, client: TestClient
) -> None:
    """A token that is not one is refused (401) where the document lists security, and is never
    looked at where it does not."""
    garbage = {"Authorization": "Bearer not-a-token"}
    token_url = "/v1/auth/token"
    wrong = []
    for method, path, operation in _operations(app):
        if path == token_url:  # reads client credentials, not a bearer token
            assert "security" not in operation
            continue
        status = client.request(method, _url(path), headers=garbage).status_code
        if (status == 401) != (_documented(operation) is not None):
            wrong.append((method, path, status, operation.get("security")))
    assert wrong == []


def test_the_listed_scopes_are_enough_and_each_is_needed(
    app: FastAPI, client: TestClient, database: Database
) -> None:
    """For every role the policy lets in: a client holding its kind's scopes but one listed is
    refused 403, and one holding exactly the listed scopes is let in (no 401 or 403)."""
    headers: dict[tuple[Role, frozenset[str]], dict[str, str]] = {}

    def token_with(role: Role, scopes: frozenset[str]) -> dict[str, str]:
        if (role, scopes) not in headers:
            kind = OrganisationKind(role.value)
            credentials = make_client(
                database, ORGANISATION_FOR[role], kind=kind, scopes=sorted(scopes)
            )
            headers[(role, scopes)] = bearer(get_token(client, credentials))
        return headers[(role, scopes)]

    wrong = []
    checked = 0
    for method, path, operation in _operations(app):
        documented = _documented(operation)
        if documented is None:
            continue
        listed = frozenset(documented[0])
        for role in ROUTE_POLICY[(method, path)] - {Role.anonymous}:
            held = frozenset(s.value for s in ALLOWED[OrganisationKind(role.value)])
            assert listed <= held, (method, path, role, "lists a scope the role cannot hold")
            url = _url(path)
            enough = client.request(method, url, headers=token_with(role, listed))
            if enough.status_code in (401, 403):
                wrong.append((method, path, role.value, sorted(listed), enough.status_code))
            for scope in listed:
                short = client.request(method, url, headers=token_with(role, held - {scope}))
                checked += 1
                if short.status_code != 403:
                    wrong.append((method, path, role.value, f"without {scope}", short.status_code))
    assert wrong == []
    assert checked >= 20  # the scoped routes were reached, not skipped
