"""clean_polygons looks at the vertices of only the features GEOS does not find valid (issue 20).

It relies on GEOS finding any polygon, multipolygon or collection with a NaN or infinite
coordinate invalid (its coordinates are checked first): then a valid feature has finite
vertices, and the features dropped for them, and the notes, are those of looking at all.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import GeometryCollection, LineString, MultiPolygon, Point, Polygon, box

from geo.core.errors import QualityReport
from geo.io.shapes import clean_polygons

BAD = st.sampled_from([math.nan, math.inf, -math.inf])
#: shapely warns when it builds a ring or checks a shape with a NaN vertex, as these tests do
pytestmark = pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")


def _with_bad_vertex(ring: list[tuple[float, float]], at: int, axis: int, bad: float):
    ring = [list(p) for p in ring]
    ring[at][axis] = bad  # not the first vertex: a ring ending at NaN is not closed
    return [tuple(p) for p in ring]


@settings(max_examples=200, deadline=None)
@given(
    at=st.integers(1, 3),
    axis=st.integers(0, 1),
    bad=BAD,
    in_hole=st.booleans(),
    wrap=st.sampled_from(["polygon", "multipolygon", "collection"]),
)
def test_a_polygon_with_a_bad_vertex_is_never_valid(at, axis, bad, in_hole, wrap) -> None:
    shell = list(box(0, 0, 10, 10).exterior.coords)
    hole = list(box(2, 2, 4, 4).exterior.coords)
    if in_hole:
        hole = _with_bad_vertex(hole, at, axis, bad)
    else:
        shell = _with_bad_vertex(shell, at, axis, bad)
    polygon = Polygon(shell, [hole])
    geometry = {
        "polygon": polygon,
        "multipolygon": MultiPolygon([polygon, box(20, 20, 30, 30)]),
        "collection": GeometryCollection([box(20, 20, 30, 30), polygon]),
    }[wrap]
    assert not shapely.is_valid(geometry)


def _looking_at_every_vertex(geoms: np.ndarray) -> np.ndarray:
    coords, owner = shapely.get_coordinates(geoms, return_index=True)
    finite = np.ones(len(geoms), dtype=bool)
    finite[owner[~np.isfinite(coords).all(axis=1)]] = False
    return finite


def test_the_features_dropped_for_bad_vertices_are_those_of_looking_at_all() -> None:
    nan_shell = Polygon([(0, 0), (1, math.nan), (1, 1), (0, 1)])
    geoms = [
        box(0, 0, 1, 1),
        nan_shell,
        Polygon([(0, 0), (2, 2), (2, 0), (0, 2)]),  # a bow tie: repaired
        MultiPolygon([box(5, 5, 6, 6), Polygon([(7, 7), (8, math.inf), (8, 8)])]),
        LineString([(0, 0), (math.nan, 1)]),  # not a polygon, and a bad vertex
        Point(3, 3),
        box(9, 9, 10, 10),
    ]
    frame = gpd.GeoDataFrame({"id": list("abcdefg")}, geometry=geoms, crs="EPSG:4549")
    quality = QualityReport()
    out = clean_polygons(frame, source="x", quality=quality, id_column="id")
    dropped = [i.where for i in quality.issues if "NaN or infinite" in i.message]
    finite = _looking_at_every_vertex(np.array(geoms, dtype=object))
    assert dropped == [i for i, ok in zip("abcdefg", finite, strict=True) if not ok]
    assert dropped == ["b", "d", "e"]
    assert list(out["id"]) == ["a", "c", "g"]
    notes = [(i.where, i.message) for i in quality.issues]
    assert notes.index(("f", "not a polygon")) > notes.index(("e", "NaN or infinite coordinates"))
