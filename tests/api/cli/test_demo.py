"""`recnet demo`: a sample network that works at once, loaded twice without duplicates, with
every illustrative figure labelled as such."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from recnet.cli import app as cli
from recnet.config import get_settings
from recnet.demo import ILLUSTRATIVE, network, pending_migration
from tests.conftest import PG_URL, _create_pg_database, _drop_pg_database

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
    titles = [
        i["title"] for i in client.get("/v1/practices", params={"limit": 100}).json()["items"]
    ]
    assert "Mobile classes for returned children" in titles
    russian = client.get("/v1/practices", params={"lang": "ru", "limit": 100}).json()["items"]
    assert "Мобильные классы для вернувшихся детей" in [i["title"] for i in russian]
    programmes = client.get("/v1/programmes").json()["items"]
    mehr = [p for p in programmes if "Mehr" in p["title"]]
    assert "530" in mehr[0]["summary"], "the one figure the seeds state, quoted as such"
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


def test_loading_twice_duplicates_nothing_and_keeps_the_printed_secrets(
    demo, client: TestClient
) -> None:
    first = demo()
    before = (
        client.get("/v1/practices", params={"limit": 100}).json()["items"],
        client.get("/v1/statistics/observations", params={"limit": 10_000}).json()["items"],
    )
    second = demo()
    after = (
        client.get("/v1/practices", params={"limit": 100}).json()["items"],
        client.get("/v1/statistics/observations", params={"limit": 10_000}).json()["items"],
    )
    assert [i["id"] for i in after[0]] == [i["id"] for i in before[0]]
    assert [i["version"] for i in after[0]] == [i["version"] for i in before[0]]
    assert len(after[1]) == len(before[1])
    assert [c["client_id"] for c in second] == [c["client_id"] for c in first]
    assert [c["secret"] for c in first] == ["created", "created"]
    assert [c["secret"] for c in second] == ["kept", "kept"]
    assert [c["client_secret"] for c in second] == [None, None]
    for c in first:  # what the first run printed still works
        assert _token(client, c).status_code == 200


def test_running_demo_again_says_the_secrets_were_kept(demo) -> None:
    demo()
    again = runner.invoke(cli, ["demo"])
    assert again.exit_code == 0, again.output
    assert "exist already and keep their secrets" in again.output
    assert "recnet demo --rotate" in again.output
    assert "export RECNET_CLIENT_ID=rc_" in again.output
    assert "export RECNET_CLIENT_SECRET=" not in again.output


def test_rotate_gives_new_secrets_and_says_the_old_ones_stop(demo, client: TestClient) -> None:
    first = demo()
    rotated = runner.invoke(cli, ["demo", "--rotate"])
    assert rotated.exit_code == 0, rotated.output
    assert rotated.output.count("no longer works") == 2
    exports = dict(
        line.removeprefix("export ").split("=", 1)
        for line in rotated.output.splitlines()
        if line.startswith("export ")
    )
    assert exports["RECNET_CLIENT_ID"] == first[0]["client_id"]
    assert exports["RECNET_CLIENT_SECRET"] != first[0]["client_secret"]
    assert _token(client, first[0]).status_code == 401
    fresh = {
        "client_id": exports["RECNET_CLIENT_ID"],
        "client_secret": exports["RECNET_CLIENT_SECRET"],
    }
    assert _token(client, fresh).status_code == 200


def _token(client: TestClient, credentials: dict[str, object]) -> httpx.Response:
    return client.post(
        "/v1/auth/token",
        data={"grant_type": "client_credentials"},
        auth=(str(credentials["client_id"]), str(credentials["client_secret"])),
    )


def test_anonymous_visitors_see_a_network_worth_exploring(demo, client: TestClient) -> None:
    demo()
    practices = client.get("/v1/practices", params={"limit": 100}).json()["items"]
    clear = [p for p in practices if p["tlp"] == "CLEAR" and p["status"] == "published"]
    assert len(clear) == len(practices) >= 8
    assert {p["document"]["working_group"] for p in clear} == {
        "accountability_legal",
        "psychosocial_health_education",
        "countering_narratives",
        "civil_society",
    }
    assert len({p["tenant"] for p in clear}) == 5
    programmes = client.get("/v1/programmes", params={"limit": 100}).json()["items"]
    assert len(programmes) >= 3
    assert len({p["tenant"] for p in programmes}) >= 3
    observations = client.get("/v1/statistics/observations", params={"limit": 10_000}).json()[
        "items"
    ]
    published = [o for o in observations if o["OBS_VALUE"] is not None]
    assert {o["REF_AREA"] for o in published} >= {"KAZ", "KGZ", "TJK", "TKM", "UZB"}
    for state in ("KAZ", "KGZ", "TJK", "TKM", "UZB"):
        key = (state, "RETURNED", "_T", "_T")
        total = [o for o in published if (o["REF_AREA"], o["INDICATOR"], o["SEX"], o["AGE"]) == key]
        assert len(total) == 5, f"{state}: a published yearly total for 2019-2023"


def test_every_record_says_where_it_comes_from(demo, client: TestClient) -> None:
    demo()
    notes = set()
    for kind, field in (("practices", "lessons_learned"), ("programmes", "legal_basis")):
        for item in client.get(f"/v1/{kind}", params={"limit": 100}).json()["items"]:
            document = item["document"]
            notes.add(document[field]["en"])
            assert document[field]["ru"]
    assert notes == {note["en"] for note in network()["notes"].values()}
    assert all(note.startswith(("Sample record", "Illustrative sample")) for note in notes)


def test_demo_migrates_a_never_migrated_embedded_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECNET_DATABASE_URL", f"sqlite:///{tmp_path / 'new.db'}")
    get_settings.cache_clear()
    try:
        result = runner.invoke(cli, ["demo"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "Sample network loaded" in result.output
    assert pending_migration(f"sqlite:///{tmp_path / 'new.db'}") is None


@pytest.mark.skipif(PG_URL is None, reason="RECNET_TEST_DATABASE_URL is not set")
def test_demo_on_a_never_migrated_server_database_says_what_to_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert PG_URL is not None
    url = _create_pg_database(PG_URL)
    monkeypatch.setenv("RECNET_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        refused = runner.invoke(cli, ["demo"])
        assert refused.exit_code == 1
        assert "never migrated" in refused.output
        assert "run `recnet migrate` first" in refused.output
        assert "Traceback" not in refused.output
        assert refused.exception is None or isinstance(refused.exception, SystemExit)
        assert pending_migration(url) is not None, "nothing was written"
        migrated = runner.invoke(cli, ["demo", "--migrate", "--json"])
        assert migrated.exit_code == 0, migrated.output
        assert pending_migration(url) is None
    finally:
        get_settings.cache_clear()
        _drop_pg_database(PG_URL, url)
