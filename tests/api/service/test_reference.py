"""The published schema: controlled vocabularies and JSON Schemas of every kind."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

EXPECTED = {
    "languages",
    "working_groups",
    "approaches",
    "target_groups",
    "evidence_levels",
    "tlp",
    "record_statuses",
    "organisation_roles",
    "activity_statuses",
    "activity_date_types",
    "geographic_scope",
}


SEVEN = ["en", "ru", "kk", "ky", "tg", "tk", "uz"]


def test_every_vocabulary_is_published_with_labels_in_seven_languages(client: TestClient) -> None:
    response = client.get("/v1/vocabularies")
    assert response.status_code == 200
    vocabularies = {v["name"]: v for v in response.json()["items"]}
    assert set(vocabularies) == EXPECTED
    for vocabulary in vocabularies.values():
        assert vocabulary["terms"]
        codes = [t["code"] for t in vocabulary["terms"]]
        assert len(codes) == len(set(codes))
        assert list(vocabulary["labels"]) == SEVEN, vocabulary["name"]
        assert all(vocabulary["labels"].values())
        for term in vocabulary["terms"]:
            assert list(term["labels"]) == SEVEN, (vocabulary["name"], term["code"])
            assert all(term["labels"].values())
    languages = [t["code"] for t in vocabularies["languages"]["terms"]]
    assert languages == ["en", "ru", "kk", "ky", "tg", "tk", "uz"]
    assert [t["code"] for t in vocabularies["working_groups"]["terms"]] == [
        "accountability_legal",
        "psychosocial_health_education",
        "countering_narratives",
        "civil_society",
    ]


def test_one_vocabulary(client: TestClient) -> None:
    tlp = client.get("/v1/vocabularies/tlp").json()
    assert [t["code"] for t in tlp["terms"]] == ["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"]
    assert client.get("/v1/vocabularies/colours").status_code == 404


def test_vocabulary_labels_in_the_regions_languages(client: TestClient) -> None:
    """Labels read from the catalogues: Uzbek and Turkmen in Latin script, the others Cyrillic."""
    terms = {
        t["code"]: t["labels"]
        for t in client.get("/v1/vocabularies/geographic_scope").json()["terms"]
    }
    assert terms["central_asia"] == {
        "en": "Central Asia",
        "ru": "Центральная Азия",
        "kk": "Орталық Азия",
        "ky": "Борбордук Азия",
        "tg": "Осиёи Марказӣ",
        "tk": "Merkezi Aziýa",
        "uz": "Markaziy Osiyo",
    }
    languages = client.get("/v1/vocabularies/languages").json()
    assert languages["labels"]["uz"] == "Tillar"
    uzbek = {t["code"]: t["labels"] for t in languages["terms"]}["uz"]
    assert uzbek["uz"] == "Oʻzbek tili"


@pytest.mark.parametrize("kind", ["practice", "programme"])
def test_json_schemas_let_an_agency_validate_before_pushing(client: TestClient, kind: str) -> None:
    schemas = client.get(f"/v1/schemas/{kind}").json()
    create = schemas["create"]
    assert create["additionalProperties"] is False
    assert {"title", "tlp"} <= set(create["required"])
    assert "required" not in schemas["update"]
    assert "status" not in schemas["update"]["properties"]
    assert {"id", "tenant", "version", "document"} <= set(schemas["read"]["properties"])
    assert client.get("/v1/schemas/statistic").status_code == 422
