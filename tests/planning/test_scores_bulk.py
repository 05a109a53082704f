"""The scores, funding and investment in bulk equal their value by value forms (issue 20).

At 220,000 estates the district scores, the funding table's rounding, the estates' perimeters,
their groupable neighbours and their needs counts are computed on whole arrays; each equals,
float for float, what the loop it replaced computes: numpy's own sums in numpy's order,
Python's own rounding, the boundary's length.
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pandas as pd
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.planning.funding import rounded
from geo.planning.investment import _perimeters
from geo.planning.priority import (
    _groupable_neighbours,
    _item_counts,
    _segment_sums,
    score_districts,
)

finite = st.floats(-1e9, 1e9, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 300), min_size=1, max_size=8), st.data())
def test_segment_sums_are_numpys_sums(sizes, data):
    n = sum(sizes)
    values = np.array(data.draw(st.lists(finite | st.just(-0.0), min_size=n, max_size=n)))
    sizes = np.array(sizes)
    starts = np.cumsum(sizes) - sizes
    expected = [values[s : s + k].sum() for s, k in zip(starts, sizes, strict=True)]
    got = _segment_sums(values, starts, sizes)
    assert [math.copysign(1, v) for v in got] == [math.copysign(1, v) for v in expected]
    assert got.tolist() == expected


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.floats(allow_nan=True, allow_infinity=True),
            st.floats(-1e6, 1e6),
            st.integers(-(10**8), 10**8).map(lambda k: k / 1000 + 0.0005),  # halves of the 3rd
            st.sampled_from([0.125, 2.675, 0.285, 1.005, -0.0, 2.5e-5, 4503599627370497.0]),
        ),
        max_size=40,
    ),
    st.sampled_from([0, 1, 2, 4]),
)
def test_rounded_is_pythons_round(values, digits):
    got = rounded(np.array(values, dtype=float), digits).tolist()
    expected = [round(v, digits) for v in values]
    assert [str(v) for v in got] == [str(v) for v in expected]  # -0.0, nan and inf as well


def _scores_one_by_one(districts: pd.DataFrame, estates: pd.DataFrame) -> list[float]:
    """The district-by-district loop that the bulk scores replaced."""
    position = {e: i for i, e in enumerate(estates["estate_id"].astype(str))}
    households = estates["households"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    priority = estates["priority_score"].to_numpy(dtype=float)
    scores = []
    for members in districts["members"]:
        at = np.unique(
            np.array([position[m] for m in members.split(",") if m in position], dtype=np.intp)
        )
        hh = households[at]
        known = ~np.isnan(hh)
        floor = max(float(hh[known].min()) if known.any() else 1.0, 1.0)
        weights = np.clip(np.where(known, hh, floor), 1.0, None)
        scores.append(round(float(np.average(priority[at], weights=weights)), 1))
    return scores


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 60), st.data())
def test_district_scores_are_the_loops(n, data):
    ids = [f"E{k}" for k in range(n)]
    households = data.draw(
        st.lists(st.one_of(st.none(), st.integers(0, 5000), st.just(0)), min_size=n, max_size=n)
    )
    scores = data.draw(st.lists(st.floats(0, 100), min_size=n, max_size=n))
    estates = pd.DataFrame(
        {
            "estate_id": pd.array(ids, dtype="string"),
            "households": pd.array(households, dtype="Int64"),
            "priority_score": scores,
        }
    )
    # members: repeated, unknown ids, districts of 1 to 40 (numpy's pairwise sums from 8 on)
    member = st.sampled_from(ids) | st.just("X-unknown")
    districts = data.draw(
        st.lists(st.lists(member, min_size=1, max_size=40), min_size=1, max_size=8)
    )
    districts = [d if set(d) - {"X-unknown"} else [*d, ids[0]] for d in districts]
    table = pd.DataFrame(
        {"members": [",".join(d) for d in districts]}, index=range(5, 5 + len(districts))
    )
    got = score_districts(table, estates)
    assert got["priority_score"].tolist() == _scores_one_by_one(table, estates)
    assert got.index.tolist() == table.index.tolist()


def test_a_district_without_members_among_the_estates_is_refused():
    estates = pd.DataFrame({"estate_id": ["A"], "households": [10], "priority_score": [50.0]})
    table = pd.DataFrame({"members": ["B,C"]}, index=["D0001"])
    try:
        score_districts(table, estates)
    except ValueError as exc:
        assert "D0001" in str(exc)
    else:
        raise AssertionError("no error")


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(0, 1e4),
            st.floats(0, 1e4),
            st.floats(1, 300),
            st.integers(0, 3),  # parts
            st.booleans(),  # holes
        ),
        min_size=1,
        max_size=10,
    )
)
def test_perimeters_are_the_boundary_lengths(shapes):
    geoms = []
    for x, y, r, parts, holes in shapes:
        x, y = x + 5.0e5, y + 3.3e6
        polygons = []
        for k in range(max(parts, 1)):
            shell = shapely.Point(x + 3 * r * k, y).buffer(r, quad_segs=3)
            hole = shapely.Point(x + 3 * r * k, y).buffer(r / 3, quad_segs=2)
            polygons.append(shell.difference(hole) if holes else shell)
        geoms.append(polygons[0] if parts == 0 else shapely.MultiPolygon(polygons))
    geoms = np.array(geoms, dtype=object)
    expected = shapely.length(shapely.boundary(geoms))
    assert _perimeters(geoms).tolist() == expected.tolist()


@settings(max_examples=100, deadline=None)
@given(
    st.integers(1, 25),
    st.lists(st.tuples(st.integers(0, 24), st.integers(0, 24)), max_size=60),
    st.lists(st.booleans(), min_size=25, max_size=25),
)
def test_groupable_neighbours_are_counted_as_one_by_one(n, pairs, flags):
    ids = [f"e{k}" for k in range(n)]
    graph = nx.Graph()
    graph.add_nodes_from(ids[: n // 2 + 1])  # some estates are not nodes
    graph.add_edges_from((ids[a % n], ids[b % n]) for a, b in pairs if a % n != b % n)
    groupable = {i for i, f in zip(ids, flags, strict=False) if f}
    rows = [*ids, ids[0]]  # an id twice
    expected = [
        sum(1 for m in graph.neighbors(i) if m in groupable) if i in graph else 0 for i in rows
    ]
    assert _groupable_neighbours(graph, rows, groupable).tolist() == expected


def test_needs_items_are_counted_per_cell():
    needs = pd.Series(["供水；排水", "", "；供气；；", "供水；排水", "道路"], dtype="string")
    assert _item_counts(needs).tolist() == [2, 0, 1, 2, 1]
    assert _item_counts(needs.iloc[:0]).tolist() == []
