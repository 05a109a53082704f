"""Region growing of :mod:`geo.planning.partition` on bit masks, for groups of up to 64 estates.

The same heuristic, step for step and tie for tie, as the id-based functions of
:mod:`geo.planning.growing` (``_grow_from``, ``_grow_regions_ids``, ``_absorb_singletons``,
``_borrow``, ``_grow_best_ids``): a seed grows by the adjacent estate nearest to the region's mean
point while the caps hold, regions below the minimum are merged into a neighbour or borrow an
estate, and a small group is grown from every estate as the first seed. Only the bookkeeping
differs, so the result is the same partition (``tests/planning/test_region_masks.py`` compares
both on random layouts):

- a set of estates is an int whose bit ``i`` is the ``i``-th estate in id order;
- the walk cap is a mask test: every member within ``max_walk_m`` of the centre member (the member
  whose farthest member is nearest) holds exactly when some member ``c`` has every member among
  the estates within the walk of ``c`` (``near[c]``: the same distances, element by element, as
  :class:`geo.planning.partition.Caps` computes);
- where households are whole numbers, a growing region carries its count, households and the
  estates within the walk of all its members, so adding an estate is checked in constant time and
  the nearest estate that fits is found without sorting the frontier;
- what recurs across the first seeds is computed once: a region grown from a seed among a set of
  estates, the regions grown in what remains after a region, the caps of a set;
- means of coordinates are numpy's pairwise sums (:func:`mean_as_numpy`), to the last bit.

The objective's cost of a region still comes from :meth:`Caps.cost` (its cache is shared with
the district table).

May import: numpy, networkx (types only).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import networkx as nx

    from geo.planning.partition import Caps

#: Groups of at most this many estates use the bit masks (a mask fits one machine word for the
#: walk matrix; the pairwise distance matrix is at most 64 x 64). A bound of the implementation.
MASK_MAX_ESTATES = 64


def bits(mask: int) -> list[int]:
    """The set bits of ``mask``, lowest first."""
    out = []
    while mask:
        low = mask & -mask
        out.append(low.bit_length() - 1)
        mask ^= low
    return out


def mean_as_numpy(values: list[float]) -> float:
    """``np.mean`` of a list of floats, bit for bit, in pure Python (no array built).

    numpy adds a float64 vector by pairwise summation: fewer than 8 values one after another, up
    to 128 values in 8 interleaved partial sums added as ((0+1)+(2+3))+((4+5)+(6+7)), then the
    rest one by one. Longer lists go to numpy itself.
    """
    n = len(values)
    if n < 8:
        total = 0.0
        for v in values:
            total += v
        return total / n
    if n > 128:
        return float(np.mean(values))
    r0, r1, r2, r3, r4, r5, r6, r7 = values[:8]
    i = 8
    while i + 8 <= n:
        r0 += values[i]
        r1 += values[i + 1]
        r2 += values[i + 2]
        r3 += values[i + 3]
        r4 += values[i + 4]
        r5 += values[i + 5]
        r6 += values[i + 6]
        r7 += values[i + 7]
        i += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    for v in values[i:]:
        total += v
    return total / n


class _RunningMean:
    """:func:`mean_as_numpy` of a growing list (up to 128 values), kept as values are added.

    The same partial sums in the same order: one value after another below 8 values; from 8 on,
    8 interleaved sums of the complete blocks of 8 and the values after them.
    """

    __slots__ = ("blocks", "count", "rest", "total")

    def __init__(self, first: float) -> None:
        self.count = 1
        self.total = 0.0 + first  # below 8 values: the sum so far
        self.rest = [first]  # the values after the last complete block of 8
        self.blocks: list[float] | None = None  # the 8 interleaved sums of the complete blocks

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value
        self.rest.append(value)
        if len(self.rest) == 8:
            if self.blocks is None:
                self.blocks = self.rest
            else:
                self.blocks = [a + b for a, b in zip(self.blocks, self.rest, strict=True)]
            self.rest = []

    def mean(self) -> float:
        if self.blocks is None:
            return self.total / self.count
        if self.count > 128:
            raise ValueError("more than 128 values")
        r = self.blocks
        total = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        for v in self.rest:
            total += v
        return total / self.count


class MaskGrower:
    """Region growing among ``nodes`` (at most :data:`MASK_MAX_ESTATES`) under ``caps``.

    Parameters
    ----------
    nodes
        The estate ids to split (any set; adjacency outside it is ignored, as in
        :func:`geo.planning.growing._grow_regions_ids`).
    graph
        Adjacency graph over the ids.
    caps
        :class:`geo.planning.partition.Caps`: households, points (m), the caps and the cost.
    """

    def __init__(self, nodes: set[str] | list[str], graph: nx.Graph, caps: Caps) -> None:
        order = sorted(nodes)
        if len(order) > MASK_MAX_ESTATES:
            raise ValueError(f"{len(order)} estates: at most {MASK_MAX_ESTATES} for bit masks")
        self.order = order
        self.caps = caps
        index = {n: i for i, n in enumerate(order)}
        adjacency = graph.adj
        self.adjacent = [
            sum(1 << index[m] for m in adjacency[n] if m in index and m != n) for n in order
        ]
        self.households = [caps.households[n] for n in order]
        points = [caps.xy[n] for n in order]
        self.xs = [float(p[0]) for p in points]
        self.ys = [float(p[1]) for p in points]
        self.all = (1 << len(order)) - 1
        self.near: list[int] | None = None
        if caps.max_walk_m > 0 and len(order) > 1:
            pts = np.array(points, dtype=float).reshape(-1, 2)
            # the arithmetic of Caps._centre and Caps.distances, element by element
            dist = np.sqrt(((pts[:, None, :] - pts[None, :, :]) ** 2).sum(axis=2)) * caps.detour
            within = dist <= caps.max_walk_m + 1e-9
            weights = np.left_shift(np.uint64(1), np.arange(len(order), dtype=np.uint64))
            self.near = [int(v) for v in (within * weights).sum(axis=1, dtype=np.uint64)]
        # households in whole numbers, coordinates finite: sums exact in any order, distances
        # ordered (else each candidate region is checked as listed, and the frontier sorted)
        self.exact_sums = (
            all(float(h).is_integer() and abs(h) < 2**46 for h in self.households)
            and all(np.isfinite(self.xs))
            and all(np.isfinite(self.ys))
        )
        self._fits: dict[int, bool] = {}
        self._grown: dict[tuple[int, int], tuple[list[int], int]] = {}
        self._tails: dict[int, tuple[int, ...]] = {}
        self._costs: dict[int, float] = {}

    # -- the caps -----------------------------------------------------------------------------

    def _walk_ok(self, mask: int, count: int) -> bool:
        if self.near is None or count <= 1:
            return True
        near = self.near
        m = mask
        while m:
            low = m & -m
            if not mask & ~near[low.bit_length() - 1]:
                return True
            m ^= low
        return False

    def fits_sorted(self, mask: int) -> bool:
        """:meth:`Caps.fits` of the estates of ``mask`` listed in id order."""
        found = self._fits.get(mask)
        if found is None:
            found = self._fits[mask] = self.fits_listed(bits(mask))
        return found

    def fits_listed(self, members: list[int]) -> bool:
        """:meth:`Caps.fits` of ``members`` (indices) in the order given (households summed so)."""
        caps = self.caps
        if len(members) > caps.max_estates:
            return False
        households = self.households
        if sum(households[i] for i in members) > caps.max_households:
            return False
        mask = 0
        for i in members:
            mask |= 1 << i
        return self._walk_ok(mask, len(members))

    def cost(self, members: list[int]) -> float:
        """:meth:`Caps.cost` of a region (sorted indices)."""
        mask = 0
        for i in members:
            mask |= 1 << i
        found = self._costs.get(mask)
        if found is None:
            found = self._costs[mask] = self.caps.cost([self.order[i] for i in members])
        return found

    # -- growing ------------------------------------------------------------------------------

    def grow_from(self, seed: int, members: int) -> tuple[list[int], int]:
        """``_grow_from``: the region grown from ``seed`` among ``members`` (order of joining, mask).

        Each step takes, of the adjacent estates that keep the caps, the one nearest to the
        region's mean point (ties to the lower id): the first that fits in the original's sorted
        frontier. Where households are whole numbers (their sums exact in any order) the caps of
        a region plus one estate are kept as it grows: its count, its households, and the
        estates within the walk of all its members (``near`` of each, and-ed), so the walk cap
        holds when one of the members is among them.
        """
        key = (seed, members)
        found = self._grown.get(key)
        if found is not None:
            return found
        if not self.exact_sums:
            found = self._grown[key] = self._grow_listed(seed, members)
            return found
        xs, ys, adjacent, households = self.xs, self.ys, self.adjacent, self.households
        near = self.near
        caps = self.caps
        room = caps.max_estates - 1  # estates that may still join
        ceiling = caps.max_households
        region = [seed]
        inside = 1 << seed
        total = households[seed]
        common = near[seed] if near is not None else -1
        reach = adjacent[seed] & members & ~inside
        # below 8 estates the mean is the running sum (numpy's order); from 8 on, _RunningMean
        count, sx, sy = 1, 0.0 + xs[seed], 0.0 + ys[seed]
        mean_x = mean_y = None
        while reach and room > 0:
            if mean_x is None:
                rx, ry = sx / count, sy / count
            else:
                rx, ry = mean_x.mean(), mean_y.mean()
            # candidates in id order: the strictly nearest wins, ties stay with the lower id
            best, best_distance = -1, float("inf")
            step = reach
            while step:
                low = step & -step
                step ^= low
                m = low.bit_length() - 1
                if total + households[m] > ceiling:
                    continue
                if near is not None and not (inside | low) & common & near[m]:
                    continue
                distance = (xs[m] - rx) ** 2 + (ys[m] - ry) ** 2
                if distance < best_distance or best < 0:
                    best, best_distance = m, distance
            if best < 0:
                break
            region.append(best)
            inside |= 1 << best
            total += households[best]
            if near is not None:
                common &= near[best]
            room -= 1
            count += 1
            if mean_x is not None:
                mean_x.add(xs[best])
                mean_y.add(ys[best])
            elif count < 8:
                sx += xs[best]
                sy += ys[best]
            else:
                mean_x, mean_y = _RunningMean(xs[region[0]]), _RunningMean(ys[region[0]])
                for i in region[1:]:
                    mean_x.add(xs[i])
                    mean_y.add(ys[i])
            reach = (reach | adjacent[best]) & members & ~inside
        found = self._grown[key] = (region, inside)
        return found

    def _grow_listed(self, seed: int, members: int) -> tuple[list[int], int]:
        """:meth:`grow_from` with the caps of each candidate region checked in id order."""
        xs, ys, adjacent = self.xs, self.ys, self.adjacent
        fits = self.fits_sorted
        region = [seed]
        inside = 1 << seed
        reach = adjacent[seed] & members & ~inside
        mean_x, mean_y = _RunningMean(xs[seed]), _RunningMean(ys[seed])
        while reach:
            rx, ry = mean_x.mean(), mean_y.mean()
            frontier = sorted(bits(reach), key=lambda m: ((xs[m] - rx) ** 2 + (ys[m] - ry) ** 2, m))
            best = next((m for m in frontier if fits(inside | 1 << m)), None)
            if best is None:
                break
            region.append(best)
            inside |= 1 << best
            mean_x.add(xs[best])
            mean_y.add(ys[best])
            reach = (reach | adjacent[best]) & members & ~inside
        return region, inside

    def _component(self, remaining: int) -> int:
        """The connected part of ``remaining`` holding its lowest estate."""
        adjacent = self.adjacent
        part = frontier = remaining & -remaining
        while frontier:
            step = 0
            for i in bits(frontier):
                step |= adjacent[i]
            frontier = step & remaining & ~part
            part |= frontier
        return part

    def _region(self, part: int) -> int:
        """The region cut from a connected ``part``: all of it if it fits, else grown from the rim."""
        if self.fits_sorted(part):
            return part
        xs, ys = self.xs, self.ys
        members = bits(part)
        cx = mean_as_numpy([xs[n] for n in members])
        cy = mean_as_numpy([ys[n] for n in members])
        seed = max(members, key=lambda n: ((xs[n] - cx) ** 2 + (ys[n] - cy) ** 2, n))
        return self.grow_from(seed, part)[1]

    def _tail(self, remaining: int) -> tuple[int, ...]:
        """The regions cut from ``remaining``, in order (before the small ones are absorbed)."""
        found = self._tails.get(remaining)
        if found is None:
            out = []
            rest = remaining
            while rest:
                region = self._region(self._component(rest))
                out.append(region)
                rest &= ~region
            found = self._tails[remaining] = tuple(out)
        return found

    def regions(self, nodes: int | None = None, first: int | None = None) -> list[list[int]]:
        """``_grow_regions``: regions (sorted indices) of ``nodes``; ``first`` replaces the first grown."""
        remaining = self.all if nodes is None else nodes
        out: list[int] = []
        while first is not None and remaining:
            part = self._component(remaining)
            if self.fits_sorted(part):
                out.append(part)
                remaining &= ~part
                continue
            out.append(first)
            remaining &= ~first
            first = None
        out.extend(self._tail(remaining))
        return self._absorb([bits(m) for m in out])

    def _absorb(self, regions: list[list[int]]) -> list[list[int]]:
        """``_absorb_singletons``: merge regions below the minimum into a neighbour, or borrow."""
        least = self.caps.min_estates
        if all(len(r) >= least for r in regions):
            return regions
        owner = [0] * len(self.order)
        for i, r in enumerate(regions):
            for n in r:
                owner[n] = i
        order = sorted(range(len(regions)), key=lambda i: (len(regions[i]), regions[i][0]))
        for i in order:
            region = regions[i]
            if not region or len(region) >= least:
                continue
            neighbours = {
                owner[m]
                for n in region
                for m in bits(self.adjacent[n])
                if owner[m] != i and regions[owner[m]]
            }
            options = sorted(neighbours, key=lambda j: (len(regions[j]), regions[j][0]))
            for j in options:
                if self.fits_listed(regions[j] + region):
                    regions[j] = sorted(regions[j] + region)
                    for n in region:
                        owner[n] = j
                    regions[i] = []
                    break
            if regions[i] and len(regions[i]) < least:
                self._borrow(i, regions, owner)
        return [r for r in regions if r]

    def _borrow(self, i: int, regions: list[list[int]], owner: list[int]) -> None:
        """``_borrow``: give region ``i`` one estate of a larger neighbour, keeping both connected."""
        region = regions[i]
        for n in region:
            for m in bits(self.adjacent[n]):
                j = owner[m]
                if j == i or len(regions[j]) <= self.caps.min_estates:
                    continue
                rest = [x for x in regions[j] if x != m]
                rest_mask = sum(1 << x for x in rest)
                if self._component(rest_mask) != rest_mask or not self.fits_listed(rest):
                    continue
                grown = [*region, m]
                if self.fits_listed(grown):
                    regions[i], regions[j] = sorted(grown), rest
                    owner[m] = i
                    return

    def best(self, multi_start_max: int) -> list[list[int]]:
        """``_grow_best``: the rim seeding, then (up to ``multi_start_max`` estates) every first seed.

        Returns the partition of least objective cost (sorted indices); the rim seeding is kept on
        ties.
        """
        best = self.regions()
        if len(self.order) > multi_start_max or len(best) == 1:
            return best
        best_cost = sum(self.cost(r) for r in best)
        tried: set[int] = set()
        for seed in range(len(self.order)):
            first = self.grow_from(seed, self.all)[1]
            if first in tried:  # the same first region: the same partition
                continue
            tried.add(first)
            regions = self.regions(first=first)
            cost = sum(self.cost(r) for r in regions)
            if cost < best_cost - 1e-9:
                best, best_cost = regions, cost
        return best

    def ids(self, regions: list[list[int]]) -> list[list[str]]:
        """Regions as sorted id lists."""
        return [[self.order[i] for i in r] for r in regions]
