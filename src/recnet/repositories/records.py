"""Records' SQL: lookups, tags, the full-text index, and the list query with its two kinds of
paging (keyset by a date, offset by relevance). Every difference between SQLite and PostgreSQL
that records meet is here; the rules that use these queries are in ``services/records.py``.

Full-text search covers every language of a record's title, summary and description.
SQLite: an FTS5 table (unicode61 tokens, case and diacritics folded, prefix matching), ranked by
a score of the document alone (not FTS5's bm25, whose term statistics count every indexed record,
hidden ones included, so the order of what a reader sees would reveal what it may not).
PostgreSQL: a tsvector per record (GIN-indexed), each language stemmed with its own dictionary
(English, Russian; the others as simple words), titles weighted above summaries above
descriptions, ranked by ts_rank (a record's own statistics only). The index is maintained by the
service in the same transaction as the record.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    String,
    Text,
    bindparam,
    cast,
    column,
    exists,
    func,
    literal_column,
    select,
    table,
    text,
)
from sqlmodel import Session, col, delete
from sqlmodel import select as select_model
from sqlmodel.sql.expression import SelectOfScalar

from recnet.auth.principal import Principal, Role
from recnet.auth.visibility import readable_by
from recnet.models import Record, RecordTag

# ---------------------------------------------------------------- lookups


def get_for_update(session: Session, record_id: uuid.UUID) -> Record | None:
    """The record with this id, locked for the rest of the transaction."""
    return session.exec(
        select_model(Record).where(Record.id == record_id).with_for_update()
    ).first()


def find_by_ref_for_update(
    session: Session, kind: str, tenant: str, source_ref: str
) -> Record | None:
    """The tenant's record of this kind with this reference, locked for the transaction."""
    return session.exec(
        select_model(Record)
        .where(Record.kind == kind, Record.tenant == tenant, Record.source_ref == source_ref)
        .with_for_update()
    ).first()


def source_ref_taken(session: Session, kind: str, tenant: str, source_ref: str) -> bool:
    return (
        session.exec(
            select_model(Record.id).where(
                Record.kind == kind, Record.tenant == tenant, Record.source_ref == source_ref
            )
        ).first()
        is not None
    )


# ---------------------------------------------------------------- tags


def replace_tags(
    session: Session, record: Record, tags: Iterable[tuple[str, str]], *, fresh: bool
) -> None:
    """Store ``tags`` (name, value) as the record's, in place of those it had unless ``fresh``."""
    if not fresh:
        session.exec(delete(RecordTag).where(col(RecordTag.record_id) == record.id))
    session.add_all(
        RecordTag(record_id=record.id, name=n, value=v, tenant=record.tenant) for n, v in tags
    )
    session.flush()


# ---------------------------------------------------------------- full-text search

_DICTIONARIES = {"en": "english", "ru": "russian"}
# A query is parsed with every configuration the documents' languages are indexed with.
_CONFIGURATIONS = (*_DICTIONARIES.values(), "simple")
_WEIGHTS = {"title": "A", "summary": "B", "description": "C"}
_WORD = re.compile(r"\w+", re.UNICODE)
MAX_QUERY_WORDS = 16

_search = table("record_search", column("record_id"), column("body"), column("document"))


# BM25's saturation of the number of matches and its length normalisation, with constants in
# place of the collection's statistics (inverse document frequency, average length): a record's
# rank depends on the query and the record, never on other records.
_HITS = "(length(highlight(record_search, 1, char(1), '')) - length(record_search.body))"
_SQLITE_SCORE: ColumnElement[Any] = literal_column(
    f"(-1.0 * {_HITS} / ({_HITS} + 1.2 * (0.25 + 0.75 * length(record_search.body) / 400.0)))"
)


def words(query: str) -> list[str]:
    return _WORD.findall(query)[:MAX_QUERY_WORDS]


def _key(session: Session, record_id: uuid.UUID) -> Any:
    # The models store UUIDs as 32 hex digits on SQLite and as uuid on PostgreSQL.
    return record_id.hex if session.get_bind().dialect.name == "sqlite" else record_id


