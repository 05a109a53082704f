"""The 数据质量 (data quality) tab: the survey join, then the notes, filterable by level and file.

The survey join (one row per survey row, see :mod:`geo.app.views.survey`) is shown when a survey
table was read.

May import geo.app.views.survey, geo.pipeline (PlanResult), pandas and streamlit.
"""

from __future__ import annotations

import streamlit as st

from geo.app.messages import in_app_words
from geo.app.text import section
from geo.app.views.fields import first_rows
from geo.app.views.survey import survey_join_section
from geo.pipeline import PlanResult


def quality_tab(t: dict[str, str], lang: str, result: PlanResult) -> None:
    """The survey join, then the notes of reading and planning (repairs, warnings), filtered."""
    survey_join_section(t, lang, result)
    notes = result.quality.to_frame(lang)
    for column in ("message", "fix"):  # command-line options named as the app's controls
        notes[column] = notes[column].map(lambda v: in_app_words(str(v), lang))
    if not len(notes):
        st.caption(t["quality_none"])
        return
    levels = section(lang, "quality_levels")
    c1, c2 = st.columns(2)
    chosen = c1.multiselect(
        t["quality_level"],
        sorted(notes["level"].unique()),
        format_func=lambda v: levels.get(v, v),
        key="quality_levels",
        placeholder=t["choose"],
    )
    sources = c2.multiselect(
        t["quality_source"],
        sorted(notes["source"].unique()),
        key="q_src",
        placeholder=t["choose"],
    )
    if chosen:
        notes = notes.loc[notes["level"].isin(chosen)]
    if sources:
        notes = notes.loc[notes["source"].isin(sources)]
    st.caption(t["quality"].format(n=len(notes)))
    notes, note = first_rows(notes, t)
    shown = notes.assign(level=notes["level"].map(lambda v: levels.get(v, v)))
    st.dataframe(
        shown.rename(columns=section(lang, "quality_columns")),
        hide_index=True,
        width="stretch",
        key="quality_notes",
    )
    if note:
        st.caption(note)
