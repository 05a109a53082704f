"""The exact partition of small connected groups: candidate groups as bit masks, solved exactly.

For :func:`geo.planning.partition.partition_all` (the objective and the caps are there): which
groups fit one district whole (:func:`_whole_fits`), every connected group within the caps of a
group of at most ``districts.exact_max_estates`` estates (:func:`_grown_masks`, bit masks over
the group's sorted ids), their costs (:func:`_group_costs`) and the partition of least cost by
dynamic programming (:func:`_dp_masks`) or, above ``DP_MAX_SUBSETS`` candidate groups, the
HiGHS set-partitioning MILP (:func:`_exact`). The walks of all groups of one size, over all
groups, come from one array operation (:meth:`geo.planning.partition.Caps.centres`); the walk cap
while enumerating is a mask test (:func:`_near_masks`).

May import: numpy, networkx, scipy (the caps are a :class:`geo.planning.partition.Caps`, used by
duck typing).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator
from typing import TYPE_CHECKING

import networkx as nx
import numpy as np
from scipy.optimize import LinearConstraint, milp

if TYPE_CHECKING:
    from geo.planning.partition import Caps


def _walks_by_size(
    wholes: list[list[str]], sets: list[int], caps: Caps
) -> Iterator[tuple[int, list[int], np.ndarray]]:
    """The walks member to member of the sets ``wholes[k]`` (``k`` in ``sets``), one size at a time.

    Yields the size, the ``k`` of that size and their walks (:meth:`Caps.distances`, shape
    (sets, size, size)).
    """
    by_size: dict[int, list[int]] = {}
    for k in sets:
        by_size.setdefault(len(wholes[k]), []).append(k)
    row = caps.rows().__getitem__
    for size, ks in by_size.items():
        members = itertools.chain.from_iterable(map(wholes.__getitem__, ks))
        at = np.fromiter(map(row, members), np.intp, len(ks) * size)
        yield size, ks, caps.distances(at.reshape(len(ks), size))


def _whole_fits(wholes: list[list[str]], caps: Caps) -> list[bool]:
    """Whether each sorted member list is a district as it is (:meth:`Caps.fits`, at least the minimum).

    The walk cap of all lists of one length in one array operation (:meth:`Caps.centres`).
    """
    households = caps.households.__getitem__
    ok = [
        caps.min_estates <= len(w) <= caps.max_estates
        and sum(map(households, w)) <= caps.max_households
        for w in wholes
    ]
    if caps.max_walk_m <= 0:
        return ok
    sets = [k for k, w in enumerate(wholes) if ok[k] and len(w) > 1]
    for _, ks, walks in _walks_by_size(wholes, sets, caps):
        # some member has every member within the walk of it (the centre)
        within = (walks <= caps.max_walk_m + 1e-9).all(axis=2).any(axis=1)
        for k, fits in zip(ks, within.tolist(), strict=True):
            ok[k] = fits
    return ok


#: Candidate groups of one set of estates, by size: (size, member positions, bit masks), the
#: sizes ascending and the groups of one size by their positions (:func:`_grown_masks`).
Buckets = list[tuple[int, list[tuple[int, ...]], list[int]]]


def _group_costs(
    sets: list[tuple[list[str], Buckets]], caps: Caps
) -> list[list[list[float | None]]]:
    """The objective's cost of every candidate group, None where the walk cap fails.

    ``sets`` holds (sorted ids, candidate groups by size); the result follows its shape. The
    walks of all groups of one size, over all sets, in one array operation
    (:meth:`Caps.centres`): the values of :meth:`Caps.cost` and :meth:`Caps.within_walk`.
    """
    out: list[list[list[float | None]]] = [
        [[None] * len(masks) for _, _, masks in grown] for _, grown in sets
    ]
    row = caps.rows().__getitem__
    flat = np.fromiter(map(row, itertools.chain.from_iterable(w for w, _ in sets)), np.intp)
    offset = np.cumsum([0] + [len(whole) for whole, _ in sets])
    by_size: dict[int, list[tuple[int, int]]] = {}
    for s, (_, grown) in enumerate(sets):
        for b, (size, _, _) in enumerate(grown):
            by_size.setdefault(size, []).append((s, b))
    walk = caps.walk_scale
    for size, where in by_size.items():
        if size < 2 or size < caps.min_estates:
            for s, b in where:
                whole, grown = sets[s]
                for j, members in enumerate(grown[b][1]):
                    ids = [whole[i] for i in members]
                    out[s][b][j] = caps.cost(ids) if caps.within_walk(ids) else None
            continue
        positions = [members for s, b in where for members in sets[s][1][b][1]]
        counts = [len(sets[s][1][b][1]) for s, b in where]
        base = np.repeat(offset[[s for s, _ in where]], counts)
        at = flat[base[:, None] + np.array(positions, dtype=np.intp).reshape(-1, size)]
        _, _, far, mean = caps.centres(at)
        cost = (1.0 + mean / walk).tolist()
        if caps.max_walk_m > 0:
            cost = [
                c if w else None
                for c, w in zip(cost, (far <= caps.max_walk_m + 1e-9).tolist(), strict=True)
            ]
        start = 0
        for (s, b), count in zip(where, counts, strict=True):
            out[s][b] = cost[start : start + count]
            start += count
    return out


def connected_subsets(nodes: set[str], graph: nx.Graph, caps: Caps) -> list[frozenset[str]]:
    """Every connected subset of ``nodes`` (size >= min_estates) that fits the caps, plus singletons.

    Singletons first (by id), then the groups by size and ids.
    """
    return [frozenset(members) for _, members in _feasible_groups(sorted(nodes), graph, caps)]


def _feasible_groups(order: list[str], graph: nx.Graph, caps: Caps) -> list[tuple[int, list[str]]]:
    """:func:`connected_subsets` as ``(bit mask over order, sorted members)``."""
    grown = _grown_subsets(order, graph, caps)
    caps.prime(members for _, members in grown)
    return [(1 << i, [n]) for i, n in enumerate(order)] + [
        (mask, members) for mask, members in grown if caps.within_walk(members)
    ]


def _near_masks(wholes: list[list[str]], caps: Caps) -> list[list[int] | None]:
    """For each set of estates, the estates within the walk of each (bit masks over the set).

    ``near[i]`` has bit ``j`` when the walk between estates ``i`` and ``j`` (the distances of
    :meth:`Caps.centres`, element by element) is within ``max_walk_m``: every member of a group
    is within the walk of its centre exactly when the group shares a member with the ``near``
    of all its members. None where there is no walk cap or the set exceeds 64 estates; the sets
    of one size in one array operation.
    """
    out: list[list[int] | None] = [None] * len(wholes)
    if caps.max_walk_m <= 0:
        return out
    sets = [k for k, whole in enumerate(wholes) if 1 < len(whole) <= 64]
    for size, ks, dist in _walks_by_size(wholes, sets, caps):
        weights = np.left_shift(np.uint64(1), np.arange(size, dtype=np.uint64))
        masks = ((dist <= caps.max_walk_m + 1e-9) * weights).sum(axis=2, dtype=np.uint64)
        for k, near in zip(ks, masks.tolist(), strict=True):
            out[k] = near
    return out


def _grown_masks(
    order: list[str], graph: nx.Graph, caps: Caps, near: list[int] | None = None
) -> Buckets:
    """Connected subsets of ``order`` (sorted ids) within the household and estate caps.

    Those of at least ``min_estates``, by size (:data:`Buckets`), of one size by member positions.
    Each connected subset is grown once, by one adjacent estate at a time while those caps hold
    (they are monotone). The walk cap is not (a subset beyond the walk may grow into one within
    it through a new centre): with ``near`` (:func:`_near_masks`) only the subsets within the
    walk are returned, and a subset whose members have no estate of the set within the walk of
    all of them (none of its supersets can have a centre) does not grow; without it the walk is
    checked afterwards (:func:`_group_costs`).
    """
    index = {n: i for i, n in enumerate(order)}
    adjacent = [sum(1 << index[m] for m in graph.neighbors(n) if m in index) for n in order]
    households = [caps.households[n] for n in order]
    nears = near if near is not None else [-1] * len(order)
    ceiling, largest = caps.max_households, min(caps.max_estates, len(order))
    levels: list[list[int]] = [[] for _ in range(largest)]  # the subsets of 1, 2, ... estates
    # each connected subset once (ESU, Wernicke 2006): grown from its lowest estate v by estates
    # above v, the extension gaining the new estate's neighbours not yet next to the subset;
    # households and the estates within the walk of every member go along, and a subset over
    # the households or with no such estate does not grow (no larger one can be within the caps)
    for v in range(len(order)):
        above = -1 << (v + 1)
        stack = [(1 << v, adjacent[v] & above, adjacent[v] | 1 << v, households[v], nears[v], 1)]
        while stack:
            sub, ext, seen, total, common, size = stack.pop()
            if size == 1 or sub & common:
                levels[size - 1].append(sub)
            if size >= largest:
                continue
            while ext:
                low = ext & -ext
                ext ^= low
                i = low.bit_length() - 1
                if total + households[i] > ceiling:
                    continue
                shared = common & nears[i]
                if not shared:
                    continue
                grown = ext | (adjacent[i] & ~seen & above)
                stack.append(
                    (sub | low, grown, seen | adjacent[i], total + households[i], shared, size + 1)
                )
    # in a fixed order: the order of the groups decides between equal-cost partitions
    out: Buckets = []
    for size, masks in enumerate(levels, start=1):
        if size >= caps.min_estates and masks:
            ranked = sorted((_bits(mask), mask) for mask in masks)
            out.append((size, [b for b, _ in ranked], [m for _, m in ranked]))
    return out


def _grown_subsets(order: list[str], graph: nx.Graph, caps: Caps) -> list[tuple[int, list[str]]]:
    """Candidate groups of :func:`_grown_masks` as ``(bit mask, sorted ids)``, by size then ids."""
    return [
        (mask, [order[i] for i in members])
        for _, positions, masks in _grown_masks(order, graph, caps)
        for members, mask in zip(positions, masks, strict=True)
    ]


@functools.lru_cache(maxsize=1 << 16)
def _bits(mask: int) -> tuple[int, ...]:
    """The set bits of ``mask``, lowest first (the same masks recur in every component)."""
    return tuple(i for i in range(mask.bit_length()) if mask >> i & 1)


def _exact_dp(nodes: set[str], subsets: list[frozenset[str]], caps: Caps) -> list[list[str]]:
    """The same optimum as :func:`_exact` by dynamic programming over the remaining estates."""
    bit = {n: 1 << i for i, n in enumerate(sorted(nodes))}
    groups = [(sum(bit[m] for m in s), sorted(s)) for s in subsets]
    return _dp(len(bit), groups, caps)


def _dp(
    n: int, groups: list[tuple[int, list[str]]], caps: Caps, costs: list[float] | None = None
) -> list[list[str]]:
    """Exact partition of ``n`` estates (bits) into ``groups`` (mask, members) by dynamic programming.

    :func:`_dp_masks` on the groups' masks; ``costs`` (one per group, :meth:`Caps.cost`) when
    known. Returns the chosen groups' members, ordered by their first member.
    """
    if costs is None:
        costs = [caps.cost(members) for _, members in groups]
    members = {}
    for mask, group in groups:
        members.setdefault(mask, group)
    chosen = _dp_masks(n, [mask for mask, _ in groups], costs)
    return sorted((members[mask] for mask in chosen), key=lambda g: g[0])


def _dp_masks(n: int, masks: list[int], costs: list[float]) -> list[int]:
    """Exact partition of ``n`` estates (bits) into groups (``masks`` with ``costs``).

    ``best(remaining)`` = min over feasible groups S holding the first remaining estate of
    cost(S) + best(remaining - S); exact, and faster than a solver call for few groups. Ties go
    to the group listed first.
    """
    by_first: dict[int, list[tuple[int, float]]] = {}
    for mask, cost in zip(masks, costs, strict=True):
        by_first.setdefault((mask & -mask).bit_length() - 1, []).append((mask, cost))
    # remaining -> (cost, (group, rest)): the chosen groups as a linked list
    memo: dict[int, tuple[float, tuple | None]] = {0: (0.0, None)}

    def best(remaining: int) -> tuple[float, tuple | None]:
        found = memo.get(remaining)
        if found is not None:
            return found
        first = (remaining & -remaining).bit_length() - 1
        found = (np.inf, None)
        for mask, cost in by_first[first]:
            if mask & ~remaining:
                continue
            rest = best(remaining & ~mask)
            if cost + rest[0] < found[0] - 1e-12:
                found = (cost + rest[0], (mask, rest[1]))
        memo[remaining] = found
        return found

    chosen, link = [], best((1 << n) - 1)[1]
    while link is not None:
        chosen.append(link[0])
        link = link[1]
    return chosen


def _exact(
    nodes: set[str], graph: nx.Graph, caps: Caps, subsets: list[frozenset[str]] | None = None
) -> list[list[str]] | None:
    if subsets is None:
        subsets = connected_subsets(nodes, graph, caps)
    order = sorted(nodes)
    row = {n: i for i, n in enumerate(order)}
    matrix = np.zeros((len(order), len(subsets)))
    for j, s in enumerate(subsets):
        matrix[[row[n] for n in s], j] = 1.0
    costs = np.array([caps.cost(sorted(s)) for s in subsets])
    res = milp(
        costs,
        constraints=LinearConstraint(matrix, lb=1, ub=1),
        integrality=np.ones(len(subsets)),
        bounds=(0, 1),
        options={"time_limit": 30.0, "mip_rel_gap": 0.0},
    )
    if res.x is None or res.status != 0:
        return None
    chosen = [sorted(subsets[j]) for j in np.flatnonzero(res.x > 0.5)]
    return sorted(chosen, key=lambda g: g[0])
