"""The web map (geo.outputs.maps): escaping, layers present/absent, rounded coordinates, no CDN."""

from __future__ import annotations

import json
import re

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Point, box

from geo.outputs import map_canvas, maps
from geo.pipeline import PlanInputs, run_plan
from tests.conftest import make_estates

XSS = "<img src=x onerror=alert(1)>"
CDN = ("cdn.jsdelivr", "code.jquery", "cdnjs.cloudflare", "bootstrapcdn", "unpkg.com", "d3js.org")


def _town():
    """Four 100 m squares in a row near Hangzhou (EPSG:4549), 10 m apart; the last one is new."""
    rows = [
        {
            "estate_id": chr(65 + i),
            "name": XSS if i == 0 else f"{i}号小区",
            "geometry": box(500000 + i * 110, 3340000, 500100 + i * 110, 3340100),
        }
        for i in range(4)
    ]
    rows[3].update(build_year=2015, build_year_latest=2015, build_year_raw="2015年")
    return make_estates(rows)


@pytest.fixture(scope="module")
def result():
    return run_plan(PlanInputs(estates=_town()))


def _html(result, **options):
    return maps.map_html(maps.build_map(result, maps.MapOptions(**options)))


def _geojson_layers(m):
    return [c for c in m._children.values() if isinstance(c, maps.folium.GeoJson)]


def _canvas_layers(m):
    return [c for c in m._children.values() if isinstance(c, map_canvas.CanvasLayer)]


def test_names_are_escaped_in_the_page(result):
    page = _html(result, basemap="none")
    assert XSS not in page
    assert "onerror=alert(1)" in page  # shown as text...
    assert "\\u0026lt;img src=x" in page  # ...escaped as &lt;img (JSON-encoded &)
    props = maps.estate_properties(result.estates)
    assert props.loc[0, "name"] == "&lt;img src=x onerror=alert(1)&gt;"


def test_no_cdn_and_no_network_with_the_none_basemap(result):
    page = _html(result, basemap="none")
    assert not re.search(r"""<(script|link)[^>]+(src|href)=["']https?:""", page)
    assert not any(host in page for host in CDN)
    # Leaflet and the map's own canvas layers only: no jQuery/Bootstrap
    assert page.count("data:text/javascript;base64,") == 2
    assert "tile.openstreetmap" not in page


def test_leaflet_is_version_1_9_4():
    source = (maps.leaflet_dir() / "leaflet.js").read_text(encoding="utf-8")[:200]
    assert "Leaflet 1.9.4" in source


def test_basemaps(result):
    assert "tile.openstreetmap.org" in _html(result, basemap="osm")
    page = _html(result, basemap="tianditu", tianditu_key="abc123")
    assert "tianditu.gov.cn" in page and "tk=abc123" in page
    assert "autonavi.com" in _html(result, basemap="amap")
    with pytest.raises(ValueError, match="tk key"):
        maps.MapOptions(basemap="tianditu")


def test_amap_shifts_the_display_to_gcj02(result):
    wgs = maps.display_frame(result.estates)
    gcj = maps.display_frame(result.estates, gcj02=True)
    a = shapely.get_coordinates(wgs.geometry.values)
    b = shapely.get_coordinates(gcj.geometry.values)
    shift = np.hypot(*(a - b).T)
    assert (shift > 0.002).all() and (shift < 0.01).all()  # a few hundred metres
    assert result.estates.crs.to_epsg() == 4549  # the data themselves are untouched


def test_coordinates_are_rounded_and_in_degrees(result):
    m = maps.build_map(result, maps.MapOptions(basemap="none", precision=5))
    coords = []
    for layer in _geojson_layers(m):
        for feature in layer.data["features"]:
            text = json.dumps(feature["geometry"]["coordinates"])
            coords += [float(v) for v in re.findall(r"-?\d+\.?\d*", text)]
    for layer in _canvas_layers(m):  # as the page decodes them
        coords += shapely.get_coordinates(layer.shapes()).ravel().tolist()
    assert len(coords) > 40
    assert all(abs(v - round(v, 5)) < 1e-9 for v in coords)
    assert all(29 < v < 31 or 119 < v < 121 for v in coords)


def _layer_names(m):
    return [c.layer_name for c in m._children.values() if getattr(c, "layer_name", None)]


def test_layers_present_and_absent(result):
    saved = result.extra_layers
    result.extra_layers = {}  # no corridors, elderly sites or plan: those layers are absent
    try:
        m = maps.build_map(result, maps.MapOptions(basemap="none"))
    finally:
        result.extra_layers = saved
    names = _layer_names(m)
    assert names[:4] == ["小区", "片区", "片区标注", "相邻关系"]
    assert not any("走廊" in n or "养老" in n or "五年计划" in n for n in names)
    assert len(_canvas_layers(m)[0]) == len(result.estates)
    assert "LayerControl" in {type(c).__name__ for c in m._children.values()}


