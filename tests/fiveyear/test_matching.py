"""Five-year plan: import, matching, overlay, checks, schedule, official tables."""

from __future__ import annotations

import datetime

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import box

from geo import io
from geo.cli import main
from geo.core.errors import InputError, QualityReport
from geo.core.policy import load_policy
from geo.fiveyear.checks import check_plan, milestones
from geo.fiveyear.matching import match_plan
from geo.fiveyear.overlay import plan_overlay, plan_year_totals, resolved_rows
from geo.fiveyear.plan_table import parse_plan_table
from geo.fiveyear.schedule import propose_schedule
from geo.fiveyear.tables import annual_plan_table, county_totals, parse_task_table, task_table
from geo.fiveyear.yearly import compare_with_plan
from geo.pipeline import read_plan_overrides, read_plan_table
from geo.planning.eligibility import assess_eligibility
from tests.conftest import make_estates, shared_file

RUICHENG = "seed_tables/ruicheng_five_year_plan_2021_2025.tsv"
XINYANG = "seed_tables/xinyang_2022_task_table.tsv"


def plan(rows: list[dict], **kw) -> pd.DataFrame:
    table = pd.DataFrame(rows).astype(str).replace("None", "")
    return parse_plan_table(table, source="plan.csv", quality=kw.get("quality", QualityReport()))


def estates(rows: list[dict], policy) -> pd.DataFrame:
    full = [{"geometry": box(i * 200, 0, i * 200 + 100, 100), **r} for i, r in enumerate(rows)]
    return assess_eligibility(make_estates(full), policy)


# --------------------------------------------------------------------------- import


@pytest.mark.realdata
def test_ruicheng_counts_per_year_from_its_30_rows():
    q = QualityReport()
    rows = read_plan_table(shared_file(RUICHENG), quality=q)
    assert len(rows) == 30
    assert rows.groupby("plan_year").size().to_dict() == {
        2021: 2,
        2022: 7,
        2023: 6,
        2024: 7,
        2025: 8,
    }
    two_phases = rows.loc[rows["name"] == "工商银行住宅楼"].iloc[0]
    assert (two_phases["build_year"], two_phases["build_year_latest"]) == (1995, 1997)
    assert rows["floor_area_m2"].iloc[0] == pytest.approx(4541.27)


@pytest.mark.realdata
def test_ruicheng_alone_no_map_gives_totals_and_unmatched_rows(policy):
    rows = read_plan_table(shared_file(RUICHENG), quality=QualityReport())
    overlay = plan_overlay(rows, pd.DataFrame(columns=["estate_id", "name"]), policy)
    assert overlay.match_counts() == {"matched": 0, "ambiguous": 0, "unmatched": 30}
    totals = overlay.totals.set_index("plan_year")
    assert totals["estates"].tolist() == [2, 7, 6, 7, 8]
    assert int(totals["households"].sum()) == 863
    matching = overlay.checks.loc[overlay.checks["check"] == "matching"]
    assert matching["value"].astype(int).tolist() == [2, 7, 6, 7, 8]


@pytest.mark.realdata
def test_xinyang_total_row_rebuilt_from_its_11_rows():
    q = QualityReport()
    counties, stated = parse_task_table(
        io.read_table(shared_file(XINYANG)), source="xinyang", quality=q
    )
    assert len(counties) == 11
    table = task_table(counties)
    total = table.iloc[-1]
    assert total["序号"] == "合计"
    assert total["涉及小区数(个)"] == 207
    assert total["涉及户数(户)"] == 29255
    assert total["涉及建筑面积(万平方米)"] == pytest.approx(328.7)
    assert total["预计投资额(万元)"] == pytest.approx(79707.17)
    assert stated["investment_yuan"] == pytest.approx(797_071_700)
    assert len(q) == 0  # the published total agrees with its rows
    assert list(table.columns) == [
        "序号",
        "县(区)",
        "涉及小区数(个)",
        "涉及户数(户)",
        "涉及建筑面积(万平方米)",
        "预计投资额(万元)",
    ]


