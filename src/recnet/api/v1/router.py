"""Version 1 of the API: every area's router, under /v1.

Every route but the probes is rate-limited (``api.deps``): by client, or by address for anonymous
callers and the token endpoint; by area here, route by route where an area's routes differ.
"""

from __future__ import annotations

from fastapi import APIRouter

from recnet.api.deps import AddressRateLimit, RateLimit
from recnet.api.direct import DirectEndpoint
from recnet.api.v1 import (
    audit,
    auth,
    clients,
    feeds,
    health,
    organisations,
    reference,
    sdmx,
    statistics,
    subscriptions,
)
from recnet.api.v1.record_lists import direct_list
from recnet.api.v1.records import record_router
from recnet.services.practices import PRACTICES
from recnet.services.programmes import PROGRAMMES

router = APIRouter(prefix="/v1")
router.include_router(health.router)

by_address = APIRouter(dependencies=[AddressRateLimit])
by_address.include_router(auth.public_router)
router.include_router(by_address)
# Long polls resolve their caller and count the request themselves (see api/v1/feeds.py).
router.include_router(feeds.router)


def counted(*areas: APIRouter) -> APIRouter:
    """The areas, each of whose routes counts its request against the caller's limit."""
    group = APIRouter(dependencies=[RateLimit])
    for area in areas:
        group.include_router(area)
    return group


router.include_router(counted(auth.router, organisations.router, reference.router))
# Counted route by route: its cached reads resolve their caller and count the request themselves
# (see api/v1/statistics.py), so that a kept answer needs no session.
router.include_router(statistics.router)
router.include_router(counted(sdmx.router, audit.router, clients.router, subscriptions.router))
# Rate-limited route by route (their lists count requests themselves, see api/v1/records.py).
router.include_router(record_router(PRACTICES))
router.include_router(record_router(PROGRAMMES))


def direct_list_endpoints() -> dict[str, DirectEndpoint]:
    """The record lists on the direct path (api/direct.py), by path."""
    return {f"{router.prefix}/{kind.plural}": direct_list(kind) for kind in (PRACTICES, PROGRAMMES)}
