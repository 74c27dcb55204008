"""`recnet demo`: a sample network that works at once, loaded twice without duplicates, with
every illustrative figure labelled as such."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from recnet.cli import app as cli
from recnet.config import get_settings
from recnet.demo import ILLUSTRATIVE

runner = CliRunner()


@pytest.fixture
def demo(db_url: str, monkeypatch: pytest.MonkeyPatch, database) -> Iterator[object]:
    monkeypatch.setenv("RECNET_DATABASE_URL", db_url)
    get_settings.cache_clear()

    def run() -> list[dict[str, object]]:
        result = runner.invoke(cli, ["demo", "--json"])
        assert result.exit_code == 0, result.output
        loaded: list[dict[str, object]] = json.loads(result.output)
        return loaded

    yield run
    get_settings.cache_clear()


def test_demo_loads_a_network_that_works_at_once(demo, client: TestClient) -> None:
    credentials = {c["organisation"]: c for c in demo()}
    assert set(credentials) == {"UZB", "UNICEF"}
    for c in credentials.values():
        token = client.post(
            "/v1/auth/token",
            data={"grant_type": "client_credentials"},
            auth=(c["client_id"], c["client_secret"]),
        )
        assert token.status_code == 200
    titles = [i["title"] for i in client.get("/v1/practices").json()["items"]]
    assert "Mobile classes for returned children" in titles
    russian = client.get("/v1/practices", params={"lang": "ru"}).json()["items"]
    assert "Мобильные классы для вернувшихся детей" in [i["title"] for i in russian]
    programme = client.get("/v1/programmes").json()["items"][0]
    assert "530" in programme["summary"], "the one figure the seeds state, quoted as such"
    codes = {o["code"] for o in client.get("/v1/organisations").json()["items"]}
    assert {"SEC", "UNICEF", "UNODC"} <= codes


def test_every_figure_is_labelled_illustrative(demo, client: TestClient, role_headers) -> None:
    demo()
    from recnet.auth.principal import Role

    items = client.get(
        "/v1/statistics/observations",
        params={"limit": 10_000},
        headers=role_headers[Role.secretariat],
    ).json()["items"]
    assert len(items) > 100
    assert all(i["OBS_STATUS"] == "E" and i["COMMENT"] == ILLUSTRATIVE for i in items)
    public = client.get("/v1/statistics/observations", params={"limit": 10_000}).json()["items"]
    assert any(i["CONF_STATUS"] == "C" for i in public), "disclosure control shows"


def test_loading_twice_duplicates_nothing(demo, client: TestClient) -> None:
    first = demo()
    before = (
        client.get("/v1/practices").json()["items"],
        client.get("/v1/statistics/observations", params={"limit": 10_000}).json()["items"],
    )
    second = demo()
    after = (
        client.get("/v1/practices").json()["items"],
        client.get("/v1/statistics/observations", params={"limit": 10_000}).json()["items"],
    )
    assert [i["id"] for i in after[0]] == [i["id"] for i in before[0]]
    assert [i["version"] for i in after[0]] == [i["version"] for i in before[0]]
    assert len(after[1]) == len(before[1])
    assert [c["client_id"] for c in second] == [c["client_id"] for c in first]
    assert [c["client_secret"] for c in second] != [c["client_secret"] for c in first]
