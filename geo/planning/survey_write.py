"""Writing a survey join's outcome: the rows' values into the estates, and the join table.

:func:`write_rows` gives each joined estate its row's known values (or :func:`aggregate_rows` of
its rows, the phases of one estate) and the columns that say which rows it got and how;
:func:`join_table` is the ``survey_join`` layer, one row per survey row. The matching itself is
:mod:`geo.planning.survey` and :mod:`geo.planning.survey_points`.

Columns are written whole (an array per column, not a cell at a time): at 220,000 estates with a
row each, this is a few array operations per column (issue 20).

Pure functions: no file access. May import: geo.core and :mod:`geo.planning.survey_points`.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.core.names import normalise_name
from geo.core.schema import ESTATE_COLUMNS
from geo.core.text_columns import string_array
from geo.planning.survey_points import MATCH_KINDS, RowMatch

_ATTRIBUTES = [c for c in ESTATE_COLUMNS if c not in ("estate_id", "name", "county")]
_SUMMED = ("households", "buildings", "floor_area_m2")
_SHARES = ("consent_rate", "elderly_share")
#: Columns added to the estates: which survey row an estate got and how.
ESTATE_SURVEY_COLUMNS = {
    "survey_row": "Int64",
    "survey_rows": "string",
    "survey_name": "string",
    "survey_match": "string",
    "survey_distance_m": "Float64",
    "survey_name_score": "Float64",
}


def aggregate_rows(rows: pd.DataFrame) -> dict[str, object]:
    """Aggregate the survey rows joined to one estate (its phases) into one set of values.

    Households, buildings and floor area are summed over the rows that give them; build years
    are kept as phases (earliest ``build_year``, latest ``build_year_latest``, which decides
    eligibility; ``build_year_raw`` lists the cells, ``、``-separated); consent and elderly
    shares are household-weighted means (plain means when households are unknown); yes/no
    columns keep a value all rows agree on, else unknown; needs are the union of items. Rows
    with the same name as an earlier row (the same listing twice) are left out.

    Parameters
    ----------
    rows
        Canonical survey rows (at least one), in file order.

    Returns
    -------
    dict
        ``{column: value}`` for the attribute columns of :data:`geo.core.schema.ESTATE_COLUMNS`
        (``pd.NA`` when unknown).
    """
    if "name" in rows and len(rows) > 1:
        keys = rows["name"].map(normalise_name)
        rows = rows.loc[~(keys.duplicated() & (keys != ""))]
    values: dict[str, object] = {}
    for column in _ATTRIBUTES:
        if column not in rows:
            continue
        known = rows[column].dropna()
        if column in _SUMMED:
            values[column] = known.sum() if len(known) else pd.NA
        elif column == "build_year":
            values[column] = known.min() if len(known) else pd.NA
        elif column == "build_year_latest":
            values[column] = known.max() if len(known) else pd.NA
        elif column in ("build_year_raw", "needs"):
            sep = "、" if column == "build_year_raw" else "；"
            items = [s for cell in known for s in str(cell).split(sep) if s]
            values[column] = sep.join(dict.fromkeys(items)) if items else pd.NA
        elif column in _SHARES:
            values[column] = _weighted_share(rows, column)
        else:
            values[column] = known.iloc[0] if known.nunique() == 1 else pd.NA
    return values


def _weighted_share(rows: pd.DataFrame, column: str) -> object:
    known = rows.loc[rows[column].notna()]
    if not len(known):
        return pd.NA
    weights = known.get("households", None)
    if weights is not None and weights.notna().all() and float(weights.sum()) > 0:
        return float((known[column].astype(float) * weights.astype(float)).sum() / weights.sum())
    return float(known[column].astype(float).mean())


def rows_by_estate(
    matches: dict[int, RowMatch],
) -> tuple[np.ndarray, np.ndarray, dict[int, list[int]]]:
    """The survey rows (positions) joined to each estate (position), grouped in arrays.

    Returns the estates joined by one row and that row (two aligned arrays), and the survey
    rows (ascending) of each estate joined by several.
    """
    rows = np.fromiter(matches.keys(), dtype=np.int64, count=len(matches))
    estates = np.fromiter(
        (-1 if m.estate is None else m.estate for m in matches.values()),
        dtype=np.int64,
        count=len(matches),
    )
    rows, estates = rows[estates >= 0], estates[estates >= 0]
    order = np.lexsort((rows, estates))  # by estate, then row
    rows, estates = rows[order], estates[order]
    starts = np.flatnonzero(np.r_[True, estates[1:] != estates[:-1]]) if len(rows) else rows
    counts = np.diff(np.r_[starts, len(rows)])
    one = counts == 1
    several = {
        int(estates[start]): rows[start : start + count].tolist()
        for start, count in zip(starts[~one], counts[~one], strict=True)
    }
    return estates[starts[one]], rows[starts[one]], several


def write_rows(
    estates: gpd.GeoDataFrame,
    survey: pd.DataFrame,
    matches: dict[int, RowMatch],
    row_counties: list[str],
) -> gpd.GeoDataFrame:
    """Write the joined rows' values and the survey columns into (a shallow copy of) the estates.

    An estate with one row takes that row's known values; one with several rows takes
    :func:`aggregate_rows` of them. The columns of :data:`ESTATE_SURVEY_COLUMNS` say which rows
    (``survey_row``: the first; ``survey_rows``: all, ``、``-separated), under which names, and
    the best match of them (by :data:`MATCH_KINDS` order) with its distance and name score; an
    estate's empty name or county is filled from its rows.
    """
    out = estates.copy(deep=False)
    n = len(out)
    single_at, single_rows, several = rows_by_estate(matches)
    _write_values(out, survey, single_at, single_rows, several)
    rank = {kind: k for k, kind in enumerate(MATCH_KINDS)}
    row_names = survey["name"].tolist() if "name" in survey else None
    row_numbers = [int(r) for r in survey["survey_row"].tolist()]
    first_row = np.zeros(n, dtype=np.int64)
    rows_text = np.full(n, None, dtype=object)
    names_text = np.full(n, None, dtype=object)
    status = np.full(n, None, dtype=object)
    distance = np.full(n, np.nan)
    score = np.full(n, np.nan)
    name_fill: dict[int, str] = {}  # position -> value
    county_fill: dict[int, str] = {}
    if len(single_at):  # the common case, column by column
        at = single_at
        rows = single_rows.tolist()
        numbers = [row_numbers[i] for i in rows]
        best = [matches[i] for i in rows]
        texts = [_text(row_names[i]) for i in rows] if row_names is not None else []
        first_row[at] = numbers
        rows_text[at] = [str(r) for r in numbers]
        if texts:
            names_text[at] = [t or None for t in texts]
            name_fill.update((e, t) for e, t in zip(at.tolist(), texts, strict=True) if t)
        status[at] = [m.status for m in best]
        distance[at] = [np.nan if m.distance_m is None else round(m.distance_m, 1) for m in best]
        score[at] = [np.nan if m.name_score is None else m.name_score for m in best]
        county_fill.update(
            (e, row_counties[i]) for e, i in zip(at.tolist(), rows, strict=True) if row_counties[i]
        )
    for position, rows in several.items():
        best_match = matches[min(rows, key=lambda i: rank[matches[i].status])]
        names = [_text(row_names[i]) for i in rows] if row_names is not None else []
        names = [t for t in names if t]
        first_row[position] = row_numbers[rows[0]]
        rows_text[position] = "、".join(str(row_numbers[i]) for i in rows)
        names_text[position] = "、".join(dict.fromkeys(names)) or None
        status[position] = best_match.status
        if best_match.distance_m is not None:
            distance[position] = round(best_match.distance_m, 1)
        if best_match.name_score is not None:
            score[position] = best_match.name_score
        if names:
            name_fill[position] = names[0]
        county = next((row_counties[i] for i in rows if row_counties[i]), "")
        if county:
            county_fill[position] = county
    joined = np.zeros(n, dtype=bool)
    joined[single_at] = True
    joined[list(several)] = True
    columns = {
        "survey_row": pd.arrays.IntegerArray(first_row, ~joined),
        "survey_rows": pd.array(rows_text, dtype="string"),
        "survey_name": pd.array(names_text, dtype="string"),
        "survey_match": string_array(status),
        # NaN is unknown, as pd.array reads it
        "survey_distance_m": pd.arrays.FloatingArray(distance, np.isnan(distance)),
        "survey_name_score": pd.arrays.FloatingArray(score, np.isnan(score)),
    }
    for name, dtype in ESTATE_SURVEY_COLUMNS.items():
        out[name] = pd.Series(columns[name], index=out.index, dtype=dtype)
    for column, fill in (("name", name_fill), ("county", county_fill)):
        current = out[column] if column in out else pd.Series(pd.NA, index=out.index)
        cells = current.to_numpy(dtype=object)
        targets = [p for p in fill if not _text(cells[p])]
        if targets:
            merged = current.astype("object")
            merged.iloc[targets] = [fill[p] for p in targets]
            out[column] = merged.astype(ESTATE_COLUMNS[column][0])
    return out


def _write_values(
    out: gpd.GeoDataFrame,
    survey: pd.DataFrame,
    at: np.ndarray,
    rows: np.ndarray,
    several: dict[int, list[int]],
) -> None:
    """Write the survey's known attribute values into ``out`` (in place).

    ``at`` and ``rows``: the estates joined by one row and that row; ``several``: the rows of
    each estate joined by several (aggregated, :func:`aggregate_rows`). A column already of its canonical dtype on both sides (as :func:`geo.io.read_survey` and
    :func:`geo.io.read_estates` give them) is written as an array; any other through objects,
    as the rows of several-row estates are.
    """
    columns = [c for c in _ATTRIBUTES if c in survey]
    if len(at):
        slow = []
        for column in columns:
            dtype = pd.api.types.pandas_dtype(ESTATE_COLUMNS[column][0])
            source = survey[column]
            if source.dtype != dtype or (column in out and out[column].dtype != dtype):
                slow.append(column)
                continue
            values = source.array.take(rows)
            known = np.flatnonzero(~np.asarray(values.isna(), dtype=bool))
            if column not in out:
                out[column] = pd.Series(pd.NA, index=out.index, dtype=dtype)
            if len(known):  # each estate's own value, or its row's known one
                current = out[column].array
                picked = np.arange(len(out))
                picked[at[known]] = len(out) + known
                both = type(current)._concat_same_type([current, values])
                out[column] = pd.Series(both.take(picked), index=out.index)
        if slow:
            part = survey.iloc[rows][slow].set_axis(out.index[at], axis=0)
            _write_part(out, part, slow)
    if several:
        rows_values = [aggregate_rows(survey.loc[r]) for r in several.values()]
        part = pd.DataFrame(rows_values, index=out.index[list(several)], columns=columns)
        _write_part(out, part, columns)


def _write_part(out: gpd.GeoDataFrame, part: pd.DataFrame, columns: list[str]) -> None:
    """Write ``part``'s known cells (any dtype, indexed as ``out``) into ``out``'s columns."""
    for column in columns:
        dtype = ESTATE_COLUMNS[column][0]
        values = pd.Series(part[column].tolist(), index=part.index, dtype="object")
        known = values.notna()  # _is_known of each cell: None, NA, NaN and NaT are not
        if column not in out:
            out[column] = pd.Series(pd.NA, index=out.index, dtype=dtype)
        if known.any():
            merged = out[column].astype("object")
            merged.loc[values.index[known]] = values[known]
            out[column] = merged.astype(dtype)


def _is_known(value: object) -> bool:
    if value is None or value is pd.NA:
        return False
    try:
        return not bool(pd.isna(value))
    except (TypeError, ValueError):
        return True


def _text(value: object) -> str:
    if type(value) is str:  # the common case, without pandas' missing-value test
        return value.strip()
    return str(value).strip() if _is_known(value) else ""


def join_table(
    estates: gpd.GeoDataFrame,
    survey: pd.DataFrame,
    matches: dict[int, RowMatch],
    row_counties: list[str],
    points: list[object],
) -> gpd.GeoDataFrame:
    """One row per survey row: what it was joined to and how (the ``survey_join`` layer)."""
    ids = estates["estate_id"].astype(str).tolist()
    names = estates["name"].tolist() if "name" in estates else [None] * len(ids)

    def column(name: str) -> list[object]:
        return survey[name].tolist() if name in survey else [pd.NA] * len(survey)

    def as_is(name: str, dtype: str) -> object:  # the survey's column when of that dtype
        if name in survey and survey[name].dtype == pd.api.types.pandas_dtype(dtype):
            return survey[name].array
        return pd.array(column(name), dtype=dtype)

    ordered = [matches[i] for i in range(len(survey))]
    table = pd.DataFrame(
        {
            "survey_row": survey["survey_row"].astype("Int64").to_numpy(),
            "survey_name": as_is("name", "string"),
            "survey_county": pd.array([c or pd.NA for c in row_counties], dtype="string"),
            "business_circle": as_is("business_circle", "string"),
            "match": string_array([m.status for m in ordered]),
            "estate_id": pd.array(
                [ids[m.estate] if m.estate is not None else pd.NA for m in ordered],
                dtype="string",
            ),
            "estate_name": pd.array(
                [names[m.estate] if m.estate is not None else pd.NA for m in ordered],
                dtype="string",
            ),
            "distance_m": pd.array(
                [pd.NA if m.distance_m is None else round(m.distance_m, 1) for m in ordered],
                dtype="Float64",
            ),
            "name_score": pd.array(
                [pd.NA if m.name_score is None else m.name_score for m in ordered],
                dtype="Float64",
            ),
            "candidates": pd.array(
                [
                    ";".join([ids[e] for e in m.candidates]) or pd.NA if m.candidates else pd.NA
                    for m in ordered
                ],
                dtype="string",
            ),
            "note": pd.array([m.note or pd.NA for m in ordered], dtype="string"),
            "build_year_raw": as_is("build_year_raw", "string"),
            "households": as_is("households", "Int64"),
        }
    )
    return gpd.GeoDataFrame(table, geometry=points, crs=estates.crs)
