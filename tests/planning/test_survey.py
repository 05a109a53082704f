"""The survey join by id and name, the aggregation of phases, and the run's survey outputs."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import box

from geo.cli.summary import survey_lines
from geo.core.errors import PolicyError
from geo.core.policy import Survey
from geo.pipeline import PlanInputs, run_plan
from geo.planning.survey import _match_ids, aggregate_rows, join_survey
from tests.conftest import GK, make_estates


def survey_rows(**columns) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    frame = pd.DataFrame(columns)
    frame["estate_id"] = pd.array(columns.get("estate_id", [pd.NA] * n), dtype="string")
    frame["survey_row"] = range(2, n + 2)
    return frame


def test_aggregate_rows_of_phases():
    rows = pd.DataFrame(
        {
            "name": ["甲一期", "甲二期", "甲二期"],  # the second 甲二期 is the same listing again
            "build_year_raw": ["1990", "1998", "1998"],
            "build_year": pd.array([1990, 1998, 1998], dtype="Int64"),
            "build_year_latest": pd.array([1990, 1998, 1998], dtype="Int64"),
            "households": pd.array([100, 300, 300], dtype="Int64"),
            "buildings": pd.array([2, pd.NA, pd.NA], dtype="Int64"),
            "consent_rate": pd.array([0.6, 1.0, 1.0], dtype="Float64"),
            "has_property_management": pd.array([True, False, False], dtype="boolean"),
            "urban_village": pd.array([False, False, False], dtype="boolean"),
            "needs": ["供水；排水", "排水；燃气", "排水；燃气"],
        }
    )
    values = aggregate_rows(rows)
    assert values["households"] == 400
    assert values["buildings"] == 2
    assert (values["build_year"], values["build_year_latest"]) == (1990, 1998)
    assert values["build_year_raw"] == "1990、1998"
    assert values["consent_rate"] == pytest.approx((0.6 * 100 + 1.0 * 300) / 400)
    assert values["has_property_management"] is pd.NA  # phases disagree: unknown
    assert values["urban_village"] is not pd.NA and not values["urban_village"]  # all agree
    assert values["needs"] == "供水；排水；燃气"


def test_an_empty_survey_cell_does_not_erase_the_footprint_value():
    estates = make_estates(
        [{"estate_id": "1", "name": "文晖苑", "households": 250, "geometry": box(0, 0, 100, 100)}]
    )
    survey = survey_rows(
        name=["文晖苑"],
        households=pd.array([pd.NA], dtype="Int64"),
        build_year=pd.array([1992], dtype="Int64"),
        build_year_latest=pd.array([1992], dtype="Int64"),
    )
    out, report = join_survey(estates, survey)
    assert out.iloc[0]["households"] == 250
    assert out.iloc[0]["build_year_latest"] == 1992
    assert out.iloc[0]["survey_match"] == "matched_name"
    assert report.counts()["matched_name"] == 1


def test_a_county_the_estates_do_not_know_is_reported_and_not_crossed():
    estates = make_estates(
        [
            {"estate_id": "1", "name": "文晖苑", "county": "拱墅区", "geometry": box(0, 0, 9, 9)},
            {"estate_id": "2", "name": "朝晖一区", "county": pd.NA, "geometry": box(20, 0, 29, 9)},
        ]
    )
    survey = survey_rows(name=["文晖苑", "朝晖一区"], county=["下城", "下城"])
    out, report = join_survey(estates, survey)
    assert report.counties_not_known == {"下城": 2}
    assert list(report.table["match"]) == ["unmatched", "matched_name"]
    assert out.loc[out["estate_id"] == "2", "county"].iloc[0] == "下城"


def test_a_former_county_joins_its_successors_only():
    """Policy [survey] former_counties: 下城 merged into 拱墅区; 江干 split into 上城区 and 钱塘区."""
    estates = make_estates(
        [
            {"estate_id": "1", "name": "文晖苑", "county": "拱墅区", "geometry": box(0, 0, 9, 9)},
            {
                "estate_id": "2",
                "name": "景芳三区",
                "county": "上城区",
                "geometry": box(20, 0, 29, 9),
            },
            {
                "estate_id": "3",
                "name": "景芳三区",
                "county": "西湖区",
                "geometry": box(40, 0, 49, 9),
            },
            {"estate_id": "4", "name": "金沙湖", "county": "钱塘区", "geometry": box(60, 0, 69, 9)},
        ]
    )
    survey = survey_rows(name=["文晖苑", "景芳三区", "金沙湖"], county=["下城", "江干", "江干区"])
    settings = Survey(former_counties=("下城 = 拱墅区", "江干区 = 上城区 | 钱塘区"))
    out, report = join_survey(estates, survey, settings)
    assert report.counties_not_known == {}
    table = report.table
    assert list(table["match"]) == ["matched_name", "matched_name", "matched_name"]
    # 景芳三区 of 西湖区 (estate 3) is another county's: not a candidate, not ambiguous
    assert list(table["estate_id"]) == ["1", "2", "4"]
    assert list(table["survey_county"]) == ["拱墅区", "江干", "江干区"]
    assert list(out["county"]) == ["拱墅区", "上城区", "西湖区", "钱塘区"]
    # without the entries the same rows are reported and cross no county
    _, plain = join_survey(estates, survey)
    assert plain.counties_not_known == {"下城": 1, "江干": 1, "江干区": 1}
    assert list(plain.table["match"]) == ["unmatched", "unmatched", "unmatched"]


def test_a_malformed_former_county_is_a_policy_error():
    with pytest.raises(PolicyError, match="former_counties"):
        Survey(former_counties=("江干 上城区",)).successors()


def test_the_run_writes_the_survey_join_layer_and_the_summary_lines(policy):
    estates = make_estates(
        [
            {
                "estate_id": str(i),
                "name": f"测试{i}号",
                "build_year_raw": None,
                "build_year": pd.NA,
                "build_year_latest": pd.NA,
                "geometry": box(i * 110, 0, i * 110 + 100, 100),
            }
            for i in range(3)
        ]
    )
    survey = gpd.GeoDataFrame(
        survey_rows(
            name=["测试0号", "测试1号", "别处"],
            build_year_raw=["1990", "1995", "1980"],
            build_year=pd.array([1990, 1995, 1980], dtype="Int64"),
            build_year_latest=pd.array([1990, 1995, 1980], dtype="Int64"),
        ),
        geometry=gpd.points_from_xy([50, 160, 5000], [50, 50, 5000]),
        crs=GK,
    )
    result = run_plan(PlanInputs(estates=estates, survey=survey), policy)
    table = result.layers()["survey_join"]
    assert list(table["match"]) == ["matched_location_name", "matched_location_name", "unmatched"]
    assert table.crs == result.crs
    lines = survey_lines(result)
    assert lines[0].startswith("survey rows: 3 (matched_location_name 2, unmatched 1")
    assert "build year from the survey: 2 of 3" in lines[1]
    assert lines[1].endswith("still needs_survey: 1")


def _estates_in_a_row(*ids_and_names: tuple[str, str]):
    """Estates of 100 m squares 100 m apart along x, with the given ids and names."""
    return make_estates(
        [
            {"estate_id": i, "name": n, "geometry": box(200 * k, 0, 200 * k + 100, 100)}
            for k, (i, n) in enumerate(ids_and_names)
        ]
    )


def test_a_survey_id_whose_name_is_another_estates_is_reported():
    estates = _estates_in_a_row(("1", "朝晖一区"), ("2", "潮鸣苑"), ("3", ""))
    survey = survey_rows(
        estate_id=["1", "2", "3"],
        name=["潮鸣苑", "潮鸣苑小区", "朝晖一区"],  # row 2: id 1 but 潮鸣苑's name
        households=pd.array([100, 200, 300], dtype="Int64"),
    )
    out, report = join_survey(estates, survey)
    assert report.matched_by_id == 3  # the id still decides the join
    assert out["households"].tolist() == [100, 200, 300]
    assert report.id_name_conflicts == {2: ("1", "朝晖一区", ["2"]), 4: ("3", "", ["1"])}


def test_an_id_written_as_a_decimal_names_the_estate_of_its_whole_number():
    """``4477360.0`` (a spreadsheet's id column with gaps) joins estate 4477360, with a note."""
    estates = _estates_in_a_row(("4477360", "流水西苑"), ("12.0", "朝晖一区"), ("7", "潮鸣苑"))
    survey = survey_rows(
        estate_id=["4477360.0", "12.0", "7.0", "7", "8.0"],
        name=["", "", "", "", ""],
        households=pd.array([100, 200, 300, 400, 500], dtype="Int64"),
    )
    out, report = join_survey(estates, survey)
    assert out["households"].tolist() == [100, 200, 400]  # 12.0 as written; 7 exact before 7.0
    assert report.matched_by_id == 3
    table = report.table.set_index("survey_row")
    assert (
        table.loc[2, "match"] == "matched_id"
        and table.loc[2, "note"] == "id 4477360.0 read as 4477360"
    )
    assert table.loc[3, "match"] == "matched_id" and pd.isna(table.loc[3, "note"])
    assert table.loc[4, "match"] != "matched_id"  # estate 7 is row 5's, whose id is exact
    assert table.loc[6, "match"] != "matched_id"  # no estate 8


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["西湖", "西湖区", " 西湖区 ", "下城", "江干", "江干区", "某县", "", " ", None]
        ),
        max_size=30,
    ),
    st.sampled_from(["string", "str"]),
)
def test_row_counties_of_a_text_column_as_row_by_row(cells, dtype) -> None:
    from geo.planning.survey import SurveyJoin, _row_counties

    estate_counties = pd.Series(["西湖区", "上城区", "拱墅区", "钱塘区", ""])
    successors = Survey().successors()
    fast, plain = SurveyJoin(), SurveyJoin()
    got = _row_counties(
        pd.DataFrame({"county": pd.Series(cells, dtype=dtype)}), estate_counties, fast, successors
    )
    expected = _row_counties(
        pd.DataFrame({"county": pd.Series(cells, dtype=object)}), estate_counties, plain, successors
    )
    assert got == expected
    assert list(fast.counties_not_known.items()) == list(plain.counties_not_known.items())


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.sampled_from(["7", "8", "9", "10", "x", "7.0", "", None]), max_size=30),
    st.lists(st.sampled_from(["7", "8", "9", "10", "11"]), min_size=1, max_size=5, unique=True),
)
def test_rows_joined_by_id_are_the_first_of_each_estate(cells, ids) -> None:
    # a text id column looked up at once: each estate's first row naming it, in row order; a
    # missing or unknown id names none (the decimal 7.0 names estate 7 if no row names it)
    estates = pd.DataFrame({"estate_id": ids})
    survey = pd.DataFrame({"estate_id": pd.array(cells, dtype="string")})
    matches = _match_ids(estates, survey)
    expected, taken = {}, set()
    for row, cell in enumerate(cells):
        if cell in ids and cell not in taken:
            expected[row] = ids.index(cell)
            taken.add(cell)
    if "7.0" in cells and "7" in ids and "7" not in taken:
        expected[cells.index("7.0")] = ids.index("7")
    assert {row: m.estate for row, m in matches.items()} == expected
    assert all(m.status == "matched_id" for m in matches.values())
