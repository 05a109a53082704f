"""Joining survey attributes to estate footprints: by id, by location and name, else by name.

Pure functions: no file access. A survey row is joined

1. by ``estate_id`` when it names an estate (``matched_id``);
2. when it carries a point (:mod:`geo.planning.survey_points`: listing-site exports, points
   picked on Baidu or AMap maps), by location confirmed by name (``matched_location_name``), by
   location alone when a name is missing on either side (``matched_location``), or by name
   within ``survey.name_search_m`` (``matched_name``);
3. otherwise by :func:`geo.core.names.normalise_name` among estates not yet joined, in the row's
   county (``matched_name``).

Two or more equally good estates make the row ``ambiguous`` (reported, not joined); no estate
makes it ``unmatched``. Nothing is joined across counties when both sides know theirs (a county
written short, ``西湖``, is mapped to the estates' official ``西湖区``; one the estates do not
have, e.g. a district merged since, is reported). Several point rows on one estate are
phases of it and are aggregated (:func:`aggregate_rows`). Every row and its outcome is in
:attr:`SurveyJoin.table` (the ``survey_join`` layer of the output).

May import: geo.core and :mod:`geo.planning.survey_points`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.core.names import normalise_name
from geo.core.places import county_stem
from geo.core.policy import Survey
from geo.core.schema import ESTATE_COLUMNS
from geo.planning.survey_points import MATCH_KINDS, RowMatch, match_points

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


@dataclass
class SurveyJoin:
    """What the join did: counts, and the rows and estates a planner must look at.

    ``table`` has one row per survey row: ``survey_row``, ``survey_name``, ``survey_county``
    (official when known), ``business_circle``, ``match`` (one of :data:`MATCH_KINDS`),
    ``estate_id``, ``estate_name``, ``distance_m``, ``name_score``, ``candidates`` (estate ids
    of an ambiguous or unmatched row, ``;``-separated), ``note``, ``build_year_raw``,
    ``households``, and the row's point (geometry, in the estates' CRS; empty without a point).
    """

    matched_by_id: int = 0
    matched_by_name: int = 0
    matched_by_location: int = 0
    unmatched_rows: list[int] = field(default_factory=list)  # survey_row numbers
    ambiguous_rows: dict[int, list[str]] = field(default_factory=dict)  # row -> candidate ids
    estates_without_survey: list[str] = field(default_factory=list)
    counties_not_known: dict[str, int] = field(default_factory=dict)  # county as written -> rows
    #: rows joined by id whose name is another estate's and not the id's estate's:
    #: survey_row -> (id given, the id's estate name, the estate ids that carry the row's name)
    id_name_conflicts: dict[int, tuple[str, str, list[str]]] = field(default_factory=dict)
    table: pd.DataFrame | None = None

    def counts(self) -> dict[str, int]:
        """Rows per outcome, in the order of :data:`MATCH_KINDS` (all kinds, zeros included)."""
        found = self.table["match"].value_counts() if self.table is not None else {}
        return {kind: int(found.get(kind, 0)) for kind in MATCH_KINDS}


def survey_summary(estates: pd.DataFrame, report: SurveyJoin) -> dict[str, object]:
    """The figures the CLI prints and the app shows about a survey join.

    Parameters
    ----------
    estates
        Estates after :func:`join_survey` (and eligibility: ``status`` counts ``needs_survey``
        when present).
    report
        What :func:`join_survey` did.

    Returns
    -------
    dict
        ``rows`` (survey rows), ``rows_by_match`` (rows per :data:`MATCH_KINDS`),
        ``estates`` (estates in the run), ``build_year_from_survey`` (estates whose build year
        came from a survey row), ``build_year_by_match`` (those per match kind, best first) and
        ``needs_survey`` (estates still without a build year; ``None`` without ``status``).
    """
    joined = estates["survey_match"].notna() if "survey_match" in estates else None
    if joined is None:
        joined = pd.Series(False, index=estates.index)
    with_year = joined & estates["build_year_latest"].notna()
    by_match = estates.loc[with_year, "survey_match"].value_counts() if with_year.any() else {}
    return {
        "rows": 0 if report.table is None else len(report.table),
        "rows_by_match": report.counts(),
        "estates": len(estates),
        "build_year_from_survey": int(with_year.sum()),
        "build_year_by_match": {k: int(by_match[k]) for k in MATCH_KINDS if k in by_match},
        "needs_survey": int((estates["status"] == "needs_survey").sum())
        if "status" in estates
        else None,
    }


def join_survey(
    estates: gpd.GeoDataFrame, survey: pd.DataFrame, settings: Survey | None = None
) -> tuple[gpd.GeoDataFrame, SurveyJoin]:
    """Return a copy of ``estates`` with survey attributes joined, and what the join did.

    Parameters
    ----------
    estates
        Canonical estates (``estate_id``, ``name``, ``county`` and attribute columns), in a
        projected CRS in metres when the survey has points.
    survey
        Canonical survey rows from :func:`geo.io.read_survey` (``estate_id`` may be missing,
        ``survey_row`` numbers the rows); a GeoDataFrame of points (any CRS, from
        :func:`geo.planning.survey_points.attach_points`) for the location join.
    settings
        Policy ``[survey]`` (tolerance, name agreement, name search radius); defaults if None.

    Returns
    -------
    tuple
        The estates with the survey's known values replacing their own (an empty survey cell
        leaves the footprint's value), a survey name or county filling an empty one, and the
        columns of :data:`ESTATE_SURVEY_COLUMNS`; and the :class:`SurveyJoin`.
    """
    settings = settings or Survey()
    out = estates.copy(deep=False)  # copy on write: columns are replaced, never edited
    report = SurveyJoin()
    trust_location = not survey.attrs.get("point_crs_suspect")
    survey = survey.reset_index(drop=True)
    estate_counties = out["county"].fillna("").astype(str) if "county" in out else None
    if estate_counties is None:
        estate_counties = pd.Series("", index=out.index)
    stem = _memoised(county_stem)  # a run has few distinct counties: each stemmed once
    row_counties, row_scopes = _row_counties(
        survey, estate_counties, report, settings.successors(), stem
    )
    estate_stems = [stem(c) for c in estate_counties.tolist()]
    estate_keys = _estate_name_keys(out)
    matches: dict[int, RowMatch] = {}
    index_of = dict(zip(out["estate_id"].astype(str), range(len(out)), strict=True))
    taken: set[int] = set()
    survey_ids = survey["estate_id"].tolist() if "estate_id" in survey else [None] * len(survey)
    for i, sid in enumerate(survey_ids):
        if isinstance(sid, str) and sid in index_of and index_of[sid] not in taken:
            matches[i] = RowMatch("matched_id", index_of[sid])
            taken.add(index_of[sid])
    # plain lists: a cell read with ``.at`` costs a Series (and a copy of the frame's attrs)
    row_names = survey["name"].tolist() if "name" in survey else [None] * len(survey)
    row_numbers = [int(r) for r in survey["survey_row"].tolist()]
    report.id_name_conflicts = _id_name_conflicts(out, survey, matches, estate_keys)
    points = _points_in(survey, out)
    located = [i for i in range(len(survey)) if i not in matches and points[i] is not None]
    if located:
        found = match_points(
            out,
            [points[i] for i in located],
            [row_names[i] for i in located],
            [row_scopes[i] for i in located],
            estate_stems,
            tolerance_m=settings.tolerance_m,
            name_agree=settings.name_agree,
            name_search_m=settings.name_search_m,
            trust_location=trust_location,
        )
        matches.update(zip(located, found, strict=True))
        taken.update(m.estate for m in found if m.estate is not None)
    pending = [i for i in range(len(survey)) if i not in matches]
    matches.update(_match_names(survey, pending, row_scopes, estate_stems, taken, estate_keys))
    estate_ids = out["estate_id"].astype(str).tolist()
    for i, match in matches.items():
        row = row_numbers[i]
        if match.status == "ambiguous":
            report.ambiguous_rows[row] = [estate_ids[e] for e in match.candidates]
        elif match.status == "unmatched":
            report.unmatched_rows.append(row)
    kinds = [m.status for m in matches.values()]
    report.matched_by_id = kinds.count("matched_id")
    report.matched_by_name = kinds.count("matched_name")
    report.matched_by_location = kinds.count("matched_location_name") + kinds.count(
        "matched_location"
    )
    report.unmatched_rows.sort()
    out = _write_rows(out, survey, matches, row_counties)
    joined = {m.estate for m in matches.values() if m.estate is not None}
    report.estates_without_survey = [
        str(e) for p, e in enumerate(out["estate_id"].tolist()) if p not in joined
    ]
    report.table = _join_table(out, survey, matches, row_counties, points)
    return out, report


def _memoised(function: Callable[[object], str]) -> Callable[[object], str]:
    """``function`` of one hashable argument, computed once per distinct value (NA: not cached)."""
    cache: dict[object, str] = {}

    def cached(value: object) -> str:
        try:
            return cache[value]
        except KeyError:
            found = cache[value] = function(value)
            return found
        except TypeError:  # unhashable
            return function(value)

    return cached


def _estate_name_keys(estates: pd.DataFrame) -> list[str] | None:
    """:func:`geo.core.names.normalise_name` of each estate's name (``""`` when missing), or None."""
    if "name" not in estates:
        return None
    return [normalise_name(v) for v in estates["name"].fillna("").tolist()]


