"""Reading vector layers (pyogrio/GDAL): layer choice, the Arrow or plain read, CRS settling.

:func:`read_vector` is the one entry to GDAL for inputs; the checks of its geometry by kind
(polygons, lines, boundaries) are :mod:`geo.io.shapes`. Estates and facility layers build on
these (:mod:`geo.io.estates`, :mod:`geo.io.facility_layers`).
May import: geo.core, geo.io.files, geopandas, pyogrio, shapely, pyproj.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyogrio
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from geo.core import crs as crs_mod
from geo.core.errors import InputError, QualityReport
from geo.core.messages import msg
from geo.io.files import _check_input_file, _shapefile_encoding, _short, library_warnings


def _pick_layer(
    path: str, layer: str | None, source: str, quality: QualityReport | None
) -> str | None:
    try:
        with library_warnings(source, quality):
            layers = pyogrio.list_layers(path)
    except Exception as exc:  # GDAL raises several types for unreadable files
        raise InputError(
            msg("cannot open the file ({detail})", detail=_short(exc)),
            source=source,
            fix="check that it is a complete GeoPackage, Shapefile (.shp with .shx and .dbf), "
            "GeoJSON or FlatGeobuf file",
        ) from exc
    names = [str(n) for n, _ in layers]
    if layer is not None:
        if layer not in names:
            raise InputError(
                msg("no layer {layer!r}", layer=layer),
                source=source,
                fix=msg("choose one of: {names}", names=", ".join(names)),
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
            msg("layer {chosen}", chosen=chosen),
            msg(
                "the file has {n_names} layers; read {chosen!r}", n_names=len(names), chosen=chosen
            ),
            "name the layer if another was meant",
        )
    return chosen


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
    if path.suffix.lower() == ".gpkg" and chosen is not None:
        _refuse_view(path, chosen, source)
    encoding = _shapefile_encoding(path) if path.suffix.lower() == ".shp" else None
    if path.suffix.lower() == ".shp":
        _check_shapefile_counts(path, source, quality)
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
            gdf = None
            if encoding is None and _arrow_gives_the_same(gdal_path, chosen):
                gdf = _read_batches(gdal_path, chosen)
            if gdf is None:  # feature by feature
                gdf = pyogrio.read_dataframe(
                    gdal_path, layer=chosen, encoding=encoding, on_invalid="ignore"
                )
    except Exception as exc:  # pyogrio/GDAL raise many types for broken files
        raise InputError(
            msg("cannot read the layer ({detail})", detail=_short(exc)),
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


#: Drivers whose layers pyogrio reads through Arrow (GDAL's column batches) as it reads them
#: feature by feature, when every field is of a plain type (:func:`_arrow_gives_the_same`).
_ARROW_DRIVERS = frozenset({"GPKG"})
_ARROW_FIELD_TYPES = frozenset({"OFTInteger", "OFTInteger64", "OFTReal", "OFTString"})


def _arrow_gives_the_same(gdal_path: str, layer: str | None) -> bool:
    """Whether reading the layer through Arrow gives the very frame the plain read gives.

    The Arrow read takes 30-60 % less CPU (issue 20: 220,000 tiled estates, their water and
    roads: 3.0 -> 2.0 s); it is used for GeoPackage layers with features whose
    fields are all integers, reals or plain text (no date, boolean, JSON or list field, which
    the two reads turn into different columns). Anything else, or a layer GDAL cannot describe,
    is read feature by feature.
    """
    try:
        info = pyogrio.read_info(gdal_path, layer=layer)
    except Exception:  # the plain read reports what is wrong with the file
        return False
    return (
        info.get("driver") in _ARROW_DRIVERS
        and int(info.get("features") or 0) > 0
        and set(info.get("ogr_types", ["?"])) <= _ARROW_FIELD_TYPES
        and set(info.get("ogr_subtypes", ["?"])) <= {"OFSTNone"}
        and len(info.get("ogr_types", [])) == len(info.get("fields", ()))
    )


def _read_batches(gdal_path: str, layer: str | None) -> gpd.GeoDataFrame | None:
    """The layer read through Arrow, batch by batch: the frame ``pyogrio.read_dataframe`` gives.

    Each batch of GDAL's (65,536 features) has its WKB turned into geometries and its
    attributes copied out before the next is read: whole-layer Arrow reads keep every batch
    alive at once, which leaves the memory they held in holes between the geometries (+200 MB
    resident at 220,000 tiled estates, issue 20). None when a text field has no value at all
    (the plain read makes it an object column, Arrow a text one), or holds bytes that are not
    UTF-8 (GDAL hands them to Arrow unchecked; the plain read refuses the file).
    """
    geometries, parts, count = [], [], 0
    # the system's allocator: Arrow's own pool (mimalloc) keeps what it freed (+50 MB resident
    # at 50,000 tiled estates)
    pool = pa.system_memory_pool()
    with pyogrio.open_arrow(gdal_path, layer=layer, use_pyarrow=True) as (meta, reader):
        name = meta["geometry_name"] or "wkb_geometry"
        for batch in reader:
            wkb = batch.column(batch.schema.get_field_index(name))
            geometries.append(
                shapely.from_wkb(wkb.to_numpy(zero_copy_only=False), on_invalid="ignore")
            )
            attributes = batch.drop_columns([name])
            # taken: columns of their own, not views into the batch
            rows = pa.array(np.arange(batch.num_rows), memory_pool=pool)
            owned = [pc.take(column, rows, memory_pool=pool) for column in attributes.columns]
            if not _valid_text(owned):
                return None  # the plain read reports the bad bytes, as for any other file
            table = pa.Table.from_arrays(owned, schema=attributes.schema)
            parts.append(table.to_pandas(memory_pool=pool))
            count += batch.num_rows
            del batch, wkb, attributes, owned, table
        crs = meta["crs"]
    frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    if not len(frame.columns):  # geometry only
        frame = pd.DataFrame(index=pd.RangeIndex(count))
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.StringDtype) and frame[column].isna().all():
            return None
    frame["geometry"] = np.concatenate(geometries)
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=crs)


def _valid_text(columns: list[pa.Array]) -> bool:
    """Whether every text column holds valid UTF-8 (a GeoPackage's SQLite text may hold any bytes)."""
    try:
        for column in columns:
            if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
                column.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def _refuse_view(path: Path, layer: str, source: str) -> None:
    """Refuse a GeoPackage layer that is an SQL view.

    Reading a view runs its query, which a file from elsewhere can make take hours (a recursive
    or cross join); a table is read in bounded time.
    """
    import sqlite3

    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            row = connection.execute(
                "SELECT type FROM sqlite_master WHERE name = ?", (layer,)
            ).fetchone()
        finally:
            connection.close()
    except sqlite3.Error:
        return  # GDAL reports what is wrong with the file
    if row is not None and str(row[0]).lower() == "view":
        raise InputError(
            msg(
                "the layer {layer!r} is an SQL view, not a table: reading it would run its query",
                layer=layer,
            ),
            source=source,
            fix="save the layer as a table (QGIS: Export > Save Features As... GeoPackage)",
        )


def _check_shapefile_counts(path: Path, source: str, quality: QualityReport | None) -> None:
    """Report a Shapefile whose .shx index and .dbf table disagree on the number of features.

    GDAL reads as many features as the .dbf has rows: shapes beyond them are silently lost (and
    rows beyond the shapes have no geometry). The counts come from the headers: .shx is 100 bytes
    plus 8 per shape, .dbf stores its record count at byte 4.
    """
    shx = next(
        (p for p in (path.with_suffix(".shx"), path.with_suffix(".SHX")) if p.exists()), None
    )
    dbf = next(
        (p for p in (path.with_suffix(".dbf"), path.with_suffix(".DBF")) if p.exists()), None
    )
    if shx is None or dbf is None or quality is None:
        return
    shapes = max(0, (shx.stat().st_size - 100) // 8)
    with dbf.open("rb") as handle:
        head = handle.read(8)
    rows = int.from_bytes(head[4:8], "little") if len(head) == 8 else shapes
    if shapes != rows:
        lost = (
            msg("shapes without a .dbf row were not read")
            if shapes > rows
            else msg("rows without a shape have no geometry")
        )
        quality.add(
            "warning",
            source,
            msg("{shapes} shapes, {rows} rows", shapes=shapes, rows=rows),
            msg(
                "the .shp has {shapes} shapes but the .dbf {rows} rows: {lost}",
                shapes=shapes,
                rows=rows,
                lost=lost,
            ),
            "export the Shapefile again from the GIS (the .shp, .shx and .dbf must come from "
            "one export)",
        )


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
            msg("{has_z_sum} features", has_z_sum=int(has_z.sum())),
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
                msg(
                    "declared {declared} but the file is in a projected CRS",
                    declared=declared.upper(),
                ),
                source=source,
                fix="GCJ-02/BD-09 data are longitude/latitude degrees",
            )
        gdf = gdf.set_crs(crs_mod.WGS84, allow_override=True)
        _check_geographic_range(gdf, source)
        convert = crs_mod.gcj02_to_wgs84 if declared == "gcj02" else crs_mod.bd09_to_wgs84
        if quality is not None:
            quality.add(
                "repair",
                source,
                "geometry",
                msg("converted from {declared} to WGS-84", declared=declared.upper()),
            )
        return convert(gdf)
    if declared is not None:
        try:
            user_crs = CRS.from_user_input(source_crs)
        except CRSError as exc:
            raise InputError(
                msg("unknown CRS {source_crs!r}", source_crs=source_crs),
                source=source,
                fix="use an EPSG code such as EPSG:4490, or gcj02 / bd09",
            ) from exc
        if gdf.crs is not None and CRS.from_user_input(gdf.crs) != user_crs and quality is not None:
            quality.add(
                "warning",
                source,
                "CRS",
                msg(
                    "file says {gdf_crs}, declared {user_crs} used",
                    gdf_crs=gdf.crs.to_string(),
                    user_crs=user_crs.to_string(),
                ),
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
    else:
        _note_projection(gdf, source, quality)
    return gdf


def _check_geographic_range(gdf: gpd.GeoDataFrame, source: str) -> None:
    """Refuse degrees that cannot be: metres labelled as degrees, swapped lat/lon, the poles."""
    geoms = gdf.geometry.values
    coords = shapely.get_coordinates(geoms[~shapely.is_missing(geoms)])
    finite = coords[np.isfinite(coords).all(axis=1)]
    if not len(finite):
        return
    x, y = np.abs(finite[:, 0]), np.abs(finite[:, 1])
    if x.max() <= 90 and 90 < y.max() <= 180:
        raise InputError(
            msg(
                "latitude and longitude look swapped (x up to {x_max:.2f}, y up to {y_max:.2f}: "
                "a longitude cannot be read as latitude)",
                x_max=x.max(),
                y_max=y.max(),
            ),
            source=source,
            fix="export the layer with longitude as x (east) and latitude as y (north)",
        )
    if x.max() > 180 or y.max() > 90:
        raise InputError(
            msg(
                "coordinates up to {finite_max:.0f} do not fit the geographic CRS {gdf_crs} (a "
                "projected layer labelled as degrees?)",
                finite_max=np.abs(finite).max(),
                gdf_crs=gdf.crs.to_string(),
            ),
            source=source,
            fix="declare the real CRS with --source-crs, e.g. EPSG:4549",
        )
    if float(np.median(y)) > 84:
        raise InputError(
            msg(
                "the features lie near the pole (latitude {median_y:.1f}): latitude and "
                "longitude swapped?",
                median_y=float(np.median(y)),
            ),
            source=source,
            fix="export the layer with longitude as x (east) and latitude as y (north)",
        )


def _note_projection(gdf: gpd.GeoDataFrame, source: str, quality: QualityReport | None) -> None:
    """Report a projected CRS that does not measure true metres here (Web Mercator, a far zone)."""
    crs = CRS.from_user_input(gdf.crs)
    if quality is None or not crs.is_projected or gdf.empty:
        return
    geoms = gdf.geometry.values
    # missing and empty features have NaN bounds, which the total leaves out: the extent of
    # the present ones, without finding them first unless some bounds are NaN anyway
    bounds = shapely.total_bounds(geoms)
    if np.isnan(bounds).any():
        present = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
        if not len(present):
            return
        bounds = shapely.total_bounds(present)
    try:
        outline = gpd.GeoSeries([shapely.box(*bounds)], crs=crs)
        minx, _, maxx, _ = outline.to_crs(crs_mod.WGS84).total_bounds
    except Exception:
        return
    if not crs_mod.is_local_metric(crs, (minx + maxx) / 2):
        quality.add(
            "repair",
            source,
            "CRS",
            msg(
                "{name} ({crs}) does not measure true metres here: the layer is reprojected to "
                "the run's Gauss-Krüger (or UTM) zone before any distance or area",
                name=crs.name,
                crs=crs.to_string(),
            ),
            "nothing to do; deliver layers in the local CGCS2000 Gauss-Krüger zone",
        )
