"""Errors and quality notes in a real headless Chromium, in both languages (issue 22).

On the demo town, offline: a Shapefile without a .prj given by path is refused with one sentence
in the interface language (its file name, never its folder), the previous plan stays; the
data-quality tab lists the demo's build-year repairs in the interface language. Screenshots under
``test-output/`` (browser_msg_error_zh.png, browser_msg_quality_en.png, ...).
"""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import box

from tests.test_browser import (
    OUTPUT,
    _chromium,
    _figures,
    _map,
    _need_chromium,
    _running_app,
    _settled,
    _shoot,
)

pytestmark = pytest.mark.browser

LANGS = {
    "zh": {
        "switch": "中文",
        "paths": "本机文件路径",
        "estates": "小区范围（GeoPackage / Shapefile / GeoJSON）",
        "load": "载入",
        "tab": "数据质量",
        "error": "图层没有坐标系",
        "absent": ("the layer has no CRS", "read as phases"),
    },
    "en": {
        "switch": "English",
        "paths": "Files on this computer",
        "estates": "Estate footprints (GeoPackage / Shapefile / GeoJSON)",
        "load": "Load",
        "tab": "Data quality",
        "error": "the layer has no CRS",
        "absent": ("坐标系", "读作"),
    },
}


def test_errors_and_quality_notes_in_both_languages_in_chromium(tmp_path):
    _need_chromium()
    shp = tmp_path / "lianpian-upload-x" / "nocrs_estates.shp"
    shp.parent.mkdir()
    gpd.GeoDataFrame({"name": ["甲小区"]}, geometry=[box(0, 0, 100, 100)], crs=None).to_file(
        shp, encoding="utf-8"
    )
    shp.with_suffix(".prj").unlink(missing_ok=True)
    timeout_ms = 120_000
    with _running_app() as port, _chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"http://127.0.0.1:{port}/", wait_until="domcontentloaded")
        _map(page).locator(".leaflet-container").wait_for(timeout=timeout_ms)
        _settled(page)
        before = list(_figures(page).values())
        for lang, words in LANGS.items():
            if lang == "en":
                page.get_by_text(words["switch"], exact=True).click()
                _settled(page)
            page.get_by_text(words["paths"], exact=True).click()
            _settled(page)
            page.get_by_label(words["estates"]).fill(str(shp))
            page.get_by_role("button", name=words["load"], exact=True).click()
            _settled(page)
            alert = page.locator('[data-testid="stAlert"]').filter(has_text="nocrs_estates")
            alert.first.wait_for(timeout=timeout_ms)
            text = alert.first.inner_text()
            assert words["error"] in text, text
            assert str(shp.parent) not in text and "/tmp" not in text, text
            assert not any(a in text for a in words["absent"]), text
            _shoot(alert.first, OUTPUT / f"browser_msg_error_{lang}.png")
            assert list(_figures(page).values()) == before  # the demo plan stays
            page.get_by_role("tab", name=words["tab"]).click()
            notes = page.locator('[role="tabpanel"]:visible [data-testid="stDataFrame"]').last
            notes.wait_for(timeout=timeout_ms)
            page.wait_for_timeout(800)
            _shoot(
                page.locator('[data-testid="stTabs"]').first,
                OUTPUT / f"browser_msg_quality_{lang}.png",
            )
            # the notes are drawn in a canvas grid: their text is checked by the
            # AppTest tests (tests/test_app_messages.py), here by the screenshot
            page.get_by_role("tab").first.click()
            _settled(page)
        assert page.locator('[data-testid="stException"]').count() == 0