def _id_name_conflicts(
    estates: pd.DataFrame,
    survey: pd.DataFrame,
    matches: dict[int, RowMatch],
    estate_keys: list[str] | None = None,
) -> dict[int, tuple[str, str, list[str]]]:
    """Rows joined by id whose name names another estate, not the id's (a mistyped id?).

    The id decides the join (ids are what surveys are keyed by); the row is reported so a planner
    checks it. Names are compared by :func:`geo.core.names.normalise_name`; a row without a
    name is never a conflict (an estate without one is, when the row names another estate).
    """
    if "name" not in survey or "name" not in estates:
        return {}
    raw = estates["name"].tolist()
    if estate_keys is None:
        estate_keys = _estate_name_keys(estates)
    keys = [k if isinstance(v, str) else "" for k, v in zip(estate_keys, raw, strict=True)]
    ids = estates["estate_id"].astype(str).tolist()
    row_names = survey["name"].tolist()
    by_name: dict[str, list[str]] = {}
    for key, eid in zip(keys, ids, strict=True):
        if key:
            by_name.setdefault(key, []).append(eid)
    out = {}
    for i, match in matches.items():
        name = row_names[i]
        own_name = raw[match.estate]
        if isinstance(name, str) and isinstance(own_name, str) and name == own_name:
            continue  # the estate's own name: the same key
        key = normalise_name(name) if isinstance(name, str) else ""
        own = keys[match.estate]
        if not key or key == own or key not in by_name:
            continue
        others = [e for e in by_name[key] if e != ids[match.estate]]
        if others:
            row = int(survey["survey_row"].iat[i])
            out[row] = (ids[match.estate], str(estates["name"].iat[match.estate] or ""), others)
    return out


