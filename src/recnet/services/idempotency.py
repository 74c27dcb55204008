"""Idempotency keys for POST: the first answer is kept (24 h) and replayed on a retry.

A key belongs to its sender (client id, or address for anonymous callers). Reusing it for a
different request is refused; a retry that arrives while the first request is still being
answered gets 409.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import exc
from sqlmodel import col, delete

from recnet.db import Database, utcnow
from recnet.models import IdempotencyKey

LIFETIME = timedelta(hours=24)
KEPT_HEADERS = ("content-type", "location", "etag", "vary")


def fingerprint(method: str, path: str, query: bytes, content_type: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query, content_type.encode()):
        digest.update(part + b"\0")
    digest.update(body)
    return digest.hexdigest()


@dataclass(frozen=True)
class Reserved:
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


Outcome = Reserved | InProgress | Mismatch | Replay


def reserve(
    database: Database, owner: str, key: str, method: str, path: str, request_hash: str
) -> Outcome:
    """Claim the key for this request, or say what the earlier request with it became."""
    now = utcnow()
    try:
        with database.transaction() as session:
            session.exec(
                delete(IdempotencyKey).where(
                    col(IdempotencyKey.owner) == owner, col(IdempotencyKey.expires_at) <= now
                )
            )
            found = session.get(IdempotencyKey, (owner, key))
            if found is None:
                session.add(
                    IdempotencyKey(
                        owner=owner,
                        key=key,
                        method=method,
                        path=path[:500],
                        request_hash=request_hash,
                        created_at=now,
                        expires_at=now + LIFETIME,
                    )
                )
                return Reserved()
            if found.request_hash != request_hash:
                return Mismatch()
            if found.status is None:
                return InProgress()
            return Replay(found.status, dict(found.headers or {}), found.body or b"")
    except exc.IntegrityError:
        # Another request claimed the same key between our read and our insert.
        return InProgress()


def complete(
    database: Database, owner: str, key: str, status: int, headers: dict[str, str], body: bytes
) -> None:
    with database.transaction() as session:
        found = session.get(IdempotencyKey, (owner, key))
        if found is not None:
            found.status = status
            found.headers = {k: v for k, v in headers.items() if k in KEPT_HEADERS}
            found.body = body
            session.add(found)


def release(database: Database, owner: str, key: str) -> None:
    """Forget a key whose request failed on our side, so the client's retry runs afresh."""
    with database.transaction() as session:
        found = session.get(IdempotencyKey, (owner, key))
        if found is not None:
            session.delete(found)
