"""The survey join in the app: the ``survey_join`` table and figures, and an estate's survey row.

Shows what :func:`geo.planning.survey.join_survey` did with each row of a survey table (outcome,
row, name, estate, distance, name score, reason; filterable by outcome), the summary figures of
:func:`geo.planning.survey.survey_summary` (as ``lianpian plan`` prints them) and, for one estate,
which row it got and how, in words. May import geo.app.text, geo.app.views.fields, geo.planning
(survey figures), geo.pipeline (PlanResult), pandas and streamlit.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from geo.app.text import section
from geo.app.views.fields import (
    SURVEY_JOIN_FIELDS,
    first_rows,
    format_value,
    labelled_frame,
    plain,
)
from geo.pipeline import PlanResult
from geo.planning.survey import survey_summary
from geo.planning.survey_points import MATCH_KINDS


def survey_file(result: PlanResult) -> str:
    """The survey table's file name as the planner gave it ("" without a survey)."""
    source = str(result.inputs.sources.get("survey") or "")
    return Path(source.split("::")[0]).name if source else ""


def survey_lines(t: dict[str, str], lang: str, result: PlanResult) -> list[str]:
    """The join's summary in words: rows by outcome; estates given a build year, and how."""
    if result.survey_join is None or result.survey_join.table is None:
        return []
    figures = survey_summary(result.estates, result.survey_join)
    words = section(lang, "survey_match")
    sep = "，" if lang == "zh" else ", "
    rows = sep.join(
        f"{words.get(kind, kind)} {n:,}"
        for kind, n in figures["rows_by_match"].items()  # type: ignore[union-attr]
        if n
    )
    by_match = sep.join(
        f"{words.get(kind, kind)} {n:,}"
        for kind, n in figures["build_year_by_match"].items()  # type: ignore[union-attr]
    )
    share = figures["build_year_from_survey"] / max(int(figures["estates"]), 1)  # type: ignore[arg-type]
    needs = figures["needs_survey"]
    return [
        t["survey_rows_line"].format(n=figures["rows"], rows=rows or "—"),
        t["survey_years_line"].format(
            n=figures["build_year_from_survey"],
            total=figures["estates"],
            share=share,
            how=by_match or "—",
            needs="—" if needs is None else needs,
        ),
    ]


def survey_join_section(t: dict[str, str], lang: str, result: PlanResult) -> None:
    """The ``survey_join`` table (one row per survey row), labelled, filterable by outcome."""
    table = result.extra_layers.get("survey_join")
    if table is None:
        return
    st.subheader(t["survey_join_title"].format(file=plain(survey_file(result))))
    for line in survey_lines(t, lang, result):
        st.markdown(f"- {line}")
    words = section(lang, "survey_match")
    counts = table["match"].astype(str).value_counts()
    chosen = st.multiselect(
        t["survey_outcome"],
        MATCH_KINDS,  # all outcomes (stable options), each with its count
        format_func=lambda k: f"{words.get(k, k)} ({int(counts.get(k, 0)):,})",
        key="survey_outcomes",
        placeholder=t["choose"],
    )
    shown = table.loc[table["match"].isin(chosen)] if chosen else table
    shown, note = first_rows(shown.sort_values("survey_row"), t)
    st.dataframe(
        labelled_frame(shown, SURVEY_JOIN_FIELDS, t, lang),
        hide_index=True,
        width="stretch",
        key="survey_join_table",
    )
    if note:
        st.caption(note)


def survey_said(row: pd.Series, t: dict[str, str], lang: str, result: PlanResult) -> str | None:
    """Which survey row(s) the estate got and how, in words (None: no survey row).

    Markdown-safe: the file and row names are escaped (:func:`geo.app.views.fields.plain`).

    E.g. ``fang_estates_2019_bd09.csv 第 1302 行 朝晖一区 — 位置与名称均相符，0 m``; several
    rows (phases of one estate) are listed by number.
    """
    match = row.get("survey_match")
    if match is None or pd.isna(match):
        return None
    words = section(lang, "survey_match")
    rows = row.get("survey_rows")
    several = rows is not None and not pd.isna(rows) and ";" in str(rows)
    numbers = str(rows).replace(";", "、" if lang == "zh" else ", ") if several else None
    number = numbers or format_value(row.get("survey_row"), "year", t, lang)
    name = row.get("survey_name")
    distance = row.get("survey_distance_m")
    score = row.get("survey_name_score")
    text = t["survey_said"].format(
        file=plain(survey_file(result)) or t["survey_table"],
        row=number,
        name="" if name is None or pd.isna(name) else plain(name),
        how=words.get(str(match), str(match)),
    )
    if distance is not None and not pd.isna(distance):
        text += t["survey_said_distance"].format(m=format_value(distance, "length", t, lang))
    if score is not None and not pd.isna(score):
        text += t["survey_said_score"].format(score=float(score))
    return text
