"""Context layers of the drawings: roads and water around the districts, and where they come from.

A tender's red-line drawing (红线图) shows the district on its streets and water. The plan
GeoPackage does not hold them (they are inputs), so an export takes them, in this order, from
layers ``roads`` / ``water`` of the plan file, from files given to ``lianpian export --roads/--water``
(or by the app from the run's inputs), or from the input files the plan recorded in its
``run_info`` (``source_roads``; ``source_barriers`` for water), looked up as written (relative to
the working folder) and relative to the plan file's folder. A recorded file that is not found
gives a warning in the package, never an error: the drawings are then made without it.

Only features in the exported districts' map windows are kept (the union of the A3 sheets'
windows, :mod:`geo.outputs.sheet`), in the plan's metric CRS, with their ``fclass`` and ``name``
when the file has them.

May import: geo.core, geo.io (readers); no other geo.outputs module.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from geo import io as geo_io
from geo.core.crs import MAIN_ROAD_CLASSES

#: OSM ``fclass`` values of water features that are not water (drawn as barriers elsewhere).
_NOT_WATER = ("rail", "railway", "subway", "tram", "wall", "fence")

#: Road classes drawn as main streets (wider line) in the drawings; others as minor streets.
MAJOR_ROAD_CLASSES = MAIN_ROAD_CLASSES


def resolve_source(item: str, plan_path: Path | None) -> tuple[Path, str | None] | None:
    """Return ``(file, layer)`` of a recorded input (``path`` or ``path::layer``), or None if absent.

    Tries the path as written, then relative to the plan file's folder.
    """
    path_text, _, layer = item.strip().partition("::")
    candidates = [Path(path_text)]
    if plan_path is not None and not Path(path_text).is_absolute():
        candidates.append(plan_path.parent / path_text)
    for candidate in candidates:
        if candidate.is_file():
            return candidate, (layer or None)
    return None


def read_context(
    items: Sequence[str],
    crs: CRS,
    area: shapely.Geometry | None,
    plan_path: Path | None,
    warn: list[str],
    role: str,
) -> gpd.GeoDataFrame | None:
    """Read context files (roads or water) into the plan's CRS, clipped to ``area`` (its bounds).

    Parameters
    ----------
    items
        Files as ``path`` or ``path::layer``.
    crs
        The plan's metric CRS (target).
    area
        Keep features intersecting it (plan CRS); None keeps all.
    plan_path
        The plan file, for paths recorded relative to it.
    warn
        Messages about files not found or unreadable are appended (the export goes on).
    role
        ``"roads"`` or ``"water"``: the label of the messages; water drops rail-like classes.

    Returns
    -------
    GeoDataFrame or None
        Columns ``fclass``, ``name`` (strings, may be empty) and geometry, in ``crs``; None when
        no file was read or nothing lies in the area.
    """
    frames = []
    for item in items:
        if not item.strip():
            continue
        found = resolve_source(item, plan_path)
        if found is None:
            warn.append(
                f"{role} file {item.strip()!r} recorded by the plan was not found: the drawings "
                f"have no {role}; give it with `lianpian export --{role} FILE`"
            )
            continue
        path, layer = found
        try:
            frame = _read(path, layer, crs, area)
        except Exception as exc:
            warn.append(f"{role} file {path.name} could not be read ({exc}): drawings without it")
            continue
        frames.append(_tidy(frame, crs, area, role))
    frames = [f for f in frames if f is not None and len(f)]
    if not frames:
        return None
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=crs)


def _read(
    path: Path, layer: str | None, crs: CRS, area: shapely.Geometry | None
) -> gpd.GeoDataFrame:
    """Read only the features in the bounds of ``area`` (GDAL's spatial filter), and two columns."""
    info = pyogrio.read_info(path, layer=layer)
    if not info.get("crs"):
        return geo_io.read_vector(path, layer=layer)  # settles or refuses a missing CRS
    bbox = None
    if area is not None:
        bounds = gpd.GeoSeries([area], crs=crs).to_crs(info["crs"]).total_bounds
        bbox = tuple(float(v) for v in bounds)
    fields = [str(f) for f in info["fields"]]
    columns = [c for c in ("fclass", "name") if c in fields]
    return pyogrio.read_dataframe(path, layer=layer, bbox=bbox, columns=columns)


def _tidy(
    frame: gpd.GeoDataFrame, crs: CRS, area: shapely.Geometry | None, role: str
) -> gpd.GeoDataFrame | None:
    if frame.crs is None or not len(frame):
        return None
    out = gpd.GeoDataFrame(
        {
            "fclass": _text(frame, "fclass"),
            "name": _text(frame, "name"),
        },
        geometry=frame.geometry.values,
        crs=frame.crs,
    ).to_crs(crs)
    out = out.loc[~out.geometry.is_empty & out.geometry.notna()]
    if role == "water":
        out = out.loc[~out["fclass"].str.lower().isin(_NOT_WATER)]
    if area is not None and len(out):
        out = out.iloc[out.sindex.query(area, predicate="intersects")]
    return out.reset_index(drop=True)


def _text(frame: pd.DataFrame, column: str) -> list[str]:
    if column not in frame:
        return [""] * len(frame)
    return ["" if pd.isna(v) else str(v) for v in frame[column]]


def in_extent(
    frame: gpd.GeoDataFrame | None, bounds: tuple[float, float, float, float]
) -> gpd.GeoDataFrame | None:
    """Return the features of ``frame`` cut to the rectangle ``bounds`` (same CRS), or None."""
    if frame is None or not len(frame):
        return None
    rect = shapely.box(*bounds)
    part = frame.iloc[frame.sindex.query(rect, predicate="intersects")]
    if not len(part):
        return None
    clipped = shapely.clip_by_rect(part.geometry.values, *bounds)
    keep = ~shapely.is_empty(clipped)
    if not keep.any():
        return None
    return gpd.GeoDataFrame(
        part.drop(columns=part.geometry.name).loc[keep].reset_index(drop=True),
        geometry=np.asarray(clipped)[keep],
        crs=frame.crs,
    )
