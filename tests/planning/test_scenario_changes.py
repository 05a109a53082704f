"""What changes between two scenarios: hand-checked kinds, renumbered districts, a real run."""

from __future__ import annotations

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from geo.core.policy import load_policy
from geo.pipeline import PlanInputs, run_plan
from geo.planning.scenario_changes import (
    change_counts,
    estate_state,
    match_districts,
    scenario_changes,
)
from tests.conftest import squares_in_a_row


def _frame(rows: list[tuple]) -> pd.DataFrame:
    out = pd.DataFrame(rows, columns=["estate_id", "status", "district_id", "ready"])
    out["name"] = "小区" + out["estate_id"]
    out["district_id"] = out["district_id"].astype("string")
    out["ready"] = out["ready"].astype("boolean")
    return out


A = _frame(
    [
        ("e1", "eligible", "D0001", True),  # stays, district renumbered D0001 -> D0002
        ("e2", "eligible", "D0001", True),
        ("e3", "needs_survey", None, None),  # -> eligible: added
        ("e4", "eligible", "D0002", True),  # -> ineligible: removed
        ("e5", "eligible", "D0002", True),  # -> other district: moved
        ("e6", "eligible", "D0002", True),
        ("e7", "eligible", "D0002", True),  # -> postponed: status
        ("e8", "needs_survey", None, None),  # -> ineligible: status
        ("e9", "excluded", None, None),  # unchanged
    ]
)
B = _frame(
    [
        ("e1", "eligible", "D0002", True),
        ("e2", "eligible", "D0002", True),
        ("e3", "eligible", "D0001", True),
        ("e4", "ineligible", None, None),
        ("e5", "eligible", "D0002", True),
        ("e6", "eligible", "D0001", True),
        ("e7", "eligible", "D0001", False),
        ("e8", "ineligible", None, None),
        ("e9", "excluded", None, None),
    ]
)


def test_each_kind_of_change_by_hand():
    changes = scenario_changes(A, B).set_index("estate_id")
    # B's D0001 = {e3, e6, e7}: two of them were A's D0002 -> it continues D0002;
    # B's D0002 = {e1, e2, e5}: two were A's D0001 -> it continues D0001 (renumbered only)
    assert match_districts(changes["district_a"], changes["district_b"]) == {
        "D0001": "D0002",
        "D0002": "D0001",
    }
    assert changes["change"].to_dict() == {
        "e1": "unchanged",
        "e2": "unchanged",
        "e3": "added",
        "e4": "removed",
        "e5": "moved",
        "e6": "unchanged",
        "e7": "status",
        "e8": "status",
        "e9": "unchanged",
    }
    assert changes.loc["e7", "state_b"] == "postponed"
    assert changes.loc["e5", "district_a"] == "D0002" and changes.loc["e5", "district_b"] == "D0002"
    assert change_counts(scenario_changes(A, B)) == {
        "added": 1,
        "removed": 1,
        "moved": 1,
        "status": 2,
        "unchanged": 4,
    }


def test_estate_state_reads_postponed_from_ready():
    assert list(estate_state(B)) == [
        "eligible",
        "eligible",
        "eligible",
        "ineligible",
        "eligible",
        "eligible",
        "postponed",
        "ineligible",
        "excluded",
    ]


def test_rows_keep_scenario_bs_index_and_order():
    b = B.iloc[::-1].set_axis(range(100, 109))
    changes = scenario_changes(A, b)
    assert list(changes.index) == list(b.index)
    assert changes.loc[106, "estate_id"] == "e3" and changes.loc[106, "change"] == "added"


@given(st.lists(st.integers(0, 3), min_size=1, max_size=30), st.permutations(range(4)))
def test_a_plan_with_its_districts_renumbered_has_no_change(groups, relabel):
    a = _frame(
        [
            (
                f"e{i}",
                "eligible" if g else "ineligible",
                f"D{g:04d}" if g else None,
                bool(g) or None,
            )
            for i, g in enumerate(groups)
        ]
    )
    b = a.copy()
    b["district_id"] = pd.array(
        [f"D{relabel[g]:04d}" if g else None for g in groups], dtype="string"
    )
    assert set(scenario_changes(a, b)["change"]) == {"unchanged"}


def test_extension_on_adds_the_2003_estate_and_joins_two_districts(policy):
    """A B C D E F in a row, built 1990 1990 2003 1990 1990 2010.

    A: no extension -> C too recent, districts {A, B} and {D, E}. B: extension (any share) ->
    C joins, one district {A..E}: C added, the district continuing {A, B} (ties by id) keeps
    them; D and E change district; F too recent in both.
    """
    estates = squares_in_a_row(6)
    for i, year in enumerate([1990, 1990, 2003, 1990, 1990, 2010]):
        estates.loc[i, ["build_year", "build_year_latest", "build_year_raw"]] = [
            year,
            year,
            str(year),
        ]
    inputs = PlanInputs(estates=estates)
    a = run_plan(inputs, policy.with_values({"eligibility.extension_enabled": False}))
    b = run_plan(inputs, load_policy().with_values({"eligibility.extension_max_share": 1.0}))
    changes = scenario_changes(a.estates, b.estates).set_index("estate_id")
    assert changes["change"].to_dict() == {
        "A": "unchanged",
        "B": "unchanged",
        "C": "added",
        "D": "moved",
        "E": "moved",
        "F": "unchanged",
    }
    assert (
        changes.loc["C", "state_a"] == "ineligible" and changes.loc["C", "state_b"] == "extension"
    )
