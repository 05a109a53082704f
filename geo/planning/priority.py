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
"""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd

from geo.core.policy import Policy
from geo.planning.eligibility import is_groupable

COMPONENTS = ("age", "needs", "consent", "elderly", "size", "contiguity", "readiness")


def _clip(values: pd.Series) -> np.ndarray:
    return np.clip(values.astype("Float64").fillna(0).to_numpy(dtype=float), 0.0, 1.0)


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
    groupable = set(ids[is_groupable(estates, policy)])
    year = estates["build_year_latest"].astype("Float64")
    needs_count = estates["needs"].fillna("").map(lambda s: len([x for x in s.split("；") if x]))
    no_management = (estates["has_property_management"].astype("boolean") == False).fillna(False)  # noqa: E712
    needs_count = needs_count + no_management.astype(int)
    households = estates["households"].astype("Float64").fillna(0)
    neighbours = [
        sum(1 for m in graph.neighbors(i) if m in groupable) if i in graph else 0 for i in ids
    ]
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


def score_districts(districts: pd.DataFrame, estates: pd.DataFrame) -> pd.DataFrame:
    """Return ``priority_score`` and ``priority_rank`` per district.

    The district score is the household-weighted mean of its members' ``priority_score``
    (members with unknown households weigh as much as the smallest known member, at least 1);
    rank 1 is the highest score.
    """
    # estates indexed once by id; members taken in the estate table's order, as before
    position = {e: i for i, e in enumerate(estates["estate_id"].astype(str))}
    households = estates["households"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    priority = estates["priority_score"].to_numpy(dtype=float)
    scores, index = [], []
    for i, members in districts["members"].items():
        at = np.unique(
            np.array([position[m] for m in members.split(",") if m in position], dtype=np.intp)
        )
        hh = households[at]
        known = ~np.isnan(hh)
        floor = max(float(hh[known].min()) if known.any() else 1.0, 1.0)
        weights = np.clip(np.where(known, hh, floor), 1.0, None)
        scores.append(round(float(np.average(priority[at], weights=weights)), 1))
        index.append(i)
    out = pd.DataFrame({"priority_score": scores}, index=index, dtype=float)
    out["priority_rank"] = out["priority_score"].rank(ascending=False, method="min").astype(int)
    return out
