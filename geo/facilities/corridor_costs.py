"""The accounting of the corridors: lengths, costs and the run's tables.

Holds what a planned district becomes: the corridor and separate-baseline figures per district
and utility (:func:`_choose`, :func:`_trunks` for a batch, :func:`_account`), its segments cut for a batch of districts at once
(:func:`_complete`, by :mod:`geo.facilities.corridor_segments`), and the run's
:class:`CorridorPlan` (:func:`_assemble`) with its column lists.

May import: numpy, pandas, geopandas, shapely, geo.core and
:mod:`geo.facilities.corridor_layers`, :mod:`geo.facilities.corridor_segments`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import reduce
from operator import add

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse.csgraph import breadth_first_order

from geo.facilities.corridor_layers import _Context, _Group
from geo.facilities.corridor_segments import _cut_segments, _Pending, _pending

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


#: The columns of the per-utility table (one row per district and utility, plus ``trench``).
UTILITY_TABLE_COLUMNS = (
    "district_id",
    "utility",
    "length_m",
    "separate_length_m",
    "connections",
    "separate_connections",
    "cost_yuan",
    "separate_cost_yuan",
)


@dataclass
class _Planned:
    """Consecutive districts' corridors as plain rows, without district ids (added at the end).

    ``rows``: per district, its values of :data:`DISTRICT_CORRIDOR_COLUMNS`; ``table``: the rows
    of :data:`UTILITY_TABLE_COLUMNS` but the first, district by district, ``table_at`` where each
    district's start (one more: the end); ``segments``: per segment its values of
    :data:`SEGMENT_COLUMNS` from ``utilities`` to ``clearance_m``, district by district, with
    ``segments_at``, ``geoms`` (their lines) and ``clearance_ok`` (None without buildings).
    Small to send back from a worker process: the lines travel as coordinate arrays.
    """

    rows: list[list[object]]
    table: list[tuple[object, ...]]
    table_at: list[int]
    segments: list[tuple[object, ...]]
    segments_at: list[int]
    geoms: np.ndarray
    clearance_ok: np.ndarray | None

    def __len__(self) -> int:
        return len(self.rows)

    def district(self, i: int) -> _Planned:
        """The ``i``-th district's part (for the memo of district plans)."""
        t0, t1 = self.table_at[i], self.table_at[i + 1]
        s0, s1 = self.segments_at[i], self.segments_at[i + 1]
        return _Planned(
            [list(self.rows[i])],
            self.table[t0:t1],
            [0, t1 - t0],
            self.segments[s0:s1],
            [0, s1 - s0],
            self.geoms[s0:s1],
            None if self.clearance_ok is None else self.clearance_ok[s0:s1],
        )

    @classmethod
    def joined(cls, parts: list[_Planned], buildings: bool) -> _Planned:
        """The parts one after the other (``buildings``: whether segments have a clearance flag)."""

        def starts(ats: list[list[int]]) -> list[int]:
            out = [0]
            for at in ats:
                base = out[-1]
                out.extend(base + x for x in at[1:])
            return out

        geoms = [p.geoms for p in parts]
        return cls(
            [row for p in parts for row in p.rows],
            [row for p in parts for row in p.table],
            starts([p.table_at for p in parts]),
            [row for p in parts for row in p.segments],
            starts([p.segments_at for p in parts]),
            np.concatenate(geoms) if geoms else np.empty(0, dtype=object),
            np.concatenate(
                [
                    np.zeros(0, dtype=bool),
                    *(p.clearance_ok for p in parts if p.clearance_ok is not None),
                ]
            )
            if buildings
            else None,
        )

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state["geoms"] = _packed(self.geoms)
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        state["geoms"] = _unpacked(state["geoms"])
        self.__dict__.update(state)


def _packed(geoms: np.ndarray) -> tuple[object, ...]:
    """Lines as coordinate arrays (WKB when not all are LineStrings): exact, and quick to pickle."""
    if len(geoms) and (shapely.get_type_id(geoms) == shapely.GeometryType.LINESTRING).all():
        _, coords, offsets = shapely.to_ragged_array(geoms)
        return ("ragged", coords, offsets)
    return ("wkb", shapely.to_wkb(geoms))


