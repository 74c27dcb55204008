"""Every error is RFC 9457 problem+json with a request id, and leaks nothing internal."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from recnet.app import create_app
from tests.conftest import make_settings

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance", "request_id"}


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert set(body) >= PROBLEM_KEYS
    assert body["status"] == status
    assert body["type"].startswith("urn:recnet:problem:")
    assert body["request_id"] == response.headers["x-request-id"]
    return body


def test_unknown_route_is_404_problem(client: TestClient) -> None:
    body = assert_problem(client.get("/v1/no-such-thing"), 404)
    assert body["instance"] == "/v1/no-such-thing"
    assert body["type"] == "urn:recnet:problem:not-found"


def test_wrong_method_is_405_problem_with_allow(client: TestClient) -> None:
    response = client.delete("/v1/organisations")
    body = assert_problem(response, 405)
    assert "GET" in response.headers["allow"]
    assert "DELETE" in body["detail"]


def test_validation_lists_every_failing_field(client: TestClient) -> None:
    response = client.get("/v1/organisations", params={"kind": "spy-agency", "code": "lower!"})
    body = assert_problem(response, 422)
    fields = {(e["location"], e["field"]) for e in body["errors"]}
    assert fields == {("query", "kind"), ("query", "code")}
    for error in body["errors"]:
        assert error["code"]
        assert error["message"]
        # The submitted value is not echoed back.
        assert "spy-agency" not in error["message"]


def test_unhandled_exception_is_500_problem_and_logged_with_request_id(
    database, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(database.settings, database)

    def explode() -> None:
        raise RuntimeError("SELECT secret FROM internals -- should never reach a client")

    app.add_api_route("/v1/test-explode", explode)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/v1/test-explode", headers={"X-Request-ID": "boom-1"})
    body = assert_problem(response, 500)
    assert "SELECT" not in response.text
    assert "Traceback" not in response.text
    assert body["request_id"] == "boom-1"
    logged = [r for r in caplog.records if r.name == "recnet.errors" and r.exc_info]
    assert logged, "the stack trace must be in the log"
    assert logged[0].request_id == "boom-1"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://recnet@127.0.0.1:1/recnet",  # nothing listens there
        "sqlite:////nonexistent-directory/recnet.db",  # cannot be opened
    ],
)
def test_database_down_is_503_problem_with_retry_after(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(make_settings(url, db_pool_timeout=1))
    with TestClient(app, raise_server_exceptions=False) as client:
        listed = client.get("/v1/organisations")
        ready = client.get("/v1/ready")
    for response in (listed, ready):
        body = assert_problem(response, 503)
        assert int(response.headers["retry-after"]) > 0
        assert "127.0.0.1" not in body["detail"]
        assert "sqlite" not in body["detail"].lower()
    assert any(r.levelno == logging.WARNING and r.name == "recnet.errors" for r in caplog.records)


def test_oversized_body_is_413_problem(client: TestClient, database) -> None:
    limit = database.settings.max_body_bytes
    response = client.post("/v1/organisations", content=b"x" * (limit + 1))
    assert_problem(response, 413)
