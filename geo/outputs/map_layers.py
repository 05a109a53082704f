"""The layers of the web map (part of :mod:`geo.outputs.maps`).

Holds the display geometry (:func:`display_frame`: simplified, EPSG:4326, rounded; memoised), the
GeoJSON writer, the legend and district-label elements, the basemaps, and the estate, district,
adjacency, five-year-plan and extra layers that :func:`geo.outputs.maps.build_map` puts together.

May import: folium/branca, geopandas/shapely, :mod:`geo.core`, :mod:`geo.pipeline` (the
:class:`~geo.pipeline.PlanResult` it draws), :mod:`geo.outputs.map_style`.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from jinja2 import Template

from geo.core import _memo
from geo.core._memo import Memo, digest
from geo.core.crs import WGS84, wgs84_to_gcj02
from geo.outputs.map_canvas import LINE, CanvasLabels, CanvasLayer, encode_geometry
from geo.outputs.map_style import (
    EXTRA_LAYER_STYLES,
    EXTRA_LAYERS_HIDDEN,
    EXTRA_TOOLTIPS,
    GAP_CLASSES,
    GAP_NONE,
    GAP_TOP,
    NOT_SCORED,
    PLAN_EARLIER_COLOUR,
    PLAN_YEAR_COLOUR,
    PRIORITY_CLASSES,
    PRIORITY_TOP,
    STATUS_COLOURS,
    TEXT,
    _esc,
    _number,
    extra_value,
    status_label,
)
from geo.pipeline import PlanResult

if TYPE_CHECKING:
    from geo.outputs.map_colouring import EstateColouring
    from geo.outputs.maps import MapOptions

#: District labels are shown from this zoom on (street level: a district spans a few hundred m).
LABEL_MIN_ZOOM = 14
#: Below this zoom (the city at a glance) corridors and site markers let clicks through.
CITY_ZOOM = 16

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


def _bounds(frame: gpd.GeoDataFrame) -> list[list[float | None]]:
    if len(frame) and not frame.geometry.is_empty.all():
        west, south, east, north = (float(v) for v in frame.total_bounds)
        return [[south, west], [north, east]]
    return [[None, None], [None, None]]


def _polygonal(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Rows of ``frame`` whose display geometry is a (multi)polygon (others cannot be filled)."""
    return frame.loc[frame.geometry.geom_type.isin(["Polygon", "MultiPolygon"])]


class _CityZoom(MacroElement):
    """Marks the map ``lp-city`` below ``zoom``.

    Corridors and site markers then let clicks through to the estates under them (CSS in
    :mod:`geo.outputs.map_assets`).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function(map) {
            function toggle() {
                map.getContainer().classList.toggle("lp-city", map.getZoom() < {{ this.zoom }});
            }
            map.on("zoomend", toggle);
            map.whenReady(toggle);
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, zoom: int) -> None:
        super().__init__()
        self._name = "CityZoom"
        self.zoom = int(zoom)


class _MetricScale(MacroElement):
    """Leaflet's scale bar in metres and kilometres only (no miles and feet)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        L.control.scale({imperial: false}).addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )


