"""End-to-end ``lianpian plan`` on 220,000 estates (real Hangzhou geometry tiled), and the dask engine.

Each run is a child process (the command a planner types, through ``geo.cli.main``): wall time and
whole-process peak memory (``getrusage``; the planning process only: dask workers and the forked
corridor workers are other processes). The process tree's peak is sampled with psutil as the sum of
proportional set sizes (PSS: pages a forked worker shares with its parent are counted once). The
floor is the time to only read the same inputs (``load_inputs``); the ratio total / floor says how
much the planning itself adds.
Targets (issue 8): under 120 s and under 4 GB on 2 cores.

Run: ``python benchmarks/bench_plan.py [--estates 220000] [--skip-dask]``.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _measure import emit, fmt_mb, run_child
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
    stop = threading.Event()

    def sample() -> None:  # the whole process tree: client plus dask or corridor workers
        while not stop.is_set():
            total = 0
            for p in [me, *me.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    total += _pss(p)
            tree_peak[0] = max(tree_peak[0], total)
            time.sleep(0.05)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    started = time.perf_counter()
    if kind == "read":
        from geo.pipeline import load_inputs

        inputs = load_inputs(
            argv[1].rsplit("::", 1)[0],
            estates_layer=argv[1].rsplit("::", 1)[1],
            survey=argv[3],
            barriers=[argv[5]],
            roads=argv[7],
        )
        summary = {"estates": len(inputs.estates)}
    else:
        from geo.cli import main

        code = main(["plan", *argv, *extra])
        if code != 0:
            raise SystemExit(code)
        summary = {}
    seconds = time.perf_counter() - started
    stop.set()
    thread.join()
    emit({"seconds": seconds, "tree_peak_mb": tree_peak[0] / 2**20, **summary})


RUNS = (
    ("read only (floor)", "read", []),
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
    parser.add_argument("--skip-dask", action="store_true")
    args = parser.parse_args(argv)
    require_data()
    import tempfile

    t = tiled_inputs(args.estates)
    print(f"end-to-end plan on {args.estates:,} estates ({t.tiles} tiles of Hangzhou), 2 cores")
    print(f"{'run':<32} {'seconds':>8} {'x floor':>8} {'peak (process)':>15} {'peak (tree)':>12}")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, kind, extra in RUNS:
            if args.skip_dask and "dask" in label:
                continue
            out = str(Path(tmp) / "plan.gpkg")
            r = run_child([__file__, "--child", kind, str(args.estates), out, *extra])
            results[label] = r
            floor = results["read only (floor)"]["seconds"]
            print(
                f"{label:<32} {r['seconds']:>8.1f} {r['seconds'] / floor:>7.1f}x "
                f"{fmt_mb(r['process_peak_mb']):>15} {fmt_mb(r['tree_peak_mb']):>12}",
                flush=True,
            )
    one = results.get("plan --engine dask --workers 1")
    two = results.get("plan --engine dask --workers 2")
    if one and two:
        print(f"dask speed-up, 2 workers vs 1: {one['seconds'] / two['seconds']:.2f}x")
    print("targets: plan under 120 s and under 4 GB peak on 2 cores")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
