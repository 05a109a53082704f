"""A district's corridor search: the graph of a utility group, the Steiner tree and the baseline.

Holds a utility group's search graph (:class:`_Search`, made for a batch by
:func:`_search_graphs`: the district's lines and its links to the municipal network), the two
Dijkstra searches of each, run for a batch (:func:`_search_all`), and the solutions
(:func:`_solve_all`, one group's :func:`_solve`): the approximate Steiner tree (Mehlhorn) and the
separate baseline, listed as networkx would list them (:func:`_listing_order`, for a batch
:func:`_listing_orders`). The method is described in :mod:`geo.facilities.corridors`.

May import: numpy, scipy, shapely, geo.core and :mod:`~geo.facilities.corridor_layers`,
:mod:`~geo.facilities.corridor_network`, :mod:`~geo.facilities.corridor_segments`,
:mod:`~geo.facilities.corridor_costs`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from scipy import sparse
from scipy.sparse.csgraph import dijkstra

from geo.facilities.corridor_costs import _Solution, _Tree
from geo.facilities.corridor_layers import _Context, _Group
from geo.facilities.corridor_network import (
    _Edges,
    _mehlhorn_trees,
    _nearest_terminals,
    _Network,
    _route,
    _towards,
    _towards_flat,
)
from geo.facilities.corridor_segments import _per_metre

STEINER_METHOD = "mehlhorn"


@dataclass
class _Search:
    """A utility group's graph for the search, its matrix and edge finder once made.

    The district's lines, then the links to the municipal network (node ``n - 1``), each
    weighted by its length plus, for a link, the connection's cost in metres of corridor. The
    matrix and the edge finder are made for a batch of districts at once
    (:func:`~geo.facilities.corridor_network._scan_csrs`).
    """

    n: int
    u: np.ndarray
    v: np.ndarray
    length: np.ndarray
    weight: np.ndarray
    n_lines: int
    utilities: tuple[str, ...]
    matrix: sparse.csr_matrix | None = None
    edges: _Edges | None = None
    searched: _Searched | None = None


@dataclass
class _Searched:
    """A search graph's two Dijkstra searches (made for a batch, :func:`_search_all`).

    ``pred``, ``toward``: each node's predecessor and the edge to it in the shortest-path tree
    from the municipal network (the separate baseline); ``dist``, ``source``, ``near_pred``,
    ``near_toward``: each node's nearest terminal (Mehlhorn's first step), its distance and the
    same.
    """

    terminals: np.ndarray
    pred: list[int]
    toward: list[int]
    dist: np.ndarray
    source: np.ndarray
    near_pred: np.ndarray
    near_toward: np.ndarray


def _search_all(searches: list[_Search], estate_nodes: list[dict[str, int]]) -> None:
    """Run each search's two Dijkstra searches; the edges toward the predecessors all at once."""
    preds, baseline, nearest = [], [], []
    for search, nodes in zip(searches, estate_nodes, strict=True):
        assert search.matrix is not None and search.edges is not None
        main = search.n - 1
        _, pred = dijkstra(search.matrix, directed=True, indices=main, return_predecessors=True)
        terminals = np.array(sorted({*nodes.values(), main}))
        dist, near_pred, source = _nearest_terminals(search.matrix, terminals)
        preds.append((terminals, pred, dist, near_pred, source))
        baseline.append((search.edges, pred))
        nearest.append((search.edges, near_pred))
    towards = iter(_towards(baseline))
    near_toward, counts = _towards_flat(nearest)
    ends = np.cumsum(counts).tolist()
    for search, (terminals, pred, dist, near_pred, source), a, b in zip(
        searches, preds, [0, *ends[:-1]], ends, strict=True
    ):
        search.searched = _Searched(
            terminals, pred.tolist(), next(towards), dist, source, near_pred, near_toward[a:b]
        )


