"""Partitioning a connected group of estates into districts: the stated objective and its solvers.

A district is connected in the adjacency graph, holds at most ``districts.max_households``
households (a 10-minute life circle's dwellings, GB 50180-2018 table 3.0.4) and
``max_estates`` estates, and every member lies within ``districts.max_walk_m`` (500 m, the
10-minute circle) of its centre member, walking distance estimated as the straight line between
representative points x ``elderly.detour_factor``; the centre is the member whose farthest member
is nearest (where the shared facility goes). A group of fewer than ``min_estates`` is standalone.

Objective (minimised), per group of estates:

    cost = 100 x standalone estates + sum over districts of (1 + mean member walk / max_walk_m)

so that first as few estates as possible stay alone, then as few districts as possible (each one
shared facility and one design tender, a life circle's worth of estates; Yangjiang draft 成片捆绑:
the walk term is below 1, so two districts that can be one always are), then the most compact
(mean walk from the members to the shared facility at the centre member). Solved exactly where the group has at most ``districts.exact_max_estates`` estates
(a set-partitioning MILP over every feasible connected subset, HiGHS through
:func:`scipy.optimize.milp`; by dynamic programming over the same subsets when there are few), else by region growing: a seed on the rim grows by the adjacent
estate nearest to the region's mean point while the caps hold, and regions below the minimum are
merged into a neighbour or borrow an estate; a group of up to ``MULTI_START_MAX`` (20) estates
is grown from every estate as the first seed and the cheapest partition kept. The terms are
reported per district
(:func:`objective_terms`, :func:`objective_table`).

Speed (issue 17, against spopt Skater): most groups fit one district whole, checked for all
groups of one size in one array operation; the exact solution enumerates connected groups as bit
masks, prunes those whose members have no estate within the walk of all of them (no centre can
serve them or any larger group holding them), and gets the
walks of all candidate groups of all components in one array operation per size; region growing
runs on bit masks up to 64 estates (:mod:`geo.planning.region_masks`, the same partition as the
id-based :mod:`geo.planning.growing`).

May import: numpy, networkx, ``geo.core.policy``, :mod:`geo.planning.exact` and
:mod:`geo.planning.growing`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

import networkx as nx
import numpy as np

from geo.core.policy import Policy
from geo.planning.exact import (
    _bits,
    _dp_masks,
    _exact,
    _group_costs,
    _grown_masks,
    _near_masks,
    _whole_fits,
    connected_subsets,
)
from geo.planning.growing import MULTI_START_MAX, SINGLE_PASS_MIN, _grow_best, _grow_regions

#: Cost of an estate left standalone, against at most ~1 + 1 per member for a district.
STANDALONE_COST = 100.0
#: Up to this many feasible groups, the exact partition is found by dynamic programming (no
#: solver call); above, by the HiGHS MILP. Both are exact. Measured on a 13-estate group of the
#: tiled Hangzhou data with 1,507 feasible groups: 9-12 ms by dynamic programming, 580-770 ms by
#: HiGHS (the memo holds at most 2^exact_max_estates states).
DP_MAX_SUBSETS = 5000
# the region growing lives in geo.planning.growing (geo.planning.lots takes it from here), the
# exact solvers in geo.planning.exact
__all__ = [
    "DP_MAX_SUBSETS",
    "MULTI_START_MAX",
    "SINGLE_PASS_MIN",
    "STANDALONE_COST",
    "Caps",
    "_grow_regions",
    "connected_subsets",
    "objective_table",
    "objective_terms",
    "partition",
    "partition_all",
]
#: Walk used to normalise the spread when ``districts.max_walk_m`` is 0 (no limit): 10-minute circle.
_DEFAULT_WALK_M = 500.0


class Caps:
    """The rules of a district under a policy, on given households and points (metres)."""

    def __init__(
        self,
        households: dict[str, float],
        xy: dict[str, tuple[float, float]],
        policy: Policy,
        *,
        max_households: float | None = None,
        max_walk_m: float | None = None,
    ) -> None:
        d = policy.districts
        self.households = households
        self.xy = xy
        self.max_households = d.max_households if max_households is None else max_households
        self.max_estates = d.max_estates
        self.min_estates = d.min_estates
        self.max_walk_m = d.max_walk_m if max_walk_m is None else max_walk_m
        self.detour = policy.elderly.detour_factor
        # members -> (centre, walks, farthest walk, mean walk)
        self._walks: dict[tuple[str, ...], tuple[str, np.ndarray, float, float]] = {}
        # (row of each id, points as an array): built on the first batch of walks
        self._points: tuple[dict[str, int], np.ndarray] | None = None

    def walks(self, members: Iterable[str]) -> tuple[str, np.ndarray]:
        """Return the centre member and each member's estimated walk to it (m)."""
        members = list(members)
        key = tuple(members)
        found = self._walks.get(key)
        if found is None:
            found = self._walks[key] = self._centre(members)
        return found[0], found[1]

    def _summary(self, members: list[str]) -> tuple[str, np.ndarray, float, float]:
        key = tuple(members)
        found = self._walks.get(key)
        if found is None:
            found = self._walks[key] = self._centre(members)
        return found

    def prime(self, groups: Iterable[list[str]]) -> None:
        """Compute the centre and walks of many member lists at once (those not yet known).

        The same values as :meth:`walks` on each list (the same arithmetic, element by element;
        lists of one length are stacked into one array), so later calls are dictionary look-ups.
        """
        by_size: dict[int, list[tuple[str, ...]]] = {}
        for members in groups:
            key = tuple(members)
            if len(key) > 1 and key not in self._walks:
                by_size.setdefault(len(key), []).append(key)
        if not by_size:
            return
        row = self.rows()
        for keys in by_size.values():
            keys = list(dict.fromkeys(keys))
            at = np.fromiter(
                (row[m] for key in keys for m in key), np.intp, len(keys) * len(keys[0])
            )
            best, rows, fars, means = self.centres(at.reshape(len(keys), len(keys[0])))
            means, fars = means.tolist(), fars.tolist()
            for i, (key, b) in enumerate(zip(keys, best.tolist(), strict=True)):
                self._walks[key] = (key[b], rows[i], fars[i], means[i])

    def rows(self) -> dict[str, int]:
        """The row of each estate id in the points of :meth:`centres`."""
        if self._points is None or len(self._points[0]) != len(self.xy):
            values = itertools.chain.from_iterable(self.xy.values())
            self._points = (
                dict(zip(self.xy, range(len(self.xy)), strict=True)),
                np.fromiter(values, float, 2 * len(self.xy)).reshape(-1, 2),
            )
        return self._points[0]

    def distances(self, groups: np.ndarray) -> np.ndarray:
        """The estimated walks (m) between the members of ``k`` groups of ``s`` estates: (k, s, s).

        ``groups`` as in :meth:`centres`; element by element the values of :meth:`walks`.
        """
        self.rows()
        assert self._points is not None
        x, y = self._points[1][groups].transpose(2, 0, 1)
        dx = x[:, :, None] - x[:, None, :]
        dy = y[:, :, None] - y[:, None, :]
        # the same sum of two squares as ((a - b) ** 2).sum(axis=-1): (0 + dx²) + dy²
        dist = np.sqrt(dx * dx + dy * dy)
        dist *= self.detour
        return dist

    def centres(self, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Centre and walks of ``k`` groups of ``s`` estates at once (the arithmetic of :meth:`walks`).

        Parameters
        ----------
        groups
            (k, s) integer array: each row the :meth:`rows` of a group's members, in its order.

        Returns
        -------
        centre, walks, farthest, mean
            The centre's position in each row (k,), each member's walk to it (k, s) and the
            farthest and mean of those walks (k,), in metres.
        """
        k = len(groups)
        dist = self.distances(groups)
        far = dist.max(axis=2)
        best = np.lexsort((dist.sum(axis=2), far))[:, 0]
        walks = dist[np.arange(k), best]
        return best, walks, far[np.arange(k), best], walks.mean(axis=1)

    def _centre(self, members: list[str]) -> tuple[str, np.ndarray]:
        pts = np.array([self.xy[m] for m in members], dtype=float)
        dist = np.sqrt(((pts[:, None, :] - pts[None, :, :]) ** 2).sum(axis=2)) * self.detour
        far = dist.max(axis=1)
        best = int(np.lexsort((dist.sum(axis=1), far))[0])
        return members[best], dist[best], float(far[best]), float(dist[best].mean())

    def fits(self, members: list[str]) -> bool:
        """Whether ``members`` meet the caps (households, estates, walk to the centre)."""
        if len(members) > self.max_estates:
            return False
        if sum(self.households[m] for m in members) > self.max_households:
            return False
        return self.within_walk(members)

    def within_walk(self, members: list[str]) -> bool:
        """Whether every member is within ``max_walk_m`` of the centre (the walk cap alone)."""
        if self.max_walk_m > 0 and len(members) > 1:
            return bool(self._summary(members)[2] <= self.max_walk_m + 1e-9)
        return True

    @property
    def walk_scale(self) -> float:
        """The walk (m) the objective divides the mean walk by: ``max_walk_m``, else 500 m."""
        return self.max_walk_m or _DEFAULT_WALK_M

    def cost(self, members: list[str]) -> float:
        """The objective's cost of ``members`` as one group (district or standalone)."""
        if len(members) < self.min_estates:
            return STANDALONE_COST * len(members)
        walk = self.max_walk_m or _DEFAULT_WALK_M
        return 1.0 + self._summary(members)[3] / walk


def objective_terms(members: list[str], caps: Caps) -> dict[str, object]:
    """Per-district terms of the objective: centre, walks (m) and cost."""
    centre, walks = caps.walks(members)
    return {
        "centre_estate_id": centre,
        "walk_max_m": round(float(walks.max()), 1),
        "walk_mean_m": round(float(walks.mean()), 1),
        "objective_cost": round(caps.cost(members), 3),
    }


def objective_table(groups: list[list[str]], caps: Caps) -> dict[str, list]:
    """:func:`objective_terms` of many districts at once, as columns (one value per group).

    The walks of all groups of one size in one array operation (:meth:`Caps.centres`, the
    arithmetic of :meth:`Caps.walks`); groups below ``min_estates`` or of one estate go through
    :func:`objective_terms`. Returns ``centre_estate_id``, ``walk_max_m``, ``walk_mean_m`` (m)
    and ``objective_cost``, each a list in the order of ``groups``.
    """
    columns: dict[str, list] = {
        "centre_estate_id": [None] * len(groups),
        "walk_max_m": [None] * len(groups),
        "walk_mean_m": [None] * len(groups),
        "objective_cost": [None] * len(groups),
    }
    by_size: dict[int, list[int]] = {}
    for k, group in enumerate(groups):
        if len(group) > 1 and len(group) >= caps.min_estates:
            by_size.setdefault(len(group), []).append(k)
        else:
            for name, value in objective_terms(group, caps).items():
                columns[name][k] = value
    row = caps.rows()
    walk = caps.max_walk_m or _DEFAULT_WALK_M
    for size, ks in by_size.items():
        at = np.fromiter((row[m] for k in ks for m in groups[k]), np.intp, len(ks) * size)
        best, _, far, mean = caps.centres(at.reshape(len(ks), size))
        for k, b, f, m in zip(ks, best.tolist(), far.tolist(), mean.tolist(), strict=True):
            columns["centre_estate_id"][k] = groups[k][b]
            columns["walk_max_m"][k] = round(f, 1)
            columns["walk_mean_m"][k] = round(m, 1)
            columns["objective_cost"][k] = round(1.0 + m / walk, 3)
    return columns


def partition(
    nodes: set[str], graph: nx.Graph, caps: Caps, exact_max: int
) -> tuple[list[list[str]], str]:
    """Partition a connected set of estates into groups minimising the objective.

    Returns the groups (sorted member lists, singletons included) and the method used:
    ``exact (HiGHS MILP)`` or ``region growing``.
    """
    return partition_all([nodes], graph, caps, exact_max)[0]


def partition_all(
    components: list[set[str]], graph: nx.Graph, caps: Caps, exact_max: int
) -> list[tuple[list[list[str]], str]]:
    """:func:`partition` of each connected set, the walks of all candidate groups computed at once.

    Most connected groups of estates are small and fit one district whole (cost < 2, less than
    any split: >= 1 per district, 100 per standalone); the others of at most ``exact_max``
    estates are solved exactly over every feasible connected group, larger ones by region
    growing. The walks of the whole sets (:func:`_whole_fits`), then of every candidate group of
    every exactly solved set (:func:`_group_costs`), are found in one array operation per group
    size (:meth:`Caps.centres`) instead of one per group; candidate groups are bit masks
    (:func:`_grown_masks`) and the exact partition a dynamic programme over them
    (:func:`_dp_masks`). The result is the same as one :func:`partition` per set.
    """
    wholes = [sorted(c) for c in components]
    out: list[tuple[list[list[str]], str] | None] = [None] * len(wholes)
    fitting = _whole_fits(wholes, caps)
    exact: list[tuple[int, list[str], list[tuple[int, list[tuple[int, ...]], list[int]]]]] = []
    for k, whole in enumerate(wholes):
        if fitting[k]:
            out[k] = ([whole], "exact (whole group fits)")
        elif len(whole) <= exact_max:
            exact.append((k, whole, []))
    nears = _near_masks([whole for _, whole, _ in exact], caps)
    for (_, whole, grown), near in zip(exact, nears, strict=True):
        grown.extend(_grown_masks(whole, graph, caps, near))
    costs = _group_costs([(whole, grown) for _, whole, grown in exact], caps)
    for (k, whole, grown), cost in zip(exact, costs, strict=True):
        masks = [1 << i for i in range(len(whole))]
        weights = [caps.cost([n]) for n in whole]
        for (_, _, bucket), bucket_cost in zip(grown, cost, strict=True):
            for mask, c in zip(bucket, bucket_cost, strict=True):
                if c is not None:
                    masks.append(mask)
                    weights.append(c)
        if len(masks) <= DP_MAX_SUBSETS:
            chosen = _dp_masks(len(whole), masks, weights)
            groups = [[whole[i] for i in _bits(mask)] for mask in chosen]
            out[k] = (sorted(groups, key=lambda g: g[0]), "exact (dynamic programming)")
            continue
        subsets = [frozenset(whole[i] for i in _bits(mask)) for mask in masks]
        found = _exact(set(whole), graph, caps, subsets)
        if found is not None:
            out[k] = (found, "exact (HiGHS MILP)")
    for k, whole in enumerate(wholes):
        if out[k] is None:
            out[k] = (_grow_best(whole, graph, caps), "region growing")
    return out  # type: ignore[return-value]
