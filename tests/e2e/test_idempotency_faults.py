"""Faults against a real `recnet serve`, for requests an agency retries with `Idempotency-Key`.

The server killed mid-request, an upload cut on the wire, a retry sent the instant the first
answer arrives, SQLite's disk full (RLIMIT_FSIZE on the server process): after each, nothing is
half-written, nothing is done twice, no key is stuck, nothing answers 500, and the service
recovers within seconds without a restart (the kill excepted: the server is started again).
"""

from __future__ import annotations

import os
import resource
import signal
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_concurrency import (
    BACKENDS,
    STATS,
    agency_headers,
    database_for,
    observation_csv,
    practice_body,
    scalar,
    server,
)
from tests.e2e.test_faults import _writing, audit_verify

pytestmark = pytest.mark.slow

PRACTICES = "/v1/practices"


def no_errors_logged(output: list[str]) -> None:
    """Nothing logged as an error (a database fault is a warning: it is answered 503)."""
    bad = [line for line in output if '"level": "ERROR"' in line or "unhandled" in line]
    assert bad == [], "\n".join(bad[:20])


def retry_until_below_500(
    send: Callable[[], httpx.Response], seconds: float = 10
) -> httpx.Response:
    deadline = time.monotonic() + seconds
    while True:
        response = send()
        if response.status_code < 500 or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


# ------------------------------------------------------------------ the server killed


def worker_processes(master: int) -> list[int]:
    """The uvicorn worker processes a `recnet serve --workers N` started."""
    found = []
    for task in Path(f"/proc/{master}/task").iterdir():
        for child in (task / "children").read_text().split():
            command = Path(f"/proc/{child}/cmdline").read_bytes()
            if b"spawn_main" in command and b"resource_tracker" not in command:
                found.append(int(child))
    return found


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("killed", ["server", "workers"])
def test_a_key_is_not_stuck_after_the_server_is_killed_mid_request(
    backend: str, killed: str, tmp_path: Path
) -> None:
    """SIGKILL of the whole server (then started again), or of its worker processes (the
    supervisor starts new ones), while a keyed import writes: the retry with the same key runs
    it, once, within seconds."""
    size = 10_000  # enough that the import is still writing when it is killed
    body = observation_csv(size)
    workers = ["--workers", "2"] if killed == "workers" else []
    with database_for(backend, tmp_path) as url:
        with server(url, *workers) as running:
            headers = {
                **agency_headers(running.base, url),
                "Content-Type": "text/csv",
                "Idempotency-Key": "import-killed",
            }
            writing = _writing(backend, url)
            outcome: dict[str, object] = {}

            def upload() -> None:
                try:
                    outcome["response"] = httpx.post(
                        f"{running.base}{STATS}", content=body, headers=headers, timeout=120
                    )
                except httpx.HTTPError as exc:
                    outcome["error"] = exc

            thread = threading.Thread(target=upload, daemon=True)
            thread.start()
            deadline = time.monotonic() + 60
            while not writing():
                assert "response" not in outcome, "the import finished before any write was seen"
                assert time.monotonic() < deadline, "no write seen within 60 s"
                time.sleep(0.01)
            if killed == "server":
                os.kill(running.process.pid, signal.SIGKILL)
                running.process.wait(timeout=15)
            else:
                for pid in worker_processes(running.process.pid):
                    os.kill(pid, signal.SIGKILL)
            thread.join(timeout=30)
            assert "error" in outcome, outcome
            assert scalar(url, "SELECT count(*) FROM observations") == 0
            if killed == "workers":
                retried = retry(running.base, body, headers)
        if killed == "server":
            with server(url) as again:
                retried = retry(again.base, body, headers)
        assert retried.status_code == 200, retried.text[:300]
        assert "idempotent-replayed" not in retried.headers
        assert scalar(url, "SELECT count(*) FROM observations") == size
        imports = "SELECT count(*) FROM events WHERE action = 'statistics_imported'"
        assert scalar(url, imports) == 1
        verified = audit_verify(url)
        assert verified.returncode == 0, verified.stdout + verified.stderr