def _search_graphs(
    items: list[tuple[_Network, dict[int, tuple[float, shapely.Geometry | None]], _Group]],
    ctx: _Context,
) -> list[_Search]:
    """Per (graph, connection nodes, group): the graph of its search (see :class:`_Search`).

    The arrays of all are made at once (each search's are parts of one array).
    """
    connection: dict[tuple[str, ...], float] = {}
    parts_u: list[np.ndarray] = []
    parts_v: list[np.ndarray] = []
    parts_w: list[np.ndarray] = []
    linked: list[int] = []
    link_m: list[float] = []
    sizes = []
    for net, candidates, group in items:
        if group.utilities not in connection:
            per_metre = _per_metre(group.utilities, ctx)
            connection[group.utilities] = (
                ctx.policy.corridors.connection_yuan * len(group.utilities) / per_metre
                if per_metre > 0
                else 0.0
            )
        nodes = sorted(candidates)
        linked.extend(nodes)
        link_m.extend(candidates[n][0] for n in nodes)
        parts_u.append(net.u)
        parts_v.append(net.v)
        parts_w.append(net.w)
        sizes.append((len(net.xy), len(net.u), len(nodes)))
    at = np.cumsum([0] + [k for _, _, k in sizes]).tolist()
    links = np.array(linked, dtype=np.int64)
    link_length = np.array(link_m, dtype=float)
    mains = np.repeat([n for n, _, _ in sizes], [k for _, _, k in sizes]).astype(np.int64)
    link_weight = link_length + np.repeat(
        [connection[group.utilities] for _, _, group in items], [k for _, _, k in sizes]
    )
    pieces: list[list[np.ndarray]] = [[], [], [], []]
    for i, (u, v, w) in enumerate(zip(parts_u, parts_v, parts_w, strict=True)):
        a, b = at[i], at[i + 1]
        for piece, line, link in zip(
            pieces, (u, v, w, w), (links, mains, link_length, link_weight), strict=True
        ):
            piece.extend([line, link[a:b]])
    u_all, v_all, length_all, weight_all = (
        np.concatenate([np.zeros(0, dtype=dtype), *piece])
        for piece, dtype in zip(pieces, (np.int64, np.int64, float, float), strict=True)
    )
    out = []
    start = 0
    for (n, m, k), (_, _, group) in zip(sizes, items, strict=True):
        end = start + m + k
        arrays = (u_all[start:end], v_all[start:end], length_all[start:end], weight_all[start:end])
        out.append(_Search(n + 1, *arrays, m, group.utilities))
        start = end
    return out


def _solve_all(
    items: list[tuple[dict[str, int], dict[int, tuple[float, shapely.Geometry | None]], _Search]],
) -> list[_Solution]:
    """Steiner tree and separate baseline of each utility group, on its search graph.

    ``items``: per group, its members' nodes, its connection nodes (node -> (link length, line))
    and its search (:func:`_search_all` run before, or run here). The trees are listed for all
    groups at once (:func:`_listing_orders`).
    """
    for estate_nodes, _, search in items:
        if search.searched is None:
            _search_all([search], [estate_nodes])
    found = [search.searched for _, _, search in items]
    trees = _mehlhorn_trees(
        [(search.u, search.v, search.weight) for _, _, search in items],
        [(f.dist, f.source, f.near_pred, f.near_toward) for f in found],  # type: ignore[union-attr]
    )
    solved = [
        _solve(estate_nodes, search, tree)
        for (estate_nodes, _, search), tree in zip(items, trees, strict=True)
    ]
    chosen = [(search, ks) for (_, _, search), (ks, _, _, _) in zip(items, solved, strict=True)]
    orders = _listing_orders([(search.u[ks], search.v[ks]) for search, ks in chosen])
    out = []
    for (_, candidates, search), (ks, union, paths, steiner), order in zip(
        items, solved, orders, strict=True
    ):
        tree = _listed(search, candidates, ks, order)
        if steiner:
            union_of = lambda s=search, c=candidates, un=union: _listed(s, c, un)  # noqa: E731
            out.append(_Solution(tree, paths, union_of, f"steiner-{STEINER_METHOD}"))
        else:
            out.append(_Solution(tree, paths, lambda t=tree: t, "shortest-path union"))
    return out


