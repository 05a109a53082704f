"""The candidate graph of a district's corridors and the Steiner tree search on it.

Holds :class:`_Network` (a district's noded candidate lines as arrays of straight edges, metres),
:func:`_graph` (noding with shapely into that network, each estate at its nearest node) and the
graph algorithms on scipy's sparse matrices: shortest-path routes, Kruskal's minimum spanning
forest and Mehlhorn's approximate minimum Steiner tree (:func:`_mehlhorn`; for many graphs side
by side, after their searches, :func:`_mehlhorn_trees`, with :func:`_towards_flat`).

May import: numpy, scipy, shapely. Knows nothing of policies, utilities or costs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from scipy import sparse
from scipy.sparse.csgraph import connected_components, dijkstra


@dataclass
class _Network:
    """A district's candidate graph as arrays (small: a few hundred edges; scipy does the search).

    Nodes are rows of ``xy`` (metres, rounded to the millimetre); edges are ``u < v`` with their
    length ``w`` (m), one edge per node pair (the shortest).
    """

    xy: np.ndarray
    u: np.ndarray
    v: np.ndarray
    w: np.ndarray
    _labels: np.ndarray | None = None
    _matrix: sparse.csr_matrix | None = None

    def labels(self) -> np.ndarray:
        """Connected component of each node."""
        if self._labels is None:
            self._labels = connected_components(self.matrix(), directed=False)[1]
        return self._labels

    def matrix(self) -> sparse.csr_matrix:
        """The graph as a sparse matrix of edge lengths (upper triangle; search it undirected)."""
        if self._matrix is None:
            self._matrix = _csr(len(self.xy), self.u, self.v, self.w)
        return self._matrix

    def join(self, a: int, b: int, length: float) -> None:
        """Add a straight edge between nodes ``a`` and ``b`` (``length`` m)."""
        self.u = np.append(self.u, min(a, b))
        self.v = np.append(self.v, max(a, b))
        self.w = np.append(self.w, length)
        self._labels = self._matrix = None

    def nearest(self, x: float, y: float, among: np.ndarray | None = None) -> tuple[int, float]:
        """The node nearest to (x, y) (first in node order on a tie), and its distance (m)."""
        nodes = np.arange(len(self.xy)) if among is None else among
        d = np.hypot(self.xy[nodes, 0] - x, self.xy[nodes, 1] - y)
        k = int(np.argmin(d))
        return int(nodes[k]), float(d[k])


def _graph(
    lines: list[shapely.Geometry],
    anchors: list[shapely.Geometry],
    members: list[str],
    spacing: float,
    join: bool = True,
) -> tuple[_Network, dict[str, int]]:
    """Node the lines and return the graph of straight edges (length in m) and each estate's node.

    ``join``: estates that the lines leave apart are joined by a straight edge
    (:func:`_join_components`); False leaves that to the caller (who may label the components of
    many graphs at once, :func:`_label_components`). See :func:`_graphs`.
    """
    net, estate_nodes = _graphs([(lines, anchors, members)], spacing)[0]
    if join:
        _join_components(net, list(estate_nodes.values()))
    return net, estate_nodes


def _graphs(
    districts: list[tuple[list[shapely.Geometry], list[shapely.Geometry], list[str]]],
    spacing: float,
) -> list[tuple[_Network, dict[str, int]]]:
    """Per (lines, anchors, member ids): the graph of the noded lines and each estate's node.

    Each district's lines are split every ``spacing`` m at most and noded on their own
    (``union_all``); the arrays of all districts are then made at once, each district's the same
    as alone: nodes are the distinct vertices (rounded to the mm) in (x, y) order, an edge per
    node pair (the shortest), each estate at its nearest node (the first on a tie). Estates the
    lines leave apart are not joined here (see :func:`_graph`).
    """
    noded = np.array(
        [
            shapely.union_all(shapely.segmentize(np.array(lines, dtype=object), spacing))
            for lines, _, _ in districts
        ],
        dtype=object,
    )
    parts, part_of = shapely.get_parts(noded, return_index=True)
    coords, which = shapely.get_coordinates(parts, return_index=True)
    coords = np.round(coords, 3)
    same = which[:-1] == which[1:]
    a, b = coords[:-1][same], coords[1:][same]
    of = part_of[which[:-1][same]]  # the district of each segment
    length = np.hypot(*(b - a).T)
    keep = length > 0
    a, b, length, of = a[keep], b[keep], length[keep], of[keep]
    xy, node_of, inverse = _unique_rows_by(np.concatenate([a, b]), np.concatenate([of, of]))
    i, j = inverse[: len(a)], inverse[len(a) :]
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    # per node pair (lo, hi as one number), the shortest edge first: np.lexsort((length, hi, lo))
    order = np.lexsort((length, lo.astype(np.int64) * len(xy) + hi))
    lo, hi, length = lo[order], hi[order], length[order]
    first = np.ones(len(lo), dtype=bool)
    first[1:] = (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])
    lo, hi, length = lo[first], hi[first], length[first]
    # nodes and edges come district by district
    node_at = np.searchsorted(node_of, np.arange(len(districts) + 1))
    edge_at = np.searchsorted(lo, node_at)
    out = []
    for k, (_, anchors, members) in enumerate(districts):
        n0, n1, e0, e1 = node_at[k], node_at[k + 1], edge_at[k], edge_at[k + 1]
        here = xy[n0:n1]
        net = _Network(here, lo[e0:e1] - n0, hi[e0:e1] - n0, length[e0:e1])
        at = shapely.get_coordinates(np.array(anchors, dtype=object))
        # each estate's nearest node (first in node order on a tie), all estates at once
        nearest = np.argmin(
            np.hypot(here[None, :, 0] - at[:, :1], here[None, :, 1] - at[:, 1:]), axis=1
        ).tolist()
        out.append((net, dict(zip(members, nearest, strict=True))))
    return out


def _unique_rows_by(
    points: np.ndarray, group: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``np.unique(axis=0, return_inverse=True)`` of each group's points, all groups at once.

    By lexsort, without the structured view ``np.unique`` sorts by; groups in ascending order.
    Returns the distinct rows (group by group, each in (x, y) order), the group of each and the
    inverse (row of each point).
    """
    if not len(points):
        return points.reshape(0, 2), group[:0], np.zeros(0, dtype=np.intp)
    order = _lexsort_mm(points, group)
    ordered, groups = points[order], group[order]
    new = np.ones(len(points), dtype=bool)
    new[1:] = (
        (ordered[1:, 0] != ordered[:-1, 0])
        | (ordered[1:, 1] != ordered[:-1, 1])
        | (groups[1:] != groups[:-1])
    )
    inverse = np.empty(len(points), dtype=np.intp)
    inverse[order] = np.cumsum(new) - 1
    return ordered[new], groups[new], inverse


