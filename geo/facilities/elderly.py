"""Elderly-care facility gaps: who is not served, how much floor area is missing, where to build.

Pure planning logic (no file access, no printing). Three parts:

1. **Walking distances** (:class:`WalkNetwork`, :func:`walking_distances`): shortest paths on the
   road and path network when one is given (OSM ways are noded at shared vertices and, for
   ground-level ways, at crossings; motorways and trunk roads are left out), else the straight
   line times the policy's detour factor.
2. **Supply against demand** (:func:`two_step_fca`): the two-step floating catchment area method
   (Luo, W. & Wang, F. 2003, "Measures of spatial accessibility to health care in a GIS
   environment: synthesis and a case study in the Chicago region", *Environment and Planning B*
   30(6): 865-884). A facility's floor area is divided among all households in its catchment, so
   it is never counted once per estate. The standard is the Anhui 2022 rules' 20 m² of community
   elderly-service space per 100 households in existing residential areas; catchments are the
   GB 50180-2018 life circles (5-minute 300 m, 10-minute 500 m, 15-minute 800-1000 m).
3. **Proposed shared sites** (:func:`maximal_covering`, :func:`minimum_cover`): the maximal
   covering location problem (Church, R. & ReVelle, C. 1974, "The maximal covering location
   problem", *Papers of the Regional Science Association* 32: 101-118) when the policy gives a
   number of sites, else the location set covering problem (Toregas, C. et al. 1971) covering
   every coverable gap with the fewest sites. Both are solved exactly as mixed-integer programmes
   with HiGHS (through :func:`scipy.optimize.milp`) when small, and greedily with a proven bound
   when large; the optimality gap is reported.

:func:`assess_elderly_care` runs all three on a planning run's estates and districts.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from pyproj import CRS
from scipy.optimize import LinearConstraint, linprog, milp
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from geo.core import _memo
from geo.core._memo import Memo, digest
from geo.core.errors import InputError, QualityReport
from geo.core.policy import Policy

#: Life circles, in order, with the policy keys of their distance and facility types.
CIRCLES = ("5min", "10min", "15min")

#: English codes of the canonical facility types, used in column names.
TYPE_CODES = {
    "社区养老服务站": "station",
    "老年人日间照料中心": "day_care",
    "养老院": "nursing_home",
}

#: Estate statuses inside the renovation programme (siting serves their gaps).
PROGRAMME_STATUSES = ("eligible", "extension")

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
        return _min_pairs(o, t, metres).within(cutoff_m)

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


def _min_pairs(origin: np.ndarray, target: np.ndarray, metres: np.ndarray) -> Pairs:
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
    return _min_pairs(
        np.r_[pairs.origin, zero_o], np.r_[pairs.target, zero_t], np.r_[pairs.metres, 0.0 * zero_o]
    )


def _identical(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    hits = cKDTree(a).query_ball_tree(cKDTree(b), r=1e-9)
    o = [i for i, js in enumerate(hits) for _ in js]
    t = [j for js in hits for j in js]
    return np.array(o, dtype=int), np.array(t, dtype=int)


# --------------------------------------------------------------------------- 2SFCA


def two_step_fca(
    supply_m2: np.ndarray, households: np.ndarray, catchment: Pairs
) -> tuple[np.ndarray, np.ndarray]:
    """Two-step floating catchment area (Luo & Wang 2003) of floor area per household.

    Step 1: each facility ``j`` has ratio ``R_j = S_j / sum(P_k)`` over the estates ``k`` in its
    catchment (m² per household). Step 2: each estate ``i`` has ``A_i = sum(R_j)`` over the
    facilities whose catchment holds it; its accessible floor area is ``A_i * P_i`` (m²).

    Parameters
    ----------
    supply_m2
        Floor area of each facility (m²; 0 for a facility that does not count).
    households
        Households of each estate (0 for unknown: the estate neither takes nor receives supply).
    catchment
        Pairs with ``origin`` = facility index and ``target`` = estate index, one per estate in the
        facility's catchment.

    Returns
    -------
    tuple of ndarray
        ``(ratio_m2_per_household per facility, accessible_m2 per estate)``. The accessible areas
        add up to the supply of the facilities that have households in their catchment.
    """
    supply_m2 = np.asarray(supply_m2, dtype=float)
    households = np.nan_to_num(np.asarray(households, dtype=float))
    demand = np.bincount(
        catchment.origin, weights=households[catchment.target], minlength=len(supply_m2)
    )
    ratio = np.divide(supply_m2, demand, out=np.zeros_like(supply_m2), where=demand > 0)
    per_household = np.bincount(
        catchment.target, weights=ratio[catchment.origin], minlength=len(households)
    )
    return ratio, per_household * households


# --------------------------------------------------------------------------- siting


@dataclass(frozen=True)
class SitingSolution:
    """A choice of sites and how good it is.

    ``problem`` is ``"MCLP"`` (maximise covered weight with ``p`` sites) or ``"LSCP"`` (fewest
    sites covering every coverable demand). ``objective`` is the covered weight (MCLP) or the
    number of sites (LSCP); ``bound`` the best proven bound on the optimum (upper for MCLP, lower
    for LSCP), so ``gap`` = relative distance to it (0 = proven optimal).
    """

    chosen: np.ndarray
    problem: str
    method: str
    objective: float
    bound: float
    covered_weight: float
    coverable_weight: float
    seconds: float

    @property
    def gap(self) -> float:
        """Relative optimality gap: ``|bound - objective| / max(|bound|, tiny)`` (0 = optimal)."""
        if self.objective == self.bound:
            return 0.0
        return abs(self.bound - self.objective) / max(abs(self.bound), 1e-12)


def maximal_covering(
    weights: np.ndarray,
    cover: sp.spmatrix,
    p: int,
    *,
    exact_max_candidates: int = 5000,
    time_limit_s: float = 60.0,
) -> SitingSolution:
    """Solve the maximal covering location problem (Church & ReVelle 1974).

    Choose ``p`` candidate sites maximising the total weight of the demand points covered by at
    least one chosen site. Exact MILP (HiGHS via :func:`scipy.optimize.milp`; ``x_j`` binary,
    ``y_i`` in [0, 1], ``y_i <= sum x_j over j covering i``, ``sum x_j = p``) when there are at
    most ``exact_max_candidates`` candidates; else greedy (each step adds the site covering the most
    uncovered weight), which reaches at least 1 - 1/e of the optimum, with the online bound
    ``OPT <= f(S_k) + sum of the p largest gains at step k`` (Nemhauser, Wolsey & Fisher 1978).

    Parameters
    ----------
    weights
        Demand weight of each demand point (e.g. the gap in m²); >= 0.
    cover
        Boolean sparse matrix, demand x candidates: True where the candidate covers the demand.
    p
        Number of sites to choose (at most the number of candidates).

    Raises
    ------
    ValueError
        If the shapes disagree or ``p`` is negative.
    """
    started = time.perf_counter()
    weights, cover = _check_problem(weights, cover)
    if p < 0:
        raise ValueError("p must be >= 0")
    n_c = cover.shape[1]
    p = min(p, n_c)
    coverable = float(weights[np.asarray(cover.sum(axis=1)).ravel() > 0].sum())
    if p == 0 or coverable == 0:
        return SitingSolution(np.array([], int), "MCLP", "trivial", 0.0, 0.0, 0.0, coverable, 0.0)
    if n_c <= exact_max_candidates:
        solution = _mclp_milp(weights, cover, p, time_limit_s)
        if solution is not None:
            chosen, bound, method = solution
            covered = _covered(weights, cover, chosen)
            return SitingSolution(
                chosen,
                "MCLP",
                method,
                covered,
                max(bound, covered),
                covered,
                coverable,
                time.perf_counter() - started,
            )
    chosen, bound = _greedy_mclp(weights, cover, p)
    covered = _covered(weights, cover, chosen)
    return SitingSolution(
        chosen,
        "MCLP",
        "greedy",
        covered,
        max(bound, covered),
        covered,
        coverable,
        time.perf_counter() - started,
    )


def minimum_cover(
    weights: np.ndarray,
    cover: sp.spmatrix,
    *,
    exact_max_candidates: int = 5000,
    time_limit_s: float = 60.0,
) -> SitingSolution:
    """Solve the location set covering problem (Toregas et al. 1971) for the coverable demand.

    Choose the fewest candidate sites such that every demand point of positive weight that some
    candidate covers is covered. Exact MILP with HiGHS when there are at most
    ``exact_max_candidates`` candidates; else greedy set cover (ln n approximation) with the LP
    relaxation as lower bound. Arguments as in :func:`maximal_covering`.
    """
    started = time.perf_counter()
    weights, cover = _check_problem(weights, cover)
    rows = (weights > 0) & (np.asarray(cover.sum(axis=1)).ravel() > 0)
    coverable = float(weights[rows].sum())
    sub = cover[rows]
    if not rows.any():
        return SitingSolution(np.array([], int), "LSCP", "trivial", 0.0, 0.0, 0.0, 0.0, 0.0)
    n_c = cover.shape[1]
    ones = np.ones(n_c)
    constraint = LinearConstraint(sub, lb=1, ub=np.inf)
    method, chosen, bound = "", None, 0.0
    if n_c <= exact_max_candidates:
        res = milp(
            ones,
            constraints=constraint,
            integrality=ones,
            bounds=(0, 1),
            options={"time_limit": time_limit_s, "mip_rel_gap": 1e-9},
        )
        if res.x is not None:
            chosen = np.flatnonzero(res.x > 0.5)
            bound = float(np.ceil(res.mip_dual_bound - 1e-6))
            method = "exact (HiGHS MILP)" if res.status == 0 else "HiGHS MILP (time limit)"
    if chosen is None:
        chosen = _greedy_cover(sub)
        lp = linprog(ones, A_ub=-sub, b_ub=-np.ones(sub.shape[0]), bounds=(0, 1), method="highs")
        bound = float(np.ceil(lp.fun - 1e-6)) if lp.status == 0 else 0.0
        method = "greedy"
    covered = _covered(weights, cover, chosen)
    return SitingSolution(
        chosen,
        "LSCP",
        method,
        float(len(chosen)),
        min(bound, float(len(chosen))),
        covered,
        coverable,
        time.perf_counter() - started,
    )


def _check_problem(weights: np.ndarray, cover: sp.spmatrix) -> tuple[np.ndarray, sp.csr_matrix]:
    weights = np.asarray(weights, dtype=float)
    cover = sp.csr_matrix(cover, dtype=float)
    cover.data = (cover.data != 0).astype(float)
    cover.eliminate_zeros()
    if cover.shape[0] != len(weights):
        raise ValueError(f"cover has {cover.shape[0]} rows for {len(weights)} demand weights")
    if (weights < 0).any() or not np.isfinite(weights).all():
        raise ValueError("demand weights must be finite and >= 0")
    return weights, cover


def _covered(weights: np.ndarray, cover: sp.csr_matrix, chosen: np.ndarray) -> float:
    if len(chosen) == 0:
        return 0.0
    hit = np.asarray(cover[:, chosen].sum(axis=1)).ravel() > 0
    return float(weights[hit].sum())


def _mclp_milp(
    weights: np.ndarray, cover: sp.csr_matrix, p: int, time_limit_s: float
) -> tuple[np.ndarray, float, str] | None:
    useful = (weights > 0) & (np.asarray(cover.sum(axis=1)).ravel() > 0)
    w, c = weights[useful], cover[useful]
    n_d, n_c = c.shape
    a_cover = sp.hstack([-c, sp.identity(n_d)], format="csr")
    a_count = sp.hstack([sp.csr_matrix(np.ones((1, n_c))), sp.csr_matrix((1, n_d))], format="csr")
    res = milp(
        np.r_[np.zeros(n_c), -w],
        constraints=[
            LinearConstraint(a_cover, lb=-np.inf, ub=0),
            LinearConstraint(a_count, lb=p, ub=p),
        ],
        integrality=np.r_[np.ones(n_c), np.zeros(n_d)],
        bounds=(0, 1),
        options={"time_limit": time_limit_s, "mip_rel_gap": 1e-9},
    )
    if res.x is None:
        return None
    chosen = np.flatnonzero(res.x[:n_c] > 0.5)
    method = "exact (HiGHS MILP)" if res.status == 0 else "HiGHS MILP (time limit)"
    return chosen, float(-res.mip_dual_bound), method


def _greedy_mclp(weights: np.ndarray, cover: sp.csr_matrix, p: int) -> tuple[np.ndarray, float]:
    cover_t = cover.T.tocsr()
    remaining = weights.copy()
    chosen: list[int] = []
    covered, bound = 0.0, np.inf
    for _ in range(p):
        gains = cover_t @ remaining
        gains[chosen] = -1.0
        top = np.sort(gains[gains > 0])[::-1][:p]
        bound = min(bound, covered + float(top.sum()))
        best = int(np.argmax(gains))
        if gains[best] <= 0:
            break
        chosen.append(best)
        covered += float(gains[best])
        hit = cover_t[best].indices
        remaining[hit] = 0.0
    gains = cover_t @ remaining
    gains[chosen] = -1.0
    bound = min(bound, covered + float(np.sort(gains[gains > 0])[::-1][:p].sum()))
    return np.array(sorted(chosen), dtype=int), bound


def _greedy_cover(cover: sp.csr_matrix) -> np.ndarray:
    chosen, _ = _greedy_mclp(np.ones(cover.shape[0]), cover, cover.shape[1])
    return chosen


# --------------------------------------------------------------------------- the planning step


@dataclass
class ElderlyCare:
    """The elderly-care assessment of a planning run.

    ``estates``: indexed like the input estates, columns ``elderly_required_m2``,
    ``elderly_accessible_m2``, ``elderly_gap_m2`` (m², ``<NA>`` where households are unknown),
    ``elderly_covered_5min/10min/15min`` (bool), ``elderly_nearest_<type>`` (name) and
    ``elderly_nearest_<type>_m`` (walking m, ``<NA>`` beyond ``nearest_search_m``),
    ``elderly_site_id`` (the proposed site serving the estate's gap).
    ``districts``: indexed like the districts, sums over member estates plus the pooled gap.
    ``sites``: proposed shared sites (points): ``site_id, estate_id, district_id, source,
    site_name, floor_area_m2, households_served, estates_served, gap_covered_m2``
    (``source``: ``estate`` or ``candidate layer``; for a candidate-layer site ``district_id`` is
    the district most of its served estates belong to).
    ``facilities``: the input facilities with ``life_circle``, ``catchment_m``, ``counted``,
    ``catchment_households`` and ``m2_per_household`` (the 2SFCA ratio).
    """

    estates: pd.DataFrame
    districts: pd.DataFrame
    sites: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    siting: SitingSolution | None
    distance_method: str
    summary: dict[str, object]


def facility_circles(policy: Policy) -> dict[str, str]:
    """Return ``{facility type: life circle}`` of the policy (``elderly.types_5min`` ...)."""
    el = policy.elderly
    out = {}
    for circle in CIRCLES:
        for kind in getattr(el, f"types_{circle}"):
            out[kind] = circle
    return out


def _circle_m(policy: Policy, circle: str) -> float:
    return float(getattr(policy.elderly, f"circle_{circle}_m"))


def _type_code(kind: str) -> str:
    return TYPE_CODES.get(kind, "".join(ch if ch.isalnum() else "_" for ch in kind))


def assess_elderly_care(
    estates: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    policy: Policy,
    *,
    districts: gpd.GeoDataFrame | None = None,
    roads: gpd.GeoDataFrame | None = None,
    candidates: gpd.GeoDataFrame | None = None,
    quality: QualityReport | None = None,
) -> ElderlyCare:
    """Assess elderly-care floor area per estate and district and propose shared sites.

    Parameters
    ----------
    estates
        Canonical estates (``estate_id``, ``households``; ``status`` and ``district_id`` when
        planned) in a projected CRS (metres). Each estate is placed at a point inside it
        (:func:`shapely.point_on_surface`); a facility or candidate inside its polygon is at 0 m.
    facilities
        Canonical facilities (:func:`geo.io.read_facilities`: ``facility_id, name,
        facility_type, floor_area_m2``), points or polygons, any CRS (projected to the estates').
    policy
        ``policy.elderly``: m² per 100 households (Anhui 2022), life-circle distances and the types
        of each (GB 50180-2018), supply types, detour factor, siting settings.
    districts
        Districts (``district_id``) to sum over; estates carry ``district_id``.
    roads
        Road and path lines (OSM ``fclass`` schema recognised): distances walk on them; without
        them, straight line x ``elderly.detour_factor``.
    candidates
        Extra candidate sites (points or polygons; any CRS) besides the member estates of
        districts.
    quality
        Where to record facilities of unknown types and other data notes.

    Returns
    -------
    ElderlyCare

    Raises
    ------
    InputError
        If the estates are not in a projected CRS or a facility layer has no ``facility_type``.
    """
    if estates.crs is None or CRS.from_user_input(estates.crs).is_geographic:
        raise InputError(
            "estates must be in a projected CRS (metres) for walking distances",
            fix="run through geo.pipeline.run_plan, or to_crs(metric_crs_for(estates))",
        )
    if "facility_type" not in facilities:
        raise InputError(
            "facilities have no facility_type column", fix="read them with geo.io.read_facilities"
        )
    quality = quality if quality is not None else QualityReport()
    el = policy.elderly
    crs = estates.crs
    fac = facilities.to_crs(crs).reset_index(drop=True) if len(facilities) else facilities
    circles = facility_circles(policy)
    kinds = fac["facility_type"].astype(str).to_numpy() if len(fac) else np.array([], dtype=str)
    unknown = sorted(set(kinds) - set(circles))
    for kind in unknown:
        quality.add(
            "warning",
            "facilities",
            f"type {kind}",
            f"{int((kinds == kind).sum())} facilities of a type no life circle lists: left out",
            "add the type to elderly.types_5min/10min/15min in the policy",
        )
    radius = np.array([_circle_m(policy, circles[k]) if k in circles else 0.0 for k in kinds])
    counted = np.isin(kinds, list(el.supply_types)) & (radius > 0)
    area = (
        pd.to_numeric(fac["floor_area_m2"], errors="coerce").fillna(0).to_numpy(dtype=float)
        if len(fac)
        else np.zeros(0)
    )
    supply = np.where(counted, area, 0.0)

    estate_geoms = estates.geometry.to_numpy()
    estate_xy = shapely.get_coordinates(shapely.point_on_surface(estate_geoms))
    fac_xy = _points_xy(fac)
    households = pd.to_numeric(estates["households"], errors="coerce").to_numpy(dtype=float)
    known = np.isfinite(households)

    extra_points = [fac_xy]
    cand = _candidates(estates, candidates, crs)
    extra_points.append(cand["xy"])
    reach = max(el.nearest_search_m, el.circle_15min_m)
    network, method = _network(roads, estate_xy, extra_points, reach, el, quality, crs)

    to_estates = walking_distances(
        fac_xy, estate_xy, reach, network=network, detour_factor=el.detour_factor
    )
    to_estates = _inside_is_zero(to_estates, fac_xy, estate_geoms)
    in_circle = to_estates.within(radius[to_estates.origin])
    catchment = Pairs(
        in_circle.origin[counted[in_circle.origin]],
        in_circle.target[counted[in_circle.origin]],
        in_circle.metres[counted[in_circle.origin]],
    )
    ratio, accessible = two_step_fca(supply, np.where(known, households, 0.0), catchment)
    required = households * el.m2_per_100_households / 100.0
    gap = np.maximum(required - accessible, 0.0)

    out = pd.DataFrame(index=estates.index)
    out["elderly_required_m2"] = pd.array(np.where(known, required, np.nan), dtype="Float64")
    out["elderly_accessible_m2"] = pd.array(np.where(known, accessible, np.nan), dtype="Float64")
    out["elderly_gap_m2"] = pd.array(np.where(known, gap, np.nan), dtype="Float64")
    for circle in CIRCLES:
        limit = _circle_m(policy, circle)
        level = CIRCLES.index(circle)
        serving = np.array([k in circles and CIRCLES.index(circles[k]) <= level for k in kinds])
        hit = to_estates.within(limit)
        mask = serving[hit.origin] if len(hit.origin) else np.array([], dtype=bool)
        covered = np.zeros(len(estates), dtype=bool)
        covered[hit.target[mask]] = True
        out[f"elderly_covered_{circle}"] = covered
    names = fac["name"].astype(str).to_numpy() if len(fac) else np.array([], dtype=str)
    for kind in [*circles, *[k for k in dict.fromkeys(kinds) if k not in circles]]:
        code = _type_code(kind)
        nearest_m = np.full(len(estates), np.nan)
        nearest_name = np.full(len(estates), None, dtype=object)
        of_kind = kinds[to_estates.origin] == kind if len(to_estates.origin) else np.array([])
        if of_kind.any():
            frame = pd.DataFrame(
                {
                    "t": to_estates.target[of_kind],
                    "m": to_estates.metres[of_kind],
                    "o": to_estates.origin[of_kind],
                }
            ).sort_values(["t", "m", "o"])
            frame = frame.drop_duplicates("t")
            nearest_m[frame["t"]] = frame["m"]
            nearest_name[frame["t"]] = names[frame["o"]]
        out[f"elderly_nearest_{code}"] = pd.array(nearest_name, dtype="string")
        out[f"elderly_nearest_{code}_m"] = pd.array(nearest_m, dtype="Float64")

    facilities_out = fac.copy()
    facilities_out["life_circle"] = pd.array([circles.get(k) for k in kinds], dtype="string")
    facilities_out["catchment_m"] = radius
    facilities_out["counted"] = counted
    facilities_out["catchment_households"] = np.bincount(
        catchment.origin,
        weights=np.where(known, households, 0.0)[catchment.target],
        minlength=len(fac),
    )
    facilities_out["m2_per_household"] = ratio

    sites, siting, site_of_estate = _propose_sites(
        estates, out, households, cand, estate_xy, network, policy
    )
    out["elderly_site_id"] = pd.array(site_of_estate, dtype="string")
    district_frame = _district_columns(estates, out, households, districts, sites)
    summary = _summary(out, households, sites, siting, method, policy)
    if (~known).any():
        quality.add(
            "warning",
            "estates",
            f"{int((~known).sum())} estates",
            "households unknown: elderly-care floor area required cannot be computed",
            "survey 户数",
        )
    return ElderlyCare(out, district_frame, sites, facilities_out, siting, method, summary)


def coverage_rings(care: ElderlyCare, policy: Policy) -> gpd.GeoDataFrame:
    """Catchment rings of the facilities for the map: one polygon per facility of a life circle.

    The ring's radius is the life-circle walking distance divided by ``elderly.detour_factor``
    (the straight-line reach of a typical walk); with a walking network the real catchment is
    the estates the facility reaches (``elderly_covered_*`` columns), which the ring only
    approximates. Columns: ``name, facility_type, life_circle, walk_m, radius_m, counted,
    m2_per_household`` and the ring (CRS of ``care.facilities``, metres).
    """
    fac = care.facilities
    keep = fac["life_circle"].notna().to_numpy() & (fac["catchment_m"].to_numpy() > 0)
    fac = fac.loc[keep]
    radius = fac["catchment_m"].to_numpy(dtype=float) / policy.elderly.detour_factor
    centres = shapely.point_on_surface(fac.geometry.to_numpy())
    return gpd.GeoDataFrame(
        {
            "name": fac["name"].to_numpy(),
            "facility_type": fac["facility_type"].to_numpy(),
            "life_circle": fac["life_circle"].to_numpy(),
            "walk_m": fac["catchment_m"].to_numpy(dtype=float),
            "radius_m": np.round(radius, 1),
            "counted": fac["counted"].to_numpy(),
            "m2_per_household": fac["m2_per_household"].to_numpy(),
        },
        geometry=shapely.buffer(centres, radius, quad_segs=16),
        crs=fac.crs,
    )


def gap_estates(estates: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Estates short of elderly-care floor area, for the map: ``elderly_gap_m2 > 0``.

    Columns ``estate_id, name, households, elderly_required_m2, elderly_accessible_m2,
    elderly_gap_m2, elderly_site_id`` and the footprint; largest gap first.
    """
    gap = pd.to_numeric(estates["elderly_gap_m2"], errors="coerce").fillna(0)
    columns = [
        c
        for c in (
            "estate_id",
            "name",
            "households",
            "elderly_required_m2",
            "elderly_accessible_m2",
            "elderly_gap_m2",
            "elderly_site_id",
        )
        if c in estates
    ]
    short = estates.loc[gap > 0, [*columns, estates.geometry.name]]
    return short.sort_values("elderly_gap_m2", ascending=False).reset_index(drop=True)


def _points_xy(frame: gpd.GeoDataFrame) -> np.ndarray:
    if len(frame) == 0:
        return np.zeros((0, 2))
    return shapely.get_coordinates(shapely.point_on_surface(frame.geometry.to_numpy()))


def _candidates(
    estates: gpd.GeoDataFrame, candidates: gpd.GeoDataFrame | None, crs: CRS
) -> dict[str, np.ndarray]:
    """Candidate sites: a point inside each member estate of a district, then the given layer."""
    if "district_id" in estates:
        members = estates.loc[estates["district_id"].notna()]
    else:
        members = estates.iloc[0:0]
    xy = _points_xy(members)
    host = members["estate_id"].astype(str).to_numpy()
    district = members["district_id"].astype(str).to_numpy() if len(members) else host
    source = np.full(len(members), "estate", dtype=object)
    names = members["name"].astype(object).to_numpy() if "name" in members else host.copy()
    if candidates is not None and len(candidates):
        extra = candidates.to_crs(crs)
        extra_xy = _points_xy(extra)
        xy = np.vstack([xy, extra_xy])
        host = np.r_[host, np.full(len(extra), None, dtype=object)]
        district = np.r_[district, np.full(len(extra), None, dtype=object)]
        source = np.r_[source, np.full(len(extra), "candidate layer", dtype=object)]
        extra_names = (
            extra["site_name"].astype(object).to_numpy()
            if "site_name" in extra
            else np.array([f"候选点{i + 1}" for i in range(len(extra))], dtype=object)
        )
        names = np.r_[names, extra_names]
    return {
        "xy": xy.reshape(-1, 2),
        "host": host,
        "district": district,
        "source": source,
        "name": names,
    }


#: Walking networks by content (roads, area, settings): the app plans again after each policy
#: change with the same roads; the network (about 1.6 s for Hangzhou) is built once.
_NETWORKS: Memo[WalkNetwork] = Memo(4)


def _network(
    roads: gpd.GeoDataFrame | None,
    estate_xy: np.ndarray,
    others: list[np.ndarray],
    reach: float,
    el: object,
    quality: QualityReport,
    crs: CRS,
) -> tuple[WalkNetwork | None, str]:
    straight = f"straight line x {el.detour_factor:g}"  # type: ignore[attr-defined]
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
            "roads",
            "walking network",
            f"no walkable road in the study area: distances are {straight}",
            "give a road and path layer covering the estates",
        )
        return None, straight
    return network, "walking network"


def _inside_is_zero(pairs: Pairs, points_xy: np.ndarray, polygons: np.ndarray) -> Pairs:
    """Set the distance of a point to the estate polygon containing it to 0 m."""
    if len(points_xy) == 0:
        return pairs
    tree = shapely.STRtree(polygons)
    point_idx, poly_idx = tree.query(shapely.points(points_xy), predicate="within")
    return _min_pairs(
        np.r_[pairs.origin, point_idx],
        np.r_[pairs.target, poly_idx],
        np.r_[pairs.metres, np.zeros(len(point_idx))],
    )


def _propose_sites(
    estates: gpd.GeoDataFrame,
    out: pd.DataFrame,
    households: np.ndarray,
    cand: dict[str, np.ndarray],
    estate_xy: np.ndarray,
    network: WalkNetwork | None,
    policy: Policy,
) -> tuple[gpd.GeoDataFrame, SitingSolution | None, np.ndarray]:
    el = policy.elderly
    gap = out["elderly_gap_m2"].fillna(0).to_numpy(dtype=float)
    in_scope = (
        estates["status"].isin(PROGRAMME_STATUSES).to_numpy()
        if "status" in estates
        else np.ones(len(estates), dtype=bool)
    )
    demand = np.flatnonzero((gap > 0) & in_scope)
    site_of_estate = np.full(len(estates), None, dtype=object)
    empty = gpd.GeoDataFrame(
        {
            "site_id": pd.Series(dtype="string"),
            "estate_id": pd.Series(dtype="string"),
            "district_id": pd.Series(dtype="string"),
            "source": pd.Series(dtype="string"),
            "site_name": pd.Series(dtype="string"),
            "floor_area_m2": pd.Series(dtype=float),
            "households_served": pd.Series(dtype="Int64"),
            "estates_served": pd.Series(dtype="string"),
            "gap_covered_m2": pd.Series(dtype=float),
        },
        geometry=gpd.GeoSeries([], crs=estates.crs),
        crs=estates.crs,
    )
    if len(demand) == 0 or len(cand["xy"]) == 0:
        return empty, None, site_of_estate
    reach = el.circle_5min_m
    pairs = walking_distances(
        cand["xy"], estate_xy[demand], reach, network=network, detour_factor=el.detour_factor
    )
    pairs = _inside_is_zero(pairs, cand["xy"], estates.geometry.to_numpy()[demand])
    cover = sp.csr_matrix(
        (np.ones(len(pairs.origin)), (pairs.target, pairs.origin)),
        shape=(len(demand), len(cand["xy"])),
    )
    weights = gap[demand]
    if el.max_new_sites > 0:
        siting = maximal_covering(
            weights,
            cover,
            el.max_new_sites,
            exact_max_candidates=el.exact_max_candidates,
            time_limit_s=el.solver_time_limit_s,
        )
    else:
        siting = minimum_cover(
            weights,
            cover,
            exact_max_candidates=el.exact_max_candidates,
            time_limit_s=el.solver_time_limit_s,
        )
    chosen = siting.chosen
    if len(chosen) == 0:
        return empty, siting, site_of_estate
    # each covered demand estate goes to its nearest chosen site
    frame = pd.DataFrame({"c": pairs.origin, "d": pairs.target, "m": pairs.metres})
    frame = frame.loc[frame["c"].isin(chosen)].sort_values(["d", "m", "c"]).drop_duplicates("d")
    site_ids = {c: f"S{n + 1:04d}" for n, c in enumerate(chosen)}
    ids = estates["estate_id"].astype(str).to_numpy()
    districts_of = (
        estates["district_id"].astype(object).to_numpy()
        if "district_id" in estates
        else np.full(len(estates), None, dtype=object)
    )
    rows = []
    for c in chosen:
        served = demand[frame.loc[frame["c"] == c, "d"].to_numpy()]
        site_of_estate[served] = site_ids[c]
        district = cand["district"][c]
        if district is None:  # a site of the candidate layer: the district it serves most
            served_districts = pd.Series(districts_of[served]).dropna()
            district = served_districts.mode().iloc[0] if len(served_districts) else None
        rows.append(
            {
                "site_id": site_ids[c],
                "estate_id": cand["host"][c],
                "district_id": district,
                "source": cand["source"][c],
                "site_name": None if pd.isna(cand["name"][c]) else str(cand["name"][c]),
                "floor_area_m2": float(np.ceil(gap[served].sum())),
                "households_served": int(np.nansum(households[served])),
                "estates_served": ",".join(ids[served]),
                "gap_covered_m2": float(gap[served].sum()),
            }
        )
    sites = gpd.GeoDataFrame(
        pd.DataFrame(rows),
        geometry=shapely.points(cand["xy"][chosen]),
        crs=estates.crs,
    )
    for column in ("site_id", "estate_id", "district_id", "source", "site_name", "estates_served"):
        sites[column] = sites[column].astype("string")
    sites["households_served"] = sites["households_served"].astype("Int64")
    return sites, siting, site_of_estate


def _district_columns(
    estates: gpd.GeoDataFrame,
    out: pd.DataFrame,
    households: np.ndarray,
    districts: gpd.GeoDataFrame | None,
    sites: gpd.GeoDataFrame,
) -> pd.DataFrame:
    columns = [
        "elderly_required_m2",
        "elderly_accessible_m2",
        "elderly_gap_m2",
        "elderly_pooled_gap_m2",
        "elderly_households_without_5min",
        "elderly_sites",
        "elderly_site_m2",
    ]
    if districts is None or len(districts) == 0 or "district_id" not in estates:
        index = districts.index if districts is not None else pd.RangeIndex(0)
        return pd.DataFrame({c: pd.Series(dtype=float) for c in columns}, index=index)
    frame = out[["elderly_required_m2", "elderly_accessible_m2", "elderly_gap_m2"]].astype(float)
    frame["district_id"] = estates["district_id"].astype("string").to_numpy()
    frame["without_5min"] = np.where(
        ~out["elderly_covered_5min"].to_numpy() & np.isfinite(households), households, 0.0
    )
    sums = frame.groupby("district_id", dropna=True).sum(min_count=1)
    result = pd.DataFrame(index=districts.index)
    key = districts["district_id"].astype(str)
    for column in ("elderly_required_m2", "elderly_accessible_m2", "elderly_gap_m2"):
        result[column] = key.map(sums[column]).astype("Float64").to_numpy()
    # pooled (Anhui 2022: small estates may pool within a 5-minute circle): surplus of one member
    # offsets the shortfall of another
    pooled = (result["elderly_required_m2"] - result["elderly_accessible_m2"]).clip(lower=0)
    result["elderly_pooled_gap_m2"] = pooled
    result["elderly_households_without_5min"] = (
        key.map(sums["without_5min"]).fillna(0).astype("Int64").to_numpy()
    )
    by_district = sites.groupby("district_id")["floor_area_m2"] if len(sites) else None
    if by_district is not None:
        result["elderly_sites"] = key.map(by_district.size()).fillna(0).astype("Int64").to_numpy()
        result["elderly_site_m2"] = key.map(by_district.sum()).fillna(0.0).to_numpy()
    else:
        result["elderly_sites"] = pd.array([0] * len(result), dtype="Int64")
        result["elderly_site_m2"] = 0.0
    return result


def _summary(
    out: pd.DataFrame,
    households: np.ndarray,
    sites: gpd.GeoDataFrame,
    siting: SitingSolution | None,
    method: str,
    policy: Policy,
) -> dict[str, object]:
    known = np.isfinite(households)
    without = ~out["elderly_covered_5min"].to_numpy() & known
    return {
        "distance": method,
        "households": int(households[known].sum()),
        "households_without_5min": int(households[without].sum()),
        "estates_without_5min": int(without.sum()),
        "required_m2": float(out["elderly_required_m2"].sum()),
        "accessible_m2": float(out["elderly_accessible_m2"].sum()),
        "gap_m2": float(out["elderly_gap_m2"].sum()),
        "sites_proposed": len(sites),
        "site_floor_area_m2": float(sites["floor_area_m2"].sum()) if len(sites) else 0.0,
        "gap_covered_m2": float(siting.covered_weight) if siting else 0.0,
        "gap_coverable_m2": float(siting.coverable_weight) if siting else 0.0,
        "siting_problem": siting.problem if siting else "",
        "siting_method": siting.method if siting else "",
        "siting_gap": float(siting.gap) if siting else 0.0,
        "siting_seconds": float(siting.seconds) if siting else 0.0,
        "m2_per_100_households": policy.elderly.m2_per_100_households,
    }
