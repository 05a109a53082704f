"""Estate colourings of the web map: scenario changes and milestone status (geo.outputs.map_colouring)."""

from __future__ import annotations

import pandas as pd
from shapely.geometry import box

from geo.outputs import map_canvas, maps
from geo.outputs.map_colouring import (
    CHANGE_COLOURS,
    FAINT,
    MILESTONE_COLOURS,
    change_colouring,
    milestone_colouring,
    milestone_words,
)
from geo.pipeline import PlanInputs, run_plan
from geo.planning.scenario_changes import scenario_changes
from tests.conftest import make_estates

XSS = "<img src=x onerror=alert(1)>"


def _town():
    rows = [
        {
            "estate_id": chr(65 + i),
            "name": f"{i}号小区",
            "geometry": box(500000 + i * 110, 3340000, 500100 + i * 110, 3340100),
        }
        for i in range(4)
    ]
    rows[3].update(build_year=2015, build_year_latest=2015, build_year_raw="2015年")
    return make_estates(rows)


def _canvas(m, role):
    for child in m._children.values():
        if isinstance(child, map_canvas.CanvasLayer) and child.role == role:
            return child
    raise AssertionError(role)


def _changes(estates: pd.DataFrame) -> pd.DataFrame:
    """A -> B: estate A leaves the programme, D joins it (built 2015 -> pretend eligible)."""
    a = estates[["estate_id", "name", "status", "district_id"]].copy()
    b = a.copy()
    b.loc[b["estate_id"] == "A", ["status", "district_id"]] = ["excluded", pd.NA]
    b.loc[b["estate_id"] == "D", ["status", "district_id"]] = ["eligible", "D0009"]
    return scenario_changes(a, b)


def test_change_map_colours_each_kind_and_says_both_values():
    result = run_plan(PlanInputs(estates=_town()))
    changes = _changes(result.estates)
    colouring = change_colouring(changes, "zh", name_a=XSS, name_b="B方案")
    m = maps.build_map(result, maps.MapOptions(basemap="none"), colouring=colouring)
    layer = _canvas(m, "estates")
    assert layer.fill_from == "xcolour"
    colour = dict(zip(layer.column("estate_id"), layer.column("xcolour"), strict=True))
    assert colour == {
        "A": CHANGE_COLOURS["removed"],
        "B": FAINT,
        "C": FAINT,
        "D": CHANGE_COLOURS["added"],
    }
    said = dict(zip(layer.column("estate_id"), layer.column("x0"), strict=True))
    district = result.estates.set_index("estate_id").at["A", "district_id"]
    assert said["A"] == f"移出：符合条件 → 排除；片区 {district} → 不在片区"
    assert said["D"] == "新纳入：建成较新 → 符合条件；不在片区 → 片区 D0009"
    assert said["B"] == "无变化"
    # the scenario names are the tooltip's labels, escaped; the legend has counts
    page = maps.map_html(m)
    assert XSS not in page
    assert [label for _, label in colouring.legend] == [
        "新纳入（1）",
        "移出（1）",
        "换片区（0）",
        "状态变化（0）",
        "无变化（2）",
    ]
    en = change_colouring(changes, "en")
    assert (
        en.tooltip[0][1]
        .loc[changes.index[changes["estate_id"] == "A"][0]]
        .startswith("removed: eligible → excluded")
    )


def test_milestone_colouring_fills_estates_and_the_plan_layer():
    result = run_plan(PlanInputs(estates=_town()))
    result.estates["plan_year"] = pd.array([2022, 2022, 2023, pd.NA], dtype="Int64")
    on = pd.DataFrame(
        {
            "milestone_status": pd.array(["behind", "done", pd.NA, pd.NA], dtype="string"),
            "behind_on": pd.array(["started by 2022-06-30", "", pd.NA, pd.NA], dtype="string"),
            "next_milestone": pd.array(["completed by 2022-12-31", "", pd.NA, pd.NA]),
            "note": pd.array([XSS, pd.NA, pd.NA, pd.NA], dtype="string"),
        },
        index=result.estates.index,
    )
    stages = {"started": "开工", "completed": "全部完工"}
    colouring = milestone_colouring(on, "zh", date="2022-07-05", stage_words=stages)
    m = maps.build_map(result, maps.MapOptions(basemap="none", plan_year=2022), colouring=colouring)
    estates = _canvas(m, "estates")
    assert estates.column("xcolour") == [
        MILESTONE_COLOURS["behind"],
        MILESTONE_COLOURS["done"],
        FAINT,
        FAINT,
    ]
    assert estates.column("x1")[0] == "开工（2022-06-30前）"
    assert estates.column("x3")[0] == "&lt;img src=x onerror=alert(1)&gt;"
    plan = _canvas(m, "plan")  # the year-by-year layer: the estates planned by 2022, by milestone
    assert plan.column("pcol") == [MILESTONE_COLOURS["behind"], MILESTONE_COLOURS["done"]]
    assert ("x0", "节点进度") in [tuple(r) for r in plan.tooltip]
    assert colouring.title == "节点进度（2022-07-05）"
    assert milestone_words("started by 2022-06-30; completed by 2022-12-31", "en") == (
        "started by 2022-06-30; completed by 2022-12-31"
    )
    assert milestone_words("started by 2022-06-30", "zh", stages) == "开工（2022-06-30前）"


def test_without_a_colouring_the_map_is_unchanged():
    result = run_plan(PlanInputs(estates=_town()))
    m = maps.build_map(result, maps.MapOptions(basemap="none"))
    layer = _canvas(m, "estates")
    assert layer.fill_from == "colour" and "xcolour" not in layer.props


def test_milestones_and_progress_notes_in_words():
    from geo.outputs.map_colouring import milestone_label, milestone_note

    stages = {"started": "开工", "completed": "全部完工"}
    assert milestone_label("06-30 started 50%", stages) == "06-30 开工 50%"
    assert milestone_label("06-30 completed 100% (续建 2021)", stages) == (
        "06-30 全部完工 100% (续建 2021)"
    )
    note = (
        "start date given but not all start criteria hold: 完成违章建筑和临时建筑拆除; "
        "acceptance needs 80% satisfaction (Ruicheng), table has 75%"
    )
    assert milestone_note(note, "zh") == (
        "填了开工日期，但开工认定标准未全部满足：完成违章建筑和临时建筑拆除；"
        "竣工验收需居民满意度达到80%（芮城），表中为75%"
    )
    assert milestone_note(note, "en") == note
    assert milestone_note(pd.NA) == ""
