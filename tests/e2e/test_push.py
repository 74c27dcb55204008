"""`recnet push` against a real `recnet serve`: batches, file line numbers, idempotent re-runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import openpyxl

from tests.served import cli_client, database_url, served

HEADER = "REF_AREA,INDICATOR,SEX,AGE,COUNTERPART_AREA,TIME_PERIOD,OBS_VALUE\n"


def good_csv(years: range) -> str:
    rows = [
        f"UZB,RETURNED,{sex},_T,SYR,{year},{n}"
        for year in years
        for sex, n in (("F", 30), ("M", 20))
    ]
    return HEADER + "\n".join(rows) + "\n"


def recnet(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "RECNET_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}",
        "COLUMNS": "200",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "recnet", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def credentials(
    tmp_path: Path, base: str, scopes: str = "statistics:write practices:write"
) -> dict[str, str]:
    client = cli_client(database_url(tmp_path), "UZB", scopes, name="office")
    return {
        "RECNET_URL": base,
        "RECNET_CLIENT_ID": client["client_id"],
        "RECNET_CLIENT_SECRET": client["client_secret"],
    }


def stored(base: str) -> list[str]:
    answer = httpx.get(
        f"{base}/v1/statistics/observations", params={"ref_area": "UZB", "format": "csv"}
    )
    assert answer.status_code == 200, answer.text
    return answer.text.strip().splitlines()[1:]


def test_dry_run_lists_every_error_with_its_file_line_and_writes_nothing(tmp_path: Path) -> None:
    lines = [
        HEADER.strip(),                              # 1
        "UZB,RETURNED,F,_T,SYR,2019,30",             # 2  batch 1
        "UZB,RETURNED,M,_T,SYR,2019,XX",             # 3  batch 1: bad value
        "",                                          # 4  (blank: skipped)
        "UZB,RETURNED,F,_T,SYR,2020,30",             # 5  batch 2
        "UZB,NOPE,M,_T,SYR,2020,20",                 # 6  batch 2: bad code
        "KAZ,RETURNED,F,_T,SYR,2021,30",             # 7  batch 3: foreign state
        "UZB,RETURNED,M,_T,SYR,2021,20",             # 8  batch 3
    ]  # fmt: skip
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with served(tmp_path) as (base, _):
        env = credentials(tmp_path, base)
        result = recnet(
            tmp_path, "push", "statistics", str(path), "--batch-size", "2", "--dry-run", **env
        )
        assert result.returncode == 1, result.stdout + result.stderr
        out = result.stdout
        assert "batch 1 (lines 2-3): ERROR" in out
        assert "batch 2 (lines 5-6): ERROR" in out
        assert "batch 3 (lines 7-8): ERROR" in out
        errors = [line for line in out.splitlines() if line.strip().startswith("ERROR")]
        assert any("[OBS_VALUE]" in e and e.endswith("line 3") for e in errors), out
        assert any("[INDICATOR]" in e and e.endswith("line 6") for e in errors), out
        assert any("FOREIGN_REF_AREA" in e and e.endswith("line 7") for e in errors), out
        assert "dry run" in out
        assert stored(base) == []


def test_a_good_csv_in_several_batches_imports_everything_once(tmp_path: Path) -> None:
    path = tmp_path / "good.csv"
    path.write_text(good_csv(range(2010, 2020)), encoding="utf-8")  # 20 rows
    with served(tmp_path) as (base, _):
        env = credentials(tmp_path, base)
        first = recnet(tmp_path, "push", "statistics", str(path), "--batch-size", "7", **env)
        assert first.returncode == 0, first.stdout + first.stderr
        assert "3 batch(es), 0 refused" in first.stdout
        assert "imported=20" in first.stdout
        assert len(stored(base)) == 20
        feed_before = httpx.get(f"{base}/v1/statistics/observations", params={"format": "csv"}).text

        # The same push again (e.g. after a network failure): every batch is replayed.
        again = recnet(tmp_path, "push", "statistics", str(path), "--batch-size", "7", **env)
        assert again.returncode == 0, again.stdout + again.stderr
        assert again.stdout.count("replayed") == 3
        # A different batch size is a new push, but nothing changes: all ignored.
        other = recnet(tmp_path, "push", "statistics", str(path), "--batch-size", "5", **env)
        assert other.returncode == 0, other.stdout + other.stderr
        assert "imported=0 updated=0 ignored=20" in other.stdout
        assert len(stored(base)) == 20
        assert (
            httpx.get(f"{base}/v1/statistics/observations", params={"format": "csv"}).text
            == feed_before
        )


def test_an_xlsx_workbook_is_pushed(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(HEADER.strip().split(","))
    sheet.append(["UZB", "RETURNED", "F", "_T", "SYR", 2019, 30])
    sheet.append(["UZB", "RETURNED", "M", "_T", "SYR", "2019-Q2", 20.0])
    sheet.append([None] * 7)
    sheet.append(["UZB", "RETURNED", "M", "_T", "SYR", 2020, "lots"])
    path = tmp_path / "stats.xlsx"
    workbook.save(path)
    with served(tmp_path) as (base, _):
        env = credentials(tmp_path, base)
        bad = recnet(tmp_path, "push", "statistics", str(path), "--dry-run", **env)
        assert bad.returncode == 1
        assert any(
            "[OBS_VALUE]" in line and line.endswith("row 5") for line in bad.stdout.splitlines()
        ), bad.stdout
        sheet.delete_rows(5)
        workbook.save(path)
        good = recnet(tmp_path, "push", "statistics", str(path), **env)
        assert good.returncode == 0, good.stdout + good.stderr
        assert "imported=2" in good.stdout
        assert len(stored(base)) == 2


def test_bad_credentials_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "good.csv"
    path.write_text(good_csv(range(2019, 2020)), encoding="utf-8")
    with served(tmp_path) as (base, _):
        env = {"RECNET_URL": base, "RECNET_CLIENT_ID": "rc_nobody", "RECNET_CLIENT_SECRET": "wrong"}
        result = recnet(tmp_path, "push", "statistics", str(path), **env)
        assert result.returncode == 2
        assert "token refused" in result.stderr
    missing = recnet(tmp_path, "push", "statistics", str(tmp_path / "none.csv"), **env)
    assert missing.returncode == 2


PRACTICE = {
    "summary": {"en": "Teachers travel to families.", "ru": "Учителя выезжают к семьям."},
    "description": {"en": "Weekly visits.", "ru": "Еженедельные визиты."},
    "working_group": "psychosocial_health_education",
    "approaches": ["mobile_classes", "education"],
    "target_groups": ["children_5_11"],
    "geographic_scope": "national",
    "evidence_level": "monitoring",
    "tlp": "CLEAR",
    "status": "published",
}


def test_pushing_practices_twice_makes_no_duplicates(tmp_path: Path) -> None:
    items = [
        {
            **PRACTICE,
            "source_ref": f"MC-2024-0{n}",
            "title": {"en": f"Mobile classes {n}", "ru": f"Классы {n}"},
        }
        for n in (1, 2, 3)
    ]
    path = tmp_path / "practices.json"
    path.write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")
    with served(tmp_path) as (base, _):
        env = credentials(tmp_path, base)
        first = recnet(tmp_path, "push", "practices", str(path), **env)
        assert first.returncode == 0, first.stdout + first.stderr
        assert first.stdout.count(": 201 created") == 3
        second = recnet(tmp_path, "push", "practices", str(path), **env)
        assert second.returncode == 0, second.stdout + second.stderr
        assert second.stdout.count(": 200 stored (version 1)") == 3
        listed = httpx.get(f"{base}/v1/practices", params={"tenant": "UZB", "limit": 100}).json()
        assert sorted(p["source_ref"] for p in listed["items"]) == [
            "MC-2024-01",
            "MC-2024-02",
            "MC-2024-03",
        ]


def test_transient_failures_are_retried_with_the_same_idempotency_key() -> None:
    """Connection errors, 5xx and 429 (honouring Retry-After) are retried; the key stays."""
    from recnet.cli.push import client as push

    seen: list[str] = []
    waits: list[float] = []
    script = iter(["drop", 503, 429, 200])

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/auth/token":
            return httpx.Response(200, json={"access_token": "t"})
        seen.append(request.headers["idempotency-key"])
        step = next(script)
        if step == "drop":
            raise httpx.ConnectError("connection reset", request=request)
        if step == 429:
            return httpx.Response(429, headers={"Retry-After": "7"}, json={"title": "slow"})
        if step == 503:
            return httpx.Response(503, json={"title": "busy"})
        report = {
            "status": "WARNING",
            "counts": {"received": 2, "imported": 2},
            "conflicts": [{"severity": "warning", "code": "X", "column": None,
                           "message": "m", "rows": [3], "count": 1}],
        }  # fmt: skip
        return httpx.Response(200, json=report)

    table = push.Table(
        HEADER.strip().split(","),
        [push.Record(10, ["a"] * 7), push.Record(12, ["b"] * 7)],
        "d" * 64,
        "line",
    )
    (batch,) = push.batches(table, 100)
    with push.Pusher(
        "http://x", "id", "secret", sleep=waits.append, transport=httpx.MockTransport(handler)
    ) as pusher:
        result = pusher.push_batch(batch, "k-1", False, "create_and_update")
    assert seen == ["k-1"] * 4
    assert waits[2] == 7.0
    assert result.status == "WARNING"
    assert result.conflicts[0]["rows"] == [12]  # batch line 3 is the file's line 12
