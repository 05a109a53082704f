"""The accounting of the corridors: lengths, costs, segments and the run's tables.

Holds what a planned district becomes: the corridor and separate-baseline figures per district
and utility (:func:`_account`), the segments as trunk / branch / connection lines with their
GB 50289-2016 clearance check (:func:`_segments`), and the run's :class:`CorridorPlan`
(:func:`_assemble`) with its column lists.

May import: numpy, pandas, geopandas, shapely, geo.core and
:mod:`geo.facilities.corridor_layers`.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.core.policy import UTILITIES
from geo.facilities.corridor_layers import _Context, _Group

MAIN = "municipal network"
_INSIDE_M = 0.5

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
class _Segments:
    """A district's segments as plain rows (one GeoDataFrame is made for the run, not for each)."""

    rows: list[dict[str, object]]
    geoms: list[shapely.Geometry]
    clearance_ok: np.ndarray | None  # None without buildings


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
    union: _Tree
    method: str


def _per_metre(utilities: tuple[str, ...], ctx: _Context) -> float:
    c = ctx.policy.corridors
    return c.trench_yuan_per_m + sum(getattr(c, f"{u}_yuan_per_m") for u in utilities)


@functools.lru_cache(maxsize=1 << 16)
def _node_text(node: object) -> str:
    """``str(node)``, remembered: a node's text orders the ends of every line it is in."""
    return str(node)


def _edge_key(u: object, v: object) -> tuple[object, object]:
    return (u, v) if _node_text(u) <= _node_text(v) else (v, u)


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
        for key, ends, m, link in zip(tree.keys, tree.ends, tree.length, tree.links, strict=True):
            entry = edges.get(key)
            if entry is None:
                entry = edges[key] = {"utilities": set(), "length": m, "link": link, "ends": ends}
            entry["utilities"] |= set(utilities)
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
    points: list[tuple[float, float]],
    estate_nodes: dict[str, int],
    groups: list[_Group],
    solved: dict[tuple[str, ...], _Solution],
    ctx: _Context,
) -> _DistrictResult:
    """A district's row, segments and per-utility rows from its groups' solutions.

    ``points``: the graph's nodes (m); ``estate_nodes``: each member's node; ``inside``: see
    :func:`_inside`.
    """
    c = ctx.policy.corridors
    # the separate baseline: per estate, its own trench (union of its paths) and connections
    separate_length = 0.0
    separate_by_utility: dict[str, float] = defaultdict(float)
    for estate_id in members:
        own: dict[tuple[object, ...], float] = {}
        for utilities, sol in solved.items():
            own.update(sol.paths[estate_id])
            for utility in utilities:
                separate_by_utility[utility] += sum(sol.paths[estate_id].values())
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
        for key, n in _served(tree, estate_nodes, len(points)).items():
            served[key] = max(served[key], n)
    segments = _segments(district_id, edges, served, points, inside, ctx)
    conflicts = (
        int((~segments.clearance_ok).sum())
        if segments is not None and segments.clearance_ok is not None
        else pd.NA
    )
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
        "clearance_conflicts": conflicts,
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
    return _DistrictResult(row, segments, table)


