"""An agency pushes statistics with httpx: token, then a CSV import with its report printed.

Environment: RECNET_URL, RECNET_CLIENT_ID, RECNET_CLIENT_SECRET (scope statistics:write).
Usage: python agency_push.py [FILE.csv]  (without FILE, a small sample for Uzbekistan is sent).
For large files or Excel workbooks, use `recnet push statistics FILE` (batches, retries).
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import httpx

SAMPLE = (
    "REF_AREA,INDICATOR,SEX,AGE,COUNTERPART_AREA,TIME_PERIOD,OBS_VALUE\n"
    "UZB,RETURNED,F,_T,SYR,2020,300\n"
    "UZB,RETURNED,M,_T,SYR,2020,230\n"
    "UZB,RETURNED,_T,_T,SYR,2020,530\n"
)


def main() -> int:
    url = os.environ.get("RECNET_URL", "http://127.0.0.1:8000").rstrip("/")
    body = Path(sys.argv[1]).read_bytes() if len(sys.argv) > 1 else SAMPLE.encode()
    with httpx.Client(base_url=url, timeout=120) as http:
        token = http.post(
            "/v1/auth/token",
            data={"grant_type": "client_credentials"},
            auth=(os.environ["RECNET_CLIENT_ID"], os.environ["RECNET_CLIENT_SECRET"]),
        )
        token.raise_for_status()
        answer = http.post(
            "/v1/statistics/observations",
            content=body,
            headers={
                "Authorization": f"Bearer {token.json()['access_token']}",
                "Content-Type": "text/csv",
                # One key per content: a retry after a network failure imports nothing twice.
                "Idempotency-Key": "py-" + hashlib.sha256(body).hexdigest()[:40],
            },
        )
    document = answer.json()
    report = document.get("report", document)  # a refusal (422) carries the report
    print(f"HTTP {answer.status_code} status: {report.get('status', document.get('title'))}")
    print("counts:", " ".join(f"{k}={v}" for k, v in report.get("counts", {}).items()))
    for conflict in report.get("conflicts", []):
        print(
            f"  {conflict['severity']} {conflict['code']} {conflict.get('column') or ''}: "
            f"{conflict['message']} (lines {conflict['rows']})"
        )
    return 0 if answer.status_code == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
