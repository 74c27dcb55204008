"""A TCP proxy between recnet and PostgreSQL that a test drives, to fail the way networks fail.

Modes: pass bytes through; stall (hold every byte, both ways, keep the connections open); cut
(close every connection, and refuse new ones until ``restore``); and, once, drop the server's
reply to the COMMIT of a transaction that sent a given statement (the commit happens, the client
never hears of it). A connection closed on one side is closed on the other, as the kernel would.
"""

from __future__ import annotations

import queue
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from sqlalchemy.engine import make_url


class _Pair:
    def __init__(self, downstream: socket.socket, upstream: socket.socket) -> None:
        self.downstream = downstream
        self.upstream = upstream
        self.wrote_marker = False
        self.drop_reply = False
        self.closed = threading.Event()

    def close(self) -> None:
        self.closed.set()
        for side in (self.downstream, self.upstream):
            with suppress(OSError):
                side.shutdown(socket.SHUT_RDWR)
            side.close()


class FaultProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.stalled = threading.Event()
        self.refusing = threading.Event()
        self.commit_marker: bytes | None = None
        self.commit_replies_dropped = 0
        self.cut_marker: bytes | None = None
        self.cuts = 0
        self._pairs: list[_Pair] = []
        self._lock = threading.Lock()
        self._running = True
        threading.Thread(target=self._accept, daemon=True).start()

    # ------------------------------------------------------------ what a test does

    def stall(self) -> None:
        self.stalled.set()

    def cut(self) -> None:
        """Close every connection and refuse new ones until ``restore``."""
        self.refusing.set()
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            pair.close()

    def restore(self) -> None:
        self.refusing.clear()
        self.stalled.clear()
        self.cut_marker = None

    def cut_on(self, marker: bytes) -> None:
        """``cut`` as soon as a client sends ``marker`` (before it reaches the server)."""
        self.cut_marker = marker

    def drop_commit_reply(self, after: bytes) -> None:
        """Once: forward the COMMIT of a transaction that sent ``after``, let the server commit,
        and close the connection instead of passing its reply on."""
        self.commit_marker = after

    def close(self) -> None:
        self._running = False
        self.cut()
        self.listener.close()

    # ------------------------------------------------------------ the machinery

    def _accept(self) -> None:
        while self._running:
            try:
                downstream, _ = self.listener.accept()
            except OSError:
                return
            if self.refusing.is_set():
                downstream.close()
                continue
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
                upstream.settimeout(None)
            except OSError:
                downstream.close()
                continue
            pair = _Pair(downstream, upstream)
            with self._lock:
                self._pairs.append(pair)
            for source, target, outbound in (
                (downstream, upstream, True),
                (upstream, downstream, False),
            ):
                chunks: queue.Queue[bytes | None] = queue.Queue()
                threading.Thread(
                    target=self._read, args=(pair, source, chunks, outbound), daemon=True
                ).start()
                threading.Thread(
                    target=self._write, args=(pair, target, chunks, outbound), daemon=True
                ).start()

    def _read(
        self, pair: _Pair, source: socket.socket, chunks: queue.Queue[bytes | None], outbound: bool
    ) -> None:
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                data = b""
            if not data:
                chunks.put(None)
                return
            if outbound:
                if self.cut_marker is not None and self.cut_marker in data:
                    self.cuts += 1
                    self.cut()
                    chunks.put(None)
                    return
                if self.commit_marker is not None and self.commit_marker in data:
                    pair.wrote_marker = True
                if pair.wrote_marker and b"COMMIT" in data and self.commit_marker is not None:
                    self.commit_marker = None
                    pair.drop_reply = True
            chunks.put(data)

    def _write(
        self, pair: _Pair, target: socket.socket, chunks: queue.Queue[bytes | None], outbound: bool
    ) -> None:
        while True:
            data = chunks.get()
            while self.stalled.is_set() and not pair.closed.is_set():
                time.sleep(0.01)
            if data is None or pair.closed.is_set():
                pair.close()
                return
            if not outbound and pair.drop_reply:
                # The server has committed and answered: the answer is lost with the connection.
                self.commit_replies_dropped += 1
                pair.close()
                return
            try:
                target.sendall(data)
            except OSError:
                pair.close()
                return


@contextmanager
def proxied(url: str) -> Iterator[tuple[FaultProxy, str]]:
    """A proxy in front of the PostgreSQL server of ``url``, and ``url`` going through it."""
    parsed = make_url(url)
    proxy = FaultProxy(parsed.host or "127.0.0.1", parsed.port or 5432)
    try:
        through = parsed.set(host="127.0.0.1", port=proxy.port)
        yield proxy, through.render_as_string(hide_password=False)
    finally:
        proxy.close()
