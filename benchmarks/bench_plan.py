"""End-to-end ``lianpian plan`` on 220,000 estates (real Hangzhou geometry tiled), and the dask engine.

Each run is a child process (the command a planner types, through ``geo.cli.main``): wall time and
whole-process peak memory (``getrusage``; the planning process only: dask workers and the forked
corridor workers are other processes). The process tree's peak is sampled with psutil (every 0.25 s,
every second while there are workers) as the sum of proportional set sizes (PSS: pages a forked
worker shares with its parent are counted once), or the resident set of a process alone.

The floor is a bare read of the same files with the libraries a user would otherwise call:
``pyogrio.read_dataframe`` for the estates, water and roads and ``pandas.read_csv`` for the survey,
nothing checked or parsed, with their defaults (what ``geopandas.read_file`` does). A second row reads
the same through Arrow (``use_arrow=True``, pandas' ``engine="pyarrow"``), the fastest a user could
ask these libraries for; ratios are to the first. ``load_inputs`` is lianpian's reading of them (CRS settled, geometry
repaired, every attribute parsed and checked, the GCJ-02 offset check). Every row gives the least
and the median of ``--runs`` runs (default 3), the median's ratio to the floor's median, the
median CPU time (the process and the forked workers it waited for, less the memory sampler's own
thread; on a shared machine less swayed by other jobs than wall time) with its ratio, and the
1-minute load average before each run and after the last.
Target (issue 20): the whole plan within 5x of the bare read and under 3 GB.

Run: ``python benchmarks/bench_plan.py [--estates 220000] [--runs 3] [--dask] [--workers N]``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _measure import emit, fmt_loads, fmt_mb, repeat_child
from _tiling import require_data, tiled_inputs


def _args(n: int, out: str) -> list[str]:
    t = tiled_inputs(n)
    return [
        "--estates",
        t.estates,
        "--survey",
        t.survey,
        "--barriers",
        t.water,
        "--roads",
        t.roads,
        "--out",
        out,
    ]


#: Seconds between two samples of the process tree's memory: the process alone, and with workers.
SAMPLE_S = 0.25
SAMPLE_WITH_WORKERS_S = 1.0


def _pss(process) -> int:
    """Proportional set size (pages shared by forked processes counted once overall), else RSS."""
    try:
        return process.memory_full_info().pss
    except (AttributeError, OSError):
        return process.memory_info().rss


def child(kind: str, n: int, out: str, extra: list[str]) -> None:
    import threading

    import psutil

    argv = _args(n, out)
    me = psutil.Process()
    tree_peak = [0]
    sampler_cpu = [0.0]
    stop = threading.Event()

    def sample() -> None:  # the whole process tree: client plus dask or corridor workers
        while not stop.is_set():
            workers = me.children(recursive=True)
            total = 0
            for p in [me, *workers]:
                with contextlib.suppress(psutil.Error):
                    # alone, the process's resident set; with workers, every process's PSS (the
                    # kernel walks each one's pages for it: at 20 a second it took 10 s of CPU
                    # and 5 s of wall from a 220,000-estate plan on two cores)
                    total += _pss(p) if workers else p.memory_info().rss
            tree_peak[0] = max(tree_peak[0], total)
            time.sleep(SAMPLE_WITH_WORKERS_S if workers else SAMPLE_S)
        sampler_cpu[0] = time.thread_time()  # this thread's CPU, left out of the step's

    # imports before the clock (the same libraries for every row; lianpian's own take about 1 s)
    import pandas as pd
    import pyogrio

    from geo.cli import run
    from geo.pipeline import load_inputs

    t = tiled_inputs(n)
    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    started = time.perf_counter()

    def finish(summary: dict[str, object]) -> None:
        seconds = time.perf_counter() - started
        stop.set()
        thread.join()
        emit(
            {
                "seconds": seconds,
                "tree_peak_mb": tree_peak[0] / 2**20,
                "sampler_cpu_s": sampler_cpu[0],
                **summary,
            }
        )

    if kind == "bare":
        frames = [
            pyogrio.read_dataframe(*item.rsplit("::", 1)) for item in (t.estates, t.water, t.roads)
        ]
        survey = pd.read_csv(t.survey)
        summary = {"estates": len(frames[0]), "survey_rows": len(survey)}
    elif kind == "bare_arrow":
        frames = [
            pyogrio.read_dataframe(*item.rsplit("::", 1), use_arrow=True)
            for item in (t.estates, t.water, t.roads)
        ]
        survey = pd.read_csv(t.survey, engine="pyarrow")
        summary = {"estates": len(frames[0]), "survey_rows": len(survey)}
    elif kind == "read":
        inputs = load_inputs(
            argv[1].rsplit("::", 1)[0],
            estates_layer=argv[1].rsplit("::", 1)[1],
            survey=argv[3],
            barriers=[argv[5]],
            roads=argv[7],
        )
        summary = {"estates": len(inputs.estates)}
    else:
        # as the console script runs it: the process ends without freeing the plan (geo.cli.run)
        def done(code: int) -> None:
            if code != 0:
                raise SystemExit(code)
            finish({})

        run(["plan", *argv, *extra], when_done=done)
    finish(summary)


RUNS = (
    ("bare read: pyogrio + pandas (floor)", "bare", []),
    ("bare read, Arrow (use_arrow, pyarrow)", "bare_arrow", []),
    ("load_inputs: read and check", "read", []),
    ("plan, one process", "plan", []),
    ("plan --engine dask --workers 1", "plan", ["--engine", "dask", "--workers", "1"]),
    ("plan --engine dask --workers 2", "plan", ["--engine", "dask", "--workers", "2"]),
)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        kind, n, out, *extra = argv[1:]
        child(kind, int(n), out, extra)
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--estates", type=int, default=220_000)
    parser.add_argument("--runs", type=int, default=3, help="runs of each row (min and median)")
    parser.add_argument("--dask", action="store_true", help="also the dask engine, 1 and 2 workers")
    parser.add_argument("--skip-dask", action="store_true", help=argparse.SUPPRESS)  # the default
    parser.add_argument("--workers", type=int, help="corridor workers of the one-process plan")
    args = parser.parse_args(argv)
    require_data()
    import tempfile

    t = tiled_inputs(args.estates)
    print(
        f"end-to-end plan on {args.estates:,} estates ({t.tiles} tiles of Hangzhou), "
        f"{os.cpu_count()} cores, {args.runs} runs per row"
    )
    print(
        f"{'run':<36} {'min s':>7} {'median s':>9} {'x floor':>8} {'CPU s':>7} {'x floor':>8} "
        f"{'peak (process)':>15} {'peak (tree)':>12} {'load avg':>9}"
    )
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, kind, extra in RUNS:
            if "dask" in label and not args.dask:
                continue
            if kind == "plan" and "dask" not in label and args.workers:
                extra = [*extra, "--workers", str(args.workers)]
            out = str(Path(tmp) / "plan.gpkg")
            argv_child = [__file__, "--child", kind, str(args.estates), out, *extra]
            r = repeat_child(argv_child, args.runs)
            results[label] = r
            floor = results["bare read: pyogrio + pandas (floor)"]
            cpu = r.get("cpu_median_s", float("nan"))
            print(
                f"{label:<36} {r['min_s']:>7.1f} {r['median_s']:>9.1f} "
                f"{r['median_s'] / floor['median_s']:>7.1f}x {cpu:>7.1f} "
                f"{cpu / floor.get('cpu_median_s', float('nan')):>7.1f}x "
                f"{fmt_mb(r['process_peak_mb']):>15} "
                f"{fmt_mb(r['tree_peak_mb']):>12} {fmt_loads(r['loads']):>9}",
                flush=True,
            )
    one = results.get("plan --engine dask --workers 1")
    two = results.get("plan --engine dask --workers 2")
    if one and two:
        print(f"dask speed-up, 2 workers vs 1 (medians): {one['median_s'] / two['median_s']:.2f}x")
    print("target: the plan within 5x of the bare read (median wall time), peak under 3 GB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