def index(session: Session, record: Record) -> None:
    """(Re)index one record."""
    dialect = session.get_bind().dialect.name
    key = _key(session, record.id)
    session.execute(text("DELETE FROM record_search WHERE record_id = :id"), {"id": key})
    texts: list[tuple[str, str, str]] = []  # (field, language, text)
    for field_name in _WEIGHTS:
        value = record.data.get(field_name)
        if isinstance(value, dict):
            texts.extend((field_name, str(lang), str(t)) for lang, t in value.items())
    if dialect == "sqlite":
        body = "\n".join(t for _, _, t in texts)
        session.execute(
            text("INSERT INTO record_search (record_id, body) VALUES (:id, :body)"),
            {"id": key, "body": body},
        )
        return
    parts, params = [], {"id": key, "tenant": record.tenant}
    for i, (field_name, lang, value) in enumerate(texts):
        dictionary = _DICTIONARIES.get(lang, "simple")
        parts.append(f"setweight(to_tsvector('{dictionary}', :t{i}), '{_WEIGHTS[field_name]}')")
        params[f"t{i}"] = value
    document = " || ".join(parts) if parts else "''::tsvector"
    session.execute(
        text(
            "INSERT INTO record_search (record_id, tenant, document) "
            f"VALUES (:id, :tenant, {document})"
        ),
        params,
    )


def restrict(
    query: SelectOfScalar[Record], session: Session, q: str
) -> tuple[SelectOfScalar[Record], Any]:
    """Records matching ``q``, and the ordering that puts the most relevant first."""
    found = words(q)
    if session.get_bind().dialect.name == "sqlite":
        # Each word must occur (as a word or a word's beginning); quoted so no FTS syntax passes.
        match = " ".join('"' + w.replace('"', "") + '"*' for w in found)
        joined = query.join(_search, _search.c.record_id == Record.id).where(
            text("record_search MATCH :match").bindparams(match=match)
        )
        return joined, _SQLITE_SCORE  # lower is better
    # Parsed once per statement: a scalar subquery is evaluated once (an InitPlan), where the
    # expression itself would be evaluated again for every row of a generic (prepared) plan.
    phrase = bindparam("q", " ".join(found), String())
    parsed = [func.plainto_tsquery(literal_column(f"'{c}'"), phrase) for c in _CONFIGURATIONS]
    either: ColumnElement[Any] = parsed[0]
    for other in parsed[1:]:
        either = either.op("||")(other)
    tsquery = select(either).scalar_subquery()
    # The matching records are ranked and sorted by (rank, id) on their ids alone, then joined
    # back for the page: the caller orders by the same (rank, id), so the rows come out of this
    # subquery already in order and only the page's records are built. Sorted after a plain join,
    # every match's full row (its JSON document turned to text) would be built first, which costs
    # several times the ranking. The outer query keeps the caller's filters; they hold already.
    rank = func.ts_rank(_search.c.document, tsquery).label("rank")
    ranked = (
        query.with_only_columns(col(Record.id).label("id"), rank)
        .join(_search, _search.c.record_id == Record.id)
        .where(_search.c.document.op("@@")(tsquery))
        .order_by(rank.desc(), col(Record.id))
        .subquery("ranked")
    )
    return query.join(ranked, ranked.c.id == Record.id), ranked.c.rank.desc()


# ---------------------------------------------------------------- listing


@dataclass
class Filters:
    tenant: str | None = None
    status: str | None = None
    tlp: str | None = None
    updated_since: datetime | None = None
    q: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


# Far past any result a search has, and within what OFFSET takes on both databases.
MAX_OFFSET = 2**31 - 1

_SORT_COLUMNS: dict[str, Callable[[], Any]] = {
    "updated_at": lambda: col(Record.updated_at),
    "created_at": lambda: col(Record.created_at),
}

