"""Walking distances for elderly care: the road and path network and straight-line fallback.

Holds :class:`Pairs` (origin-target pairs within a cutoff), :class:`WalkNetwork` (OSM ways noded
at shared vertices and, for ground-level ways, at crossings; motorways and trunk roads left out;
Dijkstra from each point's snap onto the nearest segment), :func:`walking_distances` (network or
straight line x the policy's detour factor) and the memoised study-area network the assessment
uses (:func:`study_network`).

May import: numpy, pandas, scipy, shapely, pyproj, geopandas, ``geo.core`` (memo, errors, policy).
Nothing of files, maps or other planning stages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from pyproj import CRS
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from geo.core import _memo
from geo.core._memo import Memo, digest
from geo.core.errors import QualityReport
from geo.core.messages import msg

_CHUNK = 32  # Dijkstra sources per call (each call holds a chunk x nodes array)
_MIN_WEIGHT = 1e-9  # metres; keeps zero-length edges in the sparse graph


# --------------------------------------------------------------------------- walking distances


@dataclass(frozen=True)
class Pairs:
    """Origin-target pairs within a cutoff: parallel arrays of indices and walking metres."""

    origin: np.ndarray
    target: np.ndarray
    metres: np.ndarray

    @classmethod
    def empty(cls) -> Pairs:
        """Return no pairs."""
        return cls(np.array([], dtype=int), np.array([], dtype=int), np.array([], dtype=float))

    def within(self, limit: np.ndarray | float) -> Pairs:
        """Return the pairs with ``metres <= limit`` (a number or one limit per pair)."""
        keep = self.metres <= limit
        return Pairs(self.origin[keep], self.target[keep], self.metres[keep])


@dataclass
class WalkNetwork:
    """A walking network: road and path segments as an undirected graph (metres).

    Build it with :meth:`from_roads`. ``coords`` are the node coordinates (n x 2) in the metric CRS
    ``crs``; ``seg_a``/``seg_b`` the end nodes of each segment; ``segments`` its geometries.
    """

    coords: np.ndarray
    seg_a: np.ndarray
    seg_b: np.ndarray
    segments: np.ndarray
    crs: CRS | None
    tree: shapely.STRtree = field(init=False, repr=False)
    #: Distances asked of this network lately, by the points and cutoff (``geo.core._memo``: the app
    #: asks again for the same estates and facilities after a policy change; on in the app only).
    _asked: Memo[Pairs] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.tree = shapely.STRtree(self.segments)
        self._asked = Memo(8)

    def __len__(self) -> int:
        return len(self.segments)

    @classmethod
    def from_roads(
        cls,
        roads: gpd.GeoDataFrame,
        *,
        unwalkable_classes: Sequence[str] = (),
        bbox: tuple[float, float, float, float] | None = None,
    ) -> WalkNetwork:
        """Build the walking network of a road layer.

        Parameters
        ----------
        roads
            Lines in a projected (metric) CRS. With an ``fclass`` column (OSM / Geofabrik schema),
            ways of ``unwalkable_classes`` (motorways, trunk roads) are left out; footways, paths,
            steps and every other class are kept.
        unwalkable_classes
            OSM classes nobody walks on (policy ``elderly.unwalkable_road_classes``).
        bbox
            ``(minx, miny, maxx, maxy)`` of the study area in metres: ways outside are dropped
            (faster; pass the area of the points plus the largest distance needed).

        Notes
        -----
        OSM ways are not split at junctions. Consecutive vertices become edges and a vertex shared by
        two ways (coordinates equal to the millimetre) is one node, which is how OSM joins ways.
        Ways at ground level (``layer`` 0 or missing, not ``bridge``/``tunnel`` ``T``; every way of a
        layer without those columns) are also noded where they cross (:func:`shapely.node`), for
        drawn networks whose lines cross without a shared vertex; bridges and tunnels join the
        network only at shared vertices, so a footway does not connect to the viaduct above it.

        Raises
        ------
        ValueError
            If ``roads`` is in a geographic CRS (distances would be degrees).
        """
        if roads.crs is not None and CRS.from_user_input(roads.crs).is_geographic:
            raise ValueError("roads must be in a projected CRS (metres); use to_crs first")
        frame = roads
        if "fclass" in frame and unwalkable_classes:
            frame = frame.loc[~frame["fclass"].astype(str).isin(set(unwalkable_classes))]
        geoms = shapely.force_2d(frame.geometry.to_numpy())
        keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        if bbox is not None:
            keep &= shapely.intersects(geoms, shapely.box(*bbox))
        frame, geoms = frame.loc[keep], geoms[keep]
        ground = np.ones(len(frame), dtype=bool)
        for column in ("bridge", "tunnel"):
            if column in frame:
                ground &= frame[column].astype(str).str.upper().to_numpy() != "T"
        if "layer" in frame:
            layer = pd.to_numeric(frame["layer"], errors="coerce").fillna(0).to_numpy()
            ground &= layer == 0
        parts = []
        if ground.any():
            noded = shapely.node(shapely.MultiLineString(_line_parts(geoms[ground])))
            parts.append(_line_parts(np.array([noded], dtype=object)))
        if (~ground).any():
            parts.append(_line_parts(geoms[~ground]))
        lines = np.concatenate(parts) if parts else np.array([], dtype=object)
        return cls._from_lines(lines, roads.crs)

    @classmethod
    def _from_lines(cls, lines: np.ndarray, crs: CRS | None) -> WalkNetwork:
        if len(lines) == 0:
            return cls(np.zeros((0, 2)), np.array([], int), np.array([], int), lines, crs)
        coords, line_index = shapely.get_coordinates(lines, return_index=True)
        keys = np.round(coords, 3)
        unique, inverse = np.unique(keys, axis=0, return_inverse=True)
        inverse = inverse.ravel()
        same_line = line_index[:-1] == line_index[1:]
        a, b = inverse[:-1][same_line], inverse[1:][same_line]
        proper = a != b
        a, b = a[proper], b[proper]
        starts = np.flatnonzero(same_line)[proper]
        segments = shapely.linestrings(
            np.stack([coords[starts], coords[starts + 1]], axis=1).reshape(-1, 2, 2)
        )
        return cls(unique, a, b, segments, crs)

    def _graph(self, extra: tuple[np.ndarray, np.ndarray, np.ndarray], n: int) -> sp.csr_matrix:
        lengths = np.maximum(shapely.length(self.segments), _MIN_WEIGHT)
        rows = np.concatenate([self.seg_a, extra[0]])
        cols = np.concatenate([self.seg_b, extra[1]])
        weights = np.concatenate([lengths, np.maximum(extra[2], _MIN_WEIGHT)])
        lo, hi = np.minimum(rows, cols), np.maximum(rows, cols)
        order = np.lexsort((weights, hi, lo))  # parallel edges: keep the shortest
        lo, hi, weights = lo[order], hi[order], weights[order]
        first = np.r_[True, (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])]
        return sp.csr_matrix((weights[first], (lo[first], hi[first])), shape=(n, n))

    def distances(self, origins: np.ndarray, targets: np.ndarray, cutoff_m: float) -> Pairs:
        """Return walking distances (m) between points, for the pairs within ``cutoff_m``.

        Each point joins the network at the nearest point of the nearest segment; the walk to it
        (straight) is part of the distance. Two points on the same segment walk along it.

        Parameters
        ----------
        origins, targets
            ``(n, 2)`` coordinates in the network's CRS (metres).
        cutoff_m
            Largest walking distance wanted.
        """
        n_o, n_t = len(origins), len(targets)
        if n_o == 0 or n_t == 0 or len(self.segments) == 0:
            return Pairs.empty()
        key = b""
        if _memo.enabled():
            key = digest(
                np.ascontiguousarray(origins, dtype=float).tobytes(),
                np.ascontiguousarray(targets, dtype=float).tobytes(),
                n_o,
                float(cutoff_m),
            )
            found = self._asked.get(key)
            if found is not None:
                return found
        pairs = self._distances(origins, targets, cutoff_m)
        self._asked.put(key, pairs)
        return pairs

    def _distances(self, origins: np.ndarray, targets: np.ndarray, cutoff_m: float) -> Pairs:
        n_o, n_t = len(origins), len(targets)
        points = shapely.points(np.vstack([origins, targets]))
        seg, snap, along = self._snap(points)
        n_nodes = len(self.coords)
        virtual = n_nodes + np.arange(len(points))
        seg_len = shapely.length(self.segments[seg])
        extra = (
            np.concatenate([virtual, virtual]),
            np.concatenate([self.seg_a[seg], self.seg_b[seg]]),
            np.concatenate([snap + along, snap + seg_len - along]),
        )
        graph = self._graph(extra, n_nodes + len(points))
        forward = n_o <= n_t
        sources = virtual[:n_o] if forward else virtual[n_o:]
        sinks = virtual[n_o:] if forward else virtual[:n_o]
        found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        for start in range(0, len(sources), _CHUNK):
            chunk = sources[start : start + _CHUNK]
            dist = dijkstra(graph, directed=False, indices=chunk, limit=cutoff_m)[:, sinks]
            i, j = np.nonzero(np.isfinite(dist) & (dist <= cutoff_m))
            found.append((i + start, j, dist[i, j]))
        src = np.concatenate([f[0] for f in found])
        dst = np.concatenate([f[1] for f in found])
        metres = np.concatenate([f[2] for f in found])
        o, t = (src, dst) if forward else (dst, src)
        # points on the same segment: walk along it (the graph routes them through its ends)
        same = pd.DataFrame({"seg": seg[:n_o], "o": np.arange(n_o)}).merge(
            pd.DataFrame({"seg": seg[n_o:], "t": np.arange(n_t)}), on="seg"
        )
        if len(same):
            so, st = same["o"].to_numpy(), same["t"].to_numpy()
            direct = snap[so] + np.abs(along[so] - along[n_o + st]) + snap[n_o + st]
            o, t, metres = np.r_[o, so], np.r_[t, st], np.r_[metres, direct]
        return min_pairs(o, t, metres).within(cutoff_m)

    def _snap(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        point_idx, seg_idx = self.tree.query_nearest(points, all_matches=False)
        seg = np.empty(len(points), dtype=int)
        seg[point_idx] = seg_idx
        snap = shapely.distance(points, self.segments[seg])
        along = shapely.line_locate_point(self.segments[seg], points)
        return seg, snap, along


def _line_parts(geoms: np.ndarray) -> list:
    parts = shapely.get_parts(geoms)
    return [g for g in parts if g.geom_type == "LineString" and not g.is_empty] or []


def min_pairs(origin: np.ndarray, target: np.ndarray, metres: np.ndarray) -> Pairs:
    """Return the pairs with the shortest distance of each (origin, target), sorted."""
    if len(origin) == 0:
        return Pairs.empty()
    frame = pd.DataFrame({"o": origin, "t": target, "m": metres})
    frame = frame.groupby(["o", "t"], sort=True, as_index=False)["m"].min()
    return Pairs(
        frame["o"].to_numpy(dtype=int), frame["t"].to_numpy(dtype=int), frame["m"].to_numpy()
    )


def walking_distances(
    origins: np.ndarray,
    targets: np.ndarray,
    cutoff_m: float,
    *,
    network: WalkNetwork | None = None,
    detour_factor: float = 1.3,
) -> Pairs:
    """Return walking distances (m) between two sets of points, for pairs within ``cutoff_m``.

    On ``network`` when given (:meth:`WalkNetwork.distances`), else the straight line times
    ``detour_factor`` (policy ``elderly.detour_factor``, default 1.3; see ``default_policy.toml``
    for the circuity literature behind it). Coordinates ``(n, 2)`` in metres.
    """
    if network is not None and len(network):
        return network.distances(origins, targets, cutoff_m)
    if len(origins) == 0 or len(targets) == 0:
        return Pairs.empty()
    matrix = cKDTree(origins).sparse_distance_matrix(
        cKDTree(targets), cutoff_m / detour_factor, output_type="ndarray"
    )
    pairs = Pairs(
        matrix["i"].astype(int), matrix["j"].astype(int), matrix["v"].astype(float) * detour_factor
    )
    # sparse_distance_matrix leaves out pairs at distance 0 (identical points)
    zero_o, zero_t = _identical(origins, targets)
    return min_pairs(
        np.r_[pairs.origin, zero_o], np.r_[pairs.target, zero_t], np.r_[pairs.metres, 0.0 * zero_o]
    )


def _identical(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    hits = cKDTree(a).query_ball_tree(cKDTree(b), r=1e-9)
    o = [i for i, js in enumerate(hits) for _ in js]
    t = [j for js in hits for j in js]
    return np.array(o, dtype=int), np.array(t, dtype=int)


def points_xy(frame: gpd.GeoDataFrame) -> np.ndarray:
    """Return ``(n, 2)`` coordinates of a point inside each feature (``point_on_surface``)."""
    if len(frame) == 0:
        return np.zeros((0, 2))
    return shapely.get_coordinates(shapely.point_on_surface(frame.geometry.to_numpy()))


#: Walking networks by content (roads, area, settings): the app plans again after each policy
#: change with the same roads; the network (about 1.6 s for Hangzhou) is built once.
_NETWORKS: Memo[WalkNetwork] = Memo(4)


def study_network(
    roads: gpd.GeoDataFrame | None,
    estate_xy: np.ndarray,
    others: list[np.ndarray],
    reach: float,
    el: object,
    quality: QualityReport,
    crs: CRS,
) -> tuple[WalkNetwork | None, str]:
    """Return the walking network of the study area (memoised by content) and its description.

    ``None`` and ``"straight line x <detour>"`` without roads or when no road is walkable there
    (recorded in ``quality``). The area is the points plus ``reach`` + 500 m.
    """
    straight = msg("straight line x {factor:g}", factor=el.detour_factor)  # type: ignore[attr-defined]
    if roads is None or len(roads) == 0:
        return None, straight
    points = np.vstack([estate_xy, *[o for o in others if len(o)]])
    margin = reach + 500.0
    bbox = (
        points[:, 0].min() - margin,
        points[:, 1].min() - margin,
        points[:, 0].max() + margin,
        points[:, 1].max() + margin,
    )
    lines = roads.loc[np.isin(shapely.get_type_id(roads.geometry.to_numpy()), [1, 2, 5])]
    unwalkable = tuple(el.unwalkable_road_classes)  # type: ignore[attr-defined]
    key = (
        digest(
            CRS.from_user_input(crs).to_wkt(),
            unwalkable,
            bbox,
            layers=[lines],
            columns=("fclass", "bridge", "tunnel", "layer"),
        )
        if _memo.enabled()
        else b""
    )
    network = _NETWORKS.get(key)
    if network is None:  # the same roads and area after a policy change: built once
        network = WalkNetwork.from_roads(
            lines.to_crs(crs), unwalkable_classes=unwalkable, bbox=bbox
        )
        _NETWORKS.put(key, network)
    if len(network) == 0:
        quality.add(
            "warning",
            msg("roads"),
            "walking network",
            msg("no walkable road in the study area: distances are {straight}", straight=straight),
            "give a road and path layer covering the estates",
        )
        return None, straight
    return network, "walking network"


def inside_is_zero(pairs: Pairs, points_xy: np.ndarray, polygons: np.ndarray) -> Pairs:
    """Set the distance of a point to the estate polygon containing it to 0 m."""
    if len(points_xy) == 0:
        return pairs
    tree = shapely.STRtree(polygons)
    point_idx, poly_idx = tree.query(shapely.points(points_xy), predicate="within")
    return min_pairs(
        np.r_[pairs.origin, point_idx],
        np.r_[pairs.target, poly_idx],
        np.r_[pairs.metres, np.zeros(len(point_idx))],
    )
