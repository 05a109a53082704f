"""All file access of lianpian: reading layers and tables, writing results atomically.

Engine: pyogrio (GDAL) for every vector format (GeoPackage, Shapefile, GeoJSON, FlatGeobuf,
zipped Shapefile, OSM PBF); pandas/openpyxl for CSV/TSV/XLSX. Inputs are opened read-only and never
modified. Every output is written to a temporary file in the target folder and renamed over the
target (:func:`atomic_path`), so an interrupted run leaves the previous file or the complete new one.

Loaders return canonical frames (see :mod:`geo.core.schema`) in the data's CRS (WGS-84 after a
declared GCJ-02/BD-09 conversion); the pipeline projects them to the run's metric CRS.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from geo.core import crs as crs_mod
from geo.core.errors import InputError, QualityReport
from geo.core.names import normalise_header, normalise_text
from geo.core.schema import ESTATE_COLUMNS, coerce_attributes, map_headers, parse_area
from geo.io import archives as _archive

VECTOR_SUFFIXES = (".gpkg", ".shp", ".geojson", ".json", ".fgb", ".zip", ".pbf", ".kml", ".gml")
TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".xls")
_POLYGONAL = ("Polygon", "MultiPolygon")
#: Default largest input file (and expanded zip archive), in MB; the environment variable
#: ``LIANPIAN_MAX_INPUT_MB`` changes it (the app sets its own upload limit too).
DEFAULT_MAX_INPUT_MB = 2048.0


def max_input_bytes() -> int:
    """Return the largest input accepted, in bytes (``LIANPIAN_MAX_INPUT_MB``, default 2048 MB).

    Raises
    ------
    InputError
        If the environment variable is not a positive number.
    """
    text = os.environ.get("LIANPIAN_MAX_INPUT_MB", "").strip()
    if not text:
        return int(DEFAULT_MAX_INPUT_MB * 1024 * 1024)
    try:
        megabytes = float(text)
    except ValueError:
        megabytes = -1.0
    if not np.isfinite(megabytes) or megabytes <= 0:
        raise InputError(
            f"LIANPIAN_MAX_INPUT_MB={text!r} is not a positive number of megabytes",
            fix="set it to e.g. 200, or unset it",
        )
    return int(megabytes * 1024 * 1024)


def _size_text(n_bytes: float) -> str:
    """A size for messages: ``"830 bytes"``, ``"12.5 kB"``, ``"1,234.0 MB"``."""
    if n_bytes < 1024:
        return f"{n_bytes:.0f} bytes"
    if n_bytes < 1024 * 1024:
        return f"{n_bytes / 1024:.1f} kB"
    return f"{n_bytes / 1024 / 1024:,.1f} MB"


def _check_input_file(path: Path) -> None:
    """Refuse a missing, empty or oversized input file, and a Shapefile without its .shx/.dbf."""
    source = path.name
    if not path.exists():
        raise InputError("file not found", source=str(path), fix="check the path")
    if path.is_dir():
        raise InputError(
            "this is a folder, not a file", source=str(path), fix="give the file inside it"
        )
    size = path.stat().st_size
    if size == 0:
        raise InputError("the file is empty (0 bytes)", source=source, fix="export it again")
    limit = max_input_bytes()
    if size > limit:
        raise InputError(
            f"the file is {_size_text(size)}, over the input limit of {_size_text(limit)}",
            source=source,
            fix="clip the data to the planning area, or raise LIANPIAN_MAX_INPUT_MB",
        )
    if path.suffix.lower() == ".shp":
        for part, role in ((".shx", "index"), (".dbf", "attribute table")):
            if not any(path.with_suffix(s).exists() for s in (part, part.upper())):
                raise InputError(
                    f"the Shapefile has no {part} file (its {role})",
                    source=source,
                    where=f"missing {path.with_suffix(part).name}",
                    fix=f"put {path.stem}{part} next to {path.name}: a Shapefile is .shp + .shx + "
                    ".dbf (+ .prj, .cpg); or zip all of them together",
                )
    if path.suffix.lower() == ".zip":
        _archive.check_members(
            _archive.members_of(path),
            source=source,
            archive_bytes=size,
            max_expanded_bytes=limit,
        )


# --------------------------------------------------------------------------- vector layers


def _shapefile_encoding(path: Path) -> str | None:
    """Return the encoding of a Shapefile's .dbf when no .cpg says it: UTF-8 or GB18030 (GBK).

    GDAL reads a .dbf without .cpg as ISO-8859-1, which turns GBK names into mojibake. The
    attribute bytes are tried as strict UTF-8 first, else GB18030 (a superset of GBK).
    """
    if path.with_suffix(".cpg").exists() or path.with_suffix(".CPG").exists():
        return None
    dbf = next(
        (p for p in (path.with_suffix(".dbf"), path.with_suffix(".DBF")) if p.exists()), None
    )
    if dbf is None:
        return None
    raw = dbf.read_bytes()
    header_len = int.from_bytes(raw[8:10], "little") if len(raw) >= 10 else len(raw)
    body = raw[header_len:]
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return "GB18030"
    return "UTF-8"


def _pick_layer(
    path: str, layer: str | None, source: str, quality: QualityReport | None
) -> str | None:
    try:
        layers = pyogrio.list_layers(path)
    except Exception as exc:  # GDAL raises several types for unreadable files
        raise InputError(
            f"cannot open the file ({_short(exc)})",
            source=source,
            fix="check that it is a complete GeoPackage, Shapefile (.shp with .shx and .dbf), "
            "GeoJSON or FlatGeobuf file",
        ) from exc
    names = [str(n) for n, _ in layers]
    if layer is not None:
        if layer not in names:
            raise InputError(
                f"no layer {layer!r}", source=source, fix=f"choose one of: {', '.join(names)}"
            )
        return layer
    if len(names) <= 1:
        return names[0] if names else None
    polygonal = [str(n) for n, g in layers if g and "Polygon" in str(g)]
    chosen = polygonal[0] if polygonal else names[0]
    if quality is not None:
        quality.add(
            "warning",
            source,
            f"layer {chosen}",
            f"the file has {len(names)} layers; read {chosen!r}",
            "name the layer if another was meant",
        )
    return chosen


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


def read_vector(
    path: str | Path,
    *,
    layer: str | None = None,
    quality: QualityReport | None = None,
    source_crs: str | None = None,
) -> gpd.GeoDataFrame:
    """Read a vector layer with pyogrio and settle its CRS.

    Parameters
    ----------
    path
        GeoPackage, Shapefile (GBK-encoded .dbf detected when no .cpg is given), GeoJSON,
        FlatGeobuf, a zipped Shapefile (``.zip``) or anything else GDAL reads.
    layer
        Layer name; by default the only layer, else the first polygon layer (reported).
    source_crs
        ``"gcj02"`` or ``"bd09"`` for AMap/Baidu coordinates (converted to WGS-84), or any CRS
        pyproj accepts (``"EPSG:4490"``) to declare the CRS of data that has none; a declared CRS
        different from the file's replaces it with a warning.

    Returns
    -------
    GeoDataFrame
        In the file's CRS (WGS-84 after a GCJ-02/BD-09 conversion). 3D coordinates are dropped.

    Raises
    ------
    InputError
        If the file cannot be read, has no CRS and none is declared, or its coordinates do not fit
        its declared geographic CRS (a projected layer labelled EPSG:4326).
    """
    path = Path(path)
    source = path.name
    _check_input_file(path)
    gdal_path = str(path)
    if path.suffix.lower() == ".zip":
        gdal_path = f"/vsizip/{path}"
    chosen = _pick_layer(gdal_path, layer, source, quality)
    encoding = _shapefile_encoding(path) if path.suffix.lower() == ".shp" else None
    if encoding == "GB18030" and quality is not None:
        quality.add(
            "repair",
            source,
            "attributes",
            "no .cpg file: text read as GBK (GB18030)",
            "ship a .cpg file containing the encoding name with the Shapefile",
        )
    try:
        with warnings.catch_warnings():
            # NaN coordinates and odd fields warn; they are reported in the quality layer instead
            warnings.simplefilter("ignore", RuntimeWarning)
            warnings.simplefilter("ignore", UserWarning)
            gdf = pyogrio.read_dataframe(
                gdal_path, layer=chosen, encoding=encoding, on_invalid="ignore"
            )
    except Exception as exc:  # pyogrio/GDAL raise many types for broken files
        raise InputError(
            f"cannot read the layer ({_short(exc)})",
            source=source,
            fix="open it in a GIS and export it again",
        ) from exc
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.name not in gdf:
        raise InputError(
            "the file has no geometry",
            source=source,
            fix="give a spatial layer (a table without geometry is read as the survey table)",
        )
    gdf = _drop_z(gdf, source, quality)
    return _settle_crs(gdf, source, source_crs, quality)


def _drop_z(gdf: gpd.GeoDataFrame, source: str, quality: QualityReport | None) -> gpd.GeoDataFrame:
    """Drop Z (and M) coordinates: planning is 2D; heights are not read from geometry."""
    geoms = gdf.geometry.values
    has_z = shapely.has_z(geoms)
    if not has_z.any():
        return gdf
    if quality is not None:
        quality.add(
            "repair",
            source,
            f"{int(has_z.sum())} features",
            "3D coordinates: the Z values were dropped (planning is 2D)",
            "nothing to do; export 2D geometry to silence this note",
        )
    return gdf.set_geometry(gpd.GeoSeries(shapely.force_2d(geoms), index=gdf.index, crs=gdf.crs))


def _settle_crs(
    gdf: gpd.GeoDataFrame, source: str, source_crs: str | None, quality: QualityReport | None
) -> gpd.GeoDataFrame:
    declared = (source_crs or "").strip().lower() or None
    if declared in crs_mod.CHINESE_OBFUSCATED:
        if gdf.crs is not None and not CRS.from_user_input(gdf.crs).is_geographic:
            raise InputError(
                f"declared {declared.upper()} but the file is in a projected CRS",
                source=source,
                fix="GCJ-02/BD-09 data are longitude/latitude degrees",
            )
        gdf = gdf.set_crs(crs_mod.WGS84, allow_override=True)
        _check_geographic_range(gdf, source)
        convert = crs_mod.gcj02_to_wgs84 if declared == "gcj02" else crs_mod.bd09_to_wgs84
        if quality is not None:
            quality.add(
                "repair", source, "geometry", f"converted from {declared.upper()} to WGS-84"
            )
        return convert(gdf)
    if declared is not None:
        try:
            user_crs = CRS.from_user_input(source_crs)
        except CRSError as exc:
            raise InputError(
                f"unknown CRS {source_crs!r}",
                source=source,
                fix="use an EPSG code such as EPSG:4490, or gcj02 / bd09",
            ) from exc
        if gdf.crs is not None and CRS.from_user_input(gdf.crs) != user_crs and quality is not None:
            quality.add(
                "warning",
                source,
                "CRS",
                f"file says {gdf.crs.to_string()}, declared {user_crs.to_string()} used",
            )
        gdf = gdf.set_crs(user_crs, allow_override=True)
    if gdf.crs is None:
        raise InputError(
            "the layer has no CRS (.prj missing?)",
            source=source,
            fix="add the .prj file, or declare it with --source-crs EPSG:4490 "
            "(CGCS2000), EPSG:4326 (WGS-84), gcj02 or bd09",
        )
    if CRS.from_user_input(gdf.crs).is_geographic:
        _check_geographic_range(gdf, source)
    return gdf


def _check_geographic_range(gdf: gpd.GeoDataFrame, source: str) -> None:
    geoms = gdf.geometry.values
    coords = shapely.get_coordinates(geoms[~shapely.is_missing(geoms)])
    finite = coords[np.isfinite(coords).all(axis=1)]
    if len(finite) and (np.abs(finite[:, 0]).max() > 180 or np.abs(finite[:, 1]).max() > 90):
        raise InputError(
            f"coordinates up to {np.abs(finite).max():.0f} do not fit the geographic CRS "
            f"{gdf.crs.to_string()} (a projected layer labelled as degrees?)",
            source=source,
            fix="declare the real CRS with --source-crs, e.g. EPSG:4549",
        )


def clean_polygons(
    gdf: gpd.GeoDataFrame, *, source: str, quality: QualityReport, id_column: str | None = None
) -> gpd.GeoDataFrame:
    """Keep valid 2D polygons: drop empty, non-finite and non-polygonal features, repair invalid ones.

    Every drop and repair is recorded in ``quality`` with the feature (its ``id_column`` value, or
    its position). Returns a new GeoDataFrame with (Multi)Polygon geometries only.

    Raises
    ------
    InputError
        If no polygon is left (for example a point or line layer given as estates).
    """
    labels = (
        gdf[id_column].astype(str)
        if id_column
        else pd.Series([f"feature {i + 1}" for i in range(len(gdf))], index=gdf.index)
    )
    geoms = shapely.force_2d(gdf.geometry.values)
    keep = np.ones(len(gdf), dtype=bool)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    for label in labels[missing]:
        quality.add("dropped", source, str(label), "empty geometry", "draw its outline")
    keep &= ~missing
    finite = np.array(
        [
            np.isfinite(shapely.get_coordinates(g)).all() if ok else True
            for g, ok in zip(geoms, keep, strict=True)
        ]
    )
    for label in labels[keep & ~finite]:
        quality.add(
            "dropped", source, str(label), "NaN or infinite coordinates", "fix the vertices"
        )
    keep &= finite
    types = shapely.get_type_id(geoms)
    polygonal = np.isin(types, [3, 6])  # Polygon, MultiPolygon
    collection = types == 7
    if keep.any() and not (polygonal | collection)[keep].any():
        kinds = sorted(set(shapely.get_type_id(geoms[keep]).tolist()))
        names = {0: "points", 1: "lines", 2: "lines", 4: "points", 5: "lines"}
        found = ", ".join(names.get(k, "other geometries") for k in kinds)
        raise InputError(
            f"the layer holds {found}, not polygons",
            source=source,
            fix="give estate footprints as polygons",
        )
    for label in labels[keep & ~(polygonal | collection)]:
        quality.add("dropped", source, str(label), "not a polygon", "give polygons only")
    keep &= polygonal | collection
    invalid = keep & ~shapely.is_valid(geoms)
    if invalid.any():
        repaired = shapely.make_valid(geoms[invalid])
        geoms[invalid] = _polygonal_part(repaired)
        for label in labels[invalid]:
            quality.add(
                "repair",
                source,
                str(label),
                "invalid polygon (e.g. self-intersection) repaired with make_valid",
                "check its outline",
            )
    geoms[collection & keep] = _polygonal_part(geoms[collection & keep])
    empty_now = keep & (shapely.is_empty(geoms) | shapely.is_missing(geoms))
    for label in labels[empty_now]:
        quality.add("dropped", source, str(label), "no area left after repair", "redraw it")
    keep &= ~empty_now
    out = gdf.loc[keep].copy()
    out = out.set_geometry(gpd.GeoSeries(geoms[keep], index=out.index, crs=gdf.crs))
    if out.empty:
        raise InputError(
            "no usable polygon in the layer",
            source=source,
            fix="give estate footprints as valid polygons",
        )
    return out


def _polygonal_part(geoms: np.ndarray) -> np.ndarray:
    out = []
    for geom in geoms:
        if geom is None:
            out.append(shapely.Polygon())
            continue
        parts = [g for g in shapely.get_parts(geom) if g.geom_type in _POLYGONAL]
        merged = shapely.union_all(parts) if parts else shapely.Polygon()
        if merged.geom_type == "GeometryCollection":
            merged = shapely.MultiPolygon(
                [g for g in shapely.get_parts(merged) if g.geom_type == "Polygon"]
            )
        out.append(merged)
    return np.array(out, dtype=object)


# --------------------------------------------------------------------------- tables


def read_table(
    path: str | Path,
    *,
    sheet: str | int = 0,
    quality: QualityReport | None = None,
    column_mapping: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Read a survey or plan table: CSV/TSV (UTF-8 with or without BOM, else GBK) or XLSX.

    All cells are read as text (``dtype=str``) so that ids keep leading zeros and year cells stay
    as written; parsing is :mod:`geo.core.schema`'s job. In XLSX, merged cells are filled with their
    value, and the header is the row among the first ten that names the most known columns
    (:data:`geo.core.schema.HEADER_ALIASES`, plus ``column_mapping``): title rows and merged group
    headers above it are skipped (reported in ``quality``); the same for title lines above the
    header of a CSV/TSV. A GBK text file is reported too.

    Raises
    ------
    InputError
        If the file is missing, empty, too large, not a table, or in an unknown encoding.
    """
    path = Path(path)
    source = path.name
    _check_input_file(path)
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm"):
            table = _read_xlsx(path, sheet, source, quality, column_mapping)
        elif suffix == ".xls":
            table = pd.read_excel(path, sheet_name=sheet, dtype=str, engine=None)
        else:
            table = _read_text_table(
                path,
                sep="\t" if suffix in (".tsv", ".txt") else None,
                quality=quality,
                column_mapping=column_mapping,
            )
    except InputError:
        raise
    except Exception as exc:  # pandas/openpyxl raise many types for broken files
        raise InputError(
            f"cannot read the table ({_short(exc)})",
            source=source,
            fix="save it as UTF-8 CSV or XLSX",
        ) from exc
    table.columns = _unique_headers([str(c).strip() for c in table.columns])
    table = table.dropna(how="all")
    if table.empty:
        raise InputError("the table has no rows", source=source, fix="check the file")
    return table


