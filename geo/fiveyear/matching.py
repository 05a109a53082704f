"""The five-year plan (十四五, 2021-2025): import plan tables, match them to estates, overlay, check.

Pure planning logic: no file access (tables are read by :func:`geo.io.read_plan_table` and written by
:mod:`geo.io.workbook`), no printing.

Cities publish their five-year plan as a table, one row per estate (Ruicheng 2021-2025 plan, annex 3:
年份, 小区名称, 位置, 建成时间, 栋数, 户数, 面积m²). This module

* parses such a table into canonical plan rows (:func:`parse_plan_table`), tolerant of header
  variants and cells like ``1995、1997``; the table alone (no map) is enough for the year totals and
  the official tables;
* matches every row to an estate (:func:`match_plan`): by id where the table has one, else by
  normalised name (:func:`geo.core.names.normalise_name`) scored with rapidfuzz, narrowed by the row's
  location (county / street / community) and checked against households, build year and floor area.
  Every row ends ``matched``, ``ambiguous`` (candidates and scores listed) or ``unmatched``; nothing
  is matched below the threshold, and a planner's overrides (a small CSV) are applied last;
* overlays the plan on the estates (``plan_year``) and totals it per year (:func:`overlay_plan`,
  :func:`plan_year_totals`);
* checks every year against the documents (:func:`check_plan`): the 15 % extension share (Yangjiang),
  80 % consent (Xinyang, Ruicheng), no excluded or too-new estate, districts split across years
  (contiguous renovation: Xinyang, Huaibei, Ruicheng, Yangjiang), and lists Ruicheng's milestones.

The proposed schedule and the official tables are in :mod:`geo.fiveyear.schedule`.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from geo.core.errors import InputError, QualityReport
from geo.core.names import normalise_header, normalise_name, normalise_text
from geo.core.policy import Policy
from geo.core.schema import map_headers, parse_area, parse_build_year, parse_count

#: Match statuses, exactly these.
MATCH_STATUSES = ("matched", "ambiguous", "unmatched")

#: Plan-table header aliases beyond the estate ones of :data:`geo.core.schema.HEADER_ALIASES`,
#: compared after :func:`geo.core.names.normalise_header`.
PLAN_HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "plan_year": (
        "plan_year",
        "year",
        "年份",
        "年度",
        "计划年度",
        "计划年份",
        "改造年度",
        "改造年份",
        "实施年度",
        "实施年份",
    ),
    "location": (
        "location",
        "address",
        "位置",
        "地址",
        "所在位置",
        "具体位置",
        "坐落",
        "坐落位置",
        "所在街道",
        "街道",
    ),
    "investment": (
        "investment",
        "investment_yuan",
        "预计投资额",
        "投资额",
        "估算投资",
        "总投资",
        "投资",
        "计划投资",
    ),
    "seq": ("序号", "no", "no.", "seq"),
}

#: Canonical plan-row columns (besides the estate ones): name -> (dtype, unit, meaning).
PLAN_COLUMNS: dict[str, tuple[str, str, str]] = {
    "plan_row": ("Int64", "", "row number in the plan file (the header is row 1)"),
    "plan_year": ("Int64", "year", "year of the plan the estate is renovated in (年份)"),
    "estate_id": ("string", "", "estate id given by the plan table, if any"),
    "name": ("string", "", "estate name as the plan writes it (小区名称)"),
    "location": ("string", "", "location as written (位置): a street, a county..."),
    "county": ("string", "", "county or district (县(区)) if the table gives one"),
    "build_year_raw": ("string", "", "build year cell as written (建成时间)"),
    "build_year": ("Int64", "year", "earliest build year of the row"),
    "build_year_latest": ("Int64", "year", "latest build year of the row"),
    "buildings": ("Int64", "栋", "buildings (栋数)"),
    "households": ("Int64", "户", "households (户数)"),
    "floor_area_m2": ("Float64", "m²", "floor area (面积)"),
    "investment_yuan": ("Float64", "yuan", "planned investment, if the table gives one"),
}

_TOTAL_NAMES = {"合计", "总计", "小计", "共计", "total", "sum"}
_FIRST_PLAN_YEAR = 1990
_LAST_PLAN_YEAR = 2100


# --------------------------------------------------------------------------- import


def _plan_mapping(columns: list[str]) -> dict[str, str]:
    lookup = {
        normalise_header(alias): canonical
        for canonical, aliases in PLAN_HEADER_ALIASES.items()
        for alias in aliases
    }
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for column in columns:
        canonical = lookup.get(normalise_header(column))
        if canonical and canonical not in taken:
            mapping[column] = canonical
            taken.add(canonical)
    estate = map_headers([c for c in columns if c not in mapping])
    for column, canonical in estate.items():
        if canonical in {
            "estate_id",
            "name",
            "county",
            "build_year_raw",
            "households",
            "buildings",
            "floor_area_m2",
        }:
            mapping[column] = canonical
    return mapping


def _scale(header: str, kind: str) -> float:
    """Multiplier from the unit written in a header: 万元 / 万平方米 give 10,000."""
    text = normalise_text(header).lower().replace(" ", "")
    if kind == "area":
        return 10_000.0 if re.search(r"万(平方米|m2|m²|㎡)", text) else 1.0
    return 10_000.0 if "万元" in text or "万" in text else 1.0


def _parse_year(cell: object) -> int | None:
    text = normalise_text(cell).translate(str.maketrans("〇零一二三四五六七八九", "00123456789"))
    found = re.findall(r"\d{4}", text)
    if len(found) != 1:
        return None
    year = int(found[0])
    return year if _FIRST_PLAN_YEAR <= year <= _LAST_PLAN_YEAR else None


def parse_plan_table(
    table: pd.DataFrame, *, source: str, quality: QualityReport, first_row: int = 2
) -> pd.DataFrame:
    """Turn a plan table with any of the usual headers into canonical plan rows.

    Parameters
    ----------
    table
        Cells as text, headers as in the file: the Ruicheng annex-3 shape (年份, 小区名称, 位置,
        建成时间, 栋数, 户数, 面积m²), with or without 序号; English (``plan_year, name, location,
        build_year, buildings, households, floor_area_m2``); units in headers (``面积(万平方米)``,
        ``投资(万元)``) are applied. An id column (``estate_id``, ``osm_id``, 编号) is kept for exact
        matching; a 县(区) column gives the county.
    source
        The file name, for messages.
    quality
        Receives repairs (a blank year cell under a merged cell is filled from the row above;
        total rows 合计/小计 are left out) and unreadable cells.
    first_row
        File row number of ``table``'s first row (2 when the header is row 1).

    Returns
    -------
    DataFrame
        One row per plan row with the columns of :data:`PLAN_COLUMNS` (``floor_area_m2`` in m²,
        ``investment_yuan`` in yuan), in file order.

    Raises
    ------
    InputError
        If the table has no year or no name column, or a year cell cannot be read (the message
        names the row).
    """
    mapping = _plan_mapping([str(c) for c in table.columns])
    missing = [c for c in ("plan_year", "name") if c not in mapping.values()]
    if missing:
        names = {"plan_year": "年份 (year)", "name": "小区名称 (name)"}
        raise InputError(
            "the plan table has no " + " and no ".join(names[m] for m in missing) + " column",
            source=source,
            fix="use the headers 年份, 小区名称, 位置, 建成时间, 栋数, 户数, 面积m² (Ruicheng annex 3)",
        )
    header_of = {canonical: header for header, canonical in mapping.items()}
    rows: list[dict[str, object]] = []
    previous_year: int | None = None
    for offset, (_, cells) in enumerate(table.iterrows()):
        row_no = first_row + offset
        name = normalise_text(cells[header_of["name"]])
        year_cell = normalise_text(cells[header_of["plan_year"]])
        seq = normalise_text(cells[header_of["seq"]]) if "seq" in header_of else ""
        if _is_total(name) or _is_total(year_cell) or _is_total(seq):
            quality.add("repair", source, f"row {row_no}", "total row (合计) left out of the rows")
            continue
        values = [normalise_text(v) for v in cells.to_numpy()]
        if not any(v and v.lower() != "nan" for v in values):
            continue
        if not year_cell or year_cell.lower() == "nan":
            if previous_year is None:
                raise InputError(
                    "the year cell (年份) is empty",
                    source=source,
                    where=f"row {row_no}",
                    fix="write the plan year, e.g. 2022",
                )
            year = previous_year
            quality.add(
                "repair",
                source,
                f"row {row_no}",
                f"empty year cell read as {year} from the row above (merged cell)",
            )
        else:
            year = _parse_year(year_cell)
            if year is None:
                raise InputError(
                    f"the year cell {year_cell!r} is not one year",
                    source=source,
                    where=f"row {row_no}",
                    fix="write one plan year per row, e.g. 2022",
                )
        previous_year = year
        rows.append(_plan_row(cells, header_of, row_no, year, name, source, quality))
    out = pd.DataFrame(rows, columns=list(PLAN_COLUMNS))
    for column, (dtype, _, _) in PLAN_COLUMNS.items():
        out[column] = out[column].astype(dtype)
    if out.empty:
        raise InputError("the plan table has no estate rows", source=source, fix="check the file")
    return out


def _is_total(text: str) -> bool:
    return re.sub(r"\s+", "", text).lower() in _TOTAL_NAMES


def _plan_row(
    cells: pd.Series,
    header_of: dict[str, str],
    row_no: int,
    year: int,
    name: str,
    source: str,
    quality: QualityReport,
) -> dict[str, object]:
    def cell(key: str) -> object:
        return cells[header_of[key]] if key in header_of else None

    def note(message: str) -> None:
        quality.add("warning", source, f"row {row_no}", message, "correct the cell in the plan")

    built = parse_build_year(cell("build_year_raw"))
    if built.note and built.note != "decade":
        note(built.note)
    out: dict[str, object] = {
        "plan_row": row_no,
        "plan_year": year,
        "estate_id": _text_or_na(cell("estate_id")),
        "name": name,
        "location": normalise_text(cell("location")) if "location" in header_of else "",
        "county": _text_or_na(cell("county")),
        "build_year_raw": normalise_text(cell("build_year_raw")).replace("nan", ""),
        "build_year": built.first,
        "build_year_latest": built.latest,
    }
    for key, parser in (("buildings", parse_count), ("households", parse_count)):
        value, message = parser(cell(key))
        if message:
            note(f"{key}: {message}")
        out[key] = value
    for key, target, kind in (
        ("floor_area_m2", "floor_area_m2", "area"),
        ("investment", "investment_yuan", "money"),
    ):
        value, message = parse_area(cell(key))
        if message:
            note(f"{key}: {message}")
        out[target] = None if value is None else value * _scale(header_of.get(key, ""), kind)
    return {k: (pd.NA if v is None else v) for k, v in out.items()}


def _text_or_na(value: object) -> object:
    text = normalise_text(value)
    if not text or text.lower() == "nan":
        return pd.NA
    if re.fullmatch(r"\d+\.0", text):
        text = text[:-2]
    return text


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
    for offset, (row, eid) in enumerate(
        zip(table[columns["plan_row"]], table[columns["estate_id"]], strict=True)
    ):
        value, note = parse_count(row)
        if value is None:
            raise InputError(
                f"plan_row {row!r} is not a row number {note}".strip(),
                source=source,
                where=f"row {offset + 2}",
                fix="keep the plan_row column of the review CSV",
            )
        text = normalise_text(eid)
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
                f"plan row {row} is not in the plan",
                source="overrides",
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
                f"estate {eid} (override of plan row {row}) is not an estate",
                source="overrides",
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
            f"plan rows {rows} are all matched to estate {dup.iloc[0]}",
            source="overrides",
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


# --------------------------------------------------------------------------- overlay and totals


def resolved_rows(
    matches: pd.DataFrame, estates: pd.DataFrame | None, policy: Policy
) -> pd.DataFrame:
    """Return plan rows with the figures the checks and tables use, and the estate's attributes.

    For each row: ``households``, ``floor_area_m2``, ``buildings`` and build years as the plan
    writes them, else the matched estate's; ``investment_yuan`` as planned, else the estate's,
    else floor area x ``cost.yuan_per_m2`` (else households x ``cost.yuan_per_household``; Xinyang
    2022 unit costs), with ``investment_estimated`` True when not given by the plan or survey; and
    the estate's ``county``, ``status``, ``consent_rate``, ``consent_ok``, ``district_id``,
    ``priority_score`` (prefixed ``estate_`` where the row has its own column).
    """
    out = matches.copy()
    if "matched_estate_id" not in out:
        out["matched_estate_id"] = pd.Series(pd.NA, index=out.index, dtype="string")
        out["match_status"] = "unmatched"
    attrs = [
        "estate_id",
        "county",
        "status",
        "consent_rate",
        "consent_ok",
        "district_id",
        "priority_score",
        "households",
        "floor_area_m2",
        "buildings",
        "build_year",
        "build_year_latest",
        "build_year_raw",
        "investment_yuan",
        "investment_estimated",
        "name",
    ]
    if estates is not None and len(estates):
        table = pd.DataFrame(estates[[a for a in attrs if a in estates]]).copy()
        table["estate_id"] = table["estate_id"].astype(str)
        table = table.drop_duplicates("estate_id").set_index("estate_id")
        joined = table.reindex(
            out["matched_estate_id"].astype(object).where(out["matched_estate_id"].notna(), "")
        ).reset_index(drop=True)
        joined.index = out.index
    else:
        joined = pd.DataFrame(index=out.index)
    for a in attrs[1:]:
        if a not in joined:
            joined[a] = pd.NA
    for col in ("households", "floor_area_m2", "buildings", "build_year", "build_year_latest"):
        out[col] = (
            out[col].astype(PLAN_COLUMNS[col][0]).fillna(joined[col].astype(PLAN_COLUMNS[col][0]))
        )
    out["build_year_raw"] = (
        out["build_year_raw"]
        .astype("string")
        .replace("", pd.NA)
        .fillna(joined["build_year_raw"].astype("string"))
        .fillna("")
    )
    out["county"] = joined["county"].astype("string").fillna(out["county"].astype("string"))
    for col in ("status", "consent_rate", "consent_ok", "district_id", "priority_score"):
        out[f"estate_{col}" if col in ("status",) else col] = joined[col]
    out = out.rename(columns={"estate_status": "status"})
    out["status"] = out["status"].astype("string")
    out["consent_rate"] = out["consent_rate"].astype("Float64")
    out["district_id"] = out["district_id"].astype("string")
    planned = out["investment_yuan"].astype("Float64")
    surveyed = joined["investment_yuan"].astype("Float64")
    surveyed_estimated = joined["investment_estimated"].astype("boolean").fillna(False)
    area = out["floor_area_m2"].astype("Float64")
    households = out["households"].astype("Float64")
    by_cost = (area * policy.cost.yuan_per_m2).fillna(households * policy.cost.yuan_per_household)
    use_survey = planned.isna() & surveyed.notna()
    out["investment_yuan"] = planned.fillna(surveyed).fillna(by_cost.round(0))
    out["investment_estimated"] = (planned.isna() & ~(use_survey & ~surveyed_estimated)).astype(
        "boolean"
    )
    return out


def overlay_plan(estates: pd.DataFrame, matches: pd.DataFrame) -> pd.DataFrame:
    """Return the overlay columns per estate: ``plan_year``, ``plan_row``, ``plan_name``.

    Indexed like ``estates``; ``<NA>`` for estates not in the plan. Only ``matched`` rows place an
    estate in a year (ambiguous rows wait for the planner's confirmation).
    """
    ok = matches.loc[matches["match_status"] == "matched"]
    by_id = ok.set_index(ok["matched_estate_id"].astype(str))
    ids = estates["estate_id"].astype(str)
    return pd.DataFrame(
        {
            "plan_year": pd.array(ids.map(by_id["plan_year"]), dtype="Int64"),
            "plan_row": pd.array(ids.map(by_id["plan_row"]), dtype="Int64"),
            "plan_name": pd.array(ids.map(by_id["name"]), dtype="string"),
        },
        index=estates.index,
    )


def plan_year_totals(rows: pd.DataFrame) -> pd.DataFrame:
    """Return per-year totals of resolved plan rows (:func:`resolved_rows`).

    Columns: ``plan_year``, ``estates`` (rows), ``matched`` (rows placed on the map),
    ``households``, ``buildings``, ``floor_area_m2``, ``investment_yuan`` (yuan; includes
    estimates), ``investment_estimated_rows``, ``households_unknown_rows``; one row per year, in
    order. Unmatched rows count: the plan's own figures do not need a map.
    """
    frame = rows.assign(
        _matched=(rows.get("match_status", "unmatched") == "matched").astype(int),
        _est=rows["investment_estimated"].fillna(False).astype(int),
        _hh_unknown=rows["households"].isna().astype(int),
    )
    grouped = frame.groupby("plan_year", sort=True)
    out = pd.DataFrame(
        {
            "estates": grouped.size(),
            "matched": grouped["_matched"].sum(),
            "households": grouped["households"].sum(min_count=0),
            "buildings": grouped["buildings"].sum(min_count=0),
            "floor_area_m2": grouped["floor_area_m2"].sum(min_count=0).round(2),
            "investment_yuan": grouped["investment_yuan"].sum(min_count=0).round(0),
            "investment_estimated_rows": grouped["_est"].sum(),
            "households_unknown_rows": grouped["_hh_unknown"].sum(),
        }
    )
    return out.reset_index()


# --------------------------------------------------------------------------- checks

#: Ruicheng 2021-2025 plan (seed 003), §(三): the yearly milestones (month, day, zh, en).
MILESTONES: tuple[tuple[int, str, str], ...] = (
    (1, "完成调查摸底", "survey finished"),
    (2, "完成方案设计", "design finished"),
    (3, "完成立项审批", "approval finished"),
    (5, "全部开工", "all started"),
    (10, "基本完工", "basically complete"),
    (11, "全部完工", "complete"),
)

SOURCES = {
    "extension_share": "Yangjiang 2021-2025 draft §1 (2005年底前建成的…比例不得超过改造任务的15%)",
    "consent": "Xinyang 2022 plan §3 and annex (80% consent); Ruicheng 2021-2025 plan §(二)1",
    "eligibility": "Ruicheng 2021-2025 plan (2000年底前; 棚改/城中村/自建房 excluded); "
    "Yangjiang draft §1",
    "district_split": "Xinyang 2022 (以小区为主、片区互动); Huaibei 2021 (一区一规划); "
    "Yangjiang draft (成片捆绑、打包)",
    "milestones": "Ruicheng 2021-2025 plan, yearly milestones",
    "matching": "lianpian plan import",
}


def milestones(year: int) -> list[tuple[datetime.date, str, str]]:
    """Return Ruicheng's milestones of ``year`` as (deadline: last day of the month, zh, en)."""
    out = []
    for month, zh, en in MILESTONES:
        first_next = datetime.date(year + month // 12, month % 12 + 1, 1)
        out.append((first_next - datetime.timedelta(days=1), zh, en))
    return out


def _check(
    year: object,
    check: str,
    status: str,
    value: object,
    limit: object,
    detail: str,
    items: str = "",
) -> dict[str, object]:
    return {
        "plan_year": year,
        "check": check,
        "status": status,
        "value": value,
        "limit": limit,
        "estates": items,
        "detail": detail,
        "source": SOURCES[check],
    }


def _names(frame: pd.DataFrame, limit: int = 12) -> str:
    labels = [
        f"{n}" + (f" ({e})" if not pd.isna(e) else "")
        for n, e in zip(frame["name"], frame["matched_estate_id"], strict=True)
    ]
    more = f" … +{len(labels) - limit}" if len(labels) > limit else ""
    return "、".join(labels[:limit]) + more


def extension_shares(rows: pd.DataFrame, policy: Policy) -> tuple[int, int, int, int]:
    """Return (extension estates, estates, extension households, households) of plan rows.

    An extension estate was built (latest year) after ``eligibility.cutoff_year`` and by
    ``extension_last_year`` (2001-2005: Yangjiang draft). Rows of unknown households count 0.
    """
    rules = policy.eligibility
    latest = rows["build_year_latest"].astype("Int64")
    ext = (latest > rules.cutoff_year) & (latest <= rules.extension_last_year)
    ext = ext.fillna(False).astype(bool)
    households = rows["households"].astype("Float64").fillna(0)
    return (
        int(ext.sum()),
        len(rows),
        int(households[ext].sum()),
        int(households.sum()),
    )


def check_plan(
    rows: pd.DataFrame, policy: Policy, *, estates: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Check each plan year against the documents; one row per check and year.

    Parameters
    ----------
    rows
        Resolved plan rows (:func:`resolved_rows`).
    policy
        ``eligibility`` (cut-off, extension, 15 % share, 80 % consent).
    estates
        The estates with ``district_id`` (for districts split across years); optional.

    Returns
    -------
    DataFrame
        Columns ``plan_year`` (a year, or ``<NA>`` for the whole plan), ``check``
        (``extension_share``, ``consent``, ``eligibility``, ``district_split``, ``matching``,
        ``milestones``), ``status`` (``ok``, ``violation``, ``warning``, ``info``), ``value``,
        ``limit``, ``estates`` (the rows concerned), ``detail`` and ``source`` (the document).
    """
    rules = policy.eligibility
    out: list[dict[str, object]] = []
    years = sorted(int(y) for y in rows["plan_year"].dropna().unique())
    for year in years:
        part = rows.loc[rows["plan_year"] == year]
        out.extend(_extension_checks(year, part, policy))
        out.extend(_consent_checks(year, part, rules.consent_threshold))
        out.extend(_eligibility_checks(year, part, policy))
        not_matched = part.loc[part.get("match_status", "unmatched") != "matched"]
        if len(not_matched):
            out.append(
                _check(
                    year,
                    "matching",
                    "warning",
                    len(not_matched),
                    0,
                    f"{len(not_matched)} of {len(part)} rows not placed on the map: consent, "
                    "status and districts cannot be checked for them",
                    _names(not_matched),
                )
            )
        for day, zh, en in milestones(year):
            out.append(_check(year, "milestones", "info", day.isoformat(), "", f"{zh} / {en}"))
    if len(years) > 1:
        out.extend(_extension_checks(pd.NA, rows, policy, scope="the whole plan"))
    if estates is not None and "district_id" in estates:
        out.extend(_district_checks(rows, estates))
    frame = pd.DataFrame(out, columns=list(_check(0, "matching", "", "", "", "").keys()))
    frame["plan_year"] = frame["plan_year"].astype("Int64")
    frame["value"] = frame["value"].astype(str)
    frame["limit"] = frame["limit"].astype(str)
    return frame


def _extension_checks(
    year: object, part: pd.DataFrame, policy: Policy, scope: str = ""
) -> list[dict[str, object]]:
    rules = policy.eligibility
    ext_n, n, ext_hh, hh = extension_shares(part, policy)
    latest = part["build_year_latest"].astype("Int64")
    ext_rows = part.loc[
        ((latest > rules.cutoff_year) & (latest <= rules.extension_last_year)).fillna(False)
    ]
    out = []
    span = f"{rules.cutoff_year + 1}-{rules.extension_last_year}"
    for measure, num, den in (("estates", ext_n, n), ("households", ext_hh, hh)):
        share = num / den if den else 0.0
        limit = 0.0 if not rules.extension_enabled else rules.extension_max_share
        ok = share <= limit + 1e-12
        detail = (
            f"by {measure}: {num} of {den} built {span} = {share:.1%} "
            f"(limit {limit:.0%}{'' if rules.extension_enabled else ', extension disabled'})"
        )
        if scope:
            detail += f", {scope}"
        out.append(
            _check(
                year,
                "extension_share",
                "ok" if ok else "violation",
                round(share, 4),
                limit,
                detail,
                _names(ext_rows) if num else "",
            )
        )
    return out


def _consent_checks(year: int, part: pd.DataFrame, threshold: float) -> list[dict[str, object]]:
    matched = part.loc[part.get("match_status", "unmatched") == "matched"]
    rate = matched["consent_rate"].astype("Float64")
    low = matched.loc[(rate < threshold).fillna(False)]
    unknown = matched.loc[rate.isna()]
    if matched.empty:
        return []
    out = [
        _check(
            year,
            "consent",
            "violation" if len(low) else "ok",
            len(low),
            threshold,
            f"{len(low)} of {len(matched)} matched estates below {threshold:.0%} consent"
            + (
                " (" + ", ".join(f"{r:.1%}" for r in low["consent_rate"].head(8)) + ")"
                if len(low)
                else ""
            ),
            _names(low) if len(low) else "",
        )
    ]
    if len(unknown):
        out.append(
            _check(
                year,
                "consent",
                "warning",
                len(unknown),
                threshold,
                f"{len(unknown)} matched estates with no surveyed consent rate",
                _names(unknown),
            )
        )
    return out


def _eligibility_checks(year: int, part: pd.DataFrame, policy: Policy) -> list[dict[str, object]]:
    rules = policy.eligibility
    status = part["status"].astype("string")
    latest = part["build_year_latest"].astype("Int64")
    too_new = (latest > rules.extension_last_year).fillna(False) | (status == "ineligible").fillna(
        False
    )
    excluded = (status == "excluded").fillna(False)
    unknown = (status == "needs_survey").fillna(False) | (
        latest.isna() & (part.get("match_status", "unmatched") != "matched")
    )
    out = []
    bad = part.loc[too_new | excluded]
    reasons = []
    if too_new.any():
        reasons.append(f"{int(too_new.sum())} built after {rules.extension_last_year}")
    if excluded.any():
        reasons.append(
            f"{int(excluded.sum())} excluded (renovated, shanty-town plan, urban village)"
        )
    out.append(
        _check(
            year,
            "eligibility",
            "violation" if len(bad) else "ok",
            len(bad),
            0,
            "; ".join(reasons) if reasons else "no planned estate is excluded or too new",
            _names(bad) if len(bad) else "",
        )
    )
    if unknown.any():
        out.append(
            _check(
                year,
                "eligibility",
                "warning",
                int(unknown.sum()),
                0,
                f"{int(unknown.sum())} planned estates of unknown build year: survey needed",
                _names(part.loc[unknown]),
            )
        )
    return out


def _district_checks(rows: pd.DataFrame, estates: pd.DataFrame) -> list[dict[str, object]]:
    matched = rows.loc[(rows.get("match_status", "unmatched") == "matched")]
    year_of = dict(zip(matched["matched_estate_id"].astype(str), matched["plan_year"], strict=True))
    out = []
    members = estates.loc[estates["district_id"].notna(), ["estate_id", "district_id", "name"]]
    for district, group in members.groupby("district_id", sort=True):
        years = [year_of.get(str(e)) for e in group["estate_id"]]
        planned = sorted({int(y) for y in years if y is not None and not pd.isna(y)})
        if not planned:
            continue
        missing = [n for n, y in zip(group["name"], years, strict=True) if y is None]
        if len(planned) > 1:
            parts = ", ".join(
                f"{y}: {sum(1 for v in years if v is not None and not pd.isna(v) and v == y)}"
                for y in planned
            )
            out.append(
                _check(
                    min(planned),
                    "district_split",
                    "warning",
                    district,
                    "one year",
                    f"district {district} split across years ({parts} estates): contiguity lost "
                    "(shared pipelines and facilities built in one go)",
                    "、".join(str(n) for n in group["name"]),
                )
            )
        if missing:
            out.append(
                _check(
                    min(planned),
                    "district_split",
                    "info",
                    district,
                    "all members",
                    f"district {district}: {len(missing)} of {len(group)} estates not in the plan",
                    "、".join(str(n) for n in missing[:12]),
                )
            )
    return out


def plan_overlay(
    rows: pd.DataFrame,
    estates: pd.DataFrame,
    policy: Policy,
    *,
    settings: MatchSettings | None = None,
    overrides: pd.DataFrame | None = None,
) -> PlanOverlay:
    """Match, resolve, overlay, total and check a plan in one call (used by the CLI and the app).

    Parameters
    ----------
    rows
        Plan rows (:func:`parse_plan_table`).
    estates
        Estates of a planning run (any CRS; geometry unused), possibly empty.
    policy
        The run's policy.
    settings, overrides
        See :func:`match_plan`.

    Returns
    -------
    PlanOverlay
    """
    matches = match_plan(rows, estates, settings=settings, overrides=overrides)
    resolved = resolved_rows(matches, estates, policy)
    overlay = overlay_plan(estates, matches) if len(estates) else pd.DataFrame(index=estates.index)
    return PlanOverlay(
        rows=resolved,
        overlay=overlay,
        totals=plan_year_totals(resolved),
        checks=check_plan(resolved, policy, estates=estates if len(estates) else None),
    )


@dataclass
class PlanOverlay:
    """A plan laid over the estates.

    ``rows``: resolved plan rows with the match columns (:func:`match_plan`, :func:`resolved_rows`);
    ``overlay``: ``plan_year``, ``plan_row``, ``plan_name`` per estate (indexed like the estates);
    ``totals``: :func:`plan_year_totals`; ``checks``: :func:`check_plan`.
    """

    rows: pd.DataFrame
    overlay: pd.DataFrame
    totals: pd.DataFrame
    checks: pd.DataFrame

    def match_counts(self) -> dict[str, int]:
        """Return the number of rows per match status."""
        counts = self.rows["match_status"].value_counts()
        return {s: int(counts.get(s, 0)) for s in MATCH_STATUSES}
