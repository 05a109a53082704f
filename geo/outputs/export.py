"""Tender packages (招标资料包): one folder or zip per district, plus an index for all.

A district is the unit of a design tender (Yangjiang 2021-2025 draft, §(四): 采用项目成片捆绑、打包等方式，
统一择优选定规划、设计、施工、监理单位). Design institutes work in CAD and GIS, bureaus in Excel, field
staff in map apps, so each package holds the same district in every format they use:

============================  =====================================================================
file                          content
============================  =====================================================================
``<pkg>.gpkg``                district outline, member estates (all attributes), corridors,
                              elderly-care sites, the content table, the run's provenance
``shp/*.shp`` (+ .cpg .prj)   the same layers as Shapefiles, UTF-8 (default) or GBK; field names cut
                              to 10 characters by :func:`shapefile_field_names`, the mapping in
                              ``shp/field_names.csv``
``<pkg>.dxf``                 AutoCAD DXF R2010 in the CGCS2000 3-degree Gauss-Krüger zone of the
                              district's longitude (:func:`geo.core.crs.gk_zone_epsg`), one layer per
                              feature type, estate names as text (CJK text style)
``<pkg>.xlsx``                member-estate schedule (needs split into 基础类/完善类/提升类),
                              district summary, corridor and elderly-care figures, cost estimate
``<pkg>.kml``                 WGS-84 (EPSG:4326) for Google Earth and Ovital (奥维)
``<pkg>.png``                 map with legend, scale bar and north arrow (no network tiles)
``manifest.json``,            every file with its CRS, size and SHA-256; sources and licences;
``README_说明.txt``            synthetic/illustrative flags; policy; software version; time
``policy.toml``               the policy the plan was run with (when the plan recorded it)
============================  =====================================================================

Every file is written through :func:`geo.io.atomic_path` (temporary file, then rename), and a zip is
assembled in a temporary file and renamed, so an interrupted export never leaves a half file that
looks whole. Text cells beginning with ``=``, ``+``, ``-`` or ``@`` (and tab or carriage return)
are neutralised in XLSX and CSV (OWASP "CSV injection"). File names are safe on Windows.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io as _stdio
import json
import math
import re
import shutil
import tempfile
import tomllib
import unicodedata
import warnings
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from geo import __version__
from geo import io as geo_io
from geo.core.crs import WGS84, gk_zone_epsg
from geo.core.errors import InputError
from geo.io.safe_text import is_formula_like, neutralise_csv, safe_filename
from geo.planning.content import CONTENT_CLASSES, content_table, count_items, needs_by_class

Progress = Callable[[float, str], None]

#: Layers of a plan GeoPackage an export reads (``corridors`` and ``elderly_sites`` optional).
REQUIRED_LAYERS = ("estates", "districts")
OPTIONAL_LAYERS = ("corridors", "elderly_sites")

#: Encodings of the Shapefile set (value written to the ``.cpg``).
SHAPEFILE_ENCODINGS = {"utf-8": "UTF-8", "gbk": "GBK"}

OSM_LICENCE = "© OpenStreetMap contributors, ODbL 1.0 (https://www.openstreetmap.org/copyright)"
_DXF_LAYERS = {
    "LP_DISTRICT": ("片区边界 district outline", 1),
    "LP_ESTATE": ("小区边界 member estates", 3),
    "LP_ESTATE_NAME": ("小区名称 estate names", 7),
    "LP_CORRIDOR": ("管线廊道 utility corridors", 5),
    "LP_ELDERLY": ("养老服务设施 elderly-care sites", 6),
    "LP_INFO": ("坐标系与说明 CRS and notes", 8),
}
_DXF_APPID = "LIANPIAN"
#: Text style of the DXF: SimSun is on every Chinese Windows; CAD substitutes it elsewhere.
DXF_CJK_FONT = "simsun.ttc"


# --------------------------------------------------------------------------- plan layers


@dataclass
class PlanLayers:
    """The layers of a finished plan that an export needs, all in the plan's metric CRS.

    ``estates`` and ``districts`` as written by ``lianpian plan`` (see :mod:`geo.pipeline`);
    ``corridors`` and ``elderly_sites`` when the plan made them (their rows are given to a
    district by their ``district_id`` column, else by intersecting the district outline);
    ``run_info`` the provenance table as a dict (software version, policy, sources, synthetic);
    ``source`` names where the layers came from (a file path or ``"in-memory plan"``).
    """

    estates: gpd.GeoDataFrame
    districts: gpd.GeoDataFrame
    corridors: gpd.GeoDataFrame | None = None
    elderly_sites: gpd.GeoDataFrame | None = None
    run_info: dict[str, str] = field(default_factory=dict)
    source: str = "in-memory plan"

    @classmethod
    def from_result(cls, result: object) -> PlanLayers:
        """Build from a :class:`geo.pipeline.PlanResult` (what the app holds in memory)."""
        layers = result.layers()  # type: ignore[attr-defined]
        info = layers.get("run_info")
        return cls(
            estates=layers["estates"],
            districts=layers["districts"],
            corridors=_geo_or_none(layers.get("corridors")),
            elderly_sites=_geo_or_none(layers.get("elderly_sites")),
            run_info=_info_dict(info) if info is not None else {},
        )

    @property
    def crs(self) -> CRS:
        """The plan's metric CRS."""
        return CRS.from_user_input(self.estates.crs)


def _geo_or_none(frame: object) -> gpd.GeoDataFrame | None:
    if isinstance(frame, gpd.GeoDataFrame) and len(frame) and frame.crs is not None:
        return frame
    return None


def _info_dict(frame: pd.DataFrame) -> dict[str, str]:
    if not {"key", "value"} <= set(frame.columns):
        return {}
    return {
        str(k): "" if pd.isna(v) else str(v)
        for k, v in zip(frame["key"], frame["value"], strict=True)
    }