def _row_counties(
    survey: pd.DataFrame,
    estate_counties: pd.Series,
    report: SurveyJoin,
    successors: dict[str, tuple[str, ...]] | None = None,
    stem: Callable[[object], str] = county_stem,
) -> tuple[list[str], list[frozenset[str]]]:
    """The rows' counties as official names of the estates (``西湖`` -> ``西湖区``), and scopes.

    Returns the county to write per row (``""`` when unknown) and the county stems a row may
    join (empty: any county). A county the estates do not know (no estate has a county of that
    stem, e.g. a district merged since the table was made) is looked up in ``successors``
    (policy ``[survey] former_counties``): one known successor replaces it (``下城`` ->
    ``拱墅区``); several (a split: ``江干`` -> ``上城区``, ``钱塘区``) keep it as written and let the
    row join an estate of any of them. A county neither known nor a former one is kept as
    written, so the row joins no estate of a known county; it is counted in
    ``report.counties_not_known``. Without estate counties, the row's county is kept as written.
    ``stem`` is :func:`geo.core.places.county_stem` (or a memoised copy of it).
    """
    successors = successors or {}
    if "county" not in survey:
        return [""] * len(survey), [frozenset()] * len(survey)
    known = sorted({c for c in estate_counties.tolist() if c})
    by_stem: dict[str, set[str]] = {}  # official_county's lookup, each known name stemmed once
    for name in known:
        if isinstance(name, str):
            by_stem.setdefault(stem(name), set()).add(name)

    def official(name: str) -> str | None:  # geo.core.places.official_county over ``known``
        found = by_stem.get(stem(name), ()) if stem(name) else ()
        return next(iter(found)) if len(found) == 1 else None

    settled: dict[str, tuple[str, frozenset[str], bool]] = {}  # text -> county, scope, unknown
    counties: list[str] = []
    scopes: list[frozenset[str]] = []
    for value in survey["county"].tolist():
        text = "" if value is None or pd.isna(value) else str(value).strip()
        if text not in settled:
            settled[text] = _row_county(text, known, official, successors, stem)
        county, scope, unknown = settled[text]
        if unknown:
            report.counties_not_known[text] = report.counties_not_known.get(text, 0) + 1
        counties.append(county)
        scopes.append(scope)
    return counties, scopes


