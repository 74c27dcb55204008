"""The push client's side of the HTTP conversation with a recnet server.

It gets a token with the client-credentials grant, cuts a statistics table into CSV batches, sends
each with an ``Idempotency-Key`` made from the file's content hash, the batch size, the strategy
and the batch number (so running the same push again after a failure writes nothing twice),
retries transient failures (a set number of times), translates each batch's line numbers back to
the file's, fetches the JSON Schemas the service publishes, and puts records by their reference.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import httpx

DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_BATCH_SIZE = 10_000
RETRIES = 4
MAX_RETRY_WAIT = 60.0


class PushError(Exception):
    """A problem that stops the push before any batch is judged (usage, file, auth)."""


class AuthError(PushError):
    """The server refused the credentials or the scope."""


class Unreachable(PushError):
    """The server could not be reached, even after the retries."""


DEFAULT_STRATEGY = "create_and_update"
STRATEGIES = ("create_and_update", "create", "update", "delete")


@dataclass(frozen=True)
class Record:
    """One data row of the file: its line (or sheet row) number and its values."""

    line: int
    values: list[str]


@dataclass(frozen=True)
class Table:
    """A statistics file read into memory: header, rows, and what identifies its content."""

    header: list[str]
    records: list[Record]
    digest: str
    unit: str  # "line" (CSV) or "row" (Excel)


@dataclass(frozen=True)
class Batch:
    """One request's worth of rows: its CSV body, and batch line → file line."""

    number: int
    body: bytes
    lines: dict[int, int]
    first: int
    last: int


def batches(table: Table, size: int) -> Iterator[Batch]:
    """The table cut into CSV bodies of ``size`` rows, each with its own header."""
    for number, start in enumerate(range(0, max(len(table.records), 1), size), start=1):
        chunk = table.records[start : start + size]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(table.header)
        writer.writerows(r.values for r in chunk)
        body = out.getvalue()
        # The server numbers a row by the line its record ends on (csv.reader.line_num):
        # re-read the body the same way so quoted line breaks cannot shift the numbers.
        reader = csv.reader(io.StringIO(body))
        next(reader, None)
        lines: dict[int, int] = {}
        for record, _ in zip(chunk, reader, strict=True):
            lines[reader.line_num] = record.line
        first = chunk[0].line if chunk else 0
        last = chunk[-1].line if chunk else 0
        yield Batch(number, body.encode(), lines, first, last)


def idempotency_key(
    digest: str, size: int, number: int, dry_run: bool, strategy: str = DEFAULT_STRATEGY
) -> str:
    """The same file, batch size, strategy and batch number always give the same key.

    The server fingerprints the query with the body, so a push with another strategy needs keys
    of its own; the default strategy keeps the keys of earlier versions of the client."""
    named = "" if strategy == DEFAULT_STRATEGY else f"-{strategy}"
    return f"recnet-push-{digest[:40]}-{size}{named}-{number}{'-dry' if dry_run else ''}"


@dataclass
class BatchResult:
    """What the server said about one batch (a report, or a problem without one)."""

    number: int
    first: int
    last: int
    status: str
    counts: dict[str, int] = field(default_factory=dict)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    detail: str | None = None
    replayed: bool = False
    code: int | None = None  # the HTTP status; None when no answer came

    @property
    def refused(self) -> bool:
        return self.status not in ("OK", "WARNING")

    @property
    def interrupted(self) -> bool:
        """No judgement on the data: the server was gone, failing or overloaded throughout."""
        return self.code is None or self.code >= 500 or self.code == 429


def _retry_after(response: httpx.Response, attempt: int) -> float:
    value = response.headers.get("retry-after")
    if value:
        try:
            return min(MAX_RETRY_WAIT, max(0.0, float(value)))
        except ValueError:
            try:
                wait = parsedate_to_datetime(value).timestamp() - time.time()
                return min(MAX_RETRY_WAIT, max(0.0, wait))
            except (TypeError, ValueError):
                pass
    return float(min(MAX_RETRY_WAIT, 0.5 * 2**attempt))


