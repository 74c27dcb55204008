"""A kind's record list: its parameters, and the answer both of its paths give.

The list (``GET /v1/practices``, ``GET /v1/programmes``) is the API's most read route, and it is
reached two ways that end in the same ``answer_list``:

- the FastAPI route (``api/v1/records.py``), which declares the parameters for the OpenAPI
  document and validates every query, answering the 422s;
- the direct path (``api/direct.py``), which reads a well-formed query itself (``parse_list_query``)
  and skips FastAPI's routing and parameter solving, most of a list request's cost on the event
  loop. Whatever it does not take as certainly valid (a malformed, repeated, empty or unusual
  value) it hands to the FastAPI route untouched, so every refusal is the route's own.

``parse_list_query`` accepts a subset of what the route accepts and reads it to the same values;
tests hold the two paths' answers equal, byte for byte, over a corpus of queries and callers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import get_args
from urllib.parse import parse_qsl

from fastapi import Request, Response
from pydantic import TypeAdapter, ValidationError
from sqlmodel import Session

from recnet.api.deps import count_request, principal_of
from recnet.api.direct import DirectEndpoint
from recnet.api.http import next_link, preferred_languages
from recnet.api.readcache import Answer, cached_read, request_key
from recnet.schemas.vocabularies import (
    ActivityStatus,
    Approach,
    EvidenceLevel,
    Language,
    RecordStatus,
    TargetGroup,
    TlpMarking,
    WorkingGroup,
)
from recnet.services import record_reads
from recnet.services.record_reads import DEFAULT_LIMIT, Sort
from recnet.services.records import Filters, Kind

# The route's bounds (api/v1/records.py declares them to FastAPI).
MAX_LIMIT = 10_000
MAX_Q = 200
MAX_CURSOR = 500
TENANT_PATTERN = r"^[A-Z]{3}$"

# The filters that are tags of a record, by parameter (``component`` is ``approach``'s alias).
TAG_PARAMETERS: dict[str, type[Enum]] = {
    "working_group": WorkingGroup,
    "approach": Approach,
    "component": Approach,
    "target_group": TargetGroup,
    "evidence_level": EvidenceLevel,
    "activity_status": ActivityStatus,
    "lang": Language,
}
_ENUM_PARAMETERS: dict[str, type[Enum]] = {
    **TAG_PARAMETERS,
    "status": RecordStatus,
    "tlp": TlpMarking,
}
_SORTS = frozenset(get_args(Sort))
# Every parameter the list takes (a test holds it equal to the route's).
PARAMETERS = frozenset(_ENUM_PARAMETERS) | {
    "tenant", "updated_since", "q", "sort", "limit", "cursor",
}  # fmt: skip

_TENANT = re.compile(r"[A-Z]{3}")
# A page size as plainly written: no sign, no leading zero, no spaces, no other digits.
_LIMIT = re.compile(r"[1-9][0-9]{0,4}")
_DATETIME = TypeAdapter(datetime)


@dataclass(frozen=True)
class ListQuery:
    """What a list request asks for, read and valid."""

    tenant: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    status: str | None = None
    tlp: str | None = None
    lang: str | None = None
    updated_since: datetime | None = None
    q: str | None = None
    sort: Sort | None = None
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None

    @property
    def filters(self) -> Filters:
        return Filters(
            tenant=self.tenant,
            status=self.status,
            tlp=self.tlp,
            updated_since=self.updated_since,
            q=self.q,
            tags=self.tags,
        )


def tags_of(values: dict[str, Enum | None]) -> dict[str, str]:
    """The tag filters given, by tag (``approach`` taken from ``component`` when only it is)."""
    approach = values.get("approach") or values.get("component")
    given = {**values, "approach": approach}
    return {
        tag: str(value.value)
        for tag, value in given.items()
        if tag != "component" and value is not None
    }


def parse_list_query(query_string: bytes) -> ListQuery | None:
    """The query, when it is certainly one the route takes, read as the route reads it; None
    for anything else (the route then answers it, a 422 included).

    Parameters are split as Starlette splits them. Taken: each known name at most once, with a
    non-empty value that is an enum's exact code, a tenant of three capitals, a page size of
    plain digits within bounds, a date-time pydantic reads (the route's own reader), or text
    within its length.
    """
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    given: dict[str, str] = {}
    for name, value in pairs:
        if name in given or name not in PARAMETERS or not value:
            return None
        given[name] = value
    enums: dict[str, Enum | None] = {}
    for name, vocabulary in _ENUM_PARAMETERS.items():
        code = given.get(name)
        if code is None:
            continue
        member = vocabulary._value2member_map_.get(code)
        if member is None:
            return None
        enums[name] = member
    tenant = given.get("tenant")
    if tenant is not None and not _TENANT.fullmatch(tenant):
        return None
    limit = given.get("limit")
    if limit is not None and not (_LIMIT.fullmatch(limit) and int(limit) <= MAX_LIMIT):
        return None
    sort = given.get("sort")
    if sort is not None and sort not in _SORTS:
        return None
    q, cursor = given.get("q"), given.get("cursor")
    if (q is not None and len(q) > MAX_Q) or (cursor is not None and len(cursor) > MAX_CURSOR):
        return None
    updated_since = None
    if "updated_since" in given:
        try:
            updated_since = _DATETIME.validate_python(given["updated_since"])
        except ValidationError:
            return None
    return ListQuery(
        tenant=tenant,
        tags=tags_of({name: enums.get(name) for name in TAG_PARAMETERS}),
        status=given.get("status"),
        tlp=given.get("tlp"),
        lang=given.get("lang"),
        updated_since=updated_since,
        q=q,
        sort=sort,  # type: ignore[arg-type]
        limit=int(limit) if limit is not None else DEFAULT_LIMIT,
        cursor=cursor,
    )


async def answer_list(kind: Kind, request: Request, query: ListQuery) -> Response:
    """The page the caller may see: through the one door (the caller resolved from its token,
    the request counted against its limit, the rows chosen by ``record_reads``'s visibility rule
    under row-level security), and through the read cache."""
    # The caller is resolved here, not by a dependency: a page read before that nothing has
    # changed since is answered from the read cache without a thread or a connection.
    principal = await principal_of(request)
    response = Response()
    count_request(request, response, principal)
    preferred = preferred_languages(request, query.lang)

    def compute(session: Session) -> Answer:
        body, next_cursor = record_reads.list_page(
            session,
            principal,
            kind,
            query.filters,
            sort=query.sort,
            limit=query.limit,
            cursor=query.cursor,
            preferred=preferred,
        )
        headers = [("Vary", "Accept-Language")]
        if next_cursor:
            headers.append(("Link", next_link(request, next_cursor)))
        return Answer(body, headers=tuple(headers))

    return await cached_read(request, response, principal, request_key(request, preferred), compute)


def direct_list(kind: Kind) -> DirectEndpoint:
    """The list on the direct path (``api/direct.py``): None hands the request to the route."""

    async def endpoint(request: Request) -> Response | None:
        query = parse_list_query(request.scope.get("query_string", b""))
        if query is None:
            return None
        return await answer_list(kind, request, query)

    return endpoint


__all__ = [
    "PARAMETERS",
    "ListQuery",
    "answer_list",
    "direct_list",
    "parse_list_query",
    "tags_of",
]
