"""Where the time of one ``lianpian plan`` on tiled estates goes, step by step (wall time).

Runs ``lianpian plan`` (through ``geo.cli.main``, same inputs as ``bench_plan.py``) in this process
with the main steps wrapped by timers, then prints the total, the peak resident memory of this
process and the seconds spent in each step (nested steps are inside their callers: ``read_vector``
is inside the ``read_*`` steps, ``join_survey`` and ``assess_eligibility`` inside
``prepare_estates``). Not part of ``./dev bench``: a tool to see what to speed up next.

Run: ``python benchmarks/plan_steps.py [--estates 220000] [plan options, e.g. --workers 1]``.
"""

from __future__ import annotations

import argparse
import functools
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _tiling import require_data, tiled_inputs

import geo.cli
import geo.core.schema
import geo.io
import geo.pipeline

STEPS = {
    geo.io: (
        "read_vector",
        "read_estates",
        "read_survey",
        "read_lines_or_polygons",
        "write_layers",
    ),
    geo.core.schema: ("coerce_attributes",),
    geo.pipeline: (
        "check_reference_offset",
        "prepare_estates",
        "join_survey",
        "assess_eligibility",
        "barrier_layer",
        "build_adjacency",
        "form_districts",
        "score_estates",
        "score_districts",
        "plan_corridors",
    ),
}


def _timed(module: Any, name: str, seconds: dict[str, float]) -> None:
    func = getattr(module, name)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - started

    setattr(module, name, wrapper)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--estates", type=int, default=220_000)
    args, extra = parser.parse_known_args(argv)
    require_data()
    seconds: dict[str, float] = {}
    for module, names in STEPS.items():
        for name in names:
            _timed(module, name, seconds)
    # geo.io's modules import what they call by name: rebind the timed functions there too
    for sub in list(sys.modules.values()):
        if getattr(sub, "__name__", "").startswith("geo.io."):
            for module, names in STEPS.items():
                for name in names:
                    if hasattr(sub, name) and sub is not module:
                        setattr(sub, name, getattr(module, name))
    t = tiled_inputs(args.estates)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        out = str(Path(tmp) / "plan.gpkg")
        inputs = ["--estates", t.estates, "--survey", t.survey, "--barriers", t.water]
        code = geo.cli.main(["plan", *inputs, "--roads", t.roads, "--out", out, *extra])
        total = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\n{args.estates:,} estates: {total:.1f} s, peak {peak:,.0f} MB (this process)")
    for name, value in seconds.items():
        print(f"  {name:<24} {value:7.1f} s")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
