"""Only estates in the programme carry an investment and a funding figure (issue 17).

Five 100 m squares in a row, 10 m apart (A-E), each 100 households needing 供水；排水 (1,800 +
2,500 yuan per household: 430,000 yuan):

- A eligible and ready, D eligible but postponed (consent 50 %): both in the programme, costed;
- B too new (ineligible), C already renovated (excluded), E build year unknown (needs_survey):
  no figure (<NA>, not 0), in the estate table, the GeoPackage, the funding total and the
  details panel of the app.
"""

from __future__ import annotations

import pandas as pd
import pyogrio

from geo.app.text import section, strings
from geo.app.views.fields import ESTATE_FIELDS, field_table
from geo.io.writers import write_layers
from geo.pipeline import PlanInputs, run_plan
from geo.planning.districts import estimate_investment
from geo.planning.eligibility import assess_eligibility
from geo.planning.funding import FUNDING_COLUMNS
from geo.planning.investment import CLASS_COLUMNS
from tests.conftest import squares_in_a_row

MONEY = ("investment_yuan", *CLASS_COLUMNS, "investment_utility_items_yuan", *FUNDING_COLUMNS)
ONE_ESTATE = 100 * (1800 + 2500)


def _layout():
    estates = squares_in_a_row(5, households=100)
    estates.loc[1, ["build_year", "build_year_latest"]] = 2015
    estates.loc[1, "build_year_raw"] = "2015"
    estates.loc[2, "already_renovated"] = True
    estates.loc[3, "consent_rate"] = 0.5
    estates.loc[4, ["build_year", "build_year_latest"]] = pd.NA
    estates.loc[4, "build_year_raw"] = pd.NA
    return estates


def test_only_the_programme_is_costed(policy):
    estates = assess_eligibility(_layout(), policy)
    assert list(estates["status"]) == [
        "eligible",
        "ineligible",
        "excluded",
        "eligible",
        "needs_survey",
    ]
    assert list(estates["ready"].astype(object).fillna("-")) == [True, "-", "-", False, "-"]
    cost = estimate_investment(estates, policy).set_axis(list("ABCDE"))
    assert cost.loc["A", "investment_yuan"] == cost.loc["D", "investment_yuan"] == ONE_ESTATE
    for column in MONEY:
        assert cost.loc[["B", "C", "E"], column].isna().all(), column
        assert cost.loc[["A", "D"], column].notna().all(), column
    assert cost.loc[["B", "C", "E"], "investment_estimated"].isna().all()
    assert cost.loc[["B", "C", "E"], "investment_method"].isna().all()
    # the funding of an estate in the programme still adds up to its investment
    assert cost.loc["A", list(FUNDING_COLUMNS)].sum() == ONE_ESTATE


def test_extension_estates_are_costed_only_when_the_policy_takes_them(policy):
    estates = squares_in_a_row(2, households=100)
    estates.loc[1, ["build_year", "build_year_latest"]] = 2003
    off = policy.with_values({"eligibility.extension_enabled": False})
    for p, costed, status in ((policy, True, "extension"), (off, False, "ineligible")):
        planned = assess_eligibility(estates, p)
        assert planned["status"].iloc[1] == status
        assert bool(estimate_investment(planned, p)["investment_yuan"].notna().iloc[1]) is costed


def test_no_figure_in_the_plan_layers_totals_or_details(policy, tmp_path):
    result = run_plan(PlanInputs(estates=_layout()), policy)
    estates = result.estates.set_index("estate_id")
    assert estates.loc[["B", "C", "E"], "investment_yuan"].isna().all()
    # B and C sit between A and D: A and D are standalone projects
    assert estates.loc[["A", "D"], "project_type"].tolist() == ["standalone", "standalone"]
    layers = result.layers()
    funding = layers["funding"]
    total = funding[funding["level"] == "total"]
    assert round(total["wan_yuan"].sum(), 2) == round(2 * ONE_ESTATE / 1e4, 2)
    assert set(funding.loc[funding["level"] == "estate", "id"]) == {"A", "D"}
    # the GeoPackage: NULL, not 0
    path = write_layers(tmp_path / "plan.gpkg", {"estates": layers["estates"]})
    written = pyogrio.read_dataframe(path, layer="estates").set_index("estate_id")
    for column in MONEY:
        assert written.loc[["B", "C", "E"], column].isna().all(), column
        assert (written.loc[["A", "D"], column] >= 0).all(), column
    # the app's details panel: a dash, no figure
    t = strings("en")
    labels = section("en", "fields")
    for estate_id, shown in (("B", False), ("A", True)):
        table = field_table(estates.loc[estate_id], ESTATE_FIELDS, t, "en")
        money = table[table[t["item"]].isin([labels["investment_wan"], labels["fund_city_wan"]])]
        assert len(money) == 2
        entries = money[t["entry"]]
        assert (entries != "—").all() if shown else (entries == "—").all()
