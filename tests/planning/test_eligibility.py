import pandas as pd
from shapely.geometry import box

from geo.planning.eligibility import STATUSES, assess_eligibility
from tests.conftest import make_estates


def _one(policy, **attrs):
    gdf = make_estates([{"estate_id": "X", "geometry": box(0, 0, 10, 10), **attrs}])
    return assess_eligibility(gdf, policy).iloc[0]


def test_cutoff_and_extension(policy):
    assert _one(policy, build_year_latest=2000)["status"] == "eligible"
    assert _one(policy, build_year_latest=2001)["status"] == "extension"
    assert _one(policy, build_year_latest=2005)["status"] == "extension"
    assert _one(policy, build_year_latest=2006)["status"] == "ineligible"


def test_two_phases_use_the_latest_year(policy):
    row = _one(policy, build_year=1995, build_year_latest=2003, build_year_raw="1995、2003")
    assert row["status"] == "extension"
    assert "1995、2003" in row["reason_zh"]


def test_unknown_year_needs_survey(policy):
    row = _one(policy, build_year=pd.NA, build_year_latest=pd.NA, build_year_raw="")
    assert row["status"] == "needs_survey"
    assert "调查" in row["reason_zh"] and "survey" in row["reason_en"]


def test_exclusions_win_over_age(policy):
    for flag in ("already_renovated", "shantytown_plan", "urban_village"):
        row = _one(policy, **{flag: True})
        assert row["status"] == "excluded", flag
        assert row["reason_zh"].startswith("排除")


def test_extension_disabled(policy):
    strict = policy.with_values({"eligibility.extension_enabled": False})
    assert _one(strict, build_year_latest=2003)["status"] == "ineligible"


def test_consent_is_reported_not_a_status(policy):
    low = _one(policy, consent_rate=0.7)
    assert low["status"] == "eligible" and not low["consent_ok"]
    assert _one(policy, consent_rate=0.8)["consent_ok"]
    assert pd.isna(_one(policy, consent_rate=pd.NA)["consent_ok"])


def test_only_known_codes(policy, eligible_row):
    out = eligible_row(4)
    assert set(out["status"]) <= set(STATUSES)
