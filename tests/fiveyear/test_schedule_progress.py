"""Five-year plan year by year: the solved schedule, carry-over, milestones, exact tables."""

from __future__ import annotations

import datetime

import openpyxl
import pandas as pd
import pytest
from shapely.geometry import box

from geo.cli import main
from geo.core.errors import PolicyError, QualityReport
from geo.core.policy import PLAN_PERIODS
from geo.fiveyear.checks import RUICHENG_ESTATES_PER_YEAR, check_plan, yearly_count_checks
from geo.fiveyear.overlay import resolved_rows
from geo.fiveyear.plan_table import parse_plan_table
from geo.fiveyear.progress import (
    carry_over_years,
    milestone_report,
    milestone_status_by_estate,
    parse_progress_table,
)
from geo.fiveyear.schedule import propose_schedule
from geo.fiveyear.tables import task_table, task_tables_by_year
from geo.fiveyear.yearly import plan_vs_schedule
from geo.planning.eligibility import assess_eligibility
from tests.conftest import make_estates, shared_file

EXT = {"build_year": 2004, "build_year_latest": 2004, "build_year_raw": "2004"}


def _town(policy, specs):
    full = [{"geometry": box(i * 200, 0, i * 200 + 100, 100), **r} for i, r in enumerate(specs)]
    town = assess_eligibility(make_estates(full), policy)
    town["priority_score"] = [s.get("priority", 50.0) for s in specs]
    town["investment_yuan"] = town["households"].astype(float) * 1000
    town["district_id"] = pd.array([s.get("district_id") for s in specs], dtype="string")
    return town


def _two_years(policy):
    return policy.with_values({"schedule.first_year": 2021, "schedule.last_year": 2022})


def test_greedy_leaves_a_year_empty_and_the_solved_schedule_does_not(policy):
    p = _two_years(policy)
    specs = [{"estate_id": "X", "households": 10, "priority": 99, **EXT}]
    specs += [{"estate_id": f"O{i}", "households": 100, "priority": 50 - i} for i in range(8)]
    town = _town(p, specs)
    greedy = propose_schedule(town, p, households_per_year=1000, solver="greedy")
    solved = propose_schedule(town, p, households_per_year=1000, solver="milp")
    assert greedy.years["households"].tolist() == [810, 0]  # all in 2021, 2022 empty
    assert greedy.summary["method"] == "greedy" and greedy.summary["gap"] is None
    assert solved.summary["method"] == "milp" and solved.summary["status"] == "optimal"
    assert solved.summary["gap"] == pytest.approx(0, abs=1e-3)
    assert (solved.years["households"] > 0).all()
    assert solved.estates["proposed_year"].notna().all()  # every ready estate placed
    # X (2001-2005) needs six others in its year: 1 of 7 = 14.3 % <= 15 %
    assert sorted(solved.years["households"].tolist()) == [200, 610]
    for _, y in solved.years.iterrows():
        assert y["extension_estates"] <= 0.15 * y["estates"]
        assert y["extension_households"] <= 0.15 * y["households"]


def test_a_district_with_an_extension_estate_is_placed_with_others(policy):
    p = _two_years(policy)
    specs = [
        {"estate_id": "E1", "households": 20, "priority": 90, "district_id": "D1", **EXT},
        {"estate_id": "N1", "households": 80, "priority": 90, "district_id": "D1"},
    ]
    specs += [{"estate_id": f"O{i}", "households": 100} for i in range(10)]
    s = propose_schedule(_town(p, specs), p, solver="milp")
    est = s.estates.set_index("estate_id")
    assert est.loc["E1", "proposed_year"] == est.loc["N1", "proposed_year"]  # district whole
    assert s.summary["unplaced_units"] == 0
    year = s.years.set_index("year").loc[int(est.loc["E1", "proposed_year"])]
    assert year["estates"] >= 7  # 1 of 7 estates at most
    assert year["extension_share_estates"] <= 0.15
    assert "placed with others" in est.loc["E1", "schedule_reason"]
    assert s.summary["extension_share_estates"] <= 0.15  # over the period too (Yangjiang)


