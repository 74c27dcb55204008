"""The client-credentials grant, token claims, JWKS, key rotation, client disabling and rotation."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from dataclasses import replace
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from jose import jwt
from sqlmodel import select

from recnet.app import create_app
from recnet.auth import keys
from recnet.auth.principal import Role
from recnet.auth.ratelimit import backoff_seconds
from recnet.clock import utcnow
from recnet.db import Database
from recnet.models import IdempotencyKey, SigningKey
from recnet.services import clients
from tests.conftest import make_settings, owner_database
from tests.factories import bearer, client_for_role, get_token

GRANT = "client_credentials"


def form(credentials, **extra: str) -> dict[str, str]:
    return {
        "grant_type": GRANT,
        "client_id": credentials.client_id,
        "client_secret": credentials.client_secret,
        **extra,
    }


def test_agency_gets_a_token_with_form_credentials(client: TestClient, database: Database) -> None:
    agency = client_for_role(database, Role.member_state)
    response = client.post("/v1/auth/token", data=form(agency))
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert set(body["scope"].split()) == set(agency.scopes)
    assert response.headers["cache-control"] == "no-store"

    header = jwt.get_unverified_header(body["access_token"])
    assert header["alg"] == "ES256"
    assert header["typ"] == "at+jwt"
    claims = jwt.get_unverified_claims(body["access_token"])
    assert claims["iss"] == "urn:recnet"
    assert claims["aud"] == "urn:recnet:api"
    assert claims["sub"] == agency.client_id
    assert claims["org"] == "UZB"
    assert claims["tenant"] == "UZB"
    assert claims["exp"] - claims["iat"] == 900
    assert claims["nbf"] == claims["iat"]
    assert len(claims["jti"]) == 32

    jwks = client.get("/v1/auth/jwks.json").json()["keys"]
    assert header["kid"] in {k["kid"] for k in jwks}
    assert all("d" not in k for k in jwks), "no private key material in the JWKS"


def test_http_basic_credentials_and_a_scope_subset(client: TestClient, database: Database) -> None:
    agency = client_for_role(database, Role.member_state)
    response = client.post(
        "/v1/auth/token",
        auth=(agency.client_id, agency.client_secret),
        data={"grant_type": GRANT, "scope": "practices:write"},
    )
    assert response.status_code == 200
    assert response.json()["scope"] == "practices:write"
    me = client.get("/v1/auth/me", headers=bearer(response.json()["access_token"])).json()
    assert me["scopes"] == ["practices:write"]
    assert me["tenant"] == "UZB"


def test_partner_token_has_no_tenant(client: TestClient, database: Database) -> None:
    token = get_token(client, client_for_role(database, Role.partner))
    claims = jwt.get_unverified_claims(token)
    assert "tenant" not in claims
    assert claims["org"] == "UNICEF"


@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
        ({"grant_type": ""}, 400, "invalid_request"),
        ({"scope": "admin"}, 400, "invalid_scope"),
        ({"scope": "practices:write telepathy"}, 400, "invalid_scope"),
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"client_id": "rc_unknown"}, 401, "invalid_client"),
    ],
)
def test_token_errors_follow_rfc6749(
    client: TestClient, database: Database, change: dict[str, str], status: int, error: str
) -> None:
    agency = client_for_role(database, Role.member_state)
    response = client.post("/v1/auth/token", data={**form(agency), **change})
    assert response.status_code == status
    body = response.json()
    assert body["error"] == error
    assert body["error_description"]
    assert body["request_id"]
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Basic")


def test_missing_credentials_is_invalid_request(client: TestClient) -> None:
    response = client.post("/v1/auth/token", data={"grant_type": GRANT})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_failed_token_requests_are_rate_limited(database: Database) -> None:
    agency = client_for_role(database, Role.member_state)
    # A day-long window, so the attempts cannot straddle a window boundary.
    settings = make_settings(
        database.settings.database_url,
        rate_token_failures=5,
        rate_token_failure_window_seconds=86400,
    )
    with TestClient(create_app(settings, database)) as client:
        for _ in range(5):
            wrong = client.post("/v1/auth/token", data=form(agency, client_secret="wrong"))
            assert wrong.status_code == 401
        blocked = client.post("/v1/auth/token", data=form(agency))
    assert blocked.status_code == 429, "even the right secret waits once the limit is reached"
    assert int(blocked.headers["retry-after"]) > 0
    assert blocked.headers["content-type"] == "application/problem+json"


def test_wrong_secrets_from_elsewhere_never_lock_an_agency_out(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """Anyone who knows a client id can send wrong secrets; only the address that sent them
    slows down, and the agency's own address still gets its token at once."""
    agency = client_for_role(database, Role.member_state)
    other = client_for_role(database, Role.partner)
    settings = make_settings(
        database.settings.database_url,
        rate_token_failures=3,
        rate_token_failure_window_seconds=86400,
    )
    app = create_app(settings, database)

    async def post(address: str, data: dict[str, str]) -> httpx.Response:
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://recnet") as http:
            return await http.post("/v1/auth/token", data=data)

    def token_request(address: str, data: dict[str, str]) -> httpx.Response:
        return asyncio.run(post(address, data))

    attacker, agency_office, bystander = "203.0.113.9", "198.51.100.7", "192.0.2.44"
    with caplog.at_level(logging.WARNING, logger="recnet.security"):
        statuses = [
            token_request(attacker, form(agency, client_secret=f"guess-{n}")).status_code
            for n in range(20)
        ]
    assert statuses[:3] == [401, 401, 401]
    assert set(statuses[3:]) == {429}, "the guessing address waits"
    assert any(r.getMessage() == "repeated failed token requests" for r in caplog.records)

    assert token_request(agency_office, form(agency)).status_code == 200
    assert token_request(bystander, form(other)).status_code == 200
    blocked = token_request(attacker, form(agency))
    assert blocked.status_code == 429, "an address that failed waits, even with the right secret"
    assert int(blocked.headers["retry-after"]) >= 1
    assert token_request(attacker, form(other)).status_code == 429, "counted per address too"