def test_task_table_total_mismatch_is_reported():
    table = pd.DataFrame(
        {
            "县(区)": ["甲县", "乙区", ""],
            "涉及小区数(个)": ["2", "3", "6"],
            "涉及户数(户)": ["100", "200", "300"],
            "序号": ["1", "2", "合计"],
        }
    )
    q = QualityReport()
    counties, stated = parse_task_table(table, source="t", quality=q)
    assert counties["estates"].tolist() == [2, 3]
    assert stated["estates"] == 6
    assert any("differs" in i.message for i in q.issues)


def test_header_variants_units_merged_year_and_total_row():
    q = QualityReport()
    rows = plan(
        [
            {"Year": "2022年", "Name": "甲小区", "面积(万平方米)": "1.5", "Households": "120"},
            {"Year": "", "Name": "乙小区", "面积(万平方米)": "0.25", "Households": "30"},
            {"Year": "合计", "Name": "", "面积(万平方米)": "1.75", "Households": "150"},
        ],
        quality=q,
    )
    assert rows["plan_year"].tolist() == [2022, 2022]
    assert rows["floor_area_m2"].tolist() == [15000.0, 2500.0]
    assert rows["plan_row"].tolist() == [2, 3]
    messages = " ".join(i.message for i in q.issues)
    assert "merged cell" in messages and "total row" in messages


def test_missing_year_column_is_an_input_error():
    with pytest.raises(InputError, match="no 年份"):
        plan([{"小区名称": "甲小区", "户数": "10"}])


def test_unreadable_year_names_the_row():
    with pytest.raises(InputError, match="row 3"):
        plan([{"年份": "2022", "小区名称": "甲"}, {"年份": "明年", "小区名称": "乙"}])


# --------------------------------------------------------------------------- matching


@pytest.fixture
def town(policy):
    return estates(
        [
            {"estate_id": "A", "name": "朝晖六小区", "county": "拱墅区", "households": 300},
            {"estate_id": "B", "name": "翠苑一区", "county": "西湖区", "households": 500},
            {"estate_id": "C", "name": "翠苑一区", "county": "拱墅区", "households": 480},
            {"estate_id": "D", "name": "锦园", "county": "上城区", "households": 200},
            {"estate_id": "E", "name": "锦园", "county": "上城区", "households": 210},
            {"estate_id": "F", "name": "和平新村", "county": "上城区", "households": 100},
        ],
        policy,
    )


def test_every_row_ends_matched_ambiguous_or_unmatched(town):
    rows = plan(
        [
            {"年份": "2022", "小区名称": "朝晖6住宅区", "位置": "拱墅区", "户数": "300"},
            {"年份": "2022", "小区名称": "翠苑一区", "位置": "西湖区", "户数": "500"},
            {"年份": "2023", "小区名称": "锦园", "位置": "上城区", "户数": "205"},
            {"年份": "2023", "小区名称": "星河湾", "位置": "上城区", "户数": "90"},
            {"年份": "2024", "小区名称": "和平新村", "位置": "上城区", "户数": "900"},
        ]
    )
    m = match_plan(rows, town)
    assert m["match_status"].tolist() == [
        "matched",  # suffix and numeral spelled differently
        "matched",  # same name in two counties: the location decides
        "ambiguous",  # two estates of that name in the county, households fit both
        "unmatched",  # no similar name
        "ambiguous",  # the name fits but the households conflict (900 vs 100)
    ]
    assert m["matched_estate_id"].iloc[0] == "A"
    assert m["matched_estate_id"].iloc[1] == "B"
    assert "D 锦园" in m["candidates"].iloc[2] and "E 锦园" in m["candidates"].iloc[2]
    assert "conflict" in m["match_note"].iloc[4]


def test_id_column_matches_exactly(town):
    rows = plan([{"年份": "2022", "编号": "F", "小区名称": "另一个名字"}])
    m = match_plan(rows, town)
    assert (m["match_status"].iloc[0], m["matched_estate_id"].iloc[0]) == ("matched", "F")
    assert m["match_method"].iloc[0] == "id"


