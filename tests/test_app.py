"""The Streamlit app, headless (streamlit.testing.v1.AppTest) on the embedded demo town."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import geo.pipeline

APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.fixture(autouse=True)
def _fresh_cache():
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


def _run() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception, at.exception
    return at


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_default_run_shows_the_demo_without_error():
    at = _run()
    assert not at.error
    metrics = _metrics(at)
    assert int(metrics["片区"]) > 0
    assert "合成" in at.info[0].value  # the demo is labelled synthetic
    assert at.title[0].value == "城镇老旧小区连片改造"


def test_english_switch():
    at = _run()
    at.sidebar.radio[0].set_value("en").run()
    assert not at.exception
    assert "Districts" in _metrics(at)


def test_policy_change_changes_the_counts_and_reset_restores_them():
    at = _run()
    before = _metrics(at)
    at.number_input(key="pol.eligibility.cutoff_year").set_value(1995).run()
    assert not at.exception
    after = _metrics(at)
    eligible = "符合条件"
    assert int(after[eligible]) < int(before[eligible])
    at.button(key="reset_policy").click().run()
    assert _metrics(at)[eligible] == before[eligible]


def test_bad_upload_gives_a_message_and_keeps_the_previous_data():
    at = _run()
    before = _metrics(at)
    at.radio(key="data_mode").set_value("upload").run()
    at.file_uploader(key="u_estates").set_value(
        ("broken.gpkg", b"this is not a GeoPackage", "application/octet-stream")
    ).run()
    assert not at.exception
    assert at.error, "a bad upload must show a message"
    message = at.error[0].value
    assert "broken.gpkg" in message and "Traceback" not in message
    assert _metrics(at) == before  # the previous (demo) plan is still shown


def test_zip_without_polygons_is_a_message_too():
    at = _run()
    at.radio(key="data_mode").set_value("upload").run()
    at.file_uploader(key="u_estates").set_value(
        ("x.zip", b"PK\x03\x04junk", "application/zip")
    ).run()
    assert not at.exception
    assert "zip" in at.error[0].value


def test_year_slider_filters_the_plan(monkeypatch):
    real = geo.pipeline.run_plan

    def with_plan_year(inputs, policy=None, **kw):
        result = real(inputs, policy, **kw)
        n = len(result.estates)
        years = pd.array([2021 + i % 5 for i in range(n)], dtype="Int64")
        result.estates["plan_year"] = years
        return result

    monkeypatch.setattr(geo.pipeline, "run_plan", with_plan_year)
    at = _run()
    slider = at.slider(key="plan_year")
    assert slider.value == 2025
    label = "至2025年计划改造小区"
    total = int(_metrics(at)[label])
    slider.set_value(2022).run()
    assert not at.exception
    assert int(_metrics(at)["至2022年计划改造小区"]) < total


def test_tender_package_download_for_a_district():
    """The tender-package button builds a real zip for the chosen district."""
    import io as _io
    import zipfile

    from geo.outputs import export
    from geo.pipeline import load_inputs, run_plan

    result = run_plan(load_inputs())
    district_id = str(result.districts["district_id"].iloc[0])
    data = export.package_zip_bytes(export.PlanLayers.from_result(result), [district_id])
    names = zipfile.ZipFile(_io.BytesIO(data)).namelist()
    assert any(n.endswith(".dxf") for n in names) and any(n.endswith(".xlsx") for n in names)
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    assert not at.exception
    assert district_id in at.selectbox(key="tender_district").options


def _elderly_and_corridor_metrics_match(at: AppTest, summary: dict) -> None:
    metrics = _metrics(at)
    assert metrics["未覆盖户数（户）"] == f"{summary['elderly_households_without_5min']:,}"
    assert metrics["面积缺口（m²）"] == f"{summary['elderly_gap_m2']:,.0f}"
    assert metrics["建议共享设施（处）"] == f"{summary['elderly_sites_proposed']:,}"
    assert metrics["建议设施面积（m²）"] == f"{summary['elderly_site_floor_area_m2']:,.0f}"
    assert summary["elderly_sites_proposed"] > 0 and summary["elderly_gap_m2"] > 0


def test_elderly_care_figures_appear_on_the_demo():
    from geo.pipeline import load_inputs, run_plan

    summary = run_plan(load_inputs()).summary()
    at = _run()
    _elderly_and_corridor_metrics_match(at, summary)
    assert _metrics(at)["共享走廊长度（km）"] == f"{summary['corridor_length_m'] / 1000:,.2f}"


@pytest.mark.realdata
def test_elderly_care_figures_appear_on_hangzhou(monkeypatch):
    """The Hangzhou figures `lianpian plan --facilities` prints (both from PlanResult.summary())."""
    from .conftest import shared_file

    files = {
        "ESTATES": shared_file("hangzhou/osm_landuse_residential.gpkg"),
        "SURVEY": shared_file("hangzhou/survey_illustrative.csv"),
        "BARRIERS": shared_file("hangzhou/osm_water.gpkg"),
        "ROADS": shared_file("hangzhou/osm_roads.gpkg"),
        "FACILITIES": shared_file("hangzhou/elderly_facilities_illustrative.gpkg"),
    }
    for name, path in files.items():
        monkeypatch.setenv(f"LIANPIAN_APP_{name}", str(path))
    from geo.pipeline import load_inputs, run_plan

    inputs = load_inputs(
        str(files["ESTATES"]),
        survey=str(files["SURVEY"]),
        barriers=[str(files["BARRIERS"])],
        roads=str(files["ROADS"]),
        facilities=str(files["FACILITIES"]),
    )
    summary = run_plan(inputs).summary()
    at = AppTest.from_file(APP, default_timeout=300).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    _elderly_and_corridor_metrics_match(at, summary)
    assert summary["elderly_households_without_5min"] > 1_000_000  # see the issue note


@pytest.fixture
def fake_map(monkeypatch):
    """st_folium's component replaced: records what the app sends and returns a chosen click.

    ``st_folium`` itself still renders the map (the app records its component arguments once per
    map); only the browser side is faked.
    """
    import streamlit_folium

    state = {"calls": [], "click": None}

    def component(**kwargs):
        state["calls"].append(kwargs)
        return {"last_active_drawing": state["click"]}

    monkeypatch.setattr(streamlit_folium, "_component_func", component)
    return state


def test_clicking_an_estate_or_a_district_shows_its_details(fake_map):
    from geo.outputs import maps
    from geo.pipeline import load_inputs, run_plan

    result = run_plan(load_inputs())
    estate = result.estates.loc[result.estates["district_id"].notna()].iloc[0]
    at = _run()
    assert "点击地图" in " ".join(c.value for c in at.caption)
    fake_map["click"] = {"properties": {"estate_id": estate["estate_id"], "name": estate["name"]}}
    at.run()
    assert not at.exception
    assert estate["name"] in [h.value.replace("\\", "") for h in at.subheader]
    table = next(df.value for df in at.dataframe if "项目" in df.value.columns)
    assert list(table.columns) == ["项目", "内容"]  # labelled, never "0" or "value"
    entries = dict(zip(table["项目"], table["内容"], strict=True))
    assert entries["片区编号"] == str(estate["district_id"])
    assert entries["户数（户）"] == f"{int(estate['households']):,}"
    assert entries["估算投资（万元）"] == f"{estate['investment_yuan'] / 1e4:,.1f}"
    assert entries["改造资格"] == maps.status_label(estate["status"], "zh")
    assert entries["同意率达标"] in ("是", "否")
    fake_map["click"] = {"properties": {"district_id": estate["district_id"]}}
    at.run()
    assert f"片区 {estate['district_id']}" in [h.value for h in at.subheader]
    members = next(df.value for df in at.dataframe if "小区编号" in df.value.columns)
    expected = result.estates.loc[result.estates["district_id"] == estate["district_id"]]
    assert sorted(members["小区编号"]) == sorted(expected["estate_id"])


def test_selecting_a_district_row_zooms_the_map_to_it(fake_map):
    from geo.outputs import maps
    from geo.pipeline import load_inputs, run_plan

    result = run_plan(load_inputs())
    at = _run()
    assert fake_map["calls"][-1]["center"] is None  # the whole plan at first
    table = at.dataframe(key="districts_table").value
    at.session_state["districts_table"] = {"selection": {"rows": [2], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    chosen = table.iloc[2]["片区编号"]
    outline = result.districts.loc[result.districts["district_id"] == chosen]
    point = maps.display_frame(outline).geometry.iloc[0].centroid
    call = fake_map["calls"][-1]
    assert call["zoom"] == 16
    assert call["center"] == pytest.approx([point.y, point.x], abs=1e-4)
    # the row opens the district's card and outlines it on the map (drawn over, not re-rendered)
    assert f"片区 {chosen}" in [h.value for h in at.subheader]
    assert "feature_group_lp_selected" in call["feature_group"]
    at.radio(key="colour_by").set_value("priority").run()  # a display change keeps the view:
    assert fake_map["calls"][-1]["center"] is None  # the zoom is sent once, not again
    assert "feature_group_lp_selected" in fake_map["calls"][-1]["feature_group"]


def test_district_table_is_labelled_with_units_and_thousands_separators():
    at = _run()
    table = at.dataframe(key="districts_table").value
    assert "0" not in table.columns and "value" not in table.columns
    for label in ("片区编号", "户数（户）", "建筑面积（m²）", "估算投资（万元）", "优先序"):
        assert label in table.columns, label
    from geo.pipeline import load_inputs, run_plan

    districts = run_plan(load_inputs()).districts.set_index("district_id")
    first = table.iloc[0]
    assert first["估算投资（万元）"] == pytest.approx(
        districts.loc[first["片区编号"], "investment_yuan"] / 1e4, abs=0.05
    )
    at.radio(key="lang").set_value("en").run()
    table = at.dataframe(key="districts_table").value
    assert "Estimated investment (10k yuan)" in table.columns


def test_the_map_sent_is_what_st_folium_sends_for_a_fully_rendered_page(monkeypatch):
    """The app gives st_folium ``render=False`` (no whole-page render first): same arguments."""
    import streamlit_folium
    from branca.element import Element

    from geo.outputs import maps
    from geo.pipeline import load_inputs, run_plan

    result = run_plan(load_inputs())
    sent: list[dict] = []
    monkeypatch.setattr(streamlit_folium, "_component_func", lambda **kwargs: sent.append(kwargs))
    for render in (True, False):
        counter = iter(range(10**6))
        monkeypatch.setattr(
            Element, "_generate_id", classmethod(lambda cls, c=counter: f"{next(c):032x}")
        )
        fmap = maps.build_map(result, maps.MapOptions(colour_by="priority"))
        streamlit_folium.st_folium(
            fmap, height=640, returned_objects=["last_active_drawing"], key="map", render=render
        )
    full, ours = ({k: v for k, v in call.items() if k != "on_change"} for call in sent)
    assert ours == full
    assert "lp-estate" in ours["script"]


def test_each_map_is_built_once_per_plan_and_display_options(monkeypatch, fake_map):
    """Reruns that change nothing on the map, or come back to one seen before, build nothing."""
    from geo.outputs import maps

    built = []
    build_map = maps.build_map
    monkeypatch.setattr(maps, "build_map", lambda *a, **k: built.append(1) or build_map(*a, **k))
    at = _run()
    at.run()
    assert len(built) == 1
    at.radio(key="colour_by").set_value("priority").run()
    at.radio(key="colour_by").set_value("status").run()
    assert not at.exception
    assert len(built) == 2
    scripts = [call["script"] for call in fake_map["calls"]]
    assert len(scripts) == 4 and scripts[0] == scripts[1] == scripts[3] != scripts[2]
    assert all(call["returned_objects"] == ["last_active_drawing"] for call in fake_map["calls"])


@pytest.mark.parametrize("from_env", [False, True])
def test_warm_up_plans_what_the_first_page_plans(monkeypatch, tmp_path, from_env):
    """serve.py's head start (geo.app.state.warm_up) reads the start data the page starts on: the
    demo, or the LIANPIAN_APP_* files; the page's first spec is geo.app.state.start_spec()."""
    import geopandas as gpd

    if from_env:
        demo = geo.pipeline.load_inputs()
        estates = tmp_path / "estates.gpkg"
        demo.estates.to_file(estates, layer="estates")
        water = tmp_path / "water.gpkg"
        demo.barriers.to_file(water, layer="water")
        monkeypatch.setenv("LIANPIAN_APP_ESTATES", str(estates))
        monkeypatch.setenv("LIANPIAN_APP_BARRIERS", f" {water} ; ")
    else:
        monkeypatch.delenv("LIANPIAN_APP_ESTATES", raising=False)
    from geo.app import mapview
    from geo.app import state as page  # the page's data functions (app.py runs geo.app.page)

    assert not hasattr(mapview, "streamlit_folium")  # imported only in the page's run (_folium)
    at = _run()
    assert at.session_state["spec"] == page.start_spec()
    planned = []
    monkeypatch.setattr(
        geo.pipeline, "run_plan", lambda inputs, policy: planned.append(inputs) or "plan"
    )
    monkeypatch.setattr(page.maps, "build_map", lambda result, options: None)
    page.warm_up()
    (inputs,) = planned
    # the first page's cached steps take the head start's inputs and plan, each once
    policy = page.default_policy()
    assert page._HEAD_START.take("inputs", page.start_spec(), policy) is inputs
    assert page._HEAD_START.take("result", page.start_spec(), policy) == "plan"
    assert page._HEAD_START.take("result", page.start_spec(), policy) is None
    assert isinstance(inputs.estates, gpd.GeoDataFrame)
    assert len(inputs.estates) == len(geo.pipeline.load_inputs().estates)
    assert inputs.synthetic is not from_env
    if from_env:  # the files named in the environment, the water as a barrier layer
        assert Path(inputs.sources["estates"]) == estates
        assert inputs.barriers is not None and len(inputs.barriers) == len(demo.barriers)