def _lexsort_mm(points: np.ndarray, group: np.ndarray) -> np.ndarray:
    """``np.lexsort((y, x, group))``: by group, then x, then y (ties in input order).

    Points in whole millimetres (as :func:`_graphs` rounds them) are sorted once, on one integer
    per point packing the group and the millimetres from the least x and y of that group (when
    that fits in 62 bits), which is several times quicker; other points as ``np.lexsort``.
    """
    x, y = points[:, 0], points[:, 1]
    with np.errstate(invalid="ignore", over="ignore"):
        kx, ky = np.rint(x * 1000.0), np.rint(y * 1000.0)
        whole = np.array_equal(kx / 1000.0, x) and np.array_equal(ky / 1000.0, y)
    if whole and len(group) and group.min() >= 0:
        # millimetres from the least x and y of the point's group
        for k in (kx, ky):
            least = np.full(int(group.max()) + 1, np.inf)
            np.minimum.at(least, group, k)
            k -= least[group]
        bits_x, bits_y = int(kx.max()).bit_length(), int(ky.max()).bit_length()
        if int(group.max()).bit_length() + bits_x + bits_y <= 62:
            packed = (
                (group.astype(np.int64) << (bits_x + bits_y))
                | (kx.astype(np.int64) << bits_y)
                | ky.astype(np.int64)
            )
            return np.argsort(packed, kind="stable")
    return np.lexsort((y, x, group))