def retry(base: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    """Retry until answered below 500 (or 30 s), then check a second retry replays the answer.
    (The import itself takes most of the time: its disclosure control is work.)"""
    started = time.monotonic()
    deadline = started + 60
    while True:
        try:
            answer = httpx.post(f"{base}{STATS}", content=body, headers=headers, timeout=120)
            if answer.status_code < 500 or time.monotonic() > deadline:
                break
        except httpx.TransportError:
            assert time.monotonic() < deadline, "no answer within 60 s"
        time.sleep(0.2)
    print(f"retry answered {answer.status_code} after {time.monotonic() - started:.1f} s")
    replayed = httpx.post(f"{base}{STATS}", content=body, headers=headers, timeout=60)
    assert replayed.headers.get("idempotent-replayed") == "true", replayed.text[:300]
    assert replayed.json() == answer.json()
    return answer


# ------------------------------------------------------------------ an upload cut on the wire


def send_part(base: str, path: str, headers: dict[str, str], body: bytes, sent: int) -> None:
    """Send the request line, the headers (with the whole body's length) and ``sent`` bytes of
    the body, then close the connection."""
    host, port = base.removeprefix("http://").split(":")
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body[:sent])
        time.sleep(0.3)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("keyed", [True, False], ids=["with-key", "without-key"])
def test_an_upload_cut_on_the_wire_imports_nothing(
    backend: str, keyed: bool, tmp_path: Path
) -> None:
    size = 5_000
    body = observation_csv(size)
    half = body.index(b"\n", len(body) // 2) + 1  # whole lines: the half alone is valid CSV
    with database_for(backend, tmp_path) as url:
        with server(url) as running:
            headers = {**agency_headers(running.base, url), "Content-Type": "text/csv"}
            if keyed:
                headers["Idempotency-Key"] = "cut-on-the-wire"
            send_part(running.base, STATS, headers, body, half)
            time.sleep(1.0)  # what the server would do with the half, it has done
            assert scalar(url, "SELECT count(*) FROM observations") == 0
            assert scalar(url, "SELECT count(*) FROM idempotency_keys") == 0
            whole = httpx.post(f"{running.base}{STATS}", content=body, headers=headers, timeout=60)
            assert whole.status_code == 200, whole.text[:300]
            assert whole.json()["counts"]["imported"] == size
        no_errors_logged(running.output)
        assert any('"status": 499' in line for line in running.output)
        assert scalar(url, "SELECT count(*) FROM observations") == size


# ------------------------------------------------------------------ a retry at once


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_retry_sent_the_instant_the_answer_arrives_is_replayed(
    backend: str, tmp_path: Path
) -> None:
    rounds = 40
    with database_for(backend, tmp_path) as url, server(url) as running:
        agency = agency_headers(running.base, url)
        answers = []
        with httpx.Client(base_url=running.base, timeout=30) as http:
            for number in range(rounds):
                headers = {**agency, "Idempotency-Key": f"at-once-{number}"}
                first = http.post(PRACTICES, json=practice_body(), headers=headers)
                retry = http.post(PRACTICES, json=practice_body(), headers=headers)
                answers.append((first.status_code, retry.status_code))
                assert first.status_code == 201, first.text[:300]
                assert retry.json()["id"] == first.json()["id"]
        assert answers == [(201, 201)] * rounds
        assert scalar(url, "SELECT count(*) FROM records") == rounds


# ------------------------------------------------------------------ SQLite's disk full


def limit_file_size(pid: int, size: int) -> None:
    """Set the soft limit (the one enforced); the hard one stays, so it can be lifted again."""
    _soft, hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (size, hard))


def test_sqlite_disk_full_answers_503_and_recovers_when_space_returns(tmp_path: Path) -> None:
    with database_for("sqlite", tmp_path) as url, server(url) as running:
        agency = agency_headers(running.base, url)
        keyed = {**agency, "Idempotency-Key": "disk-full"}
        with httpx.Client(base_url=running.base, timeout=30) as http:
            assert http.post(PRACTICES, json=practice_body(), headers=agency).status_code == 201
            limit_file_size(running.process.pid, 1024)  # no file may grow past 1 KiB: no write
            try:
                for headers in (keyed, agency):
                    full = http.post(PRACTICES, json=practice_body(), headers=headers)
                    assert full.status_code == 503, (full.status_code, full.text[:300])
                    assert full.headers["content-type"].startswith("application/problem+json")
                    assert int(full.headers["retry-after"]) >= 1
                assert http.get(PRACTICES, headers=agency).status_code == 200  # reads go on
            finally:
                limit_file_size(
                    running.process.pid,
                    resource.prlimit(running.process.pid, resource.RLIMIT_FSIZE)[1],
                )
            started = time.monotonic()
            created = retry_until_below_500(
                lambda: http.post(PRACTICES, json=practice_body(), headers=keyed), seconds=10
            )
            assert created.status_code == 201, created.text[:300]
            assert time.monotonic() - started < 5
            again = http.post(PRACTICES, json=practice_body(), headers=keyed)
            assert again.headers["idempotent-replayed"] == "true"
        assert scalar(url, "SELECT count(*) FROM records") == 2
    no_errors_logged(running.output)
