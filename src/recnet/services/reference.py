"""The published reference: vocabularies and the JSON Schemas of each kind's shapes.

A vocabulary's labels come from its message catalogues, in every language that has a text for
them (the region's seven: en, ru, kk, ky, tg, tk, uz).
"""

from __future__ import annotations

from typing import Any

from recnet.errors import NotFound
from recnet.schemas.reference import KindSchemas, Vocabulary, VocabularyTerm
from recnet.schemas.vocabularies import VOCABULARIES, vocabulary_labels
from recnet.services.practices import PRACTICES
from recnet.services.programmes import PROGRAMMES
from recnet.services.records import Kind

KINDS: dict[str, Kind] = {kind.name: kind for kind in (PRACTICES, PROGRAMMES)}


def vocabulary(name: str) -> Vocabulary:
    if name not in VOCABULARIES:
        raise NotFound(f"No vocabulary {name!r}; see GET /v1/vocabularies.")
    return Vocabulary(
        name=name,
        labels=vocabulary_labels(name),
        terms=[VocabularyTerm(code=t.value, labels=t.labels) for t in VOCABULARIES[name]],
    )


def vocabularies() -> list[Vocabulary]:
    return [vocabulary(name) for name in VOCABULARIES]


def _merge_patch_schema(create: dict[str, Any]) -> dict[str, Any]:
    """The create schema as a merge patch: every field optional, null removes it."""
    patch = {k: v for k, v in create.items() if k not in ("required", "title")}
    patch["title"] = create.get("title", "") + " (merge patch)"
    patch["properties"] = {
        name: {"anyOf": [prop, {"type": "null"}]}
        for name, prop in create.get("properties", {}).items()
        if name != "status"
    }
    return patch


def kind_schemas(name: str) -> KindSchemas:
    kind = KINDS.get(name)
    if kind is None:
        raise NotFound(f"No kind {name!r}; the kinds are {', '.join(KINDS)}.")
    create = kind.create.model_json_schema()
    return KindSchemas(
        kind=name,
        create=create,
        update=_merge_patch_schema(create),
        read=kind.read.model_json_schema(mode="serialization"),
    )
