"""Records as their writers and readers expect them: a published record is not silently kept
when a replacement asks for draft, and ``lang`` chooses the language of one record too."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from recnet.auth.principal import Role
from recnet.db import Database
from recnet.services.practices import PRACTICES
from recnet.services.programmes import PROGRAMMES
from recnet.services.records import Kind
from tests.factories import (
    bearer,
    client_for_role,
    get_token,
    make_record,
    practice_body,
    programme_body,
)

BODIES = {"practice": practice_body, "programme": programme_body}


@pytest.fixture(params=[PRACTICES, PROGRAMMES], ids=lambda k: k.plural)
def kind(request: pytest.FixtureRequest) -> Kind:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def agency(client: TestClient, database: Database) -> dict[str, str]:
    return bearer(get_token(client, client_for_role(database, Role.member_state, "UZB")))


def test_a_published_record_does_not_go_back_to_draft_by_put(
    client: TestClient, agency: dict[str, str], kind: Kind
) -> None:
    url = f"/v1/{kind.plural}/by-ref/REF-1"
    body = BODIES[kind.name]()
    created = client.put(url, json={**body, "status": "published"}, headers=agency)
    assert created.status_code == 201, created.text
    changed_title = {**body["title"], "en": "A new title"}  # type: ignore[dict-item]
    refused = client.put(
        url, json={**body, "title": changed_title, "status": "draft"}, headers=agency
    )
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert "cannot go back to draft" in refused.json()["detail"]
    # Nothing of the replacement was written.
    now = client.get(f"/v1/{kind.plural}/{created.json()['id']}", headers=agency).json()
    assert now["status"] == "published"
    assert now["version"] == created.json()["version"]
    assert now["title"] != "A new title"
    # Without status (or with published) the replacement is applied and the record stays published.
    kept = client.put(url, json={**body, "title": changed_title}, headers=agency)
    assert kept.status_code == 200
    assert kept.json()["status"] == "published"
    assert kept.json()["version"] == created.json()["version"] + 1


def test_a_draft_stays_a_draft_by_put(
    client: TestClient, agency: dict[str, str], kind: Kind
) -> None:
    url = f"/v1/{kind.plural}/by-ref/REF-2"
    body = BODIES[kind.name]()
    assert client.put(url, json=body, headers=agency).status_code == 201
    again = client.put(url, json={**body, "status": "draft"}, headers=agency)
    assert again.status_code == 200
    assert again.json()["status"] == "draft"


def test_lang_chooses_the_language_of_one_record(
    client: TestClient, database: Database, kind: Kind
) -> None:
    record = make_record(database, kind, status="published")
    url = f"/v1/{kind.plural}/{record.id}"
    english = client.get(url, params={"lang": "en"})
    russian = client.get(url, params={"lang": "ru"})
    assert english.json()["lang"] == "en"
    assert russian.json()["lang"] == "ru"
    assert russian.json()["title"] == record.data["title"]["ru"]
    # lang comes before Accept-Language, as on the list.
    both = client.get(url, params={"lang": "ru"}, headers={"Accept-Language": "en"})
    assert both.json()["lang"] == "ru"
    assert both.headers["etag"] != english.headers["etag"]
    assert client.get(url, params={"lang": "xx"}).status_code == 422
