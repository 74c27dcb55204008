"""The operators' contract: `recnet orgs`, `clients` and `keys`, on the real database."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from recnet.cli import app as cli
from recnet.config import get_settings
from recnet.db import Database

runner = CliRunner()


@pytest.fixture
def recnet(database: Database, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """Runs `recnet ...` against the test database; returns (exit code, output)."""
    monkeypatch.setenv("RECNET_DATABASE_URL", db_url)
    get_settings.cache_clear()

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(cli, list(args))
        return result.exit_code, result.output

    yield run
    get_settings.cache_clear()


def token_status(http: TestClient, client_id: str, secret: str) -> int:
    data = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    return http.post("/v1/auth/token", data=data).status_code


def test_orgs_create_and_list(recnet) -> None:
    code, output = recnet(
        "orgs", "create", "--code", "UNICEF", "--kind", "partner", "--name", "UNICEF"
    )
    assert code == 0, output
    code, output = recnet("orgs", "list", "--json")
    listed = {o["code"]: o["kind"] for o in json.loads(output)}
    assert listed["UNICEF"] == "partner"
    assert listed["UZB"] == "member_state"
    code, output = recnet("orgs", "create", "--code", "UNICEF", "--kind", "partner", "--name", "x")
    assert code == 1
    assert "already exists" in output


def test_orgs_create_refuses_new_member_states_and_bad_codes(recnet) -> None:
    assert (
        recnet("orgs", "create", "--code", "AFG", "--kind", "member_state", "--name", "x")[0] == 1
    )
    assert (
        recnet("orgs", "create", "--code", "bad code", "--kind", "partner", "--name", "x")[0] == 1
    )


def test_clients_create_prints_the_secret_once_and_it_works(recnet, client: TestClient) -> None:
    code, output = recnet(
        "clients",
        "create",
        "--org",
        "UZB",
        "--name",
        "Uzbekistan data office",
        "--scopes",
        "practices:write programmes:write statistics:write",
        "--json",
    )
    assert code == 0, output
    created = json.loads(output)
    assert set(created) >= {"client_id", "client_secret", "scopes"}
    assert created["scopes"] == ["practices:write", "programmes:write", "statistics:write"]
    assert token_status(client, created["client_id"], created["client_secret"]) == 200

    code, output = recnet("clients", "list", "--json")
    listed = json.loads(output)
    assert [c["client_id"] for c in listed] == [created["client_id"]]
    assert created["client_secret"] not in output


def test_clients_create_refuses_scopes_the_kind_may_not_hold(recnet) -> None:
    recnet("orgs", "create", "--code", "UNICEF", "--kind", "partner", "--name", "UNICEF")
    code, output = recnet(
        "clients", "create", "--org", "UNICEF", "--name", "x", "--scopes", "admin"
    )
    assert code == 1
    assert "cannot hold admin" in output
    assert recnet("clients", "create", "--org", "UZB", "--name", "x", "--scopes", "fly")[0] == 2
    assert recnet("clients", "create", "--org", "NOPE", "--name", "x")[0] == 1


def test_clients_disable_and_rotate(recnet, client: TestClient) -> None:
    _, output = recnet("clients", "create", "--org", "KAZ", "--name", "k", "--json")
    created = json.loads(output)
    code, output = recnet("clients", "rotate", created["client_id"], "--json")
    assert code == 0
    rotated = json.loads(output)
    assert rotated["client_secret"] != created["client_secret"]
    assert token_status(client, created["client_id"], created["client_secret"]) == 401
    assert token_status(client, created["client_id"], rotated["client_secret"]) == 200

    assert recnet("clients", "disable", created["client_id"])[0] == 0
    assert token_status(client, created["client_id"], rotated["client_secret"]) == 401
    assert recnet("clients", "disable", "rc_nobody")[0] == 1


def test_keys_rotate_publishes_a_new_key(recnet, client: TestClient) -> None:
    code, output = recnet("keys", "rotate")
    assert code == 0
    kid = output.split()[-1]
    assert kid in {k["kid"] for k in client.get("/v1/auth/jwks.json").json()["keys"]}