def _estate_layer(
    m: folium.Map,
    frame: gpd.GeoDataFrame,
    props: pd.DataFrame,
    options: MapOptions,
    colouring: EstateColouring | None = None,
) -> CanvasLayer:
    t = TEXT[options.language]
    colour = {"status": "colour", "priority": "pcolour", "elderly_gap": "gcolour"}[
        options.colour_by
    ]
    frame = _polygonal(frame)
    shown = props.loc[frame.index]
    fields = ["name", "build_year", "households", "status", "reason", "priority", "district"]
    if (props["gap"] != "").any():
        fields.append("gap")
    columns = {c: shown[c] for c in ["estate_id", *fields, colour]}
    tooltip = [(f, t[f]) for f in fields]
    style = {"color": "#333333", "weight": 0.6, "fillOpacity": 0.75, "className": "lp-estate"}
    if colouring is not None:  # scenario changes, milestones: their rows after the name
        extra, extra_tip = colouring.columns(frame.index)
        columns |= extra
        tooltip = [tooltip[0], *extra_tip, *tooltip[1:]]
        colour, style = "xcolour", {**style, "color": colouring.outline}
    layer = CanvasLayer(
        t["estates"],
        encode_geometry(frame.geometry.values, options.precision),
        columns,
        style=style,
        fill_from=colour,
        tooltip=tooltip,
        role="estates",
        bounds=_bounds(frame),
    )
    layer.add_to(m)
    if colouring is not None:
        m.add_child(_Legend(colouring.title, list(colouring.legend)))
    elif options.colour_by == "status":
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
    if colouring is None:
        m.add_child(_Legend(title, entries))
    return layer


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
    frame = _polygonal(frame)
    if frame.empty:
        return
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
    outlines = CanvasLayer(
        t["districts"],
        encode_geometry(frame.geometry.values, options.precision),
        {c: props[c] for c in props.columns},
        kind="outline",  # clicks inside a district reach its estates
        style={"color": "#08306b", "weight": 2.5, "dashArray": "6 3"},
        tooltip=list(
            zip(
                ["district_id", "estates", "households", "investment", "rank"],
                [t[k] for k in ["district", "estates_n", "households", "investment", "rank"]],
                strict=True,
            )
        ),
        role="districts",
        bounds=_bounds(frame),
    )
    outlines.add_to(m)
    labels = shapely.point_on_surface(frame.geometry.values)
    CanvasLabels(
        t["district_labels"],
        [
            [round(pt.y, options.precision), round(pt.x, options.precision), text]
            for pt, text in zip(labels, props["district_id"], strict=True)
        ],
        min_zoom=LABEL_MIN_ZOOM,
        targets=outlines,
    ).add_to(m)


def _adjacency_layer(m: folium.Map, result: PlanResult, options: MapOptions) -> None:
    edges = result.adjacency
    if not options.show_adjacency or edges is None or edges.empty:
        return
    t = TEXT[options.language]
    frame = display_frame(
        edges, simplify_m=0, precision=options.precision, gcj02=options.basemap == "amap"
    )
    frame = frame.loc[frame.geometry.geom_type.isin(["LineString", "MultiLineString"])]
    blocked = (
        frame["blocked"].fillna(False).astype(bool)
        if "blocked" in frame
        else pd.Series(False, index=frame.index)
    )
    for mask, key, style in (
        (~blocked, "adjacency", {"color": "#525252", "weight": 1, "opacity": 0.5}),
        (blocked, "blocked", {"color": "#e31a1c", "weight": 1.2, "dashArray": "3 3"}),
    ):
        part = frame.loc[mask]
        if part.empty:
            continue
        # one non-interactive path of many parts: no Leaflet object per link
        lines = shapely.multilinestrings(shapely.get_parts(part.geometry.values))
        CanvasLayer(
            t[key],
            encode_geometry(np.array([lines], dtype=object), options.precision, LINE),
            {},
            kind=LINE,
            style=style,
            interactive=False,
            show=key == "adjacency",
            bounds=_bounds(part),
        ).add_to(m)


