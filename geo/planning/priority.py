"""A transparent priority score per estate and per district (0-100), components kept as columns.

Each component is a number from 0 to 1, kept as a ``priority_<name>`` column so a planner can see
why an estate ranks where it does; the score is their weighted mean times 100 with the weights of
``policy.priority``:

``age``        1 for estates built in ``age_full_year`` (1975) or before, 0 from ``age_zero_year``
               (2005), linear between (focus on pre-2000 estates: Ruicheng, Yangjiang).
``needs``      needed items (of the 25-item Yangjiang content table), plus one when the estate has
               no property management (Yangjiang §三(一): incomplete management is a deficit that
               qualifies an estate), / ``needs_full_count``.
``consent``    the consent rate (Ruicheng, Huaibei: priority to strong willingness).
``elderly``    share of residents aged 60+ / ``elderly_full_share`` (Xinyang §3.3 elderly care).
``size``       log(1 + households) / log(1 + ``size_full_households``).
``contiguity`` groupable neighbours / 3 (contiguous renovation: Xinyang, Huaibei, Ruicheng).
``readiness``  mean of illegal structures removed and, where the survey records it
               (``management_model_agreed``), a post-renovation management model agreed (Ruicheng §(二)1: priority to proactive removal of illegal structures; Huaibei §七:
               priority to estates that can settle the management model). Existing property
               management is not rewarded: it is not the criterion (see
               :mod:`geo.planning.conditions`, which also makes these conditions gates).

Unknown values score 0 for their component (they never raise a priority).

May import: numpy, pandas, networkx, geopandas, ``geo.core.policy``, ``geo.core._machine``,
:mod:`geo.planning.eligibility`.
"""

from __future__ import annotations

import itertools

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd

from geo.core._machine import without_collector
from geo.core.policy import Policy
from geo.planning.eligibility import is_groupable

COMPONENTS = ("age", "needs", "consent", "elderly", "size", "contiguity", "readiness")


def _clip(values: pd.Series) -> np.ndarray:
    return np.clip(values.astype("Float64").fillna(0).to_numpy(dtype=float), 0.0, 1.0)


@without_collector
def score_estates(estates: gpd.GeoDataFrame, graph: nx.Graph, policy: Policy) -> pd.DataFrame:
    """Return the priority components and ``priority_score`` (0-100) per estate.

    Parameters
    ----------
    estates
        Estates with ``estate_id``, ``status``, ``build_year_latest``, ``needs`` (items separated
        by ``；``), ``consent_rate``, ``elderly_share``, ``households``,
        ``illegal_structures_removed``, ``has_property_management`` and optionally
        ``management_model_agreed``.
    graph
        Adjacency graph (nodes ``estate_id``) for the contiguity component.
    policy
        Weights and scales from ``policy.priority``.

    Returns
    -------
    DataFrame
        Indexed like ``estates``: ``priority_<component>`` (0-1) for each of :data:`COMPONENTS`
        and ``priority_score`` (0-100, one decimal).
    """
    p = policy.priority
    ids = estates["estate_id"].astype(str)
    groupable = set(ids[is_groupable(estates, policy)].tolist())
    year = estates["build_year_latest"].astype("Float64")
    needs_count = _item_counts(estates["needs"].fillna(""))
    no_management = (estates["has_property_management"].astype("boolean") == False).fillna(False)  # noqa: E712
    needs_count = needs_count + no_management.astype(int)
    households = estates["households"].astype("Float64").fillna(0)
    neighbours = _groupable_neighbours(graph, ids.tolist(), groupable)
    # illegal structures removed, and an agreed management model where the survey records one
    # (management_model_agreed); existing property management is not the criterion
    ready_parts = [estates["illegal_structures_removed"].astype("Float64").fillna(0)]
    if "management_model_agreed" in estates:
        ready_parts.append(estates["management_model_agreed"].astype("Float64").fillna(0))
    ready = pd.concat(ready_parts, axis=1)
    parts = {
        "age": _clip((p.age_zero_year - year) / (p.age_zero_year - p.age_full_year)),
        "needs": _clip(needs_count / p.needs_full_count),
        "consent": _clip(estates["consent_rate"]),
        "elderly": _clip(estates["elderly_share"].astype("Float64") / p.elderly_full_share),
        "size": _clip(np.log1p(households) / np.log1p(p.size_full_households)),
        "contiguity": _clip(pd.Series(neighbours, index=estates.index) / 3),
        "readiness": _clip(ready.mean(axis=1)),
    }
    out = pd.DataFrame(
        {f"priority_{k}": np.round(v, 3) for k, v in parts.items()}, index=estates.index
    )
    weights = np.array([getattr(p, f"weight_{k}") for k in COMPONENTS], dtype=float)
    matrix = np.column_stack([parts[k] for k in COMPONENTS])
    out["priority_score"] = np.round(100 * matrix @ weights / weights.sum(), 1)
    return out


def _item_counts(needs: pd.Series) -> pd.Series:
    """The number of items (non-empty, separated by ``；``) of each cell of ``needs`` (int).

    Counted once per distinct cell (estates of a survey share few distinct needs cells).
    """
    codes, cells = pd.factorize(needs)
    counts = np.array([len([x for x in s.split("；") if x]) for s in cells], dtype=np.int64)
    return pd.Series(counts[codes], index=needs.index)


