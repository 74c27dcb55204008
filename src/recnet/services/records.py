"""The one mechanism behind good practices and programmes: changing them.

A ``Kind`` says what differs between them (schemas, scope, tags); everything else is shared:
create, merge-patch against an expected version, publish, withdraw, upsert by the agency's
reference. Every change appends its event in the same transaction. Reading them (one record, its
versions, the filtered, searchable, paged list) is in ``services/record_reads.py``; their SQL in
``repositories/records.py``; the HTTP of it (ETags, If-Match, route paths) in the routes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlmodel import Session

from recnet.auth.principal import Principal
from recnet.auth.scopes import Scope
from recnet.auth.visibility import may_change
from recnet.clock import utcnow
from recnet.errors import (
    Conflict,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    ValidationProblem,
    validation_problem,
)
from recnet.models import Record
from recnet.repositories import records as repository
from recnet.repositories.records import Filters as Filters
from recnet.schemas.records import RecordMeta
from recnet.schemas.vocabularies import RecordKind
from recnet.services import events

# Where they were before reading moved apart (the change feed lists records through them).
from recnet.services.record_reads import list_records as list_records
from recnet.services.record_reads import to_read as to_read

SERVER_FIELDS = ("tlp", "source_ref")


@dataclass(frozen=True)
class Kind:
    """What makes practices and programmes differ."""

    name: RecordKind
    plural: str
    create: type[BaseModel]
    document: type[BaseModel]
    read: type[RecordMeta]
    scope: Scope
    # Controlled-vocabulary fields to index as tags: tag name → document field.
    tag_fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Expected:
    """The versions a change is made against, as its caller named them (the route reads them
    from If-Match); ``versions`` None takes whichever version is current."""

    versions: frozenset[int] | None


ANY_VERSION = Expected(None)


class SourceRefTaken(Conflict):
    """A new record would take a reference its tenant already gave a record of its kind."""

    def __init__(self, kind: Kind, source_ref: str) -> None:
        super().__init__(f"Your tenant already has a {kind.name} with source_ref {source_ref!r}.")
        self.source_ref = source_ref


class StatusInPatch(ValidationProblem):
    """A patch that names the status, which only publishing and withdrawing change."""

    def __init__(self, kind: Kind) -> None:
        super().__init__(f"A patch does not change a {kind.name}'s status: publish or withdraw it.")


def _check_version(record: Record, expected: Expected | None, *, required: bool) -> None:
    if expected is None:
        if required:
            raise PreconditionRequired(
                "Send If-Match with the ETag of the version you are changing."
            )
        return
    if expected.versions is not None and record.version not in expected.versions:
        raise PreconditionFailed(
            f"The record is at version {record.version}; your If-Match names another. "
            "Read it again and reapply your change."
        )


def _get_for_change(
    session: Session, principal: Principal, kind: Kind, record_id: uuid.UUID
) -> Record:
    """The record, locked for the rest of the transaction, if the caller may change it."""
    record = repository.get_for_update(session, record_id)
    # Whatever the reason (absent, another kind, another tenant, no scope): 404, never 403.
    if (
        record is None
        or record.kind != kind.name
        or not may_change(principal, tenant=record.tenant, scope=kind.scope)
    ):
        raise NotFound(f"No {kind.name} {record_id}.")
    return record


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
    repository.replace_tags(session, record, _tags(kind, record), fresh=fresh)
    repository.index(session, record)


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


def create(session: Session, principal: Principal, kind: Kind, body: dict[str, Any]) -> Record:
    tenant = _require_writer(principal, kind)
    validated = _validate(kind, body)
    source_ref = validated.get("source_ref")
    if source_ref and repository.source_ref_taken(session, kind.name, tenant, source_ref):
        raise SourceRefTaken(kind, source_ref)
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
        and repository.source_ref_taken(session, kind.name, record.tenant, source_ref)
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
    expected: Expected | None,
) -> Record:
    record = _get_for_change(session, principal, kind, record_id)
    _check_version(record, expected, required=True)
    if "status" in body:
        raise StatusInPatch(kind)
    _apply(session, principal, kind, record, _merge(_editable(record), body))
    return record


def publish(
    session: Session,
    principal: Principal,
    kind: Kind,
    record_id: uuid.UUID,
    expected: Expected | None,
) -> Record:
    record = _get_for_change(session, principal, kind, record_id)
    _check_version(record, expected, required=False)
    if record.status == "withdrawn":
        raise Conflict(f"This {kind.name} is withdrawn; it cannot be published again.")
    if record.status == "published":
        return record
    _transition(session, principal, record, "published")
    return record


def withdraw(
    session: Session,
    principal: Principal,
    kind: Kind,
    record_id: uuid.UUID,
    expected: Expected | None,
) -> Record:
    record = _get_for_change(session, principal, kind, record_id)
    _check_version(record, expected, required=False)
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
    existing = repository.find_by_ref_for_update(session, kind.name, tenant, source_ref)
    if existing is None:
        return create(session, principal, kind, body), True
    status = body.pop("status", None)
    if status == "draft" and existing.status == "published":
        # Records move draft -> published -> withdrawn, never back: a published record stays
        # as it is rather than seem to have been taken back to draft.
        raise ValidationProblem(
            f"This {kind.name} is published and cannot go back to draft: nothing was changed. "
            f"Send the replacement without status (or with status published) to update it, "
            f"or withdraw it."
        )
    _apply(session, principal, kind, existing, body)
    if status == "published" and existing.status == "draft":
        _transition(session, principal, existing, "published")
    return existing, False
