"""PostgreSQL row-level security: the database itself keeps tenants apart (second defence)."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import exc, text

from recnet.db import Database, set_tenant
from tests.conftest import owner_database


@pytest.fixture(autouse=True)
def _postgresql_only(backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("row-level security exists on PostgreSQL only")


INSERT = text(
    "INSERT INTO records (id, kind, tenant, version, status, tlp, data, created_at, updated_at) "
    "VALUES (:id, 'practice', :tenant, 1, :status, :tlp, '{}', now(), now())"
)


def execute_as(database: Database, as_tenant: str | None, sql: str, **params: object) -> int:
    """Run one statement in its own transaction as the application, under ``as_tenant``."""
    with database.transaction() as session:
        if as_tenant is not None:
            set_tenant(session, as_tenant)
        return int(session.execute(text(sql), params).rowcount)


INSERT_SQL = str(INSERT)


def row(tenant: str, tlp: str = "CLEAR", status: str = "draft") -> dict[str, object]:
    return {"id": uuid.uuid4(), "tenant": tenant, "status": status, "tlp": tlp}


def seed(db_url: str, tenant: str, tlp: str = "CLEAR", status: str = "published") -> uuid.UUID:
    record_id = uuid.uuid4()
    with owner_database(db_url).transaction() as session:
        session.execute(INSERT, {"id": record_id, "tenant": tenant, "status": status, "tlp": tlp})
    return record_id


def test_the_application_role_cannot_bypass_rls(database: Database) -> None:
    with database.transaction() as session:
        role, bypass, superuser = session.execute(
            text(
                "SELECT current_user, rolbypassrls, rolsuper FROM pg_roles "
                "WHERE rolname = current_user"
            )
        ).one()
        owner = session.execute(
            text("SELECT tableowner FROM pg_tables WHERE tablename = 'records'")
        ).scalar()
    assert role == "recnet_app"
    assert not bypass
    assert not superuser
    assert owner != role


def test_tenant_cannot_insert_a_row_of_another_tenant(database: Database) -> None:
    with pytest.raises(exc.ProgrammingError, match="row-level security"):
        execute_as(database, "UZB", INSERT_SQL, **row("KAZ"))


def test_tenant_can_insert_its_own_row(database: Database) -> None:
    with database.transaction() as session:
        set_tenant(session, "UZB")
        session.execute(
            INSERT, {"id": uuid.uuid4(), "tenant": "UZB", "status": "draft", "tlp": "RED"}
        )
    with database.transaction() as session:
        set_tenant(session, "UZB")
        assert session.execute(text("SELECT count(*) FROM records")).scalar() == 1


def test_tenant_cannot_update_or_take_over_a_row_of_another_tenant(
    database: Database, db_url: str
) -> None:
    kaz = seed(db_url, "KAZ")
    with database.transaction() as session:
        set_tenant(session, "UZB")
        changed = session.execute(
            text("UPDATE records SET tlp = 'RED' WHERE id = :id"), {"id": kaz}
        ).rowcount
    assert changed == 0
    uzb = seed(db_url, "UZB")
    with pytest.raises(exc.ProgrammingError, match="row-level security"):
        execute_as(database, "UZB", "UPDATE records SET tenant = 'KAZ' WHERE id = :id", id=uzb)
    with owner_database(db_url).transaction() as session:
        tlp = session.execute(text("SELECT tlp FROM records WHERE id = :id"), {"id": kaz}).scalar()
    assert tlp == "CLEAR"


def test_without_a_tenant_nothing_is_written_and_no_red_row_is_read(
    database: Database, db_url: str
) -> None:
    seed(db_url, "UZB", tlp="RED")
    seed(db_url, "UZB", tlp="AMBER+STRICT")
    seed(db_url, "UZB", tlp="CLEAR", status="draft")
    seed(db_url, "UZB", tlp="GREEN")
    with database.transaction() as session:
        visible = session.execute(text("SELECT tlp FROM records")).scalars().all()
    assert visible == ["GREEN"]
    with pytest.raises(exc.ProgrammingError, match="row-level security"):
        execute_as(database, None, INSERT_SQL, **row("UZB"))
    assert execute_as(database, None, "UPDATE records SET version = version + 1") == 0


def test_the_application_cannot_delete_records(database: Database, db_url: str) -> None:
    seed(db_url, "UZB")
    with pytest.raises(exc.ProgrammingError, match="permission denied"):
        execute_as(database, "UZB", "DELETE FROM records")


def test_a_pooled_connection_carries_no_tenant_after_a_request(
    client: TestClient, database: Database, role_headers
) -> None:
    from recnet.auth.principal import Role

    response = client.get("/v1/auth/me", headers=role_headers[Role.member_state])
    assert response.json()["tenant"] == "UZB"
    # Every connection the pool holds, the one the request used among them.
    connections = [database.engine.connect() for _ in range(database.settings.pool_size)]
    try:
        for connection in connections:
            tenant = connection.execute(
                text("SELECT current_setting('recnet.tenant', true)")
            ).scalar()
            assert tenant in (None, "")
    finally:
        for connection in connections:
            connection.close()
