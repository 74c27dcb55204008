"""Full-text search over every language of a record's title, summary and description.

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
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    bindparam,
    column,
    func,
    literal_column,
    select,
    table,
    text,
)
from sqlmodel import Session, col
from sqlmodel.sql.expression import SelectOfScalar

from recnet.models import Record

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
    for field in _WEIGHTS:
        value = record.data.get(field)
        if isinstance(value, dict):
            texts.extend((field, str(lang), str(t)) for lang, t in value.items())
    if dialect == "sqlite":
        body = "\n".join(t for _, _, t in texts)
        session.execute(
            text("INSERT INTO record_search (record_id, body) VALUES (:id, :body)"),
            {"id": key, "body": body},
        )
        return
    parts, params = [], {"id": key, "tenant": record.tenant}
    for i, (field, lang, value) in enumerate(texts):
        dictionary = _DICTIONARIES.get(lang, "simple")
        parts.append(f"setweight(to_tsvector('{dictionary}', :t{i}), '{_WEIGHTS[field]}')")
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
