"""The geometry of a layer checked by kind: footprints (polygons), barriers and roads, boundaries.

:func:`clean_polygons` is the one repair of footprints (estates, facilities, boundaries);
:func:`read_lines_or_polygons` reads barrier and road layers, :func:`read_boundaries`
administrative units. Every drop and repair is reported in a
:class:`geo.core.errors.QualityReport`. Validity (GEOS's noding of every outline, the costly
check) is spread over the cores (:func:`geo.core._machine.in_threads`).
May import: geo.core, geo.io.vector, geopandas, shapely, numpy, pandas.
"""

from __future__ import annotations

from concurrent.futures import Executor, Future
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.core._machine import in_threads
from geo.core.errors import InputError, QualityReport
from geo.core.messages import msg
from geo.io.vector import read_vector

_POLYGONAL = ("Polygon", "MultiPolygon")


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
    types = shapely.get_type_id(geoms)
    polygonal = np.isin(types, [3, 6])  # Polygon, MultiPolygon
    collection = types == 7
    valid = _is_valid(geoms)
    # GEOS finds a polygon or collection with a NaN or infinite coordinate invalid: only the
    # others' vertices are looked at (issue 20: not the 2.6 million of 220,000 valid estates)
    unsure = np.flatnonzero(keep & ~(valid & (polygonal | collection)))
    finite = np.ones(len(geoms), dtype=bool)
    coords, owner = shapely.get_coordinates(geoms[unsure], return_index=True)
    finite[unsure[owner[~np.isfinite(coords).all(axis=1)]]] = False
    for label in labels[keep & ~finite]:
        quality.add(
            "dropped", source, str(label), "NaN or infinite coordinates", "fix the vertices"
        )
    keep &= finite
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
    invalid = keep & ~valid
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


#: Fewest features per thread when checking validity in threads (a few milliseconds of GEOS).
_MIN_FEATURES_PER_THREAD = 2000


def _is_valid(geoms: np.ndarray) -> np.ndarray:
    """``shapely.is_valid(geoms)``, spread over the cores (GEOS releases the GIL).

    Validity is GEOS's noding of every outline: 1.5 s of CPU for the 14.8 million vertices of
    the water of 220,000 tiled estates (issue 20), half of it in wall time on two cores.
    """
    return in_threads(shapely.is_valid, np.asarray(geoms), min_per_thread=_MIN_FEATURES_PER_THREAD)


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

    Invalid geometries are repaired (``make_valid``).

    Raises
    ------
    InputError
        See :func:`read_vector`; also when the layer has no line or polygon.
    """
    return start_lines_or_polygons(
        path, quality=quality, layer=layer, source_crs=source_crs
    ).result()


class LinesOrPolygons:
    """A barrier or road layer read, whose geometry's validity is being checked.

    Made by :func:`start_lines_or_polygons`; :meth:`result` is what
    :func:`read_lines_or_polygons` returns.
    """

    def __init__(self, frame: gpd.GeoDataFrame, kept: np.ndarray, valid: Future | np.ndarray):
        self._frame, self._kept, self._valid = frame, kept, valid

    def result(self) -> gpd.GeoDataFrame:
        """The layer, invalid geometries repaired (waits for the validity check)."""
        valid = self._valid.result() if isinstance(self._valid, Future) else self._valid
        kept, gdf = self._kept, self._frame
        invalid = ~valid  # make_valid returns valid geometries unchanged
        if invalid.any():
            kept = kept.copy()
            kept[invalid] = shapely.make_valid(kept[invalid])
        gdf = gdf.set_geometry(gpd.GeoSeries(kept, index=gdf.index, crs=gdf.crs))
        return gdf.reset_index(drop=True)


def start_lines_or_polygons(
    path: str | Path,
    *,
    quality: QualityReport,
    layer: str | None = None,
    source_crs: str | None = None,
    background: Executor | None = None,
) -> LinesOrPolygons:
    """Read a barrier or road layer as :func:`read_lines_or_polygons`, its validity left running.

    The file is read, and its points and empty features dropped, here; the validity check
    (GEOS's noding of every outline: 1.5 s of CPU for the water of 220,000 tiled estates) runs
    on ``background`` when given, so the caller reads its other inputs meanwhile (issue 20).
    Notes are added to ``quality`` here, never in the background.

    Raises
    ------
    InputError
        As :func:`read_lines_or_polygons`.
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
    gdf = gdf if ok.all() else gdf.loc[ok]  # no copy: a new frame is made by result()
    kept = np.asarray(geoms[ok])
    valid = background.submit(_is_valid, kept) if background is not None else _is_valid(kept)
    return LinesOrPolygons(gdf, kept, valid)


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
