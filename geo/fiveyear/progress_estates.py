"""Which estate of the plan each row of a progress table is: milestone status on the map.

:func:`milestones_on_estates` puts the per-estate milestone status of
:func:`geo.fiveyear.progress.milestone_status_by_estate` on the plan's estates, so that the map
can colour them (behind / on track / done, or not in the progress table). A row is placed by
``estate_id`` when the table gives one that the plan knows, else by its name when exactly one
estate has that name once normalised (:func:`geo.core.names.normalise_name`, as the survey join
compares names), within the row's county when both know their county. Rows that cannot be
placed are returned, never guessed.

May import: pandas, :mod:`geo.core`.
"""

from __future__ import annotations

import pandas as pd

from geo.core.names import known_id, normalise_name

#: Milestone statuses of an estate (:func:`geo.fiveyear.progress.milestone_status_by_estate`).
MILESTONE_STATUSES = ("behind", "on_track", "done")


def milestones_on_estates(
    per_estate: pd.DataFrame, estates: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Put each progress row's milestone status on the estate it is.

    Parameters
    ----------
    per_estate
        :func:`~geo.fiveyear.progress.milestone_status_by_estate` output: ``estate_id``, ``name``,
        ``county``, ``status`` (:data:`MILESTONE_STATUSES`), ``behind_on``, ``next_milestone``,
        ``note`` (one row per progress row).
    estates
        The plan's estates: ``estate_id``, ``name``; ``county`` when present.

    Returns
    -------
    (on_estates, unplaced)
        ``on_estates``: the estates' index, columns ``milestone_status`` (<NA> for an estate not
        in the table), ``behind_on``, ``next_milestone``, ``note`` and ``placed_by``
        (``estate_id`` or ``name``). When two rows land on one estate the one furthest behind
        counts (behind, then on track, then done). ``unplaced``: the rows of ``per_estate``
        that are no estate of the plan (unknown id, unknown or repeated name).
    """
    ids = estates["estate_id"].astype(str)
    by_id = pd.Series(estates.index, index=ids.to_numpy())
    by_id = by_id[~by_id.index.duplicated(keep=False)]
    names = (estates["name"] if "name" in estates else pd.Series(pd.NA, index=estates.index)).map(
        lambda v: normalise_name(v) if isinstance(v, str) and v.strip() else ""
    )
    counties = (
        estates["county"].astype("string")
        if "county" in estates
        else pd.Series(pd.NA, index=estates.index, dtype="string")
    )
    found: list[object] = []
    how: list[str | None] = []
    for _, row in per_estate.iterrows():
        rid = row.get("estate_id")
        known = known_id(rid.strip(), by_id.index) if isinstance(rid, str) else None
        if known is not None:
            found.append(by_id[known])
            how.append("estate_id")
            continue
        key = normalise_name(row["name"]) if isinstance(row.get("name"), str) else ""
        hits = names.index[names == key] if key else names.index[:0]
        county = row.get("county")
        if len(hits) > 1 and isinstance(county, str) and county.strip():
            same = counties.loc[hits] == county.strip()
            hits = hits[same.fillna(False).to_numpy(dtype=bool)]
        if len(hits) == 1:
            found.append(hits[0])
            how.append("name")
        else:
            found.append(None)
            how.append(None)
    rows = per_estate.assign(_estate=found, placed_by=how)
    placed = rows.loc[rows["_estate"].notna()].copy()
    order = {s: i for i, s in enumerate(MILESTONE_STATUSES)}
    placed["_rank"] = placed["status"].map(order).fillna(len(order))
    placed = placed.sort_values("_rank", kind="stable").drop_duplicates("_estate")
    placed = placed.set_index("_estate")
    out = pd.DataFrame(index=estates.index)
    out["milestone_status"] = placed["status"].reindex(estates.index).astype("string")
    for column in ("behind_on", "next_milestone", "note"):
        values = placed[column] if column in placed else pd.Series(pd.NA, index=placed.index)
        out[column] = values.reindex(estates.index).astype("string")
    out["placed_by"] = placed["placed_by"].reindex(estates.index).astype("string")
    unplaced = rows.loc[rows["_estate"].isna()].drop(columns=["_estate", "placed_by"])
    return out, unplaced.reset_index(drop=True)
