"""Every program in examples/ runs against a real `recnet serve` and prints what it promises."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

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

        research = _run(
            tmp_path, [sys.executable, str(EXAMPLES / "researcher_pandas.py")], {"RECNET_URL": base}
        )
        assert research.returncode == 0, research.stdout + research.stderr
        assert "CSV: returned persons by state, period and sex" in research.stdout
        assert "UZB" in research.stdout
        assert "530" in research.stdout
        assert "SDMX-JSON: 6 observations" in research.stdout

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
