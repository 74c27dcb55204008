"""SDMX REST structure queries (/v1/sdmx/{resource}/...): what each query returns, in SDMX-ML 2.1
(validated against the official XSDs) and SDMX-JSON 1.0 (against the official schema), read back
by sdmx1 and pysdmx, and the errors of the specification (404, 406, 501)."""

from __future__ import annotations

import io
import itertools
import json
from typing import Any

import pysdmx.io
import pytest
import sdmx
from fastapi.testclient import TestClient

from recnet.schemas.statistics import CODELISTS, DIMENSIONS
from recnet.schemas.statistics_sdmx import ARTEFACTS
from tests.sdmx_standards import assert_valid_json, assert_valid_sdmx_ml

ML = "application/vnd.sdmx.structure+xml;version=2.1"
JSON = "application/vnd.sdmx.structure+json;version=1.0.0"
JSON_SCHEMA = "sdmx-json-1.0/sdmx-json-structure-schema.json"
STR = "{http://www.sdmx.org/resources/sdmxml/schemas/v2_1/structure}"
COM = "{http://www.sdmx.org/resources/sdmxml/schemas/v2_1/common}"
KIND_ELEMENTS = {
    "AgencyScheme": "agencyscheme",
    "DataProviderScheme": "dataproviderscheme",
    "Dataflow": "dataflow",
    "Codelist": "codelist",
    "ConceptScheme": "conceptscheme",
    "DataStructure": "datastructure",
}
JSON_MEMBERS = {
    "agencySchemes": "agencyscheme",
    "dataProviderSchemes": "dataproviderscheme",
    "dataflows": "dataflow",
    "codelists": "codelist",
    "conceptSchemes": "conceptscheme",
    "dataStructures": "datastructure",
}
CODELIST_IDS = {cl.id for cl in CODELISTS.values()}


def get_ml(client: TestClient, url: str, **params: str) -> Any:
    response = client.get(url, params=params, headers={"Accept": ML})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == ML
    return assert_valid_sdmx_ml(response.content)


def get_json(client: TestClient, url: str, **params: str) -> dict[str, Any]:
    response = client.get(url, params=params, headers={"Accept": JSON})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == JSON
    message: dict[str, Any] = response.json()
    assert_valid_json(message, JSON_SCHEMA)
    return message


def ml_artefacts(document: Any) -> dict[tuple[str, str], Any]:
    found = {}
    for element in document.iter():
        tag = element.tag.removeprefix(STR) if isinstance(element.tag, str) else ""
        if tag in KIND_ELEMENTS and element.get("agencyID"):
            found[(KIND_ELEMENTS[tag], element.get("id"))] = element
    return found


def json_artefacts(message: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (JSON_MEMBERS[member], a["id"]): a
        for member, artefacts in message["data"].items()
        for a in artefacts
    }


QUERIES = [
    "/v1/sdmx/dataflow",
    "/v1/sdmx/dataflow/RECNET/RR_STATS/1.0",
    "/v1/sdmx/datastructure/RECNET/RR_STATS",
    "/v1/sdmx/codelist",
    "/v1/sdmx/codelist/RECNET/CL_SEX+CL_AGE/latest",
    "/v1/sdmx/codelist/RECNET/CL_AGE/1.0/Y0T4+_T",
    "/v1/sdmx/conceptscheme/RECNET/CS_RR_STATS/latest/SEX",
    "/v1/sdmx/agencyscheme",
    "/v1/sdmx/agencyscheme/SDMX/AGENCIES/1.0",
    "/v1/sdmx/dataproviderscheme/RECNET",
    "/v1/sdmx/organisationscheme",
    "/v1/sdmx/structure",
    "/v1/sdmx/structure/all/all/all",
]
REFERENCES = ["none", "parents", "parentsandsiblings", "children", "descendants", "all", "codelist"]
DETAILS = [
    "full",
    "allstubs",
    "referencestubs",
    "allcompletestubs",
    "referencecompletestubs",
    "referencepartial",
]


@pytest.mark.parametrize("url", QUERIES)
def test_every_structure_answer_validates_in_both_formats(client: TestClient, url: str) -> None:
    for references, detail in itertools.product(REFERENCES, DETAILS):
        document = get_ml(client, url, references=references, detail=detail)
        message = get_json(client, url, references=references, detail=detail)
        # The same artefacts in both wire forms.
        assert set(ml_artefacts(document)) == set(json_artefacts(message)), (references, detail)