def _unpacked(packed: tuple[object, ...]) -> np.ndarray:
    if packed[0] == "ragged":
        _, coords, offsets = packed
        return shapely.from_ragged_array(shapely.GeometryType.LINESTRING, coords, offsets)
    return shapely.from_wkb(packed[1])


@dataclass
class _Tree:
    """A utility group's corridor tree on the district's graph, edge by edge.

    Edges are listed in the order a ``networkx.Graph`` built from them in edge order would list
    them (the segments and the sums follow it). ``keys``: the edge's key, its index in the graph
    for a line, ``("main", node, utilities)`` for a link to the municipal network; ``ends``: its
    node indices (the municipal network is the node after the graph's last); ``length`` (m);
    ``links``: for a link, its line to the main (None: on it, or no main). The same as arrays
    when known: ``index``, each edge's number in the search graph (from ``n_lines`` on: a link),
    and ``uv``, its ends, ``(edges, 2)``.
    """

    keys: list[object]
    ends: list[tuple[int, int]]
    length: list[float]
    links: list[shapely.Geometry | None]
    index: np.ndarray | None = None
    uv: np.ndarray | None = None
    n_lines: int = 0


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


def _trunks(districts: list[tuple[list[_Tree], dict[str, int], int]]) -> list[set[int]]:
    """Per district, its line edges (keys) that serve two or more estates in one of its trees.

    ``districts``: per district its trees, each member's node and the node of the municipal
    network (the trees' root). An edge serves the estates downstream of it (a member counts at
    its node; two members at one node count twice). All trees of all districts at once: one
    breadth-first search from a node joined to every root gives each node's parent, then every
    member walks up to its root, adding one at each node it passes.
    """
    trees = [(tree, nodes, main) for trees, nodes, main in districts for tree in trees]
    if not trees:
        return [set() for _ in districts]
    sizes = np.array([main + 1 for _, _, main in trees], dtype=np.int64)
    offset = np.concatenate([[0], np.cumsum(sizes)])
    total = int(offset[-1])  # the node joined to every root
    counts = [len(tree.ends) for tree, _, _ in trees]
    owner = np.repeat(np.arange(len(trees)), counts)
    ends = np.concatenate(
        [np.zeros((0, 2), dtype=np.int64)]
        + [
            tree.uv if tree.uv is not None else np.array(tree.ends, dtype=np.int64).reshape(-1, 2)
            for tree, _, _ in trees
        ]
    )
    a, b = ends[:, 0] + offset[owner], ends[:, 1] + offset[owner]
    roots = offset[1:] - 1
    rows = np.concatenate([a, b, roots, np.full(len(roots), total)])
    cols = np.concatenate([b, a, np.full(len(roots), total), roots])
    graph = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(total + 1, total + 1))
    _, parent = breadth_first_order(graph, total, directed=True, return_predecessors=True)
    below = np.zeros(total + 1, dtype=np.int64)
    at = np.array(
        [offset[t] + node for t, (_, nodes, _) in enumerate(trees) for node in nodes.values()],
        dtype=np.int64,
    )
    at = at[parent[at] >= 0]  # members the tree reaches
    while len(at):
        np.add.at(below, at, 1)
        at = parent[at]
        at = at[(at >= 0) & (at != total)]
    # each edge serves the estates below its lower end (none: an edge the root does not reach)
    child = np.where(parent[a] == b, a, np.where(parent[b] == a, b, total))
    trunk = np.flatnonzero(below[child] >= 2)
    edge_at = np.concatenate([[0], np.cumsum(counts)])
    at_tree = np.searchsorted(trunk, edge_at).tolist()
    trunk_list = trunk.tolist()
    out: list[set[int]] = []
    t = 0
    for trees_here, _, _ in districts:
        found: set[int] = set()
        for tree in trees_here:
            start = int(edge_at[t])
            keys = tree.keys
            found.update(
                k
                for k in (keys[j - start] for j in trunk_list[at_tree[t] : at_tree[t + 1]])
                if type(k) is not tuple
            )
            t += 1
        out.append(found)
    return out


