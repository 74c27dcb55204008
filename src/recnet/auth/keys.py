"""Signing keys for access tokens: ES256 key pairs kept in the database, rotated without downtime.

The newest active key signs. When it is rotated away it stays a verification key until every
token it signed has expired (its retirement time plus the token lifetime), then stops working.
Private keys are stored encrypted with the server secret.
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import or_
from sqlmodel import Session, col, select

from recnet.clock import utcnow
from recnet.config import Settings
from recnet.models import SigningKey

ALGORITHM = "ES256"
# How long a process trusts its cached view of the verification keys.
_CACHE_SECONDS = 30.0
# An unknown kid refreshes the cache at most this often, so junk tokens cannot flood the database.
_MISS_REFRESH_SECONDS = 1.0


def _b64(number: int) -> str:
    return base64.urlsafe_b64encode(number.to_bytes(32, "big")).decode().rstrip("=")


def generate(settings: Settings) -> SigningKey:
    private = ec.generate_private_key(ec.SECP256R1())
    numbers = private.public_key().public_numbers()
    kid = secrets.token_urlsafe(12)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(settings.secret_key.encode()),
    ).decode()
    jwk = {
        "kty": "EC",
        "crv": "P-256",
        "x": _b64(numbers.x),
        "y": _b64(numbers.y),
        "alg": ALGORITHM,
        "use": "sig",
        "kid": kid,
    }
    return SigningKey(kid=kid, algorithm=ALGORITHM, private_key=pem, public_jwk=jwk)


def rotate(session: Session, settings: Settings) -> SigningKey:
    """Retire every active key and make a new one the signing key."""
    now = utcnow()
    for key in session.exec(select(SigningKey).where(col(SigningKey.retired_at).is_(None))):
        key.retired_at = now
        session.add(key)
    new = generate(settings)
    session.add(new)
    session.flush()
    return new


def verification_keys(session: Session, settings: Settings) -> list[SigningKey]:
    """Keys whose tokens may still be valid: active, or retired less than a token lifetime ago."""
    horizon = utcnow() - timedelta(seconds=settings.token_ttl_seconds)
    query = (
        select(SigningKey)
        .where(or_(col(SigningKey.retired_at).is_(None), col(SigningKey.retired_at) > horizon))
        .order_by(col(SigningKey.created_at).desc())
    )
    return list(session.exec(query))


@dataclass
class _Verifier:
    jwk: dict[str, str]
    valid_until: datetime | None


@dataclass
class KeyRing:
    """A process's cache of signing and verification keys (the database is the truth)."""

    settings: Settings
    _verifiers: dict[str, _Verifier] = field(default_factory=dict)
    _loaded_at: float = float("-inf")
    _decrypted: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def signing_key(self, session: Session) -> tuple[str, str]:
        """(kid, private PEM) of the newest active key, creating the first key if there is none."""
        key = session.exec(
            select(SigningKey)
            .where(col(SigningKey.retired_at).is_(None))
            .order_by(col(SigningKey.created_at).desc())
        ).first()
        if key is None:
            key = generate(self.settings)
            session.add(key)
            session.flush()
        with self._lock:
            if key.kid not in self._decrypted:
                private = serialization.load_pem_private_key(
                    key.private_key.encode(), password=self.settings.secret_key.encode()
                )
                self._decrypted[key.kid] = private.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                ).decode()
            return key.kid, self._decrypted[key.kid]

    def verification_key(self, session: Session, kid: str) -> dict[str, str] | None:
        now = time.monotonic()
        with self._lock:
            stale = now - self._loaded_at > _CACHE_SECONDS
            miss = kid not in self._verifiers and now - self._loaded_at > _MISS_REFRESH_SECONDS
        if stale or miss:
            self.refresh(session)
        with self._lock:
            verifier = self._verifiers.get(kid)
        if verifier is None:
            return None
        if verifier.valid_until is not None and utcnow() >= verifier.valid_until:
            return None
        return verifier.jwk

    def refresh(self, session: Session) -> None:
        ttl = timedelta(seconds=self.settings.token_ttl_seconds)
        verifiers = {
            key.kid: _Verifier(key.public_jwk, key.retired_at + ttl if key.retired_at else None)
            for key in verification_keys(session, self.settings)
        }
        with self._lock:
            self._verifiers = verifiers
            self._loaded_at = time.monotonic()
