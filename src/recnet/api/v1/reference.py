"""The published reference: controlled vocabularies and JSON Schemas."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from recnet.api.http import conditional
from recnet.schemas.reference import KindSchemas, Vocabularies, Vocabulary
from recnet.schemas.vocabularies import RecordKind
from recnet.services import reference

router = APIRouter(tags=["reference"])


@router.get("/vocabularies", response_model=Vocabularies)
def list_vocabularies(request: Request, response: Response) -> Response:
    """Every controlled vocabulary, with codes and English and Russian labels."""
    return conditional(request, response, Vocabularies(items=reference.vocabularies()))


@router.get("/vocabularies/{name}", response_model=Vocabulary, responses={404: {}})
def get_vocabulary(
    request: Request, response: Response, name: Annotated[str, Path(max_length=64)]
) -> Response:
    """One controlled vocabulary."""
    return conditional(request, response, reference.vocabulary(name))


@router.get("/schemas/{kind}", response_model=KindSchemas, responses={404: {}})
def get_kind_schemas(request: Request, response: Response, kind: RecordKind) -> Response:
    """The JSON Schemas of a kind's create, update and read shapes."""
    return conditional(request, response, reference.kind_schemas(kind))
