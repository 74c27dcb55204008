"""Wire shape of the change feed: a page of items after a cursor (``GET /v1/feeds/changes``), the
same items a webhook delivery POSTs one by one.

An item is an ``upsert`` (a record the reader may see, as it then was), a ``removal`` (a record
that left the reader's sight) or ``statistics`` (what an import changed, with the figures the
reader may see). The items are TypedDicts: a page is built on a hot path and written by orjson
with the stored records embedded as they are (``orjson.Fragment``), so at run time they stay plain
dicts, while their shape is typed here and published by pydantic in the OpenAPI document.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal, get_args

from pydantic import BaseModel, Field, WithJsonSchema

# pydantic reads TypedDicts from typing_extensions on Python 3.11.
from typing_extensions import TypedDict

from recnet.schemas.vocabularies import RecordKind

FeedKind = Literal[RecordKind, "statistics"]
FEED_KINDS: Final[tuple[str, ...]] = get_args(FeedKind)

Seq = Annotated[int, Field(description="The event's place in the log (X-Recnet-Event).")]
OccurredAt = Annotated[
    str, Field(description="When the event happened.", json_schema_extra={"format": "date-time"})
]
RecordId = Annotated[
    str, Field(description="The record's id.", json_schema_extra={"format": "uuid"})
]
# The record as GET returns it; embedded in the page as stored (an ``orjson.Fragment``).
RecordSnapshot = Annotated[
    Any,
    WithJsonSchema({"type": "object", "description": "The record as it was at this event."}),
]


class UpsertChange(TypedDict):
    """A record the reader may see, created or changed: the record as it then was."""

    seq: Seq
    type: Literal["upsert"]
    kind: RecordKind
    action: str
    record_id: RecordId
    version: int
    occurred_at: OccurredAt
    record: RecordSnapshot


class RemovalChange(TypedDict):
    """A record the reader saw at its previous event and may no longer see."""

    seq: Seq
    type: Literal["removal"]
    kind: RecordKind
    action: str
    record_id: RecordId
    version: int
    occurred_at: OccurredAt


class StatisticsChange(TypedDict):
    """The cells a statistics import changed, with the figures the reader may see: exact for the
    owning state and the secretariat, the published ones (withheld ones null) for everyone else."""

    seq: Seq
    type: Literal["statistics"]
    kind: Literal["statistics"]
    action: str
    ref_area: str
    occurred_at: OccurredAt
    columns: list[str]
    changes: Annotated[
        list[list[Any]], Field(description="One row per changed cell, in the order of columns.")
    ]


ChangeItem = Annotated[UpsertChange | RemovalChange | StatisticsChange, Field(discriminator="type")]


class ChangePage(BaseModel):
    """Changes after a cursor, in the log's order, as the caller may see them."""

    items: list[ChangeItem] = Field(
        description="upsert (the record as it now is), removal (no longer visible to you), "
        "or statistics (what changed, with the figures you may see)."
    )
    next_cursor: str = Field(
        description="Pass as `after` to continue; it moves even past events you may not see."
    )
    has_more: bool
