"""The disclosure-control engine against an auditor written apart from it (tests/protection_audit).

Tables are random (hypothesis) and adversarial: chains of relations, states that report alone,
a region of two reporting states, quarters without months and months without quarters, series of
releases where an import changes a few cells, and every threshold from 3 to 10. For each, every
release is protected as the service does it, and the auditor, given everything every view saw in
every release, must find no withheld cell narrowed to fewer than ``threshold`` whole numbers.
"""

from __future__ import annotations

import csv
import io
import itertools
import random
from collections.abc import Callable, Sequence

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from recnet.demo import MEMBER_STATES as DEMO_STATES
from recnet.demo import statistics_csv
from recnet.schemas.statistics import DIMENSIONS
from recnet.services.statistics.cube import _cube_cells
from recnet.services.statistics.protection import (
    CURRENT,
    PUBLISHED,
    Previous,
    Release,
    Version,
    audit,
    protect,
)
from tests.protection_audit import Seen, disclosed

Key = tuple[str, str, str, str, str, str]
Table = dict[Key, int]


def release_series(
    tables: Sequence[Table],
    threshold: int,
    *,
    refuse: bool = False,
    rng: random.Random | None = None,
) -> tuple[list[Release], list[Seen]]:
    """Each table's cube published as one more release of the partition, as the service does;
    and every version with the releases it was shown in. With ``refuse``, a release the engine
    reports it could not protect is not published and the next table follows the last one
    that was, as the service refuses such an import. The secret tie-breaks are drawn from
    ``rng``, else from a generator seeded with the release's number (replayable either way)."""
    previous: dict[Key, Previous] = {}
    history: list[Version] = []
    shown: dict[tuple[Key, int], tuple[int, bool, set[int]]] = {}
    releases: list[Release] = []
    for exact in tables:
        number = len(releases) + 1
        release = protect(
            _cube_cells(exact),
            threshold,
            previous=previous,
            history=history,
            release=number,
            rng=rng or random.Random(number),
        )
        if refuse and release.failures:
            continue
        releases.append(release)
        history.extend(release.ended)
        previous = {}
        for key, value, conf, since in zip(
            release.keys, release.values, release.conf, release.since, strict=True
        ):
            withheld = conf != PUBLISHED
            previous[key] = Previous(value, withheld, since)
            shown.setdefault((key, since), (value, withheld, set()))[2].add(number)
    seen = [
        Seen(key, value, withheld, frozenset(numbers))
        for (key, _), (value, withheld, numbers) in shown.items()
    ]
    return releases, seen


def assert_protected(
    tables: Sequence[Table],
    threshold: int,
    *,
    refuse: bool = False,
    rng: random.Random | None = None,
) -> list[Release]:
    """Every release the series publishes is protected, judged by the independent auditor over
    all of them; without ``refuse``, every table is published."""
    releases, seen = release_series(tables, threshold, refuse=refuse, rng=rng)
    for release in releases:
        assert release.failures == []
    found = disclosed(seen, threshold)
    assert found == [], found[:5]
    return releases


def cell(
    area: str, sex: str = "F", age: str = "Y0T4", country: str = "SYR", period: str = "2020"
) -> Key:
    return (area, "RETURNED", sex, age, country, period)


# ---------------------------------------------------------------- examples


def test_a_small_cell_is_withheld_and_the_rest_published() -> None:
    (release,) = assert_protected([{cell("UZB", "F"): 3, cell("UZB", "M"): 40}], 5)
    statuses = dict(zip(release.keys, release.conf, strict=True))
    assert statuses[cell("UZB", "F")] == "C"
    assert statuses[cell("UZB", "M")] != PUBLISHED  # its sibling hides it
    assert statuses[cell("UZB", "_T", "_T", "_T")] == PUBLISHED


def test_zero_is_published() -> None:
    (release,) = assert_protected([{cell("UZB", "F"): 0, cell("UZB", "M"): 40}], 5)
    assert set(release.conf) == {PUBLISHED}


def test_a_total_of_six_with_a_small_part_does_not_pin_it() -> None:
    """The flags once told C (1-4) from D (0 or 5+): a total of 6 pinned the C cell to 1."""
    assert_protected([{cell("UZB", "F"): 1, cell("UZB", "M"): 5}], 5)