def _label_components(nets: list[_Network]) -> None:
    """Label the connected components of each graph, all graphs in one pass (as one graph).

    Each graph's labels tell its nodes apart exactly as its own labelling would (the numbers
    differ; only their equality is used).
    """
    if not nets:
        return
    sizes = np.array([len(net.xy) for net in nets])
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    u = np.concatenate([net.u + off for net, off in zip(nets, offsets.tolist(), strict=False)])
    v = np.concatenate([net.v + off for net, off in zip(nets, offsets.tolist(), strict=False)])
    whole = _csr(int(offsets[-1]), u, v, np.ones(len(u)))
    labels = connected_components(whole, directed=False)[1]
    for net, a, b in zip(nets, offsets[:-1].tolist(), offsets[1:].tolist(), strict=True):
        net._labels = labels[a:b]


def _csr(n: int, u: np.ndarray, v: np.ndarray, w: np.ndarray) -> sparse.csr_matrix:
    """``sparse.csr_matrix((w, (u, v)), shape=(n, n))`` for distinct ``(u, v)`` pairs, built directly.

    Same arrays as scipy's (rows in order, column indices sorted within a row, so the searches
    visit edges in the same order) without the COO round trip, which dominated small graphs.
    """
    order = np.lexsort((v, u))
    indptr = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(np.bincount(u, minlength=n), out=indptr[1:])
    return sparse.csr_matrix(
        (np.asarray(w, dtype=float)[order], v[order].astype(np.int32), indptr), shape=(n, n)
    )


def _scan_csr(n: int, u: np.ndarray, v: np.ndarray, w: np.ndarray) -> sparse.csr_matrix:
    """The graph of distinct edges ``u < v`` in both directions, rows in scipy's undirected scan.

    Row ``x`` lists the edges to nodes above ``x`` (ascending), then those to nodes below it
    (ascending): the order in which scipy's undirected search visits a node's edges (the matrix,
    then its transpose). So ``dijkstra(directed=True)`` on it finds the same distances,
    predecessors and sources, ties included, as ``dijkstra(directed=False)`` on
    :func:`_csr`, without building the transpose at every search.
    """
    rows, cols = np.concatenate([u, v]), np.concatenate([v, u])
    below = np.repeat(np.array([0, n], dtype=np.int64), len(u))
    order = np.argsort((rows.astype(np.int64) * 2 * n + below) + cols)  # distinct keys
    indptr = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    weights = np.asarray(w, dtype=float)
    return sparse.csr_matrix(
        (np.concatenate([weights, weights])[order], cols[order].astype(np.int32), indptr),
        shape=(n, n),
    )


def _scan_csrs(
    graphs: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]],
) -> list[tuple[sparse.csr_matrix, _Edges]]:
    """Per graph ``(n, u, v, w)``: ``_scan_csr(n, u, v, w)`` and ``_Edges.of(u, v, n)``.

    The same matrices and edge finders as made one graph at a time, all sorted at once (the
    graphs side by side, each node numbered after the previous graphs' nodes).
    """
    if not graphs:
        return []
    sizes = np.array([n for n, _, _, _ in graphs], dtype=np.int64)
    counts = np.array([len(u) for _, u, _, _ in graphs], dtype=np.int64)
    node_at = np.concatenate([[0], np.cumsum(sizes)])
    edge_at = np.concatenate([[0], np.cumsum(counts)])
    total = int(node_at[-1])
    graph_of = np.repeat(np.arange(len(graphs)), counts)
    u = np.concatenate([np.asarray(u, dtype=np.int64) for _, u, _, _ in graphs])
    v = np.concatenate([np.asarray(v, dtype=np.int64) for _, _, v, _ in graphs])
    w = np.concatenate([np.asarray(w, dtype=float) for _, _, _, w in graphs])
    offset = node_at[:-1][graph_of]
    rows, cols = np.concatenate([u + offset, v + offset]), np.concatenate([v + offset, u + offset])
    below = np.repeat(np.array([0, total], dtype=np.int64), len(u))
    order = np.argsort(rows * 2 * total + below + cols)  # as _scan_csr, graph after graph
    data = np.concatenate([w, w])[order]
    indices = (cols[order] - np.concatenate([offset, offset])[order]).astype(np.int32)
    # each graph's row starts and its end, graph after graph (n + 1 of them for n nodes)
    indptr = np.zeros(total + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=total), out=indptr[1:])
    per_graph = np.repeat(np.arange(len(graphs)), sizes + 1)
    at = np.arange(len(per_graph)) - np.arange(len(graphs)).repeat(sizes + 1)  # node_at + row
    starts = (indptr[at] - 2 * edge_at[:-1][per_graph]).astype(np.int32)
    keys = u * sizes[graph_of] + v  # as _Edges.of, graph after graph
    squares = np.concatenate([[0], np.cumsum(sizes * sizes)])  # keys below n * n per graph
    by_key = np.argsort(squares[:-1][graph_of] + keys)  # by graph, then key (all distinct)
    keys, local = keys[by_key], by_key - edge_at[:-1][graph_of[by_key]]
    out = []
    first = node_at[:-1] + np.arange(len(graphs))  # where each graph's starts begin in them
    bounds = zip(
        sizes.tolist(), first.tolist(), edge_at[:-1].tolist(), (first + sizes + 1).tolist(),
        edge_at[1:].tolist(), strict=True,
    )  # fmt: skip
    for n, s0, e0, s1, e1 in bounds:
        matrix = sparse.csr_matrix(
            (data[2 * e0 : 2 * e1], indices[2 * e0 : 2 * e1], starts[s0:s1]), shape=(n, n)
        )
        out.append((matrix, _Edges(n, keys[e0:e1], local[e0:e1])))
    return out


