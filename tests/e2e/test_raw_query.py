"""A request line with raw UTF-8 (what ``curl '…?q=классы'`` sends) against a real uvicorn
server: answered as if it had been percent-encoded, never with a bare ``400 text/plain``."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from recnet.api.protocol import encode_request_line
from tests.served import _free_port, database_url, served

PROTOCOL = "recnet.api.protocol:Utf8RequestLineProtocol"


def raw_exchange(base: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def _get(target: str) -> bytes:
    return f"GET {target} HTTP/1.1\r\nHost: recnet\r\nConnection: close\r\n\r\n".encode()


@contextmanager
def uvicorn_with_protocol(tmp_path: Path) -> Iterator[str]:
    """The served app (create_served_app) under uvicorn with recnet's protocol."""
    env = {**os.environ, "RECNET_DATABASE_URL": database_url(tmp_path), "RECNET_ENV": "dev"}
    subprocess.run([sys.executable, "-m", "recnet", "migrate"], env=env, check=True, timeout=120)
    port = _free_port()
    code = (
        "import uvicorn; uvicorn.run('recnet.app:create_served_app', factory=True, "
        f"port={port}, http={PROTOCOL!r}, log_config=None, access_log=False)"
    )
    process = subprocess.Popen([sys.executable, "-c", code], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/v1/health", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None
                assert time.monotonic() < deadline
                time.sleep(0.2)
        yield base
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=15)


def test_request_line_encoding() -> None:
    line = "GET /v1/practices?q=классы HTTP/1.1".encode()
    assert (
        encode_request_line(line)
        == b"GET /v1/practices?q=%D0%BA%D0%BB%D0%B0%D1%81%D1%81%D1%8B HTTP/1.1"
    )
    assert (
        encode_request_line(b"GET /v1/practices?q=a%20b HTTP/1.1")
        == b"GET /v1/practices?q=a%20b HTTP/1.1"
    )


def test_raw_utf8_query_is_answered(tmp_path: Path) -> None:
    with uvicorn_with_protocol(tmp_path) as base:
        status, headers, body = raw_exchange(base, _get("/v1/practices?q=классы"))
        assert status == 200, body
        assert headers["content-type"] == "application/json"
        assert json.loads(body) == {"items": [], "next_cursor": None}
        # The same as when the client encodes it.
        encoded = httpx.get(f"{base}/v1/practices", params={"q": "классы"})
        assert encoded.json() == json.loads(body)
        # A raw parameter name that is not the route's is refused as any other, in problem+json.
        status, headers, body = raw_exchange(base, _get("/v1/practices?поиск=классы"))
        assert status == 422
        assert headers["content-type"] == "application/problem+json"
        assert "поиск" in json.loads(body)["detail"]
        # A request split across packets, the request line in two.
        host, port = base.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as connection:
            request = _get("/v1/practices?q=классы")
            connection.sendall(request[:25])
            time.sleep(0.2)
            connection.sendall(request[25:])
            answer = b""
            while chunk := connection.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 200 ")
        # What cannot be parsed at all is still answered in problem+json.
        status, headers, body = raw_exchange(base, b"NOT HTTP AT ALL\r\n\r\n")
        assert status == 400
        assert headers["content-type"] == "application/problem+json"
        assert json.loads(body)["status"] == 400


def test_recnet_serve_answers_a_raw_utf8_query(tmp_path: Path) -> None:
    with served(tmp_path) as (base, _):
        status, headers, _body = raw_exchange(base, _get("/v1/practices?q=классы"))
    assert status == 200
    assert headers["content-type"] == "application/json"


def _responses_to(base: str, first: bytes, second: bytes) -> bytes:
    """What the server answers on one connection to ``first``, then, in a later packet,
    ``second``; read until it has said nothing for a second."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection.sendall(first)
        time.sleep(0.4)
        connection.sendall(second)
        connection.settimeout(1.0)
        answer = b""
        try:
            while chunk := connection.recv(65536):
                answer += chunk
        except TimeoutError:
            pass
    return answer


def test_a_body_in_its_own_packet_is_never_read_as_a_request_line(tmp_path: Path) -> None:
    """The red team's desync: a GET and the head of a POST in one packet, the POST's body in the
    next. The body starts like a request line and holds raw high bytes; were it rewritten as one,
    it would outgrow its Content-Length and the overflow would run as a request of its own."""
    hidden = b"GET /v1/SMUGGLED HTTP/1.1\r\nHost: x\r\n\r\n"
    body = b"ABC " + b"\xff" * (len(hidden) // 2 + 1) + b"\n" + hidden
    first = (
        b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n"
        b"POST /v1/health HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    with served(tmp_path) as (base, _):
        answer = _responses_to(base, first, body)
        # The connection still answers a raw UTF-8 request line that starts a packet.
        status, _, _ = raw_exchange(base, _get("/v1/practices?q=классы"))
    statuses = re.findall(rb"HTTP/1\.1 (\d{3})", answer)
    assert statuses == [b"200", b"405"], answer
    assert b"SMUGGLED" not in answer
    assert status == 200
