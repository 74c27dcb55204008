"""Webhooks: subscriptions to the change feed, pushed to the subscriber's callback URL.

A client subscribes a callback URL to some kinds of the change feed; it manages (lists, deletes,
reads the delivery log of) its own subscriptions only, at most ``MAX_SUBSCRIPTIONS_PER_CLIENT``.
The delivery loop is ``workers.webhooks``; signing secrets (kept encrypted, since they are needed
in clear to sign) are ``auth.secrets``.

Callback URLs are https, and never resolve to private, loopback, link-local or otherwise
non-public addresses, unless their host is listed in ``RECNET_WEBHOOK_ALLOWED_HOSTS``. The check
runs at subscription and again before every delivery (against DNS changes); redirects are not
followed.
"""

from __future__ import annotations

import ipaddress
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import func
from sqlmodel import Session, col, delete, select

from recnet.auth.principal import Principal, Role
from recnet.auth.scopes import ALLOWED, Scope
from recnet.auth.secrets import encrypt_webhook_secret, new_webhook_secret
from recnet.config import Settings
from recnet.errors import NotFound, ValidationProblem
from recnet.models import Delivery, Event, Subscription
from recnet.repositories import clients
from recnet.schemas.feeds import FEED_KINDS
from recnet.schemas.vocabularies import OrganisationKind

ACTIVE, FAILING, DISABLED = "active", "failing", "disabled"
MAX_SUBSCRIPTIONS_PER_CLIENT = 20


# --- Callback URLs ---------------------------------------------------------------------------


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_callback_url(url: str, settings: Settings) -> str:
    """``url`` if it may receive webhooks; ValidationProblem (422) saying why not otherwise."""
    checked_target(url, settings)
    return url


@dataclass(frozen=True)
class Target:
    """Where a delivery connects: ``url`` (with the checked address in place of the host name),
    the Host header and the TLS server name (SNI) that keep the name for the receiver."""

    url: str
    host_header: str | None = None
    server_name: str | None = None


def checked_target(url: str, settings: Settings) -> Target:
    """The callback, checked, and pinned to an address that was checked: connecting by name
    would resolve it again, and a name that answers a public address to the check and a private
    one to the connection (DNS rebinding) would reach inside."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValidationProblem("callback_url is not a valid URL.") from None
    host = (parts.hostname or "").lower()
    if not host or parts.scheme not in ("https", "http"):
        raise ValidationProblem("callback_url must be an absolute https URL.")
    if parts.username is not None or parts.password is not None:
        raise ValidationProblem("callback_url must not carry credentials.")
    allowed = host in {h.lower() for h in settings.webhook_allowed_hosts}
    if allowed:
        return Target(url)
    if parts.scheme != "https":
        raise ValidationProblem("callback_url must use https.")
    try:
        found = socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        raise ValidationProblem(f"callback_url host {host} cannot be resolved.") from None
    addresses = [str(info[4][0]) for info in found]
    if not addresses or not all(_public(a) for a in addresses):
        raise ValidationProblem(
            f"callback_url host {host} resolves to a private, loopback or link-local address."
        )
    address = addresses[0].split("%", 1)[0]
    literal = f"[{address}]" if ":" in address else address
    netloc = f"{literal}:{port}" if port else literal
    return Target(
        urlunsplit(parts._replace(netloc=netloc)),
        host_header=parts.netloc.rpartition("@")[2],
        server_name=host,
    )


# --- Subscriptions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Created:
    subscription: Subscription
    secret: str


def create(
    session: Session,
    settings: Settings,
    principal: Principal,
    *,
    callback_url: str,
    kinds: Sequence[str],
    description: str | None,
) -> Created:
    """A subscription of the caller's client; it receives the events after this moment."""
    assert principal.client_id is not None
    check_callback_url(callback_url, settings)
    unknown = set(kinds) - set(FEED_KINDS)
    if unknown or not kinds:
        raise ValidationProblem(f"kinds are one or more of {', '.join(FEED_KINDS)}.")
    count = session.exec(
        select(func.count())
        .select_from(Subscription)
        .where(Subscription.client_id == principal.client_id)
    ).one()
    if count >= MAX_SUBSCRIPTIONS_PER_CLIENT:
        raise ValidationProblem(
            f"A client holds at most {MAX_SUBSCRIPTIONS_PER_CLIENT} subscriptions."
        )
    head = session.exec(select(func.max(Event.seq))).one() or 0
    secret = new_webhook_secret()
    subscription_id = uuid.uuid4()
    subscription = Subscription(
        id=subscription_id,
        client_id=principal.client_id,
        callback_url=callback_url,
        kinds=[k for k in FEED_KINDS if k in kinds],
        description=description,
        secret=encrypt_webhook_secret(settings, subscription_id, secret),
        delivered_seq=head,
    )
    session.add(subscription)
    session.flush()
    return Created(subscription, secret)


def list_for(session: Session, principal: Principal) -> Sequence[Subscription]:
    return session.exec(
        select(Subscription)
        .where(Subscription.client_id == principal.client_id)
        .order_by(col(Subscription.created_at), col(Subscription.id))
    ).all()


def get_for(session: Session, principal: Principal, subscription_id: uuid.UUID) -> Subscription:
    """The caller's subscription; another client's is as unknown as a missing one."""
    subscription = session.get(Subscription, subscription_id)
    if subscription is None or subscription.client_id != principal.client_id:
        raise NotFound(f"No subscription {subscription_id}.")
    return subscription


def delete_for(session: Session, principal: Principal, subscription_id: uuid.UUID) -> None:
    subscription = get_for(session, principal, subscription_id)
    session.exec(delete(Delivery).where(col(Delivery.subscription_id) == subscription.id))
    session.delete(subscription)
    session.flush()


def deliveries_for(
    session: Session, principal: Principal, subscription_id: uuid.UUID, limit: int
) -> Sequence[Delivery]:
    subscription = get_for(session, principal, subscription_id)
    return session.exec(
        select(Delivery)
        .where(Delivery.subscription_id == subscription.id)
        .order_by(col(Delivery.attempted_at).desc(), col(Delivery.seq).desc())
        .limit(limit)
    ).all()


def principal_for(session: Session, client_id: str) -> Principal | None:
    """The client as it is now, as ``auth.principal.resolve`` would see it (without a token);
    None when it may no longer hold a subscription (unknown, disabled, scope withdrawn)."""
    row = clients.find_client(session, client_id)
    if row is None:
        return None
    client, organisation = row
    if client.disabled_at is not None:
        return None
    kind = OrganisationKind(organisation.kind)
    scopes = frozenset(set(client.scopes) & {s.value for s in ALLOWED[kind]})
    if Scope.subscriptions_write.value not in scopes:
        return None
    return Principal(
        role=Role(kind.value),
        client_id=client.client_id,
        organisation=organisation.code,
        tenant=organisation.tenant,
        scopes=scopes,
    )
