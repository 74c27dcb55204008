"""A researcher reads the published statistics into pandas: the CSV export, and SDMX-JSON via sdmx1.

Environment: RECNET_URL (reading is open to anyone; figures are disclosure-controlled).
Prints a table of returns (all ages) by state, counterpart country, period and sex, each figure
as published (withheld ones as "withheld"), then every RETURNED observation through SDMX.
"""

from __future__ import annotations

import io
import os

import httpx
import pandas as pd
import sdmx


def main() -> None:
    url = os.environ.get("RECNET_URL", "http://127.0.0.1:8000").rstrip("/")

    # 1. Plain CSV straight from the API URL. Each row is one published figure; totals (`_T`)
    # sit beside their parts, so select the breakdown wanted rather than adding rows up: here
    # every age (`AGE=_T`), by state, counterpart country, period and sex.
    answer = httpx.get(
        f"{url}/v1/statistics/observations",
        params={"indicator": "RETURNED", "age": "_T", "format": "csv"},
        timeout=60,
    )
    answer.raise_for_status()
    frame = pd.read_csv(io.StringIO(answer.text), keep_default_na=False, na_values=[""])
    # pivot, not pivot_table: one figure per cell, never a sum (a withheld figure stays empty).
    table = frame.pivot(
        index=["REF_AREA", "COUNTERPART_AREA", "TIME_PERIOD"], columns="SEX", values="OBS_VALUE"
    )
    print("CSV: returned persons (all ages) by state, counterpart, period and sex")
    print(table.to_string(na_rep="withheld", float_format=lambda v: f"{v:.0f}", sparsify=False))

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
    observations = series.rename("OBS_VALUE").reset_index()
    print(observations.to_string(index=False, na_rep="withheld", float_format=lambda v: f"{v:.0f}"))


if __name__ == "__main__":
    main()
