"""Test harness: every database test runs on a migrated SQLite file, and again on PostgreSQL when
``RECNET_TEST_DATABASE_URL`` names a server (CI always does).

Each run migrates a fresh database once per backend; each test starts from the migrated state
(rows written by the previous test are removed, the reference data migrations seeded is kept).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, delete, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from recnet.app import create_app
from recnet.auth.principal import Role
from recnet.config import Settings
from recnet.db import Database, normalise_url, upgrade
from recnet.models import Organisation
from recnet.models.event import SQLITE_APPEND_ONLY
from tests.factories import bearer, client_for_role, get_token
from tests.paths import ROOT

PG_URL = os.environ.get("RECNET_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


def _create_pg_database(admin_url: str) -> str:
    name = f"recnet_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return (
        make_url(normalise_url(admin_url)).set(database=name).render_as_string(hide_password=False)
    )


def _drop_pg_database(admin_url: str, url: str) -> None:
    name = make_url(url).database
    admin = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A freshly migrated database of each backend, for the whole run."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'recnet.db'}"
        upgrade(url)
        yield url
        return
    assert PG_URL is not None
    url = _create_pg_database(PG_URL)
    try:
        upgrade(url)
        yield url
    finally:
        for cache in (_databases, _owners):
            if url in cache:
                cache.pop(url).dispose()
        _drop_pg_database(PG_URL, url)


E2E = ROOT / "tests" / "e2e"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/e2e/ (real servers, browsers, faults, large data) is ``slow``."""
    for item in items:
        if item.path.is_relative_to(E2E):
            item.add_marker(pytest.mark.slow)


def make_settings(url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {"database_url": url, "env": "dev", "threads": 4}
    values.update(overrides)
    return Settings.model_validate(values)


_databases: dict[str, Database] = {}
_owners: dict[str, Database] = {}


def owner_database(url: str) -> Database:
    """The database as its owner sees it (no application role: row-level security bypassed)."""
    if url not in _owners:
        _owners[url] = Database.from_settings(make_settings(url, database_role=""))
    return _owners[url]


def reset(url: str) -> None:
    """Remove what a test wrote, keeping the reference data the migrations created."""
    with owner_database(url).engine.begin() as connection:
        sqlite = connection.dialect.name == "sqlite"
        connection.execute(text("DELETE FROM record_search"))
        if sqlite:  # the log's append-only triggers stand aside while the test data goes
            for name in SQLITE_APPEND_ONLY:
                connection.execute(text(f"DROP TRIGGER {name}"))
        for table in reversed(SQLModel.metadata.sorted_tables):
            if table.name == Organisation.__tablename__:
                connection.execute(delete(table).where(table.c.kind != "member_state"))
            else:
                connection.execute(delete(table))
        if sqlite:
            for statement in SQLITE_APPEND_ONLY.values():
                connection.execute(text(statement))


@pytest.fixture
def database(db_url: str) -> Iterator[Database]:
    if db_url not in _databases:
        _databases[db_url] = Database.from_settings(make_settings(db_url))
    db = _databases[db_url]
    yield db
    reset(db_url)


@pytest.fixture
def backend(db_url: str) -> str:
    return make_url(db_url).get_backend_name()


@pytest.fixture
def app(database: Database) -> FastAPI:
    return create_app(database.settings, database)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def project_root() -> Path:
    return ROOT


class RoleHeaders(Mapping[Role, dict[str, str]]):
    """Authorization headers for one client of each role (anonymous: none), each client and its
    token made the first time its role is asked for: they cost two scrypt hashes each, and most
    tests ask for one or two roles."""

    def __init__(self, client: TestClient, database: Database) -> None:
        self._client, self._database = client, database
        self._made: dict[Role, dict[str, str]] = {Role.anonymous: {}}

    def __getitem__(self, role: Role) -> dict[str, str]:
        if role not in self._made:
            credentials = client_for_role(self._database, role)
            self._made[role] = bearer(get_token(self._client, credentials))
        return self._made[role]

    def __iter__(self) -> Iterator[Role]:
        return iter(Role)

    def __len__(self) -> int:
        return len(Role)


@pytest.fixture
def role_headers(client: TestClient, database: Database) -> Mapping[Role, dict[str, str]]:
    """Authorization headers for one client of each role (anonymous: none), made as asked for."""
    return RoleHeaders(client, database)
