"""SDMX-ML data on the data path: recnet's streaming writers against sdmx1's writer.

The issue behind /v1/sdmx asked to build the messages with a maintained SDMX library unless that
costs too much on the data path. This measures it: the same observations written as
structure-specific and generic SDMX-ML by ``formats.sdmx.ml_data`` (streamed, a chunk at a time),
and by sdmx1's ``to_xml`` from its model of the same message (the model built by reading recnet's
output back, which is timed apart). Prints milliseconds and megabytes.

    .venv/bin/python bench/sdmx_writers.py [--observations 20000]
"""

from __future__ import annotations

import argparse
import io
import itertools
import time
from datetime import UTC, datetime

import sdmx

from recnet.formats.sdmx import Observation
from recnet.formats.sdmx.ml_data import generic_data, structure_specific_data
from recnet.formats.sdmx.ml_structure import structure_xml
from recnet.schemas.statistics import CODELISTS, DIMENSIONS
from recnet.services.sdmx_structures import resolve


def observations(n: int) -> list[Observation]:
    codes = [sorted(CODELISTS[d].ids()) for d in DIMENSIONS[:-1]]
    periods = [str(year) for year in range(2000, 2030)]
    return [
        Observation(key, None if i % 10 == 0 else i, "A", "C" if i % 10 == 0 else "F")
        for i, key in enumerate(itertools.islice(itertools.product(*codes, periods), n))
    ]


def timed(label: str, make: object) -> bytes:
    start = time.perf_counter()
    body = make()  # type: ignore[operator]
    elapsed = time.perf_counter() - start
    print(f"{label:<58} {elapsed * 1000:7.0f} ms {len(body) / 1e6:6.1f} MB")
    return body  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--observations", type=int, default=20_000)
    n = parser.parse_args().observations
    cells = observations(n)
    now = datetime.now(UTC)
    print(f"{n:,} observations")
    specific = timed(
        "recnet structure-specific (streamed)",
        lambda: b"".join(structure_specific_data(cells, message_id="m", prepared=now)),
    )
    timed(
        "recnet generic (streamed)",
        lambda: b"".join(generic_data(cells, message_id="m", prepared=now)),
    )
    dsd_message = structure_xml(
        resolve("datastructure", references="children"), message_id="s", prepared=now, base="x"
    )
    dsd = sdmx.read_sdmx(io.BytesIO(dsd_message)).structure["RR_STATS"]
    start = time.perf_counter()
    message = sdmx.read_sdmx(io.BytesIO(specific), structure=dsd)
    print(f"{'sdmx1 model of the message (read back, not a writer cost)':<58} "
          f"{(time.perf_counter() - start) * 1000:7.0f} ms")  # fmt: skip
    timed("sdmx1 to_xml from that model (whole message in memory)", lambda: sdmx.to_xml(message))


if __name__ == "__main__":
    main()
