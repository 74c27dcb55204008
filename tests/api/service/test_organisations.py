"""The organisation registry as reference data."""

from __future__ import annotations

from fastapi.testclient import TestClient

MEMBER_STATES = {
    "KAZ": ("Kazakhstan", "Казахстан"),
    "KGZ": ("Kyrgyzstan", "Кыргызстан"),
    "TJK": ("Tajikistan", "Таджикистан"),
    "TKM": ("Turkmenistan", "Туркменистан"),
    "UZB": ("Uzbekistan", "Узбекистан"),
}


def test_registry_lists_the_five_member_states_as_tenants(client: TestClient) -> None:
    response = client.get("/v1/organisations")
    assert response.status_code == 200
    items = response.json()["items"]
    states = {o["code"]: o for o in items if o["kind"] == "member_state"}
    assert set(states) == set(MEMBER_STATES)
    for code, (en, ru) in MEMBER_STATES.items():
        assert states[code]["name"] == {"en": en, "ru": ru}
        assert states[code]["tenant"] == code
    assert response.json()["next_cursor"] is None


def test_registry_filters_by_kind_and_code(client: TestClient) -> None:
    partners = client.get("/v1/organisations", params={"kind": "partner"}).json()["items"]
    assert all(o["kind"] == "partner" for o in partners)
    uzb = client.get("/v1/organisations", params={"code": "UZB"}).json()["items"]
    assert [o["code"] for o in uzb] == ["UZB"]
