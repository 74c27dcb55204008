"""The database as the app holds it: sessions, units of work, admission slots, the schema.

``Database.run`` is the one way to do a piece of work apart from a request's own session: take an
admission slot, run it in a worker thread, in a transaction of its own (``Database.stream`` for
work that yields its result in chunks).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import TypeVar, cast

import anyio
import anyio.to_thread
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text
from sqlalchemy.exc import TimeoutError as WaitTimeout
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from recnet.config import Settings
from recnet.db.engine import WRITE_INTENT, make_engine
from recnet.db.migrate import alembic_config

T = TypeVar("T")

_DONE = object()  # what ``next`` gives when a stream's parts run out

_EVENT_HEAD = text("SELECT coalesce(max(seq), 0) FROM events")


class Admission:
    """``async with`` takes one of ``size`` slots, waiting at most ``timeout`` seconds for it."""

    def __init__(self, size: int, timeout: float) -> None:
        self._slots = anyio.Semaphore(size)
        self.timeout = timeout

    async def __aenter__(self) -> None:
        with anyio.move_on_after(self.timeout):
            await self._slots.acquire()
            return
        raise WaitTimeout(f"no database slot became free within {self.timeout} s")

    async def __aexit__(self, *_exc: object) -> None:
        self._slots.release()


@dataclass
class Database:
    """What the app holds of its database: the engine, the session factory, the expected schema."""

    settings: Settings
    engine: Engine
    _admissions: dict[int, Admission] = field(default_factory=dict, repr=False)

    @classmethod
    def from_settings(
        cls, settings: Settings, url: str | None = None, bound_answers: bool = True
    ) -> Database:
        return cls(settings, make_engine(settings, url, bound_answers))

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return sessionmaker(self.engine, class_=Session, expire_on_commit=False)

    @cached_property
    def head_revision(self) -> str | None:
        return ScriptDirectory.from_config(alembic_config(str(self.engine.url))).get_current_head()

    def current_revision(self) -> str | None:
        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def is_current(self) -> bool:
        return self.current_revision() == self.head_revision

    def session(self, write: bool = False) -> Iterator[Session]:
        """A unit of work: commit once at the end, or roll back on any error.

        ``write`` declares that it will change data (taken into account on SQLite).
        """
        session = self.sessions()
        try:
            if write and self.engine.dialect.name == "sqlite":
                session.connection(execution_options={WRITE_INTENT: True})
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[Session]:
        """``session()`` as a context manager, for work outside a request (CLI, tests)."""
        yield from self.session(write)

    async def run(self, fn: Callable[[Session], T], *, write: bool) -> T:
        """``fn(session)`` in a unit of work of its own, in a worker thread, once an admission
        slot is free (see ``admission``): for work apart from a request's own session.

        ``write`` declares that ``fn`` will change data, as for ``session``.
        """

        def work() -> T:
            with self.transaction(write) as session:
                return fn(session)

        async with self.admission():
            return await anyio.to_thread.run_sync(work)

    async def stream(
        self, fn: Callable[[Session], Iterator[T]], *, write: bool = False
    ) -> AsyncGenerator[T, None]:
        """``run`` for work that yields its result in parts (an export of any size): each part
        is made in a worker thread, all in one unit of work, which holds its slot until the last
        part is taken or the consumer stops."""

        def parts() -> Generator[T, None, None]:
            with self.transaction(write) as session:
                yield from fn(session)

        async with self.admission():
            iterator = parts()
            try:
                while (part := await anyio.to_thread.run_sync(next, iterator, _DONE)) is not _DONE:
                    yield cast(T, part)
            finally:
                await anyio.to_thread.run_sync(iterator.close)

    def event_head(self, session: Session | None = None) -> int:
        """The event log's highest sequence number (0 when empty): it moves on every change.
        Read in ``session``'s transaction when given, else on a connection of its own."""
        if session is not None:
            # On the session's connection: in its transaction, without the ORM's execution path.
            return int(session.connection().execute(_EVENT_HEAD).scalar() or 0)
        with self.engine.connect() as connection:
            return int(connection.execute(_EVENT_HEAD).scalar() or 0)

    def admission(self) -> Admission:
        """Slots for requests that use the database: as many as the pool has connections.

        A request takes a slot (waiting without a thread) before its first query and gives it
        back after its commit. So a thread never blocks on an exhausted pool while the requests
        holding the connections wait for a thread: that cycle deadlocks a small thread pool.
        Waiting for a slot is bounded like every other database wait (``db_timeout``).
        """
        loop = id(asyncio.get_running_loop())
        if loop not in self._admissions:
            self._admissions[loop] = Admission(self.settings.pool_size, self.settings.db_timeout)
        return self._admissions[loop]

    def dispose(self) -> None:
        self.engine.dispose()
