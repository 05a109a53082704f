"""Matching plan rows to estates: :func:`match_plan`, the planner's overrides and the review table.

Every plan row (:func:`geo.fiveyear.plan_table.parse_plan_table`) is matched to an estate: by id
where the table has one, else by normalised name (:func:`geo.core.names.normalise_name`) scored
with rapidfuzz, narrowed by the row's location (county / street / community) and checked against
households, build year and floor area. Every row ends ``matched``, ``ambiguous`` (candidates and
scores listed) or ``unmatched``; nothing is matched below the threshold, and a planner's overrides
(a small CSV: :func:`parse_overrides`, :func:`apply_overrides`, :func:`review_table`) are applied
last. The overlay on the estates and the totals are in :mod:`geo.fiveyear.overlay`, the checks
against the documents in :mod:`geo.fiveyear.checks`.

May import: geo.core and :mod:`geo.fiveyear.plan_table` (pure: no file access, no printing).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from geo.core.errors import InputError
from geo.core.messages import msg
from geo.core.names import normalise_header, normalise_name, normalise_text
from geo.core.schema import file_rows, parse_count
from geo.fiveyear.plan_table import _text_or_na

#: Match statuses, exactly these.
MATCH_STATUSES = ("matched", "ambiguous", "unmatched")

# --------------------------------------------------------------------------- matching


@dataclass(frozen=True)
class MatchSettings:
    """Thresholds of :func:`match_plan` (a planning judgement, tested on the Hangzhou plan).

    ``threshold``: the confidence (0-100) a candidate needs to be matched without review;
    ``floor``: below it a name is not a candidate at all; ``margin``: how far the best candidate
    must lead the second; ``tolerance``: relative difference of households and floor area that
    counts as agreeing (10 %); ``conflict``: a relative difference beyond it (30 %), or build years
    more than ``year_gap`` years apart, is a conflict, and a candidate with any conflict is never
    matched without review. Confidence = name similarity (rapidfuzz ``ratio`` of the normalised
    names) + ``bonus`` per agreeing check - ``penalty`` per conflicting check, within 0-100.
    """

    threshold: float = 85.0
    floor: float = 60.0
    margin: float = 5.0
    tolerance: float = 0.10
    conflict: float = 0.30
    year_gap: int = 3
    bonus: float = 5.0
    penalty: float = 20.0
    max_candidates: int = 5


_UNIT_COLUMNS = ("county", "street", "community")
_UNIT_SUFFIX = re.compile(r"(街道办事处|街道|社区|居委会|自治县|县|区|市|镇|乡)$")


def _unit_key(text: object) -> str:
    key = re.sub(r"\s+", "", normalise_text(text))
    return _UNIT_SUFFIX.sub("", key) or key


def _relative_gap(a: object, b: object) -> float | None:
    if pd.isna(a) or pd.isna(b):
        return None
    a, b = float(a), float(b)  # type: ignore[arg-type]
    top = max(abs(a), abs(b))
    return 0.0 if top == 0 else abs(a - b) / top


def _evidence(row: pd.Series, estate: pd.Series, s: MatchSettings) -> tuple[int, list[str]]:
    """Return (agreeing checks - conflicts weighting input, notes) for a row-estate pair."""
    agree, conflicts, notes = 0, 0, []
    for key, label in (("households", "households"), ("floor_area_m2", "floor area")):
        gap = _relative_gap(row.get(key), estate.get(key))
        if gap is None:
            continue
        if gap <= s.tolerance:
            agree += 1
        elif gap > s.conflict:
            conflicts += 1
            notes.append(f"{label} {row.get(key)} vs {estate.get(key)}")
    r0, r1 = row.get("build_year"), row.get("build_year_latest")
    e0, e1 = estate.get("build_year"), estate.get("build_year_latest")
    if not (pd.isna(r0) or pd.isna(e0)):
        r1 = r0 if pd.isna(r1) else r1
        e1 = e0 if pd.isna(e1) else e1
        apart = max(int(r0) - int(e1), int(e0) - int(r1), 0)
        if apart <= 1:
            agree += 1
        elif apart > s.year_gap:
            conflicts += 1
            notes.append(f"built {row.get('build_year_raw')} vs {estate.get('build_year_raw')}")
    return agree * 1000 + conflicts, notes


@dataclass
class _Candidate:
    index: object
    estate_id: str
    name: str
    unit: str
    facts: str
    name_score: float
    confidence: float
    conflicts: int
    notes: list[str]

    def label(self) -> str:
        unit = f" [{self.unit}]" if self.unit else ""
        warn = f" ({'; '.join(self.notes)})" if self.notes else ""
        return f"{self.estate_id} {self.name}{unit} {self.facts} {self.confidence:.0f}{warn}"


def _narrow(row: pd.Series, estates: pd.DataFrame) -> tuple[pd.Index, str]:
    """Return the estates the row's county/location points to (and estates of unknown unit)."""
    wanted = [v for v in (row.get("county"), row.get("location")) if not pd.isna(v) and v]
    for value in wanted:
        key = _unit_key(value)
        for column in _UNIT_COLUMNS:
            if column not in estates:
                continue
            units = estates[column].map(_unit_key)
            hit = units == key
            if hit.any():
                unknown = estates[column].isna() | (estates[column].astype(str).str.strip() == "")
                return estates.index[hit | unknown], f"{column} {value}"
    return estates.index, ""


