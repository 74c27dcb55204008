"""A researcher reads the published statistics into pandas: the CSV export, and SDMX-JSON via sdmx1.

Environment: RECNET_URL (reading is open to anyone; figures are disclosure-controlled).
Prints a small table of returns by state, sex and period, then the same data through SDMX.
"""

from __future__ import annotations

import io
import os

import httpx
import pandas as pd
import sdmx


def main() -> None:
    url = os.environ.get("RECNET_URL", "http://127.0.0.1:8000").rstrip("/")

    # 1. Plain CSV straight from the API URL.
    answer = httpx.get(
        f"{url}/v1/statistics/observations",
        params={"indicator": "RETURNED", "format": "csv"},
        timeout=60,
    )
    answer.raise_for_status()
    frame = pd.read_csv(io.StringIO(answer.text))
    table = frame.pivot_table(
        index=["REF_AREA", "TIME_PERIOD"], columns="SEX", values="OBS_VALUE", aggfunc="sum"
    )
    print("CSV: returned persons by state, period and sex")
    print(table.to_string())

    # 2. SDMX-JSON through the SDMX REST form, read by sdmx1.
    sdmx_answer = httpx.get(
        f"{url}/v1/sdmx/data/RR_STATS/.RETURNED....",
        headers={"Accept": "application/vnd.sdmx.data+json;version=1.0.0"},
        timeout=60,
    )
    sdmx_answer.raise_for_status()
    message = sdmx.read_sdmx(io.BytesIO(sdmx_answer.content), format="JSON")
    series = sdmx.to_pandas(message.data[0])
    print(f"SDMX-JSON: {len(series)} observations")
    print(series.to_string())


if __name__ == "__main__":
    main()
