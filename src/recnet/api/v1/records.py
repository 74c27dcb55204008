"""Routes shared by good practices and programmes, made once per kind.

(No ``from __future__ import annotations`` here: the route signatures use the kind's schemas,
which FastAPI must see as real types.)
"""

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Path, Query, Request, Response

from recnet.api.deps import (
    PrincipalDep,
    RateLimit,
    Require,
    SessionDep,
)
from recnet.api.http import (
    conditional,
    if_match_versions,
    preferred_languages,
    version_etag,
)
from recnet.api.readcache import CachedReadRoute
from recnet.api.v1.record_lists import (
    MAX_CURSOR,
    MAX_LIMIT,
    MAX_Q,
    TENANT_PATTERN,
    ListQuery,
    answer_list,
    tags_of,
)
from recnet.errors import Conflict, ValidationProblem
from recnet.schemas.common import Page, SourceRef
from recnet.schemas.records import Versions
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
from recnet.services import record_reads, records
from recnet.services.record_reads import DEFAULT_LIMIT, Sort
from recnet.services.records import Expected, Kind

IfMatch = Annotated[
    str | None, Header(max_length=200, description="ETag of the version being changed.")
]
Lang = Annotated[
    Language | None,
    Query(description="Only records in this language; also picks the language of title/summary."),
]
ReadLang = Annotated[
    Language | None,
    Query(description="The language of title/summary (before Accept-Language)."),
]
RecordId = Annotated[uuid.UUID, Path(description="The record's id.")]
MERGE_PATCH = "application/merge-patch+json"


def _record_path(kind: Kind, record_id: uuid.UUID | str) -> str:
    return f"/v1/{kind.plural}/{record_id}"


def _by_ref_path(kind: Kind, source_ref: str) -> str:
    return f"/v1/{kind.plural}/by-ref/{source_ref}"


def _expected(if_match: str | None) -> Expected | None:
    """The versions a change is made against, as its If-Match names them (None without one)."""
    return None if if_match is None else Expected(if_match_versions(if_match))


@contextmanager
def _pointing_to_routes(kind: Kind) -> Iterator[None]:
    """The record rules' refusals, told with the route that does what the caller meant."""
    try:
        yield
    except records.SourceRefTaken as taken:
        raise Conflict(
            f"Your tenant already has a {kind.name} with source_ref {taken.source_ref!r}; "
            f"update it with PUT {_by_ref_path(kind, taken.source_ref)}."
        ) from None
    except records.StatusInPatch:
        raise ValidationProblem(
            f"Change the status with POST {_record_path(kind, '{id}')}/publish or DELETE.",
        ) from None


def _answer(
    kind: Kind,
    request: Request,
    response: Response,
    record: Any,
    status_code: int = 200,
    lang: Language | None = None,
    **headers: str,
) -> Response:
    """The record as the caller reads it (in ``lang`` if it has it, else as Accept-Language
    prefers), with the ETag of its version and language."""
    preferred = preferred_languages(request, lang.value if lang else None)
    read = record_reads.to_read(kind, record, preferred)
    return conditional(
        request,
        response,
        read,
        etag=version_etag(record.version, read.lang),
        status_code=status_code,
        headers={"Vary": "Accept-Language", **headers},
    )


# The route functions below carry no docstring: the summaries are given where they are added.


def _create_route(kind: Kind) -> Callable[..., Response]:
    Create = kind.create
    Writer = Annotated[Any, Require(kind.scope)]

    def create(
        request: Request,
        response: Response,
        body: Create,  # type: ignore[valid-type]
        principal: Writer,
        session: SessionDep,
    ) -> Response:
        with _pointing_to_routes(kind):
            record = records.create(session, principal, kind, body.model_dump(mode="json"))  # type: ignore[attr-defined]
        location = _record_path(kind, record.id)
        return _answer(kind, request, response, record, 201, Location=location)

    return create


def _upsert_route(kind: Kind) -> Callable[..., Response]:
    Create = kind.create
    Writer = Annotated[Any, Require(kind.scope)]

    def upsert(
        request: Request,
        response: Response,
        source_ref: Annotated[SourceRef, Path()],
        body: Create,  # type: ignore[valid-type]
        principal: Writer,
        session: SessionDep,
    ) -> Response:
        payload = body.model_dump(mode="json", exclude_unset=True)  # type: ignore[attr-defined]
        with _pointing_to_routes(kind):
            record, created = records.upsert_by_ref(session, principal, kind, source_ref, payload)
        status_code = 201 if created else 200
        location = _record_path(kind, record.id)
        return _answer(kind, request, response, record, status_code, Location=location)

    return upsert


def _update_route(kind: Kind) -> Callable[..., Response]:
    Writer = Annotated[Any, Require(kind.scope)]

    def update(
        request: Request,
        response: Response,
        record_id: RecordId,
        principal: Writer,
        session: SessionDep,
        patch: Annotated[dict[str, Any], Body(media_type=MERGE_PATCH)],
        if_match: IfMatch = None,
    ) -> Response:
        with _pointing_to_routes(kind):
            record = records.patch(session, principal, kind, record_id, patch, _expected(if_match))
        return _answer(kind, request, response, record)

    return update


def _state_change_route(kind: Kind, change: Callable[..., Any]) -> Callable[..., Response]:
    """A route that moves a record to another status (publish, withdraw)."""
    Writer = Annotated[Any, Require(kind.scope)]

    def route(
        request: Request,
        response: Response,
        record_id: RecordId,
        principal: Writer,
        session: SessionDep,
        if_match: IfMatch = None,
    ) -> Response:
        record = change(session, principal, kind, record_id, _expected(if_match))
        return _answer(kind, request, response, record)

    return route