def _network_figures(
    trees: dict[tuple[str, ...], _Tree], ctx: _Context
) -> tuple[dict | None, float, float, dict[str, float], dict[str, int]]:
    """Edges with their utilities, trench length (m), cost (yuan), per-utility length and taps.

    The edges of a single tree are its own (None; :func:`_pending` takes the tree): its sums are
    the same, in the same order.
    """
    edges: dict[object, dict[str, object]] | None = {}
    by_utility: dict[str, float] = {}
    taps: dict[str, int] = {}
    if len(trees) == 1:
        ((utilities, tree),) = trees.items()
        length = reduce(add, tree.length, 0.0)  # as the loop below, edge by edge
        connections = sum(type(key) is tuple for key in tree.keys)
        by_utility = dict.fromkeys(utilities, length)
        taps = dict.fromkeys(utilities, connections)
        edges, trench = None, sum(tree.length)
    for utilities, tree in trees.items() if edges is not None else ():
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
    if edges is not None:
        trench = sum(e["length"] for e in edges.values())
    cost = (
        c.trench_yuan_per_m * trench
        + sum(getattr(c, f"{u}_yuan_per_m") * by_utility[u] for u in by_utility)
        + c.connection_yuan * sum(taps.values())
    )
    return edges, trench, cost, by_utility, taps


@dataclass
class _Chosen:
    """A district's network as chosen (:func:`_choose`), with its figures and the baseline's."""

    trees: dict[tuple[str, ...], _Tree]
    edges: dict[object, dict[str, object]] | None  # None: the one tree's (see _network_figures)
    length: float
    cost: float
    by_utility: dict[str, float]
    taps: dict[str, int]
    method: str
    separate_length: float
    separate_by_utility: dict[str, float]
    separate_cost: float
    separate_connections: int