def _unique_headers(headers: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for i, header in enumerate(headers):
        header = header or f"column {i + 1}"
        count = seen.get(header, 0)
        seen[header] = count + 1
        out.append(header if count == 0 else f"{header}.{count}")
    return out


def _read_xlsx(
    path: Path,
    sheet: str | int,
    source: str,
    quality: QualityReport | None,
    column_mapping: Mapping[str, str] | None,
) -> pd.DataFrame:
    """Read one XLSX sheet as text, merged cells filled, header row found (see read_table)."""
    import openpyxl

    workbook = openpyxl.load_workbook(path, read_only=False, data_only=True)
    try:
        names = workbook.sheetnames
        if isinstance(sheet, int):
            if not 0 <= sheet < len(names):
                raise InputError(
                    f"no sheet number {sheet + 1}", source=source, fix="check the workbook"
                )
            ws = workbook[names[sheet]]
        elif sheet in names:
            ws = workbook[sheet]
        else:
            raise InputError(
                f"no sheet {sheet!r}", source=source, fix=f"choose one of: {', '.join(names)}"
            )
        merged = list(ws.merged_cells.ranges)
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
    finally:
        workbook.close()
    for cells in merged:
        value = rows[cells.min_row - 1][cells.min_col - 1] if cells.min_row <= len(rows) else None
        for r in range(cells.min_row - 1, min(cells.max_row, len(rows))):
            for c in range(cells.min_col - 1, min(cells.max_col, len(rows[r]))):
                rows[r][c] = value
    rows = [r for r in rows if any(v is not None and str(v).strip() for v in r)]
    if not rows:
        raise InputError("the sheet is empty", source=source, fix="check the workbook")
    header_at = _header_row(rows, column_mapping)
    header = [_cell_text(v) or "" for v in rows[header_at]]
    merged_in_header = [
        str(m) for m in merged if m.min_row - 1 <= header_at and m.min_col != m.max_col
    ]
    if quality is not None and (header_at > 0 or merged_in_header):
        where = f"rows 1-{header_at + 1}" if header_at else "row 1"
        quality.add(
            "repair",
            source,
            where,
            f"merged header cells ({', '.join(merged_in_header[:4]) or 'none'}) filled; header "
            f"read from row {header_at + 1}, the {header_at} row(s) above skipped as titles",
            "give the table one header row without merged cells",
        )
    width = len(header)
    data = [[_cell_text(v) for v in row[:width]] for row in rows[header_at + 1 :]]
    return pd.DataFrame(data, columns=header, dtype=object)


def _header_row(rows: list[list[object]], column_mapping: Mapping[str, str] | None) -> int:
    """Index of the header among the first ten rows: the one naming the most known columns.

    Title rows (``某某区老旧小区调查表``) and merged group headers score lower than the real
    header; with no known column anywhere the first row is the header.
    """
    scores = []
    for row in rows[:10]:
        cells = [str(v).strip() for v in row if v is not None and str(v).strip()]
        try:
            scores.append(len(map_headers(cells, column_mapping)))
        except InputError:  # two aliases of one column: a header all the same
            scores.append(1)
    return int(np.argmax(scores)) if scores and max(scores) > 0 else 0


def _cell_text(value: object) -> str | None:
    """A cell as text, like ``dtype=str``: ``None`` stays missing, whole floats lose ``.0``."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None


def _parse_text_table(text: str, sep: str | None) -> pd.DataFrame:
    """Parse CSV/TSV text, every cell as text.

    The delimiter is sniffed from the first line as pandas' Python parser does (``csv.Sniffer``,
    default dialect otherwise); the table is then read by pandas' C parser, many times faster on
    large surveys. Should the C parser fail, the Python parser reads it (and gives the error).
    """
    import csv
    import io as _io

    options = {"dtype": str, "keep_default_na": False, "na_values": [""]}
    delimiter = sep
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(_io.StringIO(text).readline()).delimiter
        except csv.Error:
            delimiter = None
    # a carriage return outside a line ending is an error for the Python parser: keep it there
    plain = re.search(r"\r(?!\n)", text) is None
    if plain and delimiter is not None and len(delimiter) == 1:
        with contextlib.suppress(Exception):
            table = pd.read_csv(_io.StringIO(text), sep=delimiter, engine="c", **options)
            if isinstance(table.index, pd.RangeIndex):  # else ragged rows: parsers differ
                return table
    return pd.read_csv(_io.StringIO(text), sep=sep, engine="python", **options)


def _title_lines(text: str, sep: str | None, column_mapping: Mapping[str, str] | None) -> int:
    """How many title lines stand above the header of a CSV/TSV (see :func:`_header_row`)."""
    import csv

    head = text.splitlines()[:10]
    delimiter = sep
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff("\n".join(head), delimiters=",\t;|").delimiter
        except csv.Error:
            delimiter = ","
    rows = [next(csv.reader([line], delimiter=delimiter), []) for line in head]
    return _header_row(rows, column_mapping)


def _read_text_table(
    path: Path,
    sep: str | None,
    quality: QualityReport | None = None,
    column_mapping: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Read a CSV/TSV as text; title lines above the header are skipped and reported."""
    raw = path.read_bytes()
    if b"\x00" in raw[:4096]:
        raise InputError(
            "this is a binary file, not a text table",
            source=path.name,
            fix="give a CSV, TSV or XLSX table",
        )
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding == "gb18030" and quality is not None:
            quality.add(
                "repair",
                path.name,
                "encoding",
                "the text is not UTF-8: read as GBK (GB18030)",
                "save the table as UTF-8 CSV",
            )
        header_at = _title_lines(text, sep, column_mapping)
        if header_at:
            if quality is not None:
                quality.add(
                    "repair",
                    path.name,
                    f"lines 1-{header_at}",
                    f"header read from line {header_at + 1}, the {header_at} line(s) above "
                    "skipped as titles",
                    "give the table one header row in its first line",
                )
            text = text.split("\n", header_at)[-1]
        return _parse_text_table(text, sep)
    raise InputError(
        "the text is neither UTF-8 nor GBK", source=path.name, fix="save the table as UTF-8 CSV"
    )


