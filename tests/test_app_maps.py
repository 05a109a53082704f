"""The app's map of what changes between scenarios and its colouring by milestone (AppTest).

One small town, hand-checkable: six estates in a row, A B C D E F (甲乙丙丁戊己), built
1990 1990 2003 1990 1990 2010, 100 households each.

- Scenario "2000": cutoff 2000, no extension -> C and F too recent; districts {A, B}, {D, E}.
- Current policy: cutoff 2005 -> C eligible and joins both: one district {A, B, C, D, E}.
  So C is 新纳入 (added), and the district continuing {A, B} (more shared estates, ties by id)
  keeps A and B, while D and E 换片区 (change district); F is unchanged.
- A progress table on 5 July 2022 against Xinyang's milestones (started by 30 June, all started
  by 31 October, 70 % completed by 31 December): 甲 started 10 May and completed 30 June (done),
  乙 started 15 June (on track), 丁 not started (behind: started by 30 June missed), E given by
  id only, not started (behind); 丙 and 己 are not in the table; one row names no estate.
"""

from __future__ import annotations

import json
import re

import pytest
from shapely.geometry import box
from streamlit.testing.v1 import AppTest

from tests.conftest import make_estates
from tests.test_app import APP, _fresh_cache  # noqa: F401  (the app tests' autouse fixture)

NAMES = "甲乙丙丁戊己"
YEARS = [1990, 1990, 2003, 1990, 1990, 2010]


@pytest.fixture
def town(tmp_path, monkeypatch):
    rows = [
        {
            "estate_id": chr(65 + i),
            "name": NAMES[i],
            "build_year": y,
            "build_year_latest": y,
            "build_year_raw": str(y),
            "geometry": box(i * 110, 0, i * 110 + 100, 100),
        }
        for i, y in enumerate(YEARS)
    ]
    path = tmp_path / "town.gpkg"
    make_estates(rows).to_file(path, layer="estates")
    monkeypatch.setenv("LIANPIAN_APP_ESTATES", str(path))
    return path


@pytest.fixture
def sent(monkeypatch):
    """st_folium's component replaced: every map the page sends, recorded (nothing returned)."""
    import streamlit_folium

    calls: list[dict] = []
    monkeypatch.setattr(streamlit_folium, "_component_func", lambda **kw: calls.append(kw))
    return calls


def _estate_layer(script: str) -> dict:
    """The estate layer's spec (columns, tooltip) from the map's script."""
    for match in re.finditer(r"lpMap\.layer\([^,]+, (\{.*?\}),\s*null\)", script, re.S):
        spec = json.loads(match.group(1))
        if spec["role"] == "estates":
            return spec
    raise AssertionError("no estate layer in the map")


def _column(spec: dict, name: str) -> list:
    column = spec["props"][name]
    return [column["k"][i] for i in column["i"]] if isinstance(column, dict) else column


def _has(script: str, text: str) -> bool:
    """Whether the map's script holds ``text`` (legends are JSON with non-ASCII escaped)."""
    return text in script or json.dumps(text)[1:-1] in script


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_scenario_change_map_colours_what_changes(town, sent):
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception, at.exception
    at.checkbox(key="pol.eligibility.extension_enabled").uncheck().run()
    at.text_input(key="scenario_name").input("2000").run()
    at.button(key="scenario_save").click().run()
    at.number_input(key="pol.eligibility.cutoff_year").set_value(2005).run()
    assert not at.exception, at.exception
    metrics = _metrics(at)
    assert (metrics["新纳入"], metrics["移出"], metrics["换片区"], metrics["状态变化"]) == (
        "1",
        "0",
        "2",
        "0",
    )
    table = next(df.value for df in at.dataframe if "变化" in df.value.columns)
    assert dict(zip(table.iloc[:, 0], table["变化"], strict=True)) == {
        "C": "新纳入",
        "D": "换片区",
        "E": "换片区",
    }
    assert not any("extension" in str(v) or "eligible" in str(v) for v in table.to_numpy().ravel())
    # the change map: its own component (key), estates filled from the change colouring
    change = [c for c in sent if _has(c["script"], "方案变化")]
    assert change, "the scenario tab sends a map of what changes"
    main = [c for c in sent if not _has(c["script"], "方案变化")]
    assert change[-1]["key"] != main[-1]["key"]
    spec = _estate_layer(change[-1]["script"])
    assert spec["fill"] == "xcolour"
    ids = _column(spec, "estate_id")
    colour = dict(zip(ids, _column(spec, "xcolour"), strict=True))
    assert colour["C"] == "#1a9850" and colour["D"] == colour["E"] == "#762a83"
    assert colour["A"] == colour["B"] == colour["F"] == "#f0f0f0"  # unchanged: faint
    said = dict(zip(ids, _column(spec, "x0"), strict=True))
    assert said["C"] == "新纳入：建成较新 → 符合条件；不在片区 → 片区 D0001"
    assert said["D"] == "换片区：片区 D0002 → 片区 D0001"
    in_a = dict(zip(ids, _column(spec, "x1"), strict=True))
    assert in_a["C"] == "建成较新，不在片区"
    assert _has(change[-1]["script"], "新纳入（1）") and _has(change[-1]["script"], "无变化（3）")
    # English: the same map in words
    at.sidebar.radio[0].set_value("en").run()
    assert not at.exception, at.exception
    spec = _estate_layer([c for c in sent if _has(c["script"], "Scenario changes")][-1]["script"])
    said = dict(zip(_column(spec, "estate_id"), _column(spec, "x0"), strict=True))
    assert said["C"] == "added: too recent → eligible; no district → district D0001"