def read_plan(path: str | Path) -> PlanLayers:
    """Read the GeoPackage written by ``lianpian plan`` (layers estates, districts, ...).

    Raises
    ------
    InputError
        If the file cannot be opened, is not a plan (no estates or districts layer), or the
        estates lack the ``district_id`` column.
    """
    path = Path(path)
    source = path.name
    if not path.exists():
        raise InputError("file not found", source=str(path), fix="give the GeoPackage of a plan")
    try:
        names = {str(n) for n, _ in pyogrio.list_layers(path)}
    except Exception as exc:  # GDAL raises several types for unreadable files
        raise InputError(
            "cannot open the file as a GeoPackage",
            source=source,
            fix="give the .gpkg written by `lianpian plan --out`",
        ) from exc
    missing = [n for n in REQUIRED_LAYERS if n not in names]
    if missing:
        raise InputError(
            f"not a lianpian plan: no layer {', '.join(missing)}",
            source=source,
            fix="run `lianpian plan ... --out RESULTS.gpkg` and export that file",
        )
    layers = {
        n: geo_io.read_vector(path, layer=n)
        for n in (*REQUIRED_LAYERS, *OPTIONAL_LAYERS)
        if n in names
    }
    if "district_id" not in layers["estates"]:
        raise InputError(
            "the estates layer has no district_id column",
            source=source,
            fix="export the GeoPackage written by `lianpian plan`",
        )
    info = {}
    if "run_info" in names:
        info = _info_dict(pyogrio.read_dataframe(path, layer="run_info", read_geometry=False))
    return PlanLayers(
        estates=layers["estates"],
        districts=layers["districts"],
        corridors=_geo_or_none(layers.get("corridors")),
        elderly_sites=_geo_or_none(layers.get("elderly_sites")),
        run_info=info,
        source=str(path),
    )


# --------------------------------------------------------------------------- district bundle


@dataclass
class DistrictBundle:
    """One district's features, in the plan's metric CRS, with its package name and DXF zone."""

    district_id: str
    row: pd.Series
    outline: gpd.GeoDataFrame
    estates: gpd.GeoDataFrame
    corridors: gpd.GeoDataFrame | None
    elderly_sites: gpd.GeoDataFrame | None
    context: gpd.GeoDataFrame
    name: str
    gk_epsg: int


def _bundle(layers: PlanLayers, district_id: str) -> DistrictBundle:
    districts = layers.districts
    match = districts.loc[districts["district_id"].astype(str) == str(district_id)]
    if match.empty:
        known = ", ".join(districts["district_id"].astype(str).head(8))
        raise InputError(
            f"no district {district_id!r}",
            source=layers.source,
            fix=f"choose one of: {known}{' ...' if len(districts) > 8 else ''}",
        )
    outline = match.iloc[[0]]
    row = outline.iloc[0]
    shape = outline.geometry.iloc[0]
    estates = layers.estates.loc[layers.estates["district_id"].astype(str) == str(district_id)]
    estates = _with_needs_classes(estates)
    lon = gpd.GeoSeries([shape.centroid], crs=layers.crs).to_crs(WGS84).x.iloc[0]
    county = row.get("county")
    label = str(district_id) if _blank(county) else f"{district_id}_{county}"
    near = shape.buffer(max(200.0, math.sqrt(max(shape.area, 1.0)) * 0.3))
    context = layers.estates.iloc[layers.estates.sindex.query(near, predicate="intersects")]
    return DistrictBundle(
        district_id=str(district_id),
        row=row,
        outline=outline,
        estates=estates,
        corridors=_part_of(layers.corridors, district_id, shape),
        elderly_sites=_part_of(layers.elderly_sites, district_id, shape),
        context=context.loc[~context.index.isin(estates.index)],
        name=safe_filename(label),
        gk_epsg=gk_zone_epsg(lon),
    )


def _part_of(
    frame: gpd.GeoDataFrame | None, district_id: str, shape: shapely.Geometry
) -> gpd.GeoDataFrame | None:
    """Rows of an optional layer for a district: by ``district_id``, else within 50 m of it."""
    if frame is None:
        return None
    if "district_id" in frame:
        part = frame.loc[frame["district_id"].astype(str) == str(district_id)]
    else:
        part = frame.iloc[frame.sindex.query(shape.buffer(50.0), predicate="intersects")]
    return part if len(part) else None


def _blank(value: object) -> bool:
    return value is None or (not isinstance(value, str) and pd.isna(value)) or str(value) == ""