def test_the_schemas_are_not_vacuous(client: TestClient) -> None:
    body = client.get("/v1/sdmx/codelist/RECNET/CL_SEX", headers={"Accept": ML}).content
    broken = body.replace(b'textType="Integer"', b"").replace(b"<common:Name", b"<common:Nom", 1)
    broken = broken.replace(b"</common:Name>", b"</common:Nom>", 1)
    with pytest.raises(AssertionError, match="does not validate"):
        assert_valid_sdmx_ml(broken)
    message = client.get("/v1/sdmx/codelist", headers={"Accept": JSON}).json()
    del message["data"]["codelists"][0]["name"]
    with pytest.raises(AssertionError, match="name"):
        assert_valid_json(message, JSON_SCHEMA)


def test_sdmx_ml_is_the_default_and_generic_xml_gets_it(client: TestClient) -> None:
    for accept in (None, "*/*", "application/xml", "text/xml", "text/html,*/*;q=0.8"):
        headers = {"Accept": accept} if accept else {}
        response = client.get("/v1/sdmx/dataflow", headers=headers)
        assert response.status_code == 200
        assert response.headers["content-type"] == ML
    json_version = client.get(
        "/v1/sdmx/dataflow", headers={"Accept": "application/vnd.sdmx.structure+json;version=1.0"}
    )
    assert json_version.headers["content-type"] == JSON


@pytest.mark.parametrize(
    "accept",
    [
        "application/json",
        "text/csv",
        "application/vnd.sdmx.structure+xml;version=3.0.0",
        "application/vnd.sdmx.structure+json;version=2.0.0",
        "application/vnd.sdmx.genericdata+xml;version=2.1",
    ],
)
def test_formats_not_served_are_406_never_another_format(client: TestClient, accept: str) -> None:
    response = client.get("/v1/sdmx/dataflow", headers={"Accept": accept})
    assert response.status_code == 406
    assert response.headers["content-type"] == "application/problem+json"
    assert "application/vnd.sdmx.structure+xml" in response.json()["detail"]


def test_dataflow_with_all_references(client: TestClient) -> None:
    found = ml_artefacts(get_ml(client, "/v1/sdmx/dataflow/RECNET/RR_STATS", references="all"))
    expected = {("dataflow", "RR_STATS"), ("datastructure", "RR_STATS")}
    expected |= {("codelist", c) for c in CODELIST_IDS} | {("conceptscheme", "CS_RR_STATS")}
    assert set(found) == expected


@pytest.mark.parametrize(
    ("url", "references", "expected"),
    [
        ("/v1/sdmx/dataflow/RECNET/RR_STATS", "none", {"dataflow:RR_STATS"}),
        (
            "/v1/sdmx/dataflow/RECNET/RR_STATS",
            "children",
            {"dataflow:RR_STATS", "datastructure:RR_STATS"},
        ),
        ("/v1/sdmx/dataflow/RECNET/RR_STATS", "parents", {"dataflow:RR_STATS"}),
        (
            "/v1/sdmx/datastructure/RECNET/RR_STATS",
            "parents",
            {"datastructure:RR_STATS", "dataflow:RR_STATS"},
        ),
        (
            "/v1/sdmx/datastructure/RECNET/RR_STATS",
            "dataflow",
            {"datastructure:RR_STATS", "dataflow:RR_STATS"},
        ),
        (
            "/v1/sdmx/datastructure/RECNET/RR_STATS",
            "conceptscheme",
            {"datastructure:RR_STATS", "conceptscheme:CS_RR_STATS"},
        ),
        (
            "/v1/sdmx/codelist/RECNET/CL_SEX",
            "parents",
            {"codelist:CL_SEX", "datastructure:RR_STATS"},
        ),
        (
            "/v1/sdmx/codelist/RECNET/CL_SEX",
            "parentsandsiblings",
            {"codelist:CL_SEX", "datastructure:RR_STATS", "conceptscheme:CS_RR_STATS"}
            | {f"codelist:{c}" for c in CODELIST_IDS},
        ),
        ("/v1/sdmx/codelist/RECNET/CL_SEX", "children", {"codelist:CL_SEX"}),
        (
            "/v1/sdmx/agencyscheme/SDMX/AGENCIES",
            "all",
            {"agencyscheme:AGENCIES"},
        ),
    ],
)
def test_references_return_exactly_the_related_artefacts(
    client: TestClient, url: str, references: str, expected: set[str]
) -> None:
    found = ml_artefacts(get_ml(client, url, references=references))
    assert {f"{kind}:{id_}" for kind, id_ in found} == expected


