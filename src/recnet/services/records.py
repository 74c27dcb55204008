"""The one mechanism behind good practices and programmes.

A ``Kind`` says what differs between them (schemas, scope, tags); everything else is shared:
create, read, merge-patch with If-Match, publish, withdraw, upsert by the agency's reference,
versions, and the filtered, searchable, paged list. Every change appends its event in the same
transaction; every read goes through the one visibility rule.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ValidationError
from sqlalchemy import Text, cast, exists
from sqlmodel import Session, col, delete, select

from recnet.auth.principal import Principal
from recnet.auth.scopes import Scope
from recnet.auth.visibility import may_change, may_read, readable, sees_actor_client
from recnet.clock import utcnow
from recnet.errors import (
    Conflict,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    ValidationProblem,
    validation_problem,
)
from recnet.models import Record, RecordTag
from recnet.schemas.records import RecordMeta, Version
from recnet.schemas.vocabularies import Language
from recnet.services import events, search

MAX_LIMIT = 100
DEFAULT_LIMIT = 20
SERVER_FIELDS = ("tlp", "source_ref")
Sort = Literal["-updated_at", "updated_at", "-created_at", "created_at", "relevance"]


@dataclass(frozen=True)
class Kind:
    """What makes practices and programmes differ."""

    name: str
    plural: str
    create: type[BaseModel]
    document: type[BaseModel]
    read: type[RecordMeta]
    scope: Scope
    # Controlled-vocabulary fields to index as tags: tag name → document field.
    tag_fields: dict[str, str] = field(default_factory=dict)


@dataclass
class Filters:
    tenant: str | None = None
    status: str | None = None
    tlp: str | None = None
    updated_since: datetime | None = None
    q: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


# ---------------------------------------------------------------- reading


def choose_language(record: Record, preferred: Sequence[str]) -> str | None:
    return _language(record.data, preferred)


def _language(data: dict[str, Any], preferred: Sequence[str]) -> str | None:
    available = list(data.get("title", {}))
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


def etag(record: Record, lang: str | None) -> str:
    return f'"v{record.version}.{lang or "-"}"'


_ETAG_VERSION = re.compile(r'^(?:W/)?"v(\d+)(?:\.[^"]*)?"$')


def check_if_match(record: Record, if_match: str | None, *, required: bool) -> None:
    if if_match is None:
        if required:
            raise PreconditionRequired(
                "Send If-Match with the ETag of the version you are changing."
            )
        return
    tags = [t.strip() for t in if_match.split(",")]
    if "*" in tags:
        return
    versions = {int(m.group(1)) for t in tags if (m := _ETAG_VERSION.match(t))}
    if record.version not in versions:
        raise PreconditionFailed(
            f"The record is at version {record.version}; your If-Match names another. "
            "Read it again and reapply your change."
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


def _get_for_change(
    session: Session, principal: Principal, kind: Kind, record_id: uuid.UUID
) -> Record:
    """The record, locked for the rest of the transaction, if the caller may change it."""
    record = session.exec(select(Record).where(Record.id == record_id).with_for_update()).first()
    # Whatever the reason (absent, another kind, another tenant, no scope): 404, never 403.
    if (
        record is None
        or record.kind != kind.name
        or not may_change(principal, tenant=record.tenant, scope=kind.scope)
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


# ---------------------------------------------------------------- writing


def _validate(kind: Kind, body: dict[str, Any]) -> dict[str, Any]:
    """The body checked against the kind's create schema, as JSON-ready values."""
    try:
        return kind.create.model_validate(body).model_dump(mode="json")
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        raise validation_problem(errors) from None


def _document(validated: dict[str, Any]) -> dict[str, Any]:
    """The kind's own fields: what the server keeps in columns is left out."""
    return {k: v for k, v in validated.items() if k not in ("tlp", "status", "source_ref")}


def _tags(kind: Kind, record: Record) -> list[tuple[str, str]]:
    tags = {("lang", lang) for lang in record.data.get("title", {})}
    for name, source in kind.tag_fields.items():
        value = record.data.get(source)
        values = value if isinstance(value, list) else [value]
        tags.update((name, str(v)) for v in values if v is not None)
    return sorted(tags)


def _index(session: Session, kind: Kind, record: Record, *, fresh: bool) -> None:
    if not fresh:
        session.exec(delete(RecordTag).where(col(RecordTag.record_id) == record.id))
    session.add_all(
        RecordTag(record_id=record.id, name=n, value=v, tenant=record.tenant)
        for n, v in _tags(kind, record)
    )
    session.flush()
    search.index(session, record)


def _snapshot(record: Record) -> dict[str, Any]:
    return {
        "id": str(record.id),
        "kind": record.kind,
        "tenant": record.tenant,
        "source_ref": record.source_ref,
        "version": record.version,
        "status": record.status,
        "tlp": record.tlp,
        "created_at": record.created_at.isoformat(),
        "updated_at": record.updated_at.isoformat(),
        "document": record.data,
    }