def test_a_page_run_changes_its_own_copy_of_the_kept_plan():
    """The plans are kept as objects (st.cache_resource): what a page run does to its plan (a
    five-year plan attached, a column added, a quality note) stays in that run's copy."""
    from geo.app import state

    kept = geo.pipeline.run_plan(geo.pipeline.load_inputs())
    notes, columns = len(kept.quality), list(kept.estates.columns)
    mine = state.own_copy(kept)
    mine.estates = mine.estates.assign(plan_year=2023)  # as geo.pipeline.attach_plan does
    mine.extra_layers["plan_rows"] = mine.estates.head(1)
    mine.districts["note"] = "x"
    first_status = kept.estates["status"].iloc[0]
    mine.estates.loc[mine.estates.index[0], "status"] = "changed in this run"
    mine.quality.add("warning", "plan", "row 1", "a note of this run")
    assert list(kept.estates.columns) == columns and "note" not in kept.districts
    assert "plan_rows" not in kept.extra_layers and len(kept.quality) == notes
    assert kept.estates["status"].iloc[0] == first_status
    assert len(mine.estates) == len(kept.estates) and "plan_year" in mine.estates


def _own_files(tmp_path, monkeypatch) -> dict[str, str]:
    """The demo's estates as a file of its own (not the demo), started on via LIANPIAN_APP_*."""
    demo = geo.pipeline.load_inputs()
    estates = tmp_path / "estates.gpkg"
    demo.estates.to_file(estates, layer="estates")
    monkeypatch.setenv("LIANPIAN_APP_ESTATES", str(estates))
    return {"estates": str(estates)}


