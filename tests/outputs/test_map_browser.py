"""The map of 20,000 tiled Hangzhou estates in headless Chromium (not timed; the benchmark times it).

The page :func:`geo.outputs.maps.build_map` writes (what the app sends) must draw every estate on its
canvas (``lpMap.status()``), show no district label at the city view, show the labels of the
districts in view from ``LABEL_MIN_ZOOM`` on and none a zoom level below, open the district of a
clicked label, and show an estate's tooltip wide enough to read. Skips without ../shared/data or
/usr/bin/chromium (fails on CI without Chromium).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.conftest import shared_file
from tests.test_browser import _chromium, _need_chromium

pytestmark = [pytest.mark.browser, pytest.mark.realdata]

REPO = Path(__file__).resolve().parents[2]
N_ESTATES = 20_000


@pytest.fixture(scope="module")
def page_20k(tmp_path_factory):
    shared_file("hangzhou/osm_landuse_residential.gpkg")
    _need_chromium()
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from _tiling import tiled_inputs
    finally:
        sys.path.pop(0)
    from geo.outputs import maps
    from geo.pipeline import load_inputs, run_plan

    tiled = tiled_inputs(N_ESTATES)
    path, layer = tiled.estates.rsplit("::", 1)
    result = run_plan(
        load_inputs(path, estates_layer=layer, survey=tiled.survey, barriers=[tiled.water])
    )
    page = tmp_path_factory.mktemp("map") / "map_20000.html"
    page.write_text(
        maps.map_html(maps.build_map(result, maps.MapOptions(basemap="none"))), encoding="utf-8"
    )
    return page, result


def test_every_estate_drawn_and_labels_from_their_zoom(page_20k):
    from geo.outputs import maps

    path, result = page_20k
    with _chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        external: list[str] = []
        page.on("request", lambda r: external.append(r.url) if "http" in r.url[:4] else None)
        page.goto(path.as_uri())
        page.wait_for_function("window.lpMap && lpMap.status().painted", timeout=300_000)
        status = page.evaluate("lpMap.status()")
        # the whole city in view: every estate drawn, no label
        assert status["estates"] == len(result.estates) == N_ESTATES
        assert status["inView"] == N_ESTATES and status["drawn"] == N_ESTATES
        assert status["labels"] == 0 and status["zoom"] < maps.LABEL_MIN_ZOOM

        # level of detail: at the city's extent estates of under 3 px are drawn as their box,
        # and a real click on one reaches an estate whose box is under the mouse
        specks = page.evaluate(
            "(() => { const m = lpMap.layers.estates._map;"
            " const boxed = lpMap.layers.estates.getLayers().filter(x => x._lpBoxed);"
            " const l = boxed[Math.floor(boxed.length / 2)], px = l._lpPx;"
            " const c = m.layerPointToContainerPoint([(px[0] + px[2]) / 2, (px[1] + px[3]) / 2]);"
            " window.lpClicked = null;"
            " lpMap.layers.estates.once('click', e => { window.lpClicked = e.layer; });"
            " return {boxed: boxed.length, x: c.x, y: c.y,"
            "   widest: Math.max(...boxed.map(x => Math.max(x._lpPx[2] - x._lpPx[0],"
            "                                                x._lpPx[3] - x._lpPx[1])))}; })()"
        )
        assert specks["boxed"] > N_ESTATES // 2 and specks["widest"] <= 3
        page.mouse.click(specks["x"], specks["y"])
        page.wait_for_function("window.lpClicked !== null", timeout=10_000)
        hit = page.evaluate(
            "(() => { const l = window.lpClicked, m = l._map;"
            f" const p = m.containerPointToLayerPoint([{specks['x']}, {specks['y']}]);"
            " return l._lpBoxed && l._pxBounds.contains(p); })()"
        )
        assert hit

        district = result.districts.iloc[len(result.districts) // 2]
        outline = maps.display_frame(result.districts.loc[[district.name]])
        point = outline.geometry.iloc[0].representative_point()

        def view(zoom: int) -> dict:
            page.evaluate(
                f"lpMap.layers.estates._map.setView([{point.y}, {point.x}], {zoom},"
                " {animate: false})"
            )
            page.wait_for_timeout(300)
            return page.evaluate(
                "(() => { const m = lpMap.layers.estates._map, b = m.getBounds().pad(0.2);"
                " const s = lpMap.status(); s.expectedLabels = 0;"
                " for (const d of lpMap.layers.districts.getLayers()) {"
                "   if (b.contains(d.getBounds().getCenter())) { s.expectedLabels++; } }"
                " s.shown = [...document.querySelectorAll('.lp-label')].map(e => e.textContent);"
                " return s; })()"
            )

        below = view(maps.LABEL_MIN_ZOOM - 1)
        assert below["labels"] == 0 and below["shown"] == []
        assert below["drawnInView"] == below["inView"] > 0
        near = view(maps.LABEL_MIN_ZOOM)
        assert near["labels"] > 0 and district["district_id"] in near["shown"]
        # one label per district around the view (labels sit inside, centres roughly there)
        assert abs(near["labels"] - near["expectedLabels"]) <= max(3, near["labels"] // 4)
        assert near["drawnInView"] == near["inView"] > 0

        # a click on a label opens its district (the event streamlit-folium returns)
        opened = page.evaluate(
            "(() => { let got = null;"
            " lpMap.layers.districts.once('click', e => { got = e.layer.toGeoJSON(); });"
            f" const el = [...document.querySelectorAll('.lp-label')]"
            f".find(e => e.textContent === {district['district_id']!r});"
            " el.click(); return got && got.properties; })()"
        )
        assert opened["district_id"] == district["district_id"]

        # an estate's tooltip on hover (one outside districts: no outline or corridor near)
        page.evaluate("lpMap.layers.estates._map.setZoom(15, {animate: false})")
        page.wait_for_timeout(300)
        box = page.evaluate(
            "(() => { const m = lpMap.layers.estates._map, v = m.getBounds().pad(-0.2);"
            " const l = lpMap.layers.estates.getLayers().find(x =>"
            "   x.feature.properties.district === '' && v.contains(x.getBounds())"
            "   && x._containsPoint(m.latLngToLayerPoint(x.getBounds().getCenter())));"
            " const p = m.latLngToContainerPoint(l.getBounds().getCenter());"
            " return [p.x, p.y]; })()"
        )
        page.mouse.move(box[0], box[1])
        tip = page.locator(".leaflet-tooltip.lp-tip", has_text="小区名称")
        tip.wait_for(timeout=10_000)
        assert tip.bounding_box()["width"] > 150
        assert "建成年代" in tip.inner_text()
        page.screenshot(path=str(path.with_suffix(".png")))
        assert not errors, errors
        assert not external, external  # offline: nothing fetched from the network
