"""The request's unit of work: ``get_session``, the dependency behind ``api.deps.SessionDep``,
and ``RequestUnit``, the same unit opened before the app runs (by the idempotency layer).

A request gets one session; it commits once, after the route has produced its answer and before
the answer is sent, or rolls back on any error. A change and its event therefore land together.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import anyio
import anyio.to_thread
from fastapi import Request
from sqlmodel import Session

from recnet.db.database import Database


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


# The scope key under which a request's unit of work is found when it was opened before the
# app ran (see RequestUnit).
REQUEST_UNIT = "recnet.unit"


class _Abandoned(Exception):
    """Thrown into a unit of work to roll it back when nothing went wrong in it."""


class RequestUnit:
    """A request's unit of work opened before the app runs, by the layer that also ends it.

    The idempotency layer opens one so that the answer it keeps is written in the same
    transaction as the change it reports: it commits the two together, after the answer is made
    and before it is sent. The request's session (``get_session``) is this unit's session, and an
    error in the route rolls it back as usual.
    """

    def __init__(self, database: Database) -> None:
        self._units = database.session(write=True)
        self.session: Session | None = None

    @property
    def open(self) -> bool:
        return self.session is not None

    def begin(self) -> Session:
        self.session = next(self._units)
        return self.session

    def commit(self) -> None:
        """Commit (raising what COMMIT raised, after rolling back)."""
        if self.session is not None:
            self.session = None
            next(self._units, None)

    def rollback(self, error: BaseException | None = None) -> None:
        if self.session is not None:
            self.session = None
            _finish(self._units, error or _Abandoned())


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request's unit of work, admitted first (see ``Database.admission``)."""
    unit = request.scope.get(REQUEST_UNIT)
    if isinstance(unit, RequestUnit) and unit.session is not None:
        # Opened (and admitted) before the app ran; its opener commits it.
        try:
            yield unit.session
        except BaseException as exc:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(unit.rollback, exc)
            raise
        return
    database = get_database(request)
    async with database.admission():
        units = database.session(write=request.method not in SAFE_METHODS)
        session = await anyio.to_thread.run_sync(next, units)
        try:
            yield session
        except BaseException as exc:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(_finish, units, exc)
            raise
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(_finish, units, None)


def _finish(units: Iterator[Session], error: BaseException | None) -> None:
    """Run the unit of work's ending: commit (no error) or roll back (the error re-raised)."""
    if error is None:
        next(units, None)
        return
    try:
        units.throw(error)  # type: ignore[attr-defined]
    except BaseException as raised:
        if raised is not error:
            raise
