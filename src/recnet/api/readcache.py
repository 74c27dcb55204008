"""Answers to reads of unchanged data, reused until the event log says something changed.

Every change that a cached read can show (records, their tags and search index, statistics)
appends its event in the change's own transaction, and appends are serialised, so the log's head
(its highest sequence number) only grows, in commit order. An answer computed after the head was
seen at ``H`` is therefore still right for as long as the head is ``H``.

A request for a cacheable read:

1. when an answer to it is kept, reads the head through ``HeadWatch``: one query serves every
   request that arrived before it started, so under load the head costs a fraction of a query
   per request, and a request never uses a head read that began before it arrived (it always
   sees every commit that preceded it);
2. looks the answer up under (what was asked, who may see what) and that head;
3. otherwise (nothing kept, or kept for an older head) computes the answer in a read transaction
   of its own that first reads the head: the answer is at least as new as that head, so it may
   be kept under it. A later head empties the cache; an answer computed under an older head
   than the cache's is not kept.

A read asked for the first time thus costs one more statement in its own transaction, not a
transaction of its own for the head.

The cache lives in each process, holds at most ``RECNET_READ_CACHE_MB`` of answers (least recently
used first out) and is emptied as soon as a newer head is seen. Keys carry the caller's
visibility class (role and tenant: exactly what ``auth.visibility`` decides by), never more.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Hashable
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from sqlalchemy import text
from sqlmodel import Session

from recnet.api.deps import count_request
from recnet.api.http import conditional, preferred_languages
from recnet.api.shared_answers import SharedAnswers
from recnet.auth.principal import ANONYMOUS, Principal
from recnet.db import Database, set_tenant


@dataclass(frozen=True)
class Answer:
    """A computed answer: its body and the headers that belong to it (not rate limits)."""

    body: bytes
    media_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:32] + '"'


@dataclass(frozen=True)
class _Kept:
    answer: Answer
    etag: str
    size: int


@dataclass
class _Flight:
    """The head read in flight on one event loop, and how many have been started there."""

    task: asyncio.Task[int] | None = None
    number: int = 0


@dataclass
class HeadWatch:
    """The event log's head, read at most once per burst of requests (see the module)."""

    database: Database
    _flights: dict[int, _Flight] = field(default_factory=dict)

    async def head(self) -> int:
        flight = self._flights.setdefault(id(asyncio.get_running_loop()), _Flight())
        # Reads numbered up to this one may have begun before this request arrived.
        arrived_after = flight.number
        while True:
            task = flight.task
            if task is not None and flight.number > arrived_after:
                return await asyncio.shield(task)
            if task is not None and not task.done():
                await asyncio.wait({task})
                continue
            flight.number += 1
            flight.task = asyncio.ensure_future(self._read())

    async def _read(self) -> int:
        return await self.database.run(self.database.event_head, write=False)


@dataclass
class ReadCache:
    """Answers kept per process for one head of the event log, bounded in bytes."""

    database: Database
    max_bytes: int
    shared: SharedAnswers | None = None
    watch: HeadWatch = field(init=False)
    _head: int = -1
    _kept: OrderedDict[Hashable, _Kept] = field(default_factory=OrderedDict)
    _bytes: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.watch = HeadWatch(self.database)

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    def holds(self, key: Hashable) -> bool:
        """Whether an answer is kept for ``key`` (under the last head seen)."""
        with self._lock:
            return key in self._kept

    def get(self, key: Hashable, head: int) -> _Kept | None:
        with self._lock:
            if head != self._head:
                self._reset(head)
                return None
            kept = self._kept.get(key)
            if kept is not None:
                self._kept.move_to_end(key)
            return kept

    def put(self, key: Hashable, head: int, answer: Answer) -> _Kept:
        kept = _Kept(answer, answer.etag, len(answer.body) + 256 + _weight(key))
        with self._lock:
            if head > self._head:
                self._reset(head)  # computed after a change this cache has not seen yet
            if head != self._head or kept.size > self.max_bytes:
                return kept  # the head has moved on since it was computed, or too big
            previous = self._kept.pop(key, None)
            if previous is not None:
                self._bytes -= previous.size
            self._kept[key] = kept
            self._bytes += kept.size
            while self._bytes > self.max_bytes:
                _, dropped = self._kept.popitem(last=False)
                self._bytes -= dropped.size
        return kept

    def _reset(self, head: int) -> None:
        # Any other head empties the cache, a lower one too (a database restored from a backup).
        self._head = head
        self._kept.clear()
        self._bytes = 0


_HEAD_EVENT = text("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1")