def test_the_wait_after_failures_grows_to_its_maximum() -> None:
    assert [backoff_seconds(n, free=3, cap=60) for n in range(10)] == [
        0,
        0,
        0,
        1,
        2,
        4,
        8,
        16,
        32,
        60,
    ]
    assert backoff_seconds(10_000, free=3, cap=300) == 300


def test_the_token_endpoint_never_keeps_or_replays_a_token(
    client: TestClient, database: Database, db_url: str
) -> None:
    """An Idempotency-Key on a token request is ignored: a retry gets a fresh token, and no
    access token is ever written to the idempotency table."""
    agency = client_for_role(database, Role.member_state)
    headers = {"Idempotency-Key": "token-1"}
    answers = [client.post("/v1/auth/token", data=form(agency), headers=headers) for _ in range(2)]
    assert [a.status_code for a in answers] == [200, 200]
    assert all(a.headers["cache-control"] == "no-store" for a in answers)
    assert all("idempotent-replayed" not in a.headers for a in answers)
    tokens = [a.json()["access_token"] for a in answers]
    assert tokens[0] != tokens[1]
    with owner_database(db_url).transaction(write=False) as session:
        assert session.exec(select(IdempotencyKey)).all() == []


def test_disabled_client_gets_no_token_and_its_tokens_stop(
    client: TestClient, database: Database
) -> None:
    agency = client_for_role(database, Role.member_state)
    token = get_token(client, agency)
    assert client.get("/v1/auth/me", headers=bearer(token)).status_code == 200
    with database.transaction() as session:
        clients.disable_client(session, agency.client_id)
    refused = client.get("/v1/auth/me", headers=bearer(token))
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]
    assert client.post("/v1/auth/token", data=form(agency)).json()["error"] == "invalid_client"


def test_rotated_secret_replaces_the_old_one(client: TestClient, database: Database) -> None:
    agency = client_for_role(database, Role.member_state)
    with database.transaction() as session:
        issued = clients.rotate_secret(session, agency.client_id)
    old = client.post("/v1/auth/token", data=form(agency))
    assert old.status_code == 401
    new = client.post("/v1/auth/token", data=form(agency, client_secret=issued.client_secret))
    assert new.status_code == 200


