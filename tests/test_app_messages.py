"""Errors and quality notes in the app speak the interface language (issue 22).

AppTest, headless, on the embedded demo town: a bad upload (a Shapefile without a CRS, a survey
CSV without an id or a name column) shows the Chinese sentence in the Chinese interface and the
English one in English, naming the file and never the temporary folder; the data-quality tab
lists the demo's build-year repairs in the interface language.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import box
from streamlit.testing.v1 import AppTest

import geo.pipeline
from geo.core.messages import catalog
from geo.pipeline.result import DEMO_ESTATES
from tests.test_app import APP, _fresh_cache  # noqa: F401  (the app tests' autouse fixture)


def _run(lang: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    if lang == "en":
        at.sidebar.radio(key="lang").set_value("en").run()
    assert not at.exception, at.exception
    return at


def _shapefile_without_crs(tmp_path: Path) -> bytes:
    """A zipped Shapefile of two squares whose .prj is missing."""
    folder = tmp_path / "shp"
    folder.mkdir()
    gdf = gpd.GeoDataFrame(
        {"name": ["甲小区", "乙小区"]},
        geometry=[box(0, 0, 100, 100), box(200, 0, 300, 100)],
        crs=None,
    )
    gdf.to_file(folder / "estates_nocrs.shp", encoding="utf-8")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for part in folder.iterdir():
            if part.suffix != ".prj":
                archive.write(part, part.name)
    return buffer.getvalue()


def _upload(at: AppTest, key: str, name: str, data: bytes) -> str:
    at.radio(key="data_mode").set_value("upload").run()
    if key != "u_estates":  # the other layers are read with estates
        demo = DEMO_ESTATES.read_bytes()
        at.file_uploader(key="u_estates").set_value(("demo_town.gpkg", demo, "x")).run()
        assert not at.error, [e.value for e in at.error]
    at.file_uploader(key=key).set_value((name, data, "application/octet-stream")).run()
    assert not at.exception, at.exception
    assert at.error, "a bad upload must show a message"
    return at.error[0].value


def _no_temp_path(text: str) -> None:
    assert "/tmp" not in text and "tmp" not in text.lower().split("：")[0]
    assert "Traceback" not in text


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_shapefile_without_crs_is_one_sentence_in_the_interface_language(tmp_path, lang):
    message = _upload(
        _run(lang), "u_estates", "estates_nocrs.zip", _shapefile_without_crs(tmp_path)
    )
    zh = catalog("zh")["the layer has no CRS (.prj missing?)"]
    if lang == "zh":
        assert "图层没有坐标系" in message and zh.split("（")[0] in message
        assert "the layer has no CRS" not in message and "Fix" not in message
        assert "处理办法" in message and "仍显示上一次的数据" in message
    else:
        assert "the layer has no CRS" in message and "坐标系" not in message
        assert "Fix: add the .prj" in message
    # the fix names the sidebar's control, not the command line's option
    assert "--source-crs" not in message
    assert ("侧栏“坐标系”" if lang == "zh" else "the sidebar's “Coordinate system”") in message
    assert "estates_nocrs" in message  # the file the planner chose, not a temporary path
    _no_temp_path(message)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_survey_csv_without_id_or_name_column_is_a_chinese_or_english_sentence(lang):
    table = "户数,建成年代\n120,1995\n80,1998\n".encode()
    message = _upload(_run(lang), "u_survey", "调查表.csv", table)
    if lang == "zh":
        assert "调查表既没有编号列，也没有名称列" in message
        assert "survey has neither" not in message
    else:
        assert "the survey has neither an id column nor a name column" in message
    assert "调查表.csv" in message
    _no_temp_path(message)


def _quality_notes(at: AppTest, column: str):
    tables = [df.value for df in at.dataframe if column in df.value.columns]
    assert tables, "the data-quality tab shows the notes"
    return tables[-1]


def test_the_data_quality_tab_lists_the_repairs_in_chinese():
    notes = _quality_notes(_run("zh"), "说明")
    phases = notes.loc[notes["说明"].str.contains("读作分期")]
    assert len(phases) >= 3, notes["说明"].tolist()
    assert phases["处理建议"].str.contains("请核对读取结果").all()
    assert phases["位置"].str.startswith("小区 ").all()
    # every note in Chinese: the phases and the missing management-model column alike
    assert notes["说明"].str.contains("改造后管理模式").sum() == 1
    assert not notes["说明"].str.contains("read as|the survey has no", regex=True).any()


def test_the_data_quality_tab_lists_the_repairs_in_english():
    notes = _quality_notes(_run("en"), "Note")
    phases = notes.loc[notes["Note"].str.contains("read as phases")]
    assert len(phases) >= 3
    assert not notes["Note"].str.contains("读作").any()
    assert phases["Where"].str.startswith("row ").all()
    assert notes["Note"].str.contains("the survey has no column management_model_agreed").sum() == 1


def test_long_tables_show_their_first_rows_and_say_where_the_rest_is(monkeypatch):
    """A city's estate-level tables are cut on the page (the full ones are in the downloads)."""
    from geo.app.views import fields

    monkeypatch.setattr(fields, "TABLE_ROWS_SHOWN", 2)
    at = _run("zh")
    notes = _quality_notes(at, "说明")
    assert len(notes) == 2
    total = len(geo.pipeline.run_plan(geo.pipeline.load_inputs()).quality)
    assert total > 2
    assert any(f"显示前 2 行，共 {total} 行" in c.value for c in at.caption)


def test_command_line_options_are_named_as_the_apps_controls():
    from geo.app.messages import in_app_words

    zh = in_app_words("请用 --source-crs gcj02 重新运行（百度数据用 bd09）", "zh")
    assert zh == "请用侧栏“坐标系” gcj02 重新运行（百度数据用 bd09）"
    assert in_app_words("请核对名称、区县和 --survey-crs；补充小区编号", "zh") == (
        "请核对名称、区县和侧栏“调查表坐标系”；补充小区编号"
    )
    en = in_app_words("rerun with --source-crs EPSG:4549", "en")
    assert en == "rerun with the sidebar's “Coordinate system” EPSG:4549"
    # options the app has no control for stay; --plan-review is not --plan
    assert in_app_words("give --plan-review and --out", "en") == "give --plan-review and --out"
    assert in_app_words("no option here", "zh") == "no option here"
