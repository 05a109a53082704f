"""Map size and build time on the Hangzhou set; cached rerun after a policy change.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_map.py [--with-facilities] [--no-20k]

Prints: HTML size (bytes) and build+render time of geo.outputs.maps.build_map vs a plain folium GeoJson of
the same estates (unsimplified, unrounded, CDN scripts), for Hangzhou (2,112) and 20,000 tiled
estates; the time of a rerun through the app's
cached steps (AppTest) for a first policy change, and for the same change again (cached).
Needs ../shared/data (skips with a message when absent).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data"


def _compare_maps(result, label: str) -> None:
    """Print size and build+render time of our map and of a plain folium GeoJson, same run."""
    import folium

    from geo.outputs import maps

    print(f"{label}: estates {len(result.estates):,}, districts {len(result.districts):,}")
    started = time.perf_counter()
    m = maps.build_map(result, maps.MapOptions(basemap="none"))
    page = maps.map_html(m)
    ours = time.perf_counter() - started
    print(f"  lianpian map: {len(page.encode()) / 1e6:.2f} MB HTML, build+render {ours:.2f} s")
    ours_render = maps.MacroElement.render
    maps.MacroElement.render = (
        maps._BRANCA_RENDER
    )  # folium as shipped (see geo.outputs.maps._render_macros)
    try:
        started = time.perf_counter()
        plain = folium.Map(tiles=None)
        frame = result.estates[["estate_id", "name", "status", result.estates.geometry.name]]
        folium.GeoJson(frame.to_crs(4326).to_json(), name="estates").add_to(plain)
        plain_page = plain.get_root().render()
        base = time.perf_counter() - started
    finally:
        maps.MacroElement.render = ours_render
    print(
        f"  plain folium GeoJson (estates only, no simplify/rounding, CDN scripts): "
        f"{len(plain_page.encode()) / 1e6:.2f} MB HTML, build+render {base:.2f} s "
        f"(ours / plain: size {len(page) / len(plain_page):.2f}x, time {ours / base:.2f}x)"
    )


def main() -> int:
    if not (DATA / "hangzhou").exists():
        print(f"skipped: {DATA} absent")
        return 0

    from geo.pipeline import load_inputs, run_plan

    hz = DATA / "hangzhou"
    inputs = load_inputs(
        hz / "osm_landuse_residential.gpkg",
        survey=hz / "survey_illustrative.csv",
        barriers=[hz / "osm_water.gpkg"],
    )
    result = run_plan(inputs)
    _compare_maps(result, "Hangzhou")
    if "--no-20k" not in sys.argv:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from _tiling import tiled_inputs

        tiled = tiled_inputs(20000)
        path, layer = tiled.estates.rsplit("::", 1)
        big = load_inputs(path, estates_layer=layer, survey=tiled.survey, barriers=[tiled.water])
        _compare_maps(run_plan(big), "tiled Hangzhou")

    extra: dict[str, str] = {}
    if "--with-facilities" in sys.argv:  # walking network, elderly care, corridors on roads
        extra = {
            "LIANPIAN_APP_ROADS": str(hz / "osm_roads.gpkg"),
            "LIANPIAN_APP_FACILITIES": str(hz / "elderly_facilities_illustrative.gpkg"),
        }
        print("app with roads and elderly-care facilities")
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _measure import timed_app

    at, timed = timed_app(REPO, hz, **extra)

    timed("first run (load + plan + map)")
    timed("rerun, nothing changed")
    cutoff = at.number_input(key="pol.eligibility.cutoff_year")
    timed("eligibility change (plan recomputed)", lambda: cutoff.set_value(1995))
    cutoff = at.number_input(key="pol.eligibility.cutoff_year")
    timed("eligibility back to a cached value", lambda: cutoff.set_value(2000))
    weight = at.slider(key="pol.priority.weight_age")
    timed("priority weight change (re-scored)", lambda: weight.set_value(0.05))
    timed("colour by priority (new map)", lambda: at.radio(key="colour_by").set_value("priority"))
    timed(
        "colour by status (map seen before)", lambda: at.radio(key="colour_by").set_value("status")
    )
    timed("basemap none (new map)", lambda: at.selectbox(key="basemap").set_value("none"))
    return 1 if at.exception else 0


if __name__ == "__main__":
    sys.exit(main())
