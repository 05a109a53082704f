"""Areas carried into another CRS as boxes: which features of a layer can meet them.

A layer read in another CRS than the run's is projected before it is used; when only its part near
some areas of the run can change a result (the barriers near estate pairs, the roads near
districts), the features whose extent meets none of those areas are left out before projecting,
which keeps the result and saves most of the projecting (issue 20). Holds :func:`boxes_in` (the
areas' boxes carried over as boxes of the other CRS) and :func:`near_rows` (the features that meet
them). May import: numpy, shapely, pyproj.
"""

from __future__ import annotations

import numpy as np
import shapely
from pyproj import CRS, Transformer

#: Added around an area (metres) when selecting the features that meet it in their own CRS:
#: covers the bending of a box's sides when it is carried into that CRS.
NEAR_MARGIN_M = 10.0
#: Longest piece of the side of a box carried into another CRS as a straight line (m).
NEAR_SEGMENT_M = 1000.0


def boxes_in(areas: np.ndarray, crs: object, target: object, margin_m: float) -> np.ndarray | None:
    """The boxes of ``areas`` (in the metric ``crs``) grown by ``margin_m``, as boxes in ``target``.

    Each box in ``target`` holds its corners carried over, and a point every
    :data:`NEAR_SEGMENT_M` along a longer side. None when a point does not carry over
    (outside the area of ``target``).
    """
    x0, y0, x1, y1 = shapely.bounds(areas).T
    x0, y0, x1, y1 = x0 - margin_m, y0 - margin_m, x1 + margin_m, y1 + margin_m
    grown = shapely.box(x0, y0, x1, y1)
    long = np.flatnonzero(np.maximum(x1 - x0, y1 - y0) > NEAR_SEGMENT_M)
    corners = np.stack([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])  # (4, 2, n)
    transform = Transformer.from_crs(crs, target, always_xy=True).transform
    with np.errstate(invalid="ignore"):
        fx, fy = transform(corners[:, 0], corners[:, 1])
        found = np.array([fx.min(axis=0), fy.min(axis=0), fx.max(axis=0), fy.max(axis=0)])
        if len(long):
            points, which = shapely.get_coordinates(
                shapely.segmentize(grown[long], NEAR_SEGMENT_M), return_index=True
            )
            px, py = transform(points[:, 0], points[:, 1])
            for row, values, reduce in ((0, px, np.minimum), (1, py, np.minimum)):
                reduce.at(found[row], long[which], values)
            for row, values, reduce in ((2, px, np.maximum), (3, py, np.maximum)):
                reduce.at(found[row], long[which], values)
    if not np.isfinite(found).all():
        return None
    return shapely.box(*found)


def near_rows(
    geoms: np.ndarray, layer_crs: object, areas: np.ndarray, crs: object, margin_m: float
) -> np.ndarray | None:
    """Which of a layer's features (in ``layer_crs``) can meet ``areas`` (polygons in ``crs``).

    A boolean mask over ``geoms``: True where a feature's extent meets the box of an area grown by
    ``margin_m`` + :data:`NEAR_MARGIN_M`, carried into ``layer_crs`` (:func:`boxes_in`). Every
    feature that comes within ``margin_m`` of an area once projected to ``crs`` is kept. None
    when nothing need be left out: the layer is already in ``crs`` (nothing to project), or a box
    does not carry over.
    """
    if CRS.from_user_input(layer_crs) == CRS.from_user_input(crs):
        return None
    boxes = boxes_in(areas, crs, layer_crs, margin_m + NEAR_MARGIN_M)
    if boxes is None:
        return None
    keep = np.zeros(len(geoms), dtype=bool)
    keep[shapely.STRtree(geoms).query(boxes)[1]] = True
    return keep
