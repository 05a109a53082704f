"""Tender-package export on the Hangzhou plan: time per district, by format, against plain pyogrio.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_export.py PLAN.gpkg [--districts 12] [--runs 3]

PLAN.gpkg is a plan of the Hangzhou set (README, command-line section). Prints, for the first N
districts built in one process: CPU seconds per district of each writer (GeoPackage, Shapefile,
DXF, XLSX, KML, drawings PDF+PNG at 300 dpi) as min and median of the runs, and the same
districts written by plain pyogrio (estates and outline to one GeoPackage: what a user would
otherwise do), as the ratio. CPU time, not wall time, because the machine is shared (the load
average is printed); the full export's wall time is printed by `lianpian export` itself.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("plan")
    parser.add_argument("--districts", type=int, default=12)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    import pyogrio

    from geo.outputs import bundle, drawings, dxf, kml, shapefile, workbook
    from geo.outputs import export as ex

    layers = ex.read_plan(args.plan)
    ids = list(layers.districts["district_id"].astype(str))[: args.districts]
    bundles = [bundle._bundle(layers, d) for d in ids]
    writers = {
        "gpkg": lambda b, d: ex._write_gpkg(b, d / "a.gpkg", layers),
        "shp": lambda b, d: shapefile._write_shapefiles(b, d / "shp", "gbk", []),
        "dxf": lambda b, d: dxf._write_dxf(b, d / "a.dxf", layers),
        "xlsx": lambda b, d: workbook._write_xlsx(b, d / "a.xlsx", layers),
        "kml": lambda b, d: kml._write_kml(b, d / "a.kml"),
        "pdf+png": lambda b, d: drawings._write_drawings(
            b, d / "a.pdf", d / "a.png", layers, 300, []
        ),
        "plain pyogrio": lambda b, d: [
            pyogrio.write_dataframe(ex._plain(f), d / "p.gpkg", layer=n, driver="GPKG")
            for n, f in (("estates", b.estates), ("outline", b.outline))
        ],
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        writers["pdf+png"](bundles[0], folder)  # imports and font cache outside the timing
        times: dict[str, list[float]] = {k: [] for k in writers}
        for _ in range(args.runs):
            for name, write in writers.items():
                started = time.process_time()
                for b in bundles:
                    write(b, folder)
                times[name].append((time.process_time() - started) / len(bundles))
    print(f"{len(bundles)} districts, {args.runs} runs, load average {os.getloadavg()}")
    ours = 0.0
    for name, values in times.items():
        print(
            f"  {name:14s} min {min(values):.3f} s  median {statistics.median(values):.3f} s"
            " CPU per district"
        )
        if name != "plain pyogrio":
            ours += min(values)
    plain = min(times["plain pyogrio"])
    print(f"  package (all formats) {ours:.3f} s per district = {ours / plain:.1f} x plain pyogrio")


if __name__ == "__main__":
    main()
