"""City-scale vector layers of the web map: compact geometry drawn on one Leaflet canvas.

folium writes every feature as GeoJSON text (about 21 bytes a coordinate) and styles it with a
JavaScript ``switch`` over every feature id; Leaflet then keeps one SVG path per feature. At
50,000 estates that is a 51 MB page and tens of seconds of styling and positioning in the browser
(issue 20). The layers here send and draw the same polygons differently:

- **Quantised, delta-encoded geometry.** Coordinates (already rounded to ``precision`` decimals of
  a degree by :func:`geo.outputs.map_layers.display_frame`) become integers of that unit, each the
  difference from the previous point, in one flat array with the ring, part and feature counts
  beside it (polygon rings without their repeated closing point). Exact: decoding gives the
  rounded coordinates back (:func:`decode_geometry`).
- **Columns, not feature objects.** Properties are sent as columns; a column with few distinct
  values (status, reason, colour) as a table of values and one small integer per feature.
- **Style from properties.** The fill colour is a property of each feature, read once when the
  feature is made; no per-id switch.
- **One canvas.** Every layer here is drawn by one shared ``L.canvas`` renderer (so a click reaches
  the topmost feature under it, whatever the layer); Leaflet simplifies each path per zoom
  (``smoothFactor``) and skips what is off screen.
- **Level of detail.** A polygon under 3 pixels each way at the current zoom (at a city's extent,
  most estates) is drawn and hit as its bounding box: four numbers instead of a point object per
  vertex projected, clipped and simplified, which is what a zoom's frames spent their garbage
  collection on at 50,000 estates (``map_canvas_js``).
- **One tooltip per layer**, its content built from the columns on hover, and district labels as
  one layer (:class:`CanvasLabels`) that holds tooltips only for the labels on screen from a zoom
  level on, instead of thousands of permanent tooltips positioned at every zoom.

Each feature still answers ``toGeoJSON()`` with its properties (what ``streamlit-folium`` returns
for a click), and ``window.lpMap.status()`` tells a test or benchmark how many estates are drawn.

May import: numpy, shapely, folium/branca, :mod:`geo.outputs.map_assets`.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import shapely
from folium.map import Layer
from jinja2 import Template

#: Geometry kinds of :func:`encode_geometry`.
POLYGON, LINE = "polygon", "line"


def script_json(value: object) -> str:
    """JSON text safe inside an HTML ``<script>`` (as Jinja's ``tojson``: ``< > & '`` escaped)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("'", "\\u0027")
    )


