"""The page's side of :mod:`geo.outputs.map_canvas`: the script that decodes and draws its layers.

``CANVAS_JS`` defines ``window.lpMap``: decoding of the quantised geometry and property columns,
the canvas renderer drawing features in batches and in 12 ms slices after a move, features that
project themselves only near the view (polygons under 3 pixels as their box), the district-label
layer and ``lpMap.status()`` for tests and benchmarks. It is inlined once after Leaflet
(:mod:`geo.outputs.map_assets`), never fetched.

May import: nothing (text only).
"""

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
      var parts = [], box = [Infinity, Infinity, -Infinity, -Infinity];
      for (var a = 0; a < g.f[fi]; a++) {
        var nr = kind === "line" ? 1 : g.p[pi], rings = [];
        for (var b = 0; b < nr; b++) {
          var n = g.r[ri++], ring = new Array(n), uv = new Float64Array(2 * n);
          for (var j = 0; j < n; j++) {
            x += c[k++]; y += c[k++];
            var lat = y / q, lng = x / q;
            ring[j] = new L.LatLng(lat, lng);
            var u = uv[2 * j] = mercatorU(lng), v = uv[2 * j + 1] = mercatorV(lat);
            if (u < box[0]) { box[0] = u; }
            if (v < box[1]) { box[1] = v; }
            if (u > box[2]) { box[2] = u; }
            if (v > box[3]) { box[3] = v; }
          }
          ring._lpUV = uv;  // Web Mercator at zoom 0 / 256, computed once (see featured)
          rings.push(ring);
        }
        pi++;
        parts.push(kind === "line" ? rings[0] : rings);
      }
      out[fi] = parts.length === 1 ? parts[0] : parts;
      out[fi]._lpBox = box;  // the feature's Mercator extent at zoom 0 (level of detail)
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
      if (a.length && a[0] instanceof L.LatLng) {
        var line = a.concat([a[0]]), uv = a._lpUV;
        if (uv) {
          line._lpUV = new Float64Array(uv.length + 2);
          line._lpUV.set(uv);
          line._lpUV[uv.length] = uv[0];
          line._lpUV[uv.length + 1] = uv[1];
        }
        lines.push(line);
      }
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
        this._lpProject();
      },
      _update: function () {
        if (!this._map) { return; }
        if (this._lpStale) {
          if (this._lpFar()) { this._parts = []; return; }
          this._lpStale = false;
          this._lpProject();
        }
        Base.prototype._update.call(this);
      },
      // level of detail: a polygon smaller than LOD_PX pixels each way at this zoom is drawn
      // (and hit) as its bounding box, four numbers instead of all its vertices projected,
      // clipped and simplified as points; at a city's extent that is most estates, each a
      // speck of 1-3 pixels (and the points kept per feature are what the garbage collector
      // spent most of a frame on)
      _lpProject: function () {
        var box = this._lpBox, map = this._map;
        if (box && this._lpClosed && map.options.crs === L.CRS.EPSG3857) {
          var size = 256 * Math.pow(2, map._zoom);
          if ((box[2] - box[0]) * size < LOD_PX && (box[3] - box[1]) * size < LOD_PX) {
            var origin = map.getPixelOrigin(), w = this._clickTolerance();
            var x0 = Math.round(box[0] * size) - origin.x, y0 = Math.round(box[1] * size) - origin.y;
            var x1 = Math.round(box[2] * size) - origin.x, y1 = Math.round(box[3] * size) - origin.y;
            this._lpPx = [x0, y0, x1, y1];
            this._lpBoxed = true;
            this._rings = NO_RINGS;
            this._rawPxBounds = this._pxBounds =
              new L.Bounds(new L.Point(x0 - w, y0 - w), new L.Point(x1 + w, y1 + w));
            return;
          }
        }
        this._lpBoxed = false;
        Base.prototype._project.call(this);
      },
      _containsPoint: function (p) {
        if (!this._lpBoxed) { return Base.prototype._containsPoint.apply(this, arguments); }
        return !!this._pxBounds && this._pxBounds.contains(p);
      },
      // a feature wholly inside the canvas needs no clipping: its rings are drawn as they are
      _clipPoints: function () {
        var bounds = this._renderer._bounds, px = this._pxBounds, w = this.options.weight || 0;
        if (this._lpBoxed) {
          this._parts = px && px.intersects(bounds) ? BOXED : [];
          return;
        }
        if (px && px.min.x >= bounds.min.x + w && px.min.y >= bounds.min.y + w &&
            px.max.x <= bounds.max.x - w && px.max.y <= bounds.max.y - w) {
          this._parts = this._rings.slice();
          return;
        }
        Base.prototype._clipPoints.call(this);
      },
      _simplifyPoints: function () {
        if (!this._lpBoxed) { Base.prototype._simplifyPoints.call(this); }
      },
      // Leaflet copies the latlngs it is given into new arrays (and so would lose the Mercator
      // positions of each ring, below); rings decoded here are kept as they are
      _convertLatLngs: function (latlngs) {
        if (latlngs._lpUV) {
          for (var i = 0; i < latlngs.length; i++) { this._bounds.extend(latlngs[i]); }
          return latlngs;
        }
        if (latlngs.length && latlngs[0] && latlngs[0]._lpUV) {
          var out = new Array(latlngs.length);
          for (var j = 0; j < latlngs.length; j++) { out[j] = this._convertLatLngs(latlngs[j]); }
          return out;
        }
        if (latlngs.length && Array.isArray(latlngs[0]) && Array.isArray(latlngs[0][0]) &&
            latlngs[0][0]._lpUV) {
          var parts = new Array(latlngs.length);
          for (var k = 0; k < latlngs.length; k++) { parts[k] = this._convertLatLngs(latlngs[k]); }
          return parts;
        }
        return Base.prototype._convertLatLngs.call(this, latlngs);
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
  Shapes.polygon.prototype._lpClosed = true;
  // a boxed feature's parts (it is drawn from _lpPx: see _drawBatch) and rings
  var BOXED = [[]], NO_RINGS = [];

  // one canvas for every layer here, drawing features of one style together: one fill and one
  // stroke per layer and colour instead of one per feature (Leaflet's own TODO), in the order
  // the layers were added; the hovered feature last
  var BATCH = 200, SLICE_MS = 12, CHUNK = 200, LOD_PX = 3;
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
        var started = performance.now();
        while (at < layers.length && performance.now() - started < SLICE_MS) {
          var first = at;  // projected, clipped and drawn a chunk at a time within the slice
          for (var k = 0; k < CHUNK && at < layers.length; k++) { layers[at++]._update(); }
          self._drawList(layers.slice(first, at), null);
        }
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
        var shape = batch.layers[k], parts = shape._parts;
        if (shape._lpBoxed) {  // same turn as an exterior ring on screen (nonzero fill)
          var px = shape._lpPx;
          ctx.moveTo(px[0], px[1]);
          ctx.lineTo(px[0], px[3]);
          ctx.lineTo(px[2], px[3]);
          ctx.lineTo(px[2], px[1]);
          ctx.closePath();
          continue;
        }
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
      shape._lpSpec = spec; shape._lpI = i; shape._lpBox = geom[i]._lpBox;
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
