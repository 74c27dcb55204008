"""Authorization server metadata (RFC 8414) at ``/.well-known/oauth-authorization-server``.

Checked as a generic OAuth client would use it: the members RFC 8414 requires, in the forms it
requires, an issuer that is the one tokens carry, and every URL in it answering, including the
token endpoint with each client authentication method the document advertises.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from jose import jwt

from recnet.app import create_app
from recnet.auth.principal import Role
from recnet.auth.scopes import Scope
from recnet.db import Database
from tests.conftest import make_settings
from tests.factories import client_for_role

PATH = "/.well-known/oauth-authorization-server"
PUBLIC = "https://recnet.example.org"
# Client authentication methods registered for OAuth (RFC 7591 §2, RFC 8705, OpenID Connect).
REGISTERED_AUTH_METHODS = {
    "none",
    "client_secret_post",
    "client_secret_basic",
    "client_secret_jwt",
    "private_key_jwt",
    "tls_client_auth",
    "self_signed_tls_client_auth",
}


@pytest.fixture
def deployed(database: Database) -> Iterator[TestClient]:
    """The service as a deployment configures it: reached at an https URL, which is its issuer."""
    settings = make_settings(database.settings.database_url, public_url=PUBLIC, token_issuer=PUBLIC)
    with TestClient(create_app(settings, database), base_url=PUBLIC) as client:
        yield client


def test_metadata_has_every_member_rfc_8414_requires(deployed: TestClient) -> None:
    answer = deployed.get(PATH)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert "ratelimit-remaining" in answer.headers  # counted like the token endpoint
    metadata = answer.json()

    # §2: issuer, an https URL without query or fragment; §3.3: the one the document was
    # looked up under (the well-known string goes between host and path).
    issuer = urlsplit(metadata["issuer"])
    assert issuer.scheme == "https"
    assert not issuer.query
    assert not issuer.fragment
    assert f"{issuer.scheme}://{issuer.netloc}{PATH}{issuer.path.rstrip('/')}" == PUBLIC + PATH
    # §2: the token endpoint is required unless only the implicit grant is supported; there is
    # no authorization endpoint, since no grant here uses one.
    assert urlsplit(metadata["token_endpoint"]).scheme == "https"
    assert "authorization_endpoint" not in metadata
    # §2: response_types_supported is required; no grant here has a response type.
    assert metadata["response_types_supported"] == []
    assert metadata["grant_types_supported"] == ["client_credentials"]
    assert set(metadata["token_endpoint_auth_methods_supported"]) <= REGISTERED_AUTH_METHODS
    assert set(metadata["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "client_secret_post",
    }
    assert metadata["scopes_supported"] == [scope.value for scope in Scope]
    for member in ("jwks_uri", "service_documentation"):
        assert urlsplit(metadata[member]).scheme == "https", member


def test_every_url_in_the_metadata_answers(deployed: TestClient, database: Database) -> None:
    metadata = deployed.get(PATH).json()
    credentials = client_for_role(database, Role.partner)
    grant = {"grant_type": "client_credentials"}

    # The token endpoint, by each client authentication method the document names.
    by_basic = deployed.post(
        metadata["token_endpoint"],
        data=grant,
        auth=(credentials.client_id, credentials.client_secret),
    )
    assert by_basic.status_code == 200, by_basic.text
    by_post = deployed.post(
        metadata["token_endpoint"],
        data={
            **grant,
            "client_id": credentials.client_id,
            "client_secret": credentials.client_secret,
        },
    )
    assert by_post.status_code == 200, by_post.text

    keys = deployed.get(metadata["jwks_uri"])
    assert keys.status_code == 200
    assert keys.json()["keys"]

    docs = deployed.get(metadata["service_documentation"])
    assert docs.status_code == 200
    assert docs.headers["content-type"].startswith("text/html")

    # The token verifies with the published keys and names the published issuer.
    claims = jwt.decode(
        by_basic.json()["access_token"],
        keys.json(),
        algorithms=[key["alg"] for key in keys.json()["keys"]],
        audience=database.settings.token_audience,
        issuer=metadata["issuer"],
    )
    assert claims["iss"] == metadata["issuer"]


def test_metadata_links_never_follow_the_callers_host_header(client: TestClient) -> None:
    """Without a configured public URL the links are relative to the server's root, never built
    from the Host header a caller (or a poisoned cache) could choose."""
    answer = client.get(PATH, headers={"Host": "attacker.example"})
    assert answer.status_code == 200
    metadata = answer.json()
    assert "attacker" not in answer.text
    assert metadata["token_endpoint"] == "/v1/auth/token"
    assert metadata["jwks_uri"] == "/v1/auth/jwks.json"
    assert client.get(metadata["jwks_uri"]).status_code == 200
    # The issuer is always the one access tokens carry.
    assert metadata["issuer"] == client.app.state.settings.token_issuer  # type: ignore[attr-defined]