# What a page of a list embeds: the columns of the read model, the document as stored.
PAGE_COLUMNS: tuple[Any, ...] = (
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


# The plain filters a list may be given (the tags and the search aside), each bound by name.
_PLAIN_FILTERS: dict[str, Callable[[Any], ColumnElement[bool]]] = {
    "tenant": lambda value: col(Record.tenant) == value,
    "status": lambda value: col(Record.status) == value,
    "tlp": lambda value: col(Record.tlp) == value,
    "updated_since": lambda value: col(Record.updated_at) >= value,
}


@dataclass(frozen=True)
class Shape:
    """What decides a list's SQL: the kind, who reads (``readable`` depends on the role and the
    tenant alone), whether it returns ``PAGE_COLUMNS`` or ``Record`` objects, and which filters
    are given. Their values are bound when the statement runs (``Listing.values``), so one
    statement serves every request of a shape: building a statement and computing its cache
    key cost SQLAlchemy more than running it."""

    kind: str
    role: Role
    tenant: str | None
    page: bool
    filters: tuple[str, ...]
    tags: tuple[str, ...]


@dataclass(frozen=True)
class Listing:
    """A list query: its shape and the values to bind; ``narrowed`` when it is not the shape's
    own statement but one built on it for this request (a search's matches)."""

    shape: Shape
    values: dict[str, Any]
    narrowed: Any = None

    @property
    def statement(self) -> Any:
        """The records its reader may read and its filters keep."""
        return _visible(self.shape) if self.narrowed is None else self.narrowed


def visible(principal: Principal, kind: str, filters: Filters, *, page: bool) -> Listing:
    """The query of the records of ``kind`` that ``principal`` may read and ``filters`` (all but
    the search ``q``) keep: tuples of ``PAGE_COLUMNS`` when ``page``, else ``Record`` objects."""
    given = {name: getattr(filters, name) for name in _PLAIN_FILTERS if getattr(filters, name)}
    shape = Shape(kind, principal.role, principal.tenant, page, tuple(given), tuple(filters.tags))
    values = {f"filter_{name}": value for name, value in given.items()}
    values.update({f"tag_{i}": value for i, value in enumerate(filters.tags.values())})
    return Listing(shape, values)


@lru_cache(maxsize=1024)
def _visible(shape: Shape) -> Any:
    query: Any = select_model(*PAGE_COLUMNS) if shape.page else select_model(Record)
    query = query.where(
        Record.kind == shape.kind,
        readable_by(
            shape.role, shape.tenant, col(Record.tenant), col(Record.tlp), col(Record.status)
        ),
    )
    for name in shape.filters:
        query = query.where(_PLAIN_FILTERS[name](bindparam(f"filter_{name}")))
    for i, name in enumerate(shape.tags):
        query = query.where(
            exists().where(
                col(RecordTag.record_id) == col(Record.id),
                col(RecordTag.name) == name,
                col(RecordTag.value) == bindparam(f"tag_{i}"),
            )
        )
    return query


def relevance_page(
    session: Session,
    matching: Any,
    values: dict[str, Any],
    relevance: Any,
    *,
    offset: int,
    limit: int,
) -> list[Any]:
    """Up to ``limit`` rows of ``matching`` (from ``restrict``, with the ``values`` of its
    listing), most relevant first, after ``offset`` of them."""
    ordered = matching.order_by(relevance, col(Record.id)).offset(offset).limit(limit)
    return list(session.exec(ordered, params=values))


def keyset_page(
    session: Session,
    listing: Listing,
    key: str,
    *,
    descending: bool,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Any]:
    """Up to ``limit`` rows of ``listing`` in the order of (``key``, id), those after the row
    whose (``key``, id) is ``after`` when given."""
    if listing.narrowed is None:
        statement = _keyset(listing.shape, key, descending, after is not None, limit)
    else:
        statement = _keyset_of(listing.narrowed, key, descending, after is not None, limit)
    values = listing.values
    if after is not None:
        values = {**values, "after_value": after[0], "after_id": after[1]}
    if listing.shape.page:
        # Columns, not objects: run on the session's connection (its transaction, its tenant),
        # without the ORM's execution and loading, which cost more than the rows' own reading.
        return session.connection().execute(statement, values).all()  # type: ignore[return-value]
    return list(session.exec(statement, params=values))


@lru_cache(maxsize=1024)
def _keyset(shape: Shape, key: str, descending: bool, after: bool, limit: int) -> Any:
    return _keyset_of(_visible(shape), key, descending, after, limit)


def _keyset_of(query: Any, key: str, descending: bool, after: bool, limit: int) -> Any:
    sort_column = _SORT_COLUMNS[key]()
    if after:
        after_value: BindParameter[Any] = bindparam("after_value")
        after_id: BindParameter[Any] = bindparam("after_id")
        if descending:
            query = query.where(
                (sort_column < after_value)
                | ((sort_column == after_value) & (col(Record.id) < after_id))
            )
        else:
            query = query.where(
                (sort_column > after_value)
                | ((sort_column == after_value) & (col(Record.id) > after_id))
            )
    order = (
        (sort_column.desc(), col(Record.id).desc()) if descending else (sort_column, col(Record.id))
    )
    return query.order_by(*order).limit(limit)
