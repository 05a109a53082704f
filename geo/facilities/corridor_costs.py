"""The accounting of the corridors: lengths, costs and the run's tables.

Holds what a planned district becomes: the corridor and separate-baseline figures per district
and utility (:func:`_account`), its segments cut for a batch of districts at once
(:func:`_complete`, by :mod:`geo.facilities.corridor_segments`), and the run's
:class:`CorridorPlan` (:func:`_assemble`) with its column lists.

May import: numpy, pandas, geopandas, shapely, geo.core and
:mod:`geo.facilities.corridor_layers`, :mod:`geo.facilities.corridor_segments`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.facilities.corridor_layers import _Context, _Group
from geo.facilities.corridor_segments import (
    _cut_segments,
    _Pending,
    _pending,
    _Segments,
)

MAIN = "municipal network"

SEGMENT_COLUMNS = (
    "district_id",
    "utilities",
    "kind",
    "length_m",
    "cost_yuan",
    "clearance_m",
    "clearance_ok",
)
DISTRICT_CORRIDOR_COLUMNS = (
    "corridor_basis",
    "corridor_method",
    "corridor_length_m",
    "separate_length_m",
    "saving_pct",
    "cost_yuan",
    "separate_cost_yuan",
    "cost_saving_pct",
    "connections",
    "separate_connections",
    "clearance_conflicts",
)


@dataclass
class CorridorPlan:
    """The corridors of a planning run.

    Attributes
    ----------
    segments
        GeoDataFrame of LineStrings (the run's CRS) with :data:`SEGMENT_COLUMNS`: ``district_id``;
        ``utilities`` (comma-joined, e.g. ``water,rain,sewage,gas,power,telecom``); ``kind``:
        ``trunk`` (inside the district, serving two or more estates), ``branch`` (inside, serving
        one estate) or ``connection`` (outside the district outline: the link to the municipal
        network, beyond the estates' red lines); ``length_m``; ``cost_yuan`` (trench and pipes;
        connections are in the district totals); ``clearance_m`` (largest GB 50289-2016 clearance
        of its utilities); ``clearance_ok`` (False when closer to a building, <NA> without
        buildings).
    districts
        DataFrame indexed like the districts with :data:`DISTRICT_CORRIDOR_COLUMNS`: lengths in
        metres, costs in yuan (trench + pipes + connections), savings in percent, connections
        counted per utility.
    utilities
        DataFrame, one row per district and utility (plus ``trench``): ``length_m``,
        ``separate_length_m``, ``connections``, ``separate_connections``, ``cost_yuan``,
        ``separate_cost_yuan``.
    """

    segments: gpd.GeoDataFrame
    districts: pd.DataFrame
    utilities: pd.DataFrame

    def totals(self) -> dict[str, float]:
        """Return the run's totals: corridor and separate length (m) and cost (yuan), savings (%)."""
        d = self.districts
        length, separate = float(d["corridor_length_m"].sum()), float(d["separate_length_m"].sum())
        cost, separate_cost = float(d["cost_yuan"].sum()), float(d["separate_cost_yuan"].sum())
        return {
            "districts": len(d),
            "corridor_length_m": round(length, 1),
            "separate_length_m": round(separate, 1),
            "saving_pct": _pct(length, separate),
            "cost_yuan": round(cost),
            "separate_cost_yuan": round(separate_cost),
            "cost_saving_pct": _pct(cost, separate_cost),
        }


def _pct(value: float, base: float) -> float:
    return round(100.0 * (1.0 - value / base), 1) if base > 0 else 0.0


@dataclass
class _DistrictResult:
    row: dict[str, object]
    segments: _Segments | None
    table: list[dict[str, object]]
    pending: _Pending | None = None  # the segments before they are cut (see _complete)

    def for_district(self, district_id: str) -> _DistrictResult:
        """A copy labelled with ``district_id`` (plans are memoised under a placeholder id)."""
        segments = None
        if self.segments is not None:
            segments = _Segments(
                [{**row, "district_id": district_id} for row in self.segments.rows],
                list(self.segments.geoms),
                self.segments.clearance_ok,
            )
        table = [{**row, "district_id": district_id} for row in self.table]
        return _DistrictResult(dict(self.row), segments, table)


@dataclass
class _Tree:
    """A utility group's corridor tree on the district's graph, edge by edge.

    Edges are listed in the order a ``networkx.Graph`` built from them in edge order would list
    them (the segments and the sums follow it). ``keys``: the edge's key, its index in the graph
    for a line, ``("main", node, utilities)`` for a link to the municipal network; ``ends``: its
    node indices (the municipal network is the node after the graph's last); ``length`` (m);
    ``links``: for a link, its line to the main (None: on it, or no main).
    """

    keys: list[object]
    ends: list[tuple[int, int]]
    length: list[float]
    links: list[shapely.Geometry | None]


@dataclass
class _Solution:
    tree: _Tree
    paths: dict[str, dict[object, float]]  # baseline edge key -> length, per estate (route order)
    union_of: Callable[[], _Tree]  # the union of the baseline paths (listed when asked for)
    method: str

    @property
    def union(self) -> _Tree:
        """The union of the separate baseline's paths, as a tree (rarely needed: listed then)."""
        return self.union_of()


def _served(tree: _Tree, estate_nodes: dict[str, int], main: int) -> dict[object, int]:
    """Estates downstream of each edge (by key) of a tree rooted at the municipal network."""
    count_at: dict[int, int] = defaultdict(int)
    for node in estate_nodes.values():
        count_at[node] += 1
    near: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for i, (a, b) in enumerate(tree.ends):
        near[a].append((b, i))
        near[b].append((a, i))
    up: dict[int, tuple[int, int]] = {main: (-1, -1)}
    order = [main]  # breadth first from the network
    for node in order:
        for other, i in near[node]:
            if other not in up:
                up[other] = (node, i)
                order.append(other)
    below = dict(count_at)
    served = {}
    for node in reversed(order[1:]):
        parent, i = up[node]
        served[tree.keys[i]] = below.get(node, 0)
        below[parent] = below.get(parent, 0) + below.get(node, 0)
    return served


def _network_figures(
    trees: dict[tuple[str, ...], _Tree], ctx: _Context
) -> tuple[dict, float, float, dict[str, float], dict[str, int]]:
    """Edges with their utilities, trench length (m), cost (yuan), per-utility length and taps."""
    edges: dict[object, dict[str, object]] = {}
    by_utility: dict[str, float] = {}
    taps: dict[str, int] = {}
    for utilities, tree in trees.items():
        length = 0.0
        connections = 0
        carried = set(utilities)
        for key, ends, m, link in zip(tree.keys, tree.ends, tree.length, tree.links, strict=True):
            entry = edges.get(key)
            if entry is None:
                entry = edges[key] = {"utilities": set(), "length": m, "link": link, "ends": ends}
            entry["utilities"] |= carried
            length += m
            connections += type(key) is tuple
        for utility in utilities:
            by_utility[utility] = length
            taps[utility] = connections
    c = ctx.policy.corridors
    trench = sum(e["length"] for e in edges.values())
    cost = (
        c.trench_yuan_per_m * trench
        + sum(getattr(c, f"{u}_yuan_per_m") * by_utility[u] for u in by_utility)
        + c.connection_yuan * sum(taps.values())
    )
    return edges, trench, cost, by_utility, taps


def _account(
    district_id: str,
    members: list[str],
    inside: shapely.Geometry,
    xy: np.ndarray,
    estate_nodes: dict[str, int],
    groups: list[_Group],
    solved: dict[tuple[str, ...], _Solution],
    ctx: _Context,
) -> _DistrictResult:
    """A district's row and per-utility rows from its groups' solutions, its segments pending.

    ``xy``: the graph's nodes (m), ``(n, 2)``; ``estate_nodes``: each member's node; ``inside``: see
    :func:`geo.facilities.corridor_segments._inside`. The segments are cut by :func:`_complete`.
    """
    c = ctx.policy.corridors
    # the separate baseline: per estate, its own trench (union of its paths) and connections
    separate_length = 0.0
    separate_by_utility: dict[str, float] = defaultdict(float)
    for estate_id in members:
        own: dict[tuple[object, ...], float] = {}
        for utilities, sol in solved.items():
            own.update(sol.paths[estate_id])
            path_length = sum(sol.paths[estate_id].values())
            for utility in utilities:
                separate_by_utility[utility] += path_length
        separate_length += sum(own.values())
    n_util = sum(len(g.utilities) for g in groups)
    separate_connections = len(members) * n_util
    separate_cost = (
        c.trench_yuan_per_m * separate_length
        + sum(getattr(c, f"{u}_yuan_per_m") * separate_by_utility[u] for u in separate_by_utility)
        + c.connection_yuan * separate_connections
    )
    trees = {k: s.tree for k, s in solved.items()}
    edges, length, cost, by_utility, taps = _network_figures(trees, ctx)
    method = "+".join(sorted({s.method for s in solved.values()}))
    if length > separate_length + 1e-6 or cost > separate_cost + 1e-3:
        trees = {k: s.union for k, s in solved.items()}
        edges, length, cost, by_utility, taps = _network_figures(trees, ctx)
        method = "shortest-path union"
    served: dict[object, int] = defaultdict(int)
    for tree in trees.values():
        for key, n in _served(tree, estate_nodes, len(xy)).items():
            served[key] = max(served[key], n)
    row = {
        "corridor_basis": "+".join(sorted({g.basis for g in groups})),
        "corridor_method": method,
        "corridor_length_m": round(length, 1),
        "separate_length_m": round(separate_length, 1),
        "saving_pct": _pct(length, separate_length),
        "cost_yuan": round(cost),
        "separate_cost_yuan": round(separate_cost),
        "cost_saving_pct": _pct(cost, separate_cost),
        "connections": int(sum(taps.values())),
        "separate_connections": int(separate_connections),
        "clearance_conflicts": pd.NA,  # set with the segments (_complete)
    }
    table = [
        {
            "district_id": district_id,
            "utility": "trench",
            "length_m": round(length, 1),
            "separate_length_m": round(separate_length, 1),
            "connections": pd.NA,
            "separate_connections": pd.NA,
            "cost_yuan": round(c.trench_yuan_per_m * length),
            "separate_cost_yuan": round(c.trench_yuan_per_m * separate_length),
        }
    ]
    for utility in by_utility:
        pipe = getattr(c, f"{utility}_yuan_per_m")
        table.append(
            {
                "district_id": district_id,
                "utility": utility,
                "length_m": round(by_utility[utility], 1),
                "separate_length_m": round(separate_by_utility[utility], 1),
                "connections": taps[utility],
                "separate_connections": len(members),
                "cost_yuan": round(pipe * by_utility[utility] + c.connection_yuan * taps[utility]),
                "separate_cost_yuan": round(
                    pipe * separate_by_utility[utility] + c.connection_yuan * len(members)
                ),
            }
        )
    pending = _pending(district_id, edges, served, xy, inside)
    return _DistrictResult(row, None, table, pending)


def _complete(results: list[_DistrictResult], ctx: _Context) -> list[_DistrictResult]:
    """Cut the pending segments of all ``results`` at once and count their clearance conflicts."""
    todo = [r for r in results if r.pending is not None]
    for result, segments in zip(todo, _cut_segments([r.pending for r in todo], ctx), strict=True):
        result.segments, result.pending = segments, None
        if segments is not None and segments.clearance_ok is not None:
            result.row["clearance_conflicts"] = int((~segments.clearance_ok).sum())
    return results


def _assemble(
    rows: list[dict[str, object]],
    segments: list[_Segments | None],
    table: list[dict[str, object]],
    districts: gpd.GeoDataFrame,
    ctx: _Context,
) -> CorridorPlan:
    frame = pd.DataFrame(rows, index=districts.index, columns=list(DISTRICT_CORRIDOR_COLUMNS))
    for col in ("connections", "separate_connections"):
        frame[col] = frame[col].astype("Int64")
    frame["clearance_conflicts"] = frame["clearance_conflicts"].astype("Int64")
    for col in ("corridor_basis", "corridor_method"):
        frame[col] = frame[col].astype("string")
    kept = [s for s in segments if s is not None]
    if kept:
        seg = gpd.GeoDataFrame(
            [r for s in kept for r in s.rows],
            geometry=gpd.GeoSeries([g for s in kept for g in s.geoms], crs=ctx.crs),
            crs=ctx.crs,
        )
        if ctx.buildings is None:
            seg["clearance_ok"] = pd.Series(pd.NA, index=seg.index, dtype="boolean")
        else:
            flags = np.concatenate([s.clearance_ok for s in kept])
            seg["clearance_ok"] = pd.Series(flags, index=seg.index, dtype="boolean")
    else:
        seg = gpd.GeoDataFrame(
            {c: pd.Series(dtype=object) for c in SEGMENT_COLUMNS},
            geometry=gpd.GeoSeries([], crs=ctx.crs),
        )
    seg = seg[[*SEGMENT_COLUMNS, "geometry"]]
    utilities = pd.DataFrame(
        table,
        columns=[
            "district_id",
            "utility",
            "length_m",
            "separate_length_m",
            "connections",
            "separate_connections",
            "cost_yuan",
            "separate_cost_yuan",
        ],
    )
    for col in ("connections", "separate_connections"):
        utilities[col] = utilities[col].astype("Int64")
    return CorridorPlan(segments=seg, districts=frame, utilities=utilities)