def test_a_region_of_two_reporting_states() -> None:
    """The other state knows its own cells: CAS minus its own must not give the small one."""
    table = {
        cell("UZB", "F"): 2, cell("UZB", "M"): 40,
        cell("KAZ", "F"): 30, cell("KAZ", "M"): 31,
    }  # fmt: skip
    (release,) = assert_protected([table], 5)
    statuses = dict(zip(release.keys, release.conf, strict=True))
    assert statuses[cell("CAS", "F")] != PUBLISHED


def test_a_state_that_reports_alone() -> None:
    assert_protected([{cell("TJK", sex): v for sex, v in (("F", 1), ("M", 2))}], 3)


def test_a_chain_of_relations_along_every_dimension() -> None:
    table = {
        cell(area, sex, age, country, period): (hash((area, sex, age, country, period)) % 9)
        for area, sex, age, country, period in itertools.product(
            ("UZB", "KAZ"), ("F", "M"), ("Y0T4", "Y5T11"), ("SYR", "IRQ"), ("2020-Q1", "2020-Q2")
        )
    }
    assert_protected([table], 5)


def test_a_cell_that_turns_small_after_it_was_published() -> None:
    """Release 1 publishes TJK; release 2 makes it small. With release 1's relations, the
    region total of release 2 must not give it away."""
    first = {cell("UZB"): 3, cell("KAZ"): 50, cell("TJK"): 100}
    second = {**first, cell("TJK"): 2}
    assert_protected([first, second], 5)


def test_a_withheld_partner_that_is_later_published_does_not_expose_the_small_cell() -> None:
    first = {cell("UZB", "F"): 3, cell("UZB", "M"): 50, cell("KAZ", "F"): 20, cell("KAZ", "M"): 7}
    second = {**first, cell("UZB", "M"): 51}
    third = {**second, cell("KAZ", "M"): 9}
    assert_protected([first, second, third], 5)


@pytest.mark.parametrize("threshold", range(3, 11))
def test_every_threshold(threshold: int) -> None:
    table = {
        cell("UZB", sex, age): value
        for (sex, age), value in zip(
            itertools.product(("F", "M"), ("Y0T4", "Y5T11", "Y12T17")),
            (1, 7, 12, 2, 0, 30),
            strict=True,
        )
    }
    assert_protected([table], threshold)


def test_an_unchanged_cell_keeps_its_version_and_status() -> None:
    first = {cell("UZB", "F"): 3, cell("UZB", "M"): 50, cell("UZB", "F", "Y5T11"): 9}
    second = {**first, cell("UZB", "F", "Y5T11"): 10}
    one, two = assert_protected([first, second], 5)
    before = dict(zip(one.keys, zip(one.conf, one.since, strict=True), strict=True))
    after = dict(zip(two.keys, zip(two.conf, two.since, strict=True), strict=True))
    assert after[cell("UZB", "F")] == before[cell("UZB", "F")]
    assert after[cell("UZB", "F", "Y5T11")][1] == 2
    assert {v.key for v in two.ended} >= {cell("UZB", "F", "Y5T11")}


def test_a_withheld_cell_that_grows_stays_withheld() -> None:
    """Published at its new value, UZB F would tell its old one: the total moved with it."""
    first = {cell("UZB", "F"): 3, cell("UZB", "M"): 40, cell("UZB", "F", "Y5T11"): 9}
    second = {**first, cell("UZB", "F"): 30}
    _, two = assert_protected([first, second], 5)
    conf = dict(zip(two.keys, two.conf, strict=True))
    assert conf[cell("UZB", "F")] != PUBLISHED


