"""The planner's web map: a folium (Leaflet) map of a :class:`~geo.pipeline.PlanResult`.

The only module that knows folium. :func:`build_map` draws estates coloured by eligibility status or
by priority (with a legend), district outlines with labels, adjacency links, the five-year plan up
to a chosen year (when estates carry ``plan_year``) and the layers other steps add to
``PlanResult.extra_layers`` (``corridors``, ``elderly_sites``, ... only when present), under a layer
control, on one basemap.

Three rules hold for everything drawn:

- **Offline.** folium loads Leaflet, jQuery and Bootstrap from public CDNs; planning offices often
  have no internet. The map uses none of jQuery or Bootstrap, and Leaflet 1.9.4 (pinned in
  ``package-lock.json``, installed from the npm registry by ``./dev``) is inlined as ``data:`` URLs,
  so the page loads no script or style from the network; only basemap tiles do, and the ``none``
  basemap needs nothing.
- **Escaped.** Every text taken from data (names, reasons, ids of uploads) is HTML-escaped before it
  reaches a tooltip, so ``<img src=x onerror=alert(1)>`` shows as text.
- **Small.** Geometry is simplified for display (``simplify_m`` metres, in the run's metric CRS,
  topology kept) and coordinates are rounded (``precision`` decimals of a degree: 5 is about 1 m),
  in EPSG:4326; AMap tiles are GCJ-02, so for the ``amap`` basemap the display copy is shifted with
  :func:`geo.core.crs.wgs84_to_gcj02` (the data themselves are never changed).
"""

from __future__ import annotations

import base64
import functools
import html
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, Figure, MacroElement
from folium.map import Layer
from jinja2 import Template

from geo.core import _memo
from geo.core._memo import Memo, digest
from geo.core.crs import WGS84, wgs84_to_gcj02
from geo.core.errors import LianpianError
from geo.pipeline import PlanResult

BASEMAPS = ("osm", "light", "tianditu", "amap", "local", "none")
COLOUR_BY = ("status", "priority", "elderly_gap")
LANGUAGES = ("zh", "en")
LEAFLET_VERSION = "1.9.4"
#: Folder of leaflet.js / leaflet.css: $LIANPIAN_LEAFLET_DIR, else node_modules of the repository.
LEAFLET_DIR_ENV = "LIANPIAN_LEAFLET_DIR"
_REPO = Path(__file__).resolve().parents[2]

STATUS_COLOURS = {
    "eligible": "#1b7837",
    "extension": "#7fbf7b",
    "needs_survey": "#f1a340",
    "ineligible": "#bababa",
    "excluded": "#6a6a6a",
}
# Priority classes (score 0-100, upper bounds), sequential YlOrRd (ColorBrewer).
PRIORITY_CLASSES = ((40.0, "#ffffb2"), (50.0, "#fecc5c"), (60.0, "#fd8d3c"), (70.0, "#f03b20"))
PRIORITY_TOP = "#bd0026"
NOT_SCORED = "#d9d9d9"
# Elderly-care floor-area gap per estate (m², upper bounds; 0 = none), sequential Reds (ColorBrewer).
GAP_NONE = "#a1d99b"
GAP_CLASSES = ((20.0, "#fee0d2"), (50.0, "#fc9272"), (100.0, "#de2d26"))
GAP_TOP = "#a50f15"
PLAN_YEAR_COLOUR = "#2166ac"
PLAN_EARLIER_COLOUR = "#92c5de"

TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "estates": "小区",
        "districts": "片区",
        "district_labels": "片区标注",
        "adjacency": "相邻关系",
        "blocked": "被阻隔的相邻",
        "plan": "五年计划（至{year}年）",
        "plan_this": "{year}年改造",
        "plan_before": "{year}年前已改造",
        "corridors": "共享管线走廊",
        "elderly_sites": "养老服务设施建议选址",
        "elderly_gaps": "养老服务覆盖缺口",
        "elderly_coverage": "养老服务覆盖",
        "name": "小区名称",
        "build_year": "建成年代",
        "households": "户数",
        "status": "改造资格",
        "reason": "原因",
        "priority": "优先度",
        "district": "片区",
        "estates_n": "小区数",
        "investment": "估算投资",
        "rank": "优先排序",
        "unnamed": "（未命名）",
        "unknown": "未知",
        "hh": "户",
        "wan": "万元",
        "legend_status": "改造资格",
        "legend_priority": "优先度（0-100，仅符合条件的小区）",
        "not_scored": "不参与排序",
        "legend_gap": "养老服务用房缺口（m²/小区，5分钟生活圈）",
        "no_gap": "无缺口",
        "not_assessed": "未评估（户数不详或无设施数据）",
        "gap": "养老用房缺口",
        "eligible": "符合条件（2000年底前建成）",
        "extension": "延伸纳入（2001-2005年）",
        "needs_survey": "需补充调查",
        "ineligible": "建成较新",
        "excluded": "排除",
        "plan_year": "计划年份",
    },
    "en": {
        "estates": "Estates",
        "districts": "Districts",
        "district_labels": "District labels",
        "adjacency": "Adjacency",
        "blocked": "Blocked adjacency",
        "plan": "Five-year plan (to {year})",
        "plan_this": "renovated in {year}",
        "plan_before": "renovated before {year}",
        "corridors": "Shared pipeline corridors",
        "elderly_sites": "Proposed elderly-care sites",
        "elderly_gaps": "Elderly-care coverage gaps",
        "elderly_coverage": "Elderly-care coverage",
        "name": "Name",
        "build_year": "Build year",
        "households": "Households",
        "status": "Status",
        "reason": "Reason",
        "priority": "Priority",
        "district": "District",
        "estates_n": "Estates",
        "investment": "Est. investment",
        "rank": "Priority rank",
        "unnamed": "(unnamed)",
        "unknown": "unknown",
        "hh": "households",
        "wan": "10k yuan",
        "legend_status": "Eligibility status",
        "legend_priority": "Priority (0-100, eligible estates only)",
        "not_scored": "not ranked",
        "legend_gap": "Elderly-care floor-area gap (m² per estate, 5-minute circle)",
        "no_gap": "no gap",
        "not_assessed": "not assessed (households unknown or no facilities)",
        "gap": "Elderly-care gap",
        "eligible": "eligible (built by end of 2000)",
        "extension": "extension (built 2001-2005)",
        "needs_survey": "needs survey",
        "ineligible": "too recent",
        "excluded": "excluded",
        "plan_year": "Plan year",
    },
}

#: Extra layers drawn when a step has put them into ``PlanResult.extra_layers``.
EXTRA_LAYER_STYLES: dict[str, dict[str, object]] = {
    "corridors": {"color": "#6a3d9a", "weight": 4, "opacity": 0.85},
    "elderly_coverage": {"color": "#1f78b4", "weight": 1, "fillOpacity": 0.12},
    "elderly_sites": {"color": "#b15928", "weight": 2, "fillColor": "#ff7f00", "fillOpacity": 0.9},
}
#: Extra layers listed in the layer control but not drawn at first (they cover the estates).
#: (Gaps are a colouring of the estates, ``colour_by="elderly_gap"``, not a second polygon layer.)
EXTRA_LAYERS_HIDDEN = frozenset({"elderly_coverage"})


class MapAssetsError(LianpianError, RuntimeError):
    """Leaflet's files are not installed (run ``./dev``, which runs ``npm ci``)."""


@dataclass(frozen=True)
class MapOptions:
    """How to draw the map.

    Attributes
    ----------
    colour_by
        ``"status"`` (eligibility), ``"priority"`` (score classes of eligible estates) or
        ``"elderly_gap"`` (elderly-care floor-area gap per estate, m², when facilities were given).
    basemap
        One of :data:`BASEMAPS`. ``tianditu`` needs ``tianditu_key`` (the user's own ``tk``);
        ``amap`` shifts the displayed data to GCJ-02; ``local`` draws the tiles served at
        ``local_tiles_url`` (a local folder or MBTiles file, see :mod:`geo.io.tiles`) and, like
        ``none``, works offline.
    local_tiles_url
        Leaflet URL template (``http://127.0.0.1:PORT/{z}/{x}/{y}``) of the ``local`` basemap.
    local_tiles_max_zoom
        Deepest zoom of the local tiles; Leaflet enlarges them beyond it.
    local_tiles_name
        Label of the local tiles (shown as the attribution).
    plan_year
        Year of the five-year-plan layer (estates of that year and earlier); ``None`` = the last
        year. Ignored when estates have no ``plan_year`` column.
    simplify_m
        Display simplification tolerance in metres (Douglas-Peucker, topology kept).
    precision
        Decimals of the rounded degree coordinates (5 = about 1 m).
    """

    colour_by: str = "status"
    basemap: str = "osm"
    tianditu_key: str | None = None
    plan_year: int | None = None
    language: str = "zh"
    simplify_m: float = 2.0
    precision: int = 5
    show_adjacency: bool = True
    local_tiles_url: str | None = None
    local_tiles_max_zoom: int = 18
    local_tiles_name: str = ""

    def __post_init__(self) -> None:
        """Check the choices (ValueError naming the option)."""
        if self.colour_by not in COLOUR_BY:
            raise ValueError(f"colour_by must be one of {COLOUR_BY}, not {self.colour_by!r}")
        if self.basemap not in BASEMAPS:
            raise ValueError(f"basemap must be one of {BASEMAPS}, not {self.basemap!r}")
        if self.language not in LANGUAGES:
            raise ValueError(f"language must be one of {LANGUAGES}, not {self.language!r}")
        if self.basemap == "tianditu" and not (self.tianditu_key or "").strip():
            raise ValueError("the Tianditu basemap needs the user's tk key")
        if self.basemap == "local" and not (self.local_tiles_url or "").startswith("http"):
            raise ValueError("the local basemap needs the URL of a tile server (geo.io.tiles)")
        if not 0 <= self.simplify_m <= 100 or not 3 <= self.precision <= 8:
            raise ValueError("simplify_m must be 0-100 m and precision 3-8 decimals")


