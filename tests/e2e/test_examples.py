"""Every program in examples/ runs against a real `recnet serve` and prints what it promises."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from recnet.auth.secrets import signature
from tests.paths import ROOT
from tests.served import access_token, cli_client, database_url, served

EXAMPLES = ROOT / "examples"


def _recnet(tmp_path: Path, *args: str) -> dict[str, object]:
    env = {**os.environ, "RECNET_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}"}
    done = subprocess.run(
        [sys.executable, "-m", "recnet", *args], env=env, capture_output=True, text=True, check=True
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def _client(tmp_path: Path, base: str, org: str, scopes: str) -> dict[str, str]:
    client = cli_client(database_url(tmp_path), org, scopes, name="example")
    return {
        "RECNET_URL": base,
        "RECNET_CLIENT_ID": str(client["client_id"]),
        "RECNET_CLIENT_SECRET": str(client["client_secret"]),
    }


def _run(
    tmp_path: Path, command: list[str], env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        env={**os.environ, **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_examples_run_against_a_server(tmp_path: Path) -> None:
    with served(tmp_path) as (base, _):
        agency = _client(tmp_path, base, "UZB", "statistics:write practices:write")
        _recnet(tmp_path, "orgs", "create", "--code", "UNICEF", "--kind", "partner",
                "--name", "UNICEF", "--json")  # fmt: skip
        partner = _client(tmp_path, base, "UNICEF", "feeds:read")

        shell = _run(tmp_path, ["bash", str(EXAMPLES / "agency_push_curl.sh")], agency)
        assert shell.returncode == 0, shell.stdout + shell.stderr
        assert "HTTP 200" in shell.stdout
        assert "status: OK" in shell.stdout
        assert "imported=3" in shell.stdout
        again = _run(tmp_path, ["bash", str(EXAMPLES / "agency_push_curl.sh")], agency)
        assert again.returncode == 0, again.stdout + again.stderr
        assert "imported=3" in again.stdout  # the first answer, replayed: nothing written twice

        bad = tmp_path / "bad.csv"
        bad.write_text(
            "REF_AREA,INDICATOR,SEX,AGE,COUNTERPART_AREA,TIME_PERIOD,OBS_VALUE\n"
            "UZB,RETURNED,F,_T,SYR,2021,x\n",
            encoding="utf-8",
        )
        refused = _run(tmp_path, ["bash", str(EXAMPLES / "agency_push_curl.sh"), str(bad)], agency)
        assert refused.returncode != 0
        assert "HTTP 422" in refused.stdout
        assert "status: ERROR" in refused.stdout
        assert "lines [2]" in refused.stdout

        python = _run(tmp_path, [sys.executable, str(EXAMPLES / "agency_push.py")], agency)
        assert python.returncode == 0, python.stdout + python.stderr
        assert "HTTP 200 status: OK" in python.stdout
        assert "imported=3" in python.stdout

        # What the agency scripts reported imported is what the API now holds, figure by figure.
        held = _observations(base, _token(base, agency), ref_area="UZB", counterpart_area="SYR")
        assert held == {
            (sex, period): value
            for period in ("2019", "2020")
            for sex, value in (("F", 300), ("M", 230), ("_T", 530))
        }

        practice = httpx.put(
            f"{base}/v1/practices/by-ref/MC-1",
            headers={"Authorization": f"Bearer {_token(base, agency)}"},
            json={
                "title": {"en": "Mobile classes", "ru": "Мобильные классы"},
                "summary": {"en": "Teachers travel.", "ru": "Учителя выезжают."},
                "description": {"en": "Weekly.", "ru": "Еженедельно."},
                "working_group": "psychosocial_health_education",
                "approaches": ["mobile_classes"],
                "target_groups": ["children_5_11"],
                "geographic_scope": "national",
                "evidence_level": "monitoring",
                "tlp": "GREEN",
                "status": "published",
            },
        )
        assert practice.status_code == 201, practice.text
        feed = _run(tmp_path, [sys.executable, str(EXAMPLES / "partner_feed.py")], partner)
        assert feed.returncode == 0, feed.stdout + feed.stderr
        assert "upsert" in feed.stdout
        assert "Mobile classes" in feed.stdout
        assert "second pull: 304 Not Modified" in feed.stdout
        # The items it printed are the feed's items as the API gives them to the partner.
        printed = sum(int(n) for n in re.findall(r"^pulled 200: (\d+) item", feed.stdout, re.M))
        items = _feed(base, _token(base, partner))
        assert printed == len(items)
        upserts = [i["record"]["id"] for i in items if i["type"] == "upsert"]
        assert re.findall(r"^upsert: practice (\S+)", feed.stdout, re.M) == upserts
        assert "0 new" in feed.stdout


def _observations(base: str, token: str | None = None, **params: str) -> dict[Any, int | None]:
    """The API's figures for RETURNED: (sex, period) → value, as the caller may see them."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    answer = httpx.get(
        f"{base}/v1/statistics/observations",
        params={"indicator": "RETURNED", "limit": 10_000, **params},
        headers=headers,
    )
    assert answer.status_code == 200, answer.text
    return {(i["SEX"], i["TIME_PERIOD"]): i["OBS_VALUE"] for i in answer.json()["items"]}


