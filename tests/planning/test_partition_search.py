"""Region growing from every first seed finds what the rim seed misses (issue 17, compactness).

Six estates on a line, adjacent in order, x = 0, 300, 600, 700, 850, 1,150 m, households 1,500,
1,500, 500, 500, 1,500, 3,000 (7,000 + 500 over the 8,000 cap: two districts). Seeded from the
rim (A, farthest from the mean point) the growth makes A-B-C and D-E-F (cost 2.910); seeded from
C it makes C-D-E-F and leaves A-B (cost 2.845), the exact optimum.
"""

from __future__ import annotations

import networkx as nx

from geo.planning.partition import Caps, _grow_regions, partition_all

XS = [0.0, 300.0, 600.0, 700.0, 850.0, 1150.0]
HOUSEHOLDS = [1500.0, 1500.0, 500.0, 500.0, 1500.0, 3000.0]
IDS = list("ABCDEF")


def _caps(policy):
    xy = {k: (x, 0.0) for k, x in zip(IDS, XS, strict=True)}
    return Caps(dict(zip(IDS, HOUSEHOLDS, strict=True)), xy, policy)


def test_every_first_seed_beats_the_rim_seed(policy):
    graph = nx.path_graph(IDS)
    caps = _caps(policy)
    rim = _grow_regions(set(IDS), graph, caps)
    assert rim == [["A", "B", "C"], ["D", "E", "F"]]
    grown = partition_all([set(IDS)], graph, caps, exact_max=3)[0]
    assert sorted(grown[0]) == [["A", "B"], ["C", "D", "E", "F"]]
    assert grown[1] == "region growing"
    exact = partition_all([set(IDS)], graph, _caps(policy), exact_max=12)[0]
    assert exact == ([["A", "B"], ["C", "D", "E", "F"]], "exact (dynamic programming)")
    cost = [round(sum(caps.cost(r) for r in p), 3) for p in (rim, grown[0])]
    assert cost[1] < cost[0]
