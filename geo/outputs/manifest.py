"""The manifest, README and index of tender packages: what was written, from what, for whom.

Holds the manifest (every file with its CRS, size and SHA-256; sources and licences; the plan's
provenance; warnings), its human-readable README_说明.txt, and the index of an export (片区一览
with its 合计 row, 小区归属 of all exported districts, index.csv and index.gpkg).

May import: geo.core, geo.io, geo.outputs.bundle, geo.outputs.cells, geo.outputs.labels.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path

import pandas as pd
import pyogrio

from geo import __version__
from geo import io as geo_io
from geo.outputs.bundle import (
    PackageFile,
    PlanLayers,
    _blank,
    _crs_text,
    _data_character,
    _plain,
    _sources,
)
from geo.outputs.cells import _table, _write_csv, shown, total_row
from geo.outputs.labels import code_label


def _file_entry(root: Path, f: PackageFile) -> dict[str, object]:
    p = root / f.path
    digest = hashlib.sha256(p.read_bytes()).hexdigest()
    return {
        "path": f.path,
        "description": f.description,
        "crs": f.crs,
        "bytes": p.stat().st_size,
        "sha256": digest,
    }


def _manifest(
    layers: PlanLayers, files: list[PackageFile], root: Path, scope: str, warn: list[str]
) -> dict[str, object]:
    return {
        "package": scope,
        "generated_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "software": f"lianpian {__version__} (export)",
        "plan": {
            "file": Path(layers.source).name,
            "software": layers.run_info.get("software_version", "unknown"),
            "planned_at": layers.run_info.get("generated_at", "unknown"),
            "crs": _crs_text(layers.crs),
        },
        "policy": {
            "source": layers.run_info.get("policy_source", "unknown (not recorded by the plan)"),
            "file": "policy.toml" if layers.run_info.get("policy_toml") else None,
        },
        "data": _data_character(layers),
        "sources": _sources(layers),
        "content_classes": "Yangjiang 2021-2025 draft, annex 1 (25 items) -> 基础类/完善类/提升类 "
        "(geo/content.py)",
        "warnings": warn,
        "files": [_file_entry(root, f) for f in files],
    }


def _readme(manifest: dict[str, object]) -> str:
    lines = [
        f"招标资料包 / tender package: {manifest['package']}",
        f"生成 generated: {manifest['generated_at']} by {manifest['software']}",
        f"规划 plan: {manifest['plan']['file']} ({manifest['plan']['software']}, "  # type: ignore[index]
        f"{manifest['plan']['planned_at']}), CRS {manifest['plan']['crs']}",  # type: ignore[index]
        f"政策 policy: {manifest['policy']['source']}",  # type: ignore[index]
        f"数据性质 data: {manifest['data']}",
        "",
        "来源与许可 sources and licences:",
    ]
    for s in manifest["sources"]:  # type: ignore[attr-defined]
        lines.append(
            f"  - {s['role']}: {s['file']} — {s['licence']} (illustrative: {s['illustrative']})"
        )
    lines += ["", "文件 files (CRS; bytes; SHA-256):"]
    for f in manifest["files"]:  # type: ignore[attr-defined]
        lines.append(
            f"  - {f['path']}: {f['description']}" + (f" [{f['crs']}]" if f["crs"] else "")
        )
        lines.append(f"      {f['bytes']} bytes, sha256 {f['sha256']}")
    if manifest["warnings"]:
        lines += ["", "注意 warnings:"]
        lines += [f"  - {w}" for w in manifest["warnings"]]  # type: ignore[attr-defined]
    lines += [
        "",
        "Notes: Shapefile field names have at most 10 bytes: short Chinese names with GBK (.cpg",
        "GBK, dBASE language driver 0x4D for ArcMap), readable ASCII names with UTF-8;",
        "shp/field_names.csv gives the full names. DXF: CGCS2000 3-degree Gauss-Krüger zone named",
        "above, metres, no zone prefix, opens on the data; text style LP_CJK uses gbenor.shx with",
        "the big font gbcbig.shx (AutoCAD, GstarCAD, ZWCAD); 界址点 X = northing, Y = easting.",
        "KML is WGS-84 (EPSG:4326), not GCJ-02. Spreadsheet text beginning with = + - @ is stored",
        "as text (XLSX) or prefixed with ' (CSV).",
    ]
    return "\n".join(lines) + "\n"


def _write_text(path: Path, text: str) -> None:
    with geo_io.atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


_INDEX_FORMATS = ["@", "@", "0", "#,##0", "#,##0", "#,##0", "#,##0.0", "0", "@"]
_INDEX_SUMMED = [False, False, True, True, True, True, True, False, False]


def _index_rows(layers: PlanLayers, names: dict[str, str], suffix: str) -> list[list[object]]:
    """One row per exported district, numbers rounded as shown, and the 合计 row last."""
    rows = []
    for _, r in layers.districts.iterrows():
        did = str(r["district_id"])
        if did not in names:
            continue
        inv = r.get("investment_yuan")
        rows.append(
            [
                did,
                r.get("county"),
                r.get("estates"),
                r.get("households"),
                r.get("buildings"),
                r.get("floor_area_m2"),
                None if _blank(inv) else float(inv) / 1e4,
                r.get("priority_rank"),
                names[did] + suffix,
            ]
        )
    rows = [[shown(v, f) for v, f in zip(row, _INDEX_FORMATS, strict=True)] for row in rows]
    rows.append(total_row(rows, _INDEX_FORMATS, _INDEX_SUMMED, "合计 total"))
    return rows


_MEMBERS_HEADER = [
    "片区编号 district id",
    "小区编号 estate id",
    "小区名称 name",
    "资格 status",
    "户数(户) households",
    "建筑面积(m²) floor area",
]


def _member_rows(layers: PlanLayers, names: dict[str, str]) -> list[list[object]]:
    """The district-to-estate assignment of every exported district (one row per member)."""
    est = layers.estates
    members = est.loc[est["district_id"].astype(str).isin(names)]
    members = members.sort_values(["district_id", "estate_id"], key=lambda s: s.astype(str))
    get = lambda c: members[c] if c in members else pd.Series(None, index=members.index)  # noqa: E731
    return [
        [d, e, n, code_label("status", s), shown(h, "#,##0"), shown(a, "#,##0")]
        for d, e, n, s, h, a in zip(
            members["district_id"].astype(str),
            members["estate_id"],
            get("name"),
            get("status"),
            get("households"),
            get("floor_area_m2"),
            strict=True,
        )
    ]


_INDEX_HEADER = [
    "片区编号 district id",
    "所在区县 county",
    "小区数(个) estates",
    "户数(户) households",
    "栋数(栋) buildings",
    "建筑面积(m²) floor area",
    "估算投资(万元) investment",
    "优先级排名 rank",
    "资料包 package",
]


def _write_index(
    layers: PlanLayers, out: Path, names: dict[str, str], suffix: str, warn: list[str]
) -> list[Path]:
    from openpyxl import Workbook

    rows = _index_rows(layers, names, suffix)
    wb = Workbook()
    ws = wb.active
    ws.title = "片区一览"
    _table(ws, _INDEX_HEADER, rows, _INDEX_FORMATS)
    ws.column_dimensions["I"].width = 40
    ws = wb.create_sheet("小区归属")
    _table(ws, _MEMBERS_HEADER, _member_rows(layers, names), ["@", "@", "@", "@", "#,##0", "#,##0"])
    with geo_io.atomic_path(out / "index.xlsx") as tmp:
        wb.save(tmp)
    _write_csv(out / "index.csv", _INDEX_HEADER, rows)
    outlines = layers.districts.loc[layers.districts["district_id"].astype(str).isin(names)]
    with geo_io.atomic_path(out / "index.gpkg") as tmp:
        pyogrio.write_dataframe(_plain(outlines), tmp, layer="districts", driver="GPKG")
    files = [
        PackageFile(
            "index.xlsx",
            "片区一览 list of the exported districts (合计 row); 小区归属 their member estates",
        ),
        PackageFile("index.csv", "the same list as CSV (UTF-8 with BOM)"),
        PackageFile("index.gpkg", "outlines of the exported districts", _crs_text(layers.crs)),
    ]
    files += [
        PackageFile(names[d] + suffix, f"package of district {d}")
        for d in names
        if suffix == ".zip"
    ]
    manifest = _manifest(layers, files, out, f"index of {len(names)} districts", warn)
    _write_text(out / "README_说明.txt", _readme(manifest))
    _write_text(out / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
    return [out / f.path for f in files] + [out / "README_说明.txt", out / "manifest.json"]