def test_switching_language_keeps_the_data_and_the_choices(tmp_path, monkeypatch):
    """Issue 22: after 中文 -> English and a widget change, the page still shows the planner's data."""
    _own_files(tmp_path, monkeypatch)
    at = _run()
    assert at.radio(key="data_mode").value == "paths"
    at.radio(key="colour_by").set_value("priority").run()
    zh = _metrics(at)
    assert not at.info  # not the demo: no synthetic-data note
    at.radio(key="lang").set_value("en").run()
    assert at.radio(key="data_mode").value == "paths"
    assert at.radio(key="colour_by").value == "priority"
    at.number_input(key="pol.districts.max_estates").increment().run()
    assert not at.exception and not at.error
    en = _metrics(at)
    assert en["eligible"] == zh["符合条件"]  # the same estates, not the demo's
    assert "Households not covered" not in en  # the demo has elderly-care facilities; this file not
    assert at.radio(key="data_mode").value == "paths"
    assert at.session_state["spec"][0][1].endswith("estates.gpkg")
    at.radio(key="lang").set_value("zh").run()
    assert _metrics(at)["片区"] == en["Districts"]
    assert at.radio(key="colour_by").value == "priority"


def test_the_tools_own_result_geopackage_is_taken_as_estates(tmp_path):
    """Issue 22: yesterday's `lianpian plan --out` GeoPackage, uploaded as estates, plans again:
    its computed columns are dropped (reported in the quality notes), its input columns kept."""
    from geo import io

    result = geo.pipeline.run_plan(geo.pipeline.load_inputs())
    own = tmp_path / "lianpian_plan.gpkg"
    io.write_layers(own, result.layers())
    at = _run()
    at.radio(key="data_mode").set_value("upload").run()
    at.file_uploader(key="u_estates").set_value(
        ("lianpian_plan.gpkg", own.read_bytes(), "application/geopackage+sqlite3")
    ).run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    assert _metrics(at)["符合条件"] == str(result.summary()["by_status"]["eligible"])
    notes = next(df.value for df in at.dataframe if "说明" in df.value.columns)
    assert notes["说明"].str.contains("这是 lianpian 的规划成果").any()
    assert "lianpian_plan.gpkg" in at.session_state["spec"][0][1]