def _join_components(net: _Network, terminals: list[int]) -> None:
    """Join estates that the lines leave apart with a straight edge (should not happen)."""
    labels = net.labels()
    for t in terminals[1:]:
        if labels[t] == labels[terminals[0]]:
            continue
        inside = np.flatnonzero(labels == labels[terminals[0]])
        near, d = net.nearest(*net.xy[t], among=inside)
        net.join(t, near, d)
        labels = net.labels()


@dataclass
class _Edges:
    """Finds edges by their end nodes: ``u < v`` pairs, distinct, among ``n`` nodes."""

    n: int
    keys: np.ndarray  # u * n + v, ascending
    order: np.ndarray  # the edge at each key

    @classmethod
    def of(cls, u: np.ndarray, v: np.ndarray, n: int) -> _Edges:
        keys = u.astype(np.int64) * n + v
        order = np.argsort(keys, kind="stable")
        return cls(n, keys[order], order)

    def find(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """The edge joining each ``a[i]``, ``b[i]`` (either way round; the pair must be an edge)."""
        lo, hi = np.minimum(a, b).astype(np.int64), np.maximum(a, b)
        return self.order[np.searchsorted(self.keys, lo * self.n + hi)]

    def toward(self, pred: np.ndarray) -> list[int]:
        """Per node, the edge to its predecessor in a scipy predecessor array (-1: none)."""
        out = np.full(len(pred), -1, dtype=np.int64)
        nodes = np.flatnonzero(pred >= 0)
        out[nodes] = self.find(nodes, pred[nodes])
        return out.tolist()


def _towards(found: list[tuple[_Edges, np.ndarray]]) -> list[list[int]]:
    """``[edges.toward(pred) for edges, pred in found]``, all at once (see :func:`_towards_flat`)."""
    flat, counts = _towards_flat(found)
    listed = flat.tolist()
    ends = np.cumsum(counts).tolist()
    return [listed[a:b] for a, b in zip([0, *ends[:-1]], ends, strict=True)]


def _towards_flat(found: list[tuple[_Edges, np.ndarray]]) -> tuple[np.ndarray, list[int]]:
    """Each pair's ``edges.toward(pred)`` as one array, pair after pair, and their lengths.

    One search of the keys: each pair's keys are numbered after the previous pairs' (``n * n``
    of them each), so the keys of all pairs side by side stay in ascending order.
    """
    counts = [len(pred) for _, pred in found]
    if not found:
        return np.zeros(0, dtype=np.int64), counts
    sizes = np.array([e.n for e, _ in found], dtype=np.int64)
    base = np.concatenate([[0], np.cumsum(sizes * sizes)[:-1]])
    keys = np.concatenate([e.keys + b for (e, _), b in zip(found, base.tolist(), strict=True)])
    order = np.concatenate([e.order for e, _ in found])
    owner = np.repeat(np.arange(len(found)), counts)
    pred = np.concatenate([pred for _, pred in found])
    node = np.arange(len(pred)) - np.repeat(np.cumsum([0, *counts[:-1]]), counts)
    out = np.full(len(pred), -1, dtype=np.int64)
    at = np.flatnonzero(pred >= 0)
    lo, hi = np.minimum(node[at], pred[at]).astype(np.int64), np.maximum(node[at], pred[at])
    out[at] = order[np.searchsorted(keys, base[owner[at]] + lo * sizes[owner[at]] + hi)]
    return out, counts


def _mehlhorn_trees(
    graphs: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
) -> list[np.ndarray]:
    """``_mehlhorn_tree(u, v, weight, dist, source, pred, toward)`` of each graph, all at once.

    ``graphs``: per graph ``(u, v, weight)``; ``found``: its :func:`_nearest_terminals`
    ``(dist, source, pred)`` and each node's edge toward its predecessor (-1: none), as arrays.
    Steps 2-4 of :func:`_mehlhorn` on the graphs side by side (nodes and edges numbered after
    the previous graphs'): the shortest bridge per pair of terminals (of equal ones, the first),
    Kruskal's tree of them (by length, then the pair), each bridge's ends routed back to their
    terminals. Same trees as one graph at a time.
    """
    if not graphs:
        return []
    n_nodes = np.array([len(dist) for dist, _, _, _ in found], dtype=np.int64)
    n_edges = np.array([len(u) for u, _, _ in graphs], dtype=np.int64)
    node_at = np.concatenate([[0], np.cumsum(n_nodes)])
    edge_at = np.concatenate([[0], np.cumsum(n_edges)])
    graph_of = np.repeat(np.arange(len(graphs)), n_edges)
    u = np.concatenate([np.asarray(u, dtype=np.int64) for u, _, _ in graphs]) + node_at[graph_of]
    v = np.concatenate([np.asarray(v, dtype=np.int64) for _, v, _ in graphs]) + node_at[graph_of]
    weight = np.concatenate([np.asarray(w, dtype=float) for _, _, w in graphs])
    dist = np.concatenate([d for d, _, _, _ in found])
    source = np.concatenate([s for _, s, _, _ in found])  # each graph's own node numbers
    node_of = np.repeat(np.arange(len(graphs)), n_nodes)
    pred = np.concatenate([np.asarray(p, dtype=np.int64) for _, _, p, _ in found])
    pred = np.where(pred >= 0, pred + node_at[node_of], -1)
    toward = np.concatenate([np.asarray(t, dtype=np.int64) for _, _, _, t in found])
    toward = np.where(toward >= 0, toward + edge_at[node_of], -1)
    reach = np.isfinite(dist)
    bridge = np.flatnonzero(reach[u] & reach[v] & (source[u] != source[v]))
    bu, bv = u[bridge], v[bridge]
    through = dist[bu] + weight[bridge] + dist[bv]
    lo, hi = np.minimum(source[bu], source[bv]), np.maximum(source[bu], source[bv])
    g = graph_of[bridge]
    # per graph and pair of terminals, the shortest bridge (of equal ones, the first)
    order = np.lexsort((bridge, through, hi, lo, g))
    g, lo, hi, through, bridge = g[order], lo[order], hi[order], through[order], bridge[order]
    first = np.ones(len(g), dtype=bool)
    first[1:] = (g[1:] != g[:-1]) | (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])
    g, lo, hi, through, bridge = g[first], lo[first], hi[first], through[first], bridge[first]
    # Kruskal per graph: bridges by length, then pair
    kept: list[int] = []
    current, parent = -1, {}

    def root(x: int) -> int:
        while parent.get(x, x) != x:
            parent[x] = parent.get(parent[x], parent[x])
            x = parent[x]
        return x

    by_length = np.lexsort((hi, lo, through, g))
    for k, a, b, graph in zip(
        bridge[by_length].tolist(), lo[by_length].tolist(), hi[by_length].tolist(),
        g[by_length].tolist(), strict=True,
    ):  # fmt: skip
        if graph != current:
            current, parent = graph, {}
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[ra] = rb
            kept.append(k)
    # each kept bridge and the routes from its ends back to their terminals
    picked = np.array(kept, dtype=np.int64)
    chosen = [picked]
    at = np.concatenate([u[picked], v[picked]])
    while len(at):
        at = at[pred[at] >= 0]
        chosen.append(toward[at])
        at = pred[at]
    edges = np.unique(np.concatenate(chosen))
    split = np.searchsorted(edges, edge_at)
    return [edges[split[i] : split[i + 1]] - edge_at[i] for i in range(len(graphs))]


