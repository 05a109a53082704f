import networkx as nx
import pandas as pd
import pytest

from geo.planning.priority import COMPONENTS, score_districts, score_estates
from tests.conftest import squares_in_a_row


def test_components_by_hand(eligible_row, policy):
    estates = eligible_row(
        1,
        build_year_latest=1990,
        needs="供水；排水；供气；供电；道路",
        consent_rate=0.9,
        elderly_share=0.2,
        households=2000,
        illegal_structures_removed=True,
        has_property_management=False,
    )
    out = score_estates(estates, nx.Graph(), policy).iloc[0]
    assert out["priority_age"] == pytest.approx(0.5)  # (2005-1990)/(2005-1975)
    assert out["priority_needs"] == pytest.approx(0.6)  # 5 items + no property management, of 10
    assert out["priority_consent"] == pytest.approx(0.9)
    assert out["priority_elderly"] == pytest.approx(0.5)  # 0.2 / 0.4
    assert out["priority_size"] == pytest.approx(1.0)
    assert out["priority_contiguity"] == pytest.approx(0.0)
    # illegal structures removed (1); no management model recorded: readiness is that alone
    assert out["priority_readiness"] == pytest.approx(1.0)
    expected = (
        100 * (0.25 * 0.5 + 0.15 * 0.6 + 0.2 * 0.9 + 0.1 * 0.5 + 0.1 * 1 + 0 + 0.1 * 1.0) / 1.0
    )
    assert out["priority_score"] == pytest.approx(expected, abs=0.1)


def test_unknown_values_never_raise_priority(eligible_row, policy):
    base = eligible_row(1)
    unknown = base.copy()
    unknown["consent_rate"] = pd.array([pd.NA], dtype="Float64")
    a = score_estates(base, nx.Graph(), policy)["priority_score"].iloc[0]
    b = score_estates(unknown, nx.Graph(), policy)["priority_score"].iloc[0]
    assert b < a


def test_all_components_are_columns(eligible_row, policy):
    out = score_estates(eligible_row(2), nx.Graph([("A", "B")]), policy)
    assert [c for c in out.columns if c != "priority_score"] == [
        f"priority_{c}" for c in COMPONENTS
    ]
    assert out["priority_contiguity"].tolist() == pytest.approx([1 / 3, 1 / 3], abs=1e-3)


def test_district_score_is_household_weighted():
    estates = squares_in_a_row(2)
    estates["households"] = pd.array([100, 300], dtype="Int64")
    estates["priority_score"] = [40.0, 80.0]
    districts = pd.DataFrame({"members": ["A,B"]})
    out = score_districts(districts, estates)
    assert out["priority_score"].iloc[0] == pytest.approx(70.0)
    assert out["priority_rank"].iloc[0] == 1


def test_existing_property_management_is_not_rewarded(eligible_row, policy):
    """Yangjiang §三(一): incomplete management qualifies an estate; readiness must not reward
    management already in place (it did), and the missing management counts as a need."""
    with_pm = eligible_row(1, has_property_management=True, needs="供水")
    without = eligible_row(1, has_property_management=False, needs="供水")
    a = score_estates(with_pm, nx.Graph(), policy).iloc[0]
    b = score_estates(without, nx.Graph(), policy).iloc[0]
    assert a["priority_readiness"] == b["priority_readiness"]
    assert b["priority_needs"] == pytest.approx(a["priority_needs"] + 0.1)
    assert b["priority_score"] > a["priority_score"]
    agreed = with_pm.assign(management_model_agreed=pd.array([False], dtype="boolean"))
    assert score_estates(agreed, nx.Graph(), policy).iloc[0]["priority_readiness"] == 0.5