def _choose(
    members: list[str],
    groups: list[_Group],
    solved: dict[tuple[str, ...], _Solution],
    ctx: _Context,
) -> _Chosen:
    """A district's network from its groups' solutions (method step 5), and the baseline's figures.

    The groups' trees, or the union of the baseline paths where the trees are longer or costlier
    than the separate baseline.
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
    return _Chosen(
        trees, edges, length, cost, by_utility, taps, method, separate_length,
        separate_by_utility, separate_cost, separate_connections,
    )  # fmt: skip


def _account(
    members: list[str],
    inside: shapely.Geometry,
    xy: np.ndarray,
    groups: list[_Group],
    chosen: _Chosen,
    trunks: set[int],
    ctx: _Context,
) -> tuple[list[object], list[tuple[object, ...]], _Pending]:
    """A district's row and per-utility rows from its chosen network, its segments pending.

    ``xy``: the graph's nodes (m), ``(n, 2)``; ``trunks``: the line edges serving two or more
    estates (:func:`_trunks`); ``inside``: see :func:`geo.facilities.corridor_segments._inside`.
    The segments are cut by :func:`_complete`.
    """
    c = ctx.policy.corridors
    ch = chosen
    length, cost, by_utility, taps, method = ch.length, ch.cost, ch.by_utility, ch.taps, ch.method
    separate_length, separate_by_utility = ch.separate_length, ch.separate_by_utility
    separate_cost, separate_connections = ch.separate_cost, ch.separate_connections
    row: list[object] = [  # DISTRICT_CORRIDOR_COLUMNS
        "+".join(sorted({g.basis for g in groups})),
        method,
        round(length, 1),
        round(separate_length, 1),
        _pct(length, separate_length),
        round(cost),
        round(separate_cost),
        _pct(cost, separate_cost),
        int(sum(taps.values())),
        int(separate_connections),
        pd.NA,  # clearance conflicts: set with the segments (_complete)
    ]
    table: list[tuple[object, ...]] = [  # UTILITY_TABLE_COLUMNS but the district
        (
            "trench",
            round(length, 1),
            round(separate_length, 1),
            pd.NA,
            pd.NA,
            round(c.trench_yuan_per_m * length),
            round(c.trench_yuan_per_m * separate_length),
        )
    ]
    for utility in by_utility:
        pipe = getattr(c, f"{utility}_yuan_per_m")
        table.append(
            (
                utility,
                round(by_utility[utility], 1),
                round(separate_by_utility[utility], 1),
                taps[utility],
                len(members),
                round(pipe * by_utility[utility] + c.connection_yuan * taps[utility]),
                round(pipe * separate_by_utility[utility] + c.connection_yuan * len(members)),
            )
        )
    return row, table, _pending(ch.edges, ch.trees, trunks, xy, inside)


def _complete(
    accounted: list[tuple[list[object], list[tuple[object, ...]], _Pending]], ctx: _Context
) -> _Planned:
    """The districts' rows (from :func:`_account`, in order) with their segments, cut at once.

    A district's clearance conflicts are counted when it has segments and there are buildings.
    """
    rows = [row for row, _, _ in accounted]
    table_at = [0]
    for _, table, _ in accounted:
        table_at.append(table_at[-1] + len(table))
    segments, segments_at, geoms, ok = _cut_segments([p for _, _, p in accounted], ctx)
    if ok is not None:
        for row, a, b in zip(rows, segments_at[:-1], segments_at[1:], strict=True):
            if b > a:
                row[-1] = int((~ok[a:b]).sum())
    return _Planned(
        rows, [t for _, table, _ in accounted for t in table], table_at, segments, segments_at,
        geoms, ok,
    )  # fmt: skip


def _assemble(
    planned: _Planned, district_ids: list[str], districts: gpd.GeoDataFrame, ctx: _Context
) -> CorridorPlan:
    """The run's :class:`CorridorPlan` from its districts' rows (``district_ids``: in order)."""
    frame = pd.DataFrame(
        planned.rows, index=districts.index, columns=list(DISTRICT_CORRIDOR_COLUMNS)
    )
    for col in ("connections", "separate_connections"):
        frame[col] = frame[col].astype("Int64")
    frame["clearance_conflicts"] = frame["clearance_conflicts"].astype("Int64")
    for col in ("corridor_basis", "corridor_method"):
        frame[col] = frame[col].astype("string")
    if planned.segments:
        counts = np.diff(np.asarray(planned.segments_at, dtype=np.int64))
        seg = gpd.GeoDataFrame(
            pd.DataFrame(planned.segments, columns=list(SEGMENT_COLUMNS[1:-1])).assign(
                district_id=np.repeat(np.array(district_ids, dtype=object), counts).tolist()
            ),
            geometry=gpd.GeoSeries(planned.geoms, crs=ctx.crs),
            crs=ctx.crs,
        )
        if planned.clearance_ok is None:
            seg["clearance_ok"] = pd.Series(pd.NA, index=seg.index, dtype="boolean")
        else:
            seg["clearance_ok"] = pd.Series(planned.clearance_ok, index=seg.index, dtype="boolean")
    else:
        seg = gpd.GeoDataFrame(
            {c: pd.Series(dtype=object) for c in SEGMENT_COLUMNS},
            geometry=gpd.GeoSeries([], crs=ctx.crs),
        )
    seg = seg[[*SEGMENT_COLUMNS, "geometry"]]
    counts = np.diff(np.asarray(planned.table_at, dtype=np.int64))
    utilities = pd.DataFrame(planned.table, columns=list(UTILITY_TABLE_COLUMNS[1:]))
    utilities.insert(
        0, "district_id", np.repeat(np.array(district_ids, dtype=object), counts).tolist()
    )
    for col in ("connections", "separate_connections"):
        utilities[col] = utilities[col].astype("Int64")
    return CorridorPlan(segments=seg, districts=frame, utilities=utilities)