def head_event(session: Session) -> tuple[int, str]:
    """The log's head and its event's hash. Between processes the number alone does not name
    one state of one log: a database made again, restored, or another deployment's under the
    same URL reaches the same numbers with other figures; the hash chain tells them apart."""
    row = session.execute(_HEAD_EVENT).first()
    return (int(row[0]), str(row[1])) if row is not None else (0, "")


def _weight(key: object) -> int:
    """The bytes a key's text holds. A caller chooses its query string and Accept header, each
    as long as the server lets a request's head be, for an answer of a few bytes: counted with
    the answer, they are bounded by ``max_bytes`` like it, not only by the number of answers."""
    if isinstance(key, str):
        return len(key)
    if isinstance(key, tuple):
        return sum(_weight(part) for part in key)
    return 0


def visibility_class(principal: Principal) -> tuple[str, str | None]:
    """What decides which rows a principal reads (``auth.visibility``): role and tenant."""
    return (principal.role.value, principal.tenant)


def request_key(request: Request, preferred: list[str]) -> Hashable:
    """What an answer depends on besides the caller's visibility class and the data: the path,
    the query string as sent, the languages the caller prefers and the media types it accepts
    (as sent: a route may choose its format by them)."""
    return (request.url.path, request.url.query, tuple(preferred), request.headers.get("accept"))


def _answer(request: Request, response: Response, kept: _Kept) -> Response:
    answer = kept.answer
    return conditional(
        request,
        response,
        answer.body,
        etag=kept.etag,
        headers=dict(answer.headers),
        media_type=answer.media_type,
    )


class CachedReadRoute(APIRoute):
    """A route whose answers go through ``cached_read``, keyed by ``request_key``.

    A request without a token whose answer is kept is answered before FastAPI parses its
    parameters: they were parsed, and found valid, when the answer was computed for the same
    query string (an invalid one is never kept). Parsing is most of the cost of a repeat. Every
    other request takes the route as usual; this one is counted against the rate limit alike.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            kept = await _kept_for_anonymous(request)
            return kept if kept is not None else await handler(request)

        return answer


async def _kept_for_anonymous(request: Request) -> Response | None:
    cache: ReadCache = request.app.state.read_cache
    if not cache.enabled or "authorization" in request.headers:
        return None
    # As the route computes them: ``lang`` is a plain query parameter (the last one given).
    preferred = preferred_languages(request, request.query_params.get("lang"))
    full_key = (request_key(request, preferred), visibility_class(ANONYMOUS))
    if not cache.holds(full_key):
        return None
    kept = cache.get(full_key, await cache.watch.head())
    if kept is None:
        return None
    response = Response()
    # A direct call, not the ``RateLimit`` dependency: this answer is made before FastAPI runs
    # the route's dependencies, yet it is counted the same way.
    count_request(request, response, ANONYMOUS)
    return _answer(request, response, kept)


async def cached_read(
    request: Request,
    response: Response,
    principal: Principal,
    key: Hashable,
    compute: Callable[..., Answer],
) -> Response:
    """The answer of ``compute(session)`` for ``principal``, reused while nothing has changed.

    ``key`` must name everything the answer depends on besides the caller's visibility class
    and the data (path, query, preferred languages). ``compute`` runs in a read transaction
    with the caller's tenant set, in a worker thread; the caller's rate-limit headers in
    ``response`` are added to every answer.
    """
    cache: ReadCache = request.app.state.read_cache
    database = cache.database
    full_key = (key, visibility_class(principal))
    kept = None
    if cache.enabled and cache.holds(full_key):
        kept = cache.get(full_key, await cache.watch.head())
    elif cache.enabled and cache.shared is not None:
        # Another process may have computed it under the head this request now sees.
        head, mark = await database.run(head_event, write=False)
        shared = await cache.shared.get(full_key, head, mark)
        if shared is not None:
            kept = cache.put(full_key, head, shared)
    if kept is None:
        sharing = cache.shared if cache.enabled else None

        def work(session: Session) -> tuple[int, str, Answer]:
            set_tenant(session, principal.tenant)
            # First: the answer is then at least as new as the head it is kept under.
            if sharing is not None:
                head, mark = head_event(session)
            else:
                head, mark = (database.event_head(session) if cache.enabled else -1), ""
            return head, mark, compute(session)

        head, mark, answer = await database.run(work, write=False)
        kept = cache.put(full_key, head, answer) if cache.enabled else _Kept(answer, answer.etag, 0)
        if sharing is not None:
            await sharing.put(full_key, head, answer, mark)
    return _answer(request, response, kept)


__all__ = [
    "Answer",
    "CachedReadRoute",
    "HeadWatch",
    "ReadCache",
    "cached_read",
    "request_key",
    "visibility_class",
]