def encode_geometry(geometries: np.ndarray, precision: int, kind: str = POLYGON) -> dict:
    """Encode polygons or lines (degrees, rounded to ``precision`` decimals) compactly.

    Parameters
    ----------
    geometries
        Array of shapely Polygon/MultiPolygon (``kind="polygon"``) or LineString/MultiLineString
        (``kind="line"``), EPSG:4326 (or GCJ-02 degrees), none empty or missing.
    precision
        Decimals of the coordinates; they are multiplied by ``10**precision`` and must then be
        whole numbers (as :func:`~geo.outputs.map_layers.display_frame` leaves them).
    kind
        ``"polygon"`` (rings oriented, exteriors anticlockwise and holes clockwise, so that the
        page's batched fill can use the nonzero rule; the closing point of each ring is dropped:
        Leaflet closes rings) or ``"line"``.

    Returns
    -------
    dict
        ``q`` (the scale, ``10**precision``), ``c`` (flat x, y integers: the first point as it
        is, every other point as the difference from the one before it), ``r`` (points per
        ring or line), ``p`` (rings per polygon; polygons only), ``f`` (parts per feature).

    Raises
    ------
    ValueError
        If a geometry is of another kind, or empty.
    """
    geoms = np.asarray(geometries, dtype=object)
    types = shapely.get_type_id(geoms)
    allowed = (3, 6) if kind == POLYGON else (1, 5)
    if len(geoms) and (~np.isin(types, allowed)).any():
        raise ValueError(f"encode_geometry({kind!r}) got another geometry type")
    parts, part_of = shapely.get_parts(geoms, return_index=True)
    per_feature = np.bincount(part_of, minlength=len(geoms))
    if len(geoms) and (per_feature == 0).any():
        raise ValueError("encode_geometry got an empty geometry")
    scale = 10**precision
    if kind == POLYGON:  # exteriors anticlockwise, holes clockwise: the page fills "nonzero"
        parts = shapely.orient_polygons(parts)
        rings, ring_of = shapely.get_rings(parts, return_index=True)
        per_part = np.bincount(ring_of, minlength=len(parts))
    else:
        rings, per_part = parts, None
    coords, coord_of = shapely.get_coordinates(rings, return_index=True)
    per_ring = np.bincount(coord_of, minlength=len(rings))
    if kind == POLYGON:  # drop the closing point of each ring
        last = np.cumsum(per_ring) - 1
        keep = np.ones(len(coords), dtype=bool)
        keep[last] = False
        coords = coords[keep]
        per_ring = per_ring - 1
    ints = np.rint(coords * scale).astype(np.int64).reshape(-1)
    deltas = np.empty_like(ints)
    if len(ints):
        deltas[:2] = ints[:2]
        flat = ints.reshape(-1, 2)
        deltas[2:] = (flat[1:] - flat[:-1]).reshape(-1)
    out = {
        "q": scale,
        "c": deltas.tolist(),
        "r": per_ring.tolist(),
        "f": per_feature.tolist(),
    }
    if per_part is not None:
        out["p"] = per_part.tolist()
    return out


def decode_geometry(encoded: dict, kind: str = POLYGON) -> list[shapely.Geometry]:
    """Inverse of :func:`encode_geometry` (as the browser decodes it); for tests and checks."""
    scale = encoded["q"]
    flat = np.cumsum(np.asarray(encoded["c"], dtype=np.int64).reshape(-1, 2), axis=0) / scale
    rings, at = [], 0
    for n in encoded["r"]:
        rings.append(flat[at : at + n])
        at += n
    out, ring_at, part_at = [], 0, 0
    for parts in encoded["f"]:
        shapes = []
        for _ in range(parts):
            if kind == POLYGON:
                count = encoded["p"][part_at]
                own = rings[ring_at : ring_at + count]
                ring_at += count
                shapes.append(shapely.Polygon(own[0], own[1:]))
            else:
                shapes.append(shapely.LineString(rings[ring_at]))
                ring_at += 1
            part_at += 1
        if len(shapes) == 1:
            out.append(shapes[0])
        elif kind == POLYGON:
            out.append(shapely.MultiPolygon(shapes))
        else:
            out.append(shapely.MultiLineString(shapes))
    return out


def encode_column(values: pd.Series | list) -> list | dict:
    """One property column: a plain list, or ``{"k": values, "i": codes}`` when values repeat.

    Values must be JSON scalars (text, numbers, ``None``).
    """
    series = pd.Series(values, dtype=object) if not isinstance(values, pd.Series) else values
    series = series.astype(object).where(series.notna(), None)
    codes, uniques = pd.factorize(series, use_na_sentinel=False)
    if len(uniques) * 4 < len(series):
        return {"k": list(uniques), "i": codes.tolist()}
    return series.tolist()


def decode_column(column: list | dict) -> list:
    """Inverse of :func:`encode_column`."""
    if isinstance(column, dict):
        return [column["k"][i] for i in column["i"]]
    return list(column)


