"""Wire types shared by every kind of data: bounded text, multilingual text, pages."""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from recnet.schemas.vocabularies import Language

T = TypeVar("T")


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


class Input(BaseModel):
    """Base of every input: unknown fields are errors (no mass assignment)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        # PostgreSQL text and JSONB cannot hold U+0000: refuse it (422) rather than fail (500).
        if _has_nul(data):
            raise ValueError("text must not contain NUL (U+0000)")
        return data


class ReadModel(BaseModel):
    """Base of every output: built from table rows."""

    model_config = ConfigDict(from_attributes=True)


def text(max_length: int) -> object:
    return StringConstraints(min_length=1, max_length=max_length, strip_whitespace=True)


Name = Annotated[str, text(300)]
Paragraph = Annotated[str, text(2_000)]
LongText = Annotated[str, text(20_000)]

# Multilingual text: language tag → text, at least one language.
MultilingualName = Annotated[dict[Language, Name], Field(min_length=1, max_length=len(Language))]
MultilingualParagraph = Annotated[
    dict[Language, Paragraph], Field(min_length=1, max_length=len(Language))
]
MultilingualText = Annotated[
    dict[Language, LongText], Field(min_length=1, max_length=len(Language))
]

SourceRef = Annotated[
    str,
    Field(
        min_length=1,
        max_length=200,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$",
        description="The agency's own identifier of the record, unique within its tenant.",
    ),
]
# ISO 3166-2 subdivision code, e.g. UZ-TK (Tashkent city).
Subdivision = Annotated[str, Field(pattern=r"^[A-Z]{2}-[A-Z0-9]{1,3}$")]
HttpsUrl = Annotated[str, Field(max_length=2_000, pattern=r"^https://[^\s]+$")]


class Page(BaseModel, Generic[T]):
    """One page of a list; follow ``next_cursor`` for the next, until it is null."""

    items: list[T]
    next_cursor: str | None = Field(
        default=None, description="Opaque cursor of the next page; null on the last page."
    )