def test_an_id_written_as_a_decimal_matches_its_whole_number(policy):
    town = estates([{"estate_id": "4477360", "name": "流水西苑", "households": 300}], policy)
    rows = plan([{"年份": "2022", "编号": "4477360.0", "小区名称": "另一个名字"}])
    m = match_plan(rows, town)
    assert (m["match_status"].iloc[0], m["matched_estate_id"].iloc[0]) == ("matched", "4477360")
    assert m["match_method"].iloc[0] == "id"
    assert rows["estate_id"].iloc[0] == "4477360"  # read as its whole number


def test_two_rows_one_estate_are_not_both_matched(town):
    rows = plan(
        [
            {"年份": "2022", "小区名称": "和平新村", "户数": "100"},
            {"年份": "2023", "小区名称": "和平新村小区", "户数": "100"},
        ]
    )
    m = match_plan(rows, town)
    assert (m["match_status"] == "matched").sum() == 0
    assert "also the best match" in m["match_note"].iloc[0]


def test_review_csv_overrides_are_read_back(town, tmp_path):
    from geo.fiveyear.matching import review_table

    rows = plan(
        [
            {"年份": "2023", "小区名称": "锦园", "位置": "上城区", "户数": "205"},
            {"年份": "2022", "小区名称": "朝晖六小区", "位置": "拱墅区", "户数": "300"},
        ]
    )
    review = review_table(match_plan(rows, town))
    review.loc[0, "estate_id"] = "E"  # the planner picks a candidate
    review.loc[1, "estate_id"] = "-"  # and rejects a match
    path = io.write_csv(tmp_path / "review.csv", review)
    m = match_plan(rows, town, overrides=read_plan_overrides(path))
    assert m["match_status"].tolist() == ["matched", "unmatched"]
    assert m["matched_estate_id"].iloc[0] == "E"
    assert m["match_method"].tolist() == ["override", "override"]
    review.loc[0, "estate_id"] = "nope"
    io.write_csv(path, review)
    with pytest.raises(InputError, match="nope"):
        match_plan(rows, town, overrides=read_plan_overrides(path))


# --------------------------------------------------------------------------- checks


def _year_rows(policy, n_old: int, extension_households: int, consent=0.9):
    """One plan year: n_old estates of 1990 (100 households each) and one of 2003."""
    specs = [
        {"estate_id": f"O{i}", "name": f"旧{i}号院", "households": 100, "consent_rate": consent}
        for i in range(n_old)
    ]
    specs.append(
        {
            "estate_id": "X",
            "name": "新苑",
            "households": extension_households,
            "build_year": 2003,
            "build_year_latest": 2003,
            "build_year_raw": "2003",
            "consent_rate": pd.NA,
        }
    )
    town = estates(specs, policy)
    rows = plan(
        [
            {
                "年份": "2022",
                "编号": s["estate_id"],
                "小区名称": s["name"],
                "户数": str(s["households"]),
            }
            for s in specs
        ]
    )
    return town, resolved_rows(match_plan(rows, town), town, policy)


def test_extension_share_by_estates_and_by_households(policy):
    # 1 of 7 estates (14.3%) built 2001-2005, but 200 of 800 households (25%)
    _, rows = _year_rows(policy, 6, 200)
    checks = check_plan(rows, policy)
    ext = checks.loc[checks["check"] == "extension_share"]
    assert ext["status"].tolist() == ["ok", "violation"]
    assert ext["value"].astype(float).tolist() == pytest.approx([1 / 7, 0.25], abs=1e-4)
    assert "新苑" in ext["estates"].iloc[1]


def test_consent_and_exclusion_checks(policy):
    _, rows = _year_rows(policy, 6, 50, consent=0.75)
    checks = check_plan(rows, policy).set_index(["check", "status"])
    assert checks.loc[("consent", "violation"), "value"] == "6"
    assert checks.loc[("consent", "warning"), "value"] == "1"  # 新苑: consent not surveyed
    assert checks.loc[("eligibility", "ok"), "value"] == "0"


