"""Version 1 of the API: every area's router, under /v1."""

from __future__ import annotations

from fastapi import APIRouter

from recnet.api.v1 import health, organisations

router = APIRouter(prefix="/v1")
router.include_router(health.router)
router.include_router(organisations.router)