def _progress_csv() -> bytes:
    rows = [
        "estate_id,小区名称,户数,年份,开工日期,完工日期",
        ",甲,100,2022,2022-05-10,2022-06-30",
        ",乙,100,2022,2022-06-15,",
        ",丁,100,2022,,",
        "E,,100,2022,,",
        ",不存在的小区,100,2022,,",
    ]
    return ("\n".join(rows) + "\n").encode("utf-8")


def test_map_coloured_by_milestone_status(town, sent):
    import datetime

    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception, at.exception
    at.radio(key="colour_by").set_value("milestone").run()
    assert any("上传进度表" in c.value for c in at.caption)  # no table yet: said, status colours
    at.file_uploader(key="u_progress").set_value(
        ("progress.csv", _progress_csv(), "text/csv")
    ).run()
    at.date_input(key="progress_date").set_value(datetime.date(2022, 7, 5)).run()
    at.selectbox(key="progress_city").set_value("xinyang").run()
    assert not at.exception, at.exception
    assert any("4 行已对应" in c.value and "1 行未能对应" in c.value for c in at.caption)
    script = sent[-1]["script"]
    spec = _estate_layer(script)
    assert spec["fill"] == "xcolour"
    ids = _column(spec, "estate_id")
    colour = dict(zip(ids, _column(spec, "xcolour"), strict=True))
    assert colour == {
        "A": "#1a9641",  # done
        "B": "#2c7bb6",  # on track
        "C": "#f0f0f0",  # not in the table
        "D": "#d7191c",  # behind
        "E": "#d7191c",  # behind (by id)
        "F": "#f0f0f0",
    }
    words = dict(zip(ids, _column(spec, "x0"), strict=True))
    assert words["D"] == "滞后" and words["C"] == "未列入进度表"
    missed = dict(zip(ids, _column(spec, "x1"), strict=True))
    assert missed["D"] == "开工（2022-06-30前）"
    assert _has(script, "滞后（2）") and _has(script, "节点进度（2022-07-05）")
    # English: the same colours, the legend and tooltip in English
    at.sidebar.radio[0].set_value("en").run()
    assert not at.exception, at.exception
    script = [c for c in sent if _has(c["script"], "Milestones (2022-07-05)")][-1]["script"]
    spec = _estate_layer(script)
    ids = _column(spec, "estate_id")
    assert dict(zip(ids, _column(spec, "xcolour"), strict=True)) == colour
    assert dict(zip(ids, _column(spec, "x1"), strict=True))["D"] == "started by 2022-06-30"
    assert _has(script, "behind (2)") and _has(script, "not in the progress table (2)")
    at.sidebar.radio[0].set_value("zh").run()
    # the per-estate table says the milestones in words, no stage codes
    table = next(df.value for df in at.dataframe if "滞后" in df.value.to_numpy().ravel())
    assert not any("started by" in str(v) for v in table.to_numpy().ravel())
