"""Request bodies are bounded: size (413) and JSON nesting depth (422), before anything parses."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from recnet.api.middleware import MAX_JSON_DEPTH, json_depth


@pytest.mark.parametrize(
    ("document", "depth"),
    [
        (b"1", 0),
        (b"[]", 1),
        (b'{"a": [1, {"b": 2}]}', 3),
        (b'{"text": "[[[[{{{{"}', 1),
        (b'["escaped \\" [[[["]', 1),
    ],
)
def test_json_depth_ignores_brackets_inside_strings(document: bytes, depth: int) -> None:
    assert json_depth(document) == depth


def test_deeply_nested_json_is_422_problem(client: TestClient) -> None:
    deep = b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1)
    response = client.post(
        "/v1/auth/token", content=deep, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    body = response.json()
    assert body["errors"][0]["code"] == "too_deep"


def test_pathologically_deep_json_is_refused_quickly(client: TestClient) -> None:
    depth = 400_000
    response = client.post(
        "/v1/auth/token",
        content=b"[" * depth + b"]" * depth,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422


def test_bad_content_length_is_400(client: TestClient) -> None:
    response = client.get("/v1/organisations", headers={"Content-Length": "lots"})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
