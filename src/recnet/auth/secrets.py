"""Client secrets: made random, shown once, stored only as a slow salted hash (scrypt)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from functools import cache

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
