"""Feeds for partners: the change feed (cursor, ETag, long poll)."""

from __future__ import annotations

from typing import Annotated

import anyio
import anyio.to_thread
from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from recnet.api.v1.http import conditional
from recnet.auth.principal import REALM, count_request, principal_of
from recnet.auth.scopes import Scope
from recnet.db import Database
from recnet.errors import Forbidden, Unauthorized, ValidationProblem
from recnet.services import feeds

router = APIRouter(prefix="/feeds", tags=["feeds"])
MAX_WAIT = 30.0
POLL_EVERY = 0.5


class ChangePage(BaseModel):
    """Changes after a cursor, in the log's order, as the caller may see them."""

    items: list[dict[str, object]] = Field(
        description="upsert (the record as it now is), removal (no longer visible to you), "
        "or statistics (what changed, with the figures you may see)."
    )
    next_cursor: str = Field(
        description="Pass as `after` to continue; it moves even past events you may not see."
    )
    has_more: bool


@router.get("/changes", response_model=ChangePage, responses={304: {}, 401: {}, 403: {}, 422: {}})
async def get_changes(
    request: Request,
    response: Response,
    after: Annotated[str | None, Query(max_length=20, description="A next_cursor.")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000, description="At most 500 are returned.")] = 100,
    kinds: Annotated[
        str | None, Query(max_length=100, description="e.g. practice,programme")
    ] = None,
    wait: Annotated[
        float, Query(ge=0, le=MAX_WAIT, description="Seconds to wait for something new.")
    ] = 0,
) -> Response:
    """Events after the cursor, as the caller may see them (scope feeds:read)."""
    principal = await principal_of(request)
    if not principal.authenticated:
        raise Unauthorized(
            "The change feed needs an access token.", headers={"WWW-Authenticate": REALM}
        )
    if not principal.has(Scope.feeds_read):
        raise Forbidden(
            "The change feed needs the scope feeds:read.",
            headers={
                "WWW-Authenticate": f'{REALM}, error="insufficient_scope", scope="feeds:read"'
            },
        )
    count_request(request, response, principal)
    if after is not None and not after.isdigit():
        raise ValidationProblem("after must be a cursor this service gave out.")
    chosen = tuple(k for k in (kinds or ",".join(feeds.KINDS)).split(",") if k)
    if not set(chosen) <= set(feeds.KINDS):
        raise ValidationProblem(f"kinds are {', '.join(feeds.KINDS)}.")
    database: Database = request.app.state.database
    start = int(after or 0)

    def read() -> feeds.FeedPage:
        with database.transaction(write=False) as session:
            return feeds.page(session, principal, after=start, limit=limit, kinds=chosen)

    deadline = anyio.current_time() + wait
    while True:
        # Each look takes a database slot only while it reads; the wait between holds none.
        async with database.admission():
            found = await anyio.to_thread.run_sync(read)
        if found.items or found.has_more or anyio.current_time() >= deadline:
            break
        start = found.last_seq
        await anyio.sleep(POLL_EVERY)
    page = ChangePage(items=found.items, next_cursor=str(found.last_seq), has_more=found.has_more)
    return conditional(request, response, page)
