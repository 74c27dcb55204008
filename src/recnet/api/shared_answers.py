"""The read cache's second tier: answers shared between processes through Redis.

With several workers (or hosts) each process would compute every popular read once for itself.
When Redis is configured, an answer one process computes is stored there under the same key as
in its own cache (what was asked, the caller's visibility class) and the event log's head it is
valid for, and another process that sees the same head takes it instead of computing it again.

The guarantees are the process cache's: a key names the visibility class, so an answer never
crosses one; an answer is taken only under the head the reader has just seen, so a write (which
moves the head) makes every stored answer unreachable at once. A head is named by its number and
its event's hash: a database emptied and filled again, restored from a backup, or another
deployment's with the same URL reaches the same numbers with other figures, never the same hash
chain. Names also carry a hash of the database's URL (without the password); stored answers
expire after ``ttl`` seconds.

Redis is an accelerator here, never a dependency: when it is down or slow (bounded by short
socket timeouts) the process computes the answer itself, leaves Redis alone for a few seconds
(so an unreachable host does not add its timeout to every request), and says so in the log at
most once a minute.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Hashable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from recnet.api.readcache import Answer
    from recnet.db import Database

log = logging.getLogger(__name__)

# Answers larger than this are not shared (a round trip would cost more than it saves).
MAX_SHARED_BYTES = 4 * 1024 * 1024
_WARN_EVERY = 60.0
# After a failure, Redis is not asked again for this long.
_PAUSE = 5.0
# The headers an answer carries besides its body (api/v1/statistics.py, api/v1/records.py).
_SHARED_HEADERS = frozenset({"vary", "link", "content-disposition"})


class SharedAnswers:
    """Answers in Redis under (database, head, key), read and written without blocking the loop."""

    def __init__(self, url: str, database_url: str, ttl: int) -> None:
        self.url = url
        self.ttl = ttl
        self.prefix = "recnet:answer:" + hashlib.sha256(database_url.encode()).hexdigest()[:16]
        # One client per event loop: a client's connections belong to the loop that made them.
        self._clients: dict[int, Any] = {}
        self._warned = 0.0
        self._paused_until = 0.0

    def _client(self) -> Any:
        loop = id(asyncio.get_running_loop())
        client = self._clients.get(loop)
        if client is None:
            import redis.asyncio

            client = redis.asyncio.Redis.from_url(
                self.url, socket_timeout=0.25, socket_connect_timeout=0.25
            )
            self._clients[loop] = client
        return client

    def name(self, key: Hashable, head: int, mark: str = "") -> str:
        """Where the answer to ``key`` at ``head`` is kept; ``mark`` is the hash of the head's
        event (see ``readcache.head_event``), which tells apart logs at the same number."""
        digest = hashlib.sha256(json.dumps(key, separators=(",", ":")).encode()).hexdigest()
        return f"{self.prefix}:{head}.{mark[:32]}:{digest}"

    @property
    def available(self) -> bool:
        return time.monotonic() >= self._paused_until

    async def get(self, key: Hashable, head: int, mark: str = "") -> Answer | None:
        if not self.available:
            return None
        try:
            stored = await self._client().get(self.name(key, head, mark))
        except Exception:
            self._unavailable()
            return None
        return None if stored is None else _decode(stored)

    async def put(self, key: Hashable, head: int, answer: Answer, mark: str = "") -> None:
        if len(answer.body) > MAX_SHARED_BYTES or not self.available:
            return
        try:
            await self._client().set(self.name(key, head, mark), _encode(answer), ex=self.ttl)
        except Exception:
            self._unavailable()

    def _unavailable(self) -> None:
        now = time.monotonic()
        self._paused_until = now + _PAUSE
        if now - self._warned >= _WARN_EVERY:
            self._warned = now
            log.warning("Redis unavailable for shared answers; computing in process", exc_info=True)


def shared_answers(database: Database) -> SharedAnswers | None:
    """The shared tier for this database, when Redis is configured and sharing is on."""
    settings = database.settings
    if not settings.redis_url or not settings.read_cache_shared_seconds:
        return None
    url = database.engine.url.render_as_string(hide_password=True)
    return SharedAnswers(settings.redis_url, url, settings.read_cache_shared_seconds)


def _encode(answer: Answer) -> bytes:
    head = json.dumps([answer.media_type, answer.headers], separators=(",", ":")).encode()
    return head + b"\n" + answer.body


def _decode(stored: bytes) -> Answer | None:
    from recnet.api.readcache import Answer

    head, _, body = stored.partition(b"\n")
    try:
        media_type, headers = json.loads(head)
        answer = Answer(body, str(media_type), tuple((str(n), str(v)) for n, v in headers))
    except (ValueError, TypeError, RecursionError):  # JSON nested past the parser's depth
        return None  # not one of ours: compute instead
    # Only what the routes put there: a stored value never sets another header (a cookie, a
    # length, a location) nor a header value that would break the response's head.
    for name, value in answer.headers:
        if name.lower() not in _SHARED_HEADERS or not value.isprintable():
            return None
    return answer if answer.media_type.isprintable() else None
