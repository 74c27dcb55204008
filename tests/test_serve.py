"""`recnet serve` end to end: a real uvicorn process on a fresh embedded database."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def served(tmp_path: Path, **env: str) -> Iterator[tuple[str, list[str]]]:
    """A `recnet serve` process; yields its base URL and, after it stops, its output lines."""
    port = _free_port()
    environment = {
        **os.environ,
        "RECNET_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}",
        "RECNET_ENV": "dev",
        **env,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "recnet", "serve", "--port", str(port)],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    output: list[str] = []
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/v1/health", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, "recnet serve exited early"
                assert time.monotonic() < deadline, "recnet serve did not come up in 30 s"
                time.sleep(0.2)
        yield base, output
    finally:
        process.send_signal(signal.SIGINT)
        try:
            out, _ = process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            out, _ = process.communicate()
        output.extend(out.splitlines())


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
