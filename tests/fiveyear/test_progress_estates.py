"""Progress rows placed on the plan's estates (geo.fiveyear.progress_estates), by hand."""

from __future__ import annotations

import pandas as pd

from geo.fiveyear.progress_estates import milestones_on_estates


def _per_estate(rows):
    return pd.DataFrame(
        rows, columns=["estate_id", "name", "county", "status", "behind_on", "next_milestone"]
    ).assign(note="")


ESTATES = pd.DataFrame(
    {
        "estate_id": ["A", "B", "C", "D", "E"],
        "name": ["朝晖六小区", "和平里", "和平里", "新村", "东园"],
        "county": ["下城区", "西湖区", "拱墅区", "西湖区", "西湖区"],
    },
    index=[10, 11, 12, 13, 14],
)


def test_rows_are_placed_by_id_then_by_a_unique_normalised_name():
    per = _per_estate(
        [
            ("", "朝晖6住宅区", None, "behind", "started by 2022-06-30", ""),  # name, normalised
            ("", "和平里", None, "done", "", ""),  # two estates of that name: not placed
            ("", "和平里", "拱墅区", "on_track", "", ""),  # the county decides: C
            ("D", "别的名字", None, "on_track", "", ""),  # the id decides
            ("Z", "不存在", None, "behind", "", ""),  # unknown id and name
            ("", "新村", None, "done", "", ""),  # D again, done: D stays on track
            ("E", "", None, "done", "", ""),
            ("E", "", None, "behind", "completed by 2022-11-30", ""),  # worse row counts
        ]
    )
    on, unplaced = milestones_on_estates(per, ESTATES)
    assert list(on.index) == [10, 11, 12, 13, 14]
    assert on["milestone_status"].fillna("-").tolist() == [
        "behind",
        "-",
        "on_track",
        "on_track",
        "behind",
    ]
    assert on["placed_by"].fillna("-").tolist() == ["name", "-", "name", "estate_id", "estate_id"]
    assert on.loc[14, "behind_on"] == "completed by 2022-11-30"
    assert sorted(unplaced["name"]) == ["不存在", "和平里"]


def test_an_id_written_as_a_decimal_places_the_row_on_its_whole_number():
    estates = pd.DataFrame({"estate_id": ["7", "8.0"], "name": ["甲", "乙"]}, index=[0, 1])
    per = _per_estate(
        [
            ("7.0", "", None, "behind", "started by 2022-06-30", ""),  # estate 7
            ("8.0", "", None, "done", "", ""),  # estate 8.0 as written
            ("9.0", "", None, "done", "", ""),  # no estate 9
        ]
    )
    on, unplaced = milestones_on_estates(per, estates)
    assert on["milestone_status"].tolist() == ["behind", "done"]
    assert on["placed_by"].tolist() == ["estate_id", "estate_id"]
    assert unplaced["estate_id"].tolist() == ["9.0"]