def _candidates(
    row: pd.Series,
    estates: pd.DataFrame,
    keys: pd.Series,
    pool: pd.Index,
    s: MatchSettings,
) -> list[_Candidate]:
    key = normalise_name(row["name"])
    choices = keys.loc[pool]
    choices = choices[choices != ""]
    if not key or choices.empty:
        return []
    found = process.extract(
        key,
        choices.to_dict(),
        scorer=fuzz.ratio,
        limit=max(20, s.max_candidates * 4),
        score_cutoff=s.floor - 3 * s.bonus,
    )
    out = []
    for _, name_score, index in found:
        estate = estates.loc[index]
        weight, notes = _evidence(row, estate, s)
        agree, conflicts = divmod(weight, 1000)
        confidence = float(np.clip(name_score + s.bonus * agree - s.penalty * conflicts, 0, 100))
        if confidence < s.floor:
            continue
        unit = "" if pd.isna(estate.get("county")) else str(estate.get("county") or "")
        facts = " ".join(
            text
            for text, value in (
                (f"{estate.get('households')}户", estate.get("households")),
                (f"建成{estate.get('build_year_raw')}", estate.get("build_year_raw")),
            )
            if not pd.isna(value) and str(value)
        )
        out.append(
            _Candidate(
                index,
                str(estate["estate_id"]),
                str(estate.get("name") or ""),
                unit,
                facts,
                float(name_score),
                confidence,
                conflicts,
                notes,
            )
        )
    out.sort(key=lambda c: (-c.confidence, -c.name_score, c.estate_id))
    return out[: s.max_candidates]