class CanvasLayer(Layer):
    """A switchable layer of polygons or lines drawn on the map's canvas (see the module notes).

    Parameters
    ----------
    name
        Name in the layer control (plain text; escaped by the control).
    geometry
        :func:`encode_geometry` output, or ``None`` with ``source`` and ``subset``: the features
        ``subset`` (positions) of another polygon layer, sharing its geometry in the page.
    props
        Columns of text (HTML-escaped already) or numbers, one value per feature.
    kind
        ``"polygon"``, ``"line"``, or ``"outline"`` (polygon rings drawn and hit as lines only,
        so a click inside reaches the features under it).
    style
        Leaflet path options of every feature (``color``, ``weight``, ``fillOpacity``...).
    fill_from
        Property whose value is each feature's ``fillColor``.
    tooltip
        ``(field, label)`` pairs shown on hover (labels escaped here; empty values left out).
    role
        Name under which the page's ``window.lpMap.layers`` holds the layer (``estates``...).
    interactive
        Whether the features take hover and clicks.
    interactive_from
        Zoom from which they do (below it clicks reach the features under them).
    show
        Whether the layer is on at first.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = lpMap.layer({{ this._parent.get_name() }}, {{ this.spec }},
            {{ this.source.get_name() if this.source else "null" }});
        {%- if this.show %}
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {%- endif %}
        {% endmacro %}
        """
    )

    def __init__(
        self,
        name: str,
        geometry: dict | None,
        props: dict[str, list | pd.Series],
        *,
        kind: str = POLYGON,
        style: dict[str, object] | None = None,
        fill_from: str | None = None,
        tooltip: list[tuple[str, str]] | None = None,
        role: str = "",
        interactive: bool = True,
        interactive_from: int | None = None,
        show: bool = True,
        source: CanvasLayer | None = None,
        subset: list[int] | None = None,
        bounds: list[list[float | None]] | None = None,
    ) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "CanvasLayer"
        if (geometry is None) == (source is None):
            raise ValueError("give either the geometry or a source layer")
        self.geometry = geometry
        self.source = source
        self.subset = subset
        self.props = {k: encode_column(v) for k, v in props.items()}
        self.kind = kind
        self.fill_from = fill_from
        self.tooltip = list(tooltip or [])
        self.role = role
        self.interactive_from = interactive_from
        self._bounds = bounds or [[None, None], [None, None]]
        import html

        spec = {
            "kind": kind,
            "g": geometry,
            "idx": subset,
            "props": self.props,
            "style": style or {},
            "fill": fill_from,
            "tip": [[f, html.escape(label)] for f, label in (tooltip or [])],
            "role": role,
            "interactive": interactive,
            "interactiveFrom": interactive_from,
        }
        self.spec = script_json(spec)

    def __len__(self) -> int:
        if self.geometry is not None:
            return len(self.geometry["f"])
        return len(self.subset or [])

    def column(self, name: str) -> list:
        """The values of one property column, one per feature (for tests)."""
        return decode_column(self.props[name])

    def shapes(self) -> list[shapely.Geometry]:
        """The features' geometry as drawn (for tests)."""
        if self.geometry is not None:
            kind = LINE if self.kind == LINE else POLYGON
            return decode_geometry(self.geometry, kind)
        shapes = self.source.shapes()
        return [shapes[i] for i in self.subset or []]

    def _get_self_bounds(self) -> list[list[float | None]]:
        return self._bounds


class CanvasLabels(Layer):
    """District labels as one layer: on screen from ``min_zoom`` on, only those in view.

    ``points`` are ``[lat, lon, text]`` with text HTML-escaped already; ``targets`` is the layer
    whose feature of the same position a click on a label opens (its district).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = lpMap.labels({{ this._parent.get_name() }}, {{ this.spec }},
            {{ this.targets.get_name() if this.targets else "null" }});
        {%- if this.show %}
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {%- endif %}
        {% endmacro %}
        """
    )

    def __init__(
        self,
        name: str,
        points: list[list[object]],
        min_zoom: int = 14,
        targets: CanvasLayer | None = None,
    ) -> None:
        super().__init__(name=name, overlay=True, control=True, show=True)
        self._name = "Labels"
        self.points = points
        self.min_zoom = min_zoom
        self.targets = targets
        self.spec = script_json({"pts": points, "minZoom": min_zoom})