# --------------------------------------------------------------------------- estates


def read_estates(
    path: str | Path,
    *,
    quality: QualityReport,
    layer: str | None = None,
    source_crs: str | None = None,
    column_mapping: Mapping[str, str] | None = None,
) -> gpd.GeoDataFrame:
    """Read estate footprints into the canonical schema (:data:`geo.core.schema.ESTATE_COLUMNS`).

    Any polygon layer GDAL reads. The Geofabrik OSM land-use schema (``osm_id, code, fclass,
    name``) is recognised: only ``fclass == "residential"`` is kept and ``osm_id`` is the id.
    Attribute columns with known headers (Chinese or English, see :data:`geo.core.schema.HEADER_ALIASES`)
    are parsed; all input columns are kept under their own names too.

    Returns
    -------
    GeoDataFrame
        Canonical columns plus the input's, ``estate_id`` unique strings, in the file's CRS.

    Raises
    ------
    InputError
        See :func:`read_vector` and :func:`clean_polygons`; also when no feature is left.
    """
    source = Path(path).name
    raw = read_vector(path, layer=layer, quality=quality, source_crs=source_crs)
    if raw.empty:
        raise InputError("the layer has no features", source=source, fix="check the layer")
    if "fclass" in raw.columns and (raw["fclass"] == "residential").any():
        dropped = int((raw["fclass"] != "residential").sum())
        if dropped:
            quality.add(
                "dropped",
                source,
                "fclass",
                f"{dropped} non-residential land-use "
                "features left out (OSM schema: fclass != residential)",
            )
        raw = raw.loc[raw["fclass"] == "residential"]
    return canonical_estates(raw, source=source, quality=quality, column_mapping=column_mapping)


