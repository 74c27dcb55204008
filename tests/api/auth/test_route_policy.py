"""Every route × every role answers as the policy table says (generated, so no route is missed)."""

from __future__ import annotations

import re
import uuid

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from recnet.app import api_routes
from recnet.auth.policy import ROUTE_POLICY
from recnet.auth.principal import Role


def operations(app: FastAPI) -> list[tuple[str, str]]:
    return sorted(
        (method, route.path)
        for route in api_routes(app)
        for method in route.methods or ()
        if method != "HEAD"
    )


def test_every_route_is_in_the_policy_table(app: FastAPI) -> None:
    found = set(operations(app))
    assert found - set(ROUTE_POLICY) == set(), "routes missing from auth/policy.py"
    assert set(ROUTE_POLICY) - found == set(), "policy entries for routes that do not exist"


def test_every_route_answers_every_role_as_the_policy_says(
    app: FastAPI, client: TestClient, role_headers: dict[Role, dict[str, str]]
) -> None:
    mismatches = []
    for method, path in operations(app):
        url = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)
        for role in Role:
            response = client.request(method, url, headers=role_headers[role])
            assert response.status_code < 500, (method, path, role, response.text)
            refused = response.status_code in (401, 403)
            allowed = role in ROUTE_POLICY[(method, path)]
            if refused == allowed:
                mismatches.append((method, path, role.value, response.status_code))
            if refused:
                assert response.headers["content-type"] == "application/problem+json"
                assert "Bearer" in response.headers["www-authenticate"]
    assert mismatches == []


@pytest.mark.parametrize("role", [Role.researcher, Role.partner, Role.member_state])
def test_admin_routes_refuse_clients_without_admin(
    client: TestClient, role_headers: dict[Role, dict[str, str]], role: Role
) -> None:
    response = client.get("/v1/clients", headers=role_headers[role])
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]
