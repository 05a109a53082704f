"""What changes between two scenarios (two plans of the same estates under two policies).

A planner compares policy choices ("cutoff 2000 vs 2005 with the 15 % extension", "5- vs
10-minute districts") by the estates they move: :func:`scenario_changes` says, per estate, how
its standing differs from scenario A to scenario B, as one of :data:`CHANGE_KINDS`:

- ``added`` (新纳入): outside the renovation programme in A (not ``eligible``/``extension``), in it
  in B;
- ``removed`` (移出): in the programme in A, outside it in B;
- ``moved`` (换片区): in the programme in both, in another district (or joining or leaving one);
- ``status`` (状态变化): any other change of state: eligible <-> extension, ready <-> postponed
  (暂缓, an unmet condition with the ``postpone`` effect), needs survey <-> too recent or excluded;
- ``unchanged``.

District ids are numbered anew in each run (``D0001``...), so one district added early in B
renumbers all later ones. Districts are therefore matched by their members
(:func:`match_districts`: most shared estates first, one to one) and an estate is ``moved`` only
when its B district is not the counterpart of its A district.

May import: numpy, pandas, :mod:`geo.planning.eligibility`. No files, no map, no page.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo.planning.eligibility import STATUSES

#: Change kinds, most telling first (an estate gets the first that applies).
CHANGE_KINDS = ("added", "removed", "moved", "status", "unchanged")
#: States of an estate: the eligibility statuses and ``postponed`` (in the programme, not ready).
STATES = (*STATUSES, "postponed")
#: Statuses in the renovation programme (grouped into districts, costed, scheduled).
PROGRAMME = ("eligible", "extension")


def estate_state(estates: pd.DataFrame) -> pd.Series:
    """Return each estate's state: its ``status``, or ``postponed`` when in the programme but not ready.

    Parameters
    ----------
    estates
        Needs ``status``; ``ready`` (boolean, from :mod:`geo.planning.conditions`) when present:
        an ``eligible`` or ``extension`` estate with ``ready`` False is postponed (暂缓).

    Returns
    -------
    Series of str, same index, values in :data:`STATES` (a missing status reads ``needs_survey``).
    """
    status = estates["status"].astype("string").fillna("needs_survey")
    if "ready" not in estates:
        return status.astype(object)
    ready = estates["ready"].astype("boolean")
    postponed = status.isin(PROGRAMME) & ready.eq(False).fillna(False)
    return status.where(~postponed, "postponed").astype(object)


def match_districts(district_a: pd.Series, district_b: pd.Series) -> dict[str, str]:
    """Pair the districts of B with those of A by shared estates (greedy, one to one).

    Parameters
    ----------
    district_a, district_b
        Each estate's district id in A and in B (same index: one row per estate; missing = no
        district).

    Returns
    -------
    dict
        ``{B district id: A district id}`` for the pairs sharing estates, most shared first
        (ties by the ids, so the result does not depend on row order). A B district left
        without a partner is new; it is absent from the dict.
    """
    both = pd.DataFrame(
        {"a": district_a.astype("string"), "b": district_b.astype("string")}
    ).dropna()
    if both.empty:
        return {}
    shared = both.groupby(["a", "b"]).size().reset_index(name="n")
    shared = shared.sort_values(["n", "a", "b"], ascending=[False, True, True], kind="stable")
    pairs: dict[str, str] = {}
    taken: set[str] = set()
    for a, b in zip(shared["a"], shared["b"], strict=True):
        if b not in pairs and a not in taken:
            pairs[b] = a
            taken.add(a)
    return pairs


def scenario_changes(estates_a: pd.DataFrame, estates_b: pd.DataFrame) -> pd.DataFrame:
    """Return how each estate's standing changes from scenario A to scenario B.

    Parameters
    ----------
    estates_a, estates_b
        The estates of two plans of the same data (``PlanResult.estates``): ``estate_id``,
        ``status``, ``district_id``; ``name`` and ``ready`` when present. Estates are paired by
        ``estate_id``; an estate in only one of them is left out.

    Returns
    -------
    DataFrame
        One row per estate of B also in A, with B's index: ``estate_id``, ``name``, ``state_a``,
        ``state_b`` (:func:`estate_state`), ``district_a``, ``district_b`` (ids as each run
        numbered them, <NA> = none), ``district_b_in_a`` (the A district that B's district
        continues, :func:`match_districts`; <NA> for a new district) and ``change`` (one of
        :data:`CHANGE_KINDS`).

    Raises
    ------
    ValueError
        If an ``estate_id`` repeats within one scenario.
    """
    for label, frame in (("A", estates_a), ("B", estates_b)):
        if frame["estate_id"].astype(str).duplicated().any():
            raise ValueError(f"scenario {label} repeats an estate_id: estates cannot be paired")
    a = pd.DataFrame(
        {
            "state_a": estate_state(estates_a).to_numpy(),
            "district_a": estates_a["district_id"].astype("string").to_numpy(),
        },
        index=estates_a["estate_id"].astype(str).to_numpy(),
    )
    ids_b = estates_b["estate_id"].astype(str)
    keep = ids_b.isin(a.index).to_numpy()
    b = estates_b.loc[keep]
    ids = ids_b.loc[keep].to_numpy()
    names = b["name"] if "name" in b else pd.Series(pd.NA, index=b.index)
    out = pd.DataFrame(
        {
            "estate_id": ids,
            "name": names.astype("string").to_numpy(),
            "state_a": a.loc[ids, "state_a"].to_numpy(),
            "state_b": estate_state(b).to_numpy(),
            "district_a": pd.array(a.loc[ids, "district_a"].to_numpy(), dtype="string"),
            "district_b": pd.array(b["district_id"].astype("string").to_numpy(), dtype="string"),
        },
        index=b.index,
    )
    pairs = match_districts(out["district_a"], out["district_b"])
    out["district_b_in_a"] = out["district_b"].map(pairs).astype("string")
    in_a = out["state_a"].isin(PROGRAMME).to_numpy() | (out["state_a"] == "postponed").to_numpy()
    in_b = out["state_b"].isin(PROGRAMME).to_numpy() | (out["state_b"] == "postponed").to_numpy()
    had, has = out["district_a"].notna().to_numpy(), out["district_b"].notna().to_numpy()
    same_district = np.where(
        had & has,
        (out["district_b_in_a"] == out["district_a"]).fillna(False).to_numpy(dtype=bool),
        had == has,
    )
    state_differs = (out["state_a"] != out["state_b"]).to_numpy()
    out["change"] = np.select(
        [~in_a & in_b, in_a & ~in_b, ~same_district, state_differs],
        ["added", "removed", "moved", "status"],
        default="unchanged",
    )
    return out


def change_counts(changes: pd.DataFrame) -> dict[str, int]:
    """Return the number of estates of each kind of :data:`CHANGE_KINDS` (all kinds, zeros too)."""
    counts = changes["change"].value_counts()
    return {kind: int(counts.get(kind, 0)) for kind in CHANGE_KINDS}