def test_extra_layers_drawn_when_present(result):
    crs = result.crs
    result.extra_layers = {
        "corridors": gpd.GeoDataFrame(
            {"corridor_id": ["C1"], "note": [XSS]},
            geometry=[LineString([(500050, 3340050), (500380, 3340050)])],
            crs=crs,
        ),
        "elderly_sites": gpd.GeoDataFrame(
            {"site": ["S1"]}, geometry=[Point(500150, 3340150)], crs=crs
        ),
    }
    try:
        m = maps.build_map(result, maps.MapOptions(basemap="none", language="en"))
        page = maps.map_html(m)
    finally:
        result.extra_layers = {}
    names = _layer_names(m)
    assert "Shared pipeline corridors" in names and "Proposed elderly-care sites" in names
    assert XSS not in page


def test_plan_year_layer_filters(result):
    planned = result.estates.assign(plan_year=[2021, 2022, 2023, None])
    result_with_plan = type(result)(**{**result.__dict__, "estates": planned})
    m = maps.build_map(result_with_plan, maps.MapOptions(basemap="none", plan_year=2022))
    plan = [layer for layer in _canvas_layers(m) if "五年计划" in layer.layer_name]
    assert len(plan) == 1
    assert sorted(plan[0].column("plan_year")) == ["2021", "2022"]
    # the plan shares the estates' geometry: the same polygons, not a second copy in the page
    estates = _canvas_layers(m)[0]
    assert plan[0].geometry is None and plan[0].source is estates
    assert [s.wkt for s in plan[0].shapes()] == [s.wkt for s in estates.shapes()[:2]]


def test_priority_colours_and_legend(result):
    m = maps.build_map(result, maps.MapOptions(basemap="none", colour_by="priority"))
    legend = next(c for c in m._children.values() if isinstance(c, maps._Legend))
    assert legend.content.startswith("<b>优先度")
    page = maps.map_html(m)
    assert maps.NOT_SCORED in page  # the 2015 estate is not ranked
    assert maps.PRIORITY_CLASSES[2][1] in page  # 57.9 is in the 50-60 class
    assert maps.priority_colour(None) == maps.NOT_SCORED
    assert maps.priority_colour(95) == maps.PRIORITY_TOP
    assert maps.priority_colour(10) == maps.PRIORITY_CLASSES[0][1]


def test_missing_leaflet_is_a_clear_error(result, tmp_path, monkeypatch):
    monkeypatch.setenv(maps.LEAFLET_DIR_ENV, str(tmp_path))
    with pytest.raises(maps.MapAssetsError, match="npm ci"):
        maps.build_map(result, maps.MapOptions(basemap="none"))


def test_layer_bounds_are_those_folium_would_compute():
    """Our vectorised layer bounds equal folium's coordinate walk (so fit and zoom are unchanged)."""
    from folium.features import GeoJson
    from folium.utilities import get_bounds

    from geo.outputs import maps
    from geo.pipeline import load_inputs

    fmap = maps.build_map(run_plan(load_inputs()), maps.MapOptions(basemap="none"))
    layers = [c for c in fmap._children.values() if isinstance(c, GeoJson)]
    for layer in layers:
        expected = get_bounds(layer.data, lonlat=True)
        ours = [v for corner in layer._get_self_bounds() for v in corner]
        assert ours == pytest.approx([v for corner in expected for v in corner], abs=1e-9)
    canvas = _canvas_layers(fmap)
    assert len(layers) + len(canvas) >= 3
    for layer in canvas:  # the bounds of what the page draws
        west, south, east, north = shapely.total_bounds(layer.shapes())
        ours = [v for corner in layer._get_self_bounds() for v in corner]
        assert ours == pytest.approx([south, west, north, east], abs=1e-9)


def test_elderly_gap_colours_legend_and_tooltip(result):
    gaps = [0.0, 35.0, None, 150.0]  # no gap, 20-50 class, not assessed, >= 100
    with_gaps = type(result)(
        **{**result.__dict__, "estates": result.estates.assign(elderly_gap_m2=gaps)}
    )
    m = maps.build_map(with_gaps, maps.MapOptions(basemap="none", colour_by="elderly_gap"))
    legend = next(c for c in m._children.values() if isinstance(c, maps._Legend))
    assert legend.content.startswith("<b>养老服务用房缺口")
    estates = _canvas_layers(m)[0]
    assert estates.fill_from == "gcolour"
    colours = estates.column("gcolour")
    assert colours == [maps.GAP_NONE, maps.GAP_CLASSES[1][1], maps.NOT_SCORED, maps.GAP_TOP]
    assert estates.column("gap") == ["0 m²", "35 m²", "", "150 m²"]
    assert estates.tooltip[-1] == ("gap", "养老用房缺口")
    assert maps.gap_colour(19.9) == maps.GAP_CLASSES[0][1]
    # without the column, no gap field in the tooltip
    plain = maps.build_map(result, maps.MapOptions(basemap="none"))
    assert "gap" not in _canvas_layers(plain)[0].props


