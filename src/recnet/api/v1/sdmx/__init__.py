"""The SDMX REST web service over RR_STATS (SDMX RESTful specification v1.5.0), one module per
kind of query:

- ``data``: ``/v1/sdmx/data/{flowRef}[/{key}[/{providerRef}]]``, the caller's view of the
  protected cube (exact figures only where ``auth.visibility`` allows), in SDMX-ML 2.1 (generic by
  default, as the specification says; structure-specific), SDMX-JSON 1.0 and 2.0, SDMX-CSV 1.0
  and 2.0, streamed;
- ``availability``: ``/v1/sdmx/availableconstraint/...``, what data exist for a query;
- ``schema``: ``/v1/sdmx/schema/{context}/{agencyID}/{resourceID}[/{version}]``, the XSD of the
  structure-specific data;
- ``structure``: ``/v1/sdmx/{resource}[/{agencyID}[/{resourceID}[/{version}[/{itemID}]]]]`` with
  ``references`` and ``detail``, SDMX-ML 2.1 by default, SDMX-JSON 1.0;
- ``common``: what they share (path types, structure answers, conditional requests).

The data, availability and schema routes are included first, so ``/v1/sdmx/data/...`` is never
read as a structure resource called ``data``.
"""

from __future__ import annotations

from fastapi import APIRouter

from recnet.api.v1.sdmx import availability, data, schema, structure

router = APIRouter(prefix="/sdmx", tags=["sdmx"])
for part in (data.router, availability.router, schema.router, structure.router):
    router.include_router(part)