def match_plan(
    rows: pd.DataFrame,
    estates: pd.DataFrame,
    *,
    settings: MatchSettings | None = None,
    overrides: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Match plan rows to estates; every row ends matched, ambiguous or unmatched.

    Parameters
    ----------
    rows
        Plan rows from :func:`parse_plan_table`.
    estates
        Canonical estates (``estate_id``, ``name``, ``county``, ``households``, ``floor_area_m2``,
        ``build_year``, ``build_year_latest``; ``street`` / ``community`` used when present). May
        be empty (a plan without a map): every row is then unmatched.
    settings
        Thresholds (:class:`MatchSettings`).
    overrides
        A planner's decisions, columns ``plan_row`` and ``estate_id`` (see
        :func:`parse_overrides`): an id confirms or replaces the match, an empty id rejects it.

    Returns
    -------
    DataFrame
        ``rows`` plus ``match_status`` (:data:`MATCH_STATUSES`), ``matched_estate_id`` (<NA> unless
        matched), ``match_method`` (``id``, ``name``, ``override`` or empty), ``match_score``
        (confidence 0-100 of the best candidate), ``name_score`` (0-100), ``candidates`` (the best
        candidates as ``id name [county] score``, ``;``-separated) and ``match_note`` (why).

    Notes
    -----
    Id first: a row whose ``estate_id`` exists is matched to it. Else the row's county or location,
    when it names a unit of the estates (``county``, ``street``, ``community``), narrows the
    candidates to that unit (plus estates of unknown unit); names are compared after
    :func:`geo.core.names.normalise_name`. A row is matched when its best candidate's confidence reaches
    ``settings.threshold``, leads the second by ``settings.margin`` and has no conflicting check;
    ambiguous when a candidate reaches ``settings.floor``; unmatched otherwise. Two rows matched to
    one estate both become ambiguous unless one leads by the margin. Overrides are applied last.

    Raises
    ------
    InputError
        If an override names a plan row or an estate id that does not exist.
    """
    s = settings or MatchSettings()
    out = rows.copy()
    n = len(out)
    status = ["unmatched"] * n
    matched: list[object] = [pd.NA] * n
    method = [""] * n
    score: list[object] = [pd.NA] * n
    name_score: list[object] = [pd.NA] * n
    cands = [""] * n
    notes = [""] * n
    best_of: dict[int, _Candidate] = {}
    if len(estates):
        estates = estates.reset_index(drop=True)
        ids = estates["estate_id"].astype(str)
        index_of = pd.Series(estates.index, index=ids)
        keys = estates["name"].fillna("").map(normalise_name)
        for i, (_, row) in enumerate(out.iterrows()):
            rid = row.get("estate_id")
            if not pd.isna(rid) and str(rid) in index_of.index:
                status[i], matched[i], method[i] = "matched", str(rid), "id"
                score[i] = 100.0
                notes[i] = "matched by id"
                continue
            if not pd.isna(rid):
                notes[i] = f"id {rid} is not an estate; "
            pool, narrowed = _narrow(row, estates)
            found = _candidates(row, estates, keys, pool, s)
            outside = False
            if not found and narrowed:
                found = _candidates(row, estates, keys, estates.index, s)
                outside = bool(found)
            cands[i] = "; ".join(c.label() for c in found)
            if not found:
                notes[i] += "no estate with a similar name" + (
                    f" in {narrowed}" if narrowed else ""
                )
                continue
            best = found[0]
            score[i], name_score[i] = best.confidence, best.name_score
            second = found[1].confidence if len(found) > 1 else None
            leads = second is None or best.confidence - second >= s.margin
            where = f" in {narrowed}" if narrowed and not outside else ""
            if outside:
                notes[i] += f"no similar name in {narrowed}; candidates elsewhere"
                status[i] = "ambiguous"
            elif best.confidence >= s.threshold and leads and best.conflicts == 0:
                status[i], matched[i], method[i] = "matched", best.estate_id, "name"
                notes[i] += f"name{where}, confidence {best.confidence:.0f}"
                best_of[i] = best
            else:
                status[i] = "ambiguous"
                why = []
                if best.confidence < s.threshold:
                    why.append(f"confidence {best.confidence:.0f} < {s.threshold:.0f}")
                if not leads:
                    why.append(f"{len(found)} candidates within {s.margin:.0f} points")
                if best.conflicts:
                    why.append("conflict: " + "; ".join(best.notes))
                notes[i] += ", ".join(why)
        _settle_duplicates(status, matched, method, notes, best_of, score, s)
    else:
        notes = ["no estates to match against (plan imported without a map)"] * n
    out["match_status"] = pd.array(status, dtype="string")
    out["matched_estate_id"] = pd.array(matched, dtype="string")
    out["match_method"] = pd.array(method, dtype="string")
    out["match_score"] = pd.array(score, dtype="Float64")
    out["name_score"] = pd.array(name_score, dtype="Float64")
    out["candidates"] = pd.array(cands, dtype="string")
    out["match_note"] = pd.array([t.strip("; ") for t in notes], dtype="string")
    if overrides is not None and len(overrides):
        out = apply_overrides(out, overrides, estates)
    return out


def _settle_duplicates(
    status: list[str],
    matched: list[object],
    method: list[str],
    notes: list[str],
    best_of: dict[int, _Candidate],
    score: list[object],
    s: MatchSettings,
) -> None:
    by_estate: dict[object, list[int]] = {}
    for i, eid in enumerate(matched):
        if status[i] == "matched" and method[i] == "name":
            by_estate.setdefault(eid, []).append(i)
    for eid, idx in by_estate.items():
        if len(idx) < 2:
            continue
        idx.sort(key=lambda i: -float(score[i]))  # type: ignore[arg-type]
        keep = float(score[idx[0]]) - float(score[idx[1]]) >= s.margin  # type: ignore[arg-type]
        for j, i in enumerate(idx):
            if keep and j == 0:
                continue
            status[i], matched[i], method[i] = "ambiguous", pd.NA, ""
            others = ", ".join(f"row {k}" for k in idx if k != i)
            notes[i] += f"; estate {eid} is also the best match of plan {others}"


_REJECT = {"-", "none", "reject", "无", "否"}


def parse_overrides(table: pd.DataFrame, *, source: str) -> pd.DataFrame:
    """Read a planner's match decisions: columns ``plan_row`` and ``estate_id`` (text).

    The review CSV written by ``lianpian plan --plan-review`` has these columns: a planner fills or
    corrects ``estate_id``; ``-``, ``none``, ``reject`` or ``无`` rejects the match; an empty cell
    is no decision (the row keeps what the matcher found). Other columns are ignored. Returns the
    rows with a decision (``estate_id`` <NA> for a rejection).

    Raises
    ------
    InputError
        If a column is missing or a plan row number is not a whole number.
    """
    found = {normalise_header(c): c for c in table.columns}
    columns = {k: found.get(normalise_header(k)) for k in ("plan_row", "estate_id")}
    if columns["plan_row"] is None or columns["estate_id"] is None:
        raise InputError(
            "the overrides table needs the columns plan_row and estate_id",
            source=source,
            fix="start from the review CSV written by lianpian plan --plan-review",
        )
    rows, ids = [], []
    for row_number, row, eid in zip(
        file_rows(table), table[columns["plan_row"]], table[columns["estate_id"]], strict=True
    ):
        value, note = parse_count(row)
        if value is None:
            raise InputError(
                msg("plan_row {row!r} is not a row number ({note})", row=row, note=note)
                if note
                else msg("plan_row {row!r} is not a row number", row=row),
                source=source,
                where=msg("row {row}", row=int(row_number)),
                fix="keep the plan_row column of the review CSV",
            )
        text = normalise_text(eid)
        if text[:1] == "'" and text[1:2] in ("=", "+", "-", "@"):
            text = text[1:]  # the review CSV writes "-" as "'-" (formula guard, geo.io.safe_text)
        if not text or text.lower() == "nan":
            continue  # no decision on this row
        rows.append(value)
        ids.append(pd.NA if text.lower() in _REJECT else _text_or_na(text))
    return pd.DataFrame(
        {"plan_row": pd.array(rows, dtype="Int64"), "estate_id": pd.array(ids, dtype="string")}
    )


def apply_overrides(
    matches: pd.DataFrame, overrides: pd.DataFrame, estates: pd.DataFrame
) -> pd.DataFrame:
    """Apply a planner's decisions (:func:`parse_overrides`) to the result of :func:`match_plan`.

    An override with an id sets the row ``matched`` (method ``override``); one without an id sets it
    ``unmatched`` (rejected by the planner).

    Raises
    ------
    InputError
        If an override names a plan row or an estate id that does not exist.
    """
    out = matches.copy()
    known = set(estates["estate_id"].astype(str)) if len(estates) else set()
    position = {int(r): i for i, r in enumerate(out["plan_row"])}
    for row, eid in zip(overrides["plan_row"], overrides["estate_id"], strict=True):
        if int(row) not in position:
            raise InputError(
                msg("plan row {row} is not in the plan", row=row),
                source=msg("overrides"),
                fix="use the plan_row numbers of the review CSV",
            )
        i = out.index[position[int(row)]]
        if pd.isna(eid):
            out.loc[i, ["match_status", "match_method"]] = ["unmatched", "override"]
            out.loc[i, "matched_estate_id"] = pd.NA
            out.loc[i, "match_note"] = "rejected by the planner"
            continue
        if str(eid) not in known:
            raise InputError(
                msg("estate {eid} (override of plan row {row}) is not an estate", eid=eid, row=row),
                source=msg("overrides"),
                fix="use an estate_id of the estates layer",
            )
        out.loc[i, ["match_status", "match_method"]] = ["matched", "override"]
        out.loc[i, "matched_estate_id"] = str(eid)
        out.loc[i, "match_note"] = "set by the planner"
    taken = out.loc[out["match_status"] == "matched", "matched_estate_id"]
    dup = taken[taken.duplicated(keep=False)]
    if len(dup):
        rows = out.loc[dup.index, "plan_row"].tolist()
        raise InputError(
            msg(
                "plan rows {rows} are all matched to estate {estate}",
                rows=rows,
                estate=dup.iloc[0],
            ),
            source=msg("overrides"),
            fix="give each plan row its own estate, or reject one of them",
        )
    return out


def review_table(matches: pd.DataFrame) -> pd.DataFrame:
    """Return the review table a planner edits and passes back as overrides.

    Columns: ``plan_row``, ``plan_year``, ``name``, ``location``, ``match_status``, ``estate_id``
    (the matched id, empty otherwise: fill it to confirm a candidate), ``match_score``,
    ``candidates``, ``match_note``. Read back with :func:`parse_overrides`.
    """
    return pd.DataFrame(
        {
            "plan_row": matches["plan_row"],
            "plan_year": matches["plan_year"],
            "name": matches["name"],
            "location": matches["location"],
            "match_status": matches["match_status"],
            "estate_id": matches["matched_estate_id"],
            "match_score": matches["match_score"].round(1),
            "candidates": matches["candidates"],
            "match_note": matches["match_note"],
        }
    )
