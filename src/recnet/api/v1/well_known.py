"""The authorization server's metadata (RFC 8414) at ``/.well-known/oauth-authorization-server``.

Served at the root, where RFC 8414 clients look for it, beside the API rather than in it: like the
documentation pages it is not a ``/v1`` operation and is not in the OpenAPI document. Its links
start with the configured public URL (``RECNET_PUBLIC_URL``), never the request's Host header;
without one they are relative to the server's root. The issuer is the one access tokens carry
(``RECNET_TOKEN_ISSUER``): a deployment sets both to its public https URL.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from recnet.api.deps import TOKEN_PATH, rate_limit_by_address
from recnet.api.http import public_base
from recnet.auth.scopes import Scope
from recnet.config import Settings
from recnet.schemas.well_known import AuthorizationServerMetadata

METADATA_PATH = "/.well-known/oauth-authorization-server"
JWKS_PATH = "/v1/auth/jwks.json"
DOCS_PATH = "/docs"


def metadata_for(settings: Settings, base: str) -> AuthorizationServerMetadata:
    """How to get an access token: the token endpoint, its client authentication, the scopes."""
    return AuthorizationServerMetadata(
        issuer=settings.token_issuer,
        token_endpoint=base + TOKEN_PATH,
        jwks_uri=base + JWKS_PATH,
        grant_types_supported=["client_credentials"],
        # The token endpoint reads HTTP Basic or the client_id/client_secret form fields.
        token_endpoint_auth_methods_supported=["client_secret_basic", "client_secret_post"],
        scopes_supported=[scope.value for scope in Scope],
        response_types_supported=[],
        service_documentation=base + DOCS_PATH,
    )


# Sync: counting the request may ask Redis, which must not block the event loop.
def get_authorization_server_metadata(request: Request) -> Response:
    metadata = metadata_for(request.app.state.settings, public_base(request))
    response = Response(
        metadata.model_dump_json(),
        media_type="application/json",
        headers={"Cache-Control": "public, max-age=300"},
    )
    # Counted by address, as the token endpoint and the public keys are: 429 past the limit.
    rate_limit_by_address(request, response)
    return response


def install_well_known(app: FastAPI) -> None:
    app.add_route(
        METADATA_PATH, get_authorization_server_metadata, methods=["GET"], include_in_schema=False
    )