def test_descendants_of_the_dataflow_are_the_structure_and_its_lists(client: TestClient) -> None:
    found = ml_artefacts(get_ml(client, "/v1/sdmx/dataflow", references="descendants"))
    assert ("codelist", "CL_AGE") in found
    assert ("conceptscheme", "CS_RR_STATS") in found
    children = ml_artefacts(get_ml(client, "/v1/sdmx/dataflow", references="children"))
    assert ("codelist", "CL_AGE") not in children


def test_stubs_carry_a_name_and_complete_stubs_a_description(client: TestClient) -> None:
    stubs = ml_artefacts(get_ml(client, "/v1/sdmx/structure", detail="allstubs"))
    assert len(stubs) == len(ARTEFACTS)
    for element in stubs.values():
        assert element.get("isExternalReference") == "true"
        # Relative to the server's root without RECNET_PUBLIC_URL: never from the Host header.
        assert element.get("structureURL").startswith("/v1/sdmx/")
        assert element.findall(f"{COM}Name")
        assert not element.findall(f"{COM}Description")
        assert not [c for c in element if c.tag.startswith(STR)]  # no items, no components
    complete = ml_artefacts(get_ml(client, "/v1/sdmx/dataflow", detail="allcompletestubs"))
    assert complete[("dataflow", "RR_STATS")].findall(f"{COM}Description")
    # referencestubs: the matching artefact whole, what it refers to as stubs.
    mixed = ml_artefacts(
        get_ml(client, "/v1/sdmx/datastructure", references="children", detail="referencestubs")
    )
    assert mixed[("datastructure", "RR_STATS")].get("isExternalReference") is None
    assert mixed[("datastructure", "RR_STATS")].find(f"{STR}DataStructureComponents") is not None
    assert mixed[("codelist", "CL_SEX")].get("isExternalReference") == "true"
    stub_json = json_artefacts(get_json(client, "/v1/sdmx/codelist", detail="allstubs"))
    assert all(a["isExternalReference"] and "codes" not in a for a in stub_json.values())


def test_an_item_query_gives_a_partial_scheme(client: TestClient) -> None:
    found = ml_artefacts(get_ml(client, "/v1/sdmx/codelist/RECNET/CL_AGE/latest/Y0T4+_T"))
    codelist = found[("codelist", "CL_AGE")]
    assert codelist.get("isPartial") == "true"
    assert [c.get("id") for c in codelist.findall(f"{STR}Code")] == ["Y0T4", "_T"]
    response = client.get("/v1/sdmx/codelist/RECNET/CL_AGE/latest/NOPE")
    assert response.status_code == 404


def test_codelists_have_every_language_and_the_structure_every_component(
    client: TestClient,
) -> None:
    document = get_ml(client, "/v1/sdmx/codelist/RECNET/CL_SEX")
    names = document.iter(f"{COM}Name")
    langs = {n.get("{http://www.w3.org/XML/1998/namespace}lang") for n in names}
    assert langs == {"en", "ru", "kk", "ky", "tg", "tk", "uz"}
    published = client.get("/v1/statistics/structure").json()
    dsd = get_json(client, "/v1/sdmx/datastructure")["data"]["dataStructures"][0]
    components = dsd["dataStructureComponents"]
    dimensions = components["dimensionList"]["dimensions"]
    dimensions += components["dimensionList"]["timeDimensions"]
    assert [d["id"] for d in dimensions] == [d["id"] for d in published["dimensions"]]
    attributes = [a["id"] for a in components["attributeList"]["attributes"]]
    assert set(attributes) == {a["id"] for a in published["attributes"]}
    assert components["measureList"]["primaryMeasure"]["id"] == published["measure"]["id"]
    codelists = json_artefacts(get_json(client, "/v1/sdmx/codelist"))
    for codelist in published["codelists"]:
        codes = codelists[("codelist", codelist["id"])]["codes"]
        assert [c["id"] for c in codes] == [c["id"] for c in codelist["codes"]]
        assert [c["names"] for c in codes] == [c["names"] for c in codelist["codes"]]