def test_data_are_never_read_as_template_code():
    """Names reach the page as text: branca would evaluate ``{{ }}`` and fail on ``{% %}``."""
    rows = [
        {
            "estate_id": "A",
            "name": "X{{ 7*7 }}Y",
            "geometry": box(500000, 3340000, 500100, 3340100),
        },
        {"estate_id": "B", "name": "{% if %}", "geometry": box(500110, 3340000, 500210, 3340100)},
    ]
    page = _html(run_plan(PlanInputs(estates=make_estates(rows))), basemap="none")
    assert "X{{ 7*7 }}Y" in page and "X49Y" not in page
    assert "{% if %}" in page


def test_the_page_is_what_branca_renders_for_plain_data(result, monkeypatch):
    def page() -> str:
        counter = iter(range(10**6))
        monkeypatch.setattr(
            maps.Element, "_generate_id", classmethod(lambda cls: f"{next(counter):032x}")
        )
        return maps.map_html(maps.build_map(result, maps.MapOptions(colour_by="priority")))

    ours = page()
    monkeypatch.setattr(maps.MacroElement, "render", maps._BRANCA_RENDER)
    assert page() == ours


def test_feature_collection_is_geopandas_geo_dict():
    frame = gpd.GeoDataFrame(
        {"a": ["x", None, "<b>", "z"], "b": [1.5, np.nan, 2.0, 3.0]},
        geometry=[
            box(120.1, 30.2, 120.10012, 30.20011),
            shapely.MultiPolygon([box(0, 0, 1, 1), box(2, 2, 3, 3)]),
            Point(120.12345, 30.54321),
            LineString([(120.0, 30.0), (120.00001, 30.00002)]),
        ],
        index=[5, 7, 9, 11],
        crs=4326,
    )
    for columns in (["a", "b"], ["a"], []):
        expected = frame[[*columns, "geometry"]].to_geo_dict(na="null", drop_id=False)
        assert json.dumps(maps._feature_collection(frame, columns), sort_keys=True) == json.dumps(
            expected, sort_keys=True
        )


@pytest.mark.parametrize("gcj02", [False, True])
def test_display_frame_memo_gives_what_a_fresh_computation_gives(result, monkeypatch, gcj02):
    from geopandas.testing import assert_geodataframe_equal

    from geo.core.crs import WGS84, wgs84_to_gcj02

    estates = result.estates.copy()
    estates.loc[estates.index[1], "geometry"] = shapely.Polygon()  # dropped from the display
    expected = estates.set_geometry(estates.geometry.simplify(2.0)).to_crs(WGS84)
    if gcj02:
        expected = wgs84_to_gcj02(expected)
    expected = expected.set_geometry(
        shapely.transform(expected.geometry.values, lambda xy: np.round(xy, 5))
    )
    expected = expected.loc[~expected.geometry.is_empty]
    monkeypatch.setattr(maps._memo, "_enabled", True)
    maps._DISPLAY.clear()
    first = maps.display_frame(estates, gcj02=gcj02)
    again = maps.display_frame(estates, gcj02=gcj02)  # from the memo
    assert len(maps._DISPLAY) == 1
    for shown in (first, again):
        assert_geodataframe_equal(shown, expected)
        assert list(shown.columns) == list(estates.columns)
    moved = estates.set_geometry(estates.geometry.translate(50, 0))
    assert not maps.display_frame(moved, gcj02=gcj02).geometry.equals(first.geometry)
    assert len(maps._DISPLAY) == 2


def test_geometry_encoding_gives_the_rounded_coordinates_back():
    square = box(120.10001, 30.20002, 120.10101, 30.20102)
    holed = shapely.Polygon(
        [(120.2, 30.2), (120.21, 30.2), (120.21, 30.21), (120.2, 30.21)],
        [[(120.201, 30.201), (120.202, 30.201), (120.202, 30.202)]],
    )
    multi = shapely.MultiPolygon([box(120.3, 30.3, 120.30005, 30.30007), square])
    encoded = map_canvas.encode_geometry(np.array([square, holed, multi]), 5)
    assert encoded["f"] == [1, 1, 2] and encoded["p"] == [1, 2, 1, 1]
    assert encoded["r"] == [4, 4, 3, 4, 4]  # rings without their closing point
    assert all(isinstance(v, int) for v in encoded["c"])
    assert max(abs(v) for v in encoded["c"][2:]) < 10**5  # differences, not whole coordinates
    for got, expected in zip(
        map_canvas.decode_geometry(encoded), [square, holed, multi], strict=True
    ):
        assert shapely.normalize(got).equals_exact(shapely.normalize(expected), 1e-9)
        for polygon in shapely.get_parts(got):  # oriented for the page's nonzero fill
            assert polygon.exterior.is_ccw and not any(r.is_ccw for r in polygon.interiors)
    lines = [LineString([(120.1, 30.1), (120.10003, 30.10004)])]
    lines.append(shapely.MultiLineString([lines[0].coords, [(120.2, 30.2), (120.2, 30.3)]]))
    encoded = map_canvas.encode_geometry(np.array(lines), 5, map_canvas.LINE)
    assert [g.wkt for g in map_canvas.decode_geometry(encoded, map_canvas.LINE)] == [
        g.wkt for g in lines
    ]
    with pytest.raises(ValueError, match="another geometry type"):
        map_canvas.encode_geometry(np.array([Point(1, 2)]), 5)


