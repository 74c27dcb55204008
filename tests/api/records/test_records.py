"""Good practices and programmes: every operation, for both kinds (one mechanism, tested twice)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import col, func, select

from recnet.auth.principal import Role
from recnet.db import Database
from recnet.models import Event, Record
from recnet.services.practices import PRACTICES
from recnet.services.programmes import PROGRAMMES
from recnet.services.records import Kind
from tests.conftest import owner_database
from tests.factories import (
    bearer,
    client_for_role,
    get_token,
    make_record,
    practice_body,
    programme_body,
)


@dataclass(frozen=True)
class Case:
    kind: Kind
    body: Callable[..., dict[str, object]]

    @property
    def url(self) -> str:
        return f"/v1/{self.kind.plural}"


CASES = [Case(PRACTICES, practice_body), Case(PROGRAMMES, programme_body)]


@pytest.fixture(params=CASES, ids=lambda c: c.kind.plural)
def case(request: pytest.FixtureRequest) -> Case:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def agency(client: TestClient, database: Database) -> dict[str, str]:
    """Uzbekistan's data office."""
    return bearer(get_token(client, client_for_role(database, Role.member_state, "UZB")))


@pytest.fixture
def foreign_agency(client: TestClient, database: Database) -> dict[str, str]:
    """Kazakhstan's data office."""
    return bearer(get_token(client, client_for_role(database, Role.member_state, "KAZ")))


def counts(database: Database) -> tuple[int, int]:
    """Records and events as the database holds them (read as the owner, past row security)."""
    with owner_database(database.settings.database_url).transaction(write=False) as session:
        n_records = session.exec(select(func.count()).select_from(Record)).one()
        n_events = session.exec(select(func.count()).select_from(Event)).one()
    return n_records, n_events


def stored(database: Database, record_id: str) -> Record:
    import uuid

    with owner_database(database.settings.database_url).transaction(write=False) as session:
        record = session.get(Record, uuid.UUID(record_id))
        assert record is not None
        session.expunge(record)
        return record


# ------------------------------------------------------------------ create and read


def test_agency_creates_a_record_in_its_own_tenant(
    client: TestClient, agency: dict[str, str], case: Case, database: Database
) -> None:
    response = client.post(case.url, json=case.body(), headers=agency)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["tenant"] == "UZB"
    assert body["status"] == "draft"
    assert body["version"] == 1
    assert response.headers["location"] == f"{case.url}/{body['id']}"
    assert response.headers["etag"] == '"v1.en"'
    assert body["languages"] == ["en", "ru"]
    assert body["document"]["title"]["ru"]
    with owner_database(database.settings.database_url).transaction(write=False) as session:
        logged = session.exec(
            select(Event).where(Event.record_id == stored(database, body["id"]).id)
        ).all()
    assert [(e.action, e.version, e.actor_organisation) for e in logged] == [("created", 1, "UZB")]
    assert logged[0].payload["document"] == body["document"]


def test_a_body_cannot_choose_tenant_id_or_version(
    client: TestClient, agency: dict[str, str], case: Case
) -> None:
    for field, value in (("tenant", "KAZ"), ("id", "x"), ("version", 9)):
        response = client.post(case.url, json=case.body(**{field: value}), headers=agency)
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == field


def test_read_picks_the_language_asked_for(
    client: TestClient, agency: dict[str, str], case: Case
) -> None:
    created = client.post(case.url, json=case.body(status="published"), headers=agency).json()
    url = f"{case.url}/{created['id']}"
    russian = client.get(url, headers={"Accept-Language": "ru-RU, en;q=0.5"})
    assert russian.json()["lang"] == "ru"
    assert russian.json()["title"] == created["document"]["title"]["ru"]
    assert russian.headers["etag"] == '"v1.ru"'
    english = client.get(url, headers={"Accept-Language": "kk, en;q=0.8"})
    assert english.json()["lang"] == "en"