def _row_county(
    text: str,
    known: list[str],
    official_county: Callable[[str], str | None],
    successors: dict[str, tuple[str, ...]],
    stem: Callable[[object], str],
) -> tuple[str, frozenset[str], bool]:
    """One county cell as :func:`_row_counties` settles it: county, scope, not known."""
    official = official_county(text) if text and known else None
    if official is None and text and known and stem(text) in successors:
        current = sorted({o for n in successors[stem(text)] if (o := official_county(n))})
        if len(current) == 1:
            official = current[0]
        elif current:
            return text, frozenset(stem(c) for c in current), False
    unknown = official is None and bool(text) and bool(known)
    county = official or text
    return county, (frozenset({stem(county)}) if stem(county) else frozenset()), unknown


def _points_in(survey: pd.DataFrame, estates: gpd.GeoDataFrame) -> list[object]:
    """Each row's point in the estates' CRS, or None."""
    if not isinstance(survey, gpd.GeoDataFrame) or survey.crs is None:
        return [None] * len(survey)
    geoms = survey.geometry
    has = geoms.notna() & ~geoms.is_empty
    out: list[object] = [None] * len(survey)
    if has.any():
        moved = geoms[has].to_crs(estates.crs)
        for position, point in zip(np.flatnonzero(has.to_numpy()), moved.values, strict=True):
            out[int(position)] = point
    return out


def _match_names(
    survey: pd.DataFrame,
    pending: list[int],
    row_scopes: list[frozenset[str]],
    stems: list[str],
    taken: set[int],
    estate_keys: list[str] | None,
) -> dict[int, RowMatch]:
    """Join rows without a point by normalised name among estates not yet joined, in county.

    ``stems``: each estate's county stem; ``estate_keys``: each estate's normalised name
    (:func:`_estate_name_keys`; None when the estates have no names).
    """
    by_key: dict[str, list[int]] = {}
    for position, key in enumerate(estate_keys or ()):
        if key:
            by_key.setdefault(key, []).append(position)
    row_names = survey["name"].tolist() if "name" in survey else None
    out: dict[int, RowMatch] = {}
    for i in pending:
        key = normalise_name(row_names[i]) if row_names is not None else ""
        candidates = [e for e in by_key.get(key, []) if e not in taken] if key else []
        scope = row_scopes[i]
        if scope and any(stems[e] for e in candidates):
            candidates = [e for e in candidates if stems[e] in scope]
        if len(candidates) == 1:
            out[i] = RowMatch("matched_name", candidates[0], None, 1.0)
            taken.add(candidates[0])
        elif candidates:
            out[i] = RowMatch("ambiguous", None, None, 1.0, candidates, "same name, same county")
        else:
            out[i] = RowMatch("unmatched", note="no estate of that name" if key else "no name")
    return out


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