def _log(session: Session, principal: Principal, record: Record, action: str) -> None:
    events.append(
        session,
        principal,
        kind=record.kind,
        action=action,
        tenant=record.tenant,
        record_id=record.id,
        version=record.version,
        tlp=record.tlp,
        status=record.status,
        payload=_snapshot(record),
    )


def _require_writer(principal: Principal, kind: Kind) -> str:
    if principal.tenant is None or not principal.has(kind.scope):
        raise NotFound(f"Only a member state with {kind.scope.value} writes {kind.plural}.")
    return principal.tenant


def _source_ref_taken(session: Session, kind: Kind, tenant: str, source_ref: str) -> bool:
    return (
        session.exec(
            select(Record.id).where(
                Record.kind == kind.name, Record.tenant == tenant, Record.source_ref == source_ref
            )
        ).first()
        is not None
    )


def create(session: Session, principal: Principal, kind: Kind, body: dict[str, Any]) -> Record:
    tenant = _require_writer(principal, kind)
    validated = _validate(kind, body)
    source_ref = validated.get("source_ref")
    if source_ref and _source_ref_taken(session, kind, tenant, source_ref):
        raise Conflict(
            f"Your tenant already has a {kind.name} with source_ref {source_ref!r}; "
            f"update it with PUT /v1/{kind.plural}/by-ref/{source_ref}."
        )
    now = utcnow()
    record = Record(
        kind=kind.name,
        tenant=tenant,
        source_ref=source_ref,
        version=1,
        status=validated["status"],
        tlp=validated["tlp"],
        data=_document(validated),
        created_at=now,
        updated_at=now,
    )
    session.add(record)
    session.flush()
    _index(session, kind, record, fresh=True)
    _log(session, principal, record, "created")
    return record