def _segments(
    district_id: str,
    edges: dict[object, dict[str, object]],
    served: dict[object, int],
    points: list[tuple[float, float]],
    inside: shapely.Geometry,
    ctx: _Context,
) -> _Segments | None:
    parts: dict[tuple[str, str], list[shapely.Geometry]] = defaultdict(list)
    # the straight edges as lines, all at once (in edge order)
    ends = [
        _edge_key(points[e["ends"][0]], points[e["ends"][1]])
        for key, e in edges.items()
        if type(key) is not tuple
    ]
    lines = iter(shapely.linestrings(np.array(ends, dtype=float)) if ends else ())
    names: dict[frozenset[str], str] = {}
    for key, entry in edges.items():
        served_by = frozenset(entry["utilities"])
        utilities = names.get(served_by)
        if utilities is None:
            utilities = names[served_by] = ",".join(u for u in UTILITIES if u in served_by)
        if type(key) is tuple:
            if entry["link"] is not None:  # the link from a node to a main
                parts[(utilities, "connection")].append(entry["link"])
            continue
        kind = "trunk" if served.get(key, 0) >= 2 else "branch"
        parts[(utilities, kind)].append(next(lines))
    # the parts outside the outline (beyond the estates' red lines) are the connection
    inner = [key for key in parts if key[1] != "connection"]
    if inner:
        both = _per_part(parts, inner)
        # (lines the district covers have nothing outside: the prepared test is much cheaper)
        check = np.flatnonzero(~shapely.covers(inside, both))
        outside = shapely.difference(both[check], inside)
        beyond = np.flatnonzero(~shapely.is_empty(outside))
        within = shapely.intersection(both[check[beyond]], inside) if len(beyond) else []
        for i, kept in zip(beyond.tolist(), within, strict=True):
            utilities, kind = inner[int(check[i])]
            parts[(utilities, kind)] = list(shapely.get_parts(kept))
            parts[(utilities, "connection")].extend(shapely.get_parts(outside[i]))
    keys = []
    for key in sorted(parts):
        line_parts = np.array(parts[key], dtype=object)
        keep = (shapely.get_type_id(line_parts) == 1) & (shapely.length(line_parts) > 0)
        parts[key] = list(line_parts[keep])
        if keep.any():
            keys.append(key)
    if not keys:
        return None
    pieces, which = shapely.get_parts(shapely.line_merge(_per_part(parts, keys)), return_index=True)
    lengths = shapely.length(pieces).tolist()
    rows = []
    c = ctx.policy.corridors
    costs = {}
    for (utilities, kind), length in zip((keys[i] for i in which.tolist()), lengths, strict=True):
        if utilities not in costs:
            split = utilities.split(",")
            costs[utilities] = (
                _per_metre(tuple(split), ctx),
                max(getattr(c, f"clearance_{u}_m") for u in split),
            )
        per_metre, clearance = costs[utilities]
        rows.append(
            {
                "district_id": district_id,
                "utilities": utilities,
                "kind": kind,
                "length_m": round(length, 1),
                "cost_yuan": round(length * per_metre),
                "clearance_m": clearance,
            }
        )
    clearances = np.array([r["clearance_m"] for r in rows], dtype=float)
    return _Segments(rows, list(pieces), _clearance_ok(pieces, clearances, ctx))


def _per_part(
    parts: dict[tuple[str, str], list[shapely.Geometry]], keys: list[tuple[str, str]]
) -> np.ndarray:
    """One MultiLineString of the lines of each key, in the order of ``keys``."""
    lines = [g for key in keys for g in parts[key]]
    index = np.repeat(np.arange(len(keys)), [len(parts[key]) for key in keys])
    return shapely.multilinestrings(np.array(lines, dtype=object), indices=index)


def _inside(outlines: np.ndarray, ctx: _Context) -> np.ndarray:
    """Each district as its segments see it, prepared: lines inside are trunks and branches.

    The outline closed over the gaps between members (at most the adjacency tolerance wide),
    plus 0.5 m so lines along the outline count as inside; the rest is the connection.
    """
    close = ctx.policy.adjacency.tolerance_m / 2 + _INSIDE_M
    inside = shapely.buffer(shapely.buffer(outlines, close), _INSIDE_M - close)
    shapely.prepare(inside)
    return inside


def _clearance_ok(geoms: np.ndarray, clearances: np.ndarray, ctx: _Context) -> np.ndarray | None:
    """False where a segment comes closer to a building than its clearance; None without them."""
    if ctx.buildings is None:
        return None
    ok = np.ones(len(geoms), dtype=bool)
    for clearance in pd.unique(clearances):
        rows = np.flatnonzero(clearances == clearance)
        near = ctx.buildings.query(geoms[rows], predicate="dwithin", distance=float(clearance))[0]
        ok[rows[np.unique(near)]] = False
    return ok


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
