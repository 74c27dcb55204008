"""Secrets, made random and shown once.

Client secrets are stored only as a slow salted hash (scrypt): they are only ever checked.

Webhook signing secrets are kept encrypted with the server secret (AES-GCM, key derived from
``RECNET_SECRET_KEY``, the subscription id as associated data): they are needed in clear to
sign, so they cannot be hashed; changing the server secret makes them unreadable (subscriptions
must then be re-created). ``signature`` is the ``X-Recnet-Signature`` a delivery carries, and
``verify_signature`` what a receiver does with it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from functools import cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from recnet.config import Settings

# scrypt cost: about 16 MiB and tens of milliseconds per check, so a stolen table is slow to attack.
_N, _R, _P = 2**14, 8, 1
_SCHEME = "scrypt"


def new_client_id() -> str:
    return "rc_" + secrets.token_urlsafe(12)


def new_client_secret() -> str:
    return secrets.token_urlsafe(32)


def _derive(secret: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(secret.encode(), salt=salt, n=n, r=r, p=p, maxmem=64 * 2**20, dklen=32)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_secret(secret: str) -> str:
    salt = secrets.token_bytes(16)
    digest = _derive(secret, salt, _N, _R, _P)
    return f"{_SCHEME}${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def verify_secret(secret: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != _SCHEME:
            return False
        derived = _derive(secret, _unb64(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(derived, _unb64(digest))


@cache
def dummy_hash() -> str:
    """Checked against when the client id is unknown: a miss costs as much as a wrong secret."""
    return hash_secret(secrets.token_urlsafe(32))


# --- Webhook signing secrets and signatures ---------------------------------------------------


def new_webhook_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def _webhook_key(settings: Settings) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"recnet webhook secrets v1"
    ).derive(settings.secret_key.encode())


def encrypt_webhook_secret(settings: Settings, subscription_id: uuid.UUID, secret: str) -> str:
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(_webhook_key(settings)).encrypt(nonce, secret.encode(), subscription_id.bytes)
    return "v1:" + base64.urlsafe_b64encode(nonce + sealed).decode()


def decrypt_webhook_secret(settings: Settings, subscription_id: uuid.UUID, stored: str) -> str:
    version, _, data = stored.partition(":")
    if version != "v1":
        raise ValueError("unknown secret format")
    raw = base64.urlsafe_b64decode(data.encode())
    return (
        AESGCM(_webhook_key(settings)).decrypt(raw[:12], raw[12:], subscription_id.bytes).decode()
    )


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Recnet-Signature`` value: ``t=<timestamp>,v1=<hex HMAC-SHA256>``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_signature(secret: str, header: str, body: bytes) -> bool:
    """What a receiver does (used by the tests): recompute and compare in constant time."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), header)