def _with_needs_classes(estates: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Add ``needs_basic``, ``needs_improvement``, ``needs_enhancement``, ``needs_other``."""
    out = estates.copy()
    needs = out["needs"] if "needs" in out else pd.Series(None, index=out.index)
    split = [needs_by_class(cell) for cell in needs]
    for key in (*CONTENT_CLASSES, "other"):
        out[f"needs_{key}"] = pd.Series(
            ["；".join(s[key]) for s in split], index=out.index, dtype="string"
        )
    return out


# --------------------------------------------------------------------------- writers


@dataclass
class PackageFile:
    """One written file of a package (path relative to the package root)."""

    path: str
    description: str
    crs: str = ""


@dataclass
class PackageOptions:
    """Options of an export: Shapefile ``encoding`` (``utf-8`` or ``gbk``) and the PNG's dpi."""

    encoding: str = "utf-8"
    dpi: int = 150


@dataclass
class PackageResult:
    """What an export wrote: the paths, and warnings to show the user (no CJK font, GBK, ...)."""

    paths: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    return geo_io._plain(frame)  # the one place that maps extension dtypes for GDAL


def _crs_text(crs: CRS) -> str:
    epsg = crs.to_epsg()
    return f"EPSG:{epsg} ({crs.name})" if epsg else crs.name


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


# ----- Shapefile

#: Shapefile field names (at most 10 characters) of the columns lianpian writes.
SHAPEFILE_FIELDS: dict[str, str] = {
    "estate_id": "estate_id",
    "build_year_raw": "byear_raw",
    "build_year": "byear",
    "build_year_latest": "byear_last",
    "households": "households",
    "households_unknown": "hh_unknown",
    "floor_area_m2": "floor_m2",
    "consent_rate": "consent",
    "elderly_share": "elderly",
    "already_renovated": "renovated",
    "shantytown_plan": "shantytown",
    "urban_village": "urb_villag",
    "illegal_structures_removed": "illeg_rmvd",
    "has_property_management": "prop_mgmt",
    "investment_yuan": "invest_yn",
    "investment_estimated": "invest_est",
    "district_id": "dist_id",
    "project_type": "proj_type",
    "priority_age": "pr_age",
    "priority_needs": "pr_needs",
    "priority_consent": "pr_consent",
    "priority_elderly": "pr_elderly",
    "priority_size": "pr_size",
    "priority_contiguity": "pr_contig",
    "priority_readiness": "pr_ready",
    "priority_score": "pr_score",
    "priority_rank": "pr_rank",
    "build_year_min": "byear_min",
    "build_year_max": "byear_max",
    "extension_estates": "ext_estate",
    "needs_basic": "nd_basic",
    "needs_improvement": "nd_improve",
    "needs_enhancement": "nd_enhance",
    "needs_other": "nd_other",
}


def shapefile_field_names(columns: Iterable[str]) -> dict[str, str]:
    """Map column names to unique Shapefile field names of at most 10 ASCII characters.

    The rule, in order: the fixed names of :data:`SHAPEFILE_FIELDS`; a name of at most 10 ASCII
    characters is kept; a longer ASCII name is cut to 10; a non-ASCII name becomes ``f`` plus its
    position (``f03``). A clash is resolved by cutting to 8 characters and adding ``_1``, ``_2``...
    Matching is case-insensitive, as in dBASE.

    Returns
    -------
    dict
        ``{column: field}`` in the order of ``columns``.
    """
    out: dict[str, str] = {}
    used: set[str] = set()
    for position, column in enumerate(columns, start=1):
        name = SHAPEFILE_FIELDS.get(column)
        if name is None:
            ascii_name = re.sub(r"[^A-Za-z0-9_]", "_", column)
            name = ascii_name[:10] if column.isascii() and ascii_name else f"f{position:02d}"
        candidate, n = name, 0
        while candidate.lower() in used:
            n += 1
            candidate = f"{name[: 10 - len(str(n)) - 1]}_{n}"
        used.add(candidate.lower())
        out[column] = candidate
    return out


def _fit_text(value: object, encoding: str, counter: dict[str, int]) -> object:
    """Make text fit a dBASE field: encodable (GBK: NFKC, else ``?``) and at most 254 bytes."""
    if not isinstance(value, str):
        return value
    text = value
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        text = unicodedata.normalize("NFKC", text)
        fixed = text.encode(encoding, errors="replace").decode(encoding)
        if fixed != text:
            counter["replaced"] = counter.get("replaced", 0) + 1
        text = fixed
    raw = text.encode(encoding)
    if len(raw) > 254:
        counter["truncated"] = counter.get("truncated", 0) + 1
        text = raw[:254].decode(encoding, errors="ignore")
    return text


def _write_shapefiles(
    b: DistrictBundle, folder: Path, encoding: str, warn: list[str]
) -> list[PackageFile]:
    """Write the Shapefile set of a district; returns the files (``.shp`` last per set)."""
    cpg = SHAPEFILE_ENCODINGS[encoding]
    folder.mkdir(parents=True, exist_ok=True)
    py_encoding = "gbk" if encoding == "gbk" else "utf-8"
    sets = {"outline": b.outline, "estates": b.estates}
    if b.corridors is not None:
        sets["corridors"] = b.corridors
    if b.elderly_sites is not None:
        sets["elderly_sites"] = b.elderly_sites
    files: list[PackageFile] = []
    mapping_rows: list[dict[str, str]] = []
    counter: dict[str, int] = {}
    staging = Path(tempfile.mkdtemp(prefix=".shp-", dir=folder.parent))
    try:
        for layer, frame in sets.items():
            plain = _plain(frame)
            names = shapefile_field_names([c for c in plain.columns if c != plain.geometry.name])
            for column, short in names.items():
                mapping_rows.append({"layer": layer, "shapefile_field": short, "column": column})
                if plain[column].dtype == object:
                    plain[column] = plain[column].map(lambda v: _fit_text(v, py_encoding, counter))
            plain = plain.rename(columns=names)
            stem = f"{b.district_id}_{layer}"
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # field-width notes
                pyogrio.write_dataframe(
                    plain, staging / f"{stem}.shp", driver="ESRI Shapefile", encoding=cpg
                )
            parts = sorted(staging.glob(f"{stem}.*"), key=lambda p: p.suffix == ".shp")
            for part in parts:
                target = folder / part.name
                with geo_io.atomic_path(target) as tmp:
                    shutil.move(part, tmp)
                files.append(
                    PackageFile(
                        f"shp/{part.name}",
                        f"Shapefile {layer} ({part.suffix}; text {cpg})",
                        _crs_text(CRS.from_user_input(frame.crs)),
                    )
                )
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    mapping_path = folder / "field_names.csv"
    _write_csv(
        mapping_path,
        ["layer", "shapefile_field", "column"],
        [[r["layer"], r["shapefile_field"], r["column"]] for r in mapping_rows],
    )
    files.append(
        PackageFile(
            "shp/field_names.csv",
            "Shapefile field (≤10 characters) -> full column name (rule: geo.outputs.export."
            "shapefile_field_names)",
        )
    )
    if counter.get("replaced"):
        warn.append(
            f"{b.district_id}: {counter['replaced']} text values had characters GBK cannot hold "
            "(replaced by their compatible form or '?'); the GeoPackage and XLSX keep them"
        )
    if counter.get("truncated"):
        warn.append(
            f"{b.district_id}: {counter['truncated']} text values longer than 254 bytes were cut "
            "in the Shapefile (dBASE limit); the GeoPackage and XLSX keep them whole"
        )
    return files


def _write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """Write a UTF-8 (with BOM, so Excel reads Chinese) CSV, formula-like text neutralised."""
    with geo_io.atomic_path(path) as tmp, tmp.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([neutralise_csv(h) for h in header])
        for row in rows:
            writer.writerow([neutralise_csv(_cell(v)) for v in row])


# ----- DXF


def _write_dxf(b: DistrictBundle, path: Path) -> str:
    """Write the district as DXF R2010 in its GK zone; returns the CRS text."""
    import ezdxf

    crs = CRS.from_epsg(b.gk_epsg)
    doc = ezdxf.new("R2010", setup=False, units=6)  # 6 = metres
    doc.appids.add(_DXF_APPID)
    doc.styles.add("CJK", font=DXF_CJK_FONT)
    for name, (description, color) in _DXF_LAYERS.items():
        layer = doc.layers.add(name, color=color)
        layer.description = description
    msp = doc.modelspace()
    outline = b.outline.to_crs(crs)
    estates = b.estates.to_crs(crs)
    for geom in outline.geometry:
        _dxf_polygon(msp, geom, "LP_DISTRICT", b.district_id)
    minx, miny, maxx, maxy = outline.total_bounds
    height = float(np.clip(max(maxx - minx, maxy - miny) / 120, 3.0, 20.0))
    for estate_id, name, geom in zip(
        estates["estate_id"].astype(str),
        estates.get("name", estates["estate_id"]),
        estates.geometry,
        strict=True,
    ):
        _dxf_polygon(msp, geom, "LP_ESTATE", estate_id)
        point = geom.representative_point()
        label = estate_id if _blank(name) else str(name)
        text = msp.add_text(
            label,
            height=height,
            dxfattribs={"layer": "LP_ESTATE_NAME", "style": "CJK"},
        )
        text.set_placement((point.x, point.y), align=ezdxf.enums.TextEntityAlignment.MIDDLE_CENTER)
        text.set_xdata(_DXF_APPID, [(1000, estate_id)])
    if b.corridors is not None:
        for i, geom in enumerate(b.corridors.to_crs(crs).geometry):
            _dxf_any(msp, geom, "LP_CORRIDOR", f"corridor {i + 1}", height)
    if b.elderly_sites is not None:
        sites = b.elderly_sites.to_crs(crs)
        names = sites["name"] if "name" in sites else pd.Series([""] * len(sites))
        for i, (geom, name) in enumerate(zip(sites.geometry, names, strict=False)):
            label = f"site {i + 1}" if _blank(name) else str(name)
            _dxf_any(msp, geom, "LP_ELDERLY", label, height)
    note = (
        f"坐标系 CRS: {_crs_text(crs)}, CGCS2000 3-degree Gauss-Krüger, "
        f"central meridian {_central_meridian(crs)}°E, units metres, no zone prefix in "
        f"easting. 片区 {b.district_id}. lianpian {__version__}"
    )
    msp.add_mtext(
        note, dxfattribs={"layer": "LP_INFO", "style": "CJK", "char_height": height * 0.8}
    ).set_location((minx, miny - 3 * height))
    with geo_io.atomic_path(path) as tmp:
        doc.saveas(tmp)
    return _crs_text(crs)


def _central_meridian(crs: CRS) -> str:
    op = crs.coordinate_operation
    for param in op.params if op is not None else ():
        if "longitude of natural origin" in param.name.lower():
            return f"{param.value:g}"
    return "?"


def _rings(geom: shapely.Geometry) -> Iterable[tuple[str, np.ndarray]]:
    for poly in shapely.get_parts(geom):
        if poly.geom_type != "Polygon" or poly.is_empty:
            continue
        yield "outer", np.asarray(poly.exterior.coords)[:-1, :2]
        for ring in poly.interiors:
            yield "hole", np.asarray(ring.coords)[:-1, :2]


def _dxf_polygon(msp, geom: shapely.Geometry, layer: str, key: str) -> None:
    for role, coords in _rings(geom):
        pline = msp.add_lwpolyline(coords.tolist(), close=True, dxfattribs={"layer": layer})
        pline.set_xdata(_DXF_APPID, [(1000, key), (1000, role)])


def _dxf_any(msp, geom: shapely.Geometry, layer: str, label: str, height: float) -> None:
    for part in shapely.get_parts(geom):
        kind = part.geom_type
        if kind == "Polygon":
            _dxf_polygon(msp, part, layer, label)
        elif kind == "LineString":
            coords = np.asarray(part.coords)[:, :2].tolist()
            msp.add_lwpolyline(coords, dxfattribs={"layer": layer}).set_xdata(
                _DXF_APPID, [(1000, label)]
            )
        elif kind == "Point":
            msp.add_point((part.x, part.y), dxfattribs={"layer": layer})
            msp.add_circle((part.x, part.y), radius=height, dxfattribs={"layer": layer})
            msp.add_text(
                label, height=height * 0.8, dxfattribs={"layer": layer, "style": "CJK"}
            ).set_placement((part.x + 1.5 * height, part.y))


# ----- XLSX

_ESTATE_SCHEDULE: tuple[tuple[str, str, str], ...] = (
    # column, header (units in brackets), number format
    ("estate_id", "小区编号 estate id", "@"),
    ("name", "小区名称 name", "@"),
    ("county", "所在区县 county", "@"),
    ("build_year_raw", "建成年代(原文) build year as written", "@"),
    ("build_year", "建成年份(年) build year", "0"),
    ("buildings", "栋数(栋) buildings", "#,##0"),
    ("households", "户数(户) households", "#,##0"),
    ("floor_area_m2", "建筑面积(m²) floor area", "#,##0"),
    ("consent_rate", "居民同意率(%) consent rate", "0.0%"),
    ("elderly_share", "60岁以上人口占比(%) share aged 60+", "0.0%"),
    ("status", "资格 status", "@"),
    ("needs_basic", "基础类需求 basic needs", "@"),
    ("needs_improvement", "完善类需求 improvement needs", "@"),
    ("needs_enhancement", "提升类需求 enhancement needs", "@"),
    ("needs_other", "其他需求(未归类) other needs", "@"),
    ("investment_wan", "估算投资(万元) estimated investment", "#,##0.0"),
    ("investment_estimated", "投资按户数估算 estimated by households", "@"),
    ("priority_score", "优先级得分(0-100) priority score", "0.0"),
)

_UNIT_SUFFIXES = (
    ("_m2", "m²"),
    ("_km", "km"),
    ("_m", "m"),
    ("_yuan", "元"),
    ("_share", "0-1"),
    ("_rate", "0-1"),
    ("_min", "min"),
)


def _unit_header(column: str) -> str:
    for suffix, unit in _UNIT_SUFFIXES:
        if column.endswith(suffix):
            return f"{column} ({unit})"
    return column


def _cell(value: object) -> object:
    """A Python value for a spreadsheet cell: NA -> None, numpy scalars -> Python."""
    if value is None:
        return None
    if isinstance(value, float | np.floating) and not np.isfinite(value):
        return None
    if not isinstance(value, str | bytes) and pd.api.types.is_scalar(value) and pd.isna(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, shapely.Geometry):
        return value.wkt
    return value


def _set(ws, row: int, col: int, value: object, number_format: str | None = None) -> None:
    """Write one cell; formula-like text is stored as text with a quote prefix (never a formula)."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    value = _cell(value)
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    cell = ws.cell(row=row, column=col)
    cell.value = value
    if isinstance(value, str) and (is_formula_like(value) or cell.data_type == "f"):
        cell.data_type = "s"
        cell.quotePrefix = True
    elif number_format and not isinstance(value, str):
        cell.number_format = number_format


def _table(ws, header: Sequence[str], rows: Iterable[Sequence[object]], formats=None) -> int:
    from openpyxl.styles import Font

    bold = Font(bold=True)
    for j, h in enumerate(header, start=1):
        _set(ws, 1, j, h)
        ws.cell(row=1, column=j).font = bold
        ws.column_dimensions[ws.cell(row=1, column=j).column_letter].width = min(
            max(10, len(str(h)) * 1.1), 40
        )
    n = 1
    for n, row in enumerate(rows, start=2):
        for j, value in enumerate(row, start=1):
            _set(ws, n, j, value, formats[j - 1] if formats else None)
    ws.freeze_panes = "A2"
    return n


def _yes_no(value: object) -> str | None:
    if _blank(value):
        return None
    return "是" if str(value).strip().lower() in ("true", "1", "yes", "是") else "否"


def _policy_rates(layers: PlanLayers) -> tuple[float | None, float | None, str]:
    text = layers.run_info.get("policy_toml", "")
    try:
        cost = tomllib.loads(text).get("cost", {}) if text else {}
    except tomllib.TOMLDecodeError:
        cost = {}
    return (
        cost.get("yuan_per_m2"),
        cost.get("yuan_per_household"),
        layers.run_info.get("policy_source", "unknown"),
    )


def _write_xlsx(b: DistrictBundle, path: Path, layers: PlanLayers) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    est = b.estates.copy()
    est["investment_wan"] = (
        est["investment_yuan"].astype("Float64") / 1e4 if "investment_yuan" in est else pd.NA
    )
    if "investment_estimated" in est:
        est["investment_estimated"] = est["investment_estimated"].map(_yes_no)
    ws = wb.active
    ws.title = "小区清单"
    cols = [c for c in _ESTATE_SCHEDULE if c[0] in est]
    values = [est[c[0]].tolist() for c in cols]
    _table(
        ws,
        ["序号 no.", *(c[1] for c in cols)],
        ([i, *(v[i - 1] for v in values)] for i in range(1, len(est) + 1)),
        ["0", *(c[2] for c in cols)],
    )

    ws = wb.create_sheet("片区汇总")
    _table(ws, ["项目 item", "数值 value", "单位 unit"], _summary_rows(b, layers))
    ws.column_dimensions["A"].width = 36
    ws.column_dimensions["B"].width = 24

    ws = wb.create_sheet("改造内容")
    counts = count_items(b.estates["needs"]) if "needs" in b.estates else {}
    rows = content_table(counts)
    _table(ws, list(rows[0]), (list(r.values()) for r in rows))

    _write_optional_sheet(wb, "管线廊道", b.corridors, "length")
    _write_optional_sheet(wb, "养老设施", b.elderly_sites, "area")

    ws = wb.create_sheet("投资估算")
    per_m2, per_household, policy_source = _policy_rates(layers)
    cost_rows = []
    for _, r in est.iterrows():
        method = "缺少面积和户数 unknown"
        if not _blank(r.get("floor_area_m2")):
            method = f"建筑面积 × {per_m2 or '?'} 元/m²"
        elif not _blank(r.get("households")):
            method = f"户数 × {per_household or '?'} 元/户 (估算 estimated)"
        cost_rows.append(
            [
                r.get("estate_id"),
                r.get("name"),
                r.get("floor_area_m2"),
                r.get("households"),
                method,
                r.get("investment_wan"),
            ]
        )
    total = pd.to_numeric(est["investment_wan"], errors="coerce").sum()
    cost_rows.append(["合计 total", None, None, None, None, total])
    last = _table(
        ws,
        [
            "小区编号 estate id",
            "小区名称 name",
            "建筑面积(m²) floor area",
            "户数(户) households",
            "估算方法 method",
            "估算投资(万元) investment",
        ],
        cost_rows,
        ["@", "@", "#,##0", "#,##0", "@", "#,##0.0"],
    )
    _set(
        ws,
        last + 2,
        1,
        f"单价 unit costs: {per_m2 or '?'} 元/m², {per_household or '?'} 元/户 (policy: "
        f"{policy_source}; defaults from the Xinyang 2022 plan: 797.07 million yuan for "
        "3.287 million m² and 29,255 households). A planning estimate, not a budget.",
    )
    ws = wb.create_sheet("说明")
    _table(ws, ["项目 item", "内容 value"], _notes_rows(b, layers))
    ws.column_dimensions["B"].width = 90
    with geo_io.atomic_path(path) as tmp:
        wb.save(tmp)


def _summary_rows(b: DistrictBundle, layers: PlanLayers) -> list[list[object]]:
    r = b.row
    area_ha = float(b.outline.geometry.area.sum()) / 1e4
    investment = r.get("investment_yuan")
    rows: list[list[object]] = [
        ["片区编号 district id", b.district_id, ""],
        ["所在区县 county", r.get("county"), ""],
        ["小区数 estates", r.get("estates", len(b.estates)), "个"],
        ["户数 households", r.get("households"), "户"],
        ["户数未知的小区 estates with unknown households", r.get("households_unknown"), "个"],
        ["栋数 buildings", r.get("buildings"), "栋"],
        ["建筑面积 floor area", r.get("floor_area_m2"), "m²"],
        ["最早建成年份 earliest build year", r.get("build_year_min"), "年"],
        ["最晚建成年份 latest build year", r.get("build_year_max"), "年"],
        ["延伸纳入小区(2001-2005建成) extension estates", r.get("extension_estates"), "个"],
        [
            "估算投资 estimated investment",
            None if _blank(investment) else float(investment) / 1e4,
            "万元",
        ],
        ["优先级得分 priority score", r.get("priority_score"), "0-100"],
        ["优先级排名 priority rank", r.get("priority_rank"), "名"],
        ["片区占地 district land area (outline)", round(area_ha, 2), "公顷 ha"],
    ]
    for key, label in (
        ("corridors", "管线廊道 utility corridors"),
        ("elderly_sites", "养老设施 elderly-care sites"),
    ):
        frame = getattr(b, key)
        count = 0 if frame is None else len(frame)
        present = getattr(layers, key) is not None
        rows.append([label, count if present else "本次规划未生成 not in this plan", "处"])
        if frame is not None and key == "corridors":
            rows.append(["管线廊道总长 corridor length", round(float(frame.length.sum()), 1), "m"])
    rows.append(["坐标系(GeoPackage/Shapefile) CRS", _crs_text(layers.crs), ""])
    rows.append(["坐标系(DXF) CRS", _crs_text(CRS.from_epsg(b.gk_epsg)), ""])
    return rows


def _write_optional_sheet(wb, title: str, frame: gpd.GeoDataFrame | None, measure: str) -> None:
    if frame is None:
        return
    ws = wb.create_sheet(title)
    columns = [c for c in frame.columns if c != frame.geometry.name]
    extra = "长度(m) length" if measure == "length" else "占地面积(m²) footprint area"
    values = frame.geometry.length if measure == "length" else frame.geometry.area
    _table(
        ws,
        [*(_unit_header(c) for c in columns), extra],
        (
            [*(frame[c].iloc[i] for c in columns), round(float(values.iloc[i]), 1)]
            for i in range(len(frame))
        ),
    )


def _sources(layers: PlanLayers) -> list[dict[str, str]]:
    """Data sources of the run with their licence and whether they are illustrative."""
    out = []
    for key, value in layers.run_info.items():
        if not key.startswith("source_"):
            continue
        for item in [v.strip() for v in value.split(";") if v.strip()]:
            name = Path(item.split("::")[0]).name.lower()
            osm = "osm" in name or (key == "source_estates" and "osm_id" in layers.estates)
            illustrative = any(w in name for w in ("illustrative", "synthetic", "demo"))
            out.append(
                {
                    "role": key.removeprefix("source_"),
                    "file": Path(item).name,
                    "licence": OSM_LICENCE if osm else "as supplied by the user",
                    "illustrative": "yes" if illustrative else "no",
                }
            )
    if not out and "osm_id" in layers.estates:
        out.append(
            {"role": "estates", "file": "?", "licence": OSM_LICENCE, "illustrative": "unknown"}
        )
    return out


def _data_character(layers: PlanLayers) -> str:
    if layers.run_info.get("synthetic") == "true":
        return "SYNTHETIC: the embedded demo town, not real estates (合成数据，非真实小区)"
    if any(s["illustrative"] == "yes" for s in _sources(layers)):
        return (
            "ILLUSTRATIVE inputs: some attributes were generated to exercise the software and "
            "describe no real estate (示意数据，不得作为事实引用)"
        )
    if not layers.run_info:
        return "unknown (the plan recorded no run_info)"
    return "as supplied (no input is marked synthetic or illustrative)"


def _notes_rows(b: DistrictBundle, layers: PlanLayers) -> list[list[object]]:
    rows: list[list[object]] = [
        ["数据性质 data", _data_character(layers)],
        [
            "坐标系 CRS",
            f"{_crs_text(layers.crs)}; DXF {_crs_text(CRS.from_epsg(b.gk_epsg))}; KML EPSG:4326",
        ],
        ["政策文件 policy", layers.run_info.get("policy_source", "unknown")],
        ["规划软件 planned with", layers.run_info.get("software_version", "unknown")],
        ["规划时间 planned at", layers.run_info.get("generated_at", "unknown")],
        ["导出软件 exported with", f"lianpian {__version__}"],
        [
            "改造内容分类 content classes",
            "Yangjiang annex 1 (25 items) -> 基础类/完善类/提升类, see sheet 改造内容",
        ],
    ]
    for s in _sources(layers):
        rows.append(
            [
                f"来源 source ({s['role']})",
                f"{s['file']}; {s['licence']}; illustrative: {s['illustrative']}",
            ]
        )
    return rows


# ----- KML


def _write_kml(b: DistrictBundle, path: Path) -> None:
    """Write the district as KML in WGS-84: folders 片区边界, 小区, 管线廊道, 养老设施."""

    def named(frame: gpd.GeoDataFrame, names: pd.Series, keep: Sequence[str]) -> gpd.GeoDataFrame:
        cols = {c: frame[c] for c in keep if c in frame}
        out = gpd.GeoDataFrame(
            {"Name": names.astype(str).values, **{c: v.values for c, v in cols.items()}},
            geometry=frame.geometry.values,
            crs=frame.crs,
        )
        out = out.to_crs(WGS84)
        geoms = out.geometry.values
        bad = ~shapely.is_valid(
            geoms
        )  # reprojection can make slivers self-intersect; LIBKML refuses
        if bad.any():
            polygonal = np.isin(shapely.get_type_id(geoms[bad]), [3, 6])
            fixed = shapely.make_valid(geoms[bad])
            fixed[polygonal] = geo_io._polygonal_part(fixed[polygonal])
            geoms = geoms.copy()
            geoms[bad] = fixed
            out = out.set_geometry(gpd.GeoSeries(geoms, index=out.index, crs=WGS84))
        return _plain(out)

    est = b.estates
    estate_names = (
        est["name"].where(est["name"].notna(), est["estate_id"])
        if "name" in est
        else est["estate_id"]
    )
    layers = {
        "片区边界 district": named(
            b.outline, b.outline["district_id"], ["county", "estates", "households"]
        ),
        "小区 estates": named(
            est,
            estate_names,
            [
                "estate_id",
                "build_year",
                "households",
                "floor_area_m2",
                "status",
                "needs_basic",
                "needs_improvement",
                "needs_enhancement",
            ],
        ),
    }
    for key, label in (
        ("corridors", "管线廊道 corridors"),
        ("elderly_sites", "养老设施 elderly-care sites"),
    ):
        frame = getattr(b, key)
        if frame is not None:
            names = (
                frame["name"]
                if "name" in frame
                else pd.Series([f"{label} {i + 1}" for i in range(len(frame))])
            )
            layers[label] = named(frame, names.reset_index(drop=True), [])
    with geo_io.atomic_path(path) as tmp:
        for i, (name, frame) in enumerate(layers.items()):
            pyogrio.write_dataframe(frame, tmp, layer=name, driver="LIBKML", append=i > 0)


# ----- PNG map

#: Font families tried for Chinese labels, in order.
CJK_FONT_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
    "Heiti SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Noto Sans CJK JP",
    "Noto Sans CJK TC",
    "Sarasa Gothic SC",
)


def find_cjk_font() -> str | None:
    """Return the name of an installed font family that draws Chinese, else None.

    Tries :data:`CJK_FONT_FAMILIES` among the fonts matplotlib knows; if none, scans the system
    font folders once for their files (a font installed after matplotlib built its cache).
    """
    from matplotlib import font_manager

    def known() -> str | None:
        names = {f.name for f in font_manager.fontManager.ttflist}
        return next((f for f in CJK_FONT_FAMILIES if f in names), None)

    found = known()
    if found is None:
        pattern = re.compile(
            r"(notosanscjk|notosanssc|sourcehansans|simhei|msyh|pingfang|wqy)", re.I
        )
        for path in font_manager.findSystemFonts():
            if pattern.search(Path(path).name):
                with contextlib.suppress(Exception):
                    font_manager.fontManager.addfont(path)
        found = known()
    return found


_STATUS_COLOURS = {"eligible": "#4daf4a", "extension": "#ff7f00"}
_STATUS_LABELS = {"eligible": "符合条件 eligible", "extension": "延伸纳入 extension (2001-2005)"}


def _nice_length(span: float) -> float:
    target = span / 4
    exp = 10 ** math.floor(math.log10(max(target, 1e-9)))
    return max(m * exp for m in (1, 2, 5) if m * exp <= target) if target >= exp else exp


def _polygon_path(geom: shapely.Geometry):
    """A matplotlib Path of a (Multi)Polygon, holes included (even-odd rings)."""
    from matplotlib.path import Path as MplPath

    paths = [
        MplPath(np.asarray(ring.coords)[:, :2], closed=True)
        for poly in shapely.get_parts(geom)
        if poly.geom_type == "Polygon" and not poly.is_empty
        for ring in (poly.exterior, *poly.interiors)
    ]
    return MplPath.make_compound_path(*paths) if paths else None


def _add_polygons(ax, geoms: Iterable[shapely.Geometry], **style) -> None:
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import PathPatch

    patches = [PathPatch(p) for g in geoms if (p := _polygon_path(g)) is not None]
    if patches:
        ax.add_collection(PatchCollection(patches, **style))


def _add_lines(ax, geoms: Iterable[shapely.Geometry], **style) -> None:
    from matplotlib.collections import LineCollection

    segments = []
    for geom in geoms:
        for part in shapely.get_parts(geom):
            if part.geom_type == "LineString":
                segments.append(np.asarray(part.coords)[:, :2])
            elif part.geom_type == "Polygon":
                segments += [np.asarray(r.coords)[:, :2] for r in (part.exterior, *part.interiors)]
    if segments:
        ax.add_collection(LineCollection(segments, **style))


def _no_cjk_font_warning(warn: list[str]) -> None:
    message = (
        "no CJK font found (Noto Sans CJK, SimHei, Microsoft YaHei, PingFang...): the map "
        "labels estates by id instead of name; install one, e.g. `apt install fonts-noto-cjk`"
    )
    warnings.warn(message, UserWarning, stacklevel=3)
    if message not in warn:
        warn.append(message)


def _write_png(
    b: DistrictBundle, path: Path, layers: PlanLayers, dpi: int, warn: list[str]
) -> None:
    """Draw the district map (no network tiles) in its GK zone and save it as PNG."""
    from matplotlib import rcParams
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

    font = find_cjk_font()
    if font is None:
        _no_cjk_font_warning(warn)

    def zh(chinese: str, english: str) -> str:
        return f"{chinese} {english}" if font else english

    crs = CRS.from_epsg(b.gk_epsg)
    families = [font, "DejaVu Sans"] if font else ["DejaVu Sans"]
    saved = rcParams["font.family"], rcParams["axes.unicode_minus"], rcParams["text.parse_math"]
    # names from data are drawn as typed: "$...$" is never math text (issue 16)
    rcParams["font.family"], rcParams["axes.unicode_minus"] = families, False
    rcParams["text.parse_math"] = False
    try:
        fig = Figure(figsize=(9, 9))
        FigureCanvasAgg(fig)
        ax = fig.add_axes((0.03, 0.07, 0.94, 0.87))
        outline = b.outline.to_crs(crs)
        minx, miny, maxx, maxy = outline.total_bounds
        half = max(maxx - minx, maxy - miny) * 0.62 + 30  # square frame with a margin
        cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
        if len(b.context):
            _add_polygons(
                ax,
                b.context.to_crs(crs).geometry,
                facecolor="#e0e0e0",
                edgecolor="#b0b0b0",
                linewidth=0.4,
            )
        est = b.estates.to_crs(crs)
        status = (
            est["status"].astype(str) if "status" in est else pd.Series("eligible", index=est.index)
        )
        _add_polygons(
            ax,
            est.geometry,
            facecolor=[_STATUS_COLOURS.get(s, "#999999") for s in status],
            edgecolor="#333333",
            linewidth=0.6,
            alpha=0.85,
        )
        _add_lines(ax, outline.geometry, color="#d7191c", linewidth=2.2, linestyle="--")
        handles = [
            Line2D(
                [],
                [],
                color="#d7191c",
                linewidth=2.2,
                linestyle="--",
                label=zh("片区边界", "district outline"),
            ),
            *(
                Patch(
                    facecolor=_STATUS_COLOURS[s],
                    edgecolor="#333333",
                    label=_STATUS_LABELS[s] if font else s,
                )
                for s in _STATUS_COLOURS
                if (status == s).any()
            ),
            Patch(facecolor="#e0e0e0", edgecolor="#b0b0b0", label=zh("其他小区", "other estates")),
        ]
        if b.corridors is not None:
            _add_lines(ax, b.corridors.to_crs(crs).geometry, color="#2b83ba", linewidth=2.5)
            handles.append(
                Line2D(
                    [], [], color="#2b83ba", linewidth=2.5, label=zh("管线廊道", "utility corridor")
                )
            )
        if b.elderly_sites is not None:
            pts = b.elderly_sites.to_crs(crs).geometry.representative_point()
            ax.scatter(pts.x, pts.y, marker="^", s=90, color="#7b3294", edgecolor="white", zorder=5)
            handles.append(
                Line2D(
                    [],
                    [],
                    marker="^",
                    linestyle="",
                    color="#7b3294",
                    markersize=9,
                    label=zh("养老服务设施", "elderly-care site"),
                )
            )
        names = est["name"] if "name" in est else est["estate_id"]
        size = 8 if len(est) <= 10 else 6.5
        for geom, name, eid in zip(est.geometry, names, est["estate_id"], strict=True):
            p = geom.representative_point()
            label = str(eid) if (font is None or _blank(name)) else str(name)
            ax.annotate(
                label,
                (p.x, p.y),
                ha="center",
                va="center",
                fontsize=size,
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.7},
            )
        ax.set_xlim(cx - half, cx + half)
        ax.set_ylim(cy - half, cy + half)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        bar = _nice_length(2 * half)
        ax.add_artist(
            AnchoredSizeBar(
                ax.transData,
                bar,
                f"{bar:,.0f} m",
                "lower left",
                pad=0.6,
                frameon=True,
                size_vertical=half / 75,
            )
        )
        ax.annotate(
            "N",
            xy=(0.95, 0.96),
            xytext=(0.95, 0.86),
            xycoords="axes fraction",
            ha="center",
            va="center",
            fontsize=14,
            fontweight="bold",
            arrowprops={"facecolor": "black", "width": 4, "headwidth": 12},
        )
        ax.legend(handles=handles, loc="upper left", fontsize=8, framealpha=0.9)
        ax.set_title(_map_title(b, len(est), font is not None), fontsize=13)
        fig.text(
            0.5,
            0.015,
            "\n".join(_map_footer(layers, crs, est, font is not None)),
            ha="center",
            fontsize=7,
            color="#444444",
        )
        with geo_io.atomic_path(path) as tmp:
            # fast zlib level: 4x quicker to encode, ~1.4x larger than level 6
            fig.savefig(tmp, dpi=dpi, format="png", pil_kwargs={"compress_level": 1})
    finally:
        rcParams["font.family"], rcParams["axes.unicode_minus"], rcParams["text.parse_math"] = saved


def _map_title(b: DistrictBundle, count: int, chinese: bool) -> str:
    hh = b.row.get("households")
    county = b.row.get("county")
    if chinese:
        title = f"片区 District {b.district_id}"
        title += "" if _blank(county) else f" · {county}"
        title += f" · {count} 个小区 estates"
        return title + ("" if _blank(hh) else f" · {int(hh):,} 户 households")
    title = f"District {b.district_id} · {count} estates"
    return title + ("" if _blank(hh) else f" · {int(hh):,} households")


def _map_footer(layers: PlanLayers, crs: CRS, est: pd.DataFrame, chinese: bool) -> list[str]:
    foot = [f"{_crs_text(crs)} · grid north · lianpian {__version__} · {datetime.now():%Y-%m-%d}"]
    if any("OpenStreetMap" in s["licence"] for s in _sources(layers)) or "osm_id" in est:
        foot.append("Map data " + OSM_LICENCE)
    character = _data_character(layers)
    if character.startswith(("SYNTHETIC", "ILLUSTRATIVE")):
        zh = " (示意/合成数据)" if chinese else ""
        foot.append(character.split(":")[0].split()[0] + ": not real figures" + zh)
    return foot


# --------------------------------------------------------------------------- packages


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
        "Notes: Shapefile field names are cut to 10 characters (shp/field_names.csv gives the full",
        "names). DXF is in the CGCS2000 3-degree Gauss-Krüger zone named above, metres, no zone",
        "prefix; text style CJK uses simsun.ttc. KML is WGS-84 (EPSG:4326), not GCJ-02.",
        "Spreadsheet text beginning with = + - @ is stored as text (XLSX) or prefixed with ' (CSV).",
    ]
    return "\n".join(lines) + "\n"


def _write_text(path: Path, text: str) -> None:
    with geo_io.atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


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
        raise InputError(f"unknown Shapefile encoding {options.encoding!r}", fix="use utf-8 or gbk")
    b = _bundle(layers, district_id)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    warn: list[str] = []
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
    dxf_crs = _write_dxf(b, folder / f"{b.name}.dxf")
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
            "XLSX: 小区清单 schedule, 片区汇总 summary, 改造内容 content, 管线廊道/养老设施 when planned, 投资估算 cost, 说明 notes",
        )
    )
    _write_kml(b, folder / f"{b.name}.kml")
    files.append(
        PackageFile(f"{b.name}.kml", "KML for Google Earth / Ovital (奥维)", "EPSG:4326 (WGS 84)")
    )
    _write_png(b, folder / f"{b.name}.png", layers, options.dpi, warn)
    files.append(
        PackageFile(
            f"{b.name}.png",
            "map: legend, scale bar, north arrow (grid north)",
            _crs_text(CRS.from_epsg(b.gk_epsg)),
        )
    )
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


def _index_rows(layers: PlanLayers, names: dict[str, str], suffix: str) -> list[list[object]]:
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
    return rows


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
    _table(ws, _INDEX_HEADER, rows, ["@", "@", "0", "#,##0", "#,##0", "#,##0", "#,##0.0", "0", "@"])
    ws.column_dimensions["I"].width = 40
    with geo_io.atomic_path(out / "index.xlsx") as tmp:
        wb.save(tmp)
    _write_csv(out / "index.csv", _INDEX_HEADER, rows)
    outlines = layers.districts.loc[layers.districts["district_id"].astype(str).isin(names)]
    with geo_io.atomic_path(out / "index.gpkg") as tmp:
        pyogrio.write_dataframe(_plain(outlines), tmp, layer="districts", driver="GPKG")
    files = [
        PackageFile("index.xlsx", "片区一览 list of the exported districts"),
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


def export_packages(layers: PlanLayers, out_dir: str | Path, **kwargs) -> PackageResult:
    """Write tender packages into ``out_dir``, built in a staging folder swapped in whole.

    Files of an earlier export that this one does not write are gone; an interrupted export
    leaves the previous folder; a non-empty folder that is not an earlier export is refused
    (:func:`geo.io.folders.swapped_folder`). Arguments and result as :func:`_export_packages_into`.
    """
    from geo.io.folders import swapped_folder

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
    from geo.io.folders import exit_with_parent

    exit_with_parent()  # a killed export leaves no worker writing on (issue 16)
    global _WORKER_LAYERS
    _WORKER_LAYERS = layers
    warnings.simplefilter("ignore", RuntimeWarning)


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
) -> bytes:
    """Return one zip (bytes) with the packages of ``district_ids`` (all if None) and the index.

    For the app's download button: the files are built in a temporary folder that is removed
    afterwards; nothing is left on disk. A single district gives its package at the zip's root.

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
            export_packages(layers, root, district_ids=district_ids, options=options)
        buffer = _stdio.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
            for p in sorted(root.rglob("*")):
                if p.is_file():
                    zf.write(p, p.relative_to(root).as_posix())
        return buffer.getvalue()
