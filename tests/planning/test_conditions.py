"""Conditions of inclusion as gates: each effect (exclude, postpone, weight, off) by hand."""

import pandas as pd
import pytest

from geo.core.errors import PolicyError
from geo.planning.conditions import apply_conditions, households_to_persuade
from tests.conftest import squares_in_a_row


def _estates(eligible_row, **kw):
    # three estates: A meets everything, B has illegal structures left, C is below 80 % consent
    estates = eligible_row(3, **kw)
    estates["illegal_structures_removed"] = pd.array([True, False, True], dtype="boolean")
    estates["consent_rate"] = pd.array([0.9, 0.9, 0.7], dtype="Float64")
    return estates


def test_postpone_keeps_the_estate_eligible_but_not_ready(eligible_row, policy):
    out = apply_conditions(_estates(eligible_row), policy)
    assert list(out["status"]) == ["eligible"] * 3
    assert list(out["ready"]) == [True, False, False]
    assert list(out["condition_illegal_structures"]) == ["met", "failed", "met"]
    assert list(out["condition_consent"]) == ["met", "met", "failed"]
    assert (
        "违建未拆除" in out["ready_reason_zh"].iloc[1] and "阳江" in out["ready_reason_zh"].iloc[1]
    )
    assert "consent below" in out["ready_reason_en"].iloc[2]
    assert out["ready_reason_en"].iloc[0] == ""


def test_exclude_makes_the_estate_excluded_with_the_reason(eligible_row, policy):
    yangjiang = policy.with_values({"conditions.illegal_structures": "exclude"})
    out = apply_conditions(_estates(eligible_row), yangjiang)
    assert list(out["status"]) == ["eligible", "excluded", "eligible"]
    assert out["reason_en"].iloc[1].startswith("excluded: illegal structures not removed")
    assert pd.isna(out["ready"].iloc[1])  # out of the programme: readiness does not apply


def test_weight_and_off_do_not_gate(eligible_row, policy):
    weighted = policy.with_values(
        {"conditions.illegal_structures": "weight", "conditions.consent": "off"}
    )
    out = apply_conditions(_estates(eligible_row), weighted)
    assert list(out["ready"]) == [True, True, True]
    assert out["condition_flags"].iloc[1] == "illegal_structures: failed"


def test_management_model_huaibei(eligible_row, policy):
    estates = eligible_row(3)
    estates["has_property_management"] = pd.array([False, False, True], dtype="boolean")
    estates["management_model_agreed"] = pd.array([False, pd.NA, pd.NA], dtype="boolean")
    out = apply_conditions(estates, policy)
    # A: model explicitly not agreed -> postponed (淮北 七(五)); B: no property management says
    # nothing about a model -> unknown, flagged, still ready; C: management in place -> met
    assert list(out["condition_management_model"]) == ["failed", "unknown", "met"]
    assert list(out["ready"]) == [False, True, True]
    assert "淮北" in out["ready_reason_zh"].iloc[0]
    assert out["condition_flags"].iloc[1] == "management_model: unknown"


def test_unknown_consent_is_not_ready(eligible_row, policy):
    estates = eligible_row(1)
    estates["consent_rate"] = pd.array([pd.NA], dtype="Float64")
    out = apply_conditions(estates, policy)
    assert not out["ready"].iloc[0]
    assert "unknown" in out["ready_reason_en"].iloc[0]


def test_ineligible_estates_are_not_gated(policy):
    from geo.planning.eligibility import assess_eligibility

    estates = assess_eligibility(squares_in_a_row(1, build_year_latest=2015), policy)
    estates["illegal_structures_removed"] = pd.array([False], dtype="boolean")
    out = apply_conditions(
        estates, policy.with_values({"conditions.illegal_structures": "exclude"})
    )
    assert out["status"].iloc[0] == "ineligible" and pd.isna(out["ready"].iloc[0])


def test_households_to_persuade(eligible_row, policy):
    estates = eligible_row(3)
    estates["households"] = pd.array([200, 999, 100], dtype="Int64")
    estates["consent_rate"] = pd.array([0.75, 0.5, pd.NA], dtype="Float64")
    short = households_to_persuade(estates, policy)
    # 0.8 x 200 - 0.75 x 200 = 10; 0.8 x 999 - 0.5 x 999 = 299.7 -> 300
    assert short.iloc[0] == 10 and short.iloc[1] == 300 and pd.isna(short.iloc[2])


def test_an_unknown_effect_is_a_policy_error(policy):
    with pytest.raises(PolicyError, match=r"conditions\.consent"):
        policy.with_values({"conditions.consent": "maybe"})
