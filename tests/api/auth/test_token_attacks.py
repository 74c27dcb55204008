"""Forged, altered and misused tokens are all refused: 401 problem+json with a Bearer challenge."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI
from fastapi.testclient import TestClient
from jose import jwe, jwt

from recnet.auth import tokens
from recnet.auth.principal import Role
from recnet.db import Database
from recnet.services import clients
from tests.factories import bearer, client_for_role, get_token


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def segment(value: dict[str, Any]) -> str:
    return b64(json.dumps(value, separators=(",", ":")).encode())


class Forge:
    """Makes tokens for one real agency client, signed (or not) as each attack needs."""

    def __init__(self, app: FastAPI, database: Database, client: TestClient) -> None:
        self.credentials = client_for_role(database, Role.member_state)
        self.valid = get_token(client, self.credentials)
        self.claims = jwt.get_unverified_claims(self.valid)
        with database.transaction() as session:
            self.kid, self.private_pem = app.state.keyring.signing_key(session)
        private = serialization.load_pem_private_key(self.private_pem.encode(), password=None)
        public = private.public_key()
        self.public_pem = public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.public_der = public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def signed(self, **changes: Any) -> str:
        """A token signed with the real key, with claims changed (None removes a claim)."""
        claims = {**self.claims, **changes}
        claims = {k: v for k, v in claims.items() if v is not None}
        return tokens.encode(claims, self.kid, self.private_pem)

    def hmac_with(self, secret: bytes) -> str:
        header = segment({"alg": "HS256", "typ": "at+jwt", "kid": self.kid})
        payload = segment(self.claims)
        mac = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        return f"{header}.{payload}.{b64(mac)}"


@pytest.fixture
def forge(app: FastAPI, database: Database, client: TestClient) -> Forge:
    return Forge(app, database, client)


def unsigned(f: Forge) -> str:
    return f"{segment({'alg': 'none', 'typ': 'at+jwt', 'kid': f.kid})}.{segment(f.claims)}."


def tampered(f: Forge) -> str:
    header, _, signature = f.valid.split(".")
    return f"{header}.{segment({**f.claims, 'tenant': 'KAZ', 'org': 'KAZ'})}.{signature}"


def unknown_key(f: Forge) -> str:
    stranger = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return jwt.encode(
        f.claims, stranger.decode(), algorithm="ES256", headers={"kid": "not-ours", "typ": "at+jwt"}
    )


def other_key_same_kid(f: Forge) -> str:
    stranger = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return jwt.encode(
        f.claims, stranger.decode(), algorithm="ES256", headers={"kid": f.kid, "typ": "at+jwt"}
    )


def encrypted(f: Forge) -> str:
    token: bytes = jwe.encrypt(
        json.dumps(f.claims).encode(), b"k" * 32, algorithm="dir", encryption="A256GCM"
    )
    return token.decode()


def plain_jwt_type(f: Forge) -> str:
    return jwt.encode(f.claims, f.private_pem, algorithm="ES256", headers={"kid": f.kid})


ATTACKS: dict[str, Callable[[Forge], str]] = {
    "alg-none": unsigned,
    "hs256-with-public-pem": lambda f: f.hmac_with(f.public_pem),
    "hs256-with-public-der": lambda f: f.hmac_with(f.public_der),
    "expired": lambda f: f.signed(iat=f.claims["iat"] - 3600, exp=f.claims["iat"] - 60),
    "not-yet-valid": lambda f: f.signed(nbf=f.claims["iat"] + 600),
    "missing-exp": lambda f: f.signed(exp=None),
    "missing-aud": lambda f: f.signed(aud=None),
    "missing-iss": lambda f: f.signed(iss=None),
    "missing-sub": lambda f: f.signed(sub=None),
    "missing-jti": lambda f: f.signed(jti=None),
    "wrong-aud": lambda f: f.signed(aud="urn:someone-else"),
    "aud-list-with-ours": lambda f: f.signed(aud=["urn:someone-else", "urn:recnet:api"]),
    "wrong-iss": lambda f: f.signed(iss="https://issuer.invalid"),
    "unknown-kid": unknown_key,
    "foreign-key-our-kid": other_key_same_kid,
    "tampered-payload": tampered,
    "oversized": lambda f: f.signed(padding="x" * 5000),
    "jwe": encrypted,
    "not-an-access-token": plain_jwt_type,
    "garbage": lambda f: "not.a.token",
    "string-exp": lambda f: f.signed(exp=str(f.claims["exp"])),
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_attack_is_refused(client: TestClient, forge: Forge, attack: str) -> None:
    # The genuine token works, so a refusal below is the attack's doing.
    assert client.get("/v1/auth/me", headers=bearer(forge.valid)).status_code == 200
    token = ATTACKS[attack](forge)
    response = client.get("/v1/auth/me", headers=bearer(token))
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer")
    assert 'error="invalid_token"' in challenge
    # A bad token is refused on public routes too: never silently taken as anonymous.
    assert client.get("/v1/organisations", headers=bearer(token)).status_code == 401


def test_token_of_a_disabled_client_is_refused(
    client: TestClient, database: Database, forge: Forge
) -> None:
    with database.transaction() as session:
        clients.disable_client(session, forge.credentials.client_id)
    response = client.get("/v1/auth/me", headers=bearer(forge.valid))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


@pytest.mark.parametrize("header", ["Basic abc", "Bearer", "Token xyz", "Bearer  "])
def test_malformed_authorization_header_is_refused(client: TestClient, header: str) -> None:
    response = client.get("/v1/auth/me", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