def test_artefacts_carry_a_version_and_valid_from(client: TestClient) -> None:
    for element in ml_artefacts(get_ml(client, "/v1/sdmx/structure")).values():
        assert element.get("version") == "1.0"
        if element.get("isFinal") == "true":
            assert element.get("validFrom")


def test_russian_names_first_in_json_when_asked(client: TestClient) -> None:
    response = client.get(
        "/v1/sdmx/codelist/RECNET/CL_SEX", headers={"Accept": JSON, "Accept-Language": "ru"}
    )
    codelist = response.json()["data"]["codelists"][0]
    assert codelist["name"] == "Пол"
    assert codelist["names"]["en"] == "Sex"
    assert codelist["names"]["ru"] == "Пол"


@pytest.mark.parametrize(
    ("language", "codelist_name", "female"),
    [
        ("kk", "Жынысы", "Әйелдер"),
        ("ky", "Жынысы", "Аялдар"),
        ("tg", "Ҷинс", "Занон"),
        ("tk", "Jyns", "Aýallar"),
        ("uz-Latn-UZ", "Jins", "Ayollar"),
    ],
)
def test_codelists_are_named_in_the_regions_languages(
    client: TestClient, language: str, codelist_name: str, female: str
) -> None:
    """SDMX-JSON names a codelist and its codes in the reader's language (of the seven), and
    SDMX-ML carries every language's Name, valid against the official schemas."""
    response = client.get(
        "/v1/sdmx/codelist/RECNET/CL_SEX", headers={"Accept": JSON, "Accept-Language": language}
    )
    assert response.status_code == 200
    message = response.json()
    assert_valid_json(message, JSON_SCHEMA)
    codelist = message["data"]["codelists"][0]
    assert codelist["name"] == codelist_name
    assert message["meta"]["contentLanguages"][0] == language.split("-")[0]
    assert {c["id"]: c["name"] for c in codelist["codes"]}["F"] == female
    document = get_ml(client, "/v1/sdmx/codelist/RECNET/CL_SEX")
    female_names = {
        n.get("{http://www.w3.org/XML/1998/namespace}lang"): n.text
        for code in document.iter(f"{STR}Code")
        if code.get("id") == "F"
        for n in code.findall(f"{COM}Name")
    }
    assert female_names[language.split("-")[0]] == female


def test_every_codelist_code_and_concept_is_named_in_seven_languages(client: TestClient) -> None:
    seven = ["en", "ru", "kk", "ky", "tg", "tk", "uz"]
    published = client.get("/v1/statistics/structure").json()
    assert list(published["names"]) == seven
    for codelist in published["codelists"]:
        assert list(codelist["names"]) == seven, codelist["id"]
        for code in codelist["codes"]:
            assert list(code["names"]) == seven, (codelist["id"], code["id"])
            if code["counts"] is not None:
                assert list(code["counts"]) == seven, code["id"]
    concepts = json_artefacts(get_json(client, "/v1/sdmx/conceptscheme"))
    for concept in concepts[("conceptscheme", "CS_RR_STATS")]["concepts"]:
        assert set(concept["names"]) == set(seven), concept["id"]


@pytest.mark.parametrize(
    "resource",
    ["categoryscheme", "hierarchicalcodelist", "metadataflow", "provisionagreement", "process"],
)
def test_resources_not_served_are_501(client: TestClient, resource: str) -> None:
    response = client.get(f"/v1/sdmx/{resource}")
    assert response.status_code == 501
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "url",
    [
        "/v1/sdmx/codelist/ECB",
        "/v1/sdmx/codelist/RECNET/CL_NOPE",
        "/v1/sdmx/dataflow/RECNET/RR_STATS/2.0",
        "/v1/sdmx/notaresource",
    ],
)
def test_no_match_is_404(client: TestClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("/v1/sdmx/dataflow", {"detail": "everything"}),
        ("/v1/sdmx/dataflow", {"references": "cousins"}),
        ("/v1/sdmx/dataflow/RECNET/RR_STATS/latest/X", {}),
        ("/v1/sdmx/codelist/RECNET/" + "+".join(["CL_SEX"] * 60), {}),
        ("/v1/sdmx/codelist/RECNET/CL_SEX++CL_AGE", {}),
        ("/v1/sdmx/codelist/RECNET/" + "X" * 600, {}),
        ("/v1/sdmx/codelist/RECNET/CL<SEX", {}),
    ],
)
def test_bad_queries_get_a_clear_problem(
    client: TestClient, url: str, params: dict[str, str]
) -> None:
    response = client.get(url, params=params)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"]