def test_an_exception_on_a_page_run_shows_the_apps_panel_and_keeps_the_plan(monkeypatch):
    """Issue 22: a bug in a planning run is the app's own panel (no traceback, no temp path), the
    last good plan stays on screen and the progress box is gone."""
    real = geo.pipeline.run_plan

    def failing(inputs, policy=None, **kw):
        if policy is not None and policy.eligibility.cutoff_year == 1995:
            raise TypeError("Axis must be specified in /tmp/lianpian-upload-x/secret.gpkg")
        return real(inputs, policy, **kw)

    monkeypatch.setattr(geo.pipeline, "run_plan", failing)
    at = _run()
    before = _metrics(at)
    at.number_input(key="pol.eligibility.cutoff_year").set_value(1995).run()
    assert not at.exception
    (panel,) = at.error
    assert "出现了问题" in panel.value and "TypeError" in panel.value
    assert "/tmp" not in panel.value and "secret" not in panel.value
    assert "上一次成功" in panel.value
    assert _metrics(at) == before  # the previous plan is still shown
    assert any("上一次成功" in w.value for w in at.warning)
    assert "正在计算……" not in str(at.main)  # the progress box went away
    at.radio(key="lang").set_value("en").run()
    assert "Something went wrong" in at.error[0].value
    at.number_input(key="pol.eligibility.cutoff_year").set_value(2000).run()
    assert not at.error and _metrics(at)["eligible"] == before["符合条件"]


def test_an_exception_drawing_the_page_is_the_apps_panel(monkeypatch, fake_map):
    import geo.app.page as page

    def broken(*args, **kwargs):
        raise KeyError("/tmp/somewhere")

    monkeypatch.setattr(page, "quality_tab", broken)
    at = _run()
    (panel,) = at.error
    assert "页面显示时出错" in panel.value and "/tmp" not in panel.value


def test_the_two_language_files_have_the_same_keys():
    import tomllib
    from importlib import resources

    tables = [
        tomllib.loads(resources.files("geo.app").joinpath("strings", f).read_text("utf-8"))
        for f in ("zh.toml", "en.toml")
    ]

    def keys(table, prefix=""):
        out = set()
        for k, v in table.items():
            out |= keys(v, f"{prefix}{k}.") if isinstance(v, dict) else {prefix + k}
        return out

    assert keys(tables[0]) == keys(tables[1])


def _plan_csv(result, unmatched: str = "完全不存在的花园") -> bytes:
    eligible = result.estates.loc[result.estates["status"] == "eligible"].head(5)
    rows = [
        {"年份": 2021 + i, "小区名称": name, "户数": int(hh)}
        for i, (name, hh) in enumerate(zip(eligible["name"], eligible["households"], strict=True))
    ]
    rows.append({"年份": 2025, "小区名称": unmatched, "户数": 120})
    return pd.DataFrame(rows).to_csv(index=False).encode("utf-8")