def _plan_layer(
    m: folium.Map,
    estates: CanvasLayer,
    frame: gpd.GeoDataFrame,
    props: pd.DataFrame,
    options: MapOptions,
    colouring: EstateColouring | None = None,
) -> None:
    """The five-year plan up to ``options.plan_year``, sharing the estates' geometry in the page.

    Filled by year (this year dark, earlier light), or from ``colouring`` when it is
    ``on_plan`` (milestone status of the estates planned up to the year).
    """
    frame = _polygonal(frame)  # the estates drawn, in the estate layer's order
    years = pd.to_numeric(frame["plan_year"], errors="coerce")
    if years.notna().sum() == 0:
        return
    t = TEXT[options.language]
    year = int(options.plan_year if options.plan_year is not None else years.max())
    keep = (years.notna() & (years <= year)).to_numpy()
    part = frame.loc[keep]
    fields = ["name", "plan_year", "build_year", "households", "status"]
    data = props.loc[part.index, ["estate_id", "name", "build_year", "households", "status"]]
    data["plan_year"] = years.loc[part.index].astype(int).astype(str)
    data["pcol"] = np.where(years.loc[part.index] == year, PLAN_YEAR_COLOUR, PLAN_EARLIER_COLOUR)
    tooltip = [(f, t[f]) for f in fields]
    if colouring is not None and colouring.on_plan:
        extra, extra_tip = colouring.columns(part.index)
        data = data.assign(**extra).assign(pcol=extra["xcolour"])
        tooltip = [tooltip[0], tooltip[1], *extra_tip, *tooltip[2:]]
    CanvasLayer(
        t["plan"].format(year=year),
        None,
        {c: data[c] for c in data.columns if c != "xcolour"},
        style={"color": "#08306b", "weight": 1, "fillOpacity": 0.85},
        fill_from="pcol",
        tooltip=tooltip,
        role="plan",
        source=estates,
        subset=np.flatnonzero(keep).tolist(),
        bounds=_bounds(part),
    ).add_to(m)


def _extra_layers(
    m: folium.Map, layers: Mapping[str, pd.DataFrame], options: MapOptions
) -> list[str]:
    """Draw the known extra layers that are present; return the names drawn.

    Tooltips name the columns in words with units (:data:`EXTRA_TOOLTIPS`); a layer of unknown
    columns shows its first six columns as they are named. Lines (corridors) go on the canvas,
    points and polygons are SVG above it; both let clicks through to the estates below
    ``CITY_ZOOM`` (``interactive_from``, :class:`_CityZoom`).
    """
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
        known = [row for row in EXTRA_TOOLTIPS.get(key, []) if row[0] in frame.columns]
        if known:
            rows = [(c, t[label], how) for c, label, how in known]
        else:
            rows = [
                (c, str(c), "text")
                for c in frame.columns
                if c != frame.geometry.name
                and not isinstance(frame[c].dtype, gpd.array.GeometryDtype)
                and (frame[c].dtype.kind in "biufO" or isinstance(frame[c].dtype, pd.StringDtype))
            ][:6]
        props = pd.DataFrame(
            {
                f"c{i}": [extra_value(v, how, options.language) for v in frame[c]]
                for i, (c, _, how) in enumerate(rows)
            },
            index=frame.index,
        )
        tooltip = [(f"c{i}", label) for i, (_, label, _) in enumerate(rows)]
        kinds = set(frame.geometry.geom_type)
        if kinds <= {"LineString", "MultiLineString"}:  # corridors: on the canvas, like estates
            CanvasLayer(
                t.get(key, key),
                encode_geometry(frame.geometry.values, options.precision, LINE),
                {c: props[c] for c in props.columns},
                kind=LINE,
                style=dict(style),
                tooltip=tooltip,
                role=key,
                interactive_from=CITY_ZOOM,
                show=key not in EXTRA_LAYERS_HIDDEN,
                bounds=_bounds(frame),
            ).add_to(m)
            drawn.append(key)
            continue
        data = gpd.GeoDataFrame(props, geometry=frame.geometry, crs=frame.crs)
        kwargs: dict[str, object] = {}
        if kinds == {"Point"}:
            kwargs["marker"] = folium.CircleMarker(radius=7)
        if rows:
            kwargs["tooltip"] = folium.GeoJsonTooltip(
                fields=[f for f, _ in tooltip],
                aliases=[html.escape(label) for _, label in tooltip],
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
    if drawn:
        m.add_child(_CityZoom(CITY_ZOOM))
    return drawn
