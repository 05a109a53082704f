"""Time and memory of one benchmark step, each in its own child process.

``run_child(argv)`` starts ``python argv...`` and returns the JSON dict it printed last (with
``process_peak_mb``: the child's whole-process peak resident memory, ``getrusage``). Inside the child,
``measure(fn)`` returns the wall time of ``fn()`` and the peak RSS sampled (every 5 ms, by a
thread) while it ran, above the RSS just before it: the memory the step itself needed. tracemalloc
is not used because GEOS (shapely) allocates outside Python's allocator.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent


def measure(fn: Callable[[], Any]) -> tuple[Any, dict[str, float]]:
    """Run ``fn`` and return its result and ``{"seconds", "step_peak_mb"}``."""
    process = psutil.Process()
    before = process.memory_info().rss
    peak = [before]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], process.memory_info().rss)
            time.sleep(0.005)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    started = time.perf_counter()
    try:
        result = fn()
    finally:
        seconds = time.perf_counter() - started
        stop.set()
        thread.join()
    peak[0] = max(peak[0], process.memory_info().rss)
    return result, {"seconds": seconds, "step_peak_mb": (peak[0] - before) / 2**20}


def emit(payload: dict[str, Any]) -> None:
    """Print the child's result, with its whole-process peak RSS and CPU time, as the last line."""
    me, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    payload = {
        **payload,
        "process_peak_mb": me.ru_maxrss / 1024,
        # CPU seconds of the process and the children it waited for (forked corridor workers):
        # less sensitive than wall time to other jobs on a shared machine
        "cpu_s": me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime,
    }
    # a memory-sampling thread's own CPU (reading /proc for the process tree) is the benchmark's,
    # not the step's: the child reports it as ``sampler_cpu_s`` and it is left out
    payload["cpu_s"] -= float(payload.get("sampler_cpu_s", 0.0))
    print("RESULT " + json.dumps(payload, default=str), flush=True)


def run_child(argv: list[str], *, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``python argv`` from the repository root and return its RESULT dict."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    done = subprocess.run(
        [sys.executable, *argv], cwd=ROOT, env=full_env, capture_output=True, text=True, check=False
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    result = json.loads(lines[-1][len("RESULT ") :])
    result["stdout"] = "\n".join(line for line in done.stdout.splitlines() if line not in lines)
    return result


def fmt_mb(value: float | None) -> str:
    """Format megabytes for the tables (``-`` when unknown)."""
    return "-" if value is None else f"{value:,.0f} MB"


def load_average() -> float:
    """The machine's 1-minute load average (how many processes wanted a core), or NaN."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def repeat_child(argv: list[str], runs: int, **kwargs: Any) -> dict[str, Any]:
    """Run :func:`run_child` ``runs`` times; return the last result with every run's figures.

    Adds ``each`` (every run's result), ``all_seconds`` (each run's ``seconds``), ``min_s``, ``median_s``, the largest
    ``process_peak_mb`` and ``loads`` (the 1-minute load average before each run and after the
    last one).
    """
    results, loads = [], []
    for _ in range(runs):
        loads.append(load_average())
        results.append(run_child(argv, **kwargs))
    loads.append(load_average())
    out = dict(results[-1])
    out["each"] = results
    out["all_seconds"] = [r["seconds"] for r in results]
    out["min_s"], out["median_s"] = min_median(out["all_seconds"])
    if all("cpu_s" in r for r in results):
        out["cpu_median_s"] = min_median([r["cpu_s"] for r in results])[1]
    for key in ("process_peak_mb", "tree_peak_mb", "step_peak_mb"):
        if all(key in r for r in results):
            out[key] = max(r[key] for r in results)
    out["loads"] = loads
    return out


def min_median(values: list[float]) -> tuple[float, float]:
    """Return the least and the median of ``values``."""
    ordered = sorted(values)
    n = len(ordered)
    middle = ordered[n // 2] if n % 2 else 0.5 * (ordered[n // 2 - 1] + ordered[n // 2])
    return ordered[0], middle


def fmt_loads(loads: list[float]) -> str:
    """Format the load averages of a row: ``1.9-3.4``."""
    finite = [x for x in loads if x == x]
    return f"{min(finite):.1f}-{max(finite):.1f}" if finite else "-"


def timed_app(repo: Path, hz: Path, **extra_env: str) -> tuple[Any, Callable[..., None]]:
    """The app (``app.py``) in Streamlit's AppTest on the Hangzhou data, caches cleared.

    Returns the ``AppTest`` and ``timed(label, change=None)``: applies ``change`` (widget changes),
    runs the page once and prints the seconds it took (and whether it raised). ``extra_env``
    adds ``LIANPIAN_APP_*`` variables (roads, facilities).
    """
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    os.environ.update(
        LIANPIAN_APP_ESTATES=str(hz / "osm_landuse_residential.gpkg"),
        LIANPIAN_APP_SURVEY=str(hz / "survey_illustrative.csv"),
        LIANPIAN_APP_BARRIERS=str(hz / "osm_water.gpkg"),
        **extra_env,
    )
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(repo / "app.py"), default_timeout=300)

    def timed(label: str, change: Callable[[], Any] | None = None) -> None:
        if change is not None:
            change()
        started = time.perf_counter()
        at.run()
        flag = "  EXCEPTION" if at.exception else ""
        print(f"app {label}: {time.perf_counter() - started:.2f} s{flag}")

    return at, timed
