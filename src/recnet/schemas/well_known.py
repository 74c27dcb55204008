"""Wire shape of the authorization server metadata (RFC 8414), served at its well-known path."""

from __future__ import annotations

from pydantic import BaseModel, Field


class AuthorizationServerMetadata(BaseModel):
    """How a client gets a token here: where to ask, how to authenticate, which scopes exist."""

    issuer: str = Field(description="The issuer identifier: the `iss` of every access token.")
    token_endpoint: str
    jwks_uri: str = Field(description="The public keys that verify the access tokens.")
    grant_types_supported: list[str]
    token_endpoint_auth_methods_supported: list[str]
    scopes_supported: list[str]
    # RFC 8414 §2 requires the member; there is no authorization endpoint, so no response type.
    response_types_supported: list[str]
    service_documentation: str = Field(description="The API documentation for people.")