def test_conditional_get_answers_304(
    client: TestClient, agency: dict[str, str], case: Case
) -> None:
    created = client.post(case.url, json=case.body(status="published"), headers=agency).json()
    first = client.get(f"{case.url}/{created['id']}")
    again = client.get(
        f"{case.url}/{created['id']}", headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304
    assert again.content == b""
    listed = client.get(case.url)
    assert (
        client.get(case.url, headers={"If-None-Match": listed.headers["etag"]}).status_code == 304
    )


# ------------------------------------------------------------------ update


def test_update_with_if_match_makes_a_new_version(
    client: TestClient, agency: dict[str, str], case: Case
) -> None:
    created = client.post(case.url, json=case.body(), headers=agency)
    url = f"{case.url}/{created.json()['id']}"
    patch = {"title": {"kk": "Жаңа атау", "ru": None}, "tlp": "GREEN"}
    response = client.patch(
        url, json=patch, headers={**agency, "If-Match": created.headers["etag"]}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["version"] == 2
    assert body["tlp"] == "GREEN"
    assert body["document"]["title"] == {"en": case.body()["title"]["en"], "kk": "Жаңа атау"}  # type: ignore[index]
    assert response.headers["etag"] == '"v2.en"'


def test_update_without_if_match_is_428_and_stale_is_412(
    client: TestClient, agency: dict[str, str], case: Case, database: Database
) -> None:
    created = client.post(case.url, json=case.body(), headers=agency)
    url = f"{case.url}/{created.json()['id']}"
    before = counts(database)
    missing = client.patch(url, json={"tlp": "RED"}, headers=agency)
    assert missing.status_code == 428
    stale = client.patch(url, json={"tlp": "RED"}, headers={**agency, "If-Match": '"v7.en"'})
    assert stale.status_code == 412
    assert stored(database, created.json()["id"]).tlp == "CLEAR"
    assert counts(database) == before


def test_an_unchanged_update_is_not_a_new_version(
    client: TestClient, agency: dict[str, str], case: Case, database: Database
) -> None:
    created = client.post(case.url, json=case.body(), headers=agency)
    before = counts(database)
    response = client.patch(
        f"{case.url}/{created.json()['id']}",
        json={"tlp": "CLEAR"},
        headers={**agency, "If-Match": created.headers["etag"]},
    )
    assert response.json()["version"] == 1
    assert counts(database) == before


# ------------------------------------------------------------------ publish, withdraw, versions


def test_publish_withdraw_and_versions(
    client: TestClient, agency: dict[str, str], case: Case
) -> None:
    created = client.post(case.url, json=case.body(), headers=agency).json()
    url = f"{case.url}/{created['id']}"
    assert client.get(url).status_code == 404, "a draft is not public"

    published = client.post(f"{url}/publish", headers=agency)
    assert published.json()["status"] == "published"
    assert client.get(url).status_code == 200

    withdrawn = client.delete(url, headers=agency)
    assert withdrawn.status_code == 200
    assert withdrawn.json()["status"] == "withdrawn"
    tombstone = client.get(url)
    assert tombstone.status_code == 200
    assert tombstone.json()["status"] == "withdrawn"
    assert client.delete(url, headers=agency).json()["version"] == 3, "withdrawing twice is a no-op"
    refused = client.patch(url, json={"tlp": "RED"}, headers={**agency, "If-Match": '"v3.en"'})
    assert refused.status_code == 409
    assert client.post(f"{url}/publish", headers=agency).status_code == 409

    versions = client.get(f"{url}/versions").json()["items"]
    assert [(v["version"], v["action"], v["status"]) for v in versions] == [
        (1, "created", "draft"),
        (2, "published", "published"),
        (3, "withdrawn", "withdrawn"),
    ]
    assert all(v["actor_organisation"] == "UZB" and v["actor_client"] is None for v in versions)
    own = client.get(f"{url}/versions", headers=agency).json()["items"]
    assert all(v["actor_client"] for v in own), "the agency sees which of its clients acted"


# ------------------------------------------------------------------ upsert by reference


def test_upsert_by_reference_never_duplicates(
    client: TestClient, agency: dict[str, str], case: Case, database: Database
) -> None:
    url = f"{case.url}/by-ref/agency-42"
    first = client.put(url, json=case.body(status="published"), headers=agency)
    assert first.status_code == 201
    before = counts(database)
    again = client.put(url, json=case.body(status="published"), headers=agency)
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["version"] == 1, "an unchanged push is not a new version"
    assert counts(database) == before
    changed = client.put(url, json=case.body(status="published", tlp="GREEN"), headers=agency)
    assert changed.json()["version"] == 2
    listed = client.get(case.url, headers=agency).json()["items"]
    assert [i["source_ref"] for i in listed] == ["agency-42"]
    mismatch = client.put(url, json=case.body(source_ref="other"), headers=agency)
    assert mismatch.status_code == 422


def test_source_ref_is_unique_per_tenant(
    client: TestClient, agency: dict[str, str], foreign_agency: dict[str, str], case: Case
) -> None:
    assert (
        client.post(case.url, json=case.body(source_ref="R-1"), headers=agency).status_code == 201
    )
    assert (
        client.post(case.url, json=case.body(source_ref="R-1"), headers=agency).status_code == 409
    )
    other = client.post(case.url, json=case.body(source_ref="R-1"), headers=foreign_agency)
    assert other.status_code == 201


# ------------------------------------------------------------------ idempotent POST


def test_idempotent_post_replays_the_first_answer(
    client: TestClient, agency: dict[str, str], case: Case, database: Database
) -> None:
    headers = {**agency, "Idempotency-Key": "push-2026-11-22-001"}
    first = client.post(case.url, json=case.body(), headers=headers)
    assert first.status_code == 201
    retry = client.post(case.url, json=case.body(), headers=headers)
    assert retry.status_code == 201
    assert retry.json()["id"] == first.json()["id"]
    assert retry.headers["idempotent-replayed"] == "true"
    different = client.post(case.url, json=case.body(tlp="RED"), headers=headers)
    assert different.status_code == 422
    assert "different request" in different.json()["detail"]
    assert counts(database)[0] == 1


def test_concurrent_duplicates_with_one_key_make_one_record(
    app: FastAPI, agency: dict[str, str], case: Case, database: Database
) -> None:
    headers = {**agency, "Idempotency-Key": "concurrent-1"}

    async def burst() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://recnet") as http:
            return await asyncio.gather(
                *(http.post(case.url, json=case.body(), headers=headers) for _ in range(8))
            )

    answers = asyncio.run(burst())
    statuses = sorted(a.status_code for a in answers)
    assert set(statuses) <= {201, 409}
    assert statuses.count(201) >= 1
    assert len({a.json()["id"] for a in answers if a.status_code == 201}) == 1
    assert counts(database)[0] == 1


# ------------------------------------------------------------------ tenants


def test_foreign_tenant_cannot_update_publish_or_withdraw(
    client: TestClient,
    agency: dict[str, str],
    foreign_agency: dict[str, str],
    case: Case,
    database: Database,
) -> None:
    created = client.post(case.url, json=case.body(status="published"), headers=agency)
    url = f"{case.url}/{created.json()['id']}"
    before = counts(database)
    attempts = [
        client.patch(url, json={"tlp": "RED"}, headers={**foreign_agency, "If-Match": '"v1.en"'}),
        client.delete(url, headers=foreign_agency),
        client.post(f"{url}/publish", headers=foreign_agency),
    ]
    assert [a.status_code for a in attempts] == [404, 404, 404]
    assert counts(database) == before
    assert stored(database, created.json()["id"]).tlp == "CLEAR"


def test_drafts_and_strict_markings_stay_with_their_tenant(
    client: TestClient,
    agency: dict[str, str],
    foreign_agency: dict[str, str],
    case: Case,
    database: Database,
    role_headers: dict[Role, dict[str, str]],
) -> None:
    make_record(database, case.kind, "UZB", tlp="GREEN")  # draft
    make_record(database, case.kind, "UZB", tlp="RED", status="published")
    make_record(database, case.kind, "UZB", tlp="AMBER", status="published")
    make_record(database, case.kind, "UZB", tlp="GREEN", status="published")
    make_record(database, case.kind, "UZB", tlp="CLEAR", status="published")

    def seen(headers: dict[str, str]) -> list[tuple[str, str]]:
        items = client.get(case.url, headers=headers).json()["items"]
        return sorted((i["tlp"], i["status"]) for i in items)

    assert seen({}) == [("CLEAR", "published")]
    assert seen(role_headers[Role.partner]) == [("CLEAR", "published"), ("GREEN", "published")]
    assert seen(foreign_agency) == [
        ("AMBER", "published"),
        ("CLEAR", "published"),
        ("GREEN", "published"),
    ]
    assert len(seen(agency)) == 5


# ------------------------------------------------------------------ invalid pushes


def test_an_invalid_push_lists_every_error_and_writes_nothing(
    client: TestClient, agency: dict[str, str], case: Case, database: Database
) -> None:
    body = case.body(
        title={"en": "x" * 301, "fr": "Titre"},
        tlp="PURPLE",
        unexpected="field",
    )
    body["description"] = {}
    before = counts(database)
    response = client.post(case.url, json=body, headers=agency)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"title.en", "title.fr.[key]", "description", "tlp", "unexpected"} <= fields
    assert all(e["location"] == "body" for e in response.json()["errors"])
    assert counts(database) == before


def test_an_invalid_patch_writes_nothing(
    client: TestClient, agency: dict[str, str], case: Case, database: Database
) -> None:
    created = client.post(case.url, json=case.body(), headers=agency)
    before = counts(database)
    response = client.patch(
        f"{case.url}/{created.json()['id']}",
        json={"title": None, "tlp": "BLUE"},
        headers={**agency, "If-Match": created.headers["etag"]},
    )
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} >= {"title", "tlp"}
    assert counts(database) == before