def _solve(
    estate_nodes: dict[str, int], search: _Search, tree: np.ndarray
) -> tuple[np.ndarray, np.ndarray, dict[str, dict[object, float]], bool]:
    """A group's chosen tree's edges, the baseline's union, its paths, and whether Steiner's.

    The Steiner tree (``tree``, its edges: :func:`_mehlhorn_trees`) unless the union of the
    baseline paths weighs less.
    """
    found = search.searched
    assert found is not None
    u, length, weight = search.u, search.length, search.weight
    n_lines = search.n_lines  # edges from here on are the links to the municipal network

    # the separate baseline: each estate's shortest path to the network
    paths: dict[str, dict[object, float]] = {}
    u_list, length_list = u.tolist(), length.tolist()
    utilities = search.utilities
    in_union: set[int] = set()
    toward, pred_list = found.toward, found.pred
    for estate_id, node in estate_nodes.items():
        ks = _route(pred_list, toward, node)
        paths[estate_id] = {
            (k if k < n_lines else ("main", u_list[k], utilities)): length_list[k] for k in ks
        }
        in_union.update(ks)
    # the paths run in one shortest-path tree from the network: their union is a tree whose
    # leaves are estates (a minimum spanning tree of it is itself, pruning leaves nothing)
    union = np.array(sorted(in_union), dtype=np.int64)
    if weight[tree].sum() <= weight[union].sum() + 1e-9:
        return tree, union, paths, True
    return union, union, paths, False


def _listed(
    search: _Search,
    candidates: dict[int, tuple[float, shapely.Geometry | None]],
    ks: np.ndarray,
    order: list[int] | None = None,
) -> _Tree:
    """The tree of edges ``ks`` of a search graph, listed in ``order`` (:func:`_listing_order`)."""
    if order is None:
        order = _listing_order(search.u[ks].tolist(), search.v[ks].tolist())
    picked = ks[np.asarray(order, dtype=np.int64)]
    uv = np.stack([search.u[picked], search.v[picked]], axis=1)
    us, vs = uv[:, 0].tolist(), uv[:, 1].tolist()
    keys: list[object] = picked.tolist()
    links: list[shapely.Geometry | None] = [None] * len(keys)
    for i in np.flatnonzero(picked >= search.n_lines).tolist():
        keys[i] = ("main", us[i], search.utilities)
        links[i] = candidates[us[i]][1]
    ends = list(zip(us, vs, strict=True))
    length = search.length[picked].tolist()
    return _Tree(keys, ends, length, links, picked, uv, search.n_lines)


def _listing_orders(pairs: list[tuple[np.ndarray, np.ndarray]]) -> list[list[int]]:
    """``[_listing_order(a, b) for a, b in pairs]`` (node numbers from 0), all at once."""
    counts = [len(a) for a, _ in pairs]
    if not sum(counts):
        return [[] for _ in pairs]
    owner = np.repeat(np.arange(len(pairs)), counts)
    a = np.concatenate([np.asarray(a, dtype=np.int64) for a, _ in pairs])
    b = np.concatenate([np.asarray(b, dtype=np.int64) for _, b in pairs])
    sizes = np.zeros(len(pairs), dtype=np.int64)
    np.maximum.at(sizes, owner, np.maximum(a, b) + 1)
    offset = np.concatenate([[0], np.cumsum(sizes)])
    ga, gb = a + offset[owner], b + offset[owner]
    position = np.arange(len(a)) - np.repeat(np.cumsum([0, *counts[:-1]]), counts)
    first = np.full(int(offset[-1]), np.iinfo(np.int64).max)  # each node's first appearance
    np.minimum.at(first, ga, 2 * position)
    np.minimum.at(first, gb, 2 * position + 1)
    order = np.lexsort((position, np.minimum(first[ga], first[gb]), owner))
    flat = position[order].tolist()
    ends = np.cumsum(counts).tolist()
    return [flat[i:j] for i, j in zip([0, *ends[:-1]], ends, strict=True)]


def _listing_order(a: list[int], b: list[int]) -> list[int]:
    """The order in which ``networkx.Graph`` lists edges ``(a, b)`` added in the given order.

    A graph lists each node's edges to nodes not listed yet, nodes in the order they were first
    added (``a`` before ``b``), each node's edges in the order they were added. So an edge comes
    at its earlier end, ordered by when that end first appeared, then by position.
    """
    first: dict[int, int] = {}
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        first.setdefault(x, 2 * i)
        first.setdefault(y, 2 * i + 1)
    n = len(a)  # (earlier end's first appearance, position) as one number
    order = sorted(
        min(first[x], first[y]) * n + i for i, (x, y) in enumerate(zip(a, b, strict=True))
    )
    return [k % n for k in order]