def test_excluded_and_too_new_estates_are_violations(policy):
    town = estates(
        [
            {"estate_id": "A", "name": "甲", "already_renovated": True},
            {
                "estate_id": "B",
                "name": "乙",
                "build_year": 2010,
                "build_year_latest": 2010,
                "build_year_raw": "2010",
            },
            {"estate_id": "C", "name": "丙"},
        ],
        policy,
    )
    rows = plan([{"年份": "2023", "编号": e, "小区名称": e} for e in "ABC"])
    checks = check_plan(resolved_rows(match_plan(rows, town), town, policy), policy)
    elig = checks.loc[checks["check"] == "eligibility"].iloc[0]
    assert elig["status"] == "violation" and elig["value"] == "2"
    assert "built after 2005" in elig["detail"] and "excluded" in elig["detail"]


def test_district_split_across_years_is_flagged(policy):
    town = estates(
        [
            {"estate_id": "A", "name": "甲", "district_id": "D1"},
            {"estate_id": "B", "name": "乙", "district_id": "D1"},
            {"estate_id": "C", "name": "丙", "district_id": "D2"},
            {"estate_id": "D", "name": "丁", "district_id": "D2"},
        ],
        policy,
    )
    rows = plan(
        [
            {"年份": "2022", "编号": "A", "小区名称": "甲"},
            {"年份": "2024", "编号": "B", "小区名称": "乙"},
            {"年份": "2023", "编号": "C", "小区名称": "丙"},
            {"年份": "2023", "编号": "D", "小区名称": "丁"},
        ]
    )
    checks = check_plan(resolved_rows(match_plan(rows, town), town, policy), policy, estates=town)
    split = checks.loc[checks["check"] == "district_split"]
    assert split["value"].tolist() == ["D1"]
    assert split["plan_year"].tolist() == [2022]
    assert "2022: 1, 2024: 1" in split["detail"].iloc[0]


def test_ruicheng_milestones():
    days = milestones(2024)
    assert [d for d, _, _ in days] == [
        datetime.date(2024, 1, 31),
        datetime.date(2024, 2, 29),
        datetime.date(2024, 3, 31),
        datetime.date(2024, 5, 31),
        datetime.date(2024, 10, 31),
        datetime.date(2024, 11, 30),
    ]
    assert days[3][1] == "全部开工"


def test_year_totals_count_unmatched_rows(policy):
    rows = plan(
        [
            {"年份": "2022", "小区名称": "甲", "户数": "10", "面积m²": "1000"},
            {"年份": "2022", "小区名称": "乙", "户数": "20", "面积m²": "3000"},
            {"年份": "2023", "小区名称": "丙", "户数": "", "面积m²": ""},
        ]
    )
    totals = plan_year_totals(resolved_rows(rows, None, policy)).set_index("plan_year")
    assert totals.loc[2022, "households"] == 30
    assert totals.loc[2022, "investment_yuan"] == pytest.approx(4000 * 242)
    assert totals.loc[2023, "households_unknown_rows"] == 1


# --------------------------------------------------------------------------- schedule


def _ready(policy, specs):
    town = estates(specs, policy)
    town["priority_score"] = [s.get("priority", 50.0) for s in specs]
    town["investment_yuan"] = town["households"].astype(float) * 1000
    if "district_id" not in town:
        town["district_id"] = pd.NA
    return town


def test_schedule_by_priority_under_a_household_cap(policy):
    p = policy.with_values({"schedule.first_year": 2021, "schedule.last_year": 2023})
    town = _ready(
        p,
        [
            {"estate_id": "A", "households": 600, "priority": 90, "district_id": "D1"},
            {"estate_id": "B", "households": 300, "priority": 90, "district_id": "D1"},
            {"estate_id": "C", "households": 500, "priority": 80},
            {"estate_id": "D", "households": 100, "priority": 70},
            {"estate_id": "E", "households": 900, "priority": 60},
            {"estate_id": "F", "households": 2000, "priority": 99},
        ],
    )
    s = propose_schedule(town, p, households_per_year=1000, solver="greedy")
    year = dict(zip(s.estates["estate_id"], s.estates["proposed_year"], strict=True))
    # D1 (900) first in 2021; C (500) fits 2022; D (100) fits 2021; E (900) goes to 2023
    assert (year["A"], year["B"], year["C"], year["D"], year["E"]) == (2021, 2021, 2022, 2021, 2023)
    assert pd.isna(year["F"])  # larger than one year's cap
    assert (
        "more than one year's cap" in s.estates.set_index("estate_id").loc["F", "schedule_reason"]
    )
    assert "2021: households cap" in s.estates.set_index("estate_id").loc["C", "schedule_reason"]
    assert s.years["households"].tolist() == [1000, 500, 900]