# ------------------------------------------------------------------ list, filters, search, pages


def test_every_filter(client: TestClient, case: Case, database: Database) -> None:
    kind = case.kind
    if kind is PRACTICES:
        make_record(
            database, kind, "UZB", status="published",
            working_group="civil_society", approaches=["employment"],
            target_groups=["women"], evidence_level="external_evaluation",
            title={"en": "Jobs for returned women", "uz": "Ish o'rinlari"},
        )  # fmt: skip
    else:
        make_record(
            database, kind, "UZB", status="published", components=["employment"],
            activity_status="closed",
            title={"en": "Jobs for returned women", "uz": "Ish o'rinlari"},
        )  # fmt: skip
    make_record(database, kind, "KAZ", status="published", tlp="CLEAR")
    make_record(database, kind, "UZB", status="published", tlp="GREEN")

    def titles(**params: str) -> list[str]:
        response = client.get(case.url, params=params, headers={"Accept-Language": "en"})
        assert response.status_code == 200, response.text
        return [i["title"] for i in response.json()["items"]]

    jobs = ["Jobs for returned women"]
    if kind is PRACTICES:
        assert titles(working_group="civil_society") == jobs
        assert titles(target_group="women") == jobs
        assert titles(evidence_level="external_evaluation") == jobs
        assert titles(approach="employment") == jobs
    else:
        assert titles(component="employment") == jobs
        assert titles(activity_status="closed") == jobs
    assert titles(lang="uz") == ["Ish o'rinlari"]
    assert len(titles(tenant="KAZ")) == 1
    assert len(titles(tenant="UZB")) == 1  # the GREEN one is not for anonymous callers
    assert len(titles(tlp="CLEAR")) == 2
    assert titles(status="draft") == []
    assert len(titles(updated_since="2000-01-01T00:00:00Z")) == 2
    assert titles(updated_since="2999-01-01T00:00:00Z") == []


