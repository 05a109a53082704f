"""A district's corridor search: the graph of a utility group, the Steiner tree and the baseline.

Holds a utility group's search graph (:class:`_Search`, :func:`_search_graph`: the district's
lines and its links to the municipal network), the two Dijkstra searches of each, run for a
batch of districts (:func:`_search_all`), and the solution of one group (:func:`_solve`): the
approximate Steiner tree (Mehlhorn) and the separate baseline, listed as networkx would list
them (:func:`_listing_order`; for a batch :func:`_solve_all`, :func:`_listing_orders`). The method is described in :mod:`geo.facilities.corridors`.

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


def _search_graph(
    net: _Network,
    candidates: dict[int, tuple[float, shapely.Geometry | None]],
    group: _Group,
    ctx: _Context,
) -> _Search:
    """The graph of a utility group's search (see :class:`_Search`)."""
    per_metre = _per_metre(group.utilities, ctx)
    connection_m = (
        ctx.policy.corridors.connection_yuan * len(group.utilities) / per_metre
        if per_metre > 0
        else 0.0
    )
    main = len(net.xy)
    linked_nodes = sorted(candidates)
    linked = np.array(linked_nodes, dtype=np.int64)
    link_m = np.array([candidates[n][0] for n in linked_nodes], dtype=float)
    return _Search(
        main + 1,
        np.concatenate([net.u, linked]),
        np.concatenate([net.v, np.full(len(linked), main)]),
        np.concatenate([net.w, link_m]),
        np.concatenate([net.w, link_m + connection_m]),
        len(net.u),
        group.utilities,
    )


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
