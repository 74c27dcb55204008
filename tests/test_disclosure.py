"""Disclosure control: small counts are withheld, and so is whatever would give them away.

The relations are recomputed here from their definition (a total and its parts along SEX, AGE,
COUNTERPART_AREA, the region and its member states, a year and its quarters or months, a quarter
and its months), independently of the implementation, and every result is checked against them.
"""

from __future__ import annotations

import itertools
import random
import re
from collections import Counter, defaultdict
from collections.abc import Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recnet.schemas.statistics import MEMBER_STATES, PARTS, REGION, TOTAL
from recnet.services.disclosure import Key, Protected, protect, statuses

STATES = frozenset(code.id for code in MEMBER_STATES)
YEAR = re.compile(r"^\d{4}$")
QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def key(
    ref: str = "KAZ",
    indicator: str = "RETURNED",
    sex: str = TOTAL,
    age: str = TOTAL,
    counterpart: str = TOTAL,
    period: str = "2024",
) -> Key:
    return (ref, indicator, sex, age, counterpart, period)


def relations(cells: Mapping[Key, int]) -> list[tuple[Key, list[Key]]]:
    """Every relation among the present cells, as (total, parts), from the definitions alone."""
    found: list[tuple[Key, list[Key]]] = []
    # Along REF_AREA, SEX, AGE, COUNTERPART_AREA: group the cells that agree on every other
    # dimension; in a group, the total code is the total and the part codes are its parts.
    along = {0: (REGION, STATES), 2: (TOTAL, PARTS["SEX"]), 3: (TOTAL, PARTS["AGE"])}
    along[4] = (TOTAL, PARTS["COUNTERPART_AREA"])
    for position, (total_code, part_codes) in along.items():
        groups: defaultdict[tuple[str, ...], dict[str, Key]] = defaultdict(dict)
        for cell in cells:
            groups[cell[:position] + cell[position + 1 :]][cell[position]] = cell
        for group in groups.values():
            parts = [cell for code, cell in group.items() if code in part_codes]
            if total_code in group and parts:
                found.append((group[total_code], parts))
    # Along TIME_PERIOD: group by every other dimension and the year.
    by_year: defaultdict[tuple[str, ...], list[Key]] = defaultdict(list)
    for cell in cells:
        by_year[cell[:5] + (cell[5][:4],)].append(cell)
    for same_year in by_year.values():
        years = [cell for cell in same_year if YEAR.match(cell[5])]
        quarters = [cell for cell in same_year if QUARTER.match(cell[5])]
        months = [cell for cell in same_year if MONTH.match(cell[5])]
        for year in years:
            if quarters:
                found.append((year, quarters))
            if months:
                found.append((year, months))
        for quarter in quarters:
            number = int(quarter[5][-1])
            in_quarter = [m for m in months if (int(m[5][5:]) - 1) // 3 + 1 == number]
            if in_quarter:
                found.append((quarter, in_quarter))
    return found


def assert_protected(
    cells: Mapping[Key, int], threshold: int, result: Mapping[Key, Protected]
) -> None:
    assert set(result) == set(cells)
    for cell, value in cells.items():
        protected = result[cell]
        small = 1 <= value < threshold
        if protected.conf == "F":
            # (a) nothing small is published, and what is published is exact.
            assert not small, cell
            assert protected.value == value
        else:
            # (b) withheld cells carry no value; C is exactly the small cells, D the others.
            assert protected.value is None
            assert protected.conf == ("C" if small else "D"), cell
        if small:
            assert protected.conf == "C"
    # (c) no relation has exactly one withheld cell, which subtraction would give away.
    for total, parts in relations(cells):
        withheld = [cell for cell in (total, *parts) if result[cell].conf != "F"]
        assert len(withheld) != 1, (total, parts, withheld)


def confs(result: Mapping[Key, Protected]) -> dict[Key, str]:
    return {cell: protected.conf for cell, protected in result.items()}


# Deterministic examples.


def test_a_small_cell_is_withheld_as_confidential() -> None:
    result = protect({key(): 3}, threshold=5)
    assert result == {key(): Protected(None, "C")}


def test_zero_is_published() -> None:
    cells = {key(sex="F"): 0, key(sex="M"): 12, key(): 12}
    result = protect(cells, threshold=5)
    assert result == {cell: Protected(value, "F") for cell, value in cells.items()}


@pytest.mark.parametrize(
    ("value", "conf"), [(0, "F"), (1, "C"), (2, "C"), (3, "F"), (4, "F"), (100, "F")]
)
def test_the_threshold_is_the_smallest_count_published(value: int, conf: str) -> None:
    result = protect({key(): value}, threshold=3)
    assert result[key()] == Protected(value if conf == "F" else None, conf)


def test_the_other_part_is_withheld_so_the_small_one_cannot_be_subtracted() -> None:
    # _T - M = F: with only F withheld, the total and M would give it away.
    cells = {key(sex="F"): 3, key(sex="M"): 10, key(): 13}
    result = protect(cells, threshold=5)
    assert confs(result) == {key(sex="F"): "C", key(sex="M"): "D", key(): "F"}
    assert result[key()].value == 13
    assert Counter(confs(result).values()) == {"C": 1, "D": 1, "F": 1}
    assert_protected(cells, 5, result)


def test_a_small_total_forces_its_smallest_part_to_be_withheld() -> None:
    # A stock indicator's year is not the sum of its quarters (here the year-end figure fell), but
    # the relation still holds them together, so withholding only the year is not enough.
    ind = "IN_REHABILITATION"
    cells = {
        key(indicator=ind, period="2024"): 4,
        key(indicator=ind, period="2024-Q1"): 40,
        key(indicator=ind, period="2024-Q2"): 30,
        key(indicator=ind, period="2024-Q3"): 50,
        key(indicator=ind, period="2024-Q4"): 20,
    }
    result = protect(cells, threshold=5)
    assert result[key(indicator=ind, period="2024")].conf == "C"
    assert result[key(indicator=ind, period="2024-Q4")].conf == "D"
    assert Counter(confs(result).values()) == {"C": 1, "D": 1, "F": 3}
    assert_protected(cells, 5, result)


def test_the_total_is_withheld_when_its_only_present_part_is_small() -> None:
    # Only one age band is in the data: there is no other part to withhold, so the total goes.
    cells = {key(age="Y0T4"): 2, key(): 12}
    result = protect(cells, threshold=5)
    assert confs(result) == {key(age="Y0T4"): "C", key(): "D"}
    assert_protected(cells, 5, result)


def test_a_small_quarter_withholds_the_smallest_other_quarter() -> None:
    quarters = {"2024-Q1": 10, "2024-Q2": 2, "2024-Q3": 15, "2024-Q4": 8}
    cells = {key(period=p): v for p, v in quarters.items()} | {key(period="2024"): 35}
    result = protect(cells, threshold=5)
    assert confs(result) == {
        key(period="2024-Q1"): "F",
        key(period="2024-Q2"): "C",
        key(period="2024-Q3"): "F",
        key(period="2024-Q4"): "D",
        key(period="2024"): "F",
    }
    assert_protected(cells, 5, result)


def test_months_are_parts_of_their_quarter_and_of_their_year() -> None:
    months = {"2024-01": 10, "2024-02": 3, "2024-03": 12}
    cells = {key(period=p): v for p, v in months.items()}
    cells |= {key(period="2024-Q1"): 25, key(period="2024"): 25}
    result = protect(cells, threshold=5)
    # January, the smallest other month, is withheld: it covers February in quarter and year.
    assert confs(result) == {
        key(period="2024-01"): "D",
        key(period="2024-02"): "C",
        key(period="2024-03"): "F",
        key(period="2024-Q1"): "F",
        key(period="2024"): "F",
    }
    assert_protected(cells, 5, result)


def test_a_small_member_state_is_protected_within_the_region() -> None:
    states = {"KAZ": 20, "KGZ": 1, "TJK": 9}
    cells = {key(ref=s): v for s, v in states.items()} | {key(ref=REGION): 30}
    result = protect(cells, threshold=5)
    assert confs(result) == {
        key(ref="KAZ"): "F",
        key(ref="KGZ"): "C",
        key(ref="TJK"): "D",
        key(ref=REGION): "F",
    }
    assert result[key(ref=REGION)].value == 30
    assert_protected(cells, 5, result)


def test_secondary_suppression_spreads_across_dimensions_until_every_relation_is_safe() -> None:
    # Sex by age with margins: one small cell needs the classic box of four withheld cells.
    inner = {("F", "Y0T4"): 2, ("F", "Y5T11"): 10, ("M", "Y0T4"): 7, ("M", "Y5T11"): 20}
    cells = {key(sex=s, age=a): v for (s, a), v in inner.items()}
    for sex in ("F", "M"):
        cells[key(sex=sex)] = sum(v for (s, _), v in inner.items() if s == sex)
    for age in ("Y0T4", "Y5T11"):
        cells[key(age=age)] = sum(v for (_, a), v in inner.items() if a == age)
    cells[key()] = sum(inner.values())
    result = protect(cells, threshold=5)
    withheld = {cell: c for cell, c in confs(result).items() if c != "F"}
    assert withheld == {
        key(sex="F", age="Y0T4"): "C",
        key(sex="M", age="Y0T4"): "D",
        key(sex="F", age="Y5T11"): "D",
        key(sex="M", age="Y5T11"): "D",
    }
    assert_protected(cells, 5, result)


def test_the_result_does_not_depend_on_the_order_of_the_cells() -> None:
    # Ties everywhere (equal values, several relations open at once) would expose any dependence.
    grid = itertools.product(("F", "M", TOTAL), ("Y0T4", "Y5T11", TOTAL))
    values = (3, 0, 3, 0, 9, 9, 3, 9, 12)
    cells = {key(sex=s, age=a): v for (s, a), v in zip(grid, values, strict=True)}
    result = protect(cells, 5)
    assert protect(dict(reversed(list(cells.items()))), 5) == result
    assert_protected(cells, 5, result)


def test_nothing_is_related_across_indicators() -> None:
    cells = {key(indicator="RETURNED"): 3, key(indicator="EMPLOYED"): 40}
    assert confs(protect(cells, 5)) == {
        key(indicator="RETURNED"): "C",
        key(indicator="EMPLOYED"): "F",
    }


@pytest.mark.parametrize(
    ("cells", "threshold", "message"),
    [
        ({key(): -1}, 5, "negative"),
        ({key(): 1}, 0, "threshold"),
        ({key(period="2024Q1"): 1}, 5, "normalised"),
        ({key(period="2024-13"): 1}, 5, "normalised"),
    ],
)
def test_invalid_input_is_refused(cells: dict[Key, int], threshold: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        protect(cells, threshold)


# Property tests on random, consistent datasets.


@st.composite
def datasets(draw: st.DrawFn) -> tuple[dict[Key, int], int]:
    """A small cube of leaf counts, with every total computed as the exact sum of its parts."""
    states = ["KAZ", "KGZ"][: draw(st.integers(1, 2))]
    region = draw(st.booleans())
    ages = ["Y0T4", "Y5T11", "Y12T17"][: draw(st.integers(1, 3))]
    counterparts = ["SYR", "IRQ"][: draw(st.integers(1, 2))]
    quarters = sorted(draw(st.sets(st.integers(1, 4), min_size=1)))
    year = draw(st.booleans())
    # Optionally the first quarter drawn is reported by month instead.
    monthly = draw(st.booleans())
    leaf_periods: list[str] = []
    ancestors: dict[str, list[str]] = {}
    for q in quarters:
        parents = ["2024"] if year else []
        if monthly and q == quarters[0]:
            for m in range(3 * q - 2, 3 * q + 1):
                leaf_periods.append(f"2024-{m:02d}")
                ancestors[f"2024-{m:02d}"] = [f"2024-Q{q}", *parents]
        else:
            leaf_periods.append(f"2024-Q{q}")
            ancestors[f"2024-Q{q}"] = parents
    grid = list(itertools.product(states, ["F", "M"], ages, counterparts, leaf_periods))
    values = draw(st.lists(st.integers(0, 30), min_size=len(grid), max_size=len(grid)))
    cells: Counter[Key] = Counter()
    for (state, sex, age, counterpart, period), value in zip(grid, values, strict=True):
        for cell in itertools.product(
            [state, *([REGION] if region else [])],
            ["RETURNED"],
            [sex, TOTAL],
            [age, TOTAL],
            [counterpart, TOTAL],
            [period, *ancestors[period]],
        ):
            cells[cell] += value
    # Some cells may be missing from a real dataset; relations are formed from what is present.
    missing = draw(st.sets(st.sampled_from(sorted(cells)), max_size=3))
    return {cell: value for cell, value in cells.items() if cell not in missing}, draw(
        st.integers(2, 6)
    )


@settings(max_examples=200, deadline=None)
@given(datasets(), st.randoms(use_true_random=False))
def test_random_datasets_are_protected(
    dataset: tuple[dict[Key, int], int], rng: random.Random
) -> None:
    cells, threshold = dataset
    result = protect(cells, threshold)
    assert_protected(cells, threshold, result)
    # Deterministic: the same cells in another order give the same result.
    shuffled = list(cells.items())
    rng.shuffle(shuffled)
    assert protect(dict(shuffled), threshold) == result


# No consistency at all: totals that do not add up, parts without totals, and so on.
ARBITRARY_CELLS = st.dictionaries(
    st.tuples(
        st.sampled_from([*sorted(STATES), REGION]),
        st.sampled_from(["RETURNED", "EMPLOYED"]),
        st.sampled_from(["F", "M", TOTAL]),
        st.sampled_from(["Y0T4", "_U", TOTAL]),
        st.sampled_from(["SYR", "_O", TOTAL]),
        st.sampled_from(
            ["2023", "2023-Q4", "2023-12", "2024", "2024-Q1", "2024-Q2", "2024-02", "2024-05"]
        ),
    ),
    st.integers(0, 12),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(ARBITRARY_CELLS, st.integers(1, 6))
def test_arbitrary_cells_are_protected(cells: dict[Key, int], threshold: int) -> None:
    assert_protected(cells, threshold, protect(cells, threshold))


@settings(max_examples=200, deadline=None)
@given(ARBITRARY_CELLS, st.integers(1, 6))
def test_each_year_can_be_protected_on_its_own(cells: dict[Key, int], threshold: int) -> None:
    # The cube is rebuilt a year at a time: that must decide exactly what protecting it whole does.
    years: defaultdict[str, dict[Key, int]] = defaultdict(dict)
    for cell, value in cells.items():
        years[cell[5][:4]][cell] = value
    by_year = {cell: p for year in years.values() for cell, p in protect(year, threshold).items()}
    assert by_year == protect(cells, threshold)


@settings(max_examples=100, deadline=None)
@given(ARBITRARY_CELLS, st.integers(1, 6))
def test_statuses_are_protects_decisions_in_key_order(
    cells: dict[Key, int], threshold: int
) -> None:
    keys, values, conf = statuses(cells, threshold)
    protected = protect(cells, threshold)
    assert keys == sorted(cells)
    assert values == [cells[cell] for cell in keys]
    assert conf == [protected[cell].conf for cell in keys]