def _merge(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON merge patch."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge(result.get(key), value)
    return result


def _editable(record: Record) -> dict[str, Any]:
    return {**record.data, "tlp": record.tlp, "source_ref": record.source_ref}


def _apply(
    session: Session, principal: Principal, kind: Kind, record: Record, new: dict[str, Any]
) -> bool:
    """Validate and store ``new`` (the editable view); False when nothing changed."""
    if record.status == "withdrawn":
        raise Conflict(f"This {kind.name} is withdrawn; it can no longer change.")
    validated = _validate(kind, {**new, "status": "draft"})
    document = _document(validated)
    tlp, source_ref = validated["tlp"], validated.get("source_ref")
    if document == record.data and tlp == record.tlp and source_ref == record.source_ref:
        return False
    if (
        source_ref
        and source_ref != record.source_ref
        and _source_ref_taken(session, kind, record.tenant, source_ref)
    ):
        raise Conflict(f"Your tenant already has a {kind.name} with source_ref {source_ref!r}.")
    record.data, record.tlp, record.source_ref = document, tlp, source_ref
    record.version += 1
    record.updated_at = utcnow()
    session.add(record)
    session.flush()
    _index(session, kind, record, fresh=False)
    _log(session, principal, record, "updated")
    return True


def patch(
    session: Session,
    principal: Principal,
    kind: Kind,
    record_id: uuid.UUID,
    body: dict[str, Any],
    if_match: str | None,
) -> Record:
    record = _get_for_change(session, principal, kind, record_id)
    check_if_match(record, if_match, required=True)
    if "status" in body:
        raise ValidationProblem(
            f"Change the status with POST /v1/{kind.plural}/{{id}}/publish or DELETE.",
        )
    _apply(session, principal, kind, record, _merge(_editable(record), body))
    return record


def publish(
    session: Session, principal: Principal, kind: Kind, record_id: uuid.UUID, if_match: str | None
) -> Record:
    record = _get_for_change(session, principal, kind, record_id)
    check_if_match(record, if_match, required=False)
    if record.status == "withdrawn":
        raise Conflict(f"This {kind.name} is withdrawn; it cannot be published again.")
    if record.status == "published":
        return record
    _transition(session, principal, record, "published")
    return record


def withdraw(
    session: Session, principal: Principal, kind: Kind, record_id: uuid.UUID, if_match: str | None
) -> Record:
    record = _get_for_change(session, principal, kind, record_id)
    check_if_match(record, if_match, required=False)
    if record.status != "withdrawn":
        _transition(session, principal, record, "withdrawn")
    return record


def _transition(session: Session, principal: Principal, record: Record, status: str) -> None:
    record.status = status
    record.version += 1
    record.updated_at = utcnow()
    session.add(record)
    session.flush()
    _log(session, principal, record, status)


def upsert_by_ref(
    session: Session, principal: Principal, kind: Kind, source_ref: str, body: dict[str, Any]
) -> tuple[Record, bool]:
    """Create or replace the caller's record with this reference; (record, created)."""
    tenant = _require_writer(principal, kind)
    if body.get("source_ref", source_ref) != source_ref:
        raise ValidationProblem("The body's source_ref differs from the one in the path.")
    body = {**body, "source_ref": source_ref}
    existing = session.exec(
        select(Record)
        .where(Record.kind == kind.name, Record.tenant == tenant, Record.source_ref == source_ref)
        .with_for_update()
    ).first()
    if existing is None:
        return create(session, principal, kind, body), True
    status = body.pop("status", None)
    _apply(session, principal, kind, existing, body)
    if status == "published" and existing.status == "draft":
        _transition(session, principal, existing, "published")
    return existing, False


# ---------------------------------------------------------------- listing


# Far past any result a search has, and within what OFFSET takes on both databases.
MAX_OFFSET = 2**31 - 1


def encode_cursor(values: dict[str, Any]) -> str:
    raw = json.dumps(values, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        decoded = None
    if not isinstance(decoded, dict):
        raise ValidationProblem("The cursor is not one this service gave out.")
    return decoded


_SORT_COLUMNS: dict[str, Callable[[], Any]] = {
    "updated_at": lambda: col(Record.updated_at),
    "created_at": lambda: col(Record.created_at),
}


def list_records(
    session: Session,
    principal: Principal,
    kind: Kind,
    filters: Filters,
    *,
    sort: Sort | None,
    limit: int,
    cursor: str | None,
    columns: Sequence[Any] = (),
) -> tuple[list[Any], str | None]:
    """A page of the records ``principal`` may read, and the cursor of the next; rows are
    ``Record`` objects, or tuples of ``columns`` when given (which must include the sort keys)."""
    limit = max(1, min(limit, MAX_LIMIT))
    query: Any = select(*columns) if columns else select(Record)
    query = query.where(
        Record.kind == kind.name,
        readable(principal, col(Record.tenant), col(Record.tlp), col(Record.status)),
    )
    if filters.tenant:
        query = query.where(Record.tenant == filters.tenant)
    if filters.status:
        query = query.where(Record.status == filters.status)
    if filters.tlp:
        query = query.where(Record.tlp == filters.tlp)
    if filters.updated_since:
        query = query.where(col(Record.updated_at) >= filters.updated_since)
    for name, value in filters.tags.items():
        query = query.where(
            exists().where(
                col(RecordTag.record_id) == col(Record.id),
                col(RecordTag.name) == name,
                col(RecordTag.value) == value,
            )
        )
    position = decode_cursor(cursor) if cursor else {}
    if filters.q and search.words(filters.q):
        matching, relevance = search.restrict(query, session, filters.q)
        if sort in (None, "relevance"):
            offset = position.get("offset", 0)
            if not isinstance(offset, int) or not 0 <= offset <= MAX_OFFSET:
                raise ValidationProblem("The cursor is not one this service gave out.")
            ordered = matching.order_by(relevance, col(Record.id)).offset(offset).limit(limit + 1)
            rows = list(session.exec(ordered))
            more = len(rows) > limit
            return rows[:limit], encode_cursor({"offset": offset + limit}) if more else None
        query = matching  # the matches, in the order asked for
    elif sort == "relevance":
        raise ValidationProblem("sort=relevance needs a search query q.")

    key = (sort or "-updated_at").lstrip("-")
    descending = (sort or "-updated_at").startswith("-")
    column = _SORT_COLUMNS[key]()
    if position:
        try:
            after_value = datetime.fromisoformat(str(position["v"]))
            after_id = uuid.UUID(str(position["id"]))
        except (KeyError, ValueError):
            raise ValidationProblem("The cursor is not one this service gave out.") from None
        if descending:
            query = query.where(
                (column < after_value) | ((column == after_value) & (col(Record.id) < after_id))
            )
        else:
            query = query.where(
                (column > after_value) | ((column == after_value) & (col(Record.id) > after_id))
            )
    order = (column.desc(), col(Record.id).desc()) if descending else (column, col(Record.id))
    rows = list(session.exec(query.order_by(*order).limit(limit + 1)))
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    next_cursor = encode_cursor({"v": getattr(last, key).isoformat(), "id": str(last.id)})
    return rows[:limit], next_cursor


_PAGE_COLUMNS = (
    col(Record.id),
    col(Record.tenant),
    col(Record.source_ref),
    col(Record.version),
    col(Record.status),
    col(Record.tlp),
    col(Record.created_at),
    col(Record.updated_at),
    # The stored document as text, embedded in the answer as it is.
    cast(col(Record.data), Text).label("document"),
)


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
) -> bytes:
    """The JSON of ``Page[kind.read]`` for ``list_records``, built straight from the rows.

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
        columns=_PAGE_COLUMNS,
    )
    items = []
    for row in rows:
        data = orjson.loads(row.document)
        title: dict[str, str] = data.get("title", {})
        summary: dict[str, str] | None = data.get("summary")
        lang = _language(data, preferred)
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
    return orjson.dumps({"items": items, "next_cursor": next_cursor}, option=orjson.OPT_UTC_Z)
