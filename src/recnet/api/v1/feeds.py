"""Feeds for partners: the change feed (cursor, ETag, long poll), and Atom and JSON Feed of the
latest published practices and programmes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlencode

import anyio
import orjson
from fastapi import APIRouter, Query, Request, Response
from sqlmodel import Session

from recnet.api.deps import PrincipalDep, RateLimit, SessionDep, count_request, principal_of
from recnet.api.http import conditional, next_link, preferred_languages, public_base
from recnet.auth.principal import Principal, bearer_token, check_scopes, resolve
from recnet.auth.scopes import Scope
from recnet.db import Database
from recnet.errors import Forbidden, ValidationProblem
from recnet.formats.feeds import ATOM, JSON_FEED, FeedEntry, atom, json_feed
from recnet.models import Record
from recnet.schemas.feeds import FEED_KINDS, ChangePage
from recnet.schemas.vocabularies import Language
from recnet.services import events, feeds, records
from recnet.services.practices import PRACTICES
from recnet.services.programmes import PROGRAMMES
from recnet.services.records import Filters, Kind

router = APIRouter(prefix="/feeds", tags=["feeds"])
MAX_WAIT = 30.0
POLL_EVERY = 0.5


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
    # Async, resolving the caller and counting the request itself, as ``Require`` and
    # ``RateLimit`` would: the long poll must not hold the request's session while it waits.
    principal = check_scopes(await principal_of(request), Scope.feeds_read, what="The change feed")
    count_request(request, response, principal)
    try:
        start = events.parse_seq(after) if after is not None else 0
    except ValidationProblem:
        raise ValidationProblem("after must be a cursor this service gave out.") from None
    chosen = tuple(k for k in (kinds or ",".join(FEED_KINDS)).split(",") if k)
    if not set(chosen) <= set(FEED_KINDS):
        raise ValidationProblem(f"kinds are {', '.join(FEED_KINDS)}.")
    database: Database = request.app.state.database

    token = bearer_token(request.headers.get("authorization"))
    state = request.app.state

    def read(session: Session) -> feeds.FeedPage:
        # The client as it is now, at every look: a long poll ends (401) on the first look
        # after its client is disabled or its secret rotated.
        current = resolve(session, state.settings, state.keyring, token or "")
        if not current.has(Scope.feeds_read):
            raise Forbidden("The change feed needs the scope feeds:read.")
        return feeds.page(session, current, after=start, limit=limit, kinds=chosen, embedded=True)

    deadline = anyio.current_time() + wait
    while True:
        # Each look takes a database slot only while it reads; the wait between holds none.
        found = await database.run(read, write=False)
        if found.items or found.has_more or anyio.current_time() >= deadline:
            break
        start = found.last_seq
        await anyio.sleep(POLL_EVERY)
    # ChangePage's fields, serialised by orjson with the stored records embedded as they are.
    page = {"items": found.items, "next_cursor": str(found.last_seq), "has_more": found.has_more}
    # The next page is always named: after the last event seen (possibly empty for now).
    link = next_link(request, str(found.last_seq), "after")
    return conditional(request, response, orjson.dumps(page), headers={"Link": link})


def _entry(kind: Kind, record: Record, preferred: list[str], base: str) -> FeedEntry:
    read = records.to_read(kind, record, preferred)
    tags = [str(record.data.get("working_group") or "")]
    tags += [str(a) for a in record.data.get("approaches", record.data.get("components", []))]
    return FeedEntry(
        id=f"urn:uuid:{record.id}",
        title=read.title,
        summary=read.summary,
        updated=record.updated_at,
        published=record.created_at,
        url=f"{base}/v1/{kind.plural}/{record.id}",
        language=read.lang,
        author=record.tenant,
        categories=tuple(t for t in tags if t),
        page_url=f"{base}/{kind.plural}/{record.id}",
    )


def _feed(
    kind: Kind,
    form: str,
    request: Request,
    response: Response,
    principal: Principal,
    session: Session,
    lang: str | None,
    limit: int,
    cursor: str | None,
) -> Response:
    rows, next_cursor = records.list_records(
        session,
        principal,
        kind,
        Filters(status="published"),
        sort="-updated_at",
        limit=min(limit, 100),
        cursor=cursor,
    )
    preferred = preferred_languages(request, lang)
    base = public_base(request)
    entries = [_entry(kind, r, preferred, base) for r in rows]
    here = f"{base}/v1/feeds/{kind.plural}.{form}"
    query = {k: v for k, v in (("lang", lang), ("limit", str(limit))) if v}
    next_url = f"{here}?{urlencode({**query, 'cursor': next_cursor})}" if next_cursor else None
    title = f"recnet — {kind.plural}"
    if form == "atom":
        body = atom(
            feed_id=f"urn:recnet:feed:{kind.plural}",
            title=title,
            self_url=f"{here}?{urlencode(query)}" if query else here,
            alternate_url=f"{base}/",
            updated=entries[0].updated if entries else _EPOCH,
            entries=entries,
            next_url=next_url,
            language=preferred[0] if preferred else None,
        )
        media = ATOM
    else:
        body = json_feed(
            title=title,
            home_page_url=f"{base}/",
            feed_url=here,
            description=f"The latest published {kind.plural} of the Regional Expert Council.",
            entries=entries,
            next_url=next_url,
            language=preferred[0] if preferred else None,
        )
        media = JSON_FEED
    return conditional(
        request,
        response,
        body,
        media_type=media,
        headers={
            "Vary": "Accept-Language, Authorization",
            **({"Link": f'<{next_url}>; rel="next"'} if next_url else {}),
        },
    )


_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
Lang = Annotated[Language | None, Query(description="Language of titles and summaries.")]
Limit = Annotated[int, Query(ge=1, le=10_000, description="Entries per page (at most 100).")]
Cursor = Annotated[str | None, Query(max_length=500)]


def _feed_route(kind: Kind, form: str) -> Callable[..., Response]:
    def route(
        request: Request,
        response: Response,
        principal: PrincipalDep,
        session: SessionDep,
        lang: Lang = None,
        limit: Limit = 20,
        cursor: Cursor = None,
    ) -> Response:
        language = lang.value if lang else None
        return _feed(kind, form, request, response, principal, session, language, limit, cursor)

    return route


def _add_feed_routes(kind: Kind) -> None:
    for form, media, name in (("atom", ATOM, "Atom"), ("json", JSON_FEED, "JSON Feed 1.1")):
        router.add_api_route(
            f"/{kind.plural}.{form}",
            _feed_route(kind, form),
            methods=["GET"],
            name=f"get_{kind.plural}_{form}_feed",
            summary=f"The latest published {kind.plural} you may see, as {name}.",
            response_class=Response,
            responses={200: {"content": {media.split(";")[0]: {}}}, 304: {}},
            dependencies=[RateLimit],
        )


for _kind in (PRACTICES, PROGRAMMES):
    _add_feed_routes(_kind)
