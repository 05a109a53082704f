"""Tender lots (标段) of a district, and whether a district is ready: the mobilisation list.

A district larger than ``districts.lot_max_households`` (4,000: a 5-minute life circle's
dwellings, GB 50180-2018 table 3.0.4) is split into lots of connected member estates, each at
most that size (an estate above it is a lot on its own), by the region growing of
:mod:`geo.planning.partition` without a walk limit; a district is still one design (一区一规划,
Huaibei 2021) and its lots are contracts (Yangjiang draft: 成片捆绑、打包 to select firms).

A district is ready when every member is ready (:mod:`geo.planning.conditions`: consent at the
threshold, no postponing condition failed). The mobilisation list holds the members that are not,
with the households still to persuade (:func:`geo.planning.conditions.households_to_persuade`).

May import: numpy, pandas, networkx, ``geo.core.policy`` and :mod:`geo.planning.partition`,
:mod:`geo.planning.conditions`.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd

from geo.core.policy import Policy
from geo.planning.conditions import households_to_persuade
from geo.planning.partition import Caps, _grow_regions

#: Columns of the mobilisation list (one row per estate not yet ready, in a district or alone).
MOBILISATION_COLUMNS = (
    "estate_id",
    "name",
    "district_id",
    "lot",
    "households",
    "consent_rate",
    "households_to_persuade",
    "ready_reason_zh",
    "ready_reason_en",
)


def split_lots(members: list[str], graph: nx.Graph, caps: Caps, policy: Policy) -> list[list[str]]:
    """Split a district's members into tender lots (connected, at most ``lot_max_households``).

    One lot when the district fits or ``lot_max_households`` is 0. Lots are ordered by their
    first member id.
    """
    limit = policy.districts.lot_max_households
    total = sum(caps.households[m] for m in members)
    if limit <= 0 or total <= limit:
        return [sorted(members)]
    lot_caps = Caps(caps.households, caps.xy, policy, max_households=limit, max_walk_m=0.0)
    lot_caps.min_estates = 1  # a lot may be one large estate
    lot_caps.max_estates = len(members)
    lots = _grow_regions(set(members), graph.subgraph(members), lot_caps)
    return sorted((sorted(lot) for lot in lots), key=lambda lot: lot[0])


def district_readiness(
    estates: pd.DataFrame, members: dict[str, list[str]], policy: Policy
) -> pd.DataFrame:
    """Return per district ``ready``, ``members_not_ready`` and ``households_to_persuade``.

    ``estates`` carries ``estate_id``, ``ready`` (:mod:`geo.planning.conditions`), ``households``
    and ``consent_rate``; ``members`` maps district id -> member estate ids. A member of unknown
    readiness is not ready. Indexed by district id.
    """
    ids = estates["estate_id"].astype(str).to_numpy(dtype=object)
    ready = (
        estates["ready"].fillna(False).to_numpy(dtype=bool)
        if "ready" in estates
        else np.ones(len(estates), dtype=bool)
    )
    short = households_to_persuade(estates, policy).to_numpy(dtype=float, na_value=np.nan)
    names = list(members)
    if not names:
        return pd.DataFrame(columns=["ready", "members_not_ready", "households_to_persuade"])
    sizes = np.fromiter((len(members[d]) for d in names), dtype=np.intp, count=len(names))
    # the last row of an id, as a lookup by id gives; a member not in the table is not ready
    position = dict(zip(ids, range(len(ids)), strict=True))
    at = np.fromiter(
        (position.get(m, -1) for d in names for m in members[d]), dtype=np.intp, count=sizes.sum()
    )
    found = at >= 0
    not_ready = ~(found & ready[at])
    persuade = np.where(not_ready & found, short[at], np.nan)
    label = np.repeat(np.arange(len(names)), sizes)  # a district may even be empty
    count = np.bincount(label, weights=not_ready, minlength=len(names))
    total = np.bincount(label, weights=np.nan_to_num(persuade, nan=0.0), minlength=len(names))
    return pd.DataFrame(
        {
            "ready": count == 0,
            "members_not_ready": count.astype(np.int64),
            "households_to_persuade": total.astype(np.int64),
        },
        index=pd.Index(names),
    )


def mobilisation_list(estates: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """Return the estates in the programme that are not ready: who still needs persuading.

    Rows of estates with ``ready`` False (members of districts first, by district and lot),
    columns :data:`MOBILISATION_COLUMNS`; ``households_to_persuade`` is the number of households
    whose agreement would bring the estate to the consent threshold (0 when consent is met and
    another condition holds it back).
    """
    if "ready" not in estates:
        return pd.DataFrame(columns=list(MOBILISATION_COLUMNS))
    waiting = estates.loc[estates["ready"].eq(False).fillna(False)].copy()
    waiting["households_to_persuade"] = households_to_persuade(waiting, policy)
    for column in MOBILISATION_COLUMNS:
        if column not in waiting:
            waiting[column] = pd.NA
    out = pd.DataFrame(waiting[list(MOBILISATION_COLUMNS)]).reset_index(drop=True)
    return out.sort_values(["district_id", "lot", "estate_id"], na_position="last").reset_index(
        drop=True
    )
