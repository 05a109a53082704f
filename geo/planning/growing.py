"""Region growing of a connected group of estates into districts, on estate ids (any size).

The heuristic of :mod:`geo.planning.partition` for groups above ``districts.exact_max_estates``
and for tender lots (:mod:`geo.planning.lots`): a seed on the rim grows by the adjacent estate
nearest to the region's mean point while the caps hold, and regions below the minimum are merged
into a neighbour or borrow an estate; a group of up to ``MULTI_START_MAX`` (20) estates is grown
from every estate as the first seed and the cheapest partition kept. Up to
:data:`~geo.planning.region_masks.MASK_MAX_ESTATES` estates the same steps run on bit masks
(:class:`~geo.planning.region_masks.MaskGrower`, the same partition); the functions here hold
the id-based steps for larger groups, and are the reference the bit masks are tested against.

May import: numpy, networkx and :mod:`geo.planning.region_masks` (the caps are a
:class:`geo.planning.partition.Caps`, used by duck typing).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import networkx as nx

from geo.planning.region_masks import MASK_MAX_ESTATES, MaskGrower, mean_as_numpy

if TYPE_CHECKING:
    from geo.planning.partition import Caps


def _grow_regions(
    nodes: set[str], graph: nx.Graph, caps: Caps, first_region: list[str] | None = None
) -> list[list[str]]:
    """Split a connected set of nodes into connected regions within the caps (region growing).

    Seeds are the estates farthest from the mean point of what remains; ``first_region`` (grown
    from another seed, see :func:`_grow_best`) replaces the first region. Up to
    :data:`~geo.planning.region_masks.MASK_MAX_ESTATES` estates, the same steps on bit masks
    (:class:`~geo.planning.region_masks.MaskGrower`), else :func:`_grow_regions_ids`.
    """
    if first_region is None and len(nodes) <= MASK_MAX_ESTATES:
        grower = MaskGrower(nodes, graph, caps)
        return grower.ids(grower.regions())
    return _grow_regions_ids(nodes, graph, caps, first_region)


def _grow_regions_ids(
    nodes: set[str], graph: nx.Graph, caps: Caps, first_region: list[str] | None = None
) -> list[list[str]]:
    """:func:`_grow_regions` on sets of ids (any size)."""
    xy = caps.xy
    regions: list[list[str]] = []
    remaining = set(nodes)
    while remaining:
        parts = sorted((sorted(c) for c in _components(graph, remaining)), key=lambda c: c[0])
        part = parts[0]
        if caps.fits(part):
            regions.append(part)
            remaining -= set(part)
            continue
        cx = mean_as_numpy([xy[n][0] for n in part])
        cy = mean_as_numpy([xy[n][1] for n in part])
        if len(part) > SINGLE_PASS_MIN:
            # one pass over a very large group: recomputing its components after every region
            # would cost O(estates) per region, O(estates^2) in all (100,000 touching estates ran
            # for hours); seeds from the rim inwards, regions grown among unassigned estates
            regions += _grow_in_one_pass(part, graph, caps, (cx, cy))
            remaining -= set(part)
            continue
        seed = max(part, key=lambda n: ((xy[n][0] - cx) ** 2 + (xy[n][1] - cy) ** 2, n))
        if first_region is not None:
            region, first_region = first_region, None
        else:
            region = _grow_from(seed, set(part), graph, caps)
        regions.append(sorted(region))
        remaining -= set(region)
    return _absorb_singletons(regions, graph, caps)


#: Components up to this many estates are grown from every estate as the first seed and the
#: cheapest partition kept (:func:`_grow_best`); larger ones from the rim only. A bound of the
#: implementation, not a planning rule: the time grows with the square of the size (measured on
#: a grid of touching estates: 20 estates 10 ms, 30 estates 32 ms, 60 estates 65 ms against 6 ms
#: from the rim only).
MULTI_START_MAX = 20


def _grow_best(whole: list[str], graph: nx.Graph, caps: Caps) -> list[list[str]]:
    """Region growing from each estate as the first seed (components up to MULTI_START_MAX).

    Returns the partition of least objective cost; the default seeding (the rim estate farthest
    from the mean point) is tried first and kept on ties. Up to
    :data:`~geo.planning.region_masks.MASK_MAX_ESTATES` estates, the same steps on bit masks,
    else :func:`_grow_best_ids`.
    """
    if len(whole) <= MASK_MAX_ESTATES:
        grower = MaskGrower(whole, graph, caps)
        return grower.ids(grower.best(MULTI_START_MAX))
    return _grow_best_ids(whole, graph, caps)


def _grow_best_ids(whole: list[str], graph: nx.Graph, caps: Caps) -> list[list[str]]:
    """:func:`_grow_best` on sets of ids (any size)."""
    nodes = set(whole)
    best = _grow_regions_ids(nodes, graph, caps)
    if len(whole) > MULTI_START_MAX or len(best) == 1:  # one district: nothing is cheaper
        return best
    best_cost = sum(caps.cost(r) for r in best)
    tried: set[frozenset[str]] = set()
    for seed in whole:
        first = _grow_from(seed, nodes, graph, caps)
        if frozenset(first) in tried:  # the same first region: the same partition
            continue
        tried.add(frozenset(first))
        regions = _grow_regions_ids(nodes, graph, caps, first_region=first)
        cost = sum(caps.cost(r) for r in regions)
        if cost < best_cost - 1e-9:
            best, best_cost = regions, cost
    return best


#: Connected groups above this many estates are split in one pass of region growing
#: (:func:`_grow_in_one_pass`), which keeps the time linear in the group's size. Smaller groups
#: keep the cut-and-recompute order above. A bound of the implementation, not a planning rule.
SINGLE_PASS_MIN = 2000


def _components(graph: nx.Graph, nodes: set[str]) -> list[list[str]]:
    """The connected components of ``graph`` restricted to ``nodes`` (no subgraph view built)."""
    adjacency = graph.adj
    seen: set[str] = set()
    out = []
    for start in nodes:
        if start in seen:
            continue
        seen.add(start)
        component, stack = [start], [start]
        while stack:
            for m in adjacency[stack.pop()]:
                if m in nodes and m not in seen:
                    seen.add(m)
                    component.append(m)
                    stack.append(m)
        out.append(component)
    return out


def _grow_from(seed: str, members: set[str], graph: nx.Graph, caps: Caps) -> list[str]:
    """Grow a region from ``seed`` among ``members`` while the caps hold.

    The adjacent estate nearest to the region's mean point joins first.
    """
    xy = caps.xy
    adjacency = graph.adj
    region = [seed]
    inside = {seed}
    # the estates adjacent to the region, kept as it grows
    reach = {m for m in adjacency[seed] if m in members and m != seed}
    while True:
        rx = mean_as_numpy([xy[n][0] for n in region])
        ry = mean_as_numpy([xy[n][1] for n in region])
        frontier = sorted(reach, key=lambda m: ((xy[m][0] - rx) ** 2 + (xy[m][1] - ry) ** 2, m))
        # sorted: the caps do not depend on the order (the farthest walk from the best centre),
        # and one order lets the walks of a group be computed once
        best = next((m for m in frontier if caps.fits(sorted([*region, m]))), None)
        if best is None:
            return region
        region.append(best)
        inside.add(best)
        reach.discard(best)
        reach.update(m for m in adjacency[best] if m in members and m not in inside)


def _grow_in_one_pass(
    part: list[str], graph: nx.Graph, caps: Caps, centre: tuple[float, float]
) -> list[list[str]]:
    """Split one large connected group in one pass (connected regions by construction).

    Seeds go from the rim inwards; each unassigned seed grows a region among the estates not yet
    assigned.
    """
    xy = caps.xy
    cx, cy = centre
    order = sorted(part, key=lambda n: (-((xy[n][0] - cx) ** 2 + (xy[n][1] - cy) ** 2), n))
    unassigned = set(part)
    regions = []
    for seed in order:
        if seed not in unassigned:
            continue
        region = _grow_from(seed, unassigned, graph, caps)
        unassigned -= set(region)
        regions.append(sorted(region))
    return regions


def _absorb_singletons(regions: list[list[str]], graph: nx.Graph, caps: Caps) -> list[list[str]]:
    """Merge regions below the minimum size into an adjacent region when the caps allow."""
    owner = {n: i for i, r in enumerate(regions) for n in r}
    order = sorted(range(len(regions)), key=lambda i: (len(regions[i]), regions[i][0]))
    for i in order:
        region = regions[i]
        if not region or len(region) >= caps.min_estates:
            continue
        neighbours = {
            owner[m]
            for n in region
            for m in graph.neighbors(n)
            if m in owner and owner[m] != i and regions[owner[m]]
        }
        options = sorted(neighbours, key=lambda j: (len(regions[j]), regions[j][0]))
        for j in options:
            if caps.fits(regions[j] + region):
                regions[j] = sorted(regions[j] + region)
                for n in region:
                    owner[n] = j
                regions[i] = []
                break
        if regions[i] and len(regions[i]) < caps.min_estates:
            _borrow(i, regions, owner, graph, caps)
    return [r for r in regions if r]


def _borrow(
    i: int, regions: list[list[str]], owner: dict[str, int], graph: nx.Graph, caps: Caps
) -> None:
    """Give a too-small region one estate of a larger neighbour region, keeping both connected."""
    region = regions[i]
    for n in region:
        for m in sorted(graph.neighbors(n)):
            j = owner.get(m)
            if j is None or j == i or len(regions[j]) <= caps.min_estates:
                continue
            rest = [x for x in regions[j] if x != m]
            if not nx.is_connected(graph.subgraph(rest)) or not caps.fits(rest):
                continue
            grown = [*region, m]
            if caps.fits(grown):
                regions[i], regions[j] = sorted(grown), rest
                owner[m] = i
                return
