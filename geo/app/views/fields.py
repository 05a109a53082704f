"""Planner-facing fields: which estate and district columns the page shows, labelled and formatted.

Holds the field lists (column, label key in ``[fields]`` of ``strings/<lang>.toml``, kind) and
:func:`format_value` (thousands separators, 万元 for yuan, shares as %, yes/no in words; status,
project type and survey-join outcome in words), plus :func:`plain` (data text shown in Markdown
without markup). May import geo.app.text, geo.outputs.maps (status labels), pandas; no Streamlit.
"""

from __future__ import annotations

import re

import pandas as pd

from geo.app.text import section
from geo.outputs import maps

#: Investment by content class (geo.planning.investment.CLASS_COLUMNS), yuan shown in 万元.
INVESTMENT_FIELDS = tuple(
    (f"investment_{c}_yuan", f"investment_{c}_wan", "wan")
    for c in ("basic", "improvement", "enhancement", "unclassified")
)
#: Funding by source (geo.planning.funding.FUNDING_COLUMNS), yuan shown in 万元.
FUNDING_FIELDS = tuple(
    (f"fund_{s}_yuan", f"fund_{s}_wan", "wan")
    for s in ("residents", "utilities", "central", "city", "district")
)
#: Estate columns shown in the details panel: (column, label key, kind).
ESTATE_FIELDS = (
    ("estate_id", "estate_id", "text"),
    ("county", "county", "text"),
    ("street", "street", "text"),
    ("status", "status", "status"),
    ("reason", "reason", "text"),
    ("district_id", "district_id", "text"),
    ("project_type", "project_type", "project"),
    ("lot", "lot", "text"),
    ("standalone_reason", "standalone_reason", "text"),
    ("ready", "ready", "bool"),
    ("ready_reason", "ready_reason", "text"),
    ("build_year", "build_year", "year"),
    ("build_year_latest", "build_year_latest", "year"),
    ("households", "households", "count"),
    ("buildings", "buildings", "count"),
    ("floor_area_m2", "floor_area_m2", "area"),
    ("investment_yuan", "investment_wan", "wan"),
    ("investment_estimated", "investment_estimated", "bool"),
    *INVESTMENT_FIELDS,
    *FUNDING_FIELDS,
    ("consent_rate", "consent_rate", "share"),
    ("consent_ok", "consent_ok", "bool"),
    ("elderly_share", "elderly_share", "share"),
    ("needs", "needs", "text"),
    ("already_renovated", "already_renovated", "bool"),
    ("shantytown_plan", "shantytown_plan", "bool"),
    ("urban_village", "urban_village", "bool"),
    ("illegal_structures_removed", "illegal_structures_removed", "bool"),
    ("has_property_management", "has_property_management", "bool"),
    ("management_model_agreed", "management_model_agreed", "bool"),
    ("priority_score", "priority_score", "score"),
    ("elderly_required_m2", "elderly_required_m2", "area"),
    ("elderly_accessible_m2", "elderly_accessible_m2", "area"),
    ("elderly_gap_m2", "elderly_gap_m2", "area"),
    ("elderly_covered_5min", "elderly_covered_5min", "bool"),
    ("elderly_covered_10min", "elderly_covered_10min", "bool"),
    ("elderly_covered_15min", "elderly_covered_15min", "bool"),
    ("elderly_nearest_station_m", "elderly_nearest_station_m", "length"),
    ("elderly_site_id", "elderly_site_id", "text"),
)
#: Columns a result computes or the page shows otherwise: never listed as "other columns".
_NOT_OTHER = {
    "geometry",
    "name",
    "reason_zh",
    "reason_en",
    "build_year_raw",
    "survey_row",
    "ready_reason_zh",
    "ready_reason_en",
    "investment_utility_items_yuan",
    "investment_unpriced",
    "investment_method",
    "condition_flags",
    "condition_illegal_structures",
    "condition_management_model",
    "condition_consent",
    "survey_rows",
    "survey_name",
    "survey_match",
    "survey_distance_m",
    "survey_name_score",
}
#: District columns of the district card: (column, label key, kind).
DISTRICT_FIELDS = (
    ("priority_rank", "priority_rank", "count"),
    ("county", "county", "text"),
    ("estates", "estates", "count"),
    ("households", "households", "count"),
    ("households_unknown", "households_unknown", "count"),
    ("buildings", "buildings", "count"),
    ("floor_area_m2", "floor_area_m2", "area"),
    ("build_year_min", "build_year_min", "year"),
    ("build_year_max", "build_year_max", "year"),
    ("extension_estates", "extension_estates", "count"),
    ("ready", "district_ready", "bool"),
    ("members_not_ready", "members_not_ready", "count"),
    ("households_to_persuade", "households_to_persuade", "count"),
    ("lots", "lots", "count"),
    ("investment_yuan", "investment_wan", "wan"),
    ("investment_estimated", "investment_estimated", "bool"),
    *INVESTMENT_FIELDS,
    *FUNDING_FIELDS,
    ("priority_score", "priority_score", "score"),
    ("elderly_required_m2", "elderly_required_m2", "area"),
    ("elderly_accessible_m2", "elderly_accessible_m2", "area"),
    ("elderly_pooled_gap_m2", "elderly_pooled_gap_m2", "area"),
    ("elderly_households_without_5min", "elderly_households_without_5min", "count"),
    ("elderly_sites", "elderly_sites", "count"),
    ("elderly_site_m2", "elderly_site_m2", "area"),
    ("corridor_length_m", "corridor_length_m", "length"),
    ("separate_length_m", "separate_length_m", "length"),
    ("saving_pct", "saving_pct", "pct"),
    ("cost_yuan", "corridor_cost_wan", "wan"),
    ("separate_cost_yuan", "separate_cost_wan", "wan"),
    ("cost_saving_pct", "cost_saving_pct", "pct"),
    ("connections", "connections", "count"),
)
#: Columns of the districts table (select a row to open the district), in this order.
TABLE_FIELDS = (
    ("priority_rank", "priority_rank", "count"),
    ("district_id", "district_id", "text"),
    ("county", "county", "text"),
    ("estates", "estates", "count"),
    ("households", "households", "count"),
    ("floor_area_m2", "floor_area_m2", "area"),
    ("build_year_min", "build_year_min", "year"),
    ("build_year_max", "build_year_max", "year"),
    ("investment_yuan", "investment_wan", "wan"),
    ("ready", "district_ready", "bool"),
    ("households_to_persuade", "households_to_persuade", "count"),
    ("lots", "lots", "count"),
    ("priority_score", "priority_score", "score"),
)
#: Columns of a district's member table.
MEMBER_FIELDS = (
    ("estate_id", "estate_id", "text"),
    ("name", "name", "text"),
    ("build_year", "build_year", "year"),
    ("households", "households", "count"),
    ("status", "status", "status"),
    ("lot", "lot", "text"),
    ("ready", "ready", "bool"),
)
#: Who still needs persuading (layer ``mobilisation``, geo.planning.lots.mobilisation_list).
MOBILISATION_FIELDS = (
    ("district_id", "district_id", "text"),
    ("lot", "lot", "text"),
    ("estate_id", "estate_id", "text"),
    ("name", "name", "text"),
    ("households", "households", "count"),
    ("consent_rate", "consent_rate", "share"),
    ("households_to_persuade", "households_to_persuade", "count"),
    ("ready_reason", "ready_reason", "text"),
)
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~:$])")