def _groupable_neighbours(graph: nx.Graph, ids: list[str], groupable: set[str]) -> np.ndarray:
    """For each id, its neighbours in ``graph`` that are in ``groupable`` (0 if not a node).

    The neighbour lists are read once, flat, and counted per node in one array operation.
    """
    nodes = list(graph.adjacency())
    neighbour_lists = [neighbours for _node, neighbours in nodes]
    nodes = [node for node, _neighbours in nodes]
    sizes = np.fromiter(map(len, neighbour_lists), dtype=np.intp, count=len(nodes))
    flat = pd.Index(list(itertools.chain.from_iterable(neighbour_lists)), dtype=object)
    counts = np.bincount(
        np.repeat(np.arange(len(nodes)), sizes),
        weights=flat.isin(groupable),
        minlength=len(nodes),
    ).astype(np.int64)
    at = pd.Index(nodes, dtype=object).get_indexer(ids)
    return np.where(at >= 0, np.append(counts, 0)[at], 0)  # -1 (not a node) reads the 0


@without_collector
def score_districts(districts: pd.DataFrame, estates: pd.DataFrame) -> pd.DataFrame:
    """Return ``priority_score`` and ``priority_rank`` per district.

    The district score is the household-weighted mean of its members' ``priority_score``
    (members with unknown households weigh as much as the smallest known member, at least 1);
    rank 1 is the highest score.
    """
    # estates indexed once by id (the last row of an id); each district's members found there,
    # once each, in the estate table's order
    position = {e: i for i, e in enumerate(estates["estate_id"].astype(str).tolist())}
    households = estates["households"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    priority = estates["priority_score"].to_numpy(dtype=float)
    found = [[position[m] for m in ms.split(",") if m in position] for ms in districts["members"]]
    label = np.repeat(np.arange(len(found)), [len(rows) for rows in found])
    at = np.fromiter(itertools.chain.from_iterable(found), dtype=np.intp, count=len(label))
    order = np.lexsort((at, label))
    label, at = label[order], at[order]
    first = np.ones(len(at), dtype=bool)
    first[1:] = (label[1:] != label[:-1]) | (at[1:] != at[:-1])
    label, at = label[first], at[first]
    sizes = np.bincount(label, minlength=len(found))
    if (sizes == 0).any():
        empty = districts.index[np.flatnonzero(sizes == 0)[0]]
        raise ValueError(f"district {empty!r} has no member among the estates")
    starts = np.cumsum(sizes) - sizes
    hh = households[at]
    known = ~np.isnan(hh)
    floor = np.ones(len(found))
    if len(at):
        floor = np.fmax(np.fmin.reduceat(hh, starts), 1.0)  # smallest known, NaN where none
        floor[np.isnan(floor)] = 1.0
    weights = np.clip(np.where(known, hh, floor[label]), 1.0, None)
    # np.average's sums (numpy's pairwise order), every district at once
    mean = _segment_sums(priority[at] * weights, starts, sizes) / _segment_sums(
        weights, starts, sizes
    )
    scores, index = [round(m, 1) for m in mean.tolist()], list(districts.index)
    out = pd.DataFrame({"priority_score": scores}, index=index, dtype=float)
    out["priority_rank"] = out["priority_score"].rank(ascending=False, method="min").astype(int)
    return out


def _segment_sums(values: np.ndarray, starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """``[values[s : s + n].sum() for s, n in zip(starts, sizes)]``, the same floats, in bulk.

    ``ndarray.sum`` adds a float64 array in numpy's pairwise order (:func:`_pairwise_rows`);
    segments of one length are stacked and added row by row in that order.
    """
    out = np.zeros(len(sizes))
    for n in np.unique(sizes):
        which = np.flatnonzero(sizes == n)
        out[which] = 0.0 + _pairwise_rows(values[starts[which, None] + np.arange(n)])
    return out


def _pairwise_rows(rows: np.ndarray) -> np.ndarray:
    """Each row's sum in numpy's pairwise order (``ndarray.sum`` adds it to 0.0).

    Under 8 values, one after the other from 0.0; up to 128, eight running sums (every eighth value)
    added as ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7)), then the rest one by one;
    more, the two halves (the first a multiple of 8 long) each so, then added.
    """
    n = rows.shape[1]
    if n < 8:
        total = np.zeros(len(rows))
        for j in range(n):
            total = total + rows[:, j]
        return total
    if n > 128:
        half = n // 2 - (n // 2) % 8
        return _pairwise_rows(rows[:, :half]) + _pairwise_rows(rows[:, half:])
    r = rows[:, :8].copy()
    end = n - n % 8
    for i in range(8, end, 8):
        r += rows[:, i : i + 8]
    total = ((r[:, 0] + r[:, 1]) + (r[:, 2] + r[:, 3])) + (
        (r[:, 4] + r[:, 5]) + (r[:, 6] + r[:, 7])
    )
    for j in range(end, n):
        total = total + rows[:, j]
    return total