def test_schedule_keeps_consent_and_15_percent_rule(policy):
    p = policy.with_values({"schedule.first_year": 2021, "schedule.last_year": 2022})
    specs = [
        {
            "estate_id": "X",
            "households": 10,
            "priority": 99,
            "build_year": 2004,
            "build_year_latest": 2004,
            "build_year_raw": "2004",
        }
    ]
    specs += [{"estate_id": f"O{i}", "households": 100, "priority": 50} for i in range(6)]
    specs.append({"estate_id": "L", "households": 100, "priority": 90, "consent_rate": 0.6})
    town = _ready(p, specs)
    s = propose_schedule(town, p, households_per_year=400)
    year = dict(zip(s.estates["estate_id"], s.estates["proposed_year"], strict=True))
    # X (2001-2005) is first by priority but 1 estate of 1 is 100 %: it waits until its year has
    # 6 other estates; with 4 a year it fits nowhere by estates (1 of 5 = 20 %)
    assert (
        pd.isna(year["X"])
        and "15% rule" in s.estates.set_index("estate_id").loc["X", "schedule_reason"]
    )
    assert pd.isna(year["L"])
    assert "consent 60.0% below 80%" in s.estates.set_index("estate_id").loc["L", "schedule_reason"]
    assert s.years["estates"].tolist() == [3, 3]  # balanced by households (the MILP)


def test_compare_with_plan_says_what_moves(policy):
    p = policy.with_values({"schedule.first_year": 2021, "schedule.last_year": 2022})
    town = _ready(
        p,
        [
            {"estate_id": "A", "households": 100, "priority": 90},
            {"estate_id": "B", "households": 100, "priority": 80},
            {"estate_id": "C", "households": 100, "priority": 70, "consent_rate": 0.5},
        ],
    )
    s = propose_schedule(town, p, households_per_year=100)
    cmp = compare_with_plan(s, pd.Series({"A": 2022, "C": 2021})).set_index("estate_id")
    assert cmp.loc["A", "change"] == "earlier"
    assert cmp.loc["B", "change"] == "added"
    assert cmp.loc["C", "change"] == "dropped" and "consent" in cmp.loc["C", "reason"]


@st.composite
def _towns(draw):
    n = draw(st.integers(1, 25))
    specs = []
    for i in range(n):
        ext = draw(st.booleans())
        year = 2003 if ext else 1990
        specs.append(
            {
                "estate_id": f"E{i}",
                "households": draw(st.integers(0, 400)),
                "priority": draw(st.floats(0, 100)),
                "district_id": draw(st.sampled_from([pd.NA, "D1", "D2", "D3"])),
                "build_year": year,
                "build_year_latest": year,
                "build_year_raw": str(year),
                "consent_rate": draw(st.sampled_from([0.5, 0.85, 0.95])),
            }
        )
    return specs, draw(st.integers(1, 1500)), draw(st.integers(0, 1)) * draw(st.integers(1, 10**6))


@settings(max_examples=60, deadline=None)
@given(_towns())
def test_schedule_invariants(case):
    policy = load_policy()
    specs, cap, invest_cap = case
    town = _ready(policy, specs)
    s = propose_schedule(town, policy, households_per_year=cap, investment_yuan_per_year=invest_cap)
    est = s.estates.merge(
        town[["estate_id", "status", "consent_ok"]], on="estate_id", suffixes=("", "_t")
    )
    placed = est.loc[est["proposed_year"].notna()]
    assert placed["consent_ok"].all()  # only estates with 80 % consent
    for _, y in s.years.iterrows():
        assert y["households"] <= cap
        if invest_cap:
            assert y["investment_yuan"] <= invest_cap
        assert y["extension_estates"] <= 0.15 * y["estates"] + 1e-9
        assert y["extension_households"] <= 0.15 * y["households"] + 1e-9
    for _, members in placed.groupby("district_id"):
        assert members["proposed_year"].nunique() == 1  # districts whole
    assert set(placed["proposed_year"]) <= set(range(2021, 2026))


