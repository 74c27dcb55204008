"""GET /metrics: off unless configured, the token mode, and what an operator reads there.

The exposition is read back with prometheus-client's own parser (what a Prometheus server
understands), not by matching text.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from recnet.app import create_app
from recnet.auth.principal import Role
from recnet.db import Database
from recnet.models import Delivery, Subscription
from recnet.services.practices import PRACTICES
from tests.conftest import make_settings, owner_database
from tests.factories import bearer, client_for_role, get_token, make_record

TOKEN = "scraper-" + "0123456789abcdef" * 3
IMPORT_URL = "/v1/statistics/observations"


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of an exposition, by name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(text: str, name: str, **labels: str) -> float | None:
    return samples(text).get((name, frozenset(labels.items())))


@pytest.fixture
def metered(database: Database) -> Iterator[TestClient]:
    settings = make_settings(database.settings.database_url, metrics="public")
    with TestClient(create_app(settings, database), raise_server_exceptions=False) as client:
        yield client


def test_metrics_are_not_served_by_default(client: TestClient) -> None:
    response = client.get("/metrics")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_metrics_in_token_mode_refuse_a_caller_without_the_token(database: Database) -> None:
    settings = make_settings(database.settings.database_url, metrics="token", metrics_token=TOKEN)
    with TestClient(create_app(settings, database), raise_server_exceptions=False) as client:
        missing = client.get("/metrics")
        wrong = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN[:-1]}x"})
        # An API access token is not the scraper's token either.
        api_token = bearer(get_token(client, client_for_role(database, Role.secretariat)))
        not_scraper = client.get("/metrics", headers=api_token)
        right = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    for refused in (missing, wrong, not_scraper):
        assert refused.status_code == 401
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.headers["www-authenticate"].startswith("Bearer")
        assert "recnet_" not in refused.text
    assert right.status_code == 200
    assert right.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert value(right.text, "recnet_database_up") == 1


def test_requests_are_counted_by_route_template_not_raw_path(metered: TestClient) -> None:
    ids = [str(uuid.uuid4()) for _ in range(3)]
    for record_id in ids:
        assert metered.get(f"/v1/practices/{record_id}").status_code == 404
    metered.get("/v1/health")
    metered.get("/no/such/place/" + ids[0])
    text = metered.get("/metrics").text
    assert not any(record_id in text for record_id in ids)
    template = "/v1/practices/{record_id}"
    assert (
        value(text, "recnet_http_requests_total", method="GET", route=template, status="404") == 3
    )
    assert (
        value(text, "recnet_http_requests_total", method="GET", route="/v1/health", status="200")
        == 1
    )
    assert (
        value(text, "recnet_http_requests_total", method="GET", route="unmatched", status="404")
        == 1
    )


def test_latencies_are_a_histogram_by_route(metered: TestClient) -> None:
    for _ in range(2):
        metered.get("/v1/health")
    text = metered.get("/metrics").text
    name = "recnet_http_request_duration_seconds"
    assert value(text, f"{name}_count", method="GET", route="/v1/health") == 2
    assert value(text, f"{name}_bucket", method="GET", route="/v1/health", le="+Inf") == 2
    assert 0 < (value(text, f"{name}_sum", method="GET", route="/v1/health") or 0) < 10


def test_database_pool_use_is_reported(metered: TestClient, database: Database) -> None:
    text = metered.get("/metrics").text
    assert value(text, "recnet_db_pool_size") == database.settings.pool_size
    # The scrape's own database read has given its connection back.
    assert value(text, "recnet_db_pool_connections_in_use") == 0


def test_event_log_head_follows_the_log(metered: TestClient, database: Database) -> None:
    before = value(metered.get("/metrics").text, "recnet_event_log_head")
    make_record(database, PRACTICES)
    make_record(database, PRACTICES)
    after = value(metered.get("/metrics").text, "recnet_event_log_head")
    assert before is not None
    assert after == database.event_head() > before


def test_import_sizes_and_durations_by_outcome(metered: TestClient, database: Database) -> None:
    agency = bearer(get_token(metered, client_for_role(database, Role.member_state, "UZB")))
    observation = {
        "REF_AREA": "UZB",
        "INDICATOR": "RETURNED",
        "SEX": "F",
        "AGE": "Y0T4",
        "COUNTERPART_AREA": "SYR",
        "TIME_PERIOD": "2019-Q2",
        "OBS_VALUE": 42,
    }
    accepted = json.dumps({"observations": [observation]}).encode()
    refused = json.dumps({"observations": [{**observation, "SEX": "unknown"}]}).encode()
    json_type = {"Content-Type": "application/json"}
    assert metered.post(IMPORT_URL, content=accepted, headers={**agency, **json_type}).is_success
    assert metered.post(IMPORT_URL, content=refused, headers={**agency, **json_type}).status_code
    text = metered.get("/metrics").text
    assert value(text, "recnet_import_bytes_count", outcome="2xx") == 1
    assert value(text, "recnet_import_bytes_sum", outcome="2xx") == len(accepted)
    assert value(text, "recnet_import_bytes_sum", outcome="4xx") == len(refused)
    assert value(text, "recnet_import_duration_seconds_count", outcome="2xx") == 1
    assert value(text, "recnet_import_duration_seconds_count", outcome="4xx") == 1


def test_webhook_deliveries_and_failures_are_read_from_the_database(
    metered: TestClient, database: Database
) -> None:
    owner = client_for_role(database, Role.partner)
    now = datetime.now(UTC)
    with owner_database(database.settings.database_url).transaction() as session:
        subscription = Subscription(
            client_id=owner.client_id,
            callback_url="https://partner.example.org/hook",
            kinds=["practice"],
            secret="s" * 32,
            status="failing",
        )
        session.add(subscription)
        session.flush()
        for attempt, status_code in enumerate([200, 204, 500, None], start=1):
            session.add(
                Delivery(
                    subscription_id=subscription.id,
                    seq=1,
                    attempt=attempt,
                    status_code=status_code,
                    attempted_at=now,
                )
            )
    text = metered.get("/metrics").text
    assert value(text, "recnet_webhook_deliveries_total", outcome="delivered") == 2
    assert value(text, "recnet_webhook_deliveries_total", outcome="failed") == 2
    assert value(text, "recnet_webhook_subscriptions", status="failing") == 1


def test_metrics_still_answer_when_the_database_cannot_be_read(tmp_path) -> None:
    settings = make_settings(f"sqlite:///{tmp_path}/missing/dir/recnet.db", metrics="public")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        client.get("/v1/health")
        response = client.get("/metrics")
    assert response.status_code == 200
    assert value(response.text, "recnet_database_up") == 0
    assert (
        value(
            response.text,
            "recnet_http_requests_total",
            method="GET",
            route="/v1/health",
            status="200",
        )
        == 1
    )


def test_metrics_are_not_in_the_openapi_document(metered: TestClient) -> None:
    assert "/metrics" not in metered.get("/v1/openapi.json").json()["paths"]
