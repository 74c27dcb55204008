"""The page of every practice and programme (``/practices/{id}``, ``/programmes/{id}``): what each
reader may see, the one 404 page, languages, withdrawn records, links for machines, and text from
agencies kept as text."""

from __future__ import annotations

import itertools
import uuid

import lxml.html
import pytest
from fastapi.testclient import TestClient

from recnet.app import create_app
from recnet.auth.principal import Role
from recnet.db import Database
from recnet.schemas.catalogues import catalogue
from recnet.services.practices import PRACTICES
from recnet.services.programmes import PROGRAMMES
from recnet.services.records import Kind
from tests.conftest import make_settings
from tests.factories import bearer, client_for_role, get_token, make_record, practice_body

KINDS: dict[str, Kind] = {"practices": PRACTICES, "programmes": PROGRAMMES}
MARKINGS = ["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"]

# Who reads a published record of another tenant, written out from the design's table (TLP 2.0)
# rather than taken from the code under test. Drafts: the owning tenant only.
READERS: dict[str, set[str]] = {
    "CLEAR": {"anonymous", "researcher", "partner", "secretariat", "member_state", "other_state"},
    "GREEN": {"partner", "secretariat", "member_state", "other_state"},
    "AMBER": {"secretariat", "member_state", "other_state"},
    "AMBER+STRICT": {"member_state"},
    "RED": {"member_state"},
}


