"""Administrative units (county, street, community) of each estate, from boundary polygons.

Each estate gets the name of the unit of each level that contains a point inside it (its
``point_on_surface``), so an estate straddling a boundary is counted once. Used for reporting by
unit and to keep districts inside one unit (each county/district plans and tenders its own).
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely

LEVELS = ("city", "county", "street", "community")


def assign_units(estates: gpd.GeoDataFrame, boundaries: gpd.GeoDataFrame) -> pd.DataFrame:
    """Return, per estate, the unit name of each level present in ``boundaries``.

    Parameters
    ----------
    estates
        Estates (any geometry), in the same CRS as ``boundaries``.
    boundaries
        Polygons with ``name`` and ``level`` (one of :data:`LEVELS`), e.g. from
        :func:`geo.io.read_boundaries`.

    Returns
    -------
    DataFrame
        Indexed like ``estates``, one string column per level found (``county``, ``street`` ...),
        ``<NA>`` where no unit of that level contains the estate.

    Raises
    ------
    ValueError
        If the two layers have different CRSs.
    """
    if estates.crs != boundaries.crs:
        raise ValueError(f"CRS mismatch: estates {estates.crs}, boundaries {boundaries.crs}")
    points = shapely.point_on_surface(estates.geometry.to_numpy())
    out = pd.DataFrame(index=estates.index)
    for level in LEVELS:
        units = boundaries.loc[boundaries["level"] == level]
        if units.empty:
            continue
        tree = shapely.STRtree(units.geometry.to_numpy())
        point_idx, unit_idx = tree.query(points, predicate="within")
        names = pd.Series(pd.NA, index=range(len(points)), dtype="string")
        # smallest containing unit wins when units of one level overlap
        areas = shapely.area(units.geometry.to_numpy())
        order = sorted(zip(point_idx, unit_idx, strict=True), key=lambda t: -areas[t[1]])
        for p, u in order:
            names[p] = str(units["name"].iloc[u])
        out[level] = names.to_numpy()
        out[level] = out[level].astype("string")
    return out
