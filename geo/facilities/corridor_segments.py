"""The corridor segments: a district's tree edges as trunk, branch and connection lines.

Holds what becomes of a planned district's network on the map: its straight edges and links
to the mains, grouped by the utilities they carry, cut at the district (:func:`_inside`: the
part beyond it is the connection), merged into lines and checked against the GB 50289-2016
building clearances (:func:`_clearance_ok`). Districts are drafted one by one
(:func:`_pending`) and cut for a whole batch at once (:func:`_cut_segments`), each with the
same operations as on its own, so a district's segments do not depend on the batch.

May import: numpy, pandas, shapely, geo.core and :mod:`~geo.facilities.corridor_layers`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import shapely

from geo.core.policy import UTILITIES
from geo.facilities.corridor_layers import _Context

if TYPE_CHECKING:  # (corridor_costs imports this module)
    from geo.facilities.corridor_costs import _Tree

_INSIDE_M = 0.5


@dataclass
class _Pending:
    """A district's network before it is cut: what each edge carries, in edge order.

    ``items``: per edge, its utilities (comma-joined in :data:`UTILITIES` order), its kind
    (``trunk``, ``branch`` or ``connection``) and, for a link to a main, its line (None for a
    straight edge, whose ends are the next of ``ends``).
    """

    items: list[tuple[str, str, shapely.Geometry | None]]
    ends: np.ndarray  # (straight edges, 2 ends, x and y), m; either way round
    inside: shapely.Geometry
    # or, for a district of one utility group (``items`` empty): its utilities, whether each
    # straight edge is a trunk (else a branch) and its links' lines (the connection), in order
    utilities: str | None = None
    trunk: np.ndarray | None = None
    links: list[shapely.Geometry] | None = None


def _per_metre(utilities: tuple[str, ...], ctx: _Context) -> float:
    c = ctx.policy.corridors
    return c.trench_yuan_per_m + sum(getattr(c, f"{u}_yuan_per_m") for u in utilities)


def _pending(
    edges: dict[object, dict[str, object]] | None,
    trees: dict[tuple[str, ...], _Tree],
    trunks: set[int],
    xy: np.ndarray,
    inside: shapely.Geometry,
) -> _Pending:
    """A district's edges (keys as in :class:`geo.facilities.corridor_costs._Tree`) to be cut.

    ``edges``: the edges of its ``trees`` with their utilities (None: the one tree's, as they
    are). An edge serving two or more estates (in ``trunks``) is a trunk, else a branch; links
    to a main are the connection. ``xy``: the graph's nodes (m).
    """
    items: list[tuple[str, str, shapely.Geometry | None]] = []
    pairs = []
    if edges is None:
        ((carried, tree),) = trees.items()
        utilities = ",".join(u for u in UTILITIES if u in frozenset(carried))
        if tree.index is not None and tree.uv is not None:
            line = tree.index < tree.n_lines
            trunk = np.isin(tree.index[line], np.fromiter(trunks, dtype=np.int64))
            linked = [tree.links[i] for i in np.flatnonzero(~line).tolist()]
            links = [link for link in linked if link is not None]
            return _Pending([], xy[tree.uv[line]], inside, utilities, trunk, links)
        for key, ends, link in zip(tree.keys, tree.ends, tree.links, strict=True):
            if type(key) is tuple:
                if link is not None:  # the link from a node to a main
                    items.append((utilities, "connection", link))
                continue
            items.append((utilities, "trunk" if key in trunks else "branch", None))
            pairs.append(ends)
        return _Pending(items, xy[np.array(pairs, dtype=np.int64).reshape(-1, 2)], inside)
    names: dict[frozenset[str], str] = {}
    for key, entry in edges.items():
        served_by = frozenset(entry["utilities"])
        utilities = names.get(served_by)
        if utilities is None:
            utilities = names[served_by] = ",".join(u for u in UTILITIES if u in served_by)
        if type(key) is tuple:
            if entry["link"] is not None:  # the link from a node to a main
                items.append((utilities, "connection", entry["link"]))
            continue
        items.append((utilities, "trunk" if key in trunks else "branch", None))
        pairs.append(entry["ends"])
    ends = xy[np.array(pairs, dtype=np.int64).reshape(-1, 2)]  # turned in _straight_lines
    return _Pending(items, ends, inside)


#: 10, 100, ... 1e16: a float below 1e16 is written with as many digits before its point as
#: these it is not below, plus one.
_TENS = 10.0 ** np.arange(1, 17)


def _reads_first(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Whether each ``str((x, y))`` of ``p``'s rows reads before or as that of ``q``'s (``<=``).

    ``p``, ``q``: ``(n, 2)`` floats. Compared as numbers where the text orders as the numbers
    do, else as text. Python writes a float from 1e-4 to 1e16 (or a positive zero) as its digits,
    a point and the shortest fraction; two such with as many digits before the point read in
    the order of their values (the ``,`` or ``)`` after a shorter fraction reads before any
    digit), and equal ones read the same, so the y decide where the x are equal.
    """
    same_x = p[:, 0] == q[:, 0]
    a = np.where(same_x, p[:, 1], p[:, 0])  # the deciding coordinates
    b = np.where(same_x, q[:, 1], q[:, 0])
    out = a <= b
    digits = [_plain_digits(c) for c in (p[:, 0], q[:, 0], a, b)]
    fast = (digits[0] >= 0) & (digits[1] >= 0) & (digits[2] >= 0) & (digits[2] == digits[3])
    for i in np.flatnonzero(~fast).tolist():
        out[i] = str(tuple(p[i].tolist())) <= str(tuple(q[i].tolist()))
    return out