@pytest.fixture(params=sorted(KINDS))
def plural(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def parse(html: str) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(html)


def links(page: lxml.html.HtmlElement, rel: str) -> dict[str, str]:
    """``<link rel=...>`` of the page's head: type (or hreflang) → href."""
    return {
        (link.get("type") or link.get("hreflang") or ""): link.get("href")
        for link in page.xpath(f"//head/link[@rel='{rel}']")
    }


def meta(page: lxml.html.HtmlElement, name: str) -> str | None:
    found = page.xpath(f"//meta[@property='{name}' or @name='{name}']/@content")
    return found[0] if found else None


def test_anonymous_reader_gets_the_page_of_a_clear_published_practice(
    client: TestClient, database: Database
) -> None:
    record = make_record(
        database,
        PRACTICES,
        status="published",
        lessons_learned={"en": "Start with documents.\n\nThen schooling."},
        organisations=[
            {"name": {"en": "Ministry of Education"}, "code": "MOE", "role": "implementing"}
        ],
        regions=["UZ-SA"],
        start_date="2021-02-01",
        end_date="2023-06-30",
        evidence_level="external_evaluation",
        documents=[{"url": "https://example.org/report.pdf", "title": {"en": "Final report"}}],
    )
    response = client.get(f"/practices/{record.id}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    page = parse(response.text)
    assert page.get("lang") == "en"
    assert page.xpath("string(//h1)") == "Mobile classes for returned children"
    text = page.text_content()
    for shown in (
        "Teachers travel to families in remote districts.",  # summary
        "Schooling resumes at home while documents are restored.",  # description
        "Then schooling.",  # lessons learned, second paragraph
        "Psychosocial support, health and education",  # working group label
        "Mobile classes",  # approach label
        "Children aged 5-11",  # target group label
        "Ministry of Education",
        "Implementing (IATI 4)",  # role label
        "UZ-SA",
        "2021-02-01",
        "2023-06-30",
        "External evaluation",
        "Uzbekistan",
        "TLP:CLEAR",
    ):
        assert shown in text, shown
    assert page.xpath("//a[@href='https://example.org/report.pdf']/text()") == ["Final report"]
    assert len(page.xpath("//div[@lang='en']/p")) >= 3  # paragraphs kept apart
    history = page.xpath("//table[@class='history']/tbody/tr")
    assert [row.xpath("string(td[2])") for row in history] == ["created"]


def test_programme_page_shows_lead_agency_components_budget_and_results(
    client: TestClient, database: Database
) -> None:
    record = make_record(
        database,
        PROGRAMMES,
        status="published",
        partners=[{"name": {"en": "UNICEF"}, "code": "UNICEF", "role": "funding"}],
        legal_basis={"en": "Presidential decree of 2019."},
        coverage=["UZ-TK"],
        results=[
            {
                "title": {"en": "Children back in school"},
                "indicators": [
                    {
                        "title": {"en": "Children enrolled"},
                        "unit": "persons",
                        "baseline": {"period": "2019", "value": "0"},
                        "target": {"period": "2021", "value": "150"},
                        "actuals": [{"period": "2020", "value": "120"}],
                    }
                ],
            }
        ],
    )
    page = parse(client.get(f"/programmes/{record.id}").text)
    text = page.text_content()
    for shown in (
        "National commission",  # lead agency
        "Implementation",  # activity status
        "Family reunification",  # component
        "Actual start",
        "2019-01-01",
        "Presidential decree of 2019.",
        "UNICEF",
        "Funding (IATI 1)",
        "UZ-TK",
        "1,000,000.00 USD",
        "Children back in school",
        "Children enrolled",
        "0 (2019)",
        "150 (2021)",
        "120 (2020)",
    ):
        assert shown in text, shown
    russian = parse(client.get(f"/programmes/{record.id}", params={"lang": "ru"}).text)
    assert "1\u202f000\u202f000,00 USD" in russian.text_content()


def test_each_reader_sees_the_pages_its_markings_allow_and_a_404_page_otherwise(
    client: TestClient, database: Database, role_headers: dict[Role, dict[str, str]], plural: str
) -> None:
    """Every marking × draft or published × every kind of reader (and a foreign member state)."""
    readers = {role.value: headers for role, headers in role_headers.items()}
    readers["other_state"] = bearer(
        get_token(client, client_for_role(database, Role.member_state, "KAZ"))
    )
    for tlp, status in itertools.product(MARKINGS, ["draft", "published"]):
        record = make_record(database, KINDS[plural], tlp=tlp, status=status)
        for reader, headers in readers.items():
            response = client.get(f"/{plural}/{record.id}", headers=headers)
            owner = reader == "member_state"  # role_headers' member state is UZB, the owner
            allowed = owner or (status == "published" and reader in READERS[tlp])
            assert response.status_code == (200 if allowed else 404), (tlp, status, reader)
            assert response.headers["content-type"] == "text/html; charset=utf-8"
            if allowed:
                title = parse(response.text).xpath("string(//h1)")
                assert title == record.data["title"]["en"]


def test_a_page_the_reader_may_not_see_is_the_same_404_as_one_that_does_not_exist(
    client: TestClient, database: Database, plural: str
) -> None:
    hidden = make_record(database, KINDS[plural], tlp="RED", status="published")
    draft = make_record(database, KINDS[plural], tlp="CLEAR", status="draft")
    other_kind = make_record(
        database, PROGRAMMES if plural == "practices" else PRACTICES, status="published"
    )
    missing = uuid.uuid4()
    answers = [
        client.get(f"/{plural}/{record_id}")
        for record_id in (hidden.id, draft.id, other_kind.id, missing, "not-a-uuid")
    ]
    assert {a.status_code for a in answers} == {404}
    assert {a.text for a in answers} == {answers[0].text}, "a 404 page must not tell them apart"
    page = parse(answers[0].text)
    assert page.xpath("string(//h1)") == "Page not found"
    assert page.xpath("//a[@href='/']")
    assert answers[0].headers["content-security-policy"].startswith("default-src 'none'")
    russian = client.get(f"/{plural}/{missing}", headers={"Accept-Language": "ru"})
    assert parse(russian.text).get("lang") == "ru"


def test_a_page_comes_in_the_language_asked_for(
    client: TestClient, database: Database, plural: str
) -> None:
    record = make_record(database, KINDS[plural], status="published")
    path = f"/{plural}/{record.id}"
    for answer in (
        client.get(path, params={"lang": "ru"}),
        client.get(path, headers={"Accept-Language": "ru-RU, ru;q=0.9, en;q=0.5"}),
        client.get(path, params={"lang": "ru"}, headers={"Accept-Language": "en"}),
    ):
        page = parse(answer.text)
        assert page.get("lang") == "ru"
        assert answer.headers["content-language"] == "ru"
        assert page.xpath("string(//h1)") == record.data["title"]["ru"]
        assert page.xpath("string(//h1/@lang)") == "ru"
        assert "Версия" in page.text_content()
        assert "accept-language" in answer.headers["vary"].lower()
    english = parse(client.get(path, params={"lang": "en"}, headers={"Accept-Language": "ru"}).text)
    assert english.xpath("string(//h1)") == record.data["title"]["en"]
    assert not english.xpath("//*[@class='notice']")


def test_uzbek_text_is_shown_with_uzbek_words_and_missing_text_falls_back_and_says_so(
    client: TestClient, database: Database
) -> None:
    """An Uzbek reader gets the page's words in Uzbek and the record's Uzbek text (marked
    lang="uz"). Where the record has no Uzbek, the text falls back as the API's does (English,
    then Russian), marked as such, and a note in Uzbek says so."""
    uzbek = make_record(
        database,
        PRACTICES,
        status="published",
        title={"uz": "Qaytgan bolalar uchun koʻchma sinflar", "en": "Mobile classes"},
        summary={"uz": "Oʻqituvchilar oilalarga boradi.", "en": "Teachers travel."},
    )
    page = parse(client.get(f"/practices/{uzbek.id}", params={"lang": "uz"}).text)
    assert page.get("lang") == "uz"
    assert page.xpath("string(//h1)") == "Qaytgan bolalar uchun koʻchma sinflar"
    assert page.xpath("string(//h1/@lang)") == "uz"
    assert page.xpath("string(//p[@class='summary']/@lang)") == "uz"
    # The description has no Uzbek: that one field falls back, marked as English.
    assert page.xpath("string(//section[@aria-labelledby='h-description']/div/@lang)") == "en"
    assert page.xpath("//nav[@class='langs']//a[@hreflang='uz'][@aria-current='page']")
    assert not page.xpath("//*[@class='notice']")

    english_only = make_record(database, PRACTICES, status="published")
    page = parse(client.get(f"/practices/{english_only.id}", params={"lang": "uz"}).text)
    assert page.xpath("string(//h1/@lang)") == "en"
    notice = page.xpath("string(//*[@class='notice'])")
    uzbek_words = catalogue("pages", "uz")
    assert notice == uzbek_words["no_text_in"].format(asked="Oʻzbek tili", shown="Ingliz tili")


def test_a_withdrawn_record_shows_as_withdrawn_with_its_history(
    client: TestClient, database: Database, role_headers: dict[Role, dict[str, str]], plural: str
) -> None:
    agency = role_headers[Role.member_state]
    record = make_record(database, KINDS[plural], status="published")
    assert client.delete(f"/v1/{plural}/{record.id}", headers=agency).status_code in (200, 204)
    response = client.get(f"/{plural}/{record.id}")
    assert response.status_code == 200
    page = parse(response.text)
    article = page.xpath("//article")[0]
    assert article.get("data-status") == "withdrawn"
    assert "is-withdrawn" in article.get("class")
    banner = page.xpath("string(//*[@class='withdrawn'])")
    assert "Withdrawn" in banner
    assert "Uzbekistan has withdrawn this record" in banner
    actions = [row.xpath("string(td[2])") for row in page.xpath("//table[@class='history']//tr")]
    assert actions[1:] == ["created", "withdrawn"]
    russian = parse(client.get(f"/{plural}/{record.id}", params={"lang": "ru"}).text)
    assert "Отозвано" in russian.xpath("string(//*[@class='withdrawn'])")


def test_a_page_links_to_its_record_in_the_api_to_the_feeds_and_to_itself(
    client: TestClient, database: Database, plural: str
) -> None:
    record = make_record(database, KINDS[plural], status="published")
    response = client.get(f"/{plural}/{record.id}", params={"lang": "ru"})
    page = parse(response.text)
    alternates = links(page, "alternate")
    assert alternates["application/json"] == f"/v1/{plural}/{record.id}"
    assert alternates["application/atom+xml"] == f"/v1/feeds/{plural}.atom?lang=ru"
    assert alternates["application/feed+json"] == f"/v1/feeds/{plural}.json?lang=ru"
    assert alternates["en"] == f"/{plural}/{record.id}?lang=en"
    assert links(page, "canonical") == {"": f"/{plural}/{record.id}?lang=ru"}
    assert meta(page, "og:title") == record.data["title"]["ru"]
    assert meta(page, "og:type") == "article"
    assert meta(page, "og:url") == f"/{plural}/{record.id}?lang=ru"
    assert meta(page, "og:locale") == "ru_RU"
    for href in alternates.values():  # every link leads somewhere that answers
        assert client.get(href).status_code == 200, href
    assert client.get(alternates["application/json"]).json()["id"] == str(record.id)


def test_links_start_with_the_public_url_never_with_the_host_header(
    database: Database, db_url: str, plural: str
) -> None:
    record = make_record(database, KINDS[plural], status="published")
    forged = {"Host": "attacker.example", "X-Forwarded-Host": "attacker.example"}
    configured = make_settings(db_url, public_url="https://recnet.example.org")
    with TestClient(create_app(configured, database)) as public:
        page = parse(public.get(f"/{plural}/{record.id}", headers=forged).text)
    canonical = links(page, "canonical")[""]
    assert canonical == f"https://recnet.example.org/{plural}/{record.id}?lang=en"
    assert meta(page, "og:url") == canonical
    assert links(page, "alternate")["application/json"].startswith("https://recnet.example.org/")
    assert "attacker" not in lxml.html.tostring(page, encoding="unicode")


def test_hostile_text_in_a_record_stays_text(
    client: TestClient, database: Database, role_headers: dict[Role, dict[str, str]]
) -> None:
    hostile = '"><script>alert(1)</script><img src=x onerror=alert(2)>'
    body = practice_body(
        status="published",
        title={"en": f"Title {hostile}"},
        summary={"en": f"Summary {hostile}"},
        description={"en": f"Description {hostile}\n\n<b>bold</b> & {{{{ 7*7 }}}}"},
        organisations=[{"name": {"en": f"Org {hostile}"}, "role": "funding"}],
        documents=[{"url": "https://example.org/x?a=1&b=2", "title": {"en": f"Doc {hostile}"}}],
    )
    created = client.post("/v1/practices", json=body, headers=role_headers[Role.member_state])
    assert created.status_code == 201, created.text
    response = client.get(f"/practices/{created.json()['id']}")
    page = parse(response.text)
    assert not page.xpath("//script | //img | //b | //*[@onerror]")
    assert page.xpath("string(//h1)") == f"Title {hostile}"
    assert meta(page, "og:description") == f"Summary {hostile}"  # an attribute, intact
    assert page.xpath("string(//title)").startswith(f"Title {hostile}")
    assert "<b>bold</b> & {{ 7*7 }}" in page.text_content()  # no template evaluation either
    assert page.xpath("//a[text()='Doc " + hostile.replace("'", "") + "']/@href") == [
        "https://example.org/x?a=1&b=2"
    ]
    assert "<script>" not in response.text


def test_pages_run_no_script_and_load_only_their_own_stylesheet(
    client: TestClient, database: Database, plural: str
) -> None:
    record = make_record(database, KINDS[plural], status="published")
    response = client.get(f"/{plural}/{record.id}")
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script-src" not in policy, "no script may run at all"
    assert "style-src 'self'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    page = parse(response.text)
    assert not page.xpath("//script | //*[@style] | //style")
    loaded = page.xpath("//link[@rel='stylesheet']/@href | //img/@src | //link[@rel='icon']/@href")
    assert all(src.startswith("/") or src.startswith("data:") for src in loaded), loaded
    css = client.get(page.xpath("//link[@rel='stylesheet']/@href")[0])
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")


def test_a_bad_token_is_refused_not_taken_as_anonymous(
    client: TestClient, database: Database
) -> None:
    record = make_record(database, PRACTICES, status="published")
    response = client.get(f"/practices/{record.id}", headers=bearer("not-a-token"))
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


def test_an_overlong_language_is_a_clear_error_and_an_unknown_one_is_ignored(
    client: TestClient, database: Database
) -> None:
    record = make_record(database, PRACTICES, status="published")
    refused = client.get(f"/practices/{record.id}", params={"lang": "x" * 100})
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    unknown = client.get(f"/practices/{record.id}", params={"lang": "fr"})
    assert unknown.status_code == 200
    assert parse(unknown.text).get("lang") == "en"


def test_pages_stay_out_of_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/v1/openapi.json").json()["paths"]
    assert not [p for p in paths if not p.startswith("/v1/") and "well-known" not in p]
