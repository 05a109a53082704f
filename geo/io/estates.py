"""Estate footprints into the canonical estate table (:data:`geo.core.schema.ESTATE_COLUMNS`).

Holds :func:`read_estates` (file -> canonical) and :func:`canonical_estates` (pure), with the id
repair shared by facility layers (:func:`_unique_ids`).
May import: geo.core, geo.io.files, geo.io.vector, geo.io.shapes, geopandas, pandas.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.core.errors import InputError, QualityReport
from geo.core.messages import first_few, msg
from geo.core.schema import ESTATE_COLUMNS, coerce_attributes, map_headers
from geo.io.files import _id_text, max_estates
from geo.io.shapes import _polygonal_part, clean_polygons
from geo.io.vector import read_vector


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
    limit = max_estates()
    if len(raw) > limit:
        raise InputError(
            msg(
                "the layer has {n_raw:,} features, more than the {limit:,} estates one run plans "
                "(about 5 minutes and 7 GB at the limit)",
                n_raw=len(raw),
                limit=limit,
            ),
            source=source,
            fix="plan one city or county at a time (clip the layer), or raise LIANPIAN_MAX_ESTATES",
        )
    if "fclass" in raw.columns and (raw["fclass"] == "residential").any():
        dropped = int((raw["fclass"] != "residential").sum())
        if dropped:
            quality.add(
                "dropped",
                source,
                "fclass",
                msg(
                    "{dropped} non-residential land-use features left out (OSM schema: fclass != "
                    "residential)",
                    dropped=dropped,
                ),
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
    id_type = raw[id_col].dtype if id_col is not None else None
    if isinstance(id_type, np.dtype) and id_type.kind in "iu":  # numpy integers: no gaps
        ids = pd.Series([str(v) for v in raw[id_col].tolist()], index=raw.index)
    elif id_col is not None:
        ids = raw[id_col].map(lambda v: "" if pd.isna(v) else _id_text(v))
    else:
        ids = pd.Series([""] * len(raw), index=raw.index)
    ids = pd.Series([i or f"E{n + 1:05d}" for n, i in enumerate(ids.tolist())], index=raw.index)
    ids = _unique_ids(ids, source, quality)
    cleaned = clean_polygons(
        raw.assign(_lp_id=ids.values), source=source, quality=quality, id_column="_lp_id"
    )
    cleaned = _bound_vertices(cleaned, source, quality)
    _report_duplicate_footprints(cleaned, source, quality)
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


def _unique_ids(ids: pd.Series, source: str, quality: QualityReport) -> pd.Series:
    """``ids`` with each repeat of an id renamed ``id-2``, ``id-3``... in order (reported)."""
    if ids.is_unique:  # the common case: one hashing pass, nothing to rename
        return ids
    seen: dict[str, int] = {}
    out = []
    for value in ids.tolist():
        count = seen.get(value, 0) + 1
        seen[value] = count
        if count > 1:
            new = f"{value}-{count}"
            quality.add(
                "repair",
                source,
                msg("id {value}", value=value),
                msg("duplicate id renamed {new}", new=new),
                "give every estate its own id",
            )
            out.append(new)
        else:
            out.append(value)
    return pd.Series(out, index=ids.index)


def _report_duplicate_footprints(
    cleaned: gpd.GeoDataFrame, source: str, quality: QualityReport
) -> None:
    """Warn about estates drawn with the very same outline (a feature copied, or a layer twice).

    Both are kept (they may be two estates sharing a drawn parcel), but households and
    investment would count twice: the planner decides. Outlines are compared exactly (WKB).
    """
    # identical outlines have identical extents: only estates sharing their extent with another
    # are written out as WKB and compared (in table order, as all of them would be)
    geoms = cleaned.geometry.values
    extents = pd.DataFrame(shapely.bounds(np.asarray(geoms)))
    candidates = np.flatnonzero(extents.duplicated(keep=False).to_numpy())
    if not len(candidates):
        return
    ids = cleaned["_lp_id"].iloc[candidates]
    wkb = pd.Series(shapely.to_wkb(np.asarray(geoms)[candidates], hex=False), index=ids.index)
    repeated = wkb.duplicated(keep=False).to_numpy()
    if not repeated.any():
        return
    for _, group in ids[repeated].groupby(wkb[repeated].to_numpy(), sort=False):
        ids = [str(i) for i in group]
        quality.add(
            "warning",
            source,
            msg("estates {ids}", ids=first_few(ids)),
            msg(
                "{n_ids} estates have the identical footprint: counted {n_ids} times",
                n_ids=len(ids),
            ),
            "delete the duplicate feature, or draw each estate's own outline",
        )


#: Most vertices of one estate outline. Real outlines have tens (Hangzhou's 2,112 OSM estates: at
#: most 87, median 10); a densified export or a GPS trace can have hundreds of thousands, which
#: makes adjacency and corridors take minutes and gigabytes for nothing (benchmarks/bench_trust.py).
MAX_ESTATE_VERTICES = 2_000


def _bound_vertices(
    cleaned: gpd.GeoDataFrame, source: str, quality: QualityReport
) -> gpd.GeoDataFrame:
    """Simplify outlines over :data:`MAX_ESTATE_VERTICES` vertices (topology kept), reported.

    The tolerance starts at 0.1 m and doubles until the outline fits (degrees: 1 m = 1/111,320°).
    """
    geoms = cleaned.geometry.values
    counts = shapely.get_num_coordinates(geoms)
    over = np.flatnonzero(counts > MAX_ESTATE_VERTICES)
    if not len(over):
        return cleaned
    unit = 1 / 111_320 if cleaned.crs is not None and cleaned.crs.is_geographic else 1.0
    geoms = geoms.copy()
    for position in over:
        tolerance_m = 0.1
        simpler = geoms[position]
        while shapely.get_num_coordinates(simpler) > MAX_ESTATE_VERTICES and tolerance_m < 100:
            simpler = shapely.simplify(geoms[position], tolerance_m * unit, preserve_topology=True)
            tolerance_m *= 2
        if not shapely.is_valid(simpler):
            simpler = _polygonal_part(np.array([shapely.make_valid(simpler)], dtype=object))[0]
        quality.add(
            "repair",
            source,
            str(cleaned["_lp_id"].iloc[position]),
            msg(
                "outline of {counts_position:,} vertices simplified to "
                "{get_num_coordinates_simpler:,} (tolerance {tolerance_m:g} m; at most "
                "{MAX_ESTATE_VERTICES:,} are kept)",
                counts_position=counts[position],
                get_num_coordinates_simpler=shapely.get_num_coordinates(simpler),
                tolerance_m=tolerance_m / 2,
                MAX_ESTATE_VERTICES=MAX_ESTATE_VERTICES,
            ),
            "export the outline without densifying it",
        )
        geoms[position] = simpler
    return cleaned.set_geometry(gpd.GeoSeries(geoms, index=cleaned.index, crs=cleaned.crs))
