"""Compare two plan GeoPackages layer by layer and column by column, and two tender-package folders file by file.

Used to show that a refactoring changed nothing a planner sees (issue 14):

    python scripts/compare_outputs.py before.gpkg after.gpkg [--packages BEFORE_DIR AFTER_DIR]

Tables are compared after sorting by their id columns; geometry by WKB equality, else equal when the largest
Hausdorff distance is under 1e-6 m (a ring that starts at another vertex). Time stamps (``planned_at``, ``generated_at``, the run info's
time) and timings (``siting_seconds``) are ignored. Files in the packages are compared by SHA-256; manifests and GeoPackages (which carry time
stamps) by their content without them. Exits 1 when anything differs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

TIME_COLUMNS = {"planned_at", "generated_at"}
GEOMETRY_TOLERANCE_M = 1e-6
TIMING_FIGURES = {"siting_seconds"}
TIME_KEYS = {"planned_at", "generated_at", "time", "elapsed_s", "seconds", "software"}


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    keys = [
        c
        for c in ("district_id", "estate_id", "source_id", "target_id", "figure", "plan_row")
        if c in frame
    ]
    cols = [c for c in frame.columns if c != "geometry"]
    frame = frame.sort_values(keys or cols[:3], kind="stable") if len(frame) else frame
    return frame.reset_index(drop=True)


def compare_layers(a: Path, b: Path) -> list[str]:
    """Return the differences between two GeoPackages' layers (empty when equal)."""
    out = []
    la = {n for n, _ in pyogrio.list_layers(a)}
    lb = {n for n, _ in pyogrio.list_layers(b)}
    if la != lb:
        out.append(f"layers differ: only before {sorted(la - lb)}, only after {sorted(lb - la)}")
    for layer in sorted(la & lb):
        fa = _sorted(gpd.read_file(a, layer=layer))
        fb = _sorted(gpd.read_file(b, layer=layer))
        if list(fa.columns) != list(fb.columns):
            out.append(f"{layer}: columns differ {list(fa.columns)} vs {list(fb.columns)}")
            continue
        if len(fa) != len(fb):
            out.append(f"{layer}: {len(fa)} vs {len(fb)} rows")
            continue
        for col in fa.columns:
            if col in TIME_COLUMNS:
                continue
            if col == "geometry" and isinstance(fa, gpd.GeoDataFrame):
                same = fa.geometry.to_wkb().equals(fb.geometry.to_wkb())
                if not same:
                    dist = fa.geometry.hausdorff_distance(fb.geometry, align=False).max()
                    if dist > GEOMETRY_TOLERANCE_M:  # same shape, rings may start at another vertex
                        out.append(f"{layer}.geometry: differs (largest Hausdorff {dist:.6f} m)")
                continue
            x, y = fa[col], fb[col]
            if "figure" in fa and col == "value":
                mask = ~fa["figure"].isin(TIMING_FIGURES)
                x, y = x[mask], y[mask]
            if layer == "run_info" and "key" in fa and fa["key"].isin(TIME_KEYS).any():
                mask = ~fa["key"].isin(TIME_KEYS)
                x, y = x[mask], y[mask]
            if not x.equals(y):
                diff = (x.astype(str) != y.astype(str)).sum()
                if diff:
                    out.append(f"{layer}.{col}: {diff} of {len(x)} rows differ")
    return out


def _manifest(path: Path) -> dict:
    data = json.loads(path.read_text(encoding="utf-8"))

    def strip(obj):
        if isinstance(obj, dict):
            return {k: strip(v) for k, v in obj.items() if k not in TIME_KEYS}
        if isinstance(obj, list):
            return [
                strip(v)
                for v in obj
                if not (isinstance(v, dict) and v.get("path", "").endswith(".gpkg"))
            ]
        return obj

    return strip(data)


def compare_packages(a: Path, b: Path) -> list[str]:
    """Return the differences between two tender-package folders (empty when equal)."""
    out = []
    fa = {p.relative_to(a) for p in a.rglob("*") if p.is_file()}
    fb = {p.relative_to(b) for p in b.rglob("*") if p.is_file()}
    if fa != fb:
        out.append(
            f"files differ: only before {sorted(map(str, fa - fb))[:10]}, only after {sorted(map(str, fb - fa))[:10]}"
        )
    for rel in sorted(fa & fb):
        pa, pb = a / rel, b / rel
        if rel.name == "manifest.json":
            if _manifest(pa) != _manifest(pb):
                out.append(f"{rel}: manifest differs (time stamps and GeoPackage hashes aside)")
        elif rel.suffix == ".gpkg":
            out += [f"{rel}: {d}" for d in compare_layers(pa, pb)]
        elif rel.suffix == ".xlsx":
            out += [f"{rel}: {d}" for d in _compare_xlsx(pa, pb)]
        elif rel.suffix == ".dxf":
            if _dxf_lines(pa) != _dxf_lines(pb):
                out.append(f"{rel}: drawing differs (creation times and GUIDs aside)")
        elif rel.suffix == ".zip" or rel.name.startswith("README"):
            continue  # zips hold the files compared above; READMEs carry the export time
        elif hashlib.sha256(pa.read_bytes()).digest() != hashlib.sha256(pb.read_bytes()).digest():
            out.append(f"{rel}: bytes differ")
    return out


DXF_STAMPS = {
    "$TDCREATE",
    "$TDUCREATE",
    "$TDUPDATE",
    "$TDUUPDATE",
    "$TDINDWG",
    "$FINGERPRINTGUID",
    "$VERSIONGUID",
}


def _dxf_lines(path: Path) -> list[str]:
    """The DXF's group-code lines without the header's time stamps and GUIDs."""
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    out, skip = [], 0
    for line in lines:
        if skip:
            skip -= 1
            continue
        if line.strip() in DXF_STAMPS:
            skip = 2  # group code and value
        if " @ 20" in line:  # ezdxf's "version @ time" writer stamp
            continue
        out.append(line)
    return out


def _compare_xlsx(a: Path, b: Path) -> list[str]:
    from openpyxl import load_workbook

    wa, wb = load_workbook(a, read_only=True), load_workbook(b, read_only=True)
    if wa.sheetnames != wb.sheetnames:
        return [f"sheets {wa.sheetnames} vs {wb.sheetnames}"]
    out = []
    for name in wa.sheetnames:
        ra = [r for r in wa[name].iter_rows(values_only=True)]
        rb = [r for r in wb[name].iter_rows(values_only=True)]
        ra = [
            r
            for r in ra
            if not any(isinstance(v, str) and "T" in v and v[:2] == "20" and ":" in v for v in r)
        ]
        rb = [
            r
            for r in rb
            if not any(isinstance(v, str) and "T" in v and v[:2] == "20" and ":" in v for v in r)
        ]
        if ra != rb:
            out.append(f"sheet {name} differs")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--packages", nargs=2, type=Path, metavar=("BEFORE_DIR", "AFTER_DIR"))
    args = parser.parse_args()
    diffs = compare_layers(args.before, args.after)
    n_layers = len(pyogrio.list_layers(args.before))
    print(f"GeoPackage: {n_layers} layers compared column by column: {len(diffs)} differences")
    if args.packages:
        pdiffs = compare_packages(*args.packages)
        n_files = sum(1 for p in args.packages[0].rglob("*") if p.is_file())
        print(f"tender packages: {n_files} files compared: {len(pdiffs)} differences")
        diffs += pdiffs
    for d in diffs[:60]:
        print("  " + d)
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
