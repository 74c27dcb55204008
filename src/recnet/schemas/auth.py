"""Wire shapes of authentication: token answers, key sets, the caller, clients."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from recnet.schemas.common import ReadModel


class TokenResponse(BaseModel):
    """An access token (RFC 6749 §5.1)."""

    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int = Field(description="Seconds until the token expires.")
    scope: str = Field(description="The granted scopes, space-separated.")


class JsonWebKey(BaseModel):
    kty: str
    crv: str
    x: str
    y: str
    alg: str
    use: str
    kid: str


class JsonWebKeySet(BaseModel):
    """The public keys that verify recnet's access tokens (current and recently rotated)."""

    keys: list[JsonWebKey]


class Caller(BaseModel):
    """Who the access token speaks for."""

    client_id: str
    organisation: str
    role: str
    tenant: str | None
    scopes: list[str]


class Client(ReadModel):
    """An API client, without its secret."""

    client_id: str
    organisation: str
    name: str
    scopes: list[str]
    created_at: datetime
    secret_rotated_at: datetime | None
    disabled: bool
