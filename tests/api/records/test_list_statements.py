"""A list's statement is built once per shape (repositories/records.py ``Shape``) and serves
every request of that shape with its own values, never another reader's visibility."""

from __future__ import annotations

from fastapi.testclient import TestClient

from recnet.auth.principal import Role
from recnet.db import Database
from recnet.repositories import records as repository
from recnet.services.practices import PRACTICES
from tests.factories import bearer, client_for_role, get_token, make_record


def test_one_statement_serves_every_value_of_a_shape(
    client: TestClient, database: Database
) -> None:
    for tenant in ("UZB", "KAZ", "TJK"):
        make_record(database, PRACTICES, tenant, status="published", title={"en": tenant})
        make_record(
            database, PRACTICES, tenant, status="published", tlp="AMBER", title={"en": "amber"}
        )
    repository._keyset.cache_clear()

    def titles(query: str, headers: dict[str, str] | None = None) -> list[str]:
        # A unique updated_since each time: no answer comes from the read cache.
        titles.calls += 1  # type: ignore[attr-defined]
        since = f"2000-01-01T00:00:{titles.calls:02d}Z"  # type: ignore[attr-defined]
        page = client.get(f"/v1/practices?{query}&updated_since={since}", headers=headers)
        assert page.status_code == 200
        return sorted(item["title"] for item in page.json()["items"])

    titles.calls = 0  # type: ignore[attr-defined]
    assert titles("tenant=UZB") == ["UZB"]
    assert titles("tenant=KAZ") == ["KAZ"]
    assert titles("tenant=TJK") == ["TJK"]
    shapes = repository._keyset.cache_info()
    assert (shapes.misses, shapes.hits) == (1, 2)  # one statement, three tenants

    # Another reader is another shape: an agency sees its own amber record, not the others'.
    uzb = bearer(get_token(client, client_for_role(database, Role.member_state, "UZB")))
    kaz = bearer(get_token(client, client_for_role(database, Role.member_state, "KAZ")))
    assert titles("tenant=UZB", uzb) == ["UZB", "amber"]
    assert titles("tenant=KAZ", uzb) == ["KAZ", "amber"]  # amber is shared with member states
    assert titles("tlp=AMBER", kaz) == ["amber", "amber", "amber"]
    assert titles("tlp=AMBER") == []
    assert repository._keyset.cache_info().misses == 4