def test_etag_and_last_modified_give_304(client: TestClient) -> None:
    first = client.get("/v1/sdmx/datastructure", params={"references": "all"})
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    again = client.get(
        "/v1/sdmx/datastructure", params={"references": "all"}, headers={"If-None-Match": etag}
    )
    assert again.status_code == 304
    assert client.get("/v1/sdmx/datastructure", headers={"If-None-Match": etag}).status_code == 200
    since = client.get("/v1/sdmx/datastructure", headers={"If-Modified-Since": modified})
    assert since.status_code == 304
    as_json = client.get("/v1/sdmx/datastructure", params={"references": "all"},
                         headers={"If-None-Match": etag, "Accept": JSON})  # fmt: skip
    assert as_json.status_code == 200


def test_sdmx1_reads_the_structure_messages(client: TestClient) -> None:
    body = client.get("/v1/sdmx/dataflow", params={"references": "all"}).content
    message = sdmx.read_sdmx(io.BytesIO(body))
    dsd = message.structure["RR_STATS"]
    assert [d.id for d in dsd.dimensions] == list(DIMENSIONS)
    assert [a.id for a in dsd.attributes] == [
        "OBS_STATUS",
        "UNIT_MEASURE",
        "CONF_STATUS",
        "COMMENT",
        "SOURCE",
    ]
    assert message.dataflow["RR_STATS"].structure is dsd
    for codelist in CODELISTS.values():
        assert set(message.codelist[codelist.id].items) == codelist.ids()
    sex = dsd.dimensions.get("SEX").local_representation.enumerated
    assert str(sex["F"].name["ru"]) == "Женщины"


def test_pysdmx_reads_the_structure_messages(client: TestClient) -> None:
    body = client.get("/v1/sdmx/datastructure", params={"references": "all"}).text
    message = pysdmx.io.read_sdmx(body)
    (dsd,) = message.get_data_structure_definitions()
    assert [c.id for c in dsd.components.dimensions] == list(DIMENSIONS)
    assert dsd.components["OBS_VALUE"].dtype.value == "Integer"
    codes = dsd.components["REF_AREA"].enumeration
    assert {c.id for c in codes} == CODELISTS["REF_AREA"].ids()


def test_json_structure_message_is_utf8_json(client: TestClient) -> None:
    response = client.get("/v1/sdmx/codelist/RECNET/CL_SEX", headers={"Accept": JSON})
    assert json.loads(response.content.decode("utf-8"))["meta"]["sender"]["id"] == "RECNET"


# The codes of every artefact of version 1.0 with their English names, as published. A change of a
# code or of its meaning must come with a new version of the artefact (and a new fingerprint), so
# that a code never silently changes meaning under a version a researcher has cited.
FINGERPRINT_1_0 = "1e0074637bc7576fbaa0c12da4bc5bc1d68f70735057d8c6bc74e4b5d2bcae18"


def test_codes_of_a_version_never_change_meaning() -> None:
    import hashlib

    items = {
        f"{a.kind}:{a.agency}:{a.id}({a.version})": {i.id: i.names.get("en") for i in a.items}
        for a in ARTEFACTS
    }
    published = json.dumps(items, sort_keys=True, ensure_ascii=False).encode()
    if any(a.version == "1.0" for a in ARTEFACTS):
        assert hashlib.sha256(published).hexdigest() == FINGERPRINT_1_0, (
            "a code of a published version changed: give the artefact a new version"
        )


@pytest.mark.parametrize("accept", [ML, JSON])
def test_structure_links_never_come_from_the_host_header(client: TestClient, accept: str) -> None:
    forged = {"Host": "attacker.example", "X-Forwarded-Host": "attacker.example", "Accept": accept}
    response = client.get("/v1/sdmx/structure", headers=forged, params={"detail": "allstubs"})
    assert response.status_code == 200, response.text
    assert "attacker.example" not in response.text
    assert "/v1/sdmx/dataflow/" in response.text  # the stubs' links, relative to the root
