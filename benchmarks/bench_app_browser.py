"""The map in a real browser: the app and plain folium side by side, same polygons, same run.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_app_browser.py --estates 2112 20000 50000 [--runs 3]

For each estate count (2,112 = the real Hangzhou OSM estates; more = Hangzhou tiled side by side,
``benchmarks/_tiling.py``) the script plans the estates once in this process and writes three
standalone pages: **lianpian**'s map (:func:`geo.outputs.maps.build_map`, what the app sends) and
**plain folium**: a ``folium.GeoJson`` of the same estates in EPSG:4326 coloured by status with
folium's ``style_function`` and a ``GeoJsonTooltip`` of name and status (what a user would write;
Leaflet inlined from ``node_modules`` as for our map, since the machine is offline), and an
**empty Leaflet** map of the same extent (the floor of the frame figures: the same zooms with
nothing drawn, on this machine at this load). It opens each
``--runs`` times in headless Chromium (Debian ``chromium``, Playwright) and prints, per page:

- **all drawn**: seconds from opening the page until every estate in view is drawn (our map:
  ``lpMap.status()``, every estate of the canvas layer clipped and painted; plain folium: one SVG
  path per estate in the DOM; at the first view every estate is in view);
- **JS heap**: used JavaScript heap after a garbage collection (CDP ``Runtime.getHeapUsage``);
- **slowest frame**: the longest interval between animation frames while the map zooms in twice,
  pans, and zooms out twice (animated, as a planner's mouse wheel does), wall clock; and
  **task**: the CPU time of the longest task of the browser in that sequence (Chrome trace), which
  other processes on the cores do not inflate;
- **page**: bytes of the page.

Then it starts the app (``streamlit run serve.py``, as ``./dev app``, with ``LIANPIAN_APP_ESTATES``
/ ``_SURVEY`` / ``_BARRIERS`` on the same files) and opens it ``--runs`` + 1 times: a first visit
(the page plans; the server's head start may still be running) printing when the sidebar, the
progress bar and the map appear and when every estate is drawn, then later visits (plan cached)
with the same figures as above (page = bytes the browser received over Streamlit's websocket;
map = the map's frame holds its map; **drawn after the map's page arrived** = the same moment
counted from the navigation start of the map's frame, without Streamlit's own page load, as the
standalone page's figure is counted from opening it). The same for the **plain streamlit-folium app**
(``benchmarks/_plain_app.py``: ``st_folium`` of the same ``folium.GeoJson`` on an otherwise empty
page, what the streamlit-folium documentation shows). Every figure is min / median over the runs; the load average is printed with them (2 shared
cores: other work on the machine slows the browser). Needs ../shared/data and /usr/bin/chromium;
prints a message and exits 0 without them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data"
HZ = DATA / "hangzhou"
CHROMIUM = Path("/usr/bin/chromium")
sys.path.insert(0, str(REPO))  # the browser test's app launcher (tests/test_browser.py)
sys.path.insert(0, str(Path(__file__).resolve().parent))

TIMEOUT_S = 300.0

# JavaScript run in the map's frame ------------------------------------------------------------

_FIND_MAP = """(() => {
  if (window.lpMap && lpMap.layers.estates && lpMap.layers.estates._map) {
    return lpMap.layers.estates._map;
  }
  for (const k of Object.keys(window)) {
    try { if (window[k] instanceof L.Map) { return window[k]; } } catch (e) {}
  }
  return null;
})()"""

_DRAWN_OURS = """() => {
  if (!window.lpMap) { return -1; }
  const s = lpMap.status();
  return s.painted && s.inView > 0 && s.drawnInView === s.inView ? s.drawnInView : -1;
}"""

_DRAWN_PLAIN = """() => document.querySelectorAll("path.leaflet-interactive").length"""

_ZOOM_FRAMES = (
    """async () => {
  const map = """
    + _FIND_MAP
    + """;
  let last = 0, worst = 0, running = true;
  const tick = (t) => { if (last) { worst = Math.max(worst, t - last); } last = t;
                        if (running) { requestAnimationFrame(tick); } };
  requestAnimationFrame(tick);
  const z = map.getZoom();
  const steps = [() => map.setZoom(z + 1), () => map.setZoom(z + 2), () => map.panBy([300, 200]),
                 () => map.setZoom(z + 1), () => map.setZoom(z)];
  for (const step of steps) {
    const moved = new Promise((r) => map.once("moveend", r));
    step();
    await moved;
    await new Promise((r) => setTimeout(r, 400));
  }
  running = false;
  return worst;
}"""
)


# inputs and pages ------------------------------------------------------------------------------


def _inputs(n: int) -> tuple[dict[str, str], object]:
    """The ``LIANPIAN_APP_*`` variables and the loaded inputs of ``n`` estates."""
    from geo.pipeline import load_inputs

    if n <= 2112:
        env = {
            "LIANPIAN_APP_ESTATES": str(HZ / "osm_landuse_residential.gpkg"),
            "LIANPIAN_APP_SURVEY": str(HZ / "survey_illustrative.csv"),
            "LIANPIAN_APP_BARRIERS": str(HZ / "osm_water.gpkg"),
        }
        inputs = load_inputs(
            HZ / "osm_landuse_residential.gpkg",
            survey=HZ / "survey_illustrative.csv",
            barriers=[HZ / "osm_water.gpkg"],
        )
        return env, inputs
    from _tiling import tiled_inputs

    tiled = tiled_inputs(n)
    path, layer = tiled.estates.rsplit("::", 1)
    env = {
        "LIANPIAN_APP_ESTATES": tiled.estates,
        "LIANPIAN_APP_SURVEY": tiled.survey,
        "LIANPIAN_APP_BARRIERS": tiled.water,
    }
    return env, load_inputs(path, estates_layer=layer, survey=tiled.survey, barriers=[tiled.water])


def _pages(result, folder: Path) -> tuple[Path, Path, Path, float, float]:
    """Write our map, the plain folium map and an empty map of the same extent.

    Returns the three paths and the build+render seconds of the first two. The empty map (Leaflet
    alone, no feature) is the floor of the frame figures: what the same zooms and pan cost the
    browser on this machine at this load when nothing is drawn.
    """
    import folium
    from _plain_map import plain_folium_map

    from geo.outputs import maps

    started = time.perf_counter()
    ours = maps.map_html(maps.build_map(result, maps.MapOptions(basemap="none")))
    ours_s = time.perf_counter() - started
    js, css, _, _ = maps._assets(str(maps.leaflet_dir()))
    patched = maps.MacroElement.render
    maps.MacroElement.render = maps._BRANCA_RENDER  # folium as shipped
    try:
        started = time.perf_counter()
        estates = result.estates[["estate_id", "name", "status", result.estates.geometry.name]]
        plain = plain_folium_map(estates.to_crs(4326), js, css)
        plain_page = plain.get_root().render()
        plain_s = time.perf_counter() - started
        empty = folium.Map(tiles=None)
        empty.default_js = plain.default_js
        empty.default_css = plain.default_css
        empty.fit_bounds(plain.get_bounds())
        empty_page = empty.get_root().render()
    finally:
        maps.MacroElement.render = patched
    a, b = folder / "lianpian.html", folder / "plain_folium.html"
    c = folder / "empty_leaflet.html"
    a.write_text(ours, encoding="utf-8")
    b.write_text(plain_page, encoding="utf-8")
    c.write_text(empty_page, encoding="utf-8")
    return a, b, c, ours_s, plain_s


# measuring ---------------------------------------------------------------------------------


def _zoom(browser, page, frame) -> tuple[float, float]:
    """Slowest frame of the zoom sequence (wall ms) and the longest task's CPU time (ms).

    The CPU time (Chrome trace, ``tdur`` of the longest ``RunTask``) does not grow when other
    processes share the cores; the wall-clock frame does.
    """
    import json

    browser.start_tracing(page=page, categories=["toplevel"])
    try:
        wall = frame.evaluate(_ZOOM_FRAMES)
    finally:
        trace = json.loads(browser.stop_tracing())
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    cpu = max(
        (e["tdur"] for e in events if "tdur" in e and "RunTask" in e.get("name", "")),
        default=float("nan"),
    )
    return wall, cpu / 1000


def _heap_mb(page) -> float:
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("HeapProfiler.enable")
        cdp.send("HeapProfiler.collectGarbage")
        return cdp.send("Runtime.getHeapUsage")["usedSize"] / 1e6
    finally:
        cdp.detach()


def _wait_drawn(frame, ours: bool, expected: int, started: float) -> float:
    check = _DRAWN_OURS if ours else _DRAWN_PLAIN
    while time.perf_counter() - started < TIMEOUT_S:
        try:
            if frame.evaluate(check) >= expected:
                return time.perf_counter() - started
        except Exception:  # the frame is still being replaced
            pass
        time.sleep(0.05)
    return float("nan")


def _standalone(browser, path: Path, ours: bool, expected: int) -> dict[str, float]:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    try:
        started = time.perf_counter()
        page.goto(path.as_uri(), wait_until="commit", timeout=TIMEOUT_S * 1000)
        drawn = _wait_drawn(page, ours, expected, started)
        frame_ms, task_ms = _zoom(browser, page, page)
        return {
            "drawn": drawn,
            "heap": _heap_mb(page),
            "frame": frame_ms,
            "task": task_ms,
            "page": path.stat().st_size / 1e6,
        }
    finally:
        page.close()


def _map_frame(page, ours: bool = True, seen: dict[str, float] | None = None):
    """The frame of the app's map (the last st_folium iframe: a rerun may leave the old one).

    ``seen``: when given, its ``"progress"`` is set to the time (``perf_counter``) a progress bar
    was first seen while waiting, so the wait for the map is not held up by looking for one.
    """
    iframes = page.locator('iframe[title="streamlit_folium.st_folium"]')
    bars = page.locator('[role="progressbar"]')
    for _ in range(int(TIMEOUT_S * 10)):
        if seen is not None and "progress" not in seen:
            try:
                if bars.count():
                    seen["progress"] = time.perf_counter()
            except Exception:  # the page changed while we looked
                pass
        try:
            if iframes.count():
                frame = iframes.last.element_handle(timeout=1000).content_frame()
                ready = "() => !!window.lpMap" if ours else "() => !!(window.L && window.map)"
                if frame is not None and frame.evaluate(ready):
                    return frame
        except Exception:  # replaced while we looked
            pass
        time.sleep(0.1)
    raise TimeoutError("the map's frame did not appear")


def _app_visit(
    browser, port: int, expected: int, first: bool, ours: bool = True
) -> dict[str, float]:
    page = browser.new_page(viewport={"width": 1600, "height": 1100})
    received = [0]

    def on_ws(ws) -> None:
        ws.on("framereceived", lambda payload: received.__setitem__(0, received[0] + len(payload)))

    page.on("websocket", on_ws)
    try:
        started = time.perf_counter()
        page.goto(f"http://127.0.0.1:{port}/", wait_until="domcontentloaded")
        out: dict[str, float] = {}
        heading = "政策参数" if ours else "plain streamlit-folium"
        page.get_by_text(heading, exact=True).wait_for(timeout=TIMEOUT_S * 1000)
        out["sidebar"] = time.perf_counter() - started
        seen: dict[str, float] = {}
        frame = _map_frame(page, ours, seen if first and ours else None)
        out["map"] = time.perf_counter() - started  # the map's frame has its map
        if first and ours:  # nan: the plan was ready at once, no progress to show
            out["progress"] = seen.get("progress", started + float("nan")) - started
        out["drawn"] = _wait_drawn(frame, ours, expected, started)
        # The same moment counted from the map's page arriving (the map frame's navigation start,
        # its performance.now()): the browser's work on our map, without Streamlit's own page.
        out["drawn_in_frame"] = frame.evaluate("performance.now()") / 1000
        out["frame"], out["task"] = _zoom(browser, page, frame)
        out["heap"] = _heap_mb(page)
        out["page"] = received[0] / 1e6
        return out
    finally:
        page.close()


def _fmt(values: list[float], unit: str, digits: int = 2) -> str:
    values = [v for v in values if v == v]
    if not values:
        return "n/a"
    lo, mid = min(values), statistics.median(values)
    return f"{lo:.{digits}f} / {mid:.{digits}f} {unit}"


def _report(label: str, runs: list[dict[str, float]]) -> None:
    keys = [("drawn", "s", 2), ("heap", "MB", 0), ("frame", "ms", 0), ("task", "ms CPU", 0)]
    keys.append(("page", "MB", 2))
    cells = [f"{k} {_fmt([r[k] for r in runs if k in r], u, d)}" for k, u, d in keys]
    print(f"  {label:<28} " + " | ".join(cells), flush=True)


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def bench(n: int, runs: int, app: bool) -> None:
    from geo.pipeline import run_plan
    from tests.test_browser import _chromium

    env, inputs = _inputs(n)
    result = run_plan(inputs)
    expected = len(result.estates)
    print(f"\n{expected:,} estates ({len(result.districts):,} districts), load {_load()}")
    with tempfile.TemporaryDirectory() as tmp:
        ours_path, plain_path, empty_path, ours_s, plain_s = _pages(result, Path(tmp))
        print(f"  page built and rendered: lianpian {ours_s:.2f} s, plain folium {plain_s:.2f} s")
        print("  (min / median of", runs, "runs)")
        with _chromium() as browser:
            for label, path, ours, count in (
                ("lianpian map (page)", ours_path, True, expected),
                ("plain folium (page)", plain_path, False, expected),
                ("empty Leaflet (frame floor)", empty_path, False, 0),
            ):
                _report(label, [_standalone(browser, path, ours, count) for _ in range(runs)])
                print(f"    load {_load()}", flush=True)
    if not app:
        return
    plain = Path(tempfile.mkdtemp(prefix="lianpian-bench-plain-")) / "estates.gpkg"
    columns = ["estate_id", "name", "status", result.estates.geometry.name]
    result.estates[columns].to_crs(4326).to_file(plain, driver="GPKG")
    del result, inputs
    try:
        _app_runs(env, expected, runs, None)
        _app_runs({"LIANPIAN_BENCH_PLAIN": str(plain)}, expected, runs, PLAIN_APP)
    finally:
        plain.unlink(missing_ok=True)
        plain.parent.rmdir()


#: The app a user would otherwise write (Streamlit + streamlit-folium + folium.GeoJson).
PLAIN_APP = Path(__file__).resolve().parent / "_plain_app.py"


def _app_runs(env: dict[str, str], expected: int, runs: int, script: Path | None) -> None:
    """Start an app (ours: ``serve.py``; else ``script``) and visit it ``runs`` + 1 times."""
    from tests.test_browser import _chromium, _running_app

    ours = script is None
    label = "app" if ours else "plain streamlit-folium app"
    with _running_app(env, script) as port, _chromium() as browser:
        try:
            first = _app_visit(browser, port, expected, True, ours)
            print(
                f"  {label} first visit: sidebar {first['sidebar']:.2f} s, progress bar "
                f"{first.get('progress', float('nan')):.2f} s, map {first['map']:.2f} s, "
                f"all drawn {first['drawn']:.2f} s (load {_load()})",
                flush=True,
            )
        except TimeoutError:  # the first plan took longer: later visits still measured
            print(f"  {label} first visit: no map within {TIMEOUT_S:.0f} s (load {_load()})")
        later = [_app_visit(browser, port, expected, False, ours) for _ in range(runs)]
        _report(f"{label}, later visits", later)
        print(
            f"    sidebar {_fmt([r['sidebar'] for r in later], 's')}; map "
            f"{_fmt([r['map'] for r in later], 's')}; drawn after the map's page arrived "
            f"{_fmt([r['drawn_in_frame'] for r in later], 's')}; load {_load()}",
            flush=True,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--estates", type=int, nargs="+", default=[2112, 20000, 50000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-app", action="store_true", help="standalone pages only")
    args = parser.parse_args()
    if not HZ.exists() or not CHROMIUM.exists():
        print(f"skipped: needs {HZ} and {CHROMIUM}")
        return 0
    print(f"load average at start {_load()} (2 shared cores)")
    for n in args.estates:
        bench(n, args.runs, not args.no_app)
    return 0


if __name__ == "__main__":
    sys.exit(main())
