"""Liveness, readiness, request ids and the access log."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient

from recnet.app import create_app
from recnet.db import Database
from tests.conftest import make_settings


def test_health_answers_without_database(tmp_path) -> None:
    # A database that cannot even be opened: health must not touch it.
    app = create_app(make_settings(f"sqlite:///{tmp_path}/missing/dir/recnet.db"))
    with TestClient(app) as client:
        response = client.get("/v1/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_ready_when_database_is_migrated(client: TestClient, database: Database) -> None:
    response = client.get("/v1/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "revision": database.head_revision}


def test_not_ready_when_database_is_not_migrated(tmp_path) -> None:
    app = create_app(make_settings(f"sqlite:///{tmp_path}/empty.db"))
    with TestClient(app) as client:
        response = client.get("/v1/ready")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) > 0
    assert "recnet migrate" in response.json()["detail"]


def test_request_id_is_echoed(client: TestClient) -> None:
    response = client.get("/v1/health", headers={"X-Request-ID": "agency-42.retry:1"})
    assert response.headers["x-request-id"] == "agency-42.retry:1"


@pytest.mark.parametrize("given", [None, "bad id with spaces", "x" * 200, "<script>"])
def test_request_id_is_made_when_missing_or_unsafe(client: TestClient, given: str | None) -> None:
    headers = {"X-Request-ID": given} if given else {}
    response = client.get("/v1/health", headers=headers)
    made = response.headers["x-request-id"]
    assert made != given
    assert len(made) == 32
    assert made.isalnum()


def test_access_log_is_one_json_line_with_request_id(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    from recnet.logs import JsonFormatter

    with caplog.at_level(logging.INFO, logger="recnet.access"):
        client.get("/v1/organisations?kind=partner", headers={"X-Request-ID": "trace-1"})
    records = [r for r in caplog.records if r.name == "recnet.access"]
    assert len(records) == 1
    line = JsonFormatter().format(records[0])
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["request_id"] == "trace-1"
    assert entry["method"] == "GET"
    assert entry["path"] == "/v1/organisations"
    assert entry["status"] == 200
    assert entry["duration_ms"] >= 0