def test_rotating_a_secret_ends_the_tokens_issued_before_it(
    client: TestClient, database: Database
) -> None:
    """A rotation (a leaked secret, say) takes effect on the next request, not when the tokens
    issued with the old secret expire; tokens from the new secret work at once, in the same
    second too."""
    agency = client_for_role(database, Role.member_state)
    before = [get_token(client, agency) for _ in range(2)]
    assert client.get("/v1/auth/me", headers=bearer(before[0])).status_code == 200
    with database.transaction() as session:
        issued = clients.rotate_secret(session, agency.client_id)
    renewed = get_token(client, replace(agency, client_secret=issued.client_secret))
    for token in before:
        refused = client.get("/v1/auth/me", headers=bearer(token))
        assert refused.status_code == 401
        assert "client secret rotated" in refused.headers["www-authenticate"]
    assert client.get("/v1/auth/me", headers=bearer(renewed)).status_code == 200


def test_secret_is_stored_only_as_a_slow_salted_hash(database: Database) -> None:
    agency = client_for_role(database, Role.member_state)
    other = client_for_role(database, Role.member_state)
    with database.transaction() as session:
        stored = [
            clients.client_by_id(session, c.client_id)[0].secret_hash for c in (agency, other)
        ]
    assert all(h.startswith("scrypt$") for h in stored)
    assert agency.client_secret not in stored[0]
    assert stored[0].split("$")[4] != stored[1].split("$")[4], "each hash has its own salt"


def test_key_rotation_keeps_old_tokens_until_they_expire(
    app: FastAPI, client: TestClient, database: Database, db_url: str
) -> None:
    agency = client_for_role(database, Role.member_state)
    old_token = get_token(client, agency)
    old_kid = jwt.get_unverified_header(old_token)["kid"]
    with database.transaction() as session:
        new_kid = keys.rotate(session, database.settings).kid

    new_token = get_token(client, agency)
    assert jwt.get_unverified_header(new_token)["kid"] == new_kid
    published = {k["kid"] for k in client.get("/v1/auth/jwks.json").json()["keys"]}
    assert {old_kid, new_kid} <= published
    assert client.get("/v1/auth/me", headers=bearer(old_token)).status_code == 200

    # Once a token lifetime has passed since its retirement, the old key verifies nothing.
    past = utcnow() - timedelta(seconds=database.settings.token_ttl_seconds + 1)
    with owner_database(db_url).transaction() as session:
        key = session.exec(select(SigningKey).where(SigningKey.kid == old_kid)).one()
        key.retired_at = past
        session.add(key)
    with database.transaction() as session:
        app.state.keyring.refresh(session)  # as a process does every 30 s
    assert client.get("/v1/auth/me", headers=bearer(old_token)).status_code == 401
    assert old_kid not in {k["kid"] for k in client.get("/v1/auth/jwks.json").json()["keys"]}


_SIGN_AND_VERIFY = """
import sys
{prelude}
from cryptography.hazmat.primitives import serialization
from recnet.auth import keys, tokens
from recnet.config import Settings

settings = Settings(database_url="sqlite://")
key = keys.generate(settings)
private = serialization.load_pem_private_key(
    key.private_key.encode(), password=settings.secret_key.encode()
).private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()
claims = tokens.claims_for(settings, client_id="rc_x", org="UZB", tenant="UZB", scopes=[])
token = tokens.encode(claims, key.kid, private)
assert tokens.verify(token, settings, lambda kid: key.public_jwk).client_id == "rc_x"
assert sys.modules.get("ecdsa") is None, "ecdsa was imported"
print("signed and verified")
"""


def _run(prelude: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _SIGN_AND_VERIFY.format(prelude=prelude)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "RECNET_ENV": "dev"},
    )


@pytest.mark.slow
def test_tokens_are_signed_and_verified_without_the_ecdsa_package() -> None:
    """python-jose depends on the pure-Python ecdsa package (CVE-2024-23342, not constant-time);
    recnet signs and verifies through `cryptography` only: with ecdsa made unimportable, a
    token is still signed and verified, and ecdsa is never loaded."""
    for prelude in ("", 'sys.modules["ecdsa"] = None  # importing it raises ImportError'):
        run = _run(prelude)
        assert run.returncode == 0, run.stderr
        assert "signed and verified" in run.stdout


def test_recnet_refuses_to_run_on_python_joses_ecdsa_fallback() -> None:
    """Without jose's cryptography backend, python-jose would fall back to ecdsa silently;
    recnet refuses to import its token code rather than sign with it."""
    fallback = _run('sys.modules["jose.backends.cryptography_backend"] = None')
    assert fallback.returncode != 0
    assert "cryptography backend" in fallback.stderr