class Pusher:
    """An authenticated session with a recnet server, retrying what is worth retrying."""

    def __init__(
        self,
        url: str,
        client_id: str,
        client_secret: str,
        *,
        timeout: float = 120.0,
        retries: int = RETRIES,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.http = httpx.Client(base_url=url.rstrip("/"), timeout=timeout, transport=transport)
        self.client_id = client_id
        self.client_secret = client_secret
        self.retries = retries
        self.sleep = sleep
        self.token: str | None = None

    def __enter__(self) -> Pusher:
        return self

    def __exit__(self, *_: object) -> None:
        self.http.close()

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request, retried on connection errors, 5xx, 429 and an in-progress 409."""
        attempt = 0
        while True:
            try:
                response = self.http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                if attempt >= self.retries:
                    raise Unreachable(f"cannot reach {self.http.base_url}: {exc}") from None
                self.sleep(float(min(MAX_RETRY_WAIT, 0.5 * 2**attempt)))
                attempt += 1
                continue
            # 409 with an Idempotency-Key: the same batch is still being processed.
            in_progress = response.status_code == 409 and "Idempotency-Key" in kwargs.get(
                "headers", {}
            )
            transient = response.status_code >= 500 or response.status_code == 429 or in_progress
            if not transient or attempt >= self.retries:
                return response
            self.sleep(_retry_after(response, attempt))
            attempt += 1

    def authenticate(self) -> str:
        """A fresh access token (client-credentials grant)."""
        if not self.client_id or not self.client_secret:
            raise PushError("give --client-id and --client-secret (or RECNET_CLIENT_ID/_SECRET)")
        response = self._send(
            "POST",
            "/v1/auth/token",
            data={"grant_type": "client_credentials"},
            auth=(self.client_id, self.client_secret),
        )
        if response.status_code != 200:
            raise AuthError(f"token refused ({response.status_code}): {_detail(response)}")
        token: str = response.json()["access_token"]
        self.token = token
        return token

    def _authorised(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        if self.token is None:
            self.authenticate()
        headers = dict(kwargs.pop("headers", {}))
        for fresh in (False, True):
            if fresh:
                self.authenticate()  # the token may have expired during a long push
            headers["Authorization"] = f"Bearer {self.token}"
            response = self._send(method, path, headers=headers, **kwargs)
            if response.status_code != 401:
                break
        if response.status_code == 401:
            raise AuthError(f"the server refused the token: {_detail(response)}")
        if response.status_code == 403:
            raise AuthError(f"not allowed: {_detail(response)}")
        return response

    def push_batch(self, batch: Batch, key: str, dry_run: bool, strategy: str) -> BatchResult:
        """Send one batch of statistics; the answer with line numbers of the file.

        A server that stays unreachable through the retries gives a result without an answer
        (``interrupted``), not an exception, so the caller can say what was written before."""
        try:
            return self._push_batch(batch, key, dry_run, strategy)
        except Unreachable as exc:
            return BatchResult(batch.number, batch.first, batch.last, "NO ANSWER", detail=str(exc))

    def _push_batch(self, batch: Batch, key: str, dry_run: bool, strategy: str) -> BatchResult:
        response = self._authorised(
            "POST",
            "/v1/statistics/observations",
            content=batch.body,
            params={"dry_run": str(dry_run).lower(), "strategy": strategy},
            headers={"Content-Type": "text/csv", "Idempotency-Key": key},
        )
        result = BatchResult(batch.number, batch.first, batch.last, "ERROR")
        result.code = response.status_code
        result.replayed = response.headers.get("idempotent-replayed") == "true"
        try:
            document = response.json()
        except ValueError:
            document = {}
        report = document.get("report") if response.status_code == 422 else document
        if response.status_code not in (200, 422) or not isinstance(report, dict):
            result.status = f"HTTP {response.status_code}"
            result.detail = _detail(response)
            return result
        result.status = str(report.get("status", "ERROR"))
        result.counts = dict(report.get("counts", {}))
        result.conflicts = [
            {**c, "rows": [batch.lines.get(r, r) for r in c.get("rows", [])]}
            for c in report.get("conflicts", [])
        ]
        return result

    def schema(self, kind: str) -> dict[str, Any]:
        """The JSON Schema (2020-12) of a kind's create shape, as the service publishes it."""
        response = self._send("GET", f"/v1/schemas/{quote(kind, safe='')}")
        if response.status_code != 200:
            raise PushError(
                f"cannot fetch the {kind} schema ({response.status_code}): {_detail(response)}"
            )
        create: dict[str, Any] = response.json()["create"]
        return create

    def put_record(self, plural: str, body: dict[str, Any]) -> tuple[int, str]:
        """PUT one practice or programme by its ``source_ref``: (status code, what happened)."""
        ref = quote(str(body["source_ref"]), safe="")
        response = self._authorised("PUT", f"/v1/{plural}/by-ref/{ref}", json=body)
        if response.status_code == 201:
            return 201, "created"
        if response.status_code == 200:
            return 200, f"stored (version {response.json().get('version', '?')})"
        return response.status_code, _detail(response)


def _detail(response: httpx.Response) -> str:
    try:
        document = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(document, dict):
        detail = str(document.get("detail") or document.get("title") or document)
        errors = document.get("errors")
        if isinstance(errors, list) and errors:
            detail += "; " + "; ".join(str(e) for e in errors[:10])
        return detail
    return str(document)[:200]
