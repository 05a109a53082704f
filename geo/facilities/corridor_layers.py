"""Input layers of the corridor planning, prepared once per run (:mod:`geo.facilities.corridors`).

Holds the utility names a mains layer may use (:data:`UTILITY_ALIASES`, :func:`utilities_of`), the
run's prepared layers (:class:`_Context`: roads filtered by class and indexed, mains per utility,
building footprints indexed; all projected to the estates' CRS; memoised by content for the app),
and the utility groups that share connection points (:class:`_Group`).

May import: numpy, pandas, geopandas, shapely, pyproj and geo.core. Nothing of geo.facilities.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from geo.core import _memo
from geo.core._memo import Memo, digest
from geo.core.errors import InputError
from geo.core.extent import near_rows
from geo.core.messages import msg
from geo.core.names import normalise_text
from geo.core.policy import UTILITIES, Policy

#: Utility names accepted in a mains layer's ``utility`` column (Chinese and English).
UTILITY_ALIASES: dict[str, tuple[str, ...]] = {
    "water": ("water",),
    "给水": ("water",),
    "供水": ("water",),
    "自来水": ("water",),
    "rain": ("rain",),
    "stormwater": ("rain",),
    "storm": ("rain",),
    "雨水": ("rain",),
    "sewage": ("sewage",),
    "sewer": ("sewage",),
    "污水": ("sewage",),
    "drainage": ("rain", "sewage"),
    "排水": ("rain", "sewage"),
    "gas": ("gas",),
    "燃气": ("gas",),
    "天然气": ("gas",),
    "煤气": ("gas",),
    "power": ("power",),
    "electricity": ("power",),
    "电力": ("power",),
    "供电": ("power",),
    "telecom": ("telecom",),
    "communication": ("telecom",),
    "通信": ("telecom",),
    "电信": ("telecom",),
    "弱电": ("telecom",),
}
_UTILITY_COLUMNS = ("utility", "utilities", "type", "管线类型", "管线", "类型", "专业")


def utilities_of(value: object) -> tuple[str, ...]:
    """Return the utilities named by a mains layer value (``给水``, ``排水``, ``gas;power``...).

    ``排水``/``drainage`` means both rain and sewage; several names may be joined by ``,;、/``.

    Raises
    ------
    ValueError
        For a name that is not a utility (the message lists the accepted names).
    """
    text = normalise_text(str(value)).lower()
    out: list[str] = []
    for part in (p.strip() for p in _split_names(text)):
        if not part:
            continue
        if part not in UTILITY_ALIASES:
            raise ValueError(
                msg(
                    "unknown utility {part!r}; use one of {names}",
                    part=part,
                    names=", ".join(UTILITY_ALIASES),
                )
            )
        out.extend(u for u in UTILITY_ALIASES[part] if u not in out)
    return tuple(out)


def _split_names(text: str) -> list[str]:
    for sep in ";；、/，":
        text = text.replace(sep, ",")
    return text.split(",")


@dataclass
class _Context:
    """Layers prepared once per run (all in the estates' CRS)."""

    crs: CRS
    policy: Policy
    roads: np.ndarray | None = None
    road_connects: np.ndarray | None = None
    road_tree: shapely.STRtree | None = None
    mains: dict[str, np.ndarray] = field(default_factory=dict)
    mains_trees: dict[str, shapely.STRtree] = field(default_factory=dict)
    buildings: shapely.STRtree | None = None
    building_geoms: np.ndarray | None = None
    fingerprint: bytes = b""  # of the layers and settings above, for the district memo


@dataclass
class _Group:
    utilities: tuple[str, ...]
    basis: str
    main_lines: np.ndarray | None = None


def _prepare(
    crs: CRS,
    policy: Policy,
    roads: gpd.GeoDataFrame | None,
    mains: gpd.GeoDataFrame | None,
    buildings: gpd.GeoDataFrame | None,
    areas: np.ndarray | None = None,
    reach_m: float = 0.0,
) -> _Context:
    """The run's layers projected to ``crs``, filtered and indexed (memoised when memos are on).

    ``areas``: when given (polygons in ``crs``: the districts), a layer in another CRS keeps only
    its features that can come within ``reach_m`` of one of them, in their order, before it is
    projected (:func:`geo.core.extent.near_rows`): the corridors see the same lines, for less
    projecting. Not with memos on: the prepared layers are then reused for other districts.
    """
    ctx = _Context(crs=crs, policy=policy)
    settings = policy.corridors
    if _memo.enabled():
        areas = None
        ctx.fingerprint = digest(
            CRS.from_user_input(crs).to_wkt(),
            settings,
            policy.adjacency.tolerance_m,  # closes the outline (_segments)
            layers=(roads, mains, buildings),
            columns=("fclass", *_UTILITY_COLUMNS),
        )
        found = _CONTEXTS.get(ctx.fingerprint)
        if found is not None:  # same layers and settings: only the rest of the policy differs
            return replace(found, policy=policy)

    def near(frame: gpd.GeoDataFrame) -> np.ndarray | None:
        if areas is None or not len(areas) or frame.crs is None:
            return None
        return near_rows(frame.geometry.to_numpy(), frame.crs, areas, crs, reach_m)

    if roads is not None and len(roads):
        frame = roads
        if "fclass" in frame:
            frame = frame.loc[~frame["fclass"].isin(settings.excluded_road_classes)]
        keep = near(frame)
        if keep is not None:
            frame = frame.loc[keep]
        geoms = _lines(frame.to_crs(crs).geometry.to_numpy())
        keep = ~shapely.is_empty(geoms)
        ctx.roads = geoms[keep]
        connects = (
            frame["fclass"].isin(settings.connection_road_classes).to_numpy()
            if "fclass" in frame
            else np.ones(len(frame), dtype=bool)
        )
        ctx.road_connects = connects[keep]
        ctx.road_tree = shapely.STRtree(ctx.roads)
    if mains is not None and len(mains):
        served = _served_utilities(mains)  # every row's utilities checked, even far ones
        keep = near(mains)
        if keep is not None:
            mains = mains.loc[keep]
            served = [s for s, k in zip(served, keep.tolist(), strict=True) if k]
        geoms = _lines(mains.to_crs(crs).geometry.to_numpy())
        for utility in settings.utilities:
            picked = np.array([utility in s for s in served], dtype=bool)
            lines = geoms[picked & ~shapely.is_empty(geoms)]
            if len(lines):
                ctx.mains[utility] = lines
                ctx.mains_trees[utility] = shapely.STRtree(lines)
    if buildings is not None and len(buildings):
        keep = near(buildings)
        if keep is not None:
            buildings = buildings.loc[keep]
        geoms = buildings.to_crs(crs).geometry.to_numpy()
        geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
        ctx.building_geoms = geoms
        ctx.buildings = shapely.STRtree(geoms)
    _CONTEXTS.put(ctx.fingerprint, ctx)
    return ctx


def _served_utilities(mains: gpd.GeoDataFrame) -> list[tuple[str, ...]]:
    """The utilities of each main (a blank cell: every utility).

    Raises
    ------
    InputError
        For a name that is not a utility, with its feature number and column.
    """
    column = next((c for c in _UTILITY_COLUMNS if c in mains.columns), None)
    served: list[tuple[str, ...]] = []
    for row, value in enumerate(mains[column] if column else [None] * len(mains)):
        if value is None or pd.isna(value) or not str(value).strip():
            served.append(UTILITIES)
            continue
        try:
            served.append(utilities_of(value))
        except ValueError as exc:
            raise InputError(
                exc.args[0] if exc.args else str(exc),
                source=msg("mains"),
                where=msg("feature {row}, column {column}", row=row + 1, column=column),
            ) from exc
    return served


#: Prepared layers (roads, mains and buildings projected, filtered, indexed) by content: the app
#: re-plans after each policy change with the same layers (``geo.core._memo``, on in the app only).
_CONTEXTS: Memo[_Context] = Memo(4)


def _lines(geoms: np.ndarray) -> np.ndarray:
    """Lines of a layer: polygons as their boundaries, points dropped (empty)."""
    if shapely.has_z(geoms).any():
        geoms = shapely.force_2d(geoms)
    dims = shapely.get_dimensions(geoms)
    out = geoms.copy()
    areas = np.flatnonzero(dims == 2)
    out[areas] = shapely.boundary(geoms[areas])
    out[dims == 0] = shapely.from_wkt("LINESTRING EMPTY")
    return np.where(shapely.is_missing(out), shapely.from_wkt("LINESTRING EMPTY"), out)