def _read_route(kind: Kind) -> Callable[..., Response]:
    def read(
        request: Request,
        response: Response,
        record_id: RecordId,
        principal: PrincipalDep,
        session: SessionDep,
        lang: ReadLang = None,
    ) -> Response:
        record = record_reads.get_visible(session, principal, kind, record_id)
        return _answer(kind, request, response, record, lang=lang)

    return read


def _history_route(kind: Kind) -> Callable[..., Response]:
    def history(
        request: Request,
        response: Response,
        record_id: RecordId,
        principal: PrincipalDep,
        session: SessionDep,
    ) -> Response:
        found = record_reads.versions(session, principal, kind, record_id)
        return conditional(request, response, Versions(items=found))

    return history


def _list_route(kind: Kind) -> Callable[..., Any]:
    # The parameters are declared here for FastAPI to validate and document; most requests are
    # answered on the direct path with the same answer (api/v1/record_lists.py).
    async def listing(
        request: Request,
        tenant: Annotated[str | None, Query(pattern=TENANT_PATTERN)] = None,
        working_group: WorkingGroup | None = None,
        approach: Annotated[
            Approach | None, Query(description="Approach (practices) or component (programmes).")
        ] = None,
        component: Annotated[Approach | None, Query(description="Alias of approach.")] = None,
        target_group: TargetGroup | None = None,
        evidence_level: EvidenceLevel | None = None,
        activity_status: ActivityStatus | None = None,
        status: RecordStatus | None = None,
        tlp: TlpMarking | None = None,
        lang: Lang = None,
        updated_since: datetime | None = None,
        q: Annotated[str | None, Query(max_length=MAX_Q, description="Full-text search.")] = None,
        sort: Sort | None = None,
        limit: Annotated[
            int, Query(ge=1, le=MAX_LIMIT, description="Page size; at most 100 are returned.")
        ] = DEFAULT_LIMIT,
        cursor: Annotated[str | None, Query(max_length=MAX_CURSOR)] = None,
    ) -> Response:
        tags = tags_of(
            {
                "working_group": working_group,
                "approach": approach,
                "component": component,
                "target_group": target_group,
                "evidence_level": evidence_level,
                "activity_status": activity_status,
                "lang": lang,
            }
        )
        query = ListQuery(
            tenant=tenant,
            tags=tags,
            status=status.value if status else None,
            tlp=tlp.value if tlp else None,
            lang=lang.value if lang else None,
            updated_since=updated_since,
            q=q,
            sort=sort,
            limit=limit,
            cursor=cursor,
        )
        return await answer_list(kind, request, query)

    return listing


def record_router(kind: Kind) -> APIRouter:
    """The complete set of operations for one kind of record."""
    router = APIRouter(prefix=f"/{kind.plural}", tags=[kind.plural])
    # Every route counts against the caller's rate limit; the list does it itself (it is async).
    limited = [RateLimit]
    Read = kind.read
    name, plural = kind.name, kind.plural
    errors: dict[int | str, dict[str, Any]] = {404: {"description": f"No such {name}"}}
    write_errors: dict[int | str, dict[str, Any]] = {
        **errors,
        401: {"description": "No valid token"},
        403: {"description": f"Needs {kind.scope.value}"},
        409: {"description": "Conflict"},
        412: {"description": "Stale If-Match"},
        422: {"description": "Invalid record"},
    }

    router.add_api_route(
        "",
        _list_route(kind),
        methods=["GET"],
        name=f"list_{plural}",
        response_model=Page[Read],  # type: ignore[valid-type]
        summary=f"List and search the {plural} visible to the caller.",
        route_class_override=CachedReadRoute,
    )
    router.add_api_route(
        "",
        _create_route(kind),
        dependencies=limited,
        methods=["POST"],
        name=f"create_{name}",
        response_model=Read,
        status_code=201,
        responses=write_errors,
        summary=f"Create a {name} in the caller's own tenant.",
    )
    router.add_api_route(
        "/by-ref/{source_ref}",
        _upsert_route(kind),
        dependencies=limited,
        methods=["PUT"],
        name=f"upsert_{name}_by_ref",
        response_model=Read,
        responses={
            201: {"model": Read, "description": f"Created: no {name} had this reference yet."},
            **write_errors,
        },
        summary=f"Create or replace the caller's {name} with this reference (idempotent push).",
    )
    router.add_api_route(
        "/{record_id}",
        _read_route(kind),
        dependencies=limited,
        methods=["GET"],
        name=f"get_{name}",
        response_model=Read,
        responses=errors,
        summary=f"One {name}.",
    )
    router.add_api_route(
        "/{record_id}",
        _update_route(kind),
        dependencies=limited,
        methods=["PATCH"],
        name=f"update_{name}",
        response_model=Read,
        responses={**write_errors, 428: {"description": "If-Match missing"}},
        summary=f"Change a {name} with a JSON merge patch (RFC 7396); needs If-Match.",
    )
    router.add_api_route(
        "/{record_id}",
        _state_change_route(kind, records.withdraw),
        dependencies=limited,
        methods=["DELETE"],
        name=f"withdraw_{name}",
        response_model=Read,
        responses=write_errors,
        summary=f"Withdraw a {name}: it stays as a tombstone, visible in history and feeds.",
    )
    router.add_api_route(
        "/{record_id}/publish",
        _state_change_route(kind, records.publish),
        dependencies=limited,
        methods=["POST"],
        name=f"publish_{name}",
        response_model=Read,
        responses=write_errors,
        summary=f"Publish a draft {name}.",
    )
    router.add_api_route(
        "/{record_id}/versions",
        _history_route(kind),
        dependencies=limited,
        methods=["GET"],
        name=f"list_{name}_versions",
        response_model=Versions,
        responses=errors,
        summary=f"Every version of a {name}: who changed it, when, and how.",
    )
    return router
