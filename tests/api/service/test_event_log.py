"""The append-only event log: hash chain, tamper detection, append-only enforcement, audit API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import exc, text
from sqlmodel import col, select
from typer.testing import CliRunner

from recnet.auth.principal import Role
from recnet.cli import app as cli
from recnet.config import get_settings
from recnet.db import Database, set_tenant
from recnet.models import Event
from recnet.models.event import SQLITE_APPEND_ONLY
from recnet.services import events, records
from recnet.services.practices import PRACTICES
from tests.conftest import owner_database
from tests.factories import agency_principal, make_record

runner = CliRunner()


@pytest.fixture
def logged(database: Database) -> list[Event]:
    """Five changes: creations by two tenants, one of them RED."""
    make_record(database, PRACTICES, "UZB", status="published")
    make_record(database, PRACTICES, "KAZ", status="published", tlp="GREEN")
    make_record(database, PRACTICES, "UZB", status="published", tlp="RED")
    make_record(database, PRACTICES, "KAZ")
    make_record(database, PRACTICES, "UZB")
    with owner_database(database.settings.database_url).transaction(write=False) as session:
        return list(session.exec(select(Event).order_by(col(Event.seq))))


@pytest.fixture
def verify_cli(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    monkeypatch.setenv("RECNET_DATABASE_URL", db_url)
    get_settings.cache_clear()
    yield lambda: runner.invoke(cli, ["audit", "verify"])
    get_settings.cache_clear()


@pytest.fixture
def tamper(db_url: str, backend: str) -> object:
    """Runs SQL against the log as its owner would, past the append-only guard."""

    def run(sql: str) -> None:
        with owner_database(db_url).engine.begin() as connection:
            if backend == "sqlite":
                for name in SQLITE_APPEND_ONLY:
                    connection.execute(text(f"DROP TRIGGER {name}"))
            connection.execute(text(sql))
            if backend == "sqlite":
                for statement in SQLITE_APPEND_ONLY.values():
                    connection.execute(text(statement))

    return run


def test_events_are_numbered_in_order_and_chained(logged: list[Event]) -> None:
    assert [e.seq for e in logged] == [1, 2, 3, 4, 5]
    assert logged[0].prev_hash == events.GENESIS
    for before, after in zip(logged, logged[1:], strict=False):
        assert after.prev_hash == before.hash
    assert all(e.hash == events.event_hash(e) for e in logged)
    assert {e.tenant for e in logged} == {"UZB", "KAZ"}


def test_audit_verify_passes_on_an_intact_log(logged: list[Event], verify_cli) -> None:
    result = verify_cli()
    assert result.exit_code == 0, result.output
    assert "5 events" in result.output


@pytest.mark.parametrize(
    ("sql", "broken_at", "words"),
    [
        ("UPDATE events SET tlp = 'CLEAR' WHERE seq = 3", 3, "altered"),
        ("DELETE FROM events WHERE seq = 2", 2, "missing"),
        (
            "UPDATE events SET prev_hash = (SELECT hash FROM events WHERE seq = 1) WHERE seq = 4",
            4,
            "link",
        ),
    ],
    ids=["altered", "removed", "relinked"],
)
def test_audit_verify_names_the_first_broken_event(
    logged: list[Event], verify_cli, tamper, sql: str, broken_at: int, words: str
) -> None:
    tamper(sql)
    result = verify_cli()
    assert result.exit_code == 1
    assert f"BROKEN at event {broken_at}" in result.output
    assert words in result.output


def test_the_application_cannot_change_or_remove_events(
    logged: list[Event], database: Database, backend: str
) -> None:
    refusal = "permission denied" if backend == "postgresql" else "append-only"
    for sql in ("UPDATE events SET action = 'x' WHERE seq = 1", "DELETE FROM events WHERE seq = 1"):
        with pytest.raises(exc.DBAPIError, match=refusal), database.transaction() as session:
            session.execute(text(sql))
    with owner_database(database.settings.database_url).transaction(write=False) as session:
        assert session.exec(select(Event.action).where(Event.seq == 1)).one() == "created"


def test_secretariat_pages_through_the_audit_trail(
    logged: list[Event], client: TestClient, role_headers: dict[Role, dict[str, str]]
) -> None:
    headers = role_headers[Role.secretariat]
    first = client.get("/v1/audit", params={"limit": 3}, headers=headers)
    assert first.status_code == 200
    page = first.json()
    assert [e["seq"] for e in page["items"]] == [1, 2, 3]
    rest = client.get("/v1/audit", params={"cursor": page["next_cursor"]}, headers=headers).json()
    assert [e["seq"] for e in rest["items"]] == [4, 5]
    assert rest["next_cursor"] is None
    red = next(e for e in page["items"] if e["tlp"] == "RED")
    assert red["payload"] is None, "the secretariat does not read RED records"
    assert page["items"][0]["payload"]["document"]["title"]
    for role in (Role.anonymous, Role.partner, Role.member_state):
        assert client.get("/v1/audit", headers=role_headers[role]).status_code in (401, 403)


def test_concurrent_writers_keep_the_chain_whole(database: Database, verify_cli) -> None:
    """Eight threads, each with its own connection, write at once: no gap, no fork, no loss."""
    from concurrent.futures import ThreadPoolExecutor

    tenants = ["UZB", "KAZ", "KGZ", "TJK"] * 6
    with ThreadPoolExecutor(max_workers=8) as pool:
        made = list(pool.map(lambda t: make_record(database, PRACTICES, t), tenants))
    assert len({r.id for r in made}) == len(tenants)
    with owner_database(database.settings.database_url).transaction(write=False) as session:
        checked, broken = events.verify(session)
        seqs = list(session.exec(select(Event.seq).order_by(col(Event.seq))))
    assert broken is None
    assert checked == len(tenants)
    assert seqs == list(range(1, len(tenants) + 1))
    assert verify_cli().exit_code == 0


def test_audit_shows_a_draft_payload_to_nobody_but_its_tenant(
    database: Database, client: TestClient, role_headers: dict[Role, dict[str, str]]
) -> None:
    """Each event's payload follows the visibility of the record as it was at that event: the
    secretariat reads a shared record's published versions, never its drafts."""
    draft = make_record(database, PRACTICES, "KAZ", status="draft", tlp="GREEN")
    with database.transaction() as session:
        set_tenant(session, "KAZ")
        records.publish(session, agency_principal("KAZ"), PRACTICES, draft.id, None)
    answer = client.get("/v1/audit", headers=role_headers[Role.secretariat])
    assert answer.status_code == 200, answer.text
    logged = [e for e in answer.json()["items"] if e["record_id"] == str(draft.id)]
    assert [e["status"] for e in logged] == ["draft", "published"]
    assert logged[0]["payload"] is None
    assert logged[1]["payload"] is not None
