"""Reading vector layers (pyogrio/GDAL): layer choice, CRS settling, polygon cleaning, lines, boundaries.

:func:`read_vector` is the one entry to GDAL for inputs; :func:`clean_polygons` the one repair of
footprints. Estates and facility layers build on these (:mod:`geo.io.estates`,
:mod:`geo.io.facility_layers`).
May import: geo.core, geo.io.files, geopandas, pyogrio, shapely, pyproj.
"""

from __future__ import annotations

import warnings
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
from geo.core.messages import msg
from geo.io.files import _check_input_file, _shapefile_encoding, _short, library_warnings

_POLYGONAL = ("Polygon", "MultiPolygon")


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
            # not through Arrow (use_arrow): the same frame for 20-25 % less CPU, but its columns
            # keep GDAL's record batches alive: +170 MB resident at 50,000 tiled estates (issue 20)
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
    present = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    if not len(present):
        return
    try:
        outline = gpd.GeoSeries([shapely.box(*shapely.total_bounds(present))], crs=crs)
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
    values = gdf.geometry.values
    # a copy (repairs are written into it); force_2d only when there is a Z to drop: it rebuilds
    # every geometry, and read_vector has already dropped Z
    geoms = (
        shapely.force_2d(values)
        if shapely.has_z(values).any()
        else np.array(values, dtype=object, copy=True)
    )
    keep = np.ones(len(gdf), dtype=bool)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    for label in labels[missing]:
        quality.add("dropped", source, str(label), "empty geometry", "draw its outline")
    keep &= ~missing
    finite = np.ones(len(geoms), dtype=bool)
    coords, owner = shapely.get_coordinates(geoms[keep], return_index=True)
    finite[np.flatnonzero(keep)[owner[~np.isfinite(coords).all(axis=1)]]] = False
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
        names = {0: msg("points"), 1: msg("lines"), 2: msg("lines"), 4: msg("points")}
        kind = sorted(
            {names.get(k, msg("lines") if k == 5 else msg("other geometries")) for k in kinds}
        )
        found = kind[0] if len(kind) == 1 else msg("{a} and {b}", a=kind[0], b=kind[1])
        found = msg("{a}, {b} and {c}", a=kind[0], b=kind[1], c=kind[2]) if len(kind) > 2 else found
        raise InputError(
            msg("the layer holds {found}, not polygons", found=found),
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
    gdf = gdf if ok.all() else gdf.loc[ok]  # no copy: a new frame is made below
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
            msg("unknown levels {bad}", bad=bad),
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
