"""Reading records: one record as the caller may see it, its versions, and the filtered,
searchable, paged list of them, in the language the caller prefers.

Every read goes through the one visibility rule (``auth/visibility.py``); the queries are in
``repositories/records.py``; what differs between practices and programmes is their ``Kind``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

import orjson
from sqlmodel import Session

from recnet.auth.principal import Principal
from recnet.auth.visibility import may_read, sees_actor_client
from recnet.errors import NotFound, ValidationProblem, moment_in_utc
from recnet.models import Record
from recnet.repositories import records as repository
from recnet.repositories.records import Filters
from recnet.schemas.paging import cursor_refused, decode_cursor, encode_cursor
from recnet.schemas.records import RecordMeta, Version
from recnet.schemas.vocabularies import Language
from recnet.services import events

if TYPE_CHECKING:  # Kind is defined beside the rules of change, which import this module
    from recnet.services.records import Kind

MAX_LIMIT = 100
DEFAULT_LIMIT = 20
Sort = Literal["-updated_at", "updated_at", "-created_at", "created_at", "relevance"]


# ---------------------------------------------------------------- one record


def choose_language(record: Record, preferred: Sequence[str]) -> str | None:
    return _language(record.data, preferred)


def _language(data: dict[str, Any], preferred: Sequence[str]) -> str | None:
    return _title_language(data.get("title", {}), preferred)


def _title_language(title: dict[str, str], preferred: Sequence[str]) -> str | None:
    available = list(title)
    for lang in [*preferred, Language.en_.value, Language.ru_.value]:
        if lang in available:
            return lang
    return available[0] if available else None


def to_read(kind: Kind, record: Record, preferred: Sequence[str] = ()) -> RecordMeta:
    lang = choose_language(record, preferred)
    title: dict[str, str] = record.data.get("title", {})
    summary: dict[str, str] | None = record.data.get("summary")
    return kind.read.model_validate(
        {
            "id": record.id,
            "tenant": record.tenant,
            "source_ref": record.source_ref,
            "version": record.version,
            "status": record.status,
            "tlp": record.tlp,
            "created_at": record.created_at,
            "updated_at": record.updated_at,
            "languages": sorted(title),
            "lang": lang,
            "title": title.get(lang, "") if lang else "",
            "summary": summary.get(lang) if (summary and lang) else None,
            "document": record.data,
        }
    )


def get_visible(session: Session, principal: Principal, kind: Kind, record_id: uuid.UUID) -> Record:
    record = session.get(Record, record_id)
    if (
        record is None
        or record.kind != kind.name
        or not may_read(principal, tenant=record.tenant, tlp=record.tlp, status=record.status)
    ):
        raise NotFound(f"No {kind.name} {record_id}.")
    return record


def versions(
    session: Session, principal: Principal, kind: Kind, record_id: uuid.UUID
) -> list[Version]:
    record = get_visible(session, principal, kind, record_id)
    clients = sees_actor_client(principal, record.tenant)
    return [
        Version(
            version=e.version or 0,
            action=e.action,
            status=e.status or "",
            tlp=e.tlp or "",
            at=e.occurred_at,
            actor_client=e.actor_client if clients else None,
            actor_organisation=e.actor_organisation,
            event=e.seq,
        )
        for e in events.for_record(session, record_id)
    ]


# ---------------------------------------------------------------- listing


def list_records(
    session: Session,
    principal: Principal,
    kind: Kind,
    filters: Filters,
    *,
    sort: Sort | None,
    limit: int,
    cursor: str | None,
    page: bool = False,
) -> tuple[list[Any], str | None]:
    """A page of the records ``principal`` may read, and the cursor of the next; rows are
    ``Record`` objects, or tuples of ``repository.PAGE_COLUMNS`` when ``page``."""
    limit = max(1, min(limit, MAX_LIMIT))
    if filters.updated_since is not None:
        since = moment_in_utc(filters.updated_since, "updated_since")
        filters = replace(filters, updated_since=since)
    listing = repository.visible(principal, kind.name, filters, page=page)
    position = decode_cursor(cursor, dict) if cursor else {}
    if filters.q and repository.words(filters.q):
        matching, relevance = repository.restrict(listing.statement, session, filters.q)
        if sort in (None, "relevance"):
            offset = position.get("offset", 0)
            if not isinstance(offset, int) or not 0 <= offset <= repository.MAX_OFFSET:
                raise cursor_refused()
            rows = repository.relevance_page(
                session, matching, listing.values, relevance, offset=offset, limit=limit + 1
            )
            more = len(rows) > limit
            return rows[:limit], encode_cursor({"offset": offset + limit}) if more else None
        listing = repository.Listing(listing.shape, listing.values, narrowed=matching)
    elif sort == "relevance":
        raise ValidationProblem("sort=relevance needs a search query q.")

    key = (sort or "-updated_at").lstrip("-")
    descending = (sort or "-updated_at").startswith("-")
    after = None
    if position:
        try:
            moment = datetime.fromisoformat(str(position["v"]))
            if moment.tzinfo is None:  # the service's cursors always carry their zone
                raise ValueError(moment)
            after = (moment.astimezone(UTC), uuid.UUID(str(position["id"])))
        except (KeyError, ValueError, OverflowError):
            raise cursor_refused() from None
    rows = repository.keyset_page(
        session, listing, key, descending=descending, after=after, limit=limit + 1
    )
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    next_cursor = encode_cursor({"v": getattr(last, key).isoformat(), "id": str(last.id)})
    return rows[:limit], next_cursor


# Documents parsed for their title and summary, by their text: the same records come back page
# after page, and parsing a whole document was the largest single cost of a page in the profile.
# Keyed by the exact text, so an answer is never older than the document; at most 512 are held.
@lru_cache(maxsize=512)
def _title_and_summary(document: str) -> tuple[dict[str, str], dict[str, str] | None]:
    """The title and summary of a stored document (shared between callers: read, not changed)."""
    data = orjson.loads(document)
    return data.get("title", {}), data.get("summary")


def list_page(
    session: Session,
    principal: Principal,
    kind: Kind,
    filters: Filters,
    *,
    sort: Sort | None,
    limit: int,
    cursor: str | None,
    preferred: Sequence[str],
) -> tuple[bytes, str | None]:
    """The JSON of ``Page[kind.read]`` for ``list_records``, built straight from the rows, and
    its next cursor (the route links the next page with it).

    The documents were validated when they were written and are stored as the read model
    serialises them, so they are embedded without being parsed into models again (a test
    checks the result equals the models' own serialisation).
    """
    rows, next_cursor = list_records(
        session,
        principal,
        kind,
        filters,
        sort=sort,
        limit=limit,
        cursor=cursor,
        page=True,
    )
    items = []
    for row in rows:
        title, summary = _title_and_summary(row.document)
        lang = _title_language(title, preferred)
        items.append(
            {
                "id": row.id,
                "tenant": row.tenant,
                "source_ref": row.source_ref,
                "version": row.version,
                "status": row.status,
                "tlp": row.tlp,
                "created_at": row.created_at,
                "updated_at": row.updated_at,
                "languages": sorted(title),
                "lang": lang,
                "title": title.get(lang, "") if lang else "",
                "summary": summary.get(lang) if (summary and lang) else None,
                "document": orjson.Fragment(row.document),
            }
        )
    body = orjson.dumps({"items": items, "next_cursor": next_cursor}, option=orjson.OPT_UTC_Z)
    return body, next_cursor
