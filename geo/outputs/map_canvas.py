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


#: The page's side of the layers above (inlined once, after Leaflet; see map_assets).
CANVAS_JS = r"""
(function () {
  "use strict";
  if (window.lpMap) { return; }
  var lp = window.lpMap = {layers: {}, timings: []};

  function value(column, i) {
    if (!column) { return undefined; }
    return column.k ? column.k[column.i[i]] : column[i];
  }
  lp.value = value;

  // flat deltas -> per feature Leaflet latlngs (polygon: [rings] or [[rings]...]; line: [pts])
  function decode(g, kind) {
    var c = g.c, q = g.q, k = 0, x = 0, y = 0, ri = 0, pi = 0, out = new Array(g.f.length);
    for (var fi = 0; fi < g.f.length; fi++) {
      var parts = [];
      for (var a = 0; a < g.f[fi]; a++) {
        var nr = kind === "line" ? 1 : g.p[pi], rings = [];
        for (var b = 0; b < nr; b++) {
          var n = g.r[ri++], ring = new Array(n), uv = new Float64Array(2 * n);
          for (var j = 0; j < n; j++) {
            x += c[k++]; y += c[k++];
            var lat = y / q, lng = x / q;
            ring[j] = new L.LatLng(lat, lng);
            uv[2 * j] = mercatorU(lng);
            uv[2 * j + 1] = mercatorV(lat);
          }
          ring._lpUV = uv;  // Web Mercator at zoom 0 / 256, computed once (see featured)
          rings.push(ring);
        }
        pi++;
        parts.push(kind === "line" ? rings[0] : rings);
      }
      out[fi] = parts.length === 1 ? parts[0] : parts;
    }
    return out;
  }

  var MAX_LAT = 85.0511287798, D = Math.PI / 180;
  function mercatorU(lng) { return lng / 360 + 0.5; }
  function mercatorV(lat) {
    var s = Math.sin(Math.max(Math.min(MAX_LAT, lat), -MAX_LAT) * D);
    return 0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI);
  }

  function outlines(latlngs) {  // polygon rings -> closed lines
    var lines = [];
    (function walk(a) {
      if (a.length && a[0] instanceof L.LatLng) { lines.push(a.concat([a[0]])); }
      else { for (var i = 0; i < a.length; i++) { walk(a[i]); } }
    })(latlngs);
    return lines.length === 1 ? lines[0] : lines;
  }

  // the padded view in degrees, once per position of the map (not once per feature)
  function nearView(map) {
    var c = map._lastCenter || map.getCenter(), key = map._zoom + ":" + c.lat + ":" + c.lng;
    if (!map._lpView || map._lpView.key !== key) {
      map._lpView = {key: key, bounds: map.getBounds().pad(0.4)};  // the canvas pads 0.3
    }
    return map._lpView.bounds;
  }

  // features project and clip themselves only near the view: Leaflet projects every path at
  // every zoom, which at 50,000 estates is most of a zoom's frame; a feature off screen is left
  // unprojected (no pixel bounds: not drawn, not hit) until a move brings it near
  function featured(Base) {
    var Cls = Base.extend({
      _project: function () {
        if (this._lpFar()) { this._lpStale = true; this._parts = []; this._pxBounds = null; return; }
        this._lpStale = false;
        Base.prototype._project.call(this);
      },
      _update: function () {
        if (!this._map) { return; }
        if (this._lpStale) {
          if (this._lpFar()) { this._parts = []; return; }
          this._lpStale = false;
          Base.prototype._project.call(this);
        }
        Base.prototype._update.call(this);
      },
      _lpFar: function () {
        return !nearView(this._map).intersects(this._bounds);
      },
      // Leaflet projects each vertex through latLngToLayerPoint (a sine, a logarithm and four
      // new points each, at every zoom); the Mercator position at zoom 0 is kept, so projecting is
      // a multiplication (same rounding: Math.round, then the pixel origin subtracted)
      _projectLatlngs: function (latlngs, result, projectedBounds) {
        var uv = latlngs._lpUV, map = this._map;
        if (!uv || map.options.crs !== L.CRS.EPSG3857) {
          return Base.prototype._projectLatlngs.call(this, latlngs, result, projectedBounds);
        }
        var size = 256 * Math.pow(2, map._zoom), origin = map.getPixelOrigin();
        var n = latlngs.length, ring = new Array(n);
        for (var i = 0; i < n; i++) {
          var point = new L.Point(Math.round(uv[2 * i] * size) - origin.x,
                                  Math.round(uv[2 * i + 1] * size) - origin.y);
          ring[i] = point;
          projectedBounds.extend(point);
        }
        result.push(ring);
      }
    });
    // a feature's properties only when asked (toGeoJSON for a click, tooltips), not kept per feature
    Object.defineProperty(Cls.prototype, "feature", {
      configurable: true,
      get: function () {
        var props = {}, cols = this._lpSpec.props;
        for (var name in cols) { props[name] = value(cols[name], this._lpI); }
        return {type: "Feature", properties: props};
      },
      set: function () {}
    });
    return Cls;
  }
  var Shapes = {polygon: featured(L.Polygon), line: featured(L.Polyline),
                outline: featured(L.Polyline)};

  // one canvas for every layer here, drawing features of one style together: one fill and one
  // stroke per layer and colour instead of one per feature (Leaflet's own TODO), in the order
  // the layers were added; the hovered feature last
  var BATCH = 200, SLICE_MS = 25;
  var Batched = L.Canvas.extend({
    // after a zoom, features are projected by _updatePaths, a slice at a time (not all at once)
    _onZoomEnd: function () {
      for (var id in this._layers) {
        var layer = this._layers[id];
        if (layer._lpFar) { layer._lpStale = true; layer._parts = []; layer._pxBounds = null; }
        else { layer._project(); }
      }
    },
    // clip and draw the features SLICE_MS at a time, one slice a frame, so that no frame of a
    // zoom or pan waits for the whole city; the canvas fills in within a few frames
    _updatePaths: function () {
      if (this._postponeUpdatePaths) { return; }
      var layers = [], self = this, at = 0, token = {};
      for (var id in this._layers) { layers.push(this._layers[id]); }
      this._lpToken = token;
      this._lpBusy = true;
      this._redrawBounds = null;
      (function slice() {
        if (self._lpToken !== token || !self._map) { return; }
        var started = performance.now(), first = at;
        while (at < layers.length && performance.now() - started < SLICE_MS) {
          for (var k = 0; k < 250 && at < layers.length; k++) { layers[at++]._update(); }
        }
        self._drawList(layers.slice(first, at), null);
        if (at < layers.length) { L.Util.requestAnimFrame(slice); }
        else { self._lpBusy = false; self.fire("lpdrawn"); }
      })();
    },
    _draw: function () {
      var bounds = this._redrawBounds, list = [];
      for (var order = this._drawFirst; order; order = order.next) { list.push(order.layer); }
      this._drawList(list, bounds);
    },
    _drawList: function (list, bounds) {
      var ctx = this._ctx, batches = [], byKey = {}, last = null;
      ctx.save();
      if (bounds) {
        var size = bounds.getSize();
        ctx.beginPath();
        ctx.rect(bounds.min.x, bounds.min.y, size.x, size.y);
        ctx.clip();
      }
      for (var n = 0; n < list.length; n++) {
        var layer = list[n];
        if (!layer._parts || !layer._parts.length || !layer.options.stroke && !layer.options.fill) {
          continue;
        }
        if (bounds && !(layer._pxBounds && layer._pxBounds.intersects(bounds))) { continue; }
        if (layer._lpHover) { last = layer; continue; }
        var o = layer.options;
        var key = (layer._lpSpec ? layer._lpSpec.uid : "x" + L.stamp(layer)) + "|" +
          o.fillColor + "|" + o.color + "|" + o.weight + "|" + o.opacity + "|" + o.fillOpacity;
        var batch = byKey[key];
        if (!batch || batch.layers.length >= BATCH) {  // paths of a few hundred features
          batch = byKey[key] = {layer: layer, layers: []};
          batches.push(batch);
        }
        batch.layers.push(layer);
      }
      for (var b = 0; b < batches.length; b++) { this._drawBatch(batches[b]); }
      if (last) { this._drawBatch({layer: last, layers: [last]}); }
      ctx.restore();
    },
    _drawBatch: function (batch) {
      var ctx = this._ctx, closed = batch.layer instanceof L.Polygon;
      ctx.beginPath();
      for (var k = 0; k < batch.layers.length; k++) {
        var parts = batch.layers[k]._parts;
        for (var i = 0; i < parts.length; i++) {
          for (var j = 0, n = parts[i].length; j < n; j++) {
            var p = parts[i][j];
            ctx[j ? "lineTo" : "moveTo"](p.x, p.y);
          }
          if (closed) { ctx.closePath(); }
        }
      }
      this._fillStroke(ctx, batch.layer);
    }
  });

  lp.canvas = function (map) {
    if (!map._lpCanvas) { map._lpCanvas = new Batched({padding: 0.3, tolerance: 3}); }
    return map._lpCanvas;
  };

  function tip(spec, i) {
    var rows = "";
    for (var t = 0; t < spec.tip.length; t++) {
      var v = value(spec.props[spec.tip[t][0]], i);
      if (v === null || v === undefined || v === "") { continue; }
      rows += "<tr><th>" + spec.tip[t][1] + "</th><td>" + v + "</td></tr>";
    }
    return "<table>" + rows + "</table>";
  }

  var uid = 0;
  lp.layer = function (map, spec, source) {
    var started = performance.now();
    spec.uid = ++uid;
    var geom = spec.g ? decode(spec.g, spec.kind === "line" ? "line" : "polygon")
                      : spec.idx.map(function (i) { return source._lpGeom[i]; });
    var group = L.featureGroup(), Shape = Shapes[spec.kind], renderer = lp.canvas(map);
    var base = L.extend({renderer: renderer, interactive: spec.interactive,
                         smoothFactor: 1.0, fillRule: "nonzero"}, spec.style);
    var fill = spec.fill ? spec.props[spec.fill] : null;
    var byIndex = new Array(geom.length);
    for (var i = 0; i < geom.length; i++) {
      var options = fill ? L.extend({}, base, {fillColor: value(fill, i)}) : base;
      var shape = new Shape(spec.kind === "outline" ? outlines(geom[i]) : geom[i], options);
      shape._lpSpec = spec; shape._lpI = i;
      byIndex[i] = shape;
      group.addLayer(shape);
    }
    group._lpGeom = geom; group._lpByIndex = byIndex; group._lpSpec = spec;
    if (spec.tip.length && spec.interactive) {
      group.bindTooltip(function (layer) { return tip(spec, layer._lpI); },
                        {sticky: true, className: "lp-tip"});
    }
    if (spec.interactive && spec.kind === "polygon") {
      group.on("mouseover", function (e) {
        e.layer._lpHover = true;
        e.layer.setStyle({weight: 3, color: "#000000"});
      });
      group.on("mouseout", function (e) {
        e.layer._lpHover = false;
        e.layer.setStyle({weight: base.weight, color: base.color});
      });
    }
    if (spec.interactiveFrom) {  // not in the way of clicks below that zoom
      var sync = function () {
        var on = map.getZoom() >= spec.interactiveFrom;
        group.eachLayer(function (layer) { layer.options.interactive = on; });
      };
      group.on("add", function () { map.on("zoomend", sync); sync(); });
      group.on("remove", function () { map.off("zoomend", sync); });
    }
    group.on("add", function () {  // Leaflet's redraw is the frame before this one
      group._lpPainted = false;
      L.Util.requestAnimFrame(function () { group._lpPainted = true; });
    });
    if (spec.role) { lp.layers[spec.role] = group; }
    lp.timings.push([spec.role || spec.kind, "made", Math.round(performance.now() - started)]);
    group.on("add", function () {
      lp.timings.push([spec.role || spec.kind, "added", Math.round(performance.now() - started)]);
    });
    return group;
  };

  // district labels: one layer; tooltips exist only for the labels in view, from minZoom on
  lp.labels = function (map, spec, targets) {
    var shown = {};
    var Labels = L.Layer.extend({
      onAdd: function () { map.on("moveend zoomend", this._update, this); this._update(); },
      onRemove: function () {
        map.off("moveend zoomend", this._update, this);
        for (var i in shown) { shown[i].remove(); }
        shown = {};
      },
      count: function () { return Object.keys(shown).length; },
      _update: function () {
        var near = map.getZoom() >= spec.minZoom, view = map.getBounds().pad(0.2);
        for (var i = 0; i < spec.pts.length; i++) {
          var p = spec.pts[i], inside = near && view.contains([p[0], p[1]]);
          if (inside && !shown[i]) {
            shown[i] = L.tooltip({permanent: true, direction: "center", className: "lp-label",
                                  interactive: !!targets})
              .setLatLng([p[0], p[1]]).setContent(p[2]).addTo(map);
            if (targets) { shown[i].on("click", this._open(i)); }
          } else if (!inside && shown[i]) {
            shown[i].remove(); delete shown[i];
          }
        }
      },
      _open: function (i) {
        return function (e) {
          var target = targets._lpByIndex[i];
          if (target) { target.fire("click", {latlng: e.latlng || target.getCenter()}, true); }
        };
      }
    });
    var layer = new Labels();
    lp.layers.labels = layer;
    return layer;
  };

  // for tests and benchmarks: how many estates there are, are in view and are drawn (painted:
  // the canvas has drawn since the layer was added)
  lp.status = function () {
    var group = lp.layers.estates, out = {estates: 0, inView: 0, drawn: 0, drawnInView: 0,
      painted: false, labels: lp.layers.labels ? lp.layers.labels.count() : 0};
    if (!group || !group._map) { return out; }
    var view = group._map.getBounds();
    out.painted = !!group._lpPainted && !(group._map._lpCanvas && group._map._lpCanvas._lpBusy);
    group.eachLayer(function (layer) {
      out.estates++;
      var inside = view.intersects(layer.getBounds());
      var drawn = out.painted && layer._parts && layer._parts.length > 0;
      if (inside) { out.inView++; }
      if (drawn) { out.drawn++; }
      if (drawn && inside) { out.drawnInView++; }
    });
    out.zoom = group._map.getZoom();
    return out;
  };
})();
"""
