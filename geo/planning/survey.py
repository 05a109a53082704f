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

May import: geo.core, :mod:`geo.planning.survey_points` and :mod:`geo.planning.survey_write`
(writing the outcome: the estates' columns and the join table).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.core._machine import without_collector
from geo.core.names import known_id, normalise_name
from geo.core.places import county_stem
from geo.core.policy import Survey
from geo.planning.survey_points import MATCH_KINDS, RowMatch, match_points
from geo.planning.survey_write import (  # noqa: F401  (aggregate_rows: this module's API)
    ESTATE_SURVEY_COLUMNS,
    aggregate_rows,
    join_table,
    write_rows,
)


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


@without_collector  # a row match, lists and texts per row, no cycles (issue 20)
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
    estate_keys: _NameKeys | None = _NameKeys(out)
    if estate_keys.names is None:
        estate_keys = None
    matches = _match_ids(out, survey)
    taken: set[int] = {m.estate for m in matches.values()}
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
    out = write_rows(out, survey, matches, row_counties)
    joined = {m.estate for m in matches.values() if m.estate is not None}
    report.estates_without_survey = [
        str(e) for p, e in enumerate(out["estate_id"].tolist()) if p not in joined
    ]
    report.table = join_table(out, survey, matches, row_counties, points)
    return out, report


def _match_ids(estates: pd.DataFrame, survey: pd.DataFrame) -> dict[int, RowMatch]:
    """Rows whose ``estate_id`` names an estate: the first such row of each estate, in row order.

    An id carried by several estates names the last of them. A text id column is looked up
    all at once when the estates' ids are unique (the canonical estates'), its first row per
    estate kept by one array operation, else row by row.
    """
    if "estate_id" not in survey:
        return {}
    ids = estates["estate_id"].astype(str).tolist()
    column = survey["estate_id"]
    index_of = dict(zip(ids, range(len(ids)), strict=True))
    matches: dict[int, RowMatch] = {}
    if isinstance(column.dtype, pd.StringDtype) and len(index_of) == len(ids):
        # the ids are unique: each row's estate looked up in the dict already built (issue 20:
        # at 220,000 estates 0.1 s less than a pandas Index's hash table and get_indexer)
        found = np.fromiter(
            (index_of.get(sid, -1) for sid in column.to_numpy(dtype=object, na_value=None)),
            dtype=np.intp,
            count=len(column),
        )
        found[column.isna().to_numpy()] = -1  # a missing id names no estate
        rows = np.flatnonzero(found >= 0)
        first = ~pd.Series(found[rows]).duplicated().to_numpy()
        # plain ints (tolist), not numpy scalars converted one by one
        matches = {
            i: RowMatch("matched_id", e)
            for i, e in zip(rows[first].tolist(), found[rows][first].tolist(), strict=True)
        }
    else:
        taken: set[int] = set()
        for i, sid in enumerate(column.tolist()):
            if isinstance(sid, str) and sid in index_of and index_of[sid] not in taken:
                matches[i] = RowMatch("matched_id", index_of[sid])
                taken.add(index_of[sid])
    _match_decimal_ids(column, index_of, matches)
    return matches


def _match_decimal_ids(
    column: pd.Series, index_of: dict[str, int], matches: dict[int, RowMatch]
) -> None:
    """Add to ``matches`` the rows whose id is a whole number written as a decimal (``4477360.0``).

    Such an id that names no estate as written is looked up by its whole number
    (:func:`geo.core.names.known_id`), after every exact id (an estate already named by
    an exact id is not taken again), first row first, with a note.
    """
    text = column.astype("string")
    decimal = text.str.contains(".", regex=False).fillna(False).to_numpy(bool)
    taken = {m.estate for m in matches.values()}
    for i in np.flatnonzero(decimal).tolist():
        written = text.iat[i]
        known = known_id(written, index_of)
        if i in matches or known is None or known == written or index_of[known] in taken:
            continue
        matches[i] = RowMatch("matched_id", index_of[known], note=f"id {written} read as {known}")
        taken.add(index_of[known])


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


class _NameKeys:
    """:func:`geo.core.names.normalise_name` of the estates' names (``""`` when missing).

    Each key is computed when first asked for: a survey joined by id, under the estates' own
    names, needs none, and the name join only those of the estates still free (issue 20).
    """

    def __init__(self, estates: pd.DataFrame) -> None:
        self.names = estates["name"].fillna("").tolist() if "name" in estates else None
        self._keys: dict[int, str] = {}

    def __getitem__(self, position: int) -> str:
        try:
            return self._keys[position]
        except KeyError:
            key = self._keys[position] = normalise_name(self.names[position])
            return key

    def all(self) -> list[str]:
        """Every estate's key, in order."""
        return [self[p] for p in range(len(self.names))]


def _estate_name_keys(estates: pd.DataFrame) -> list[str] | None:
    """:func:`geo.core.names.normalise_name` of each estate's name (``""`` when missing), or None."""
    keys = _NameKeys(estates)
    return None if keys.names is None else keys.all()


def _id_name_conflicts(
    estates: pd.DataFrame,
    survey: pd.DataFrame,
    matches: dict[int, RowMatch],
    estate_keys: _NameKeys | list[str] | None = None,
) -> dict[int, tuple[str, str, list[str]]]:
    """Rows joined by id whose name names another estate, not the id's (a mistyped id?).

    The id decides the join (ids are what surveys are keyed by); the row is reported so a planner
    checks it. Names are compared by :func:`geo.core.names.normalise_name`; a row without a
    name is never a conflict (an estate without one is, when the row names another estate).
    """
    if "name" not in survey or "name" not in estates:
        return {}
    raw = estates["name"].tolist()
    row_names = survey["name"].tolist()
    named = []  # (row, its match, its name's key) for rows not under their estate's own name
    for i, match in matches.items():
        name = row_names[i]
        own_name = raw[match.estate]
        if isinstance(name, str) and isinstance(own_name, str) and name == own_name:
            continue  # the estate's own name: the same key
        key = normalise_name(name) if isinstance(name, str) else ""
        if key:
            named.append((i, match, key))
    if not named:
        return {}
    if estate_keys is None:
        estate_keys = _estate_name_keys(estates)
    elif isinstance(estate_keys, _NameKeys):
        estate_keys = estate_keys.all()
    keys = [k if isinstance(v, str) else "" for k, v in zip(estate_keys, raw, strict=True)]
    ids = estates["estate_id"].astype(str).tolist()
    by_name: dict[str, list[str]] = {}
    for key, eid in zip(keys, ids, strict=True):
        if key:
            by_name.setdefault(key, []).append(eid)
    out = {}
    for i, match, key in named:
        own = keys[match.estate]
        if key == own or key not in by_name:
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
    column = survey["county"]
    if isinstance(column.dtype, pd.StringDtype):  # each distinct cell once, then taken per row
        codes, cells = pd.factorize(column)
        texts = [str(cell).strip() for cell in cells] + [""]  # the last: missing cells
        codes = np.where(codes < 0, len(cells), codes)
        settled_of = []
        for text in texts:
            if text not in settled:
                settled[text] = _row_county(text, known, official, successors, stem)
            settled_of.append(settled[text])
        rows_of = np.bincount(codes, minlength=len(texts))
        first = np.full(len(texts), len(codes))  # each cell's first row: counted in that order
        np.minimum.at(first, codes, np.arange(len(codes)))
        for k in np.argsort(first, kind="stable").tolist():
            if rows_of[k] and settled_of[k][2]:
                text = texts[k]
                report.counties_not_known[text] = report.counties_not_known.get(text, 0) + int(
                    rows_of[k]
                )
        by_code = codes.tolist()
        return [settled_of[k][0] for k in by_code], [settled_of[k][1] for k in by_code]
    counties: list[str] = []
    scopes: list[frozenset[str]] = []
    for value in column.tolist():
        if type(value) is str:  # the common case, without pandas' missing-value test
            text = value.strip()
        else:
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
    estate_keys: _NameKeys | list[str] | None,
) -> dict[int, RowMatch]:
    """Join rows without a point by normalised name among estates not yet joined, in county.

    ``stems``: each estate's county stem; ``estate_keys``: each estate's normalised name
    (:class:`_NameKeys` or a list; None when the estates have no names). Only estates not
    ``taken`` can be joined, so only their names are looked up.
    """
    by_key: dict[str, list[int]] = {}
    if pending and estate_keys is not None:
        count = len(estate_keys.names) if isinstance(estate_keys, _NameKeys) else len(estate_keys)
        for position in range(count):
            if position not in taken and (key := estate_keys[position]):
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
