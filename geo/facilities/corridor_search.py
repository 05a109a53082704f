"""A district's corridor search: the graph of a utility group, the Steiner tree and the baseline.

Holds a utility group's search graph (:class:`_Search`, :func:`_search_graph`: the district's
lines and its links to the municipal network), the two Dijkstra searches of each, run for a
batch of districts (:func:`_search_all`), and the solution of one group (:func:`_solve`): the
approximate Steiner tree (Mehlhorn) and the separate baseline, listed as networkx would list
them (:func:`_listing_order`). The method is described in :mod:`geo.facilities.corridors`.

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
    _mehlhorn_tree,
    _nearest_terminals,
    _Network,
    _route,
    _towards,
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
    near_pred: list[int]
    near_toward: list[int]


def _search_all(searches: list[_Search], estate_nodes: list[dict[str, int]]) -> None:
    """Run each search's two Dijkstra searches; the edges toward the predecessors all at once."""
    preds, found = [], []
    for search, nodes in zip(searches, estate_nodes, strict=True):
        assert search.matrix is not None and search.edges is not None
        main = search.n - 1
        _, pred = dijkstra(search.matrix, directed=True, indices=main, return_predecessors=True)
        terminals = np.array(sorted({*nodes.values(), main}))
        dist, near_pred, source = _nearest_terminals(search.matrix, terminals)
        preds.append((terminals, pred, dist, near_pred, source))
        found.extend([(search.edges, pred), (search.edges, near_pred)])
    towards = iter(_towards(found))
    for search, (terminals, pred, dist, near_pred, source) in zip(searches, preds, strict=True):
        search.searched = _Searched(
            terminals, pred.tolist(), next(towards), dist, source, near_pred.tolist(), next(towards)
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


def _solve(
    estate_nodes: dict[str, int],
    candidates: dict[int, tuple[float, shapely.Geometry | None]],
    search: _Search,
) -> _Solution:
    """Steiner tree and separate baseline of one utility group, on its search graph."""
    if search.searched is None:
        _search_all([search], [estate_nodes])
    found = search.searched
    assert found is not None
    u, v, length, weight = search.u, search.v, search.length, search.weight
    n_lines = search.n_lines  # edges from here on are the links to the municipal network

    # the separate baseline: each estate's shortest path to the network
    paths: dict[str, dict[object, float]] = {}
    u_list, v_list, length_list = u.tolist(), v.tolist(), length.tolist()
    utilities = search.utilities

    def key(k: int) -> object:
        """An edge's key: its index for a line, ("main", node, utilities) for a link."""
        return k if k < n_lines else ("main", u_list[k], utilities)

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
    tree = _mehlhorn_tree(
        u, v, weight, found.dist, found.source, found.near_pred, found.near_toward
    )

    def listed(ks: np.ndarray) -> _Tree:
        edges = ks.tolist()
        order = [edges[i] for i in _listing_order(u[ks].tolist(), v[ks].tolist())]
        return _Tree(
            [key(k) for k in order],
            [(u_list[k], v_list[k]) for k in order],
            [length_list[k] for k in order],
            [candidates[u_list[k]][1] if k >= n_lines else None for k in order],
        )

    if weight[tree].sum() <= weight[union].sum() + 1e-9:
        return _Solution(listed(tree), paths, lambda: listed(union), f"steiner-{STEINER_METHOD}")
    union_tree = listed(union)
    return _Solution(union_tree, paths, lambda: union_tree, "shortest-path union")


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
