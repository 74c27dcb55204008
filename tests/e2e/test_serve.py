"""`recnet serve` end to end: a real uvicorn process on a fresh embedded database."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from tests.served import served


def test_serve_migrates_a_fresh_database_and_answers(tmp_path: Path) -> None:
    with served(tmp_path) as (base, output):
        assert httpx.get(f"{base}/v1/health").status_code == 200
        assert httpx.get(f"{base}/v1/ready").status_code == 200
        codes = [o["code"] for o in httpx.get(f"{base}/v1/organisations").json()["items"]]
        assert {"KAZ", "KGZ", "TJK", "TKM", "UZB"} <= set(codes)
        assert httpx.get(f"{base}/docs").status_code == 200
    # The server logs JSON lines: one access line per request, with its request id.
    access = [line for line in output if '"logger": "recnet.access"' in line]
    assert len(access) >= 4, output
    assert all('"request_id"' in line for line in access)


def test_one_thread_and_one_connection_serve_a_burst_without_deadlock(tmp_path: Path) -> None:
    """Requests queue for the database without holding threads: no 503 from pool timeouts."""
    settings = {
        "RECNET_THREADS": "1",
        "RECNET_DB_POOL_SIZE": "1",
        "RECNET_DB_POOL_TIMEOUT": "2",
        "RECNET_RATE_ANONYMOUS": "100000",
    }
    with served(tmp_path, **settings) as (base, _):

        async def burst() -> list[int]:
            async with httpx.AsyncClient(base_url=base, timeout=30) as http:
                paths = ["/v1/organisations", "/v1/practices", "/v1/auth/jwks.json"] * 16
                answers = await asyncio.gather(*(http.get(p) for p in paths))
            return [a.status_code for a in answers]

        assert set(asyncio.run(burst())) == {200}