def plain(text: object) -> str:
    """``text`` from data, escaped so Streamlit's Markdown shows it as written (no markup, links)."""
    return _MARKDOWN.sub(r"\\\1", str(text))


def format_value(value: object, kind: str, t: dict[str, str], lang: str) -> str:
    """One value as the planner reads it.

    ``kind``: ``count`` (``12,345``), ``area`` / ``length`` (m² / m, whole, separated),
    ``wan`` (yuan shown in 万元, one decimal), ``share`` (0-1 as %), ``pct`` (already in %),
    ``year``, ``score`` (one decimal), ``ratio`` (0-1, two decimals), ``bool`` (是/否, yes/no), ``status`` and ``project`` (in
    words), ``text``. Missing values are "—".
    """
    if value is None or (not isinstance(value, str) and pd.isna(value)) or str(value).strip() == "":
        return "—"
    if kind == "bool":
        return t["yes"] if bool(value) else t["no"]
    if kind == "status":
        return maps.status_label(str(value), lang)
    if kind == "project":
        return section(lang, "project_types").get(str(value), str(value))
    if kind == "survey_match":
        return section(lang, "survey_match").get(str(value), str(value))
    if kind == "text":
        return str(value)
    number = float(value)
    return {
        "count": f"{number:,.0f}",
        "area": f"{number:,.0f}",
        "length": f"{number:,.0f}",
        "wan": f"{number / 1e4:,.1f}",
        "share": f"{number:.0%}",
        "pct": f"{number:.1f}",
        "year": f"{number:.0f}",
        "score": f"{number:.1f}",
        "ratio": f"{number:.2f}",
    }[kind]