def _feed(base: str, token: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params = {"limit": "100", **({"after": cursor} if cursor else {})}
        page = httpx.get(
            f"{base}/v1/feeds/changes", params=params, headers={"Authorization": f"Bearer {token}"}
        ).json()
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return items


def _printed_table(output: str, header: str) -> list[list[str]]:
    """The whitespace-separated rows printed after ``header`` and its column lines."""
    lines = output[output.index(header) :].splitlines()[1:]
    rows = []
    for line in lines:
        if not line.strip() or line.startswith(("SDMX-JSON", "CSV")):
            break
        rows.append(line.split())
    return rows


def test_the_researcher_example_prints_the_api_figures(tmp_path: Path) -> None:
    """On the demo network (ages and sexes with their totals, five states), every figure the
    researcher's script prints is the one the API gives an anonymous reader: none summed."""
    _recnet_text(tmp_path, "demo")
    with served(tmp_path) as (base, _):
        research = _run(
            tmp_path, [sys.executable, str(EXAMPLES / "researcher_pandas.py")], {"RECNET_URL": base}
        )
        assert research.returncode == 0, research.stdout + research.stderr
        api = httpx.get(
            f"{base}/v1/statistics/observations",
            params={"indicator": "RETURNED", "limit": 10_000},
        ).json()["items"]
    dims = ("REF_AREA", "INDICATOR", "SEX", "AGE", "COUNTERPART_AREA", "TIME_PERIOD")
    expected = {tuple(i[d] for d in dims): i["OBS_VALUE"] for i in api}

    def shown(value: int | None) -> str:
        return "withheld" if value is None else str(value)

    csv_rows = _printed_table(research.stdout, "CSV: returned persons (all ages)")
    sexes, index_names, *rows = csv_rows
    assert sexes[0] == "SEX"
    assert index_names == ["REF_AREA", "COUNTERPART_AREA", "TIME_PERIOD"]
    printed = {
        (area, "RETURNED", sex, "_T", counterpart, period): value
        for area, counterpart, period, *values in rows
        for sex, value in zip(sexes[1:], values, strict=True)
    }
    totals = {k: shown(v) for k, v in expected.items() if k[3] == "_T"}
    assert printed == totals
    assert {k[0] for k in printed} == {"KAZ", "KGZ", "TJK", "TKM", "UZB"}

    count = re.search(r"SDMX-JSON: (\d+) observations", research.stdout)
    assert count is not None
    assert int(count[1]) == len(expected)
    header, *sdmx_rows = _printed_table(research.stdout, "SDMX-JSON:")
    assert header == [*dims, "OBS_VALUE"]
    assert {tuple(r[:-1]): r[-1] for r in sdmx_rows} == {k: shown(v) for k, v in expected.items()}


def _recnet_text(tmp_path: Path, *args: str) -> str:
    env = {**os.environ, "RECNET_DATABASE_URL": database_url(tmp_path), "RECNET_ENV": "dev"}
    done = subprocess.run(
        [sys.executable, "-m", "recnet", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _token(base: str, env: dict[str, str]) -> str:
    client = {"client_id": env["RECNET_CLIENT_ID"], "client_secret": env["RECNET_CLIENT_SECRET"]}
    return access_token(base, client)


def test_the_webhook_receiver_verifies_recnet_signatures() -> None:
    spec = importlib.util.spec_from_file_location(
        "partner_webhook_receiver", EXAMPLES / "partner_webhook_receiver.py"
    )
    assert spec is not None
    assert spec.loader is not None
    receiver = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(receiver)

    body = json.dumps({"type": "upsert", "record": {"id": "x"}}).encode()
    now = int(time.time())
    header = signature("s3cret", now, body)
    assert receiver.verified("s3cret", header, body)
    assert not receiver.verified("other", header, body)
    assert not receiver.verified("s3cret", header, body + b" ")
    assert not receiver.verified("s3cret", signature("s3cret", now - 3600, body), body)
    assert not receiver.verified("s3cret", "garbage", body)
