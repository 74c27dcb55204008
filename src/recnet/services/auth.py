"""The OAuth 2.0 client-credentials grant (RFC 6749 §4.4) and its failure limits."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from sqlmodel import Session

from recnet.auth import scopes as scope_rules
from recnet.auth import tokens
from recnet.auth.keys import KeyRing
from recnet.auth.ratelimit import RateLimiter, backoff_seconds
from recnet.config import Settings
from recnet.errors import ProblemError, TooManyRequests
from recnet.schemas.auth import TokenResponse
from recnet.schemas.vocabularies import OrganisationKind
from recnet.services import clients

security_log = logging.getLogger("recnet.security")


class OAuthError(ProblemError):
    """An RFC 6749 §5.2 error, rendered as problem details carrying ``error`` members too."""

    slug, title = "oauth", "Token request refused"

    def __init__(
        self, error: str, description: str, status: int = 400, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(
            description,
            status=status,
            headers=headers,
            extra={"error": error, "error_description": description},
        )


def invalid_client() -> OAuthError:
    return OAuthError(
        "invalid_client",
        "Client authentication failed.",
        status=401,
        headers={"WWW-Authenticate": 'Basic realm="recnet"'},
    )


@dataclass(frozen=True)
class TokenRequest:
    grant_type: str | None
    client_id: str | None
    client_secret: str | None
    scope: str | None
    address: str | None


def grant(
    session: Session,
    settings: Settings,
    keyring: KeyRing,
    limiter: RateLimiter,
    request: TokenRequest,
) -> TokenResponse:
    if request.grant_type is None:
        raise OAuthError("invalid_request", "grant_type is required.")
    if request.grant_type != "client_credentials":
        raise OAuthError(
            "unsupported_grant_type", "Only the client_credentials grant is supported."
        )
    if not request.client_id or not request.client_secret:
        raise OAuthError("invalid_request", "client_id and client_secret are required.")

    # Failures count per (client id, address) and per address, never per client id alone: a
    # stranger who knows an agency's client id slows down only itself, and a right secret from
    # an address that has not failed is never refused.
    failure_keys = [
        f"token-fail:pair:{request.client_id}|{request.address}",
        f"token-fail:addr:{request.address}",
    ]
    free, remember = settings.rate_token_failures, settings.rate_token_failure_window_seconds
    cap = settings.rate_token_failure_max_delay_seconds
    now = time.time()
    for key in failure_keys:
        failures, last = limiter.failures.read(key)
        wait = last + backoff_seconds(failures, free, cap) - now
        if wait > 0:
            raise TooManyRequests(
                "Too many failed token requests from this address; retry later.",
                headers={"Retry-After": str(math.ceil(wait))},
            )
    try:
        client, organisation = clients.authenticate(
            session, request.client_id, request.client_secret
        )
    except LookupError:
        counts = [limiter.failures.record(key, remember)[0] for key in failure_keys]
        if max(counts) >= free:
            security_log.warning(
                "repeated failed token requests",
                extra={
                    "event": "token_failures",
                    "client_id": request.client_id[:64],
                    "address": request.address,
                    "failures_pair": counts[0],
                    "failures_address": counts[1],
                },
            )
        raise invalid_client() from None
    limiter.failures.clear(failure_keys[0])

    held = set(client.scopes) & {
        s.value for s in scope_rules.ALLOWED[OrganisationKind(organisation.kind)]
    }
    if request.scope is None:
        granted = held
    else:
        try:
            asked = {s.value for s in scope_rules.parse(request.scope)}
        except ValueError as exc:
            raise OAuthError("invalid_scope", str(exc)) from None
        if not asked <= held:
            raise OAuthError(
                "invalid_scope",
                f"The client does not hold {' '.join(sorted(asked - held))}.",
            )
        granted = asked

    kid, private_pem = keyring.signing_key(session)
    claims = tokens.claims_for(
        settings,
        client_id=client.client_id,
        org=organisation.code,
        tenant=organisation.tenant,
        scopes=sorted(granted),
        version=tokens.credential_version(client.secret_rotated_at),
    )
    return TokenResponse(
        access_token=tokens.encode(claims, kid, private_pem),
        expires_in=settings.token_ttl_seconds,
        scope=claims["scope"],
    )
