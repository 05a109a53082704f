"""Tender packages (招标资料包): one folder or zip per district, plus an index for all.

A district is the unit of a design tender (Yangjiang 2021-2025 draft, §(四): 采用项目成片捆绑、打包等方式，
统一择优选定规划、设计、施工、监理单位). Design institutes work in CAD and GIS, bureaus in Excel, field
staff in map apps, so each package holds the same district in every format they use:

============================  =====================================================================
file                          content
============================  =====================================================================
``<pkg>.gpkg``                district outline, member estates (all attributes), corridors,
                              elderly-care sites, the content table, the run's provenance
``shp/*.shp`` (+ .cpg .prj)   the same layers as Shapefiles, UTF-8 (default; ASCII field names) or
                              GBK (short Chinese field names, dBASE language driver 0x4D); fields of
                              at most 10 bytes (:func:`shapefile_field_names`), ``field_names.csv``
``<pkg>.dxf``                 red-line drawing (红线图), DXF R2010 in the CGCS2000 3-degree
                              Gauss-Krüger zone of the district (:func:`geo.core.crs.gk_zone_epsg`):
                              opens on the data, A3 frame and title block, roads and water,
                              界址点坐标表 (:mod:`geo.outputs.dxf`)
``<pkg>.xlsx``                小区清单 with 合计, summary, assignment, adjacency, quality notes,
                              content, itemised 工程量及投资估算, 界址点坐标表, corridors, sites
``<pkg>.kml``                 WGS-84 (EPSG:4326), styled, for Google Earth and Ovital (奥维)
``<pkg>.pdf``, ``<pkg>.png``   A3 landscape drawing (PDF vector, PNG 300 dpi): frame, title block,
                              scale bar and ratio, north arrow, legend, roads and water (no tiles)
``manifest.json``,            every file with its CRS, size and SHA-256; sources and licences;
``README_说明.txt``            synthetic/illustrative flags; policy; software version; time
``policy.toml``               the policy the plan was run with (when the plan recorded it)
============================  =====================================================================

Every file is written through :func:`geo.io.atomic_path` (temporary file, then rename), and a zip is
assembled in a temporary file and renamed, so an interrupted export never leaves a half file that
looks whole. Text cells beginning with ``=``, ``+``, ``-`` or ``@`` (and tab or carriage return)
are neutralised in XLSX and CSV (OWASP "CSV injection"). File names are safe on Windows.

The writers live one format a module: :mod:`geo.outputs.bundle` (the plan and a district's share),
:mod:`~geo.outputs.shapefile`, :mod:`~geo.outputs.dxf`, :mod:`~geo.outputs.kml`,
:mod:`~geo.outputs.workbook` (with :mod:`~geo.outputs.cells`, :mod:`~geo.outputs.labels` and
:mod:`~geo.outputs.estimate`), :mod:`~geo.outputs.drawings` (on the sheet of
:mod:`~geo.outputs.sheet`, with the context of :mod:`~geo.outputs.context`) and
:mod:`~geo.outputs.manifest` (manifest, README, index). This module assembles them: the package
GeoPackage, zips and worker processes. Its public names are the export API of geo.cli and the app.

May import: geo.core, geo.io, geo.planning, the other geo.outputs modules except geo.outputs.maps.
"""

from __future__ import annotations

import contextlib
import io as _stdio
import json
import tempfile
import warnings
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyogrio
from pyproj import CRS

from geo import io as geo_io
from geo.core.errors import InputError
from geo.core.messages import msg
from geo.io.folders import exit_with_parent, swapped_folder
from geo.outputs.bundle import (
    OPTIONAL_LAYERS,
    OSM_LICENCE,
    REQUIRED_LAYERS,
    DistrictBundle,
    PackageFile,
    PlanLayers,
    Progress,
    _bundle,
    _crs_text,
    _plain,
    read_plan,
)
from geo.outputs.drawings import _write_drawings
from geo.outputs.dxf import _DXF_LAYERS, DXF_CJK_FONT, _write_dxf
from geo.outputs.fonts import CJK_FONT_FAMILIES, find_cjk_font
from geo.outputs.kml import _write_kml
from geo.outputs.manifest import _manifest, _readme, _write_index, _write_text
from geo.outputs.shapefile import (
    SHAPEFILE_ENCODINGS,
    SHAPEFILE_FIELDS,
    _write_shapefiles,
    shapefile_field_names,
)
from geo.outputs.workbook import _write_xlsx
from geo.planning.content import content_table, count_items

