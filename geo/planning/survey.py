"""Joining survey attributes to estate footprints: by id, else by normalised name in one county.

Pure functions: no file access. Every survey row ends matched (by id or by name), ambiguous (two
or more estates share the name and no county tells them apart) or unmatched; every estate without a
survey row is listed. Nothing is matched across counties.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd

from geo.core.names import normalise_name
from geo.core.schema import ESTATE_COLUMNS

_ATTRIBUTES = [c for c in ESTATE_COLUMNS if c not in ("estate_id", "name", "county")]


@dataclass
class SurveyJoin:
    """What the join did: counts, and the rows and estates a planner must look at."""

    matched_by_id: int = 0
    matched_by_name: int = 0
    unmatched_rows: list[int] = field(default_factory=list)  # survey_row numbers
    ambiguous_rows: dict[int, list[str]] = field(default_factory=dict)  # row -> candidate ids
    estates_without_survey: list[str] = field(default_factory=list)


def join_survey(
    estates: gpd.GeoDataFrame, survey: pd.DataFrame
) -> tuple[gpd.GeoDataFrame, SurveyJoin]:
    """Return a copy of ``estates`` with survey attributes joined, and what the join did.

    Parameters
    ----------
    estates
        Canonical estates (``estate_id``, ``name``, ``county`` and attribute columns).
    survey
        Canonical survey rows from :func:`geo.io.read_survey` (``estate_id`` may be missing,
        ``survey_row`` numbers the rows).

    Notes
    -----
    A row with an ``estate_id`` that exists is joined by id. Other rows are joined by
    :func:`geo.core.names.normalise_name` among estates not yet matched; when the row gives a county and
    the estates have one, only estates of that county are candidates. Exactly one candidate: joined;
    several: ambiguous (reported, not joined); none: unmatched. Survey values replace the
    footprint's own; a survey name fills an empty footprint name.
    """
    out = estates.copy()
    report = SurveyJoin()
    index_of = dict(zip(out["estate_id"].astype(str), out.index, strict=True))
    matched_estates: set[int] = set()
    assignments: list[tuple[int, int]] = []  # (estate index, survey index)
    pending = []
    survey_ids = survey["estate_id"] if "estate_id" in survey else [None] * len(survey)
    for i, sid in zip(survey.index, survey_ids, strict=True):
        if isinstance(sid, str) and sid in index_of:
            est = int(index_of[sid])
            if est not in matched_estates:
                assignments.append((est, i))
                matched_estates.add(est)
                report.matched_by_id += 1
                continue
        pending.append(i)
    by_key: dict[str, list[int]] = {}
    for idx, key in out["name"].fillna("").map(normalise_name).items():
        if key:
            by_key.setdefault(key, []).append(idx)
    counties = out["county"].fillna("").astype(str)
    for i in pending:
        row = survey.loc[i]
        candidates = _name_candidates(row, by_key, counties, matched_estates)
        if len(candidates) == 1:
            assignments.append((candidates[0], i))
            matched_estates.add(candidates[0])
            report.matched_by_name += 1
        elif len(candidates) > 1:
            report.ambiguous_rows[int(row["survey_row"])] = [
                str(out.at[e, "estate_id"]) for e in candidates
            ]
        else:
            report.unmatched_rows.append(int(row["survey_row"]))
    if assignments:
        est_idx = [a for a, _ in assignments]
        sur_idx = [b for _, b in assignments]
        for column in _ATTRIBUTES:
            if column in survey:
                values = survey.loc[sur_idx, column].to_numpy()
                out.loc[est_idx, column] = pd.array(values, dtype=ESTATE_COLUMNS[column][0])
        for column in ("name", "county"):
            values = survey.loc[sur_idx, column].to_numpy() if column in survey else None
            if values is None:
                continue
            current = out.loc[est_idx, column]
            empty = current.isna() | (current.astype(str).str.len() == 0)
            fill = pd.Series(values, index=est_idx)
            out.loc[current.index[empty], column] = fill[empty.values].values
        out["survey_row"] = pd.array([pd.NA] * len(out), dtype="Int64")
        out.loc[est_idx, "survey_row"] = survey.loc[sur_idx, "survey_row"].to_numpy()
    unmatched = ~out.index.isin(list(matched_estates))
    report.estates_without_survey = [str(e) for e in out["estate_id"][unmatched]]
    return out, report


def _name_candidates(
    row: pd.Series, by_key: dict[str, list[int]], counties: pd.Series, taken: set[int]
) -> list[int]:
    """Estates not yet matched whose normalised name equals the row's, in the row's county."""
    key = normalise_name(row.get("name"))
    candidates = [e for e in by_key.get(key, []) if e not in taken] if key else []
    county = "" if pd.isna(row.get("county")) else str(row.get("county")).strip()
    if county:
        with_county = [e for e in candidates if counties[e]]
        if with_county:
            candidates = [e for e in candidates if counties[e] == county]
    return candidates