def test_a_small_update_beside_a_long_history_withholds_little_more() -> None:
    """Ten changed months in a year of monthly figures: the release withholds what the change
    needs, not every cell it decides (the engine's last resort, which it once took here)."""
    months = [f"2020-{m:02d}" for m in range(1, 13)]
    keys = list(itertools.product(("F", "M"), ("Y0T4", "Y5T11"), ("SYR", "IRQ"), months))
    first = {
        cell("UZB", sex, age, country, month): n * 7 % 61
        for n, (sex, age, country, month) in enumerate(keys)
    }
    second = {**first}
    for n in range(10):
        second[
            cell("UZB", "F", ("Y0T4", "Y5T11")[n % 2], ("SYR", "IRQ")[n // 2 % 2], months[n])
        ] = n
    _, two = assert_protected([first, second], 5)
    changed = [conf for conf, since in zip(two.conf, two.since, strict=True) if since == 2]
    # 180 cells changed (the months, their totals, the region's); 8 are small.
    assert sum(conf == PUBLISHED for conf in changed) >= len(changed) / 4


def test_the_engines_own_audit_finds_a_revealed_cell() -> None:
    (release,) = assert_protected([{cell("UZB", "F"): 3, cell("UZB", "M"): 40}], 5)
    versions = [
        Version(key, since, CURRENT, value, conf != PUBLISHED)
        for key, value, conf, since in zip(
            release.keys, release.values, release.conf, release.since, strict=True
        )
    ]
    assert audit(versions, 5) == []
    revealed = [
        v if v.key != cell("UZB", "M") else Version(v.key, v.since, v.until, v.value, False)
        for v in versions
    ]
    failures = audit(revealed, 5)
    assert failures
    assert any("UZB.RETURNED.F.Y0T4.SYR.2020" in f.describe(revealed) for f in failures)


def demo_releases() -> list[Table]:
    """The demo's statistics as the demo loads them: each state's rows added to the last's."""
    rows = list(csv.DictReader(io.StringIO(statistics_csv().decode())))
    tables: list[Table] = []
    cells: Table = {}
    for state in DEMO_STATES:
        for row in rows:
            if row["REF_AREA"] == state:
                key: Key = tuple(row[d] for d in DIMENSIONS)  # type: ignore[assignment]
                cells[key] = int(row["OBS_VALUE"])
        tables.append(dict(cells))
    return tables


@pytest.mark.parametrize("seed", [19, *range(8)])
def test_an_unlucky_draw_does_not_withhold_the_states_and_regions_totals(seed: int) -> None:
    """The demo's states report 2019 one after another. With tie-breaks drawn from seed 19, the
    hypercube around Turkmenistan's one woman over 60 took the man beside her, a zero the
    regional total pins exactly, which no mending frees; the last resort then withheld all of
    Turkmenistan's table and the region's, totals included, for good. Another draw of the
    tie-breaks covers the small cells well, judged by the same audit."""
    year = [
        {key: value for key, value in cells.items() if key[5] == "2019" and key[1] == "RETURNED"}
        for cells in demo_releases()
    ]
    releases = assert_protected(year, 5, rng=random.Random(seed))
    last = releases[-1]
    withheld_totals = [
        key
        for key, conf in zip(last.keys, last.conf, strict=True)
        if conf != PUBLISHED and key[2:4] == ("_T", "_T")
    ]
    assert withheld_totals == []


# ---------------------------------------------------------------- random tables

PERIOD_SHAPES = {
    "years": ("2020",),
    "quarters": ("2020-Q1", "2020-Q2", "2020-Q3"),
    "months": ("2020-01", "2020-02", "2020-05"),
    "quarters and months": ("2020-Q1", "2020-01", "2020-02", "2020-03", "2020-Q2"),
}
SMALL_COUNTS = st.one_of(st.integers(0, 6), st.integers(0, 40))


@st.composite
def tables(draw: st.DrawFn) -> Table:
    states = draw(
        st.lists(st.sampled_from(("KAZ", "KGZ", "UZB")), min_size=1, max_size=3, unique=True)
    )
    sexes = draw(st.sampled_from((("F",), ("F", "M"))))
    ages = draw(
        st.lists(st.sampled_from(("Y0T4", "Y5T11", "Y18T59")), min_size=1, max_size=2, unique=True)
    )
    countries = draw(st.sampled_from((("SYR",), ("SYR", "IRQ"))))
    periods = PERIOD_SHAPES[draw(st.sampled_from(sorted(PERIOD_SHAPES)))]
    keys = list(itertools.product(states, sexes, ages, countries, periods))
    values = draw(st.lists(SMALL_COUNTS, min_size=len(keys), max_size=len(keys)))
    return {
        (area, "RETURNED", sex, age, country, period): value
        for (area, sex, age, country, period), value in zip(keys, values, strict=True)
    }


@st.composite
def series(draw: st.DrawFn) -> list[Table]:
    """A first release, then imports that change, add or remove a few cells."""
    first = draw(tables())
    found = [first]
    for _ in range(draw(st.integers(0, 2))):
        table = dict(found[-1])
        keys = sorted(table)
        for key in draw(st.lists(st.sampled_from(keys), max_size=3, unique=True)):
            if draw(st.booleans()) or len(table) == 1:
                table[key] = draw(SMALL_COUNTS)
            else:
                del table[key]
        found.append(table)
    return found


EXAMPLES = settings(
    max_examples=15, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@pytest.mark.slow
@EXAMPLES
@given(table=tables(), threshold=st.integers(3, 10))
def test_random_tables_are_protected_for_every_view(table: Table, threshold: int) -> None:
    assert_protected([table], threshold)


@pytest.mark.slow
@EXAMPLES
@given(tables=series(), threshold=st.integers(3, 10))
def test_random_series_of_releases_are_protected_over_time(
    tables: list[Table], threshold: int
) -> None:
    assert_protected(tables, threshold, refuse=True)


@pytest.mark.slow
@settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow],
)
@given(tables=series(), threshold=st.integers(3, 10))
def test_many_random_series_of_releases_are_protected(tables: list[Table], threshold: int) -> None:
    """The service refuses the rare import (about 1 random series in 100, all of them deleting
    withheld cells: bench/protection_scan.py --series) whose release the engine cannot protect;
    what it publishes is protected."""
    assert_protected(tables, threshold, refuse=True)


@pytest.mark.parametrize(
    ("cells", "threshold", "message"),
    [
        ({cell("UZB"): -1}, 5, "negative count"),
        ({("UZB", "RETURNED", "F"): 3}, 5, "one value per dimension"),
        ({cell("UZB", period="2020Q1"): 3}, 5, "not a normalised period"),
        ({cell("UZB"): 3}, 0, "threshold must be at least 1"),
    ],
)
def test_invalid_input_is_refused(cells: dict[Key, int], threshold: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        protect(cells, threshold)


def test_removing_cells_after_a_release_keeps_the_earlier_one_protected() -> None:
    """UZB M (0) was withheld beside UZB F (2); without it, UZB _T = UZB F would tell it by
    difference, unless the withheld cells start new versions."""
    first = {
        cell("KAZ", "F"): 0, cell("KAZ", "M"): 0,
        cell("KGZ", "F"): 0, cell("KGZ", "M"): 1,
        cell("UZB", "F"): 2, cell("UZB", "M"): 0,
    }  # fmt: skip
    second = {cell("KGZ", "F"): 0, cell("KGZ", "M"): 1, cell("UZB", "F"): 2}
    assert_protected([first, second], 3)


def shown(release: Release) -> dict[Key, int | None]:
    """What the public view of a release shows: published values, None where withheld."""
    return {
        key: value if conf == PUBLISHED else None
        for key, value, conf in zip(release.keys, release.values, release.conf, strict=True)
    }


def reproducible(table: Table, truth: dict[Key, int | None], threshold: int, tries: int) -> bool:
    """Whether the engine, with some draw of its secret tie-breaks, publishes ``table`` the way
    ``truth`` shows it: what an attacker who reruns the engine without its secret can test."""
    cells = _cube_cells(table)
    return any(
        shown(protect(cells, threshold, rng=random.Random(seed))) == truth for seed in range(tries)
    )


def test_the_pattern_of_withheld_cells_does_not_narrow_them() -> None:
    """An attacker with the engine's source tries every table consistent with what one release
    published, and keeps those the engine could have published the same way (the red team's
    example: with suppressions chosen by value, F.SYR was narrowed to 1..4)."""

    def table(f_syr: int, f_irq: int, m_syr: int, m_irq: int) -> Table:
        values = {("F", "SYR"): f_syr, ("F", "IRQ"): f_irq, ("F", "AFG"): 28, ("F", "TUR"): 15}
        values |= {("M", "SYR"): m_syr, ("M", "IRQ"): m_irq, ("M", "AFG"): 21, ("M", "TUR"): 26}
        return {cell("UZB", sex, "_T", country): v for (sex, country), v in values.items()}

    square = {cell("UZB", s, "_T", c) for s in ("F", "M") for c in ("SYR", "IRQ")}
    # A release whose secret draw withheld the square F and M by SYR and IRQ.
    views = (
        shown(protect(_cube_cells(table(3, 9, 40, 4)), 5, rng=random.Random(seed)))
        for seed in range(100)
    )
    truth = next(
        v for v in views if {k for k, x in v.items() if x is None and k[0] == "UZB"} == square
    )
    # The published totals leave one unknown: F.SYR = a gives F.IRQ = 12 - a, M.SYR = 43 - a and
    # M.IRQ = 1 + a (a from 0 to 12, the interval the audit's LP finds).
    consistent = [
        a for a in range(13) if reproducible(table(a, 12 - a, 43 - a, 1 + a), truth, 5, 60)
    ]
    assert max(consistent) - min(consistent) + 1 >= 5, consistent


def consistent_values(
    table: Callable[[int], Table], truth: int, values: range, threshold: int, tries: int = 40
) -> list[int]:
    """The values ``a`` of one unknown for which the engine, with some draw of its secret
    tie-breaks, publishes ``table(a)`` as it published ``table(truth)`` with draw 0."""
    seen = shown(protect(_cube_cells(table(truth)), threshold, rng=random.Random(0)))
    return [a for a in values if reproducible(table(a), seen, threshold, tries)]


GAP = (
    "known gap (issue 14 note, red team): a reader who replays the engine over candidate tables, "
    "sees a published cell turn withheld, or looks for the small cell among a release's new "
    "versions can narrow it; the audit does not model that yet"
)


@pytest.mark.slow
def test_a_lone_small_cell_is_not_told_by_the_need_for_one() -> None:
    """TKM F = 1, M = 0 beside UZB (the red team's example): published as it stood (only TKM F and
    the totals it is alone in withheld), a withheld cell means that some cell is small and only
    TKM F could be, so only F = 1..4 would give that release. The audit reasons so too, and
    withholds more; then tables with TKM F anywhere from 0 to 5 and beyond give the release."""

    def table(f: int, m: int) -> Table:
        return {
            cell("TKM", "F", "_T", "_T"): f, cell("TKM", "M", "_T", "_T"): m,
            cell("UZB", "F", "_T", "_T"): 30, cell("UZB", "M", "_T", "_T"): 25,
        }  # fmt: skip

    truth = shown(protect(_cube_cells(table(1, 0)), 5, rng=random.Random(0)))
    assert truth[cell("TKM", "M", "_T", "_T")] is None  # withheld beside F, though 0
    consistent = {f for f in range(13) for m in range(6) if reproducible(table(f, m), truth, 5, 10)}
    assert max(consistent) - min(consistent) + 1 >= 5, consistent


@pytest.mark.xfail(strict=True, reason=GAP)
def test_which_hypercube_was_chosen_does_not_tell_the_small_cell() -> None:
    """M.IRQ = a, M.AFG = 4 - a: with a = 0 the small cell is M.AFG, whose cheapest hypercube
    differs from those the true table (a = 4, where the total IRQ is small too) can draw."""

    def table(a: int) -> Table:
        values = {("F", "AFG"): 8, ("F", "IRQ"): 0, ("F", "SYR"): 9}
        values |= {("M", "AFG"): 4 - a, ("M", "IRQ"): a, ("M", "SYR"): 6}
        return {cell("UZB", sex, "_T", country): v for (sex, country), v in values.items()}

    consistent = consistent_values(table, 4, range(5), 5)
    assert max(consistent) - min(consistent) + 1 >= 5, consistent


TURNS_SMALL = {
    # F.AFG, published at 25, becomes 4.
    "a count falls": (
        {
            cell("UZB", "F", "_T", "AFG"): 25, cell("UZB", "F", "_T", "SYR"): 12,
            cell("UZB", "M", "_T", "AFG"): 0, cell("UZB", "M", "_T", "SYR"): 5,
        },
        cell("UZB", "F", "_T", "AFG"),
        4,
    ),
    # A state at zero gets its first returnee (the second red team's break C).
    "a zero rises": (
        {
            cell("UZB", "F", "_T", "_T"): 30, cell("UZB", "M", "_T", "_T"): 25,
            cell("TKM", "F", "_T", "_T"): 0, cell("TKM", "M", "_T", "_T"): 0,
        },
        cell("TKM", "F", "_T", "_T"),
        1,
    ),
}  # fmt: skip


@pytest.mark.xfail(strict=True, reason=GAP)
@pytest.mark.parametrize("case", TURNS_SMALL)
def test_a_published_cell_that_turns_withheld_is_not_told_small(case: str) -> None:
    """A published cell becomes small: withheld with the totals that moved with it, while a new
    value of 0 or 5 and more would have been published."""
    first, changed, value = TURNS_SMALL[case]
    before = protect(_cube_cells(first), 5, rng=random.Random(0))
    previous = {
        key: Previous(value, conf != PUBLISHED, since)
        for key, value, conf, since in zip(
            before.keys, before.values, before.conf, before.since, strict=True
        )
    }

    def second(a: int, draw: int) -> dict[Key, int | None]:
        cells = _cube_cells({**first, changed: a})
        release = protect(
            cells, 5, previous=previous, history=before.ended, release=2, rng=random.Random(draw)
        )
        return shown(release)

    truth = second(value, 0)
    consistent = [a for a in range(31) if any(second(a, d) == truth for d in range(20))]
    assert max(consistent) - min(consistent) + 1 >= 5, consistent


def test_a_state_with_a_small_cell_of_its_own_does_not_reason_another_is_small() -> None:
    """KGZ knows its own 3 in March: withheld cells need no small cell of UZB to explain them, so
    the audit of KGZ's view does not keep only tables where one is small (it did, and then no
    suppression could satisfy it: a first import was refused)."""
    months = ("2020-01", "2020-02", "2020-03", "2020-Q1", "2020-Q2")
    reported = {"KGZ": (14, 30, 3, 30, 14), "UZB": (3, 3, 2, 18, 27)}
    table = {
        cell(state, "F", "Y5T11", "SYR", period): value
        for state, values in reported.items()
        for period, value in zip(months, values, strict=True)
    }
    for draw in range(3):
        release = protect(_cube_cells(table), 10, rng=random.Random(draw))
        assert release.failures == []
    assert_protected([table], 10)


@pytest.mark.xfail(strict=True, reason=GAP)
def test_a_new_small_cell_beside_an_older_one_is_not_told_by_the_need_for_one() -> None:
    """The second red team's break B: UZB has M.IRQ = 2 withheld since release 1; release 2 adds
    AFG with F 0 and M 3. The older small cell does not explain why the new cells are withheld
    (it was covered before), so a reader looks for the small one among the new versions, and
    F.AFG is pinned to 0 by F's unchanged total: only M.AFG can be it. The audit lets the older
    cell stand for the small one, so the release is published; judged as that reader, no
    suppression can hide M.AFG and the import would be refused."""
    first = {
        cell("UZB", "F", "_T", "SYR"): 20, cell("UZB", "F", "_T", "IRQ"): 11,
        cell("UZB", "M", "_T", "SYR"): 26, cell("UZB", "M", "_T", "IRQ"): 2,
    }  # fmt: skip
    second = {**first, cell("UZB", "F", "_T", "AFG"): 0, cell("UZB", "M", "_T", "AFG"): 3}
    releases, _ = release_series([first, second], 5, refuse=True)
    assert len(releases) == 1, "the second release tells M.AFG is small: refused"


@pytest.mark.xfail(strict=True, reason=GAP)
def test_a_states_one_small_figure_is_not_told_by_the_need_for_one() -> None:
    """KAZ reports one figure, 2, beside UZB's: every KAZ total equals it and the regional ones
    are large, so a withheld cell means KAZ's is 1..4; there is no cell to hide it among."""

    def table(a: int) -> Table:
        return {
            cell("KAZ", "F", "Y18T59", "SYR"): a,
            cell("UZB", "F", "Y18T59", "SYR"): 40, cell("UZB", "M", "Y18T59", "SYR"): 35,
        }  # fmt: skip

    consistent = consistent_values(table, 2, range(13), 5)
    assert max(consistent) - min(consistent) + 1 >= 5, consistent
