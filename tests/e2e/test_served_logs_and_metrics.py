"""A served process as an operator runs it: what it logs, and /metrics over several workers."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.served import served


def test_served_logs_are_plain_json_without_alembic_noise_from_ready(tmp_path: Path) -> None:
    with served(tmp_path) as (base, output):
        for _ in range(3):
            assert httpx.get(f"{base}/v1/ready", timeout=10).status_code == 200
    lines = [line for line in output if line.strip()]
    assert lines, "the server logged nothing"
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    assert not [line for line in lines if "\\u001b" in line or "\x1b" in line]
    messages = [entry["message"] for entry in entries]
    assert any(m.startswith("Started server process") for m in messages)
    assert not [m for m in messages if m.startswith(("Context impl", "Will assume"))]
    assert sum(1 for e in entries if e.get("path") == "/v1/ready") == 3


def _health_count(text: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "recnet_http_requests_total" and sample.labels == {
                "method": "GET",
                "route": "/v1/health",
                "status": "200",
            }:
                return sample.value
    return 0.0


def test_metrics_add_up_over_several_server_processes(tmp_path: Path) -> None:
    shared = tmp_path / "metrics"
    shared.mkdir()
    environment = {
        "RECNET_WORKERS": "2",
        "RECNET_METRICS": "public",
        "PROMETHEUS_MULTIPROC_DIR": str(shared),
    }
    with served(tmp_path, **environment) as (base, _output):
        # served() waited on /v1/health once (or a few times) before handing over; a request is
        # counted just after its answer is sent, so let the last one be counted.
        time.sleep(0.5)
        before = _health_count(httpx.get(f"{base}/metrics", timeout=10).text)
        with httpx.Client(base_url=base, timeout=10) as client:
            for _ in range(20):
                client.get("/v1/health", headers={"Connection": "close"})
        time.sleep(0.5)
        # Each scrape may be answered by either process: every one sees the sum.
        counts = {_health_count(httpx.get(f"{base}/metrics", timeout=10).text) for _ in range(6)}
    assert counts == {before + 20}
