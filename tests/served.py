"""A real `recnet serve` process for end-to-end tests, and operators' steps against it."""

from __future__ import annotations

import json
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
        "RECNET_DATABASE_URL": database_url(tmp_path),
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


def database_url(tmp_path: Path) -> str:
    """The embedded database a `served` process uses."""
    return f"sqlite:///{tmp_path / 'fresh.db'}"


def cli_client(
    url: str, organisation: str, scopes: str, name: str = "test office"
) -> dict[str, str]:
    """A client registered with `recnet clients create --json`, as an operator would."""
    created = subprocess.run(
        [sys.executable, "-m", "recnet", "clients", "create", "--org", organisation,
         "--name", name, "--scopes", scopes, "--json"],
        env={**os.environ, "RECNET_DATABASE_URL": url, "RECNET_ENV": "dev"},
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    client: dict[str, str] = json.loads(created.stdout)
    return client


def access_token(base: str, client: dict[str, str]) -> str:
    answer = httpx.post(
        f"{base}/v1/auth/token",
        data={"grant_type": "client_credentials"},
        auth=(client["client_id"], client["client_secret"]),
    )
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token