def test_plan_upload_and_an_edited_match_becomes_an_override(fake_map):
    """Issue 21: the five-year plan table uploaded in the app: matched, on the map by year; an
    edit of the review's estate_id is a planner's decision (an override) and is matched again."""
    result = geo.pipeline.run_plan(geo.pipeline.load_inputs())
    at = _run()
    at.file_uploader(key="u_plan").set_value(("plan.csv", _plan_csv(result), "text/csv")).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert _metrics(at)["已匹配"] == "5" and _metrics(at)["未匹配"] == "1"
    assert at.slider(key="plan_year").value == 2025  # the year slider of the map
    # the plan checks in the interface language: check names, details and sources
    checks = next(d.value for d in at.dataframe if "检查项" in d.value.columns)
    text = " ".join(str(v) for v in checks.to_numpy().ravel())
    assert "延伸纳入比例" in text and "按户数" in text and "extension_share" not in text
    assert "by households" not in text and "Yangjiang" not in text
    target = result.estates.loc[result.estates["status"] == "eligible"].iloc[10]
    at.session_state["plan_review_editor"] = {
        "edited_rows": {5: {"estate_id": str(target["estate_id"])}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    assert not at.exception, at.exception
    # plan_row is the file's row number (header = row 1): the sixth plan row is row 7
    assert at.session_state["plan_decisions"] == {7: str(target["estate_id"])}
    assert _metrics(at)["已匹配"] == "6" and _metrics(at)["未匹配"] == "0"


def test_search_by_normalised_name_zooms_and_opens_the_estate(fake_map):
    from geo.core.names import normalise_name

    result = geo.pipeline.run_plan(geo.pipeline.load_inputs())
    estate = result.estates.iloc[7]
    at = _run()
    query = estate["name"].replace("小区", "") + " 小区"  # spaces and suffix do not matter
    assert normalise_name(query) == normalise_name(estate["name"])
    at.text_input(key="search").input(query).run()
    picks = at.selectbox(key="search_pick")
    assert ("estate", estate["estate_id"]) in picks.options or any(
        estate["estate_id"] in str(o) for o in picks.options
    )
    picks.set_value(("estate", estate["estate_id"])).run()
    assert not at.exception
    call = fake_map["calls"][-1]
    assert call["zoom"] == 17 and call["center"] is not None
    assert at.session_state["open_item"] == ("estate", estate["estate_id"])


def test_scenario_saved_compared_and_exported_as_policy_toml(tmp_path):
    import tomllib

    from geo.core.policy import load_policy

    at = _run()
    at.text_input(key="scenario_name").input("cutoff 2000").run()
    at.button(key="scenario_save").click().run()
    at.number_input(key="pol.eligibility.cutoff_year").set_value(1995).run()
    at.selectbox(key="scenario_a").set_value("cutoff 2000").run()
    assert not at.exception
    compare = next(df.value for df in at.dataframe if "cutoff 2000" in df.value.columns)
    assert list(compare.columns) == ["cutoff 2000", "当前参数"]
    eligible = compare.loc[compare.index.str.startswith("符合条件")].iloc[0]
    assert int(eligible["cutoff 2000"]) > int(eligible["当前参数"])
    assert any("改造资格或所属片区不同的小区" in c.value for c in at.caption)
    from geo.app.views.scenarios import import_policy, policy_toml

    text = policy_toml(tuple(at.session_state["scenarios"]["cutoff 2000"]), "cutoff 2000\nx=1")
    assert tomllib.loads(text)["eligibility"]["cutoff_year"] == 2000
    path = tmp_path / "scenario.toml"
    path.write_text(text, encoding="utf-8")
    assert load_policy(path).eligibility.cutoff_year == 2000  # runs unchanged on the CLI
    values, hidden = import_policy("scenario.toml", text.encode())
    assert dict(values)["eligibility.cutoff_year"] == 2000 and hidden == []


def test_all_districts_tender_export_is_one_zip(fake_map):
    import io as _io
    import zipfile

    at = _run()
    at.button(key="tender_build").click().run()
    assert not at.exception
    _, data = at.session_state["_tender_zip"]
    names = zipfile.ZipFile(_io.BytesIO(data)).namelist()
    districts = geo.pipeline.run_plan(geo.pipeline.load_inputs()).districts["district_id"]
    for district in districts:
        assert any(n.startswith(f"{district}_") and n.endswith(".dxf") for n in names), district


def test_tender_export_in_gbk_for_older_gis(fake_map):
    """The planner picks GBK: every Shapefile in the zip says GBK (.cpg, dBASE LDID 0x4D)."""
    import io as _io
    import zipfile

    at = _run()
    assert at.radio(key="shp_encoding").value == "utf-8"
    at.radio(key="shp_encoding").set_value("gbk").run()
    at.multiselect(key="tender_many").set_value(at.multiselect(key="tender_many").options[:2])
    at.button(key="tender_build").click().run()
    assert not at.exception
    key, data = at.session_state["_tender_zip"]
    assert key[3] == "gbk"
    zf = zipfile.ZipFile(_io.BytesIO(data))
    cpgs = [n for n in zf.namelist() if n.endswith(".cpg")]
    dbfs = [n for n in zf.namelist() if n.endswith(".dbf")]
    assert cpgs and all(zf.read(n).strip().upper() == b"GBK" for n in cpgs)
    assert dbfs and all(zf.read(n)[29] == 0x4D for n in dbfs)


def test_offline_osm_basemap_is_said_and_the_offline_basemaps_offered(monkeypatch, fake_map):
    import geo.app.page as page

    monkeypatch.setattr(page, "osm_reachable", lambda: False)
    at = _run()
    assert any("无法连接 OpenStreetMap" in w.value for w in at.warning)
    at.button(key="offline_none").click().run()
    assert at.selectbox(key="basemap").value == "none"
    assert not any("OpenStreetMap" in w.value for w in at.warning)
    monkeypatch.setattr(page, "osm_reachable", lambda: True)
    at.selectbox(key="basemap").set_value("osm").run()
    assert not at.warning


def test_district_drawing_for_reports_is_the_tender_png():
    from geo.app.state import policy_defaults, start_spec
    from geo.app.views.exports import district_png

    result = geo.pipeline.run_plan(geo.pipeline.load_inputs())
    district = str(result.districts["district_id"].iloc[0])
    items = tuple(sorted(policy_defaults().items()))
    data = district_png(start_spec(), items, district)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"


def _frame_with(at: AppTest, column: str) -> pd.DataFrame:
    """The first table on the page with ``column`` (tables without a selection have no key)."""
    return next(df.value for df in at.dataframe if column in df.value.columns)


def _survey_files(tmp_path, monkeypatch, rows: int = 6) -> pd.DataFrame:
    """The demo's footprints alone (no attributes) and a listing-site-like survey table whose
    points (GCJ-02, as picked on AMap) are the first ``rows`` estates' inner points; both
    started on via LIANPIAN_APP_*. Returns the estates the survey rows belong to."""
    import geopandas as gpd

    from geo.core.crs import wgs84_to_gcj02

    demo = geo.pipeline.load_inputs().estates
    footprints = demo[["estate_id", "name", "county", "geometry"]]
    estates = tmp_path / "footprints.gpkg"
    footprints.to_file(estates, layer="estates")
    picked = footprints.head(rows)
    points = gpd.GeoDataFrame(
        picked[["estate_id", "name", "county"]],
        geometry=picked.representative_point(),
        crs=demo.crs,
    ).to_crs(4326)
    gcj = wgs84_to_gcj02(points)
    survey = tmp_path / "listing.csv"
    pd.DataFrame(
        {
            "小区名称": gcj["name"],
            "所属区域": gcj["county"],
            "建筑年代": ["1990年建成"] * rows,
            "房屋总数": ["300户"] * rows,
            "经度": gcj.geometry.x,
            "纬度": gcj.geometry.y,
        }
    ).to_csv(survey, index=False)
    monkeypatch.setenv("LIANPIAN_APP_ESTATES", str(estates))
    monkeypatch.setenv("LIANPIAN_APP_SURVEY", str(survey))
    return picked


def test_survey_crs_choice_join_table_and_the_estates_survey_row(tmp_path, monkeypatch, fake_map):
    """Issue 15: the survey table's point system is a choice of the data sidebar (part of the
    input spec); the 数据质量 tab shows the survey_join table and figures; an estate's details
    say which survey row it got and how."""
    picked = _survey_files(tmp_path, monkeypatch)
    at = _run()
    assert dict(at.session_state["spec"])["survey_crs"] is None
    table = _frame_with(at, "匹配结果")
    assert "匹配结果" in table.columns and "距离（m）" in table.columns
    assert (table["匹配结果"] != "位置与名称均相符").sum() >= 3  # read as WGS-84: ~500 m off
    at.selectbox(key="survey_crs").set_value("gcj02").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert dict(at.session_state["spec"])["survey_crs"] == "gcj02"
    table = _frame_with(at, "匹配结果")
    assert list(table["匹配结果"]) == ["位置与名称均相符"] * len(picked)
    assert list(table["调查表行号"]) == [str(n) for n in range(2, 2 + len(picked))]
    assert list(table["匹配小区名称"]) == list(picked["name"])
    assert set(table["距离（m）"]) == {"0"}
    lines = " ".join(m.value for m in at.markdown)
    assert f"从调查表获得建成年份的小区 {len(picked)} 个" in lines
    at.multiselect(key="survey_outcomes").set_value(["unmatched"]).run()
    assert not len(_frame_with(at, "匹配结果"))
    first = picked.iloc[0]
    fake_map["click"] = {"properties": {"estate_id": first["estate_id"], "name": first["name"]}}
    at.run()
    said = [m.value.replace("\\", "") for m in at.markdown if "调查表来源" in m.value]
    assert said == [
        f"**调查表来源**：listing.csv 第 2 行 {first['name']} — 位置与名称均相符，距离 0 m，名称相似度 1.00"
    ]
    at.radio(key="lang").set_value("en").run()
    assert at.selectbox(key="survey_crs").value == "gcj02"
    said = [m.value.replace("\\", "") for m in at.markdown if "Survey row" in m.value]
    assert (
        said and "listing.csv row 2" in said[0] and "matched by location and name, 0 m" in said[0]
    )


def test_district_readiness_lots_investment_funding_and_mobilisation(monkeypatch, fake_map):
    """Issue 17 in the 片区 tab: readiness, tender lots, investment by content class and funding
    by source (万元) in the card and table; the not-ready estate's reason and a standalone
    estate's reason in the details; who still needs persuading for the opened district."""
    real = geo.pipeline.run_plan

    def with_standalone(inputs, policy=None, **kw):
        result = real(inputs, policy, **kw)
        alone = result.estates["district_id"].isna()
        result.estates.loc[alone.idxmax(), "standalone_reason"] = "neighbours cannot take it (x)"
        return result

    monkeypatch.setattr(geo.pipeline, "run_plan", with_standalone)
    result = with_standalone(geo.pipeline.load_inputs())
    district = result.districts.iloc[0]
    at = _run()
    table = at.dataframe(key="districts_table").value
    for label in ("标段数", "需再争取户数（户）", "片区具备实施条件"):
        assert label in table.columns, label
    fake_map["click"] = {"properties": {"district_id": district["district_id"]}}
    at.run()
    assert not at.exception
    card = next(df.value for df in at.dataframe if "项目" in df.value.columns)
    entries = dict(zip(card["项目"], card["内容"], strict=True))
    assert entries["标段数"] == f"{int(district['lots']):,}"
    assert entries["需再争取户数（户）"] == f"{int(district['households_to_persuade']):,}"
    assert entries["未具备条件的小区（个）"] == f"{int(district['members_not_ready']):,}"
    assert entries["基础类投资（万元）"] == f"{district['investment_basic_yuan'] / 1e4:,.1f}"
    funding = result.extra_layers["funding"]
    mine = funding.loc[funding["id"] == district["district_id"]].set_index("source")
    assert float(entries["居民和企业出资（万元）"].replace(",", "")) == pytest.approx(
        mine.loc["residents", "wan_yuan"], abs=0.05
    )
    members = _frame_with(at, "小区编号")
    assert "标段" in members.columns
    waiting = _frame_with(at, "暂缓原因")
    expected = result.extra_layers["mobilisation"]
    expected = expected.loc[expected["district_id"] == district["district_id"]]
    assert sorted(waiting["小区编号"]) == sorted(expected["estate_id"])
    assert list(waiting["需再争取户数（户）"]) == [
        f"{n:,}" for n in expected["households_to_persuade"]
    ]
    postponed = result.estates.loc[result.estates["ready"].eq(False).fillna(False)].iloc[0]
    fake_map["click"] = {"properties": {"estate_id": postponed["estate_id"], "name": "x"}}
    at.run()
    entries = dict(zip(*(lambda c: (c["项目"], c["内容"]))(_frame_with(at, "项目")), strict=True))
    assert entries["暂缓原因"] == postponed["ready_reason_zh"] and entries["具备实施条件"] == "否"
    alone = result.estates.loc[result.estates["standalone_reason"].notna()].iloc[0]
    fake_map["click"] = {"properties": {"estate_id": alone["estate_id"], "name": "x"}}
    at.run()
    entries = dict(zip(*(lambda c: (c["项目"], c["内容"]))(_frame_with(at, "项目")), strict=True))
    assert entries["单独改造原因"] == "neighbours cannot take it (x)"


def test_schedule_beside_the_plan_milestones_and_official_tables(fake_map):
    """Issues 18/21: the proposed schedule's per-year totals beside the uploaded plan's; the
    milestone status on a chosen date from an uploaded progress table; in 导出 the official
    tables and the schedule workbook, written as the CLI writes them."""
    import datetime
    import io as _io

    import openpyxl

    from geo.fiveyear.schedule import propose_schedule
    from geo.fiveyear.yearly import plan_vs_schedule

    result = geo.pipeline.run_plan(geo.pipeline.load_inputs())
    schedule = propose_schedule(
        pd.DataFrame(result.estates.drop(columns="geometry")),
        result.policy,
        districts=pd.DataFrame(result.districts.drop(columns="geometry")),
    )
    at = _run()
    assert not any("建议户数" in df.value.columns for df in at.dataframe)  # proposed on demand
    at.toggle(key="schedule_on").set_value(True).run()
    years = _frame_with(at, "建议户数")
    assert list(years["年份"]) == list(range(2021, 2026))
    assert list(years["建议户数"]) == list(schedule.years["households"])
    assert set(years["计划户数"]) == {0}  # no plan yet
    at.file_uploader(key="u_plan").set_value(("plan.csv", _plan_csv(result), "text/csv")).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    years = _frame_with(at, "建议户数")
    plan_year = pd.Series(  # the five matched rows, one a year (see _plan_csv)
        list(range(2021, 2026)),
        index=result.estates.loc[result.estates["status"] == "eligible", "estate_id"].head(5),
    )
    expected = plan_vs_schedule(result.estates, schedule, plan_year)
    assert list(years["计划户数"]) == list(expected["plan_households"])
    assert sum(years["计划户数"]) > 0
    # a cap changes the proposal (the schedule is cached per cap)
    at.number_input(key="schedule_households_cap").set_value(1000).run()
    assert not at.exception
    assert max(_frame_with(at, "建议户数")["建议户数"]) <= 1000

    names = result.estates.loc[result.estates["status"] == "eligible", "name"].head(3).tolist()
    progress = pd.DataFrame(
        {
            "小区名称": names,
            "县(区)": ["示例县"] * 3,
            "户数": ["100", "300", "200"],
            "年份": ["2022"] * 3,
            "开工日期": ["2022-05-10", "", "2022-06-20"],
            "完工日期": ["2022-06-30", "", ""],
        }
    ).to_csv(index=False)
    at.file_uploader(key="u_progress").set_value(
        ("progress.csv", progress.encode("utf-8"), "text/csv")
    ).run()
    assert at.date_input(key="progress_date").value == datetime.date(2022, 12, 31)  # year's end
    at.selectbox(key="progress_city").set_value("xinyang").run()
    at.date_input(key="progress_date").set_value(datetime.date(2022, 7, 5)).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    report = _frame_with(at, "里程碑")
    started = report.loc[report["里程碑"] == "06-30 开工 50%"].iloc[0]
    assert started["状态"] == "已完成" and started["已完成户数"] == 300  # 100 + 200 of 600
    assert started["阶段"] == "开工" and started["县(区)"] == "全部"
    per_estate = _frame_with(at, "下一个里程碑").set_index("小区名称")
    assert per_estate.loc[names[1], "状态"] == "滞后"
    assert _metrics(at)["滞后"] == "1"

    at.radio(key="tables_source").set_value("plan").run()
    at.button(key="tables_build").click().run()
    assert not at.exception
    _, built = at.session_state["_tables"]
    assert set(built) == {"annual_plan.xlsx", "task_table.xlsx", "schedule.xlsx"}
    annual = openpyxl.load_workbook(_io.BytesIO(built["annual_plan.xlsx"]))
    assert annual.sheetnames[:2] == ["全部 all", "2021"]
    assert str(annual["全部 all"]["A1"].value).startswith("附件3")
    task = openpyxl.load_workbook(_io.BytesIO(built["task_table.xlsx"]))
    assert str(task[task.sheetnames[0]]["A1"].value).startswith("附件1")
    book = openpyxl.load_workbook(_io.BytesIO(built["schedule.xlsx"]))
    assert "与导入计划比较 comparison" in book.sheetnames and "年度汇总 years" in book.sheetnames


@pytest.mark.realdata
def test_listing_site_table_in_bd09_joins_in_the_app(monkeypatch):
    """Issue 15 on the shared Hangzhou data: the fang.com crawl (BD-09) declared in the sidebar
    gives the join `lianpian plan --survey-crs bd09` gives, shown in 数据质量."""
    from geo.planning.survey import survey_summary

    from .conftest import shared_file

    estates = shared_file("hangzhou/osm_landuse_residential.gpkg")
    survey = shared_file("hangzhou/fang_estates_2019_bd09.csv")
    monkeypatch.setenv("LIANPIAN_APP_ESTATES", str(estates))
    monkeypatch.setenv("LIANPIAN_APP_SURVEY", str(survey))
    result = geo.pipeline.run_plan(
        geo.pipeline.load_inputs(str(estates), survey=str(survey), survey_crs="bd09")
    )
    figures = survey_summary(result.estates, result.survey_join)
    at = AppTest.from_file(APP, default_timeout=600).run()
    at.selectbox(key="survey_crs").set_value("bd09").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    table = _frame_with(at, "匹配结果")
    # a long join table shows its first rows and says how many there are
    assert len(table) == min(figures["rows"], 1000)
    assert any(f"共 {figures['rows']:,} 行" in c.value for c in at.caption)
    # one outcome at a time: all its rows
    at.multiselect(key="survey_outcomes").set_value(["matched_location_name"]).run()
    table = _frame_with(at, "匹配结果")
    words = (table["匹配结果"] == "位置与名称均相符").sum()
    assert words == len(table) == figures["rows_by_match"]["matched_location_name"] > 0
    lines = " ".join(m.value for m in at.markdown)
    assert f"从调查表获得建成年份的小区 {figures['build_year_from_survey']:,} 个" in lines
    assert figures["build_year_from_survey"] >= 0.15 * figures["estates"]


def test_an_opened_ready_district_says_so_above_the_mobilisation_list(monkeypatch, fake_map):
    real = geo.pipeline.run_plan

    def first_district_ready(inputs, policy=None, **kw):
        result = real(inputs, policy, **kw)
        waiting = result.extra_layers["mobilisation"]
        first = result.districts["district_id"].iloc[0]
        result.extra_layers["mobilisation"] = waiting.loc[waiting["district_id"] != first]
        return result

    monkeypatch.setattr(geo.pipeline, "run_plan", first_district_ready)
    first = str(first_district_ready(geo.pipeline.load_inputs()).districts["district_id"].iloc[0])
    at = _run()
    fake_map["click"] = {"properties": {"district_id": first}}
    at.run()
    assert any(f"片区 {first} 的小区均已具备实施条件" in c.value for c in at.caption)
    assert first not in set(_frame_with(at, "暂缓原因")["片区编号"])
