"""The published contract: stable operation ids, problem+json errors, offline documentation."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from recnet.app import api_routes


def test_every_operation_has_a_unique_readable_id(client: TestClient) -> None:
    schema = client.get("/v1/openapi.json").json()
    ids = [op["operationId"] for item in schema["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    assert all(i.replace("_", "").isalpha() and i.islower() for i in ids)


def test_every_route_is_under_v1(app: FastAPI) -> None:
    paths = [r.path for r in api_routes(app)]
    assert "/v1/organisations" in paths
    assert all(p.startswith("/v1/") for p in paths)


def test_every_error_response_is_documented_as_problem_json(client: TestClient) -> None:
    schema = client.get("/v1/openapi.json").json()
    for item in schema["paths"].values():
        for operation in item.values():
            responses = operation["responses"]
            assert "default" in responses
            for status, response in responses.items():
                if status == "default" or status[0] in "45":
                    assert list(response["content"]) == ["application/problem+json"]
    assert "HTTPValidationError" not in schema["components"]["schemas"]


def test_documentation_pages_use_only_local_assets(client: TestClient) -> None:
    for page, asset in (("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")):
        html = client.get(page)
        assert html.status_code == 200
        assert "http://" not in html.text
        assert "https://" not in html.text
        assert f"/docs/assets/{asset}" in html.text
        script = client.get(f"/docs/assets/{asset}")
        assert script.status_code == 200
        assert "javascript" in script.headers["content-type"]
        assert len(script.content) > 100_000
