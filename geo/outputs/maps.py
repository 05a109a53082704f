"""The planner's web map: a folium (Leaflet) map of a :class:`~geo.pipeline.PlanResult`.

With its ``map_*`` parts, the only module that knows folium. :func:`build_map` draws estates coloured by eligibility status or
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
  :func:`geo.core.crs.wgs84_to_gcj02` (the data themselves are never changed). Estates, districts,
  adjacency, corridors and the five-year plan are sent as quantised, delta-encoded geometry with
  property columns and drawn on one Leaflet canvas (:mod:`geo.outputs.map_canvas`: 50,000 estates
  in an 8.7 MB page, docs/benchmarks.md).

The map is built here from :mod:`geo.outputs.map_layers` (layers, legend, labels, display
geometry), :mod:`geo.outputs.map_style` (colours, words, tooltip text) and
:mod:`geo.outputs.map_assets` (offline Leaflet, safe rendering); their public names are re-exported.

May import: folium/branca, :mod:`geo.core`, :mod:`geo.pipeline`, the ``geo.outputs.map_*`` modules.
"""

from __future__ import annotations

from dataclasses import dataclass

import folium
import geopandas as gpd
from branca.element import Element, MacroElement

from geo.core import _memo
from geo.outputs.map_assets import (
    _BRANCA_RENDER,
    LEAFLET_DIR_ENV,
    LEAFLET_VERSION,
    MapAssetsError,
    _assets,
    _render_macros,
    _Text,
    _use_offline_assets,
    leaflet_dir,
)
from geo.outputs.map_colouring import EstateColouring
from geo.outputs.map_layers import (
    _DISPLAY,
    CITY_ZOOM,
    LABEL_MIN_ZOOM,
    _adjacency_layer,
    _CityZoom,
    _district_layers,
    _estate_layer,
    _extra_layers,
    _feature_collection,
    _GeoJson,
    _Legend,
    _MetricScale,
    _plan_layer,
    _tiles,
    display_frame,
)
from geo.outputs.map_style import (
    EXTRA_LAYER_STYLES,
    EXTRA_LAYERS_HIDDEN,
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
    estate_properties,
    gap_colour,
    priority_colour,
    status_label,
)
from geo.pipeline import PlanResult

__all__ = [
    "BASEMAPS",
    "CITY_ZOOM",
    "COLOUR_BY",
    "EXTRA_LAYERS_HIDDEN",
    "EXTRA_LAYER_STYLES",
    "GAP_CLASSES",
    "GAP_NONE",
    "GAP_TOP",
    "LABEL_MIN_ZOOM",
    "LANGUAGES",
    "LEAFLET_DIR_ENV",
    "LEAFLET_VERSION",
    "NOT_SCORED",
    "PLAN_EARLIER_COLOUR",
    "PLAN_YEAR_COLOUR",
    "PRIORITY_CLASSES",
    "PRIORITY_TOP",
    "STATUS_COLOURS",
    "TEXT",
    "Element",
    "EstateColouring",
    "MacroElement",
    "MapAssetsError",
    "MapOptions",
    "build_map",
    "display_frame",
    "estate_properties",
    "gap_colour",
    "leaflet_dir",
    "map_html",
    "priority_colour",
    "status_label",
]
# private names re-exported for the tests and benchmarks that patch or inspect them (same objects)
_REEXPORTED = (_BRANCA_RENDER, _DISPLAY, _GeoJson, _CityZoom, _Legend, _Text, _assets, _memo)
_REEXPORTED_FUNCTIONS = (_feature_collection, _render_macros, _use_offline_assets)

BASEMAPS = ("osm", "light", "tianditu", "amap", "local", "none")
COLOUR_BY = ("status", "priority", "elderly_gap")
LANGUAGES = ("zh", "en")


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


def build_map(
    result: PlanResult,
    options: MapOptions | None = None,
    *,
    estates_display: gpd.GeoDataFrame | None = None,
    colouring: EstateColouring | None = None,
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
    colouring
        Fill the estates from this (:mod:`geo.outputs.map_colouring`: scenario changes,
        milestone status) instead of ``options.colour_by``, with its legend and tooltip rows;
        the plan layer too when ``colouring.on_plan``.

    Returns
    -------
    folium.Map
        Layers: estates, districts (outlines), district labels (from ``LABEL_MIN_ZOOM``),
        adjacency (and blocked adjacency), the five-year plan when estates have ``plan_year`` (all
        drawn on one canvas, :mod:`geo.outputs.map_canvas`), and the extra layers present (SVG);
        a layer control, a legend and a metric scale bar. Scripts and styles are inlined, no CDN
        is used.

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
    m = folium.Map(tiles=None, control_scale=False, prefer_canvas=False, zoom_control=True)
    _use_offline_assets(m)
    m.add_child(_MetricScale())
    _tiles(m, options)
    props = estate_properties(estates, options.language)
    estate_layer = _estate_layer(m, estates_display, props, options, colouring)
    _district_layers(m, result, options)
    _adjacency_layer(m, result, options)
    if "plan_year" in estates:
        planned = estates_display.assign(plan_year=estates["plan_year"])
        _plan_layer(m, estate_layer, planned, props, options, colouring)
    _extra_layers(m, result.extra_layers or {}, options)
    # the layer list is an icon until hovered: the map stays uncluttered (issue 21)
    folium.LayerControl(collapsed=True).add_to(m)
    minx, miny, maxx, maxy = estates_display.total_bounds
    m.fit_bounds([[miny, minx], [maxy, maxx]])
    return m


def map_html(m: folium.Map) -> str:
    """Return the map as one standalone HTML page (scripts and styles inlined, works offline)."""
    return m.get_root().render()