def _route(pred: list[int], toward: list[int], node: int) -> list[int]:
    """The edges from ``node`` back to the source (``pred`` and ``toward`` as lists, per node)."""
    out = []
    while pred[node] >= 0:
        out.append(toward[node])
        node = pred[node]
    return out


def _kruskal(pairs: list[tuple[float, int, int]]) -> list[int]:
    """Minimum spanning forest (Kruskal): the positions of the ``(weight, a, b)`` edges kept.

    Edges are taken by weight, then ``a``, then ``b``, then position.
    """
    parent: dict[int, int] = {}

    def root(x: int) -> int:
        while parent.get(x, x) != x:
            parent[x] = parent.get(parent[x], parent[x])
            x = parent[x]
        return x

    keep = []
    for k in sorted(range(len(pairs)), key=pairs.__getitem__):
        _, a, b = pairs[k]
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[ra] = rb
            keep.append(k)
    return keep


def _mehlhorn(
    matrix: sparse.csr_matrix,
    u: np.ndarray,
    v: np.ndarray,
    weight: np.ndarray,
    terminals: np.ndarray,
    edges: _Edges | None = None,
) -> np.ndarray:
    """Approximate minimum Steiner tree (Mehlhorn 1988): the indices of its edges.

    ``matrix`` is :func:`_scan_csr` of ``u, v, weight``; ``edges`` is
    ``_Edges.of(u, v, len(matrix))`` when the caller has it already.

    1. Each node's nearest terminal (one multi-source Dijkstra); 2. every edge joining two such
    regions gives a terminal-to-terminal distance ``d(s, x) + w(x, y) + d(y, t)``; 3. a minimum
    spanning tree of those distances; 4. each of its edges expanded into its path (terminal to
    bridge edge to terminal). Weight at most that of a minimum spanning tree of the terminals'
    shortest-path distances, so within ``2 (1 - 1/l)`` of the optimum (``l``: leaves of an optimal
    tree). Nodes that reach no terminal are ignored. Same method as networkx's
    ``steiner_tree(method="mehlhorn")``, in scipy arrays: the per-district solve is about 5x
    faster than with networkx (``benchmarks/plan_steps.py``), with the same corridors.
    """
    dist, pred, source = _nearest_terminals(matrix, terminals)
    edges = _Edges.of(u, v, matrix.shape[0]) if edges is None else edges
    return _mehlhorn_tree(u, v, weight, dist, source, pred.tolist(), edges.toward(pred))