# --------------------------------------------------------------------------- rendering


class _Text(Element):
    """An element's rendered output, put into the page as it is (never read as a template)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = "Text"
        self.text = text

    def render(self, **kwargs) -> str:
        """Return the text unchanged."""
        return self.text


def _render_macros(self: MacroElement, **kwargs) -> None:
    """``MacroElement.render`` without compiling each output again as a Jinja template.

    branca puts every element's rendered header, HTML and script into the page as
    ``Element(output)``, which compiles that output as a new Jinja template and renders it once
    more. Data would then be read as template code: an estate named ``{{ 7*7 }}`` would show
    ``49``, one named ``{% if %}`` would stop the map from rendering (and a crafted name could run
    code on the server). The output also holds the GeoJSON of every layer, and compiling 2 MB of it
    for the 2,112 Hangzhou estates took about 0.1 s per render. Same output otherwise.
    """
    figure = self.get_root()
    if not isinstance(figure, Figure):
        raise TypeError("You cannot render this Element if it is not in a Figure.")
    module = self._template.module.__dict__
    for part in ("header", "html", "script"):
        macro = module.get(part)
        if macro is not None:
            getattr(figure, part).add_child(_Text(macro(self, kwargs)), name=self.get_name())
    for element in list(self._children.values()):
        element.render(**kwargs)


# folium (through branca) renders every map element with this; geo.outputs.maps is the only module that
# draws maps, so the whole app renders data as text only
_BRANCA_RENDER = getattr(MacroElement.render, "branca_render", MacroElement.render)
_render_macros.branca_render = _BRANCA_RENDER
MacroElement.render = _render_macros


# --------------------------------------------------------------------------- offline assets


def leaflet_dir() -> Path:
    """Return the folder holding Leaflet's ``leaflet.js``, ``leaflet.css`` and ``images/``.

    Raises
    ------
    MapAssetsError
        If neither ``$LIANPIAN_LEAFLET_DIR`` nor ``node_modules/leaflet/dist`` has them.
    """
    env = os.environ.get(LEAFLET_DIR_ENV)
    folder = Path(env) if env else _REPO / "node_modules" / "leaflet" / "dist"
    if not (folder / "leaflet.js").is_file() or not (folder / "leaflet.css").is_file():
        raise MapAssetsError(
            f"Leaflet {LEAFLET_VERSION} not found in {folder}. Fix: run ./dev (it runs npm ci), "
            f"or set {LEAFLET_DIR_ENV} to a folder with leaflet.js and leaflet.css"
        )
    return folder


def _data_url(mime: str, payload: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(payload).decode('ascii')}"


_OWN_CSS = """
.leaflet-container { background: #f2efe9; font: 13px/1.4 "Noto Sans CJK SC", "Microsoft YaHei",
  "PingFang SC", sans-serif; }
