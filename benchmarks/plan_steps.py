"""Where the time of one ``lianpian plan`` on tiled estates goes, step by step (wall and CPU time).

Runs ``lianpian plan`` (through ``geo.cli.main``, same inputs as ``bench_plan.py``) in this process
with the main steps wrapped by timers, then prints the total, the peak resident memory of this
process and, per step, the seconds spent in it, the resident memory when it ended and the peak so
far (the step where the peak jumps is where it was reached). Nested steps are inside their
callers: ``read_vector`` is inside the ``read_*`` steps, ``join_survey`` and
``assess_eligibility`` inside ``describe_estates``. CPU time is this process's (``time.process_time``): with ``--workers 1``
the corridors run here too, so on a shared machine the CPU column is the steady one. Steps that run
side by side overlap in wall time, and each one's CPU counts the other's too: ``_adjacency``
(``build_adjacency`` and its memo, in a thread) runs while ``describe_estates`` does, and
``_write_unsynced`` (the estates layer written ahead, in a thread) while ``plan_corridors`` does
(issue 20).
Not part of ``./dev bench``: a tool to see what to speed up next.

Run: ``python benchmarks/plan_steps.py [--estates 220000] [plan options, e.g. --workers 1]``.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _tiling import require_data, tiled_inputs

import geo.cli

#: The steps timed, by the module that defines them (nested steps are inside their callers).
STEPS = (
    ("geo.pipeline.inputs", "load_inputs"),
    ("geo.io", "read_vector"),
    ("geo.io", "read_estates"),
    ("geo.io", "read_survey_and_table"),
    ("geo.io", "read_lines_or_polygons"),
    ("geo.pipeline.inputs", "_start_layers"),  # barriers and roads read, validity left running
    ("geo.core.schema", "coerce_attributes"),
    ("geo.pipeline.inputs", "check_reference_offset"),
    ("geo.pipeline.run", "prepare_estates"),  # the distributed engine's
    ("geo.pipeline.run", "project_estates"),
    ("geo.pipeline.run", "describe_estates"),  # alongside _adjacency
    ("geo.pipeline.run", "_adjacency"),
    ("geo.planning.survey", "join_survey"),
    ("geo.planning.eligibility", "assess_eligibility"),
    ("geo.pipeline.inputs", "barrier_layer"),
    ("geo.planning.adjacency", "build_adjacency"),
    ("geo.planning.adjacency", "_neighbours"),  # neighbour_pairs and their gaps
    ("geo.planning.adjacency", "_shared_boundary"),
    ("geo.planning.adjacency", "_blocking_barriers"),
    ("geo.planning.districts", "form_districts"),
    ("geo.planning.investment", "estimate_investment"),
    ("geo.planning.funding", "funding_table"),
    ("geo.planning.priority", "score_estates"),
    ("geo.planning.priority", "score_districts"),
    ("geo.facilities.corridors", "plan_corridors"),
    ("geo.io.writers", "_write_unsynced"),  # a layer written ahead, in a thread (inside corridors)
    ("geo.io.writers", "GeoPackageWriter.write"),  # the other layers, after the run
)


def _rss_mb() -> float:
    """This process's resident memory now (MB; Linux /proc, else the peak so far)."""
    try:
        with Path("/proc/self/statm").open() as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(
    module_name: str,
    name: str,
    seconds: dict[str, float],
    cpu: dict[str, float],
    memory: dict[str, tuple[float, float]],
) -> None:
    """Wrap ``module.name`` with a timer wherever a loaded geo module holds it (imported by name).

    ``Class.method`` names wrap the method on its class.
    """

    def timer(func: Any) -> Any:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started, cpu_started = time.perf_counter(), time.process_time()
            try:
                return func(*args, **kwargs)
            finally:
                seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - started
                cpu[name] = cpu.get(name, 0.0) + time.process_time() - cpu_started
                peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                before = memory.get(name, (0.0, 0.0))
                memory[name] = (max(before[0], _rss_mb()), max(before[1], peak))

        return wrapper

    if "." in name:
        owner_name, method = name.split(".", 1)
        owner = getattr(importlib.import_module(module_name), owner_name)
        setattr(owner, method, timer(getattr(owner, method)))
        return
    func = getattr(importlib.import_module(module_name), name, None)
    if func is None:  # moved: look for it in the package
        found = [m for k, m in sys.modules.items() if k.startswith("geo") and hasattr(m, name)]
        if not found:
            print(f"(step {module_name}.{name} not found: not timed)")
            return
        func = getattr(found[0], name)
    wrapper = timer(func)
    for key, module in list(sys.modules.items()):
        if key.startswith("geo") and getattr(module, name, None) is func:
            setattr(module, name, wrapper)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--estates", type=int, default=220_000)
    args, extra = parser.parse_known_args(argv)
    require_data()
    seconds: dict[str, float] = {}
    cpu: dict[str, float] = {}
    memory: dict[str, tuple[float, float]] = {}
    for module_name, name in STEPS:
        _timed(module_name, name, seconds, cpu, memory)
    t = tiled_inputs(args.estates)
    tmp = tempfile.mkdtemp(prefix="lianpian-plan-steps-")
    started, cpu_started = time.perf_counter(), time.process_time()

    def done(code: int) -> None:  # as the console script ends: the plan is not freed (geo.cli.run)
        total = time.perf_counter() - started
        total_cpu = time.process_time() - cpu_started
        shutil.rmtree(tmp, ignore_errors=True)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"\n{args.estates:,} estates: {total:.1f} s wall, {total_cpu:.1f} s CPU, "
            f"peak {peak:,.0f} MB (this process); load average {os.getloadavg()[0]:.1f}"
        )
        print(f"  {'step':<24} {'wall':>8} {'CPU':>8} {'RSS after':>10} {'peak so far':>12}")
        for name, value in seconds.items():
            rss, peak_after = memory[name]
            print(
                f"  {name:<24} {value:7.1f}s {cpu[name]:7.2f}s {rss:8,.0f}MB {peak_after:10,.0f}MB"
            )

    out = str(Path(tmp) / "plan.gpkg")
    inputs = ["--estates", t.estates, "--survey", t.survey, "--barriers", t.water]
    geo.cli.run(["plan", *inputs, "--roads", t.roads, "--out", out, *extra], when_done=done)
    return 0  # not reached: run() ends the process with the plan's exit code


if __name__ == "__main__":
    raise SystemExit(main())