def canonical_estates(
    raw: gpd.GeoDataFrame,
    *,
    source: str,
    quality: QualityReport,
    column_mapping: Mapping[str, str] | None = None,
) -> gpd.GeoDataFrame:
    """Turn a polygon layer with any headers into the canonical estate table (pure; no file access).

    See :func:`read_estates`. Ids: the mapped id column as text; missing ids become ``E00001``...
    by position; duplicates get ``-2``, ``-3`` suffixes (reported).
    """
    headers = [c for c in raw.columns if c != raw.geometry.name]
    mapping = map_headers(headers, column_mapping)
    id_col = next((h for h, c in mapping.items() if c == "estate_id"), None)
    if id_col is not None:
        ids = raw[id_col].map(lambda v: "" if pd.isna(v) else _id_text(v))
    else:
        ids = pd.Series([""] * len(raw), index=raw.index)
    ids = pd.Series([i or f"E{n + 1:05d}" for n, i in enumerate(ids)], index=raw.index)
    ids = _unique_ids(ids, source, quality)
    cleaned = clean_polygons(
        raw.assign(_lp_id=ids.values), source=source, quality=quality, id_column="_lp_id"
    )
    canonical = pd.DataFrame(index=cleaned.index)
    for header, column in mapping.items():
        if column != "estate_id":
            canonical[column] = cleaned[header]
    canonical = coerce_attributes(
        canonical, source=source, quality=quality, row_labels=cleaned["_lp_id"]
    )
    canonical.insert(0, "estate_id", cleaned["_lp_id"].astype("string"))
    keep_input = [c for c in headers if c not in canonical.columns and c != "_lp_id"]
    out = pd.concat([canonical, cleaned[keep_input]], axis=1)
    out = gpd.GeoDataFrame(out, geometry=cleaned.geometry.values, crs=cleaned.crs)
    for column, (dtype, _, _) in ESTATE_COLUMNS.items():
        out[column] = out[column].astype(dtype)
    return out.reset_index(drop=True)


def _id_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _unique_ids(ids: pd.Series, source: str, quality: QualityReport) -> pd.Series:
    seen: dict[str, int] = {}
    out = []
    for value in ids:
        count = seen.get(value, 0) + 1
        seen[value] = count
        if count > 1:
            new = f"{value}-{count}"
            quality.add(
                "repair",
                source,
                f"id {value}",
                f"duplicate id renamed {new}",
                "give every estate its own id",
            )
            out.append(new)
        else:
            out.append(value)
    return pd.Series(out, index=ids.index)