def _plain_digits(values: np.ndarray) -> np.ndarray:
    """Digits before the point of floats Python writes plainly (see :func:`_reads_first`), else -1."""
    plain = ~np.signbit(values) & (values < 1e16) & ((values == 0) | (values >= 1e-4))
    return np.where(plain, np.searchsorted(_TENS, values, side="right"), -1)


def _cut_segments(
    pending: list[_Pending], ctx: _Context
) -> tuple[list[tuple[object, ...]], list[int], np.ndarray, np.ndarray | None]:
    """The districts' segments, the districts' geometry done together.

    Per district and (utilities, kind): the lines as one MultiLineString; its part beyond the
    district (:func:`_inside`) becomes the connection of those utilities; then per (utilities,
    kind), in sorted order, the lines merged (``line_merge``) into segments. Returns per segment,
    district by district, its ``(utilities, kind, length_m, cost_yuan, clearance_m)``, where each
    district's segments start (one more: the end), the lines and whether each keeps its
    clearance to the buildings (None without buildings).
    """
    every, inner, edge_group = _grouped(pending)
    both = _straight_lines(pending, edge_group, len(inner))
    # the parts outside the district (beyond the estates' red lines) are the connection
    if inner:
        inside = np.array([pending[d].inside for d, _ in inner], dtype=object)
        # (lines the district covers have nothing outside: the prepared test is much cheaper)
        check = np.flatnonzero(~shapely.covers(inside, both))
        outside = shapely.difference(both[check], inside[check])
        beyond = check[~shapely.is_empty(outside)]
        outside = outside[~shapely.is_empty(outside)]
        within = shapely.intersection(both[beyond], inside[beyond])
        kept, kept_at = _parts_of(within)
        cut, cut_at = _parts_of(outside)
        for j, i in enumerate(beyond.tolist()):
            d, (utilities, kind) = inner[i]
            every[d][(utilities, kind)] = kept[kept_at[j] : kept_at[j + 1]].tolist()
            connection = every[d].setdefault((utilities, "connection"), [])
            connection.extend(cut[cut_at[j] : cut_at[j + 1]])  # type: ignore[union-attr]
    # per key in sorted order, its lines merged: straight edges as they are, other lists of lines
    # without points and empty lines
    keys = [(d, key) for d, parts in enumerate(every) for key in sorted(parts)]
    listed = [k for k, (d, key) in enumerate(keys) if not isinstance(every[d][key], int)]
    lines = np.array([g for k in listed for g in every[keys[k][0]][keys[k][1]]], dtype=object)
    group = np.repeat(
        np.array(listed, dtype=np.int64),
        [len(every[keys[k][0]][keys[k][1]]) for k in listed],  # type: ignore[arg-type]
    )
    keep = (shapely.get_type_id(lines) == 1) & (shapely.length(lines) > 0)
    lines, group = lines[keep], group[keep]
    to_merge = np.empty(len(keys), dtype=object)
    for k, (d, key) in enumerate(keys):
        value = every[d][key]
        if isinstance(value, int):
            to_merge[k] = both[value]
    used = np.unique(group)
    if len(used):
        to_merge[used] = shapely.multilinestrings(lines, indices=np.searchsorted(used, group))
    used = np.flatnonzero(~shapely.is_missing(to_merge))
    merged = shapely.line_merge(to_merge[used])
    pieces, which = shapely.get_parts(merged, return_index=True)
    lengths = shapely.length(pieces).tolist()
    c = ctx.policy.corridors
    costs: dict[str, tuple[float, float]] = {}
    rows: list[tuple[object, ...]] = []
    district, clearances = [], []
    for k, length in zip(used[which].tolist(), lengths, strict=True):
        d, (utilities, kind) = keys[k]
        if utilities not in costs:
            split = utilities.split(",")
            costs[utilities] = (
                _per_metre(tuple(split), ctx),
                max(getattr(c, f"clearance_{u}_m") for u in split),
            )
        per_metre, clearance = costs[utilities]
        rows.append((utilities, kind, round(length, 1), round(length * per_metre), clearance))
        district.append(d)
        clearances.append(clearance)
    ok = _clearance_ok(pieces, np.array(clearances, dtype=float), ctx)
    at = np.searchsorted(np.array(district, dtype=np.int64), np.arange(len(pending) + 1))
    return rows, at.tolist(), pieces, ok


