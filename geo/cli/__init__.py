"""The ``lianpian`` command line. Each command calls the same pipeline as the app.

``lianpian plan`` reads the inputs, runs the planning steps and writes one GeoPackage atomically,
then prints a summary. Errors in the input end the run with exit code 2 and one line naming the
file, the row or feature, and the fix; nothing partial is written.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

from geo import __version__, io
from geo.cli import fiveyear as cli_plan
from geo.cli.summary import print_summary
from geo.core._machine import cores, flush_standard_streams
from geo.core.errors import InputError, LianpianError
from geo.core.messages import clip, interface_language, msg
from geo.core.policy import load_policy
from geo.pipeline import load_inputs, run_plan

EXIT_INPUT = 2
EXIT_INTERNAL = 3

#: What a run made, kept until the process ends when :func:`run` started it (else None).
_KEPT_UNTIL_EXIT: list[object] | None = None


def _plan_parser(sub: argparse._SubParsersAction) -> None:
    plan = sub.add_parser(
        "plan",
        help="group eligible estates into districts and write a GeoPackage",
        description="Run the planning steps; with no --estates, on the embedded "
        "synthetic demo town.",
    )
    plan.add_argument(
        "--estates",
        help="estate footprints (GeoPackage, Shapefile, GeoJSON, "
        "FlatGeobuf, zipped Shapefile; FILE::LAYER picks a layer)",
    )
    plan.add_argument("--survey", help="survey table (CSV, TSV or XLSX) joined by id, else name")
    plan.add_argument(
        "--barriers",
        nargs="+",
        default=[],
        metavar="FILE",
        help="layers estates may not be grouped across (water, railways)",
    )
    plan.add_argument("--roads", help="OSM-schema road lines (arterial classes become barriers)")
    plan.add_argument("--boundaries", help="administrative units (name, level)")
    plan.add_argument("--facilities", help="elderly-care facilities (points or polygons)")
    plan.add_argument(
        "--candidate-sites",
        help="candidate sites for new shared elderly-care facilities (points or polygons: "
        "vacant rooms, parcels), offered besides the districts' estates",
    )
    plan.add_argument(
        "--mains", help="municipal mains (lines; column utility: 给水/雨水/污水/燃气/电力/通信)"
    )
    plan.add_argument("--buildings", help="building footprints (clearance check of corridors)")
    plan.add_argument("--policy", help="policy TOML overriding the defaults key by key")
    plan.add_argument(
        "--source-crs",
        help="CRS of the estates when missing or special: EPSG:4490, gcj02 (AMap), bd09 (Baidu)",
    )
    plan.add_argument(
        "--survey-crs",
        help="coordinate system of the survey's points (经度/纬度, lng/lat, x/y, 坐标): "
        "wgs84, gcj02 (AMap, Tencent), bd09 (Baidu) or an EPSG code; undeclared: WGS-84, checked",
    )
    plan.add_argument(
        "--column",
        action="append",
        default=[],
        metavar="HEADER=COLUMN",
        help="map an input header onto an estate column, e.g. 楼盘名称=name (repeatable)",
    )
    plan.add_argument(
        "--engine",
        choices=("local", "dask"),
        default="local",
        help="local: one process; dask: one task per county on dask.distributed "
        "(same result; see docs/benchmarks.md)",
    )
    plan.add_argument(
        "--scheduler", help="dask scheduler address (tcp://host:8786); default: a local cluster"
    )
    plan.add_argument(
        "--workers",
        type=int,
        help="worker processes: of the local dask cluster with --engine dask, else for the "
        "corridors of the districts (default: one per core)",
    )
    plan.add_argument(
        "--out", default="lianpian_plan.gpkg", help="output GeoPackage (default: %(default)s)"
    )
    cli_plan.add_plan_arguments(plan)


def _export_parser(sub: argparse._SubParsersAction) -> None:
    export = sub.add_parser(
        "export",
        help="write tender packages (GeoPackage, Shapefile, DXF, XLSX, KML, PDF/PNG) per district",
        description="Write one package per district (folder or zip) plus an index, from the "
        "GeoPackage written by `lianpian plan`.",
    )
    export.add_argument("results", help="the GeoPackage written by `lianpian plan --out`")
    which = export.add_mutually_exclusive_group(required=True)
    which.add_argument("--district", action="append", metavar="ID", help="district id (repeatable)")
    which.add_argument("--all", action="store_true", help="every district of the plan")
    export.add_argument("--out", required=True, help="output folder (created)")
    export.add_argument(
        "--zip", action="store_true", help="one zip per district instead of folders"
    )
    export.add_argument(
        "--encoding",
        choices=["utf-8", "gbk"],
        default="utf-8",
        help="text encoding of the Shapefiles (default: %(default)s): utf-8 writes a .cpg and "
        "ASCII field names; gbk writes GBK text, short Chinese field names and the dBASE language "
        "driver byte 0x4D, for ArcMap and older QGIS that ignore the .cpg",
    )
    export.add_argument(
        "--roads",
        action="append",
        metavar="FILE",
        help="road lines drawn as context in the DXF and PDF/PNG (repeatable; default: the roads "
        "file the plan recorded)",
    )
    export.add_argument(
        "--water",
        action="append",
        metavar="FILE",
        help="water bodies drawn as context (repeatable; default: the barrier files the plan "
        "recorded)",
    )
    export.add_argument(
        "--dpi",
        type=int,
        default=300,
        help="resolution of the A3 PNG drawing (default: %(default)s; the PDF is vector)",
    )
    export.add_argument(
        "--jobs",
        type=int,
        default=min(4, cores()),
        help="districts built in parallel (default: %(default)s)",
    )


def cmd_export(args: argparse.Namespace) -> int:
    """Run ``lianpian export``: read the plan, write the packages and the index, print them."""
    from geo.outputs.export import PackageOptions, export_packages, read_plan

    started = time.perf_counter()
    layers = read_plan(args.results, roads=args.roads, water=args.water)
    result = export_packages(
        layers,
        args.out,
        district_ids=None if args.all else args.district,
        as_zip=args.zip,
        options=PackageOptions(encoding=args.encoding, dpi=args.dpi),
        jobs=args.jobs,
    )
    packages = {p for p in result.paths if p.suffix == ".zip"} or {
        p.parent for p in result.paths if p.suffix == ".gpkg" and p.name != "index.gpkg"
    }
    size = sum(p.stat().st_size for p in result.paths if p.exists())
    lang = interface_language()
    for warning in result.warnings:
        print(msg("warning: {warning}", warning=warning).text(lang), file=sys.stderr)
    written = msg(
        "written: {packages} district packages and the index in {out} ({mb:,.1f} MB, "
        "{seconds:.1f} s)",
        packages=len(packages),
        out=args.out,
        mb=size / 1e6,
        seconds=time.perf_counter() - started,
    )
    print(written.text(lang))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``lianpian`` command."""
    parser = argparse.ArgumentParser(
        prog="lianpian",
        description="Contiguous renovation of old residential estates (城镇老旧小区连片改造).",
    )
    parser.add_argument("--version", action="version", version=f"lianpian {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = parser.add_subparsers(dest="command", required=True)
    _plan_parser(sub)
    cli_plan.add_parsers(sub)
    _export_parser(sub)
    return parser


def _split(item: str | None) -> tuple[str | None, str | None]:
    if item and "::" in item:
        path, layer = item.rsplit("::", 1)
        return path, layer
    return item, None


def _column_mapping(items: list[str]) -> dict[str, str]:
    """Parse ``HEADER=COLUMN`` options (``build_year`` is accepted for ``build_year_raw``)."""
    mapping = {}
    for item in items:
        header, sep, column = item.partition("=")
        if not sep or not header.strip() or not column.strip():
            raise InputError(
                msg("--column {item!r} is not HEADER=COLUMN", item=item),
                fix="e.g. --column 楼盘=name",
            )
        column = column.strip()
        mapping[header.strip()] = "build_year_raw" if column == "build_year" else column
    return mapping


#: Arguments naming what a command writes; every other argument naming an existing file is an input.
_OUTPUT_ARGS = ("out", "plan_review")


def _run_outputs(args: argparse.Namespace) -> tuple[list[Path], list[Path]]:
    """The files and the replaced folders a command writes (checked by geo.io.output_guard)."""
    if args.command == "export":
        return [], [Path(args.out)]
    if args.command == "tables":
        return [Path(args.out) / "annual_plan.xlsx", Path(args.out) / "task_table.xlsx"], []
    files = [getattr(args, name, None) for name in _OUTPUT_ARGS]
    return [Path(f) for f in files if f], []


def _run_inputs(args: argparse.Namespace) -> list[str]:
    """Every argument value (also in lists) except the outputs: the guard keeps existing files."""
    values = []
    for name, value in vars(args).items():
        if name in _OUTPUT_ARGS:
            continue
        items = value if isinstance(value, list) else [value]
        values += [v for v in items if isinstance(v, str)]
    return values


def cmd_plan(args: argparse.Namespace) -> int:
    """Run ``lianpian plan``: load, plan, write atomically, print the summary."""
    started = time.perf_counter()
    policy = load_policy(args.policy)
    estates, layer = _split(args.estates)
    inputs = load_inputs(
        estates,
        survey=args.survey,
        barriers=args.barriers,
        roads=args.roads,
        boundaries=args.boundaries,
        facilities=args.facilities,
        candidate_sites=args.candidate_sites,
        source_crs=args.source_crs,
        estates_layer=layer,
        mains=args.mains,
        buildings=args.buildings,
        column_mapping=_column_mapping(args.column),
        survey_crs=args.survey_crs,
    )
    with io.GeoPackageWriter(args.out) as writer:
        if args.engine == "dask":
            from geo.distributed import plan_distributed

            result = plan_distributed(
                inputs, policy, scheduler=args.scheduler, workers=args.workers
            )
        else:  # the estates layer is written while the corridors are planned (not with --plan)
            ahead = None if getattr(args, "plan", None) else writer.write_ahead
            result = run_plan(inputs, policy, workers=args.workers or cores(), layer_ready=ahead)
        plan_line = cli_plan.apply_plan_option(args, result)
        out = writer.write(result.layers())
    if _KEPT_UNTIL_EXIT is not None:  # see run(): not freed object by object
        _KEPT_UNTIL_EXIT.append((inputs, result))
    try:
        print_summary(result, out, time.perf_counter() - started)
        if plan_line:
            print(plan_line)
        sys.stdout.flush()
    except OSError as exc:  # standard output full or closed: the plan is written, and stays
        with contextlib.suppress(OSError):
            line = msg(
                "the plan was written to {out}, but its summary could not be printed ({reason})",
                out=str(out),
                reason=exc.strerror or str(exc),
            ).text(interface_language())
            print(f"lianpian: error: {line}", file=sys.stderr)
        return EXIT_INPUT
    return 0


def _quiet_unraisable(unraisable: sys.UnraisableHookArgs) -> None:
    """Drop OSErrors raised while collecting a half-written file; others as Python prints them."""
    if isinstance(unraisable.exc_value, OSError):
        return
    sys.__unraisablehook__(unraisable)


def _print_library_warnings(caught: list[warnings.WarningMessage]) -> None:
    """After a successful run, what libraries warned about, once each (at most five lines).

    During the run they are held back so an error is one line on stderr; the readers put what
    concerns the data into the quality report (geo.io.files.library_warnings).
    """
    texts = list(dict.fromkeys(clip(str(w.message)) or "?" for w in caught))
    for text in texts[:5]:
        print(f"note: {text}", file=sys.stderr)
    if len(texts) > 5:
        print(f"note: {len(texts) - 5} more library warnings", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lianpian`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    commands = {
        "plan": cmd_plan,
        "schedule": cli_plan.cmd_schedule,
        "tables": cli_plan.cmd_tables,
        "progress": cli_plan.cmd_progress,
        "export": cmd_export,
    }
    caught: list[warnings.WarningMessage] = []
    # a file object a failed write left open (zipfile on a full disk) fails again when collected:
    # that second failure of a reported error is not printed as "Exception ignored ... Traceback"
    sys.unraisablehook = _quiet_unraisable
    try:
        files, folders = _run_outputs(args)
        # inputs are never overwritten: one guard for every writer of the run (geo.io.output_guard)
        with (
            io.guarded_run(_run_inputs(args), files=files, folders=folders),
            warnings.catch_warnings(record=True) as caught,
        ):
            warnings.simplefilter("default")
            code = commands[args.command](args)
        _print_library_warnings(caught)
        return code
    except LianpianError as exc:
        # in the interface language: LIANPIAN_LANG=zh (or a zh_* locale) gives Chinese
        print(f"lianpian: error: {exc.one_line(interface_language())}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("lianpian: interrupted; no output was written", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        print(
            f"lianpian: internal error: {type(exc).__name__}: {clip(first, 300)} "
            "(rerun with --debug and report it)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


def run(
    argv: Sequence[str] | None = None, *, when_done: Callable[[int], object] | None = None
) -> None:
    """The ``lianpian`` console script: :func:`main`, then the process ends with its exit code.

    A plan's inputs and result at city scale are millions of Python objects (geometries, cell
    texts). Freeing them one by one once the GeoPackage is in place took 0.9 s at 220,000 tiled
    estates (issue 20), time in which the planner waits for nothing. So, when ``plan`` kept them,
    the process ends without freeing them (``os._exit``; the operating system takes the memory
    back at once), after the outputs are written, closed and in place and stdout and stderr are
    flushed. Nothing else needs finalising by then: lianpian registers no exit hooks, its
    temporary files and folders are removed by the steps that made them, and the corridor
    workers have ended. Other commands, and a plan that failed, end as usual (``sys.exit``).

    ``when_done(code)`` is called after :func:`main` returns, before the process ends (the
    benchmarks stop their clocks there).
    """
    global _KEPT_UNTIL_EXIT
    _KEPT_UNTIL_EXIT = []
    code = main(argv)
    if when_done is not None:
        when_done(code)
    if _KEPT_UNTIL_EXIT:
        flush_standard_streams()
        os._exit(code)
    sys.exit(code)
