"""The OAuth 2.0 client-credentials grant (RFC 6749 §4.4), its failure limits, and the audit
events that make repeated failures visible to the secretariat."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import math
import re
import time
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from recnet.auth import scopes as scope_rules
from recnet.auth import tokens
from recnet.auth.keys import KeyRing
from recnet.auth.principal import ANONYMOUS
from recnet.auth.ratelimit import RateLimiter, backoff_seconds
from recnet.config import Settings
from recnet.errors import ProblemError, TooManyRequests
from recnet.repositories.clients import CLIENT_ID_MAX, find_client
from recnet.schemas.auth import TokenResponse
from recnet.schemas.vocabularies import OrganisationKind
from recnet.services import clients, events

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
    """Client authentication failed (401; the route adds the challenge HTTP asks for)."""
    return OAuthError("invalid_client", "Client authentication failed.", status=401)


@dataclass(frozen=True)
class TokenRequest:
    grant_type: str | None
    client_id: str | None
    client_secret: str | None
    scope: str | None
    address: str | None


# The audit event about repeated failures: kind and action in the event log.
SECURITY_KIND, FAILURES_ACTION = "security", "token_failures"
# What an address that is not an IP may be recorded as (a name a proxy or test transport gave).
_ADDRESS_NAME = re.compile(r"[A-Za-z0-9._:-]{1,64}")


@dataclass(frozen=True)
class RepeatedFailures:
    """Failed token requests from one address that crossed the threshold: an audit event due.

    Holds nothing the caller sent as it was sent: the client id only where it could be one this
    service gave out (looked up when the event is written, recorded only if registered), a keyed
    fingerprint of it otherwise, and the address only as an IP (or a plain short name).
    """

    client_id_candidate: str | None
    client_fingerprint: str
    address: str | None
    failures_client_and_address: int
    failures_address: int
    threshold: int
    window_seconds: int
    last_in_window: bool


def client_fingerprint(settings: Settings, client_id: str) -> str:
    """A keyed hash of a client id as sent: the same id always gives the same fingerprint (so
    attempts can be told apart and grouped), and nobody without the server's secret can test
    guesses against it (a secret pasted into the client id field stays unknown)."""
    mac = hmac.new(
        settings.secret_key.encode(), b"token-failures\0" + client_id.encode(), hashlib.sha256
    )
    return mac.hexdigest()[:32]


def recordable_address(address: str | None) -> str | None:
    """The address in canonical form if it is an IP; a plain short name as it is; else nothing."""
    if address is None:
        return None
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return address if _ADDRESS_NAME.fullmatch(address) else None


def _failures_due(
    settings: Settings, limiter: RateLimiter, request: TokenRequest, pair: int, address: int
) -> RepeatedFailures | None:
    """The audit event this failure makes due, if any: at most one per (client id, address), or
    per address while no one client id has crossed the threshold from it, per window; and at most
    ``rate_token_failure_events`` in all per window, however many addresses take part. Counted
    like the rate limits (per process, or shared through Redis)."""
    free, window = settings.rate_token_failures, settings.rate_token_failure_window_seconds
    if max(pair, address) < free:
        return None
    fingerprint = client_fingerprint(settings, request.client_id or "")
    where = recordable_address(request.address)
    subject = f"pair:{fingerprint}|{where}" if pair >= free else f"addr:{where}"
    if limiter.hit(f"token-fail-event:{subject}", 1, window).exceeded:
        return None
    overall = limiter.hit("token-fail-event:all", settings.rate_token_failure_events, window)
    if overall.exceeded:
        return None
    client_id = request.client_id or ""
    return RepeatedFailures(
        client_id_candidate=client_id if len(client_id) <= CLIENT_ID_MAX else None,
        client_fingerprint=fingerprint,
        address=where,
        failures_client_and_address=pair,
        failures_address=address,
        threshold=free,
        window_seconds=window,
        last_in_window=overall.remaining == 0,
    )


def record_repeated_failures(session: Session, due: RepeatedFailures) -> None:
    """Append the audit event about repeated failures (the caller's transaction: one of its own,
    since the failed request's is rolled back). No tenant, so the payload is the secretariat's
    alone (the audit trail is its), and no kind a feed or webhook carries."""
    found = (
        None if due.client_id_candidate is None else find_client(session, due.client_id_candidate)
    )
    payload: dict[str, Any] = {
        "client_id": found[0].client_id if found else None,
        "organisation": found[1].code if found else None,
        "client_registered": found is not None,
        "client_fingerprint": due.client_fingerprint,
        "address": due.address,
        "failures": {
            "client_and_address": due.failures_client_and_address,
            "address": due.failures_address,
        },
        "threshold": due.threshold,
        "window_seconds": due.window_seconds,
        # The window's allowance of these events is spent: further ones are only logged.
        "last_in_window": due.last_in_window,
    }
    events.append(
        session, ANONYMOUS, kind=SECURITY_KIND, action=FAILURES_ACTION, tenant=None, payload=payload
    )


def grant(
    session: Session,
    settings: Settings,
    keyring: KeyRing,
    limiter: RateLimiter,
    request: TokenRequest,
    due: list[RepeatedFailures] | None = None,
) -> TokenResponse:
    """An access token for the client's credentials, or OAuthError / TooManyRequests.

    A failure that makes an audit event due adds it to ``due``: the caller writes it in a
    transaction of its own, after this one is rolled back (``record_repeated_failures``).
    """
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
        if due is not None:
            notice = _failures_due(settings, limiter, request, counts[0], counts[1])
            if notice is not None:
                due.append(notice)
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
