"""`recnet push` against a real `recnet serve`: all-or-nothing batches, file line numbers,
strategies, sheets, retries and resumed re-runs through a faulty proxy, records checked against
the published schemas."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import openpyxl

from tests.factories import programme_body
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


def test_a_bad_row_in_the_last_batch_writes_nothing(tmp_path: Path) -> None:
    """All or nothing: every batch is checked before the first is written."""
    text = good_csv(range(2010, 2018))  # 16 rows: 8 batches of 2
    path = tmp_path / "late.csv"
    path.write_text(text + "UZB,RETURNED,F,_T,SYR,2018,many\n", encoding="utf-8")  # line 18
    with served(tmp_path) as (base, _):
        env = credentials(tmp_path, base)
        result = recnet(tmp_path, "push", "statistics", str(path), "--batch-size", "2", **env)
        assert result.returncode == 1, result.stdout + result.stderr
        assert "checked batch 9 (lines 18-18): ERROR" in result.stdout
        assert "Nothing was written" in result.stdout
        assert stored(base) == []

        # --partial: batch by batch, as before; the eight good batches are kept.
        partial = recnet(
            tmp_path, "push", "statistics", str(path), "--batch-size", "2", "--partial", **env
        )
        assert partial.returncode == 1, partial.stdout + partial.stderr
        assert "checked" not in partial.stdout
        assert "9 batch(es), 1 refused" in partial.stdout
        assert len(stored(base)) == 16


def test_strategy_is_the_servers_import_strategy(tmp_path: Path) -> None:
    path = tmp_path / "good.csv"
    path.write_text(good_csv(range(2019, 2021)), encoding="utf-8")
    with served(tmp_path) as (base, _):
        env = credentials(tmp_path, base)
        assert recnet(tmp_path, "push", "statistics", str(path), **env).returncode == 0
        assert len(stored(base)) == 4
        before = stored(base)
        changed = tmp_path / "changed.csv"
        changed.write_text(path.read_text().replace(",30\n", ",31\n"), encoding="utf-8")
        create = recnet(tmp_path, "push", "statistics", str(changed), "--strategy", "create", **env)
        assert create.returncode == 1, create.stdout + create.stderr
        assert "ALREADY_EXISTS" in create.stdout
        assert stored(base) == before
        gone = recnet(tmp_path, "push", "statistics", str(path), "--strategy", "delete", **env)
        assert gone.returncode == 0, gone.stdout + gone.stderr
        assert "deleted=4" in gone.stdout
        assert stored(base) == []
        wrong = recnet(tmp_path, "push", "statistics", str(path), "--strategy", "merge", **env)
        assert wrong.returncode == 2
        assert "merge" in wrong.stderr


def test_sheet_picks_a_sheet_by_name_or_number(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    notes = workbook.active
    assert notes is not None
    notes.title = "Notes"
    notes.append(["These figures are provisional."])
    for title, year in (("2019", 2019), ("2020", 2020)):
        sheet = workbook.create_sheet(title)
        sheet.append(HEADER.strip().split(","))
        sheet.append(["UZB", "RETURNED", "F", "_T", "SYR", year, 30])
    path = tmp_path / "stats.xlsx"
    workbook.save(path)
    with served(tmp_path) as (base, _):
        env = credentials(tmp_path, base)
        first = recnet(tmp_path, "push", "statistics", str(path), **env)
        assert first.returncode == 1  # the first sheet holds notes, not statistics
        by_name = recnet(tmp_path, "push", "statistics", str(path), "--sheet", "2020", **env)
        assert by_name.returncode == 0, by_name.stdout + by_name.stderr
        by_number = recnet(tmp_path, "push", "statistics", str(path), "--sheet", "2", **env)
        assert by_number.returncode == 0, by_number.stdout + by_number.stderr
        assert "imported=1" in by_number.stdout  # the 2019 sheet: its own push, its own keys
        assert sorted(row.split(",")[5] for row in stored(base)) == ["2019", "2020"]
        missing = recnet(tmp_path, "push", "statistics", str(path), "--sheet", "2021", **env)
        assert missing.returncode == 2
        assert "'Notes', '2019', '2020'" in missing.stderr


class FaultyProxy:
    """A real HTTP proxy in front of a served recnet that misbehaves when ``fault`` says so.

    ``fault(method, path, idempotency_key)`` answers ``None`` (forward), a status code (answer
    it without forwarding) or ``"drop"`` (close the connection without an answer, as a server
    that went away)."""

    def __init__(self, base: str, fault: Callable[[str, str, str], int | str | None]) -> None:
        self.base = base
        self.fault = fault
        self.keys: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_: object) -> None:
                pass

            def _relay(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                key = self.headers.get("idempotency-key", "")
                if key:
                    proxy.keys.append(key)
                what = proxy.fault(self.command, self.path.split("?")[0], key)
                if what == "drop":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if isinstance(what, int):
                    self.send_response(what)
                    self.send_header("content-length", "0")
                    self.end_headers()
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                answer = httpx.request(
                    self.command, proxy.base + self.path, headers=headers, content=body
                )
                self.send_response(answer.status_code)
                for name, value in answer.headers.items():
                    if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(name, value)
                self.send_header("content-length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = do_PUT = _relay

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_retries_is_the_number_of_retries_with_the_same_key(tmp_path: Path) -> None:
    path = tmp_path / "good.csv"
    path.write_text(good_csv(range(2019, 2020)), encoding="utf-8")  # one batch
    failures = {"left": 0}

    def unavailable(method: str, route: str, key: str) -> int | None:
        if route == "/v1/statistics/observations" and failures["left"]:
            failures["left"] -= 1
            return 503
        return None

    with served(tmp_path) as (base, _):
        proxy = FaultyProxy(base, unavailable)
        try:
            env = {**credentials(tmp_path, base), "RECNET_URL": proxy.url}
            failures["left"] = 3
            short = recnet(tmp_path, "push", "statistics", str(path), "--retries", "2", **env)
            assert short.returncode == 3, short.stdout + short.stderr  # 1 try + 2 retries: 503
            assert "nothing was written" in short.stdout
            assert stored(base) == []
            assert len(proxy.keys) == 3
            assert len(set(proxy.keys)) == 1

            proxy.keys.clear()
            failures["left"] = 3
            enough = recnet(tmp_path, "push", "statistics", str(path), "--retries", "3", **env)
            assert enough.returncode == 0, enough.stdout + enough.stderr
            checks = [k for k in proxy.keys if k.endswith("-dry")]
            assert len(checks) == 4
            assert len(set(checks)) == 1
            assert len(stored(base)) == 2
        finally:
            proxy.close()


def test_an_interrupted_push_says_what_was_written_and_a_rerun_resumes(tmp_path: Path) -> None:
    """Piped, each batch is printed as it is done; the server goes away at the third write."""
    path = tmp_path / "good.csv"
    path.write_text(good_csv(range(2010, 2015)), encoding="utf-8")  # 10 rows: 5 batches of 2
    second_written = threading.Event()
    seen_in_time: list[bool] = []
    gone = {"now": False}

    def goes_away(method: str, route: str, key: str) -> str | None:
        if key.endswith("-3") and not gone["now"]:
            # Hold the third write until the test has read the second batch's line: a push
            # that printed at the end would never show it while it waits here.
            seen_in_time.append(second_written.wait(30))
            gone["now"] = True
        return "drop" if gone["now"] else None

    with served(tmp_path) as (base, _):
        proxy = FaultyProxy(base, goes_away)
        try:
            env = {**credentials(tmp_path, base), "RECNET_URL": proxy.url}
            process = subprocess.Popen(
                [sys.executable, "-m", "recnet", "push", "statistics", str(path),
                 "--batch-size", "2", "--retries", "1"],
                env={**os.environ, "COLUMNS": "200", **env},
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            assert process.stdout is not None
            lines: list[str] = []
            for line in process.stdout:
                lines.append(line.rstrip("\n"))
                if line.startswith("batch 2 (lines 4-5): OK"):
                    second_written.set()
            process.wait(60)
        finally:
            proxy.close()
        out = "\n".join(lines)
        assert seen_in_time == [True], out
        assert process.returncode == 3, out
        checked = [line for line in lines if line.startswith("checked batch")]
        assert [c.split(":")[0] for c in checked] == [
            f"checked batch {n} (lines {2 * n}-{2 * n + 1})" for n in range(1, 6)
        ]
        assert all(c.split(": ")[1].startswith("OK") for c in checked), out
        assert "written: batch(es) 1, 2 (lines 2-5)" in out
        assert "no answer for batch(es) 3 (lines 6-7)" in out
        assert "not sent: batch(es) 4, 5 (lines 8-11)" in out
        assert "run the same command again" in out
        assert "Idempotency-Key" in out
        assert len(stored(base)) == 4

        # The same command, straight to the server: batches 1 and 2 are replayed, not rewritten.
        resumed = recnet(
            tmp_path, "push", "statistics", str(path), "--batch-size", "2",
            **{**env, "RECNET_URL": base},
        )  # fmt: skip
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        assert "batch 1 (lines 2-3): OK (replayed: already sent)" in resumed.stdout
        assert "batch 2 (lines 4-5): OK (replayed: already sent)" in resumed.stdout
        assert resumed.stdout.count("replayed: already sent") == 2
        assert len(stored(base)) == 10


def practices(n: int, **changes: object) -> list[dict[str, object]]:
    return [
        {**PRACTICE, "source_ref": f"MC-{i}", "title": {"en": f"Mobile classes {i}"}, **changes}
        for i in range(1, n + 1)
    ]


def test_practices_dry_run_reports_every_invalid_item_by_index(tmp_path: Path) -> None:
    items = practices(3)
    items[1] = {**items[1], "tlp": "PURPLE"}
    del items[1]["title"]
    items[2] = {**items[2], "documents": [{"url": "http://plain", "title": {"en": "Report"}}]}
    path = tmp_path / "practices.json"
    path.write_text(json.dumps(items), encoding="utf-8")
    with served(tmp_path) as (base, _):
        env = credentials(tmp_path, base)
        dry = recnet(tmp_path, "push", "practices", str(path), "--dry-run", **env)
        assert dry.returncode == 1, dry.stdout + dry.stderr
        errors = [line for line in dry.stdout.splitlines() if line.startswith("ERROR")]
        assert any(e.startswith("ERROR item 2 (MC-2): tlp: 'PURPLE'") for e in errors), errors
        assert any(e.startswith("ERROR item 2 (MC-2)") and "'title'" in e for e in errors), errors
        assert any(e.startswith("ERROR item 3 (MC-3): documents/0/url") for e in errors), errors
        assert not any("item 1 " in e for e in errors)
        assert "3 practice(s) checked against /v1/schemas/practice, 2 refused" in dry.stdout

        # Without --dry-run an invalid item stops the push before anything is sent...
        refused = recnet(tmp_path, "push", "practices", str(path), **env)
        assert refused.returncode == 1
        assert httpx.get(f"{base}/v1/practices", params={"tenant": "UZB"}).json()["items"] == []
        # ...and --partial sends the valid ones.
        partial = recnet(tmp_path, "push", "practices", str(path), "--partial", **env)
        assert partial.returncode == 1
        assert "MC-1: 201 created" in partial.stdout
        assert "MC-2: not sent (item 2 is invalid)" in partial.stdout
        listed = httpx.get(f"{base}/v1/practices", params={"tenant": "UZB"}).json()["items"]
        assert [p["source_ref"] for p in listed] == ["MC-1"]


def test_pushing_programmes_twice_makes_no_duplicates(tmp_path: Path) -> None:
    items = [
        programme_body(source_ref=f"HO-{n}", status="published", title={"en": f"Operation {n}"})
        for n in (1, 2)
    ]
    path = tmp_path / "programmes.json"
    path.write_text(json.dumps(items), encoding="utf-8")
    with served(tmp_path) as (base, _):
        env = credentials(tmp_path, base, "programmes:write")
        dry = recnet(tmp_path, "push", "programmes", str(path), "--dry-run", **env)
        assert dry.returncode == 0, dry.stdout + dry.stderr
        assert "2 programme(s) checked against /v1/schemas/programme, 0 refused" in dry.stdout
        first = recnet(tmp_path, "push", "programmes", str(path), **env)
        assert first.returncode == 0, first.stdout + first.stderr
        assert first.stdout.count(": 201 created") == 2
        second = recnet(tmp_path, "push", "programmes", str(path), **env)
        assert second.stdout.count(": 200 stored (version 1)") == 2
        answer = httpx.get(f"{base}/v1/programmes", params={"tenant": "UZB"})
        assert answer.status_code == 200, answer.text
        listed = answer.json()["items"]
        assert sorted(p["source_ref"] for p in listed) == ["HO-1", "HO-2"]