def test_repeated_property_values_are_sent_once():
    status = ["eligible"] * 30 + ["extension"] * 10
    column = map_canvas.encode_column(status)
    assert column["k"] == ["eligible", "extension"] and len(column["i"]) == 40
    assert map_canvas.decode_column(column) == status
    names = [f"{i}号" for i in range(5)] + [None]
    assert map_canvas.encode_column(names) == names  # all different: a plain list


def test_status_colours_are_those_of_the_tender_maps(result):
    from geo.outputs import drawings

    for status, colour in drawings._STATUS_COLOURS.items():
        assert maps.STATUS_COLOURS[status] == colour  # 延伸纳入 orange on both
    assert len(set(maps.STATUS_COLOURS.values())) == len(maps.STATUS_COLOURS)
    page = _html(result, basemap="none")
    assert "L.control.scale({imperial: false})" in page  # metres only
    assert "L.control.scale()" not in page


def test_corridor_and_site_tooltips_in_words(result):
    crs = result.crs
    result.extra_layers = {
        "corridors": gpd.GeoDataFrame(
            {
                "district_id": ["D0001"],
                "utilities": ["water,gas"],
                "kind": ["trunk"],
                "length_m": [330.4],
                "cost_yuan": [125000.0],
                "clearance_m": [1.5],
                "clearance_ok": [False],
            },
            geometry=[LineString([(500050, 3340050), (500380, 3340050)])],
            crs=crs,
        ),
        "elderly_sites": gpd.GeoDataFrame(
            {"site_id": ["S1"], "source": ["estate"], "households_served": [1234]},
            geometry=[Point(500150, 3340150)],
            crs=crs,
        ),
    }
    try:
        zh = maps.build_map(result, maps.MapOptions(basemap="none"))
        en = maps.build_map(result, maps.MapOptions(basemap="none", language="en"))
    finally:
        result.extra_layers = {}

    def tooltip(m, name):
        canvas = [c for c in _canvas_layers(m) if c.layer_name == name]
        if canvas:  # lines are drawn on the canvas
            return {label: canvas[0].column(f)[0] for f, label in canvas[0].tooltip}
        layer = next(c for c in _geojson_layers(m) if c.layer_name == name)
        tip = next(c for c in layer._children.values() if type(c).__name__ == "GeoJsonTooltip")
        values = layer.data["features"][0]["properties"]
        return dict(zip(tip.aliases, [values[f] for f in tip.fields], strict=True))

    assert tooltip(zh, "共享管线走廊") == {
        "片区": "D0001",
        "管线": "给水、燃气",
        "类型": "干线（服务两个及以上小区）",
        "长度": "330 m",
        "估算造价": "12.5 万元",
        "与建筑最小净距要求": "1.5 m",
        "净距": "不满足（距建筑过近）",
    }
    assert tooltip(en, "Shared pipeline corridors")["Utilities"] == "water supply, gas"
    assert tooltip(en, "Proposed elderly-care sites") == {
        "Site": "S1",
        "Source": "inside an estate",
        "Households served": "1,234 households",
    }
    page = maps.map_html(zh)
    assert "lp-city" in page  # sites let clicks through at city zoom...
    corridors = next(c for c in _canvas_layers(zh) if c.role == "corridors")
    assert corridors.interactive_from == maps.CITY_ZOOM  # ...and so do corridors


def test_district_labels_are_one_layer_from_a_zoom_level(result):
    m = maps.build_map(result, maps.MapOptions(basemap="none"))
    (labels,) = [c for c in m._children.values() if isinstance(c, map_canvas.CanvasLabels)]
    assert labels.min_zoom == maps.LABEL_MIN_ZOOM
    districts = next(c for c in _canvas_layers(m) if c.role == "districts")
    assert labels.targets is districts and districts.kind == "outline"
    assert [p[2] for p in labels.points] == list(result.districts["district_id"])
    assert "L.tooltip(" not in maps.map_html(m)  # no permanent tooltip per district
