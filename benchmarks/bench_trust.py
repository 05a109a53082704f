"""Resource guards of issue 16: time and peak memory on hostile inputs, against what users would use.

Three inputs, each made here (synthetic, no real data), each read or planned in its own child
process (wall time; peak RSS of the whole child, ``getrusage``):

- ``far_cell``: a 6 KB survey XLSX whose stray cell is XFD1048576. lianpian ``io.read_table``
  (streamed, real cells only) against ``pandas.read_excel`` (openpyxl engine), which is what a
  planner's script would call; pandas runs under a memory cap (``--cap-mb``) and a time limit
  (``--timeout``) so the machine survives it.
- ``vertices``: four estates, one with a 500,000-vertex outline (a GPS trace or a densified
  export), through ``lianpian plan``; against ``geopandas.read_file`` of the same file.
- ``estates``: 100,000 touching estates (a 316 x 316 grid, all surveyed and eligible) through
  ``lianpian plan``: adjacency and districts on every one; against ``geopandas.read_file``.

Run from the repository root: ``python benchmarks/bench_trust.py [--runs 3] [--estates 100000]``.
Prints min / median of the runs and the load average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _measure import emit, measure, run_child

GK = "EPSG:4549"
X0, Y0 = 500_000.0, 3_300_000.0


# --------------------------------------------------------------------------- inputs


def make_far_cell(folder: Path) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["编号", "小区名称", "建成年代", "户数", "居民同意率"])
    for i in range(1, 21):
        sheet.append([f"E{i}", f"小区{i}", 1990, 120, 0.9])
    sheet["XFD1048576"] = "x"
    path = folder / "far_cell.xlsx"
    book.save(path)
    return path


def make_vertices(folder: Path, n_vertices: int) -> Path:
    import geopandas as gpd
    import numpy as np
    import shapely

    angles = np.linspace(0, 2 * np.pi, n_vertices, endpoint=False)
    radius = 150 + 5 * np.sin(angles * 500)  # a wiggly outline, as a densified trace is
    ring = np.column_stack([X0 + radius * np.cos(angles), Y0 + radius * np.sin(angles)])
    big = shapely.Polygon(ring)
    small = [
        shapely.box(X0 + 160 + i * 110, Y0 - 50, X0 + 260 + i * 110, Y0 + 50) for i in range(3)
    ]
    gdf = gpd.GeoDataFrame(
        {"编号": ["V1", "V2", "V3", "V4"], "建成年代": [1990] * 4, "户数": [300] * 4},
        geometry=[big, *small],
        crs=GK,
    )
    gdf["居民同意率"] = 0.9
    path = folder / "vertices.gpkg"
    gdf.to_file(path, engine="pyogrio")
    return path


def make_estates(folder: Path, n: int) -> Path:
    import geopandas as gpd
    import numpy as np
    import shapely

    side = int(np.ceil(np.sqrt(n)))
    i = np.arange(n)
    x = X0 + (i % side) * 100.0
    y = Y0 + (i // side) * 100.0
    geoms = shapely.box(x, y, x + 100.0, y + 100.0)  # touching squares
    gdf = gpd.GeoDataFrame(
        {
            "编号": [f"E{k:06d}" for k in i],
            "建成年代": 1990,
            "户数": 120,
            "居民同意率": 0.9,
        },
        geometry=geoms,
        crs=GK,
    )
    path = folder / f"estates_{n}.gpkg"
    gdf.to_file(path, engine="pyogrio")
    return path


# --------------------------------------------------------------------------- children


def child(kind: str, path: str, out: str) -> None:
    if kind == "lianpian_table":
        from geo import io

        table, m = measure(lambda: io.read_table(path))
        emit({**m, "rows": len(table)})
    elif kind == "pandas_excel":
        import pandas as pd

        table, m = measure(lambda: pd.read_excel(path, dtype=str))
        emit({**m, "rows": len(table)})
    elif kind == "lianpian_plan":
        from geo.cli import main

        code, m = measure(lambda: main(["plan", "--estates", path, "--out", out]))
        emit({**m, "exit": code})
    elif kind == "geopandas_read":
        import geopandas as gpd

        frame, m = measure(lambda: gpd.read_file(path, engine="pyogrio"))
        emit({**m, "rows": len(frame)})


def _capped(cap_mb: int, timeout: int) -> list[str]:
    """A prefix that runs a child under a memory cap (ulimit -v) and a time limit."""
    return [
        "-c",
        f"import resource, signal, sys, runpy; resource.setrlimit(resource.RLIMIT_AS, "
        f"({cap_mb} << 20, {cap_mb} << 20)); signal.alarm({timeout}); "
        "sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')",
    ]


def runs(argv: list[str], n: int, env: dict[str, str] | None = None) -> list[dict] | str:
    out = []
    for _ in range(n):
        try:
            out.append(run_child(argv, env=env))
        except RuntimeError as exc:
            text = str(exc)
            reason = (
                "memory cap hit"
                if "MemoryError" in text
                else (
                    "time limit hit" if "(-14)" in text or "Alarm" in text else text.splitlines()[0]
                )
            )
            return reason
    return out


def line(name: str, result: list[dict] | str) -> str:
    if isinstance(result, str):
        return f"  {name:<34} did not finish: {result}"
    seconds = [r["seconds"] for r in result]
    peak = max(r["process_peak_mb"] for r in result)
    return (
        f"  {name:<34} min {min(seconds):7.2f} s  median {statistics.median(seconds):7.2f} s  "
        f"peak {peak:8,.0f} MB"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--estates", type=int, default=100_000)
    parser.add_argument("--vertices", type=int, default=500_000)
    parser.add_argument("--cap-mb", type=int, default=3000, help="memory cap of pandas' run")
    parser.add_argument("--timeout", type=int, default=120, help="time limit of pandas' run (s)")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return 0
    me = str(Path(__file__).resolve())
    print(
        f"load average before: {', '.join(f'{v:.2f}' for v in os.getloadavg())}; {os.cpu_count()} cores"
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        far = make_far_cell(folder)
        print(f"\nfar-cell workbook ({far.stat().st_size / 1024:.1f} KB, stray cell XFD1048576):")
        ours = runs([me, "--child", "lianpian_table", str(far), "-"], args.runs)
        print(line("lianpian io.read_table", ours))
        theirs = runs(
            [*_capped(args.cap_mb, args.timeout), me, "--child", "pandas_excel", str(far), "-"], 1
        )
        print(line(f"pandas.read_excel (cap {args.cap_mb} MB, {args.timeout} s)", theirs))
        if not isinstance(ours, str) and not isinstance(theirs, str):
            ratio = statistics.median(r["seconds"] for r in theirs) / statistics.median(
                r["seconds"] for r in ours
            )
            print(f"  ratio pandas / lianpian: {ratio:,.0f}x")

        poly = make_vertices(folder, args.vertices)
        print(
            f"\n{args.vertices:,}-vertex estate among 3 others ({poly.stat().st_size / 1e6:.1f} MB):"
        )
        print(
            line(
                "lianpian plan",
                runs(
                    [me, "--child", "lianpian_plan", str(poly), str(folder / "v.gpkg")], args.runs
                ),
            )
        )
        print(
            line(
                "geopandas.read_file (read only)",
                runs([me, "--child", "geopandas_read", str(poly), "-"], args.runs),
            )
        )

        grid = make_estates(folder, args.estates)
        print(f"\n{args.estates:,} touching estates ({grid.stat().st_size / 1e6:.1f} MB):")
        print(
            line(
                "lianpian plan",
                runs(
                    [me, "--child", "lianpian_plan", str(grid), str(folder / "e.gpkg")], args.runs
                ),
            )
        )
        print(
            line(
                "geopandas.read_file (read only)",
                runs([me, "--child", "geopandas_read", str(grid), "-"], args.runs),
            )
        )
    print(f"\nload average after: {', '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