path.lp-estate:hover, path.lp-plan:hover { stroke-width: 3; stroke: #000; }
.lp-legend { background: rgba(255,255,255,.92); padding: 6px 9px; border-radius: 4px;
  box-shadow: 0 1px 4px rgba(0,0,0,.3); line-height: 1.5; max-width: 260px; }
.lp-legend b { display: block; margin-bottom: 2px; }
.lp-legend i { display: inline-block; width: 14px; height: 12px; margin-right: 6px;
  vertical-align: -1px; border: 1px solid #555; }
.leaflet-tooltip.lp-label { background: rgba(255,255,255,.8); border: 1px solid #333;
  box-shadow: none; font-weight: bold; padding: 1px 4px; }
.leaflet-tooltip.lp-label::before { display: none; }
.lp-far .leaflet-tooltip.lp-label { display: none; }
.lp-tip th { text-align: left; padding-right: 8px; color: #555; font-weight: normal; }
.lp-tip td { max-width: 320px; white-space: normal; }
"""


@functools.cache
def _assets(folder: str) -> tuple[str, str, str]:
    """Return the data URLs of leaflet.js, leaflet.css (images inlined) and our own CSS."""
    path = Path(folder)
    js = (path / "leaflet.js").read_bytes()
    css = (path / "leaflet.css").read_text(encoding="utf-8")

    def inline(match: re.Match[str]) -> str:
        image = path / match.group(1)
        if not image.is_file():
            return match.group(0)
        return f"url({_data_url('image/png', image.read_bytes())})"

    css = re.sub(r"url\((images/[\w@.-]+\.png)\)", inline, css)
    return (
        _data_url("text/javascript", js),
        _data_url("text/css", css.encode("utf-8")),
        _data_url("text/css", _OWN_CSS.encode("utf-8")),
    )


def _use_offline_assets(m: folium.Map) -> None:
    """Replace folium's CDN scripts and styles by Leaflet inlined as data URLs (no jQuery/Bootstrap)."""
    js, css, own = _assets(str(leaflet_dir()))
    m.default_js = [("leaflet", js)]
    m.default_css = [("leaflet_css", css), ("lianpian_css", own)]


# --------------------------------------------------------------------------- display geometry


#: Display geometry of the layers drawn lately (the app draws the same plan again for each display
#: option, and the same estates again for each policy): keyed by the geometry (WKB), CRS and
#: settings, so a hit is what a fresh computation would return (``geo.core._memo``; on in the app only).
_DISPLAY: Memo[tuple[np.ndarray, np.ndarray]] = Memo(24)


def display_frame(
    frame: gpd.GeoDataFrame, *, simplify_m: float = 2.0, precision: int = 5, gcj02: bool = False
) -> gpd.GeoDataFrame:
    """Return a display copy of ``frame``: simplified, in EPSG:4326, coordinates rounded.

    Parameters
    ----------
    frame
        Any layer with a CRS; simplification (``simplify_m`` metres) is done in it when it is
        projected in metres (the run's metric CRS), else skipped.
    precision
        Decimals kept of longitude/latitude degrees.
    gcj02
        Shift to GCJ-02 for AMap tiles (display only).

    Returns
    -------
    GeoDataFrame
        Same index and columns, EPSG:4326 (or GCJ-02 degrees), empty geometries dropped.
    """
    key = None
    if _memo.enabled():
        key = digest("display", simplify_m, precision, gcj02, layers=[frame])
        found = _DISPLAY.get(key)
        if found is not None:
            geometry, keep = found
            return _with_geometry(frame, geometry, keep)
    geoms = frame.geometry
    crs = frame.crs
    if simplify_m > 0 and crs is not None and crs.is_projected:
        geoms = geoms.simplify(simplify_m, preserve_topology=True)
    shown = gpd.GeoDataFrame(geometry=geoms, crs=crs).to_crs(WGS84)
    if gcj02:
        shown = wgs84_to_gcj02(shown)
    rounded = shapely.transform(shown.geometry.values, lambda xy: np.round(xy, precision))
    keep = ~(shapely.is_empty(rounded) | shapely.is_missing(rounded))
    geometry = np.asarray(rounded, dtype=object)
    if key is not None:
        _DISPLAY.put(key, (geometry, keep))
    return _with_geometry(frame, geometry, keep)


def _with_geometry(
    frame: gpd.GeoDataFrame, geometry: np.ndarray, keep: np.ndarray
) -> gpd.GeoDataFrame:
    """``frame`` with ``geometry`` (degrees, EPSG:4326) in place of its own, rows ``keep`` only."""
    name = frame.geometry.name
    out = gpd.GeoDataFrame(
        frame.drop(columns=name), geometry=gpd.GeoSeries(geometry, index=frame.index), crs=WGS84
    )
    if out.geometry.name != name:
        out = out.rename_geometry(name)
    out = out[list(frame.columns)]
    return out.loc[keep]


# --------------------------------------------------------------------------- text helpers


def _esc(value: object, missing: str = "") -> str:
    """HTML-escape one value from data (``<NA>``/NaN become ``missing``)."""
    if value is None or (not isinstance(value, str | bytes) and pd.isna(value)):
        return html.escape(missing)
    return html.escape(str(value), quote=True)


def _number(value: object, unit: str, *, scale: float = 1.0, digits: int = 0) -> str:
    if value is None or pd.isna(value):
        return ""
    return f"{float(value) / scale:,.{digits}f} {unit}"


def status_label(status: str, language: str = "zh") -> str:
    """Return the label of an eligibility status in ``language`` (``zh`` or ``en``)."""
    return TEXT[language].get(status, status)


def priority_colour(score: object) -> str:
    """Return the fill colour of a priority score (0-100); grey when not scored."""
    if score is None or pd.isna(score):
        return NOT_SCORED
    for upper, colour in PRIORITY_CLASSES:
        if float(score) < upper:
            return colour
    return PRIORITY_TOP


def gap_colour(gap_m2: object) -> str:
    """Return the fill colour of an estate's elderly-care floor-area gap (m²); grey when unknown."""
    if gap_m2 is None or pd.isna(gap_m2):
        return NOT_SCORED
    if float(gap_m2) <= 0:
        return GAP_NONE
    for upper, colour in GAP_CLASSES:
        if float(gap_m2) < upper:
            return colour
    return GAP_TOP


def estate_properties(estates: pd.DataFrame, language: str = "zh") -> pd.DataFrame:
    """Return the escaped tooltip properties of estates (one row per estate, same index).

    Columns: ``estate_id``, ``name``, ``build_year``, ``households`` (with 户), ``status`` (label),
    ``reason``, ``priority``, ``district``, ``gap`` (elderly-care gap, m²), ``colour`` (by status),
    ``pcolour`` (by priority) and ``gcolour`` (by elderly-care gap). Every text value is HTML-escaped.
    """
    t = TEXT[language]
    reason_col = "reason_zh" if language == "zh" else "reason_en"
    n = len(estates)

    def col(name: str) -> pd.Series:
        return estates[name] if name in estates else pd.Series([pd.NA] * n, index=estates.index)

    year_raw = col("build_year_raw")
    year = col("build_year")
    build = [
        _esc(r if isinstance(r, str) and r.strip() else y, t["unknown"])
        for r, y in zip(year_raw, year, strict=True)
    ]
    status = col("status").astype(object)
    scored = status.isin(["eligible", "extension"])
    score = col("priority_score").where(scored)
    return pd.DataFrame(
        {
            "estate_id": [_esc(v) for v in col("estate_id")],
            "name": [_esc(v, t["unnamed"]) or html.escape(t["unnamed"]) for v in col("name")],
            "build_year": build,
            "households": [
                _esc(_number(v, t["hh"]), t["unknown"]) or html.escape(t["unknown"])
                for v in col("households")
            ],
            "status": [_esc(status_label(str(s), language)) for s in status],
            "reason": [_esc(v) for v in col(reason_col)],
            "priority": [_esc("" if pd.isna(v) else f"{float(v):.1f}") for v in score],
            "district": [_esc(v) for v in col("district_id")],
            "gap": [_esc(_number(v, "m²")) for v in col("elderly_gap_m2")],
            "colour": [STATUS_COLOURS.get(str(s), NOT_SCORED) for s in status],
            "pcolour": [priority_colour(v) for v in score],
            "gcolour": [gap_colour(v) for v in col("elderly_gap_m2")],
        },
        index=estates.index,
    )


# --------------------------------------------------------------------------- map elements


class _Legend(MacroElement):
    """A Leaflet control (bottom right) showing a title and coloured entries (escaped text)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function() {
            var legend = L.control({position: "bottomright"});
            legend.onAdd = function() {
                var div = L.DomUtil.create("div", "lp-legend");
                div.innerHTML = {{ this.content|tojson }};
                return div;
            };
            legend.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, title: str, entries: list[tuple[str, str]]) -> None:
        super().__init__()
        self._name = "Legend"
        rows = "".join(
            f'<div><i style="background:{html.escape(c)}"></i>{html.escape(label)}</div>'
            for c, label in entries
        )
        self.content = f"<b>{html.escape(title)}</b>{rows}"


class _Labels(Layer):
    """A switchable layer of permanent text labels (already HTML-escaped) at points."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.layerGroup();
        {{ this.points|tojson }}.forEach(function(p) {
            L.tooltip({permanent: true, direction: "center", className: "lp-label",
                       interactive: false})
                .setLatLng([p[0], p[1]]).setContent(p[2]).addTo({{ this.get_name() }});
        });
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        (function(map) {  // labels only when zoomed in enough to read them
            function toggle() {
                map.getContainer().classList.toggle("lp-far", map.getZoom() < {{ this.min_zoom }});
            }
            map.on("zoomend", toggle);
            map.whenReady(toggle);
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, name: str, points: list[list[object]], min_zoom: int = 14) -> None:
        super().__init__(name=name, overlay=True, control=True, show=True)
        self._name = "Labels"
        self.points = points
        self.min_zoom = min_zoom


def _tiles(m: folium.Map, options: MapOptions) -> None:
    key = (options.tianditu_key or "").strip()
    if options.basemap == "osm":
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap", control=False).add_to(m)
    elif options.basemap == "light":
        folium.TileLayer("CartoDB positron", name="CARTO light", control=False).add_to(m)
    elif options.basemap == "tianditu":
        tk = html.escape(key)
        for layer, name in (("vec", "天地图"), ("cva", "天地图注记")):
            folium.TileLayer(
                tiles=(
                    f"https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile"
                    f"&VERSION=1.0.0&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
                    f"&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={tk}"
                ),
                attr="© 天地图 (国家地理信息公共服务平台)",
                name=name,
                subdomains="01234567",
                max_zoom=18,
                control=False,
            ).add_to(m)
    elif options.basemap == "local":
        folium.TileLayer(
            tiles=options.local_tiles_url,
            attr=html.escape(options.local_tiles_name or "local tiles") + " (本地瓦片)",
            name=html.escape(options.local_tiles_name or "local tiles"),
            max_native_zoom=options.local_tiles_max_zoom,
            max_zoom=20,
            control=False,
        ).add_to(m)
    elif options.basemap == "amap":
        folium.TileLayer(
            tiles="https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1"
            "&style=8&x={x}&y={y}&z={z}",
            attr="© 高德地图 AutoNavi (GCJ-02; data shifted for display)",
            name="高德地图",
            subdomains="1234",
            max_zoom=18,
            control=False,
        ).add_to(m)


def _feature_collection(frame: gpd.GeoDataFrame, columns: list[str]) -> dict:
    """GeoJSON of ``frame`` with only ``columns`` as properties (feature id = index as text).

    The same dictionary as ``frame.to_geo_dict(na="null", drop_id=False)``; the geometries are
    written by GEOS in one call (``shapely.to_geojson``) instead of a Python walk over every
    coordinate (0.15 s for the 2,112 Hangzhou estates, every map built).
    """
    texts = shapely.to_geojson(np.asarray(frame.geometry.values))
    geometries = json.loads("[" + ",".join("null" if t is None else t for t in texts) + "]")
    if columns:
        props = frame[columns].astype(object)
        records = props.where(props.notna(), None).to_dict("records")
    else:
        records = [{} for _ in range(len(frame))]
    return {
        "type": "FeatureCollection",
        "features": [
            {"id": str(i), "type": "Feature", "properties": p, "geometry": g}
            for i, p, g in zip(frame.index, records, geometries, strict=True)
        ],
    }


class _GeoJson(folium.GeoJson):
    """A ``folium.GeoJson`` of a frame in EPSG:4326 whose bounds are the frame's own.

    folium finds a layer's bounds by a Python walk over every coordinate, repeated each time the
    map is rendered (every rerun of the app: about 0.2 s for the 2,112 Hangzhou estates).
    """

    def __init__(self, frame: gpd.GeoDataFrame, columns: list[str] | None, **kwargs) -> None:
        super().__init__(_feature_collection(frame, columns or []), **kwargs)
        if len(frame) and not frame.geometry.is_empty.all():
            west, south, east, north = (float(v) for v in frame.total_bounds)
            self._bounds = [[south, west], [north, east]]
        else:
            self._bounds = [[None, None], [None, None]]

    def _get_self_bounds(self) -> list[list[float | None]]:
        return self._bounds


def _tooltip(fields: list[str], t: dict[str, str], keys: list[str]) -> folium.GeoJsonTooltip:
    return folium.GeoJsonTooltip(
        fields=fields,
        aliases=[html.escape(t[k]) for k in keys],
        class_name="lp-tip",
        sticky=True,
    )


def _estate_layer(
    m: folium.Map, frame: gpd.GeoDataFrame, props: pd.DataFrame, options: MapOptions
) -> None:
    t = TEXT[options.language]
    colour = {"status": "colour", "priority": "pcolour", "elderly_gap": "gcolour"}[
        options.colour_by
    ]
    data = gpd.GeoDataFrame(props.loc[frame.index], geometry=frame.geometry, crs=frame.crs)
    fields = ["name", "build_year", "households", "status", "reason", "priority", "district"]
    if (props["gap"] != "").any():
        fields.append("gap")
    layer = _GeoJson(
        data,
        ["estate_id", *fields, colour],
        name=t["estates"],
        style_function=lambda f: {
            "fillColor": f["properties"][colour],
            "color": "#333333",
            "weight": 0.6,
            "fillOpacity": 0.75,
            "className": "lp-estate",
        },
        tooltip=_tooltip(fields, t, fields),
        smooth_factor=1.0,
    )
    layer.add_to(m)
    if options.colour_by == "status":
        entries = [(c, status_label(s, options.language)) for s, c in STATUS_COLOURS.items()]
        title = t["legend_status"]
    elif options.colour_by == "elderly_gap":
        lower = 0.0
        entries = [(GAP_NONE, t["no_gap"])]
        for upper, c in GAP_CLASSES:
            entries.append((c, f"{lower:.0f}-{upper:.0f}"))
            lower = upper
        entries += [(GAP_TOP, f"≥ {lower:.0f}"), (NOT_SCORED, t["not_assessed"])]
        title = t["legend_gap"]
    else:
        lower = 0.0
        entries = []
        for upper, c in PRIORITY_CLASSES:
            entries.append((c, f"{lower:.0f}-{upper:.0f}"))
            lower = upper
        entries += [(PRIORITY_TOP, f"≥ {lower:.0f}"), (NOT_SCORED, t["not_scored"])]
        title = t["legend_priority"]
    m.add_child(_Legend(title, entries))


def _district_layers(m: folium.Map, result: PlanResult, options: MapOptions) -> None:
    districts = result.districts
    if districts is None or districts.empty:
        return
    t = TEXT[options.language]
    frame = display_frame(
        districts,
        simplify_m=options.simplify_m,
        precision=options.precision,
        gcj02=options.basemap == "amap",
    )
    props = pd.DataFrame(
        {
            "district_id": [_esc(v) for v in frame["district_id"]],
            "estates": [_esc(v) for v in frame["estates"]],
            "households": [_esc(_number(v, t["hh"])) for v in frame["households"]],
            "investment": [
                _esc(_number(v, t["wan"], scale=1e4)) for v in frame.get("investment_yuan")
            ],
            "rank": [_esc(v) for v in frame.get("priority_rank", pd.Series(pd.NA, frame.index))],
        },
        index=frame.index,
    )
    data = gpd.GeoDataFrame(props, geometry=frame.geometry, crs=frame.crs)
    _GeoJson(
        data,
        list(props.columns),
        name=t["districts"],
        style_function=lambda f: {
            "color": "#08306b",
            "weight": 2.5,
            "fill": False,
            "dashArray": "6 3",
            "className": "lp-district",
        },
        tooltip=_tooltip(
            ["district_id", "estates", "households", "investment", "rank"],
            t,
            ["district", "estates_n", "households", "investment", "rank"],
        ),
    ).add_to(m)
    labels = shapely.point_on_surface(data.geometry.values)
    _Labels(
        t["district_labels"],
        [
            [round(pt.y, options.precision), round(pt.x, options.precision), text]
            for pt, text in zip(labels, props["district_id"], strict=True)
        ],
    ).add_to(m)


def _adjacency_layer(m: folium.Map, result: PlanResult, options: MapOptions) -> None:
    edges = result.adjacency
    if not options.show_adjacency or edges is None or edges.empty:
        return
    t = TEXT[options.language]
    frame = display_frame(
        edges, simplify_m=0, precision=options.precision, gcj02=options.basemap == "amap"
    )
    blocked = (
        frame["blocked"].fillna(False).astype(bool)
        if "blocked" in frame
        else pd.Series(False, index=frame.index)
    )
    for mask, key, style in (
        (~blocked, "adjacency", {"color": "#2b8cbe", "weight": 1, "opacity": 0.6}),
        (blocked, "blocked", {"color": "#e31a1c", "weight": 1.2, "dashArray": "3 3"}),
    ):
        part = frame.loc[mask]
        if part.empty:
            continue
        data = gpd.GeoDataFrame(geometry=part.geometry.values, crs=part.crs)
        _GeoJson(
            data,
            None,
            name=t[key],
            style_function=lambda f, s=style: {**s, "interactive": False},
            show=key == "adjacency",
        ).add_to(m)


def _plan_layer(
    m: folium.Map, frame: gpd.GeoDataFrame, props: pd.DataFrame, options: MapOptions
) -> None:
    years = pd.to_numeric(frame["plan_year"], errors="coerce")
    if years.notna().sum() == 0:
        return
    t = TEXT[options.language]
    year = int(options.plan_year if options.plan_year is not None else years.max())
    keep = years.notna() & (years <= year)
    part = frame.loc[keep]
    data = gpd.GeoDataFrame(
        props.loc[part.index, ["estate_id", "name", "build_year", "households", "status"]],
        geometry=part.geometry,
        crs=part.crs,
    )
    data["plan_year"] = years.loc[part.index].astype(int).astype(str)
    data["pcol"] = np.where(years.loc[part.index] == year, PLAN_YEAR_COLOUR, PLAN_EARLIER_COLOUR)
    layer = _GeoJson(
        data,
        [*data.columns.drop(["geometry"])],
        name=t["plan"].format(year=year),
        style_function=lambda f: {
            "fillColor": f["properties"]["pcol"],
            "color": "#08306b",
            "weight": 1,
            "fillOpacity": 0.85,
            "className": "lp-plan",
        },
        tooltip=_tooltip(
            ["name", "plan_year", "build_year", "households", "status"],
            t,
            ["name", "plan_year", "build_year", "households", "status"],
        ),
    )
    layer.add_to(m)


def _extra_layers(
    m: folium.Map, layers: Mapping[str, pd.DataFrame], options: MapOptions
) -> list[str]:
    """Draw the known extra layers that are present; return the names drawn."""
    t = TEXT[options.language]
    drawn = []
    for key, style in EXTRA_LAYER_STYLES.items():
        layer = layers.get(key)
        if not isinstance(layer, gpd.GeoDataFrame) or layer.empty or layer.crs is None:
            continue
        frame = display_frame(
            layer,
            simplify_m=options.simplify_m,
            precision=options.precision,
            gcj02=options.basemap == "amap",
        )
        if frame.empty:
            continue
        columns = [
            c
            for c in frame.columns
            if c != frame.geometry.name
            and not isinstance(frame[c].dtype, gpd.array.GeometryDtype)
            and (frame[c].dtype.kind in "biufO" or isinstance(frame[c].dtype, pd.StringDtype))
        ][:6]
        props = pd.DataFrame(
            {f"c{i}": [_esc(v) for v in frame[c]] for i, c in enumerate(columns)},
            index=frame.index,
        )
        data = gpd.GeoDataFrame(props, geometry=frame.geometry, crs=frame.crs)
        points = bool((frame.geometry.geom_type == "Point").all())
        kwargs: dict[str, object] = {}
        if points:
            kwargs["marker"] = folium.CircleMarker(radius=7)
        if columns:
            kwargs["tooltip"] = folium.GeoJsonTooltip(
                fields=list(props.columns),
                aliases=[html.escape(str(c)) for c in columns],
                class_name="lp-tip",
            )
        _GeoJson(
            data,
            list(props.columns),
            name=t.get(key, key),
            style_function=lambda f, s=style, k=key: {**s, "className": f"lp-{k}"},
            show=key not in EXTRA_LAYERS_HIDDEN,
            **kwargs,
        ).add_to(m)
        drawn.append(key)
    return drawn


def build_map(
    result: PlanResult,
    options: MapOptions | None = None,
    *,
    estates_display: gpd.GeoDataFrame | None = None,
) -> folium.Map:
    """Build the folium map of a planning result.

    Parameters
    ----------
    result
        A :class:`~geo.pipeline.PlanResult` (layers in the run's metric CRS).
    options
        How to draw (see :class:`MapOptions`).
    estates_display
        The estates' display geometry from :func:`display_frame` (same index as
        ``result.estates``), to reuse across policy changes; computed when not given.

    Returns
    -------
    folium.Map
        Layers: estates (class ``lp-estate``, one path per estate), districts, district labels,
        adjacency (and blocked adjacency), the five-year plan when estates have ``plan_year``, and
        the extra layers present; a layer control and a legend. Scripts and styles are inlined, no
        CDN is used.

    Raises
    ------
    MapAssetsError
        If Leaflet's files are not installed.
    ValueError
        If the estates layer is empty.
    """
    options = options or MapOptions()
    estates = result.estates
    if estates.empty:
        raise ValueError("no estates to map")
    gcj = options.basemap == "amap"
    if estates_display is None:
        estates_display = display_frame(
            estates, simplify_m=options.simplify_m, precision=options.precision, gcj02=gcj
        )
    m = folium.Map(tiles=None, control_scale=True, prefer_canvas=False, zoom_control=True)
    _use_offline_assets(m)
    _tiles(m, options)
    props = estate_properties(estates, options.language)
    _estate_layer(m, estates_display, props, options)
    _district_layers(m, result, options)
    _adjacency_layer(m, result, options)
    if "plan_year" in estates:
        _plan_layer(m, estates_display.assign(plan_year=estates["plan_year"]), props, options)
    _extra_layers(m, result.extra_layers or {}, options)
    folium.LayerControl(collapsed=False).add_to(m)
    minx, miny, maxx, maxy = estates_display.total_bounds
    m.fit_bounds([[miny, minx], [maxy, maxx]])
    return m


def map_html(m: folium.Map) -> str:
    """Return the map as one standalone HTML page (scripts and styles inlined, works offline)."""
    return m.get_root().render()
