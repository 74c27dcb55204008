"""Idempotency keys for POST: the first answer is kept (24 h) and replayed on a retry.

A key belongs to its sender (client id, or address for anonymous callers). Reusing it for a
different request is refused; a retry that arrives while the first request is still being
answered gets 409.

Credentials are never kept: an answer marked ``Cache-Control: no-store`` is kept without its
credential members (a replayed subscription answers without its secret), and the token endpoint
takes no key at all (a retry simply gets a new token).

The answer is kept in the same transaction as the change it reports: both are committed, or
neither. So whatever happens to the first request — its server killed, its database cut, the
reply to its COMMIT lost — a retry finds either the kept answer or nothing written, and then runs
afresh. While a request runs, its transaction holds the key (on PostgreSQL a transaction-level
advisory lock, on SQLite the write lock every writing transaction takes), so the hold ends with
the transaction, however that ends: no key is left "in progress".
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import text
from sqlmodel import Session, col, delete

from recnet.clock import utcnow
from recnet.db import Database
from recnet.models import IdempotencyKey

LIFETIME = timedelta(hours=24)
KEPT_HEADERS = ("content-type", "location", "etag", "vary", "cache-control")
# Members of an answer that carry a credential: never kept (an answer carrying one is marked
# Cache-Control: no-store), so a replay answers without them.
CREDENTIAL_FIELDS = ("secret", "client_secret", "access_token", "refresh_token")

_TRY_LOCK = text("SELECT pg_try_advisory_xact_lock(hashtextextended(:name, 0))")


def fingerprint(method: str, path: str, query: bytes, content_type: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query, content_type.encode()):
        digest.update(part + b"\0")
    digest.update(body)
    return digest.hexdigest()


@dataclass(frozen=True)
class Claimed:
    pass


@dataclass(frozen=True)
class InProgress:
    pass


@dataclass(frozen=True)
class Mismatch:
    pass


@dataclass(frozen=True)
class Replay:
    status: int
    headers: dict[str, str]
    body: bytes


Outcome = Claimed | InProgress | Mismatch | Replay


def claim(session: Session, owner: str, key: str, request_hash: str) -> Outcome:
    """Hold the key in ``session``'s transaction, or say what the earlier request with it became.

    The session must be a writing unit of work (on SQLite it then holds the write lock).
    """
    if session.get_bind().dialect.name == "postgresql":
        held = session.execute(_TRY_LOCK, {"name": f"{owner}\n{key}"}).scalar()
        if not held:
            return InProgress()
    found = session.get(IdempotencyKey, (owner, key))
    if found is not None and (found.status is None or found.expires_at <= utcnow()):
        # Expired, or a reservation an earlier version of recnet left: nobody holds it now.
        session.delete(found)
        session.flush()
        found = None
    if found is None:
        return Claimed()
    if found.request_hash != request_hash:
        return Mismatch()
    return Replay(int(found.status or 0), dict(found.headers or {}), found.body or b"")


def keep(
    session: Session,
    owner: str,
    key: str,
    path: str,
    request_hash: str,
    status: int,
    headers: dict[str, str],
    body: bytes,
) -> None:
    """Keep the answer in ``session``'s transaction (the one that made the change, if any)."""
    body = _without_credentials(headers, body)
    now = utcnow()
    session.add(
        IdempotencyKey(
            owner=owner,
            key=key,
            method="POST",
            path=path[:500],
            request_hash=request_hash,
            status=status,
            headers={k: v for k, v in headers.items() if k in KEPT_HEADERS},
            body=body,
            created_at=now,
            expires_at=now + LIFETIME,
        )
    )
    session.flush()


def _without_credentials(headers: dict[str, str], body: bytes) -> bytes:
    if "no-store" not in headers.get("cache-control", "").lower():
        return body
    try:
        document = json.loads(body)
    except ValueError:
        return b""  # what cannot be told apart from a credential is not kept at all
    if not isinstance(document, dict):
        return b""
    for name in CREDENTIAL_FIELDS:
        document.pop(name, None)
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def keep_apart(
    database: Database,
    owner: str,
    key: str,
    path: str,
    request_hash: str,
    status: int,
    headers: dict[str, str],
    body: bytes,
) -> None:
    """Keep an answer whose request wrote nothing (its transaction rolled back), in a transaction
    of its own: a refusal is replayed like a success."""
    with database.transaction() as session:
        if isinstance(claim(session, owner, key, request_hash), Claimed):
            keep(session, owner, key, path, request_hash, status, headers, body)


def purge_expired(database: Database, owner: str) -> None:
    """Forget the owner's answers kept longer than ``LIFETIME``."""
    with database.transaction() as session:
        session.exec(
            delete(IdempotencyKey).where(
                col(IdempotencyKey.owner) == owner, col(IdempotencyKey.expires_at) <= utcnow()
            )
        )
