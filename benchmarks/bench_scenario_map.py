"""The map of what changes between two scenarios, and the milestone colouring, on Hangzhou.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_scenario_map.py [--runs 3]

Plans the Hangzhou estates (2,112; survey, water) under two policies (cutoff 2000 with the
extension, cutoff 1995 without), then times, min/median of ``--runs``:

- ``scenario_changes`` (geo.planning.scenario_changes) of the two plans' estates;
- ``change_colouring`` (the words and colours per estate);
- ``build_map`` + render with the change colouring, against ``build_map`` + render of the same
  plan coloured by status (what the app draws anyway): the ratio is the colouring's cost;
- the milestone colouring of a synthetic progress table of 300 rows (ids);
- the page's runs in AppTest (the map's component recorded, not sent to a browser): a scenario
  saved, the cutoff changed (plan, comparison and change map), the same again cached, a progress
  table uploaded and the map coloured by it.

Prints the counts by kind of change and the load average. Needs ../shared/data (skips when absent).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data"
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import timed_app  # noqa: E402


def _times(fn, runs: int) -> tuple[float, float, object]:
    seen, out = [], None
    for _ in range(runs):
        started = time.perf_counter()
        out = fn()
        seen.append(time.perf_counter() - started)
    return min(seen), statistics.median(seen), out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    hz = DATA / "hangzhou"
    if not hz.exists():
        print(f"skipped: {DATA} absent")
        return 0
    import pandas as pd

    from geo.core.policy import load_policy
    from geo.fiveyear.progress_estates import milestones_on_estates
    from geo.outputs import maps
    from geo.outputs.map_colouring import change_colouring, milestone_colouring
    from geo.pipeline import load_inputs, run_plan
    from geo.planning.scenario_changes import change_counts, scenario_changes

    inputs = load_inputs(
        hz / "osm_landuse_residential.gpkg",
        survey=hz / "survey_illustrative.csv",
        barriers=[hz / "osm_water.gpkg"],
    )
    policy = load_policy()
    a = run_plan(inputs, policy)
    b = run_plan(
        inputs,
        policy.with_values(
            {"eligibility.cutoff_year": 1995, "eligibility.extension_enabled": False}
        ),
    )
    print(f"Hangzhou: {len(b.estates):,} estates; load average {os.getloadavg()}")
    lo, med, changes = _times(lambda: scenario_changes(a.estates, b.estates), args.runs)
    print(f"scenario_changes: min {lo:.3f} s, median {med:.3f} s; {change_counts(changes)}")
    lo, med, colouring = _times(lambda: change_colouring(changes, "zh"), args.runs)
    print(f"change_colouring: min {lo:.3f} s, median {med:.3f} s")
    options = maps.MapOptions(basemap="none")
    maps.build_map(b, options)  # display geometry computed once for both (as in the app)
    lo_p, med_p, plain = _times(lambda: maps.map_html(maps.build_map(b, options)), args.runs)
    lo_c, med_c, page = _times(
        lambda: maps.map_html(maps.build_map(b, options, colouring=colouring)), args.runs
    )
    print(
        f"build_map+render by status: min {lo_p:.3f} s, median {med_p:.3f} s, "
        f"{len(plain.encode()) / 1e6:.2f} MB"
    )
    print(
        f"build_map+render by change: min {lo_c:.3f} s, median {med_c:.3f} s, "
        f"{len(page.encode()) / 1e6:.2f} MB (ratio of medians {med_c / med_p:.2f}x)"
    )
    ids = b.estates["estate_id"].astype(str).head(300)
    per = pd.DataFrame(
        {
            "estate_id": ids.to_numpy(),
            "name": "",
            "county": None,
            "status": ["behind", "on_track", "done"] * 100,
            "behind_on": "started by 2022-05-31",
            "next_milestone": "completed by 2022-11-30",
            "note": "",
        }
    )

    def milestones():
        on, _ = milestones_on_estates(per, b.estates)
        return milestone_colouring(on, "zh", date="2022-07-05")

    lo, med, _ = _times(milestones, args.runs)
    print(
        f"milestones_on_estates + milestone_colouring (300 rows): min {lo:.3f} s, median {med:.3f} s"
    )
    return _in_the_app(hz)


def _in_the_app(hz: Path) -> int:
    """The page's runs (AppTest, st_folium's component recorded, not sent) on Hangzhou."""
    import pandas as pd
    import streamlit_folium

    streamlit_folium._component_func = lambda **kwargs: None  # no browser here
    at, timed = timed_app(REPO, hz)

    timed("first run (load + plan + map)")
    at.text_input(key="scenario_name").input("2000")
    at.button(key="scenario_save").click()
    timed("scenario saved (compared with the current policy, change map built)")
    cutoff = at.number_input(key="pol.eligibility.cutoff_year")
    timed("cutoff 1995 (plan, comparison, change map)", lambda: cutoff.set_value(1995))
    timed("rerun, nothing changed")
    cutoff = at.number_input(key="pol.eligibility.cutoff_year")
    timed("cutoff back to 2000 (plans cached, new comparison)", lambda: cutoff.set_value(2000))
    cutoff = at.number_input(key="pol.eligibility.cutoff_year")
    timed("cutoff 1995 again (comparison and map seen before)", lambda: cutoff.set_value(1995))
    from geo.pipeline import load_inputs

    ids = load_inputs(os.environ["LIANPIAN_APP_ESTATES"]).estates["estate_id"].astype(str)
    table = pd.DataFrame(
        {"estate_id": ids.head(300).to_numpy(), "户数": 100, "年份": 2022, "完工日期": ""}
    ).assign(开工日期=["2022-05-20", "", ""] * 100)
    upload = ("progress.csv", table.to_csv(index=False).encode("utf-8"), "text/csv")
    timed("progress table uploaded", lambda: at.file_uploader(key="u_progress").set_value(upload))
    timed(
        "colour by milestones (new map)", lambda: at.radio(key="colour_by").set_value("milestone")
    )
    timed("rerun, nothing changed")
    timed(
        "colour by status (map seen before)", lambda: at.radio(key="colour_by").set_value("status")
    )
    timed("rerun, nothing changed")
    return 1 if at.exception else 0


if __name__ == "__main__":
    sys.exit(main())