def _write_rows(
    estates: gpd.GeoDataFrame,
    survey: pd.DataFrame,
    matches: dict[int, RowMatch],
    row_counties: list[str],
) -> gpd.GeoDataFrame:
    """Write the joined rows' values and the survey columns into the estates.

    An estate with one row takes that row's known values (vectorised); one with several rows
    takes :func:`aggregate_rows` of them.
    """
    out = estates.copy(deep=False)
    by_estate: dict[int, list[int]] = {}
    for i in sorted(matches):
        if matches[i].estate is not None:
            by_estate.setdefault(matches[i].estate, []).append(i)
    _write_values(out, survey, by_estate)
    rank = {kind: n for n, kind in enumerate(MATCH_KINDS)}
    row_names = survey["name"].tolist() if "name" in survey else None
    row_numbers = [int(r) for r in survey["survey_row"].tolist()]
    fields: dict[str, list[object]] = {name: [pd.NA] * len(out) for name in ESTATE_SURVEY_COLUMNS}
    fills: dict[str, dict[int, str]] = {"name": {}, "county": {}}  # position -> value
    for position, rows in by_estate.items():
        best = matches[
            rows[0] if len(rows) == 1 else min(rows, key=lambda i: rank[matches[i].status])
        ]
        names = [_text(row_names[i]) for i in rows] if row_names is not None else []
        names = [n for n in names if n]
        fields["survey_row"][position] = row_numbers[rows[0]]
        fields["survey_rows"][position] = "、".join(str(row_numbers[i]) for i in rows)
        fields["survey_name"][position] = "、".join(dict.fromkeys(names)) or pd.NA
        fields["survey_match"][position] = best.status
        if best.distance_m is not None:
            fields["survey_distance_m"][position] = round(best.distance_m, 1)
        if best.name_score is not None:
            fields["survey_name_score"][position] = best.name_score
        if names:
            fills["name"][position] = names[0]
        county = next((row_counties[i] for i in rows if row_counties[i]), "")
        if county:
            fills["county"][position] = county
    for name, dtype in ESTATE_SURVEY_COLUMNS.items():
        out[name] = pd.Series(pd.array(fields[name], dtype=dtype), index=out.index)
    for column, fill in fills.items():
        current = out[column] if column in out else pd.Series(pd.NA, index=out.index)
        cells = current.to_numpy(dtype=object)
        targets = [p for p in fill if not _text(cells[p])]
        if targets:
            merged = current.astype("object")
            merged.iloc[targets] = [fill[p] for p in targets]
            out[column] = merged.astype(ESTATE_COLUMNS[column][0])
    return out


def _write_values(
    out: gpd.GeoDataFrame, survey: pd.DataFrame, by_estate: dict[int, list[int]]
) -> None:
    """Write the survey's known attribute values into ``out`` (in place)."""
    single = {e: rows[0] for e, rows in by_estate.items() if len(rows) == 1}
    several = {e: rows for e, rows in by_estate.items() if len(rows) > 1}
    columns = [c for c in _ATTRIBUTES if c in survey]
    parts = []
    if single:
        part = survey.loc[list(single.values()), columns]
        parts.append(part.set_axis(out.index[list(single)], axis=0))
    if several:
        rows_values = [aggregate_rows(survey.loc[rows]) for rows in several.values()]
        parts.append(pd.DataFrame(rows_values, index=out.index[list(several)], columns=columns))
    for part in parts:
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


def _join_table(
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

    ordered = [matches[i] for i in range(len(survey))]
    table = pd.DataFrame(
        {
            "survey_row": survey["survey_row"].astype("Int64").to_numpy(),
            "survey_name": pd.array(column("name"), dtype="string"),
            "survey_county": pd.array([c or pd.NA for c in row_counties], dtype="string"),
            "business_circle": pd.array(column("business_circle"), dtype="string"),
            "match": pd.array([m.status for m in ordered], dtype="string"),
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
                [";".join(ids[e] for e in m.candidates) or pd.NA for m in ordered],
                dtype="string",
            ),
            "note": pd.array([m.note or pd.NA for m in ordered], dtype="string"),
            "build_year_raw": pd.array(column("build_year_raw"), dtype="string"),
            "households": pd.array(column("households"), dtype="Int64"),
        }
    )
    return gpd.GeoDataFrame(table, geometry=points, crs=estates.crs)