def test_unplaceable_units_name_the_cap(policy):
    p = _two_years(policy)
    specs = [{"estate_id": "X", "households": 10, **EXT}, {"estate_id": "A", "households": 900}]
    specs.append({"estate_id": "B", "households": 900})
    s = propose_schedule(_town(p, specs), p, households_per_year=1000, solver="milp")
    est = s.estates.set_index("estate_id")
    assert pd.isna(est.loc["X", "proposed_year"])
    assert est.loc["X", "schedule_reason"].startswith("not scheduled (15% rule")
    assert s.summary["binding"] == "15% rule"
    assert est[["proposed_year"]].loc[["A", "B"], "proposed_year"].tolist() in (
        [2021, 2022],
        [2022, 2021],
    )


def test_carry_over_counts_in_the_year_it_finishes(policy):
    p = _two_years(policy)
    specs = [{"estate_id": f"O{i}", "households": 100} for i in range(4)]
    specs.append({"estate_id": "C", "households": 300})
    town = _town(p, specs)
    s = propose_schedule(town, p, carry_over=pd.Series({"C": 2022}), solver="milp")
    est = s.estates.set_index("estate_id")
    assert est.loc["C", "proposed_year"] == 2022 and bool(est.loc["C", "carry_over"])
    assert "续建" in est.loc["C", "schedule_reason"]
    years = s.years.set_index("year")
    assert years.loc[2022, "carry_over_households"] == 300
    assert years["households"].tolist() == [350, 350] or sorted(years["households"]) == [300, 400]
    assert years["households"].sum() == 700


def test_priority_objective_puts_higher_priority_first(policy):
    p = _two_years(policy)
    specs = [{"estate_id": f"P{i}", "households": 100, "priority": 10 * i} for i in range(6)]
    s = propose_schedule(_town(p, specs), p, solver="milp", objective="priority")
    est = s.estates.set_index("estate_id")
    assert set(est.loc[["P5", "P4", "P3"], "proposed_year"]) == {2021}
    assert s.years["households"].tolist() == [300, 300]
    assert s.summary["objective"].startswith("priority")


def test_plan_periods_are_presets(policy):
    assert PLAN_PERIODS["2026-2030"] == (2026, 2030)
    first, last = PLAN_PERIODS["2026-2030"]
    p = policy.with_values({"schedule.first_year": first, "schedule.last_year": last})
    specs = [{"estate_id": f"O{i}", "households": 100} for i in range(5)]
    s = propose_schedule(_town(p, specs), p)
    assert s.years["year"].tolist() == [2026, 2027, 2028, 2029, 2030]
    assert (s.years["estates"] == 1).all()
    with pytest.raises(PolicyError, match=r"milestones\.xinyang"):
        policy.with_values({"milestones.xinyang": ["end of June: half"]})
    with pytest.raises(PolicyError, match=r"schedule\.objective"):
        policy.with_values({"schedule.objective": "fairness"})


def test_year_totals_of_plan_and_schedule_side_by_side(policy):
    p = _two_years(policy)
    town = _town(p, [{"estate_id": f"O{i}", "households": 100} for i in range(4)])
    s = propose_schedule(town, p)
    plan_year = pd.Series({"O0": 2021, "O1": 2021, "O2": 2021})
    side = plan_vs_schedule(town, s, plan_year).set_index("year")
    assert side.loc[2021, "plan_estates"] == 3 and side.loc[2022, "plan_estates"] == 0
    assert side["schedule_estates"].tolist() == [2, 2]
    assert side["schedule_households"].sum() == 400


# --------------------------------------------------------------------------- progress


def _progress_table():
    return pd.DataFrame(
        {
            "小区名称": ["甲", "乙", "丙", "丁", "戊"],
            "县(区)": ["浉河区", "浉河区", "息县", "息县", "息县"],
            "户数": ["100", "300", "200", "50", "80"],
            "年份": ["2022", "2022", "2022", "2021", "2022"],
            "开工日期": ["2022-05-10", "2022/6/15", "2022年6月1日", "", "2022-06-20"],
            "完工日期": ["2022-06-30", "", "", "", ""],
            "验收日期": ["2022-07-01", "", "", "", ""],
            "满意度": ["75%", "", "", "", ""],
            "续建": ["否", "否", "否", "是", "否"],
            "80%同意": ["是", "是", "是", "是", "是"],
            "违建拆除": ["是", "是", "否", "是", "是"],
            "设计公示": ["是"] * 5,
            "施工合同": ["是"] * 5,
            "施工进场": ["是"] * 5,
        }
    )