def _grouped(
    pending: list[_Pending],
) -> tuple[list[dict[tuple[str, str], list[shapely.Geometry] | int]], list, np.ndarray]:
    """The districts' edges grouped by (utilities, kind), for :func:`_cut_segments`.

    Returns per district, (utilities, kind) -> its links (a list), or for straight edges the
    number of their group (numbered in order of first appearance, district after district);
    each group's district and key; and the group of each straight edge (in edge order).
    """
    every: list[dict[tuple[str, str], list[shapely.Geometry] | int]] = []
    inner: list[tuple[int, tuple[str, str]]] = []
    edge_groups: list[np.ndarray] = [np.zeros(0, dtype=np.int64)]
    for d, p in enumerate(pending):
        parts: dict[tuple[str, str], list[shapely.Geometry] | int] = {}
        if p.utilities is not None and p.trunk is not None:
            # as the loop below: straight edges grouped by kind in order of first appearance
            group = np.empty(len(p.trunk), dtype=np.int64)
            kinds = [("trunk", p.trunk), ("branch", ~p.trunk)]
            for kind, mask in kinds if len(p.trunk) and p.trunk[0] else kinds[::-1]:
                if mask.any():
                    parts[(p.utilities, kind)] = len(inner)
                    inner.append((d, (p.utilities, kind)))
                    group[mask] = len(inner) - 1
            edge_groups.append(group)
            if p.links:
                parts[(p.utilities, "connection")] = list(p.links)
            every.append(parts)
            continue
        edge_group: list[int] = []
        for utilities, kind, link in p.items:
            key = (utilities, kind)
            if link is None:
                if key not in parts:
                    parts[key] = len(inner)
                    inner.append((d, key))
                edge_group.append(parts[key])  # type: ignore[arg-type]
            else:
                parts.setdefault(key, []).append(link)  # type: ignore[union-attr]
        edge_groups.append(np.array(edge_group, dtype=np.int64))
        every.append(parts)
    return every, inner, np.concatenate(edge_groups)


def _straight_lines(pending: list[_Pending], group: np.ndarray, n: int) -> np.ndarray:
    """Per group (``n`` of them), the MultiLineString of its straight edges, in edge order.

    ``group``: the group of each straight edge of the ``pending`` districts (their ``ends`` in
    order). Each edge runs from the end whose coordinates read first as text (``str((x, y))``,
    :func:`_reads_first`) to the other. Made from the coordinates at once: the same geometries
    as ``shapely.multilinestrings`` of each group's lines.
    """
    ends = np.concatenate(
        [np.empty((0, 2, 2)), *(np.asarray(p.ends, dtype=float).reshape(-1, 2, 2) for p in pending)]
    )
    turned = ~_reads_first(ends[:, 0], ends[:, 1])  # from the end that reads first
    ends[turned] = ends[turned, ::-1]
    order = np.argsort(group, kind="stable")
    coords = ends[order].reshape(-1, 2)
    return shapely.from_ragged_array(
        shapely.GeometryType.MULTILINESTRING,
        coords,
        (
            np.arange(0, len(coords) + 1, 2, dtype=np.int64),
            np.concatenate([[0], np.cumsum(np.bincount(group, minlength=n))]).astype(np.int64),
        ),
    )


def _parts_of(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The parts of all ``geoms`` and where each geometry's parts start (one more: the end)."""
    parts, at = shapely.get_parts(geoms, return_index=True)
    return parts, np.searchsorted(at, np.arange(len(geoms) + 1))


def _inside(outlines: np.ndarray, ctx: _Context) -> np.ndarray:
    """Each district as its segments see it, prepared: lines inside are trunks and branches.

    The outline closed over the gaps between members (at most the adjacency tolerance wide),
    plus 0.5 m so lines along the outline count as inside; the rest is the connection.
    """
    return _inside_of(outlines, ctx.policy.adjacency.tolerance_m)


def _inside_of(outlines: np.ndarray, tolerance_m: float) -> np.ndarray:
    """:func:`_inside` for the adjacency tolerance ``tolerance_m`` (m)."""
    close = tolerance_m / 2 + _INSIDE_M
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
