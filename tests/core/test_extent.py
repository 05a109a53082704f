"""Areas carried into another CRS: every feature that comes near an area once projected is kept."""

import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Transformer

from geo.core.extent import near_rows

_RUN = "EPSG:4550"  # CGCS2000 3-degree Gauss-Krüger, CM 123°E: the 220,000 tiled estates' zone
_LAYERS = ("EPSG:4326", "EPSG:4549")  # degrees; the next zone west (CM 120°E)


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(_LAYERS),
    st.lists(
        st.tuples(st.floats(0, 60_000), st.floats(0, 60_000), st.floats(1, 3000)),
        min_size=1,
        max_size=5,
    ),
    st.lists(
        st.lists(
            st.tuples(st.floats(-5_000, 65_000), st.floats(-5_000, 65_000)), min_size=2, max_size=4
        ),
        min_size=1,
        max_size=30,
    ),
    st.floats(0, 500),
)
def test_features_near_an_area_once_projected_are_kept(layer_crs, areas, lines, margin):
    x0, y0 = 230_000.0, 3_300_000.0  # west of the zone's centre, near the zone to the west
    boxes = shapely.box(
        *np.array([(x0 + x, y0 + y, x0 + x + s, y0 + y + s) for x, y, s in areas]).T
    )
    lines_run = np.array(
        [shapely.LineString([(x0 + x, y0 + y) for x, y in line]) for line in lines], dtype=object
    )
    # the features as a user's layer holds them, and as the run projects them back
    to_layer = Transformer.from_crs(_RUN, layer_crs, always_xy=True).transform
    to_run = Transformer.from_crs(layer_crs, _RUN, always_xy=True).transform
    layer = shapely.transform(lines_run, lambda c: np.column_stack(to_layer(c[:, 0], c[:, 1])))
    projected = shapely.transform(layer, lambda c: np.column_stack(to_run(c[:, 0], c[:, 1])))
    keep = near_rows(layer, layer_crs, boxes, _RUN, margin)
    assert keep is not None and keep.dtype == bool and len(keep) == len(lines)
    near = shapely.dwithin(projected[:, None], boxes[None, :], margin).any(axis=1)
    assert not (near & ~keep).any()


def test_a_layer_in_the_run_crs_is_kept_whole():
    lines = shapely.linestrings([[(0, 0), (1, 1)], [(1e6, 1e6), (1e6 + 1, 1e6)]])
    assert near_rows(lines, _RUN, np.array([shapely.box(0, 0, 1, 1)]), _RUN, 10.0) is None


def test_far_features_are_left_out():
    box = shapely.box(500_000, 3_300_000, 501_000, 3_301_000)
    lines = shapely.linestrings(
        [[(500_500, 3_300_500), (500_600, 3_300_600)], [(600_000, 3_300_000), (600_100, 3_300_000)]]
    )
    layer = shapely.transform(
        lines,
        lambda c: np.column_stack(
            Transformer.from_crs(_RUN, "EPSG:4326", always_xy=True).transform(c[:, 0], c[:, 1])
        ),
    )
    assert near_rows(layer, "EPSG:4326", np.array([box]), _RUN, 250.0).tolist() == [True, False]
