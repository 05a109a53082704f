"""The fast partition gives the partitions of the plain one (issue 17, speed against Skater).

:class:`geo.planning.region_masks.MaskGrower` is a faster bookkeeping of the id-based region
growing, and :func:`geo.planning.partition.partition_all` solves small groups exactly on bit masks
with the walks of all candidate groups in one array operation per size; on any layout (random
points, some on a coarse grid so that distances tie; households in whole numbers or not; caps of
districts and of tender lots) both return the same regions in the same order.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.core.policy import default_policy
from geo.planning.exact import _exact_dp, connected_subsets
from geo.planning.growing import MULTI_START_MAX, _grow_best_ids, _grow_regions_ids
from geo.planning.partition import Caps, partition_all
from geo.planning.region_masks import (
    MASK_MAX_ESTATES,
    MaskGrower,
    _RunningMean,
    bits,
    mean_as_numpy,
)


@st.composite
def layouts(draw, connected: bool = True):
    n = draw(st.integers(2, 24))
    coarse = draw(st.booleans())  # points on a 100 m grid: equal distances, ties to break
    if coarse:
        xy = {
            f"e{i:02d}": (100.0 * draw(st.integers(0, 6)), 100.0 * draw(st.integers(0, 6)))
            for i in range(n)
        }
    else:
        xy = {
            f"e{i:02d}": (draw(st.floats(0, 900)) + 4.0e5, draw(st.floats(0, 900)) + 3.3e6)
            for i in range(n)
        }
    ids = list(xy)
    graph = nx.Graph()
    graph.add_nodes_from(ids)
    if connected:
        order = draw(st.permutations(ids))
        nx.add_path(graph, order)
    pairs = st.tuples(st.integers(0, n - 1), st.integers(0, n - 1))
    for a, b in draw(st.lists(pairs, max_size=2 * n)):
        if a != b:
            graph.add_edge(ids[a], ids[b])
    households = {i: float(draw(st.sampled_from([100, 800, 1500, 2500, 4000, 6000]))) for i in ids}
    return xy, graph, households


def _caps(xy, households, *, walk=None, max_estates=None, min_estates=None, max_households=None):
    caps = Caps(households, xy, default_policy(), max_walk_m=walk, max_households=max_households)
    if max_estates is not None:
        caps.max_estates = max_estates
    if min_estates is not None:
        caps.min_estates = min_estates
    return caps


CAPS = st.fixed_dictionaries(
    {
        "walk": st.sampled_from([None, 0.0, 250.0, 400.0]),
        "max_estates": st.sampled_from([None, 3, 5]),
        "min_estates": st.sampled_from([None, 1, 2, 3]),
        "max_households": st.sampled_from([None, 4000.0, 12000.0]),
    }
)


@settings(max_examples=300, deadline=None)
@given(layouts(), CAPS)
def test_every_first_seed_on_masks_is_the_id_based_growing(case, options):
    xy, graph, households = case
    whole = sorted(graph)
    expected = _grow_best_ids(whole, graph, _caps(xy, households, **options))
    grower = MaskGrower(whole, graph, _caps(xy, households, **options))
    assert grower.ids(grower.best(MULTI_START_MAX)) == expected


@settings(max_examples=300, deadline=None)
@given(layouts(connected=False), CAPS)
def test_rim_growing_on_masks_is_the_id_based_growing(case, options):
    """Any set, connected or not (tender lots split a district's members this way)."""
    xy, graph, households = case
    expected = _grow_regions_ids(set(graph), graph, _caps(xy, households, **options))
    grower = MaskGrower(set(graph), graph, _caps(xy, households, **options))
    assert grower.ids(grower.regions()) == expected


@settings(max_examples=200, deadline=None)
@given(layouts(), CAPS)
def test_the_batched_exact_partition_is_the_plain_dynamic_programming(case, options):
    """Whole groups that fit, else every feasible connected group solved by dynamic programming."""
    xy, graph, households = case
    nodes = set(graph)
    if len(nodes) > 11:
        return
    caps = _caps(xy, households, **options)
    groups, method = partition_all([nodes], graph, caps, exact_max=12)[0]
    plain = _caps(xy, households, **options)
    whole = sorted(nodes)
    if len(whole) >= plain.min_estates and plain.fits(whole):
        assert (groups, method) == ([whole], "exact (whole group fits)")
    else:
        assert method == "exact (dynamic programming)"
        assert groups == _exact_dp(nodes, connected_subsets(nodes, graph, plain), plain)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-1e7, 1e7), min_size=1, max_size=200))
def test_the_mean_is_numpys_to_the_last_bit(values):
    assert mean_as_numpy(values) == float(np.mean(values))
    if len(values) <= 128:
        running = _RunningMean(values[0])
        for v in values[1:]:
            running.add(v)
        assert running.mean() == float(np.mean(values))


def test_bits_and_the_size_bound():
    assert bits(0b101001) == [0, 3, 5]
    assert bits(0) == []
    graph = nx.path_graph([f"{i:03d}" for i in range(MASK_MAX_ESTATES + 1)])
    xy = {n: (float(i), 0.0) for i, n in enumerate(graph)}
    try:
        MaskGrower(set(graph), graph, _caps(xy, dict.fromkeys(graph, 1.0)))
    except ValueError as error:
        assert str(MASK_MAX_ESTATES) in str(error)
    else:  # pragma: no cover - the bound must be enforced
        raise AssertionError("more estates than bits accepted")


def test_equal_partitions_go_to_the_first_listed_group(policy):
    """Four estates on a 100 m square, each pair along a side fits and no three do (9,000 > 8,000
    households): {A, B} + {C, D} and {A, C} + {B, D} cost the same; the groups listed first (by
    size, then ids) win, as in the plain dynamic programming."""
    xy = {"A": (0.0, 0.0), "B": (100.0, 0.0), "C": (0.0, 100.0), "D": (100.0, 100.0)}
    graph = nx.cycle_graph(["A", "B", "D", "C"])
    caps = Caps(dict.fromkeys(xy, 3000.0), xy, policy)
    groups, method = partition_all([set(xy)], graph, caps, exact_max=12)[0]
    assert (groups, method) == ([["A", "B"], ["C", "D"]], "exact (dynamic programming)")
    plain = Caps(dict.fromkeys(xy, 3000.0), xy, policy)
    assert groups == _exact_dp(set(xy), connected_subsets(set(xy), graph, plain), plain)


@settings(max_examples=200, deadline=None)
@given(layouts(), CAPS)
def test_the_candidate_groups_are_every_connected_group_within_the_caps(case, options):
    """Against brute force: every subset of the estates, kept when connected and within the caps."""
    from itertools import combinations

    xy, graph, households = case
    order = sorted(graph)
    if len(order) > 10:
        return
    caps = _caps(xy, households, **options)
    expected = {frozenset([n]) for n in order}
    for size in range(max(caps.min_estates, 1), len(order) + 1):
        for members in combinations(order, size):
            if nx.is_connected(graph.subgraph(members)) and caps.fits(list(members)):
                expected.add(frozenset(members))
    found = connected_subsets(set(order), graph, _caps(xy, households, **options))
    assert set(found) == expected