def read_survey(
    path: str | Path,
    *,
    quality: QualityReport,
    column_mapping: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Read a survey table (CSV/TSV/XLSX) into canonical columns (ids as text, cells parsed).

    Headers as planners write them (``小区名称, 所在区, 建成年代, 栋数, 户数, 建筑面积m2, 居民同意率,
    60岁以上人口占比, 已完成综合改造, 纳入棚改或征收计划, 城中村或自建房, 违建已拆除, 有物业管理, 改造需求``)
    or English (:data:`geo.core.schema.HEADER_ALIASES`); ``column_mapping`` adds or overrides.

    Returns
    -------
    DataFrame
        Canonical columns, ``estate_id`` (text, ``<NA>`` where the row has none) and ``survey_row``
        (1-based row number in the file, for reports).

    Raises
    ------
    InputError
        If the table cannot be read or has neither an id nor a name column.
    """
    source = Path(path).name
    table = read_table(path, quality=quality, column_mapping=column_mapping)
    mapping = map_headers(list(table.columns), column_mapping)
    if "estate_id" not in mapping.values() and "name" not in mapping.values():
        raise InputError(
            "the survey has neither an id column nor a name column",
            source=source,
            fix="add 小区名称 (or osm_id / 编号), or pass a column mapping",
        )
    renamed = table.rename(columns=mapping)[list(mapping.values())]
    rows = pd.Series(np.arange(2, len(renamed) + 2), index=renamed.index)  # header is row 1
    survey = coerce_attributes(renamed, source=source, quality=quality, row_labels=rows)
    if "estate_id" in survey:
        survey["estate_id"] = (
            survey["estate_id"]
            .map(lambda v: pd.NA if pd.isna(v) or not str(v).strip() else _id_text(v))
            .astype("string")
        )
    else:
        survey["estate_id"] = pd.Series(pd.NA, index=survey.index, dtype="string")
    survey["survey_row"] = rows.values
    return survey.reset_index(drop=True)


def read_lines_or_polygons(
    path: str | Path,
    *,
    quality: QualityReport,
    layer: str | None = None,
    source_crs: str | None = None,
) -> gpd.GeoDataFrame:
    """Read a barrier or road layer (lines or polygons; other features dropped with a report).

    Raises
    ------
    InputError
        See :func:`read_vector`; also when the layer has no line or polygon.
    """
    source = Path(path).name
    gdf = read_vector(path, layer=layer, quality=quality, source_crs=source_crs)
    geoms = gdf.geometry.values  # 2D: read_vector dropped any Z
    kind = shapely.get_type_id(geoms)
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    ok &= kind != 0  # points
    ok &= kind != 4
    if not ok.any():
        raise InputError(
            "the layer has no lines or polygons",
            source=source,
            fix="give rivers, railways or roads as lines or polygons",
        )
    gdf = gdf.loc[ok].copy()
    kept = geoms[ok]
    invalid = ~shapely.is_valid(kept)  # make_valid returns valid geometries unchanged
    if invalid.any():
        kept = kept.copy()
        kept[invalid] = shapely.make_valid(kept[invalid])
    gdf = gdf.set_geometry(gpd.GeoSeries(kept, index=gdf.index, crs=gdf.crs))
    return gdf.reset_index(drop=True)


def read_boundaries(
    path: str | Path,
    *,
    quality: QualityReport,
    layer: str | None = None,
    source_crs: str | None = None,
) -> gpd.GeoDataFrame:
    """Read administrative units as polygons with columns ``name`` and ``level``.

    ``level`` is one of ``city``, ``county``, ``street``, ``community``; Chinese values (市, 区县, 街道,
    乡镇, 社区, 村) are mapped. The cnmaps schema (``adcode, province, city, district, level``, as in
    ``admin_cnmaps.gpkg``) is recognised (use its ``admin_wgs84`` layer; ``admin_gcj02`` is GCJ-02).

    Raises
    ------
    InputError
        If the layer has no polygons, or no name or level column.
    """
    source = Path(path).name
    gdf = read_vector(path, layer=layer, quality=quality, source_crs=source_crs)
    gdf = clean_polygons(gdf, source=source, quality=quality)
    level_map = {
        "市": "city",
        "地级市": "city",
        "city": "city",
        "区县": "county",
        "县": "county",
        "区": "county",
        "县区": "county",
        "county": "county",
        "district": "county",
        "街道": "street",
        "乡镇": "street",
        "镇": "street",
        "street": "street",
        "社区": "community",
        "村": "community",
        "community": "community",
    }
    if "level" not in gdf:
        raise InputError(
            "no 'level' column (county / street / community)",
            source=source,
            fix="add a level column with 区县, 街道 or 社区",
        )
    levels = gdf["level"].astype(str).str.strip().str.lower().map(level_map)
    if levels.isna().any():
        bad = sorted(set(gdf.loc[levels.isna(), "level"].astype(str)))
        raise InputError(
            f"unknown levels {bad}",
            source=source,
            fix="use 市, 区县, 街道 or 社区 (city, county, street, community)",
        )
    if "name" in gdf:
        names = gdf["name"].astype(str)
    elif {"district", "city"} <= set(gdf.columns):
        names = gdf["district"].where(gdf["district"].notna(), gdf["city"]).astype(str)
    else:
        raise InputError("no 'name' column", source=source, fix="add a name column")
    return gpd.GeoDataFrame(
        {"name": names.values, "level": levels.values}, geometry=gdf.geometry.values, crs=gdf.crs
    )


# --------------------------------------------------------------------------- elderly-care facilities

#: Facility types as written in registers (Chinese and English) -> the canonical Chinese type.
FACILITY_TYPE_ALIASES: dict[str, tuple[str, ...]] = {
    "社区养老服务站": (
        "社区养老服务站",
        "养老服务站",
        "居家养老服务站",
        "社区居家养老服务站",
        "community elderly service station",
        "elderly service station",
        "service station",
        "station",
    ),
    "老年人日间照料中心": (
        "老年人日间照料中心",
        "日间照料中心",
        "托老所",
        "day care centre",
        "day care center",
        "day-care centre",
        "day-care center",
        "daycare",
        "day_care",
    ),
    "养老院": (
        "养老院",
        "敬老院",
        "福利院",
        "老年公寓",
        "养老机构",
        "nursing home",
        "care home",
        "elderly home",
        "nursing_home",
    ),
}

_FACILITY_HEADERS: dict[str, tuple[str, ...]] = {
    "facility_id": ("facility_id", "id", "osm_id", "编号", "设施编号"),
    "name": ("name", "facility_name", "名称", "设施名称"),
    "facility_type": ("facility_type", "type", "kind", "类型", "设施类型", "类别"),
    "floor_area_m2": ("floor_area_m2", "floor_area", "area_m2", "建筑面积", "面积", "使用面积"),
}


def facility_type(value: object) -> str:
    """Return the canonical type of a facility type cell (``"day-care centre"`` -> 老年人日间照料中心).

    Unknown types are returned as written (NFKC, stripped) so a city's policy can name them.
    """
    text = normalise_text(value)
    key = re.sub(r"[\s_\-]+", " ", text.lower()).strip()
    for canonical, aliases in FACILITY_TYPE_ALIASES.items():
        if key in {re.sub(r"[\s_\-]+", " ", a.lower()) for a in aliases}:
            return canonical
    return text


def read_facilities(
    path: str | Path,
    *,
    quality: QualityReport,
    layer: str | None = None,
    source_crs: str | None = None,
) -> gpd.GeoDataFrame:
    """Read elderly-care facilities (points or polygons) into canonical columns.

    Headers 名称, 类型 (社区养老服务站 / 老年人日间照料中心 / 养老院), 建筑面积m2 or English
    (``name, type, floor_area_m2``); see :func:`canonical_facilities`.

    Raises
    ------
    InputError
        See :func:`read_vector`; also when the layer has no type column or no usable feature.
    """
    source = Path(path).name
    raw = read_vector(path, layer=layer, quality=quality, source_crs=source_crs)
    return canonical_facilities(raw, source=source, quality=quality)


def _points_or_polygons(
    raw: gpd.GeoDataFrame, source: str, quality: QualityReport, what: str
) -> tuple[np.ndarray, np.ndarray]:
    """2D geometries of a point/polygon layer and the mask of usable ones (others reported).

    Raises
    ------
    InputError
        If no point or polygon is left.
    """
    geoms = shapely.force_2d(raw.geometry.values)
    types = shapely.get_type_id(geoms)
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms)) & np.isin(types, [0, 3, 4, 6])
    for position in np.flatnonzero(~ok):
        quality.add(
            "dropped",
            source,
            f"feature {position + 1}",
            f"{what} without a point or polygon",
            f"give each {what} as a point or polygon",
        )
    if not ok.any():
        raise InputError(
            f"no point or polygon in the {what} layer",
            source=source,
            fix=f"give each {what} as a point or polygon",
        )
    return geoms, ok


#: Headers naming a candidate site (vacant building, land parcel) of a candidate layer.
_SITE_NAME_HEADERS = ("name", "site_name", "名称", "地块名称", "用地名称", "房屋名称", "位置")


def read_candidate_sites(
    path: str | Path,
    *,
    quality: QualityReport,
    layer: str | None = None,
    source_crs: str | None = None,
) -> gpd.GeoDataFrame:
    """Read a layer of candidate sites for shared elderly-care facilities (points or polygons).

    Typically vacant public rooms, buildings to be converted or land parcels a city can offer
    (the Xinyang plan, section 3.3, asks for such spaces to be found and converted). Columns
    returned: ``site_name`` (from 名称 / 地块名称 / name ..., else ``候选点N``), the input columns, and
    the geometry in the file's CRS. Empty, missing and line features are dropped with a report.

    Raises
    ------
    InputError
        See :func:`read_vector`; also when no point or polygon is left.
    """
    source = Path(path).name
    raw = read_vector(path, layer=layer, quality=quality, source_crs=source_crs)
    geoms, ok = _points_or_polygons(raw, source, quality, "candidate site")
    kept = pd.DataFrame(raw.loc[ok].drop(columns=raw.geometry.name))
    wanted = {normalise_header(h) for h in _SITE_NAME_HEADERS}
    column = next((c for c in kept.columns if normalise_header(c) in wanted), None)
    names = kept[column].map(normalise_text) if column else pd.Series("", index=kept.index)
    names = [n or f"候选点{i + 1}" for i, n in enumerate(names)]
    kept.insert(0, "site_name", pd.array(names, dtype="string"))
    return gpd.GeoDataFrame(kept, geometry=geoms[ok], crs=raw.crs).reset_index(drop=True)


def canonical_facilities(
    raw: gpd.GeoDataFrame, *, source: str, quality: QualityReport
) -> gpd.GeoDataFrame:
    """Turn a facility layer into columns ``facility_id, name, facility_type, floor_area_m2``.

    Pure (no file access). ``facility_type`` is canonical Chinese (:func:`facility_type`);
    ``floor_area_m2`` (Float64, m²) is ``<NA>`` where the cell is empty or unreadable (reported:
    such a facility adds no floor area). Points and polygons are kept (polygons are placed at a
    point inside them by :mod:`geo.facilities.elderly`); empty and line features are dropped with a report.
    Input columns are kept under their own names.

    Raises
    ------
    InputError
        If no type column is found or no point or polygon is left.
    """
    headers = [c for c in raw.columns if c != raw.geometry.name]
    lookup = {
        normalise_header(a): canonical for canonical, al in _FACILITY_HEADERS.items() for a in al
    }
    mapping: dict[str, str] = {}
    for header in headers:
        canonical = lookup.get(normalise_header(header))
        if canonical and canonical not in mapping.values():
            mapping[header] = canonical
    if "facility_type" not in mapping.values():
        raise InputError(
            "no facility type column",
            source=source,
            fix="add 类型 with 社区养老服务站, 老年人日间照料中心 or 养老院 (or 'type')",
        )
    geoms, ok = _points_or_polygons(raw, source, quality, "facility")
    kept = raw.loc[ok].rename(columns=mapping)
    out = pd.DataFrame(index=kept.index)
    if "facility_id" in kept:
        ids = kept["facility_id"].map(lambda v: "" if pd.isna(v) else _id_text(v))
    else:
        ids = pd.Series([""] * len(kept), index=kept.index)
    ids = pd.Series(
        [i or f"F{n + 1:04d}" for n, i in enumerate(ids)], index=kept.index, dtype=object
    )
    out["facility_id"] = _unique_ids(ids, source, quality).astype("string")
    names = kept["name"] if "name" in kept else pd.Series("", index=kept.index)
    out["name"] = names.map(normalise_text).astype("string")
    out["facility_type"] = kept["facility_type"].map(facility_type).astype("string")
    areas = []
    raw_areas = kept["floor_area_m2"] if "floor_area_m2" in kept else [None] * len(kept)
    for fid, cell in zip(out["facility_id"], raw_areas, strict=True):
        area, note = parse_area(cell)
        if area is None:
            quality.add(
                "warning",
                source,
                f"facility {fid}",
                f"floor area {note or 'missing'}: counted as 0 m²",
                "fill in 建筑面积m2",
            )
        areas.append(pd.NA if area is None else area)
    out["floor_area_m2"] = pd.array(areas, dtype="Float64")
    rest = kept[[c for c in kept.columns if c not in out.columns and c != raw.geometry.name]]
    frame = pd.concat([out, rest], axis=1)
    return gpd.GeoDataFrame(frame, geometry=geoms[ok], crs=raw.crs).reset_index(drop=True)


# --------------------------------------------------------------------------- writing


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success rename it over ``target``.

    On any error (or interruption) the temporary file is removed and ``target`` is untouched, so
    a reader sees either the previous file or the complete new one, never a half-written one.
    The temporary name carries the process id (``.NAME.PID.XXXX.tmp.gpkg``); temporary files left
    by a process that was killed (``kill -9``, power cut) are removed by the next write of the
    same target. The new file is flushed to disk (``fsync``) before the rename.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(target)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{target.stem}.{os.getpid()}.", suffix=f".tmp{target.suffix}", dir=target.parent
    )
    os.close(fd)
    tmp_path = Path(tmp)
    tmp_path.unlink()  # GDAL wants to create the file itself
    try:
        yield tmp_path
        if tmp_path.exists():
            with tmp_path.open("rb+") as handle:
                os.fsync(handle.fileno())
        tmp_path.replace(target)
    finally:
        for leftover in target.parent.glob(f"{tmp_path.name}*"):
            leftover.unlink(missing_ok=True)


def remove_stale_temporaries(target: str | Path) -> list[Path]:
    """Remove the temporary files of ``target`` left by processes that no longer run.

    Returns the paths removed. Files of a process that is still running are kept.
    """
    target = Path(target)
    removed = []
    for candidate in target.parent.glob(f".{target.stem}.*.tmp{target.suffix}*"):
        pid_text = candidate.name[len(target.stem) + 2 :].split(".", 1)[0]
        if not pid_text.isdigit() or _process_alive(int(pid_text)):
            continue
        candidate.unlink(missing_ok=True)
        removed.append(candidate)
    return removed


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def write_layers(target: str | Path, layers: Mapping[str, pd.DataFrame]) -> Path:
    """Write layers (GeoDataFrames) and tables (DataFrames) to one GeoPackage, atomically.

    Each GeoDataFrame keeps its CRS (stated in the GeoPackage). Columns of pandas extension
    types are written as their plain equivalents. Returns the target path.
    """
    target = Path(target)
    with atomic_path(target) as tmp:
        for name, frame in layers.items():
            pyogrio.write_dataframe(_plain(frame), tmp, layer=name, driver="GPKG")
    return target


def write_xlsx(target: str | Path, tables: Mapping[str, pd.DataFrame]) -> Path:
    """Write tables (geometry columns dropped) to one XLSX workbook, one sheet each, atomically.

    Sheet names are cut to Excel's 31 characters; extension types are written as plain values.
    Returns the target path.
    """
    target = Path(target)
    with atomic_path(target) as tmp, pd.ExcelWriter(tmp, engine="openpyxl") as writer:
        for name, frame in tables.items():
            plain = _plain(pd.DataFrame(frame))
            geometry = [
                c for c in plain.columns if isinstance(plain[c].dtype, gpd.array.GeometryDtype)
            ]
            plain.drop(columns=geometry).to_excel(writer, sheet_name=str(name)[:31], index=False)
    return target


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        if isinstance(out[column].dtype, gpd.array.GeometryDtype):
            continue
        dtype = out[column].dtype
        if isinstance(dtype, pd.BooleanDtype | pd.StringDtype) or dtype is np.dtype(object):
            out[column] = out[column].astype(object).where(out[column].notna(), None)
        elif isinstance(dtype, pd.Int64Dtype | pd.Float64Dtype):
            out[column] = (
                out[column].astype("float64")
                if isinstance(dtype, pd.Float64Dtype) or out[column].isna().any()
                else out[column].astype("int64")
            )
    return out


# --------------------------------------------------------------------------- uploads

#: Limits for an uploaded archive (a zipped Shapefile of a whole city is tens of MB).
UPLOAD_MAX_BYTES = 200 * 1024 * 1024
UNZIP_MAX_BYTES = 1024 * 1024 * 1024
UNZIP_MAX_MEMBERS = 2000
UNZIP_MAX_RATIO = 200  # uncompressed / compressed size of one member; more is a zip bomb
_DATASET_SUFFIXES = (".shp", ".gpkg", ".geojson", ".json", ".fgb", ".kml", ".gml")


def _safe_upload_name(name: str) -> str:
    base = Path(str(name).replace("\\", "/")).name.strip()
    base = "".join(ch for ch in base if ch.isprintable() and ch not in '<>:"|?*')
    if not base or base in (".", ".."):
        raise InputError("the upload has no file name", source=str(name), fix="upload a file")
    return base


def stage_upload(
    name: str,
    data: bytes,
    dest_dir: str | Path,
    *,
    max_bytes: int = UPLOAD_MAX_BYTES,
    max_unpacked_bytes: int = UNZIP_MAX_BYTES,
    max_members: int = UNZIP_MAX_MEMBERS,
    allow_sidecars: bool = False,
) -> Path:
    """Save an uploaded file into ``dest_dir`` safely and return the path to read it from.

    The file name is reduced to its last component (no folders, no ``..``). A ``.zip`` is
    unpacked into its own sub-folder with protection against path traversal (zip slip: absolute
    names, ``..``), symbolic links, too many members and zip bombs (total size and per-member
    compression ratio checked while copying, not trusted from the header); the path returned is
    the one dataset inside (``.shp``, ``.gpkg``, ``.geojson``, ...; the first ``.shp`` when there
    are several).

    Parameters
    ----------
    name
        The upload's file name as the browser sent it (untrusted).
    data
        The file's bytes.
    dest_dir
        An existing folder owned by the caller (e.g. a ``tempfile.TemporaryDirectory``).
    allow_sidecars
        Accept the parts of a Shapefile other than ``.shp`` (``.shx``, ``.dbf``, ``.prj``,
        ``.cpg``, ...): see :func:`stage_uploads`.

    Raises
    ------
    InputError
        For an unsupported type, an empty or too large file, a corrupt or unsafe archive, or an
        archive with no dataset.
    """
    safe = _safe_upload_name(name)
    suffix = Path(safe).suffix.lower()
    allowed = VECTOR_SUFFIXES + TABLE_SUFFIXES + (SHAPEFILE_SIDECARS if allow_sidecars else ())
    if suffix not in allowed:
        raise InputError(
            f"unsupported file type {suffix or '(none)'!r}",
            source=safe,
            fix="upload a zipped Shapefile (.zip), GeoPackage (.gpkg), GeoJSON, or a CSV/XLSX table",
        )
    if not data:
        raise InputError("the file is empty (0 bytes)", source=safe, fix="export it again")
    if len(data) > max_bytes:
        raise InputError(
            f"the file is larger than {max_bytes // (1024 * 1024)} MB",
            source=safe,
            fix="clip it to the study area",
        )
    dest = Path(dest_dir)
    target = dest / safe
    with target.open("xb") as handle:  # exclusive: never follows or overwrites an existing file
        handle.write(data)
    if suffix != ".zip":
        return target
    return _unpack_zip(
        target, dest / f"{Path(safe).stem}_unzipped", max_unpacked_bytes, max_members
    )


#: The parts of a Shapefile besides ``.shp`` that a planner may select with it in the browser.
SHAPEFILE_SIDECARS = (".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx", ".xml")


def stage_uploads(
    files: Sequence[tuple[str, bytes]],
    dest_dir: str | Path,
    *,
    max_bytes: int = UPLOAD_MAX_BYTES,
) -> list[Path]:
    """Save several uploaded files into ``dest_dir`` and return the datasets to read.

    The planner may select the parts of a Shapefile together (``a.shp``, ``a.shx``, ``a.dbf``,
    ``a.prj``, ``a.cpg``) as well as single-file datasets (GeoPackage, GeoJSON, zipped Shapefile,
    CSV/XLSX). Each file goes through :func:`stage_upload` (name, type, size and archive checks);
    ``max_bytes`` bounds each file and their total.

    Returns
    -------
    list of Path
        One path per dataset, in upload order (a Shapefile once, by its ``.shp``).

    Raises
    ------
    InputError
        Everything :func:`stage_upload` raises; two files of the same name; Shapefile parts
        without their ``.shp``; nothing but Shapefile parts.
    """
    total = sum(len(data) for _, data in files)
    if total > max_bytes:
        raise InputError(
            f"the files are larger than {max_bytes // (1024 * 1024)} MB together",
            source=", ".join(name for name, _ in files)[:120],
            fix="clip them to the study area",
        )
    names = [_safe_upload_name(name) for name, _ in files]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InputError(
            "the same file name was uploaded twice",
            source=repeated[0],
            fix="upload each file once",
        )
    datasets: list[Path] = []
    sidecars: list[Path] = []
    for name, data in files:
        path = stage_upload(name, data, dest_dir, max_bytes=max_bytes, allow_sidecars=True)
        (sidecars if path.suffix.lower() in SHAPEFILE_SIDECARS else datasets).append(path)
    shp_stems = {p.stem.lower() for p in datasets if p.suffix.lower() == ".shp"}
    for part in sidecars:
        stem = part.name.lower().split(".")[0]
        if stem not in shp_stems:
            raise InputError(
                f"a Shapefile part ({part.suffix}) was uploaded without its .shp",
                source=part.name,
                fix="select all parts of the Shapefile together (.shp, .shx, .dbf, .prj, .cpg) "
                "or upload them as one .zip",
            )
    if not datasets:
        raise InputError("no file was uploaded", fix="choose a file")
    return datasets


def layer_names(path: str | Path) -> list[str]:
    """Return the names of the layers in a vector file (a GeoPackage may hold several).

    Raises
    ------
    InputError
        If the file cannot be opened as a vector dataset.
    """
    path = Path(str(path).split("::")[0])
    _check_input_file(path)
    gdal_path = f"/vsizip/{path}" if path.suffix.lower() == ".zip" else str(path)
    try:
        return [str(name) for name, _ in pyogrio.list_layers(gdal_path)]
    except Exception as exc:  # GDAL raises several types for unreadable files
        raise InputError(
            f"cannot open the file ({_short(exc)})",
            source=path.name,
            fix="check that it is a complete GeoPackage, Shapefile or GeoJSON file",
        ) from exc


def _unpack_zip(archive: Path, folder: Path, max_total: int, max_members: int) -> Path:
    import zipfile

    source = archive.name
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(
            "not a readable zip archive", source=source, fix="zip the Shapefile's files again"
        ) from exc
    with zf:
        members = [m for m in zf.infolist() if not m.is_dir()]
        # the same checks as reading a zip in place (names, links, sizes from the directory) ...
        _archive.check_members(
            [_archive.member_of(m) for m in zf.infolist()],
            source=source,
            archive_bytes=archive.stat().st_size,
            max_expanded_bytes=max_total,
        )
        if len(members) > max_members:
            raise InputError(
                f"the archive has {len(members)} files (at most {max_members})",
                source=source,
                fix="zip only the layer's files",
            )
        folder.mkdir()
        root = folder.resolve()
        total = 0
        written: list[Path] = []
        for member in members:
            # ... and, as the directory may lie, sizes counted and paths resolved while copying
            parts = Path(member.filename.replace("\\", "/")).parts
            out = (root / Path(*parts)).resolve()
            if not out.is_relative_to(root):
                raise InputError(
                    "an entry would be written outside the upload folder",
                    source=source,
                    where=f"entry {member.filename!r}",
                    fix="zip only the Shapefile's own files, side by side, without folders or links",
                )
            if "__MACOSX" in parts:
                continue
            out.parent.mkdir(parents=True, exist_ok=True)
            limit = max(member.compress_size, 1) * UNZIP_MAX_RATIO
            size = 0
            try:
                with zf.open(member) as src, out.open("xb") as dst:
                    while chunk := src.read(1 << 20):
                        size += len(chunk)
                        total += len(chunk)
                        if total > max_total or (size > limit and size > 1 << 20):
                            raise InputError(
                                "the archive unpacks to too much data (zip bomb?)",
                                source=source,
                                fix=f"keep the unpacked layer under {max_total // (1 << 20)} MB",
                            )
                        dst.write(chunk)
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise InputError(
                    f"corrupt archive member {member.filename!r} ({_short(exc)})",
                    source=source,
                    fix="zip the files again",
                ) from exc
            written.append(out)
    datasets = [p for p in written if p.suffix.lower() in _DATASET_SUFFIXES]
    datasets.sort(key=lambda p: (p.suffix.lower() != ".shp", len(p.parts), str(p)))
    if not datasets:
        raise InputError(
            "the archive holds no .shp, .gpkg or .geojson",
            source=source,
            fix="zip the Shapefile's .shp, .shx, .dbf and .prj together",
        )
    return datasets[0]


def write_csv(target: str | Path, frame: pd.DataFrame) -> Path:
    """Write ``frame`` as UTF-8 CSV with a BOM (so Excel shows Chinese text), atomically."""
    target = Path(target)
    with atomic_path(target) as tmp:
        frame.to_csv(tmp, index=False, encoding="utf-8-sig")
    return target


def read_results(path: str | Path) -> dict[str, pd.DataFrame]:
    """Read the layers and tables of a results GeoPackage written by ``lianpian plan``.

    Returns ``{layer name: frame}`` (GeoDataFrames for spatial layers, in their stored CRS).

    Raises
    ------
    InputError
        If the file is missing or has no ``estates`` layer.
    """
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", source=str(path), fix="check the path")
    try:
        names = [str(n) for n, _ in pyogrio.list_layers(path)]
        layers = {name: pyogrio.read_dataframe(path, layer=name) for name in names}
    except Exception as exc:  # GDAL raises several types for unreadable files
        raise InputError(
            f"cannot read the results ({_short(exc)})",
            source=path.name,
            fix="give the GeoPackage written by lianpian plan",
        ) from exc
    if "estates" not in layers:
        raise InputError(
            "no 'estates' layer",
            source=path.name,
            fix="give the GeoPackage written by lianpian plan",
        )
    for frame in layers.values():
        _restore_types(frame)
    return layers


_INT_COLUMNS = {
    "build_year",
    "build_year_latest",
    "households",
    "buildings",
    "plan_year",
    "plan_row",
    "priority_rank",
    "estates",
}
_TEXT_COLUMNS = {"estate_id", "district_id", "name", "county", "status", "matched_estate_id"}


def _restore_types(frame: pd.DataFrame) -> None:
    """Undo what a GeoPackage does to pandas types (in place).

    Booleans come back as 'True'/'False' text, whole numbers with gaps as floats, ids as numbers.
    """
    for column in frame.columns:
        values = frame[column]
        if column in _TEXT_COLUMNS:
            frame[column] = values.map(
                lambda v: pd.NA if v is None or (isinstance(v, float) and v != v) else _id_text(v)
            ).astype("string")
            continue
        if column in _INT_COLUMNS and pd.api.types.is_numeric_dtype(values):
            frame[column] = values.astype("Float64").round(0).astype("Int64")
            continue
        if pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values):
            present = set(values.dropna().astype(str).unique())
            if present and present <= {"True", "False"}:
                frame[column] = values.map(
                    lambda v: pd.NA if v is None or pd.isna(v) else str(v) == "True"
                ).astype("boolean")
