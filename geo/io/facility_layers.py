"""Elderly-care facility and candidate-site layers (points or polygons) into canonical columns.

Holds the facility type aliases, :func:`read_facilities`, :func:`canonical_facilities` and
:func:`read_candidate_sites`.
May import: geo.core, geo.io.files, geo.io.vector, geo.io.estates (id repair), geopandas, shapely.
"""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.core.errors import InputError, QualityReport
from geo.core.messages import msg
from geo.core.names import normalise_header, normalise_text
from geo.core.schema import parse_area
from geo.io.estates import _unique_ids
from geo.io.files import _id_text
from geo.io.vector import read_vector

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
            msg("feature {position}", position=position + 1),
            msg("{what} without a point or polygon", what=what),
            msg("give each {what} as a point or polygon", what=what),
        )
    if not ok.any():
        raise InputError(
            msg("no point or polygon in the {what} layer", what=what),
            source=source,
            fix=msg("give each {what} as a point or polygon", what=what),
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
    geoms, ok = _points_or_polygons(raw, source, quality, msg("candidate site"))
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
    geoms, ok = _points_or_polygons(raw, source, quality, msg("facility"))
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
                msg("facility {fid}", fid=fid),
                msg("floor area {note}: counted as 0 m²", note=note or msg("missing")),
                "fill in 建筑面积m2",
            )
        areas.append(pd.NA if area is None else area)
    out["floor_area_m2"] = pd.array(areas, dtype="Float64")
    rest = kept[[c for c in kept.columns if c not in out.columns and c != raw.geometry.name]]
    frame = pd.concat([out, rest], axis=1)
    return gpd.GeoDataFrame(frame, geometry=geoms[ok], crs=raw.crs).reset_index(drop=True)
