"""Access tokens: issued as ES256 JWTs, verified in this one place, strictly.

python-jose is lenient by default: it takes the algorithm from the token unless given a list, and
accepts a token without ``aud`` even when an audience is passed. So verification here fixes the one
algorithm, requires every claim, checks ``typ``, ``aud`` and ``iss`` itself as well, caps the token
size, and refuses anything that is not a compact JWS (a JWE has five parts, not three).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jose import backends, jwt
from jose.exceptions import ExpiredSignatureError, JOSEError

from recnet.auth.keys import ALGORITHM
from recnet.clock import utcnow
from recnet.config import Settings

# python-jose signs and verifies EC keys with `cryptography` when it imports, and otherwise
# falls back, silently, to the pure-Python `ecdsa` package (not constant-time: CVE-2024-23342).
# Refuse to run on the fallback rather than sign with it.
if backends.ECKey.__module__ != "jose.backends.cryptography_backend":
    raise RuntimeError(
        "python-jose is not using the cryptography backend for EC keys; install "
        "python-jose[cryptography] (recnet never signs or verifies with the ecdsa package)"
    )

TOKEN_TYPE = "at+jwt"
MAX_TOKEN_BYTES = 4096
REQUIRED_CLAIMS = ("iss", "aud", "sub", "org", "scope", "iat", "nbf", "exp", "jti")


class TokenError(Exception):
    """The token is not acceptable; the message says why, for the WWW-Authenticate header."""


@dataclass(frozen=True)
class Claims:
    client_id: str
    org: str
    tenant: str | None
    scopes: frozenset[str]
    jti: str
    expires_at: int
    issued_at: int
    # The client's credential version when the token was issued (None: a token from before
    # versions were written into tokens).
    credential_version: int | None = None


def credential_version(secret_rotated_at: datetime | None) -> int:
    """A client's credential version: when its secret was last rotated, in microseconds since
    the epoch (0: never). Tokens carry it, so a rotation ends every token issued before it."""
    if secret_rotated_at is None:
        return 0
    return round(secret_rotated_at.timestamp() * 1_000_000)


def encode(claims: dict[str, Any], kid: str, private_pem: str) -> str:
    headers = {"kid": kid, "typ": TOKEN_TYPE}
    token: str = jwt.encode(claims, private_pem, algorithm=ALGORITHM, headers=headers)
    return token


def claims_for(
    settings: Settings,
    *,
    client_id: str,
    org: str,
    tenant: str | None,
    scopes: Sequence[str],
    version: int = 0,
) -> dict[str, Any]:
    now = int(utcnow().timestamp())
    claims: dict[str, Any] = {
        "iss": settings.token_issuer,
        "aud": settings.token_audience,
        "sub": client_id,
        "org": org,
        "scope": " ".join(sorted(scopes)),
        "iat": now,
        "nbf": now,
        "exp": now + settings.token_ttl_seconds,
        "jti": uuid.uuid4().hex,
        "cv": version,
    }
    if tenant is not None:
        claims["tenant"] = tenant
    return claims


def verify(
    token: str, settings: Settings, key_for: Callable[[str], dict[str, str] | None]
) -> Claims:
    """The claims of a valid token, or TokenError. ``key_for(kid)`` gives a verification JWK."""
    if len(token) > MAX_TOKEN_BYTES:
        raise TokenError("token too large")
    if token.count(".") != 2:
        raise TokenError("not a signed JWT")
    try:
        header = jwt.get_unverified_header(token)
    except JOSEError:
        raise TokenError("malformed token") from None
    if header.get("alg") != ALGORITHM:
        raise TokenError("unacceptable algorithm")
    if header.get("typ") != TOKEN_TYPE:
        raise TokenError("not an access token")
    kid = header.get("kid")
    if not isinstance(kid, str):
        raise TokenError("no key id")
    key = key_for(kid)
    if key is None:
        raise TokenError("unknown or retired signing key")
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=settings.token_audience,
            issuer=settings.token_issuer,
            options={
                "verify_signature": True,
                "verify_aud": True,
                "verify_iss": True,
                "verify_exp": True,
                "verify_nbf": True,
                "verify_iat": True,
                "verify_sub": True,
                "verify_jti": True,
                "require_aud": True,
                "require_iss": True,
                "require_exp": True,
                "require_nbf": True,
                "require_iat": True,
                "require_sub": True,
                "require_jti": True,
                "leeway": 0,
            },
        )
    except ExpiredSignatureError:
        raise TokenError("token expired") from None
    except JOSEError as exc:
        raise TokenError(_describe(exc)) from None
    return _checked(claims, settings)


def _describe(exc: JOSEError) -> str:
    text = str(exc).lower()
    for fragment, description in (
        ("not yet valid", "token not yet valid"),
        ("audience", "wrong audience"),
        ("issuer", "wrong issuer"),
        ("signature", "invalid signature"),
    ):
        if fragment in text:
            return description
    return "invalid token"


def _checked(claims: dict[str, Any], settings: Settings) -> Claims:
    """Check again, independently of the library, that every claim is present and right."""
    missing = [name for name in REQUIRED_CLAIMS if name not in claims]
    if missing:
        raise TokenError(f"missing claim {missing[0]}")
    if claims["aud"] != settings.token_audience:
        raise TokenError("wrong audience")
    if claims["iss"] != settings.token_issuer:
        raise TokenError("wrong issuer")
    now = int(utcnow().timestamp())
    for name in ("iat", "nbf", "exp"):
        if not isinstance(claims[name], int):
            raise TokenError(f"malformed claim {name}")
    if claims["exp"] <= now:
        raise TokenError("token expired")
    if claims["nbf"] > now:
        raise TokenError("token not yet valid")
    for name in ("sub", "org", "scope", "jti"):
        if not isinstance(claims[name], str):
            raise TokenError(f"malformed claim {name}")
    tenant = claims.get("tenant")
    if tenant is not None and not isinstance(tenant, str):
        raise TokenError("malformed claim tenant")
    version = claims.get("cv")
    if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
        raise TokenError("malformed claim cv")
    return Claims(
        client_id=claims["sub"],
        org=claims["org"],
        tenant=tenant,
        scopes=frozenset(claims["scope"].split()),
        jti=claims["jti"],
        expires_at=claims["exp"],
        issued_at=claims["iat"],
        credential_version=version,
    )