def test_milestones_on_a_hand_made_progress_table(policy):
    p = policy.with_values({"milestones.city": "xinyang"})
    progress = parse_progress_table(_progress_table(), source="t", quality=QualityReport())
    report = milestone_report(progress, datetime.date(2022, 7, 5), p)
    r = report.set_index(["county", "milestone"])
    # 浉河区: 甲 100 + 乙 300 started by June = 100 % >= 50 %
    assert r.loc[("浉河区", "06-30 started 50%"), "status"] == "met"
    # 息县: 丙 has a start date but no removal of illegal structures: not started; 戊 (80) is
    # started; 80 of 280 < 50 %: short by 140 - 80 = 60 households
    row = r.loc[("息县", "06-30 started 50%")]
    assert row["status"] == "missed" and row["households_done"] == 80
    assert row["shortfall_households"] == 60 and "丙" in row["estates_behind"]
    # the whole city: 480 of 680 started
    assert r.loc[("全部 all", "06-30 started 50%"), "households_done"] == 480
    # all started by October: not yet due on 5 July
    assert r.loc[("全部 all", "10-31 started 100%"), "status"] == "due"
    # 丁 is a 2021 carry-over project (续建): finished by 30 June 2022? no: missed
    carry = report.loc[report["milestone"].str.contains("续建")].set_index("county")
    assert (
        carry.loc["息县", "status"] == "missed" and carry.loc["息县", "shortfall_households"] == 50
    )
    per = milestone_status_by_estate(progress, datetime.date(2022, 7, 5), p).set_index("name")
    assert per.loc["丙", "status"] == "behind" and "违章" in per.loc["丙", "note"]
    assert per.loc["甲", "status"] == "done"
    assert per.loc["丁", "status"] == "behind"


def test_acceptance_needs_80_percent_satisfaction(policy):
    p = policy.with_values({"milestones.city": "ziyun"})
    progress = parse_progress_table(_progress_table(), source="t", quality=QualityReport())
    report = milestone_report(progress, datetime.date(2022, 12, 1), p).set_index(
        ["county", "milestone"]
    )
    # 甲 was accepted on 1 July with 75 % satisfaction: it does not count
    assert report.loc[("浉河区", "11-30 accepted 100%"), "households_done"] == 0
    assert report.loc[("浉河区", "11-30 completed 100%"), "households_done"] == 100
    ok = _progress_table().assign(满意度=["85%", "", "", "", ""])
    progress = parse_progress_table(ok, source="t", quality=QualityReport())
    report = milestone_report(progress, datetime.date(2022, 12, 1), p).set_index(
        ["county", "milestone"]
    )
    assert report.loc[("浉河区", "11-30 accepted 100%"), "households_done"] == 100


def test_carry_over_years_from_the_progress_table(policy):
    table = _progress_table().assign(estate_id=["a", "b", "c", "d", "e"])
    progress = parse_progress_table(table, source="t", quality=QualityReport())
    assert carry_over_years(progress, policy).to_dict() == {"d": 2022}