def _nearest_terminals(
    matrix: sparse.csr_matrix, terminals: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each node's distance to its nearest terminal, predecessor and that terminal (Dijkstra)."""
    return dijkstra(
        matrix, directed=True, indices=terminals, min_only=True, return_predecessors=True
    )


def _mehlhorn_tree(
    u: np.ndarray,
    v: np.ndarray,
    weight: np.ndarray,
    dist: np.ndarray,
    source: np.ndarray,
    pred: list[int],
    toward: list[int],
) -> np.ndarray:
    """:func:`_mehlhorn`'s steps 2-4, from its first step (:func:`_nearest_terminals`).

    ``pred`` as a list; ``toward``: each node's edge to its predecessor (:meth:`_Edges.toward`).
    """
    reach = np.isfinite(dist)
    bridge = np.flatnonzero(reach[u] & reach[v] & (source[u] != source[v]))
    bu, bv = u[bridge], v[bridge]
    through = (dist[bu] + weight[bridge] + dist[bv]).tolist()
    # per pair of terminals, the shortest bridge (of equal ones, the first)
    best: dict[tuple[int, int], tuple[float, int]] = {}
    for k, s, t, d in zip(
        bridge.tolist(), source[bu].tolist(), source[bv].tolist(), through, strict=True
    ):
        pair = (s, t) if s < t else (t, s)
        found = best.get(pair)
        if found is None or d < found[0]:
            best[pair] = (d, k)
    bridges = [k for _, k in best.values()]
    chosen: set[int] = set()
    for i in _kruskal([(d, a, b) for (a, b), (d, _) in best.items()]):
        k = bridges[i]
        chosen.add(k)
        for end in (int(u[k]), int(v[k])):
            chosen.update(_route(pred, toward, end))
    # the paths run in the nearest-terminal forest and the bridges form a tree of its regions,
    # so the expansion is already a tree whose leaves are terminals (Mehlhorn's step 5 is moot)
    return np.array(sorted(chosen), dtype=np.int64)