def test_search_finds_english_and_russian_text(
    client: TestClient, case: Case, database: Database
) -> None:
    make_record(
        database,
        case.kind,
        status="published",
        title={
            "en": "Vocational training in mahallas",
            "ru": "Профессиональное обучение в махаллях",
        },
        description={
            "en": "Workshops for young people.",
            "ru": "Мастерские для молодёжи и женщин.",
        },
    )
    make_record(database, case.kind, status="published")

    def found(q: str, lang: str = "en") -> list[str]:
        response = client.get(case.url, params={"q": q, "lang": lang})
        assert response.status_code == 200
        return [i["title"] for i in response.json()["items"]]

    assert found("vocational training") == ["Vocational training in mahallas"]
    assert found("мастерские молодёжи", "ru") == ["Профессиональное обучение в махаллях"]
    assert found("Профессиональное", "ru") == ["Профессиональное обучение в махаллях"]
    assert found("nonexistentword") == []
    assert client.get(case.url, params={"q": '"; DROP TABLE records; --'}).status_code == 200


def test_paging_through_a_large_list_has_no_duplicates_or_gaps(
    client: TestClient, case: Case, database: Database
) -> None:
    made = {str(make_record(database, case.kind, status="published").id) for _ in range(57)}
    for params in (
        {},
        {"sort": "created_at"},
        {"q": "returned"} if case.kind is PRACTICES else {"q": "repatriation"},
    ):
        seen: list[str] = []
        cursor = None
        while True:
            query = {**params, "limit": "10", **({"cursor": cursor} if cursor else {})}
            page = client.get(case.url, params=query).json()
            seen.extend(i["id"] for i in page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == len(set(seen)) == 57, params
        assert set(seen) == made


def test_limits_are_clamped_and_bad_cursors_refused(
    client: TestClient, case: Case, database: Database
) -> None:
    for _ in range(3):
        make_record(database, case.kind, status="published")
    assert len(client.get(case.url, params={"limit": 5000}).json()["items"]) == 3
    assert client.get(case.url, params={"limit": 0}).status_code == 422
    assert client.get(case.url, params={"limit": 100_000}).status_code == 422
    assert client.get(case.url, params={"cursor": "garbage!"}).status_code == 422


def test_sort_orders(client: TestClient, case: Case, database: Database) -> None:
    ids = [str(make_record(database, case.kind, status="published").id) for _ in range(3)]
    oldest_first = client.get(case.url, params={"sort": "created_at"}).json()["items"]
    assert [i["id"] for i in oldest_first] == ids
    newest_first = client.get(case.url, params={"sort": "-updated_at"}).json()["items"]
    assert [i["id"] for i in newest_first] == ids[::-1]
    assert client.get(case.url, params={"sort": "relevance"}).status_code == 422
    with database.transaction(write=False) as session:
        assert (
            session.exec(
                select(func.count()).select_from(Record).where(col(Record.kind) == case.kind.name)
            ).one()
            == 3
        )


def test_versions_name_the_client_only_to_the_secretariat_and_the_owner(
    client: TestClient, database: Database, role_headers: dict[Role, dict[str, str]]
) -> None:
    """A client id is half of an agency's credentials: readers below the secretariat (another
    member state, partners, researchers, anyone) see the organisation that made a change."""
    owner = role_headers[Role.member_state]  # UZB
    created = client.post(
        "/v1/practices", json=practice_body(tlp="CLEAR", status="published"), headers=owner
    )
    assert created.status_code == 201, created.text
    url = f"/v1/practices/{created.json()['id']}/versions"
    client_id = client.get("/v1/auth/me", headers=owner).json()["client_id"]
    other_state = bearer(get_token(client, client_for_role(database, Role.member_state, "KAZ")))

    readers = {role.value: role_headers[role] for role in Role} | {"KAZ": other_state}
    for name, headers in readers.items():
        answer = client.get(url, headers=headers)
        assert answer.status_code == 200, (name, answer.text)
        (version,) = answer.json()["items"]
        assert version["actor_organisation"] == "UZB", name
        expected = client_id if name in ("secretariat", "member_state") else None
        assert version["actor_client"] == expected, name


def test_a_retry_sent_the_instant_the_answer_arrives_is_replayed(
    app: FastAPI, agency: dict[str, str], case: Case, database: Database
) -> None:
    """The kept answer is committed before the first byte of the answer leaves, so a retry sent
    the moment the answer arrives (here: before the first request's handler has even returned)
    is replayed, never told the key is still being processed."""
    key = "instant-retry-1"
    body = json.dumps(case.body()).encode()
    headers = {**agency, "Idempotency-Key": key, "Content-Type": "application/json"}
    answers: dict[str, httpx.Response | int] = {}

    async def scenario() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://recnet") as http:
            delivered = False

            async def receive() -> dict[str, object]:
                nonlocal delivered
                if not delivered:
                    delivered = True
                    return {"type": "http.request", "body": body, "more_body": False}
                await asyncio.sleep(3600)
                return {"type": "http.disconnect"}

            async def send(message: dict[str, object]) -> None:
                if message["type"] == "http.response.start":
                    answers["first"] = int(message["status"])  # type: ignore[call-overload]
                if message["type"] == "http.response.body" and not message.get("more_body"):
                    retry = http.post(case.url, content=body, headers=headers)
                    answers["retry"] = await asyncio.wait_for(retry, timeout=20)

            scope = {
                "type": "http",
                "asgi": {"version": "3.0"},
                "http_version": "1.1",
                "method": "POST",
                "scheme": "http",
                "path": case.url,
                "raw_path": case.url.encode(),
                "root_path": "",
                "query_string": b"",
                "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
                "client": ("127.0.0.1", 50000),
                "server": ("recnet", 80),
            }
            await app(scope, receive, send)

    asyncio.run(scenario())
    assert answers["first"] == 201
    retry = answers["retry"]
    assert isinstance(retry, httpx.Response)
    assert retry.status_code == 201, retry.text
    assert retry.headers["idempotent-replayed"] == "true"
    assert counts(database)[0] == 1
