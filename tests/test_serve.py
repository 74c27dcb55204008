"""`recnet serve` end to end: a real uvicorn process on a fresh embedded database."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_migrates_a_fresh_database_and_answers(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "RECNET_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}",
        "RECNET_ENV": "dev",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "recnet", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"{base}/v1/health", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, "recnet serve exited early"
                assert time.monotonic() < deadline, "recnet serve did not come up in 30 s"
                time.sleep(0.2)
        assert health.status_code == 200
        assert httpx.get(f"{base}/v1/ready").status_code == 200
        codes = [o["code"] for o in httpx.get(f"{base}/v1/organisations").json()["items"]]
        assert {"KAZ", "KGZ", "TJK", "TKM", "UZB"} <= set(codes)
        assert httpx.get(f"{base}/docs").status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=15)
    # The server logs JSON lines: one access line per request, with its request id.
    access = [line for line in output.splitlines() if '"logger": "recnet.access"' in line]
    assert len(access) >= 4, output
    assert all('"request_id"' in line for line in access)
