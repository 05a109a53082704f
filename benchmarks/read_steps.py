"""The reading and preparing steps of ``lianpian plan`` against a bare read, in one process.

Alternates, ``--runs`` times (default 3): the bare read a user would otherwise write
(``pyogrio.read_dataframe`` of the tiled estates, water and roads, ``pandas.read_csv`` of the
survey: nothing checked or parsed), lianpian's ``load_inputs`` of the same files (CRS settled,
geometry checked and repaired, every attribute parsed and checked, offset checks) and
``prepare_estates`` (metric CRS, survey join, eligibility, investment). Prints the least and the
median wall and CPU time of each (CPU: this process's, threads included), the medians' ratio to
the bare read's, and the load average. Not part of ``./dev bench``: a tool for issue 20's
reading steps (``plan_steps.py`` times every step of a whole plan).

Run: ``python benchmarks/read_steps.py [--estates 220000] [--runs 3]``.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _tiling import require_data, tiled_inputs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--estates", type=int, default=220_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    require_data()
    import pandas as pd
    import pyogrio

    from geo.core.policy import load_policy
    from geo.pipeline.inputs import load_inputs
    from geo.pipeline.run import prepare_estates

    t = tiled_inputs(args.estates)
    policy = load_policy()

    def bare() -> None:
        for item in (t.estates, t.water, t.roads):
            pyogrio.read_dataframe(*item.rsplit("::", 1))
        pd.read_csv(t.survey)

    times: dict[str, list[tuple[float, float]]] = {
        "bare read": [],
        "load_inputs": [],
        "prepare_estates": [],
    }
    inputs = None
    for _ in range(args.runs):
        for name in times:
            gc.collect()
            started, cpu_started = time.perf_counter(), time.process_time()
            if name == "bare read":
                bare()
            elif name == "load_inputs":
                inputs = load_inputs(t.estates, survey=t.survey, barriers=[t.water], roads=t.roads)
            else:
                prepare_estates(inputs, policy, inputs.quality)
            times[name].append((time.perf_counter() - started, time.process_time() - cpu_started))
    print(
        f"{args.estates:,} estates, {args.runs} runs, load average {os.getloadavg()[0]:.1f}\n"
        f"  {'step':<16} {'wall min':>8} {'median':>7} {'x bare':>6}   {'CPU min':>7} "
        f"{'median':>7} {'x bare':>6}"
    )
    floor = [statistics.median(v[k] for v in times["bare read"]) for k in (0, 1)]
    for name, values in times.items():
        wall = sorted(v[0] for v in values)
        cpu = sorted(v[1] for v in values)
        wm, cm = statistics.median(wall), statistics.median(cpu)
        print(
            f"  {name:<16} {wall[0]:7.2f}s {wm:6.2f}s {wm / floor[0]:5.2f}x   {cpu[0]:6.2f}s "
            f"{cm:6.2f}s {cm / floor[1]:5.2f}x"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