__all__ = [
    "CJK_FONT_FAMILIES",
    "DXF_CJK_FONT",
    "OPTIONAL_LAYERS",
    "OSM_LICENCE",
    "REQUIRED_LAYERS",
    "SHAPEFILE_ENCODINGS",
    "SHAPEFILE_FIELDS",
    "DistrictBundle",
    "PackageFile",
    "PackageOptions",
    "PackageResult",
    "PlanLayers",
    "Progress",
    "build_district_package",
    "export_packages",
    "find_cjk_font",
    "package_zip_bytes",
    "read_plan",
    "shapefile_field_names",
]


@dataclass
class PackageOptions:
    """Options of an export: Shapefile ``encoding`` (``utf-8`` or ``gbk``) and the PNG's dpi.

    The drawing is A3 (420 x 297 mm): 300 dpi gives a print-quality PNG of 4961 x 3508 px.
    """

    encoding: str = "utf-8"
    dpi: int = 300


@dataclass
class PackageResult:
    """What an export wrote: the paths, and warnings to show the user (no CJK font, GBK, ...)."""

    paths: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@contextlib.contextmanager
def _sqlite_no_sync() -> Iterator[None]:
    """Skip SQLite's fsync while GDAL writes a temporary GeoPackage (renamed when complete).

    Safe because of :func:`geo.io.atomic_path`: a crash leaves only the temporary file.
    """
    old = pyogrio.get_gdal_config_option("OGR_SQLITE_SYNCHRONOUS")
    pyogrio.set_gdal_config_options({"OGR_SQLITE_SYNCHRONOUS": "OFF"})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({"OGR_SQLITE_SYNCHRONOUS": old})


def _write_gpkg(b: DistrictBundle, path: Path, layers: PlanLayers) -> None:
    frames: dict[str, pd.DataFrame] = {
        "district_outline": b.outline,
        "estates": b.estates,
    }
    if b.corridors is not None:
        frames["corridors"] = b.corridors
    if b.elderly_sites is not None:
        frames["elderly_sites"] = b.elderly_sites
    counts = count_items(b.estates["needs"]) if "needs" in b.estates else {}
    frames["content_items"] = pd.DataFrame(content_table(counts))
    if layers.run_info:
        frames["run_info"] = pd.DataFrame(
            {"key": list(layers.run_info), "value": list(layers.run_info.values())}
        )
    with geo_io.atomic_path(path) as tmp, _sqlite_no_sync():
        for name, frame in frames.items():
            pyogrio.write_dataframe(_plain(frame), tmp, layer=name, driver="GPKG")


# --------------------------------------------------------------------------- packages