def field_table(row: pd.Series, fields: tuple, t: dict[str, str], lang: str) -> pd.DataFrame:
    """The fields of ``row`` present in it as a two-column table (item, entry), labelled."""
    labels = section(lang, "fields")
    items, entries = [], []
    for column, label, kind in fields:
        if column in ("reason", "ready_reason"):
            column = f"{column}_{'zh' if lang == 'zh' else 'en'}"
        if column not in row.index:
            continue
        items.append(labels[label])
        entries.append(format_value(row[column], kind, t, lang))
    return pd.DataFrame({t["item"]: items, t["entry"]: entries})


def other_columns(row: pd.Series, t: dict[str, str]) -> pd.DataFrame:
    """The input table's own columns (their headers as given), not among the labelled fields."""
    shown = {c for c, _, _ in ESTATE_FIELDS} | _NOT_OTHER
    rest = [c for c in row.index if c not in shown and not str(c).startswith("priority_")]
    rest = [c for c in rest if not str(c).startswith("elderly_")]
    values = ["—" if pd.isna(row[c]) else str(row[c]) for c in rest]
    return pd.DataFrame({t["item"]: [str(c) for c in rest], t["entry"]: values})


#: Rows an estate-level table shows on the page (a city has tens of thousands of estates: every
#: row would be sent to the browser on every run); the full tables are in the Excel download.
TABLE_ROWS_SHOWN = 1_000


def first_rows(
    frame: pd.DataFrame, t: dict[str, str], limit: int | None = None
) -> tuple[pd.DataFrame, str | None]:
    """The first ``limit`` rows of ``frame`` and a caption saying so (None when all are shown).

    ``limit`` is :data:`TABLE_ROWS_SHOWN` by default.
    """
    limit = TABLE_ROWS_SHOWN if limit is None else limit
    if len(frame) <= limit:
        return frame, None
    return frame.head(limit), t["rows_shown"].format(shown=f"{limit:,}", total=f"{len(frame):,}")


def labelled_frame(
    frame: pd.DataFrame, fields: tuple, t: dict[str, str], lang: str
) -> pd.DataFrame:
    """``frame``'s fields as text columns with planner labels (thousands separators, units)."""
    labels = section(lang, "fields")
    out = {}
    for column, label, kind in fields:
        if column in ("reason", "ready_reason"):
            column = f"{column}_{'zh' if lang == 'zh' else 'en'}"
        if column in frame.columns:
            out[labels[label]] = [format_value(v, kind, t, lang) for v in frame[column]]
    return pd.DataFrame(out, index=frame.index)


#: Proposed elderly-care sites (layer ``elderly_sites``).
SITE_FIELDS = (
    ("site_id", "site_id", "text"),
    ("site_name", "site_name", "text"),
    ("district_id", "district_id", "text"),
    ("floor_area_m2", "site_floor_area_m2", "area"),
    ("households_served", "households_served", "count"),
    ("estates_served", "estates_served", "text"),
    ("gap_covered_m2", "gap_covered_m2", "area"),
)
#: Estates with an elderly-care gap (layer ``elderly_gaps``).
GAP_FIELDS = (
    ("estate_id", "estate_id", "text"),
    ("name", "name", "text"),
    ("households", "households", "count"),
    ("elderly_required_m2", "elderly_required_m2", "area"),
    ("elderly_accessible_m2", "elderly_accessible_m2", "area"),
    ("elderly_gap_m2", "elderly_gap_m2", "area"),
    ("elderly_site_id", "elderly_site_id", "text"),
)
#: The survey join, one row per survey row (layer ``survey_join``, geo.planning.survey).
SURVEY_JOIN_FIELDS = (
    ("match", "survey_outcome", "survey_match"),
    ("survey_row", "survey_row", "year"),
    ("survey_name", "survey_name", "text"),
    ("survey_county", "county", "text"),
    ("estate_id", "estate_id", "text"),
    ("estate_name", "estate_name", "text"),
    ("distance_m", "survey_distance_m", "length"),
    ("name_score", "survey_name_score", "ratio"),
    ("candidates", "survey_candidates", "text"),
    ("note", "survey_reason", "text"),
    ("build_year_raw", "build_year_raw", "text"),
    ("households", "households", "count"),
)