def test_progress_command(tmp_path, capsys, policy):
    path = tmp_path / "progress.csv"
    _progress_table().to_csv(path, index=False)
    out = tmp_path / "report.xlsx"
    code = main(
        ["progress", str(path), "--date", "2022-07-05", "--city", "xinyang", "--out", str(out)]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "started" in text and "short by" in text
    assert out.exists()


# --------------------------------------------------------------------------- tables


def _sheets_add_up(path):
    book = openpyxl.load_workbook(path)
    checked = 0
    for sheet in book.worksheets:
        rows = [r for r in sheet.iter_rows(values_only=True)]
        totals = [i for i, r in enumerate(rows) if r and r[0] == "合计"]
        if not totals:
            continue
        header = next(i for i, r in enumerate(rows) if r and r[0] in ("序号", "year"))
        body = rows[header + 1 : totals[0]]
        for j, value in enumerate(rows[totals[0]]):
            name = str(rows[header][j])
            if not isinstance(value, int | float) or "share" in name or "cap" in name:
                continue
            assert round(sum(r[j] or 0 for r in body), 2) == pytest.approx(value, abs=1e-9), (
                sheet.title,
                name,
            )
            checked += 1
    return checked


def test_task_tables_add_up_as_shown(policy):
    # three rows of 0.005 万平方米 each: rounded 0.01 each (shown), 0.015 -> 0.02 summed
    rows = pd.DataFrame(
        {
            "plan_row": [2, 3, 4, 5],
            "plan_year": [2022, 2022, 2023, 2023],
            "name": ["甲", "乙", "丙", "丁"],
            "location": ["", "", "", ""],
            "county": ["A区", "B区", "A区", "A区"],
            "households": [10, 10, 10, 10],
            "floor_area_m2": [50.0, 50.0, 50.0, 50.0],
            "investment_yuan": [12345.0, 5.0, 5.0, 5.0],
            "investment_estimated": [False, True, False, False],
        }
    )
    tables = task_tables_by_year(rows)
    for name, table in tables.items():
        body, total = table.iloc[:-1], table.iloc[-1]
        assert total["序号"] == "合计"
        assert body["序号"].tolist() == list(range(1, len(body) + 1))
        for column in ("涉及建筑面积(万平方米)", "预计投资额(万元)", "涉及户数(户)"):
            assert round(body[column].sum(), 2) == total[column], (name, column)
    # the all-years sheet shows the sum of the year sheets
    all_total = tables["全部 all"].iloc[-1]["涉及建筑面积(万平方米)"]
    assert all_total == round(
        sum(t.iloc[-1]["涉及建筑面积(万平方米)"] for k, t in tables.items() if k != "全部 all"), 2
    )
    # the estimate is marked in the table itself
    assert "估算" in tables["2022"].set_index("县(区)").loc["B区", "备注"]
    assert "备注" not in task_table(rows.assign(investment_estimated=False).pipe(_counties))


def _counties(rows):
    from geo.fiveyear.tables import county_totals

    return county_totals(rows)


def test_ruicheng_yearly_counts_checked_against_the_table(policy):
    path = shared_file("seed_tables/ruicheng_five_year_plan_2021_2025.tsv")
    table = pd.read_csv(path, sep="\t", dtype=str)
    rows = resolved_rows(parse_plan_table(table, source="r", quality=QualityReport()), None, policy)
    checks = yearly_count_checks(rows, RUICHENG_ESTATES_PER_YEAR)
    assert all(c["status"] == "ok" for c in checks)
    assert checks[-1]["value"] == 30
    wrong = yearly_count_checks(rows.loc[rows.index != rows.index[0]], RUICHENG_ESTATES_PER_YEAR)
    assert next(c["plan_year"] for c in wrong if c["status"] == "violation") == 2021
    stated = [f"{y}: {n}" for y, n in RUICHENG_ESTATES_PER_YEAR.items()]
    p = policy.with_values({"schedule.stated_estates_per_year": stated})
    found = check_plan(rows, p)
    assert (found.loc[found["check"] == "yearly_count", "status"] == "ok").all()


def test_xinyang_task_table_is_written_back_cell_for_cell(tmp_path, capsys):
    path = shared_file("seed_tables/xinyang_2022_task_table.tsv")
    assert main(["tables", "--plan", str(path), "--place", "信阳市", "--out", str(tmp_path)]) == 0
    book = openpyxl.load_workbook(tmp_path / "task_table.xlsx")
    sheet = book["2022"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "附件1 信阳市2022年老旧小区改造任务计划表"
    source = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    assert list(rows[1]) == list(source.columns)
    for written, (_, given) in zip(rows[2:], source.iterrows(), strict=True):
        for w, g in zip(written, given, strict=True):
            assert (w if w is not None else "") == (g if g == "" or g == "合计" else type(w)(g)), (
                written,
                list(given),
            )
    assert isinstance(rows[2][0], int)
    assert _sheets_add_up(tmp_path / "task_table.xlsx") >= 4


def test_ruicheng_tables_add_up_on_every_sheet(tmp_path, capsys):
    path = shared_file("seed_tables/ruicheng_five_year_plan_2021_2025.tsv")
    code = main(["tables", "--plan", str(path), "--county", "芮城县", "--out", str(tmp_path)])
    assert code == 0
    assert _sheets_add_up(tmp_path / "task_table.xlsx") >= 6 * 4
    book = openpyxl.load_workbook(tmp_path / "task_table.xlsx")
    rows = list(book["2022"].iter_rows(values_only=True))
    assert rows[1][-1] == "备注" and "估算" in rows[2][-1]  # 242 yuan/m² estimates marked
    annual = openpyxl.load_workbook(tmp_path / "annual_plan.xlsx")["全部 all"]
    first = list(annual.iter_rows(values_only=True))
    assert "十四五" in first[0][0] and first[2][2] == "华泰北路"  # 位置 the street