def build_district_package(
    layers: PlanLayers, district_id: str, folder: Path, options: PackageOptions | None = None
) -> PackageResult:
    """Write one district's complete package into ``folder`` (created; files replaced atomically).

    Raises
    ------
    InputError
        If the district does not exist in ``layers``.
    """
    options = options or PackageOptions()
    if options.encoding not in SHAPEFILE_ENCODINGS:
        raise InputError(
            msg("unknown Shapefile encoding {encoding!r}", encoding=options.encoding),
            fix="use utf-8 or gbk",
        )
    b = _bundle(layers, district_id)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    warn: list[str] = list(layers.context_warnings)  # e.g. a recorded roads file not found
    run_crs = _crs_text(layers.crs)
    files: list[PackageFile] = []
    _write_gpkg(b, folder / f"{b.name}.gpkg", layers)
    files.append(
        PackageFile(
            f"{b.name}.gpkg",
            "GeoPackage: "
            + ", ".join(
                n
                for n, present in (
                    ("district_outline", True),
                    ("estates (all attributes)", True),
                    ("corridors", b.corridors is not None),
                    ("elderly_sites", b.elderly_sites is not None),
                    ("content_items", True),
                    ("run_info", bool(layers.run_info)),
                )
                if present
            ),
            run_crs,
        )
    )
    files += _write_shapefiles(b, folder / "shp", options.encoding, warn)
    dxf_crs = _write_dxf(b, folder / f"{b.name}.dxf", layers)
    files.append(
        PackageFile(
            f"{b.name}.dxf",
            "DXF R2010: layers " + ", ".join(f"{k} ({v[0]})" for k, v in _DXF_LAYERS.items()),
            dxf_crs,
        )
    )
    _write_xlsx(b, folder / f"{b.name}.xlsx", layers)
    files.append(
        PackageFile(
            f"{b.name}.xlsx",
            "XLSX: 小区清单 schedule (合计), 片区汇总 summary, 小区归属 assignment, 相邻关系 "
            "adjacency, 数据质量 quality notes, 改造内容 content, 工程量及投资估算 itemised estimate, "
            "界址点坐标表 boundary points, 管线廊道/养老设施 when planned, 说明 notes",
        )
    )
    icons = _write_kml(b, folder / f"{b.name}.kml")
    files.append(
        PackageFile(f"{b.name}.kml", "KML for Google Earth / Ovital (奥维)", "EPSG:4326 (WGS 84)")
    )
    files += [PackageFile(name, "PNG icon of the KML's elderly-care sites") for name in icons]
    scale, _ = _write_drawings(
        b, folder / f"{b.name}.pdf", folder / f"{b.name}.png", layers, options.dpi, warn
    )
    gk = _crs_text(CRS.from_epsg(b.gk_epsg))
    files.append(
        PackageFile(
            f"{b.name}.pdf",
            f"A3 landscape drawing at 1:{scale} (vector): frame, title block, scale bar, north "
            "arrow (grid north), legend, roads and water, key of numbered estates",
            gk,
        )
    )
    files.append(PackageFile(f"{b.name}.png", f"the same drawing as PNG, {options.dpi} dpi", gk))
    if layers.run_info.get("policy_toml"):
        _write_text(folder / "policy.toml", layers.run_info["policy_toml"])
        files.append(PackageFile("policy.toml", "policy the plan was run with"))
    manifest = _manifest(layers, files, folder, f"片区 district {b.district_id}", warn)
    _write_text(folder / "README_说明.txt", _readme(manifest))
    _write_text(folder / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
    paths = [folder / f.path for f in files] + [
        folder / "README_说明.txt",
        folder / "manifest.json",
    ]
    return PackageResult(paths=paths, warnings=warn)


def _zip_folder(folder: Path, target: Path) -> None:
    """Zip ``folder``'s files (names relative to it, UTF-8 flagged) into ``target`` atomically."""
    with geo_io.atomic_path(target) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                kind = zipfile.ZIP_STORED if p.suffix == ".png" else zipfile.ZIP_DEFLATED
                zf.write(p, p.relative_to(folder).as_posix(), compress_type=kind)


def export_packages(layers: PlanLayers, out_dir: str | Path, **kwargs) -> PackageResult:
    """Write tender packages into ``out_dir``, built in a staging folder swapped in whole.

    Files of an earlier export that this one does not write are gone; an interrupted export
    leaves the previous folder; a non-empty folder that is not an earlier export is refused
    (:func:`geo.io.folders.swapped_folder`). Arguments and result as :func:`_export_packages_into`.
    """
    final = Path(out_dir)
    with swapped_folder(final, marker="index.gpkg") as staging:
        result = _export_packages_into(layers, staging, **kwargs)
    result.paths = [final / p.relative_to(staging) for p in result.paths]
    return result


def _export_packages_into(
    layers: PlanLayers,
    out_dir: str | Path,
    *,
    district_ids: Sequence[str] | None = None,
    as_zip: bool = False,
    options: PackageOptions | None = None,
    progress: Progress | None = None,
    jobs: int = 1,
) -> PackageResult:
    """Write tender packages for some or all districts into ``out_dir``, plus an index.

    Parameters
    ----------
    layers
        The plan (:func:`read_plan` or :meth:`PlanLayers.from_result`).
    district_ids
        Districts to export; ``None`` exports all.
    as_zip
        One ``<district>.zip`` per district (assembled in a temporary file, then renamed) instead
        of a folder.
    options
        Shapefile encoding and PNG resolution (:class:`PackageOptions`).
    progress
        Called with (fraction 0-1, message).
    jobs
        Worker processes building packages in parallel (1: in this process).

    Returns
    -------
    PackageResult
        Written paths (package folders' files or zips, and the index files) and warnings.

    Raises
    ------
    InputError
        For an unknown district id, or when the plan has no districts.
    """
    out = Path(out_dir)
    ids = [
        str(d)
        for d in (district_ids if district_ids is not None else layers.districts["district_id"])
    ]
    if not ids:
        raise InputError(
            "the plan has no districts to export",
            source=layers.source,
            fix="check the plan's summary",
        )
    for did in ids:
        _bundle_check(layers, did)
    out.mkdir(parents=True, exist_ok=True)
    result = PackageResult()
    names: dict[str, str] = {}
    tasks = [(did, str(out), as_zip, options) for did in ids]
    if jobs > 1 and len(ids) > 1:
        import concurrent.futures

        with concurrent.futures.ProcessPoolExecutor(
            max_workers=jobs, initializer=_init_worker, initargs=(layers,)
        ) as pool:
            done = pool.map(_worker_package, tasks, chunksize=max(1, len(ids) // (4 * jobs)))
            parts = _collect(done, ids, progress)
    else:
        parts = _collect((_one_package(layers, *t) for t in tasks), ids, progress)
    for did, (name, paths, warns) in zip(ids, parts, strict=True):
        names[did] = name
        result.paths += paths
        result.warnings += [w for w in warns if w not in result.warnings]
    index = _write_index(layers, out, names, ".zip" if as_zip else "/", result.warnings)
    result.paths += [p for p in index if p not in result.paths]
    if progress is not None:
        progress(1.0, "done")
    return result


_WORKER_LAYERS: PlanLayers | None = None


def _init_worker(layers: PlanLayers) -> None:
    exit_with_parent()  # a killed export leaves no worker writing on (issue 16)
    global _WORKER_LAYERS
    _WORKER_LAYERS = layers
    warnings.simplefilter("ignore", RuntimeWarning)
    _reuse_large_buffers()


def _reuse_large_buffers() -> None:
    """In a worker process, let glibc reuse the drawings' large buffers between districts.

    An A3 sheet at 300 dpi takes about 160 MB of canvas and image buffers. glibc maps buffers
    that large afresh each time and returns them on free, so every district pays ~40,000 page
    faults (about half the export's system time). Raising the mmap and trim thresholds keeps the
    memory in the worker's heap for the next district; the worker ends with the export. Not
    glibc (macOS, Windows, musl): nothing to do.
    """
    import ctypes
    import ctypes.util

    m_trim_threshold, m_mmap_threshold = -1, -3  # <malloc.h>
    with contextlib.suppress(OSError, AttributeError, TypeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(m_mmap_threshold, 512 << 20)
        libc.mallopt(m_trim_threshold, 1 << 30)


def _worker_package(task: tuple) -> tuple[str, list[Path], list[str]]:
    assert _WORKER_LAYERS is not None
    return _one_package(_WORKER_LAYERS, *task)


def _collect(done: Iterable, ids: Sequence[str], progress: Progress | None) -> list:
    parts = []
    for n, part in enumerate(done):
        parts.append(part)
        if progress is not None:
            progress((n + 1) / len(ids), f"district {ids[n]}")
    return parts


def _one_package(
    layers: PlanLayers, did: str, out: str, as_zip: bool, options: PackageOptions | None
) -> tuple[str, list[Path], list[str]]:
    """Build one district's folder or zip in ``out``; returns (name, paths, warnings)."""
    out_path = Path(out)
    if as_zip:
        with tempfile.TemporaryDirectory(prefix=".lianpian-", dir=out_path) as staging:
            part = build_district_package(layers, did, Path(staging), options)
            name = _package_name(part)
            target = out_path / f"{name}.zip"
            _zip_folder(Path(staging), target)
        return name, [target], part.warnings
    name = _bundle(layers, did).name
    part = build_district_package(layers, did, out_path / name, options)
    return name, part.paths, part.warnings


def _package_name(part: PackageResult) -> str:
    gpkg = next(p for p in part.paths if p.suffix == ".gpkg")
    return gpkg.stem


def _bundle_check(layers: PlanLayers, district_id: str) -> None:
    if not (layers.districts["district_id"].astype(str) == district_id).any():
        _bundle(layers, district_id)  # raises the InputError naming the choices


def package_zip_bytes(
    layers: PlanLayers,
    district_ids: Sequence[str] | None = None,
    *,
    options: PackageOptions | None = None,
    progress: Progress | None = None,
) -> bytes:
    """Return one zip (bytes) with the packages of ``district_ids`` (all if None) and the index.

    For the app's download buttons: the files are built in a temporary folder that is removed
    afterwards; nothing is left on disk. A single district gives its package at the zip's root.
    ``progress(fraction, message)`` is called as each district's package is done.

    Raises
    ------
    InputError
        As :func:`export_packages`.
    """
    with tempfile.TemporaryDirectory(prefix="lianpian-export-") as staging:
        root = Path(staging)
        if district_ids is not None and len(district_ids) == 1:
            build_district_package(layers, str(district_ids[0]), root, options)
        else:
            export_packages(
                layers, root, district_ids=district_ids, options=options, progress=progress
            )
        buffer = _stdio.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
            for p in sorted(root.rglob("*")):
                if p.is_file():
                    zf.write(p, p.relative_to(root).as_posix())
        return buffer.getvalue()