# --------------------------------------------------------------------------- official tables


@pytest.mark.realdata
def test_tables_command_from_the_ruicheng_plan_alone(tmp_path, capsys):
    code = main(
        [
            "tables",
            "--plan",
            str(shared_file(RUICHENG)),
            "--county",
            "芮城县",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 0
    annual = pd.read_excel(tmp_path / "annual_plan.xlsx", sheet_name=None, header=1)  # title row
    assert list(annual["全部 all"].columns) == [
        "年份",
        "小区名称",
        "位置",
        "建成时间",
        "栋数",
        "户数",
        "面积m²",
    ]
    assert annual["全部 all"].groupby("年份").size().tolist() == [2, 7, 6, 7, 8]
    assert "说明" in annual
    task = pd.read_excel(tmp_path / "task_table.xlsx", sheet_name="全部 all", header=1)
    assert task["县(区)"].iloc[0] == "芮城县"
    assert task["涉及小区数(个)"].tolist() == [30, 30]
    # the annual plan written reads back as the same rows
    back = read_plan_table(tmp_path / "annual_plan.xlsx", quality=QualityReport())
    orig = read_plan_table(shared_file(RUICHENG), quality=QualityReport())
    cols = ["plan_year", "name", "location", "build_year", "build_year_latest", "households"]
    pd.testing.assert_frame_equal(back[cols], orig[cols])


def test_county_totals_use_the_county_or_a_county_like_location(policy):
    rows = plan(
        [
            {"年份": "2022", "小区名称": "甲", "位置": "西湖区", "户数": "10", "面积m²": "100"},
            {"年份": "2022", "小区名称": "乙", "位置": "永乐北路东侧", "户数": "5", "面积m²": "50"},
        ]
    )
    rows = resolved_rows(rows, None, policy)
    totals = county_totals(rows, default_county="芮城县")
    assert totals["county"].tolist() == ["西湖区", "芮城县"]
    assert annual_plan_table(rows)["位置"].tolist() == ["西湖区", "永乐北路东侧"]


# --------------------------------------------------------------------------- Hangzhou acceptance


@pytest.mark.realdata
def test_hangzhou_illustrative_plan_matches_the_right_estates(policy):
    from geo.pipeline import load_inputs, run_plan

    inputs = load_inputs(
        shared_file("hangzhou/osm_landuse_residential.gpkg"),
        survey=shared_file("hangzhou/survey_illustrative.csv"),
    )
    result = run_plan(inputs, policy)
    rows = read_plan_table(
        shared_file("hangzhou/five_year_plan_illustrative.xlsx"), quality=QualityReport()
    )
    assert len(rows) == 120
    # Ground truth, independent of the matcher: the plan was made from surveyed estates, so each
    # row's households AND floor area equal exactly those of one estate (checked unique here).
    e = result.estates
    key = e["households"].astype(str) + "|" + e["floor_area_m2"].round(2).astype(str)
    unique = key[~key.duplicated(keep=False)]
    truth_of = pd.Series(e.loc[unique.index, "estate_id"].to_numpy(), index=unique.to_numpy())
    row_key = rows["households"].astype(str) + "|" + rows["floor_area_m2"].round(2).astype(str)
    truth = row_key.map(truth_of)
    assert truth.notna().all()
    m = match_plan(rows, e)
    matched = m["match_status"] == "matched"
    right = matched & (m["matched_estate_id"] == truth)
    wrong = matched & (m["matched_estate_id"] != truth)
    assert right.sum() / len(rows) >= 0.95, right.sum()
    assert wrong.sum() == 0
    assert (m["match_score"] >= 85).sum() >= right.sum()
