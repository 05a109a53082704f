"""The districts table (a row opens the district and zooms the map) and the details panel.

The details panel shows a clicked estate or an opened district as a labelled table (units 户, m²,
万元; yes/no in words; see :mod:`geo.app.views.fields`). May import geo.app.text,
geo.app.views.fields, geo.pipeline (PlanResult), pandas and streamlit.
"""

from __future__ import annotations

import html

import pandas as pd
import streamlit as st

from geo.app.text import section
from geo.app.views.fields import (
    DISTRICT_FIELDS,
    ESTATE_FIELDS,
    MEMBER_FIELDS,
    MOBILISATION_FIELDS,
    TABLE_FIELDS,
    field_table,
    first_rows,
    labelled_frame,
    other_columns,
    plain,
)
from geo.app.views.survey import survey_said
from geo.pipeline import PlanResult

#: Session key of what the details panel shows: ("district" | "estate", id) or None.
OPEN = "open_item"


def table_frame(result: PlanResult, lang: str) -> pd.DataFrame:
    """The districts as a sortable table: numbers stay numbers, investment in 万元, labelled.

    Columns are the labels of :data:`~geo.app.views.fields.TABLE_FIELDS`; rows in priority
    order; the index holds the district ids.
    """
    labels = section(lang, "fields")
    districts = result.districts.sort_values("priority_rank") if len(result.districts) else None
    out = {}
    for column, label, kind in TABLE_FIELDS:
        if districts is None or column not in districts:
            continue
        values = districts[column]
        if kind == "wan":
            values = (pd.to_numeric(values, errors="coerce") / 1e4).round(1)
        elif kind in ("area", "count"):
            values = pd.to_numeric(values, errors="coerce").round(0)
        out[labels[label]] = values.to_numpy()
    ids = districts["district_id"].astype(str).to_numpy() if districts is not None else []
    return pd.DataFrame(out, index=pd.Index(ids, name="district_id"))


def districts_table(t: dict[str, str], lang: str, result: PlanResult) -> str | None:
    """Draw the districts table; return the id of the selected row's district (None: none)."""
    table = table_frame(result, lang)
    if not len(table):
        st.caption(t["no_districts"])
        return None
    labels = section(lang, "fields")
    config = {}
    for _, label, kind in TABLE_FIELDS:
        name = labels[label]
        if kind in ("count", "area"):
            config[name] = st.column_config.NumberColumn(name, format="%,d")
        elif kind == "wan":  # 万元 to one decimal, the ".0" kept (a sum of money)
            config[name] = st.column_config.NumberColumn(name, format="%,.1f")
        elif kind == "score":
            config[name] = st.column_config.NumberColumn(name, format="%.1f")
        elif kind == "year":
            config[name] = st.column_config.NumberColumn(name, format="%d")
    event = st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="single-row",
        column_config=config,
        key="districts_table",
    )
    rows = event.selection.rows if event is not None else []
    return str(table.index[rows[0]]) if rows and rows[0] < len(table) else None


def mobilisation_section(
    t: dict[str, str], lang: str, result: PlanResult, district_id: str | None
) -> None:
    """Who still needs persuading (layer ``mobilisation``): estates not ready, by district and lot.

    With a district opened, its members only (the filter starts there); households to persuade
    are those whose agreement would bring the estate to the consent threshold.
    """
    waiting = result.extra_layers.get("mobilisation")
    if waiting is None:
        return
    st.subheader(t["mobilisation_title"])
    if not len(waiting):
        st.caption(t["mobilisation_none"])
        return
    st.caption(t["mobilisation_help"])
    ids = sorted({str(d) for d in waiting["district_id"].dropna()})
    if district_id is not None and district_id not in ids:
        st.caption(t["mobilisation_district_ready"].format(id=plain(district_id)))
    if district_id in ids and st.session_state.get("_mob_for") != district_id:
        st.session_state["_mob_for"] = district_id
        st.session_state["mobilisation_districts"] = [district_id]
    chosen = st.multiselect(
        t["mobilisation_pick"], ids, key="mobilisation_districts", placeholder=t["choose"]
    )
    shown = waiting.loc[waiting["district_id"].astype(str).isin(chosen)] if chosen else waiting
    to_persuade = pd.to_numeric(shown["households_to_persuade"], errors="coerce").sum()
    st.caption(t["mobilisation_count"].format(n=len(shown), households=f"{int(to_persuade):,}"))
    shown, note = first_rows(shown, t)
    st.dataframe(
        labelled_frame(shown, MOBILISATION_FIELDS, t, lang),
        hide_index=True,
        width="stretch",
        key="mobilisation_table",
    )
    if note:
        st.caption(note)


def card_table(frame: pd.DataFrame) -> None:
    """A labelled two-column table, tall enough to show every row (no inner scrolling)."""
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        height=35 * (len(frame) + 1) + 3,
        column_config={frame.columns[0]: st.column_config.TextColumn(width="medium")},
    )


def district_card(
    t: dict[str, str], lang: str, result: PlanResult, district_id: str, key: str = "details"
) -> bool:
    """The district's figures and member estates; False when the plan has no such district."""
    district = result.districts.loc[result.districts["district_id"].astype(str) == district_id]
    if not len(district):
        return False
    row = district.iloc[0]
    st.subheader(t["district_card"].format(id=plain(row["district_id"])))
    card_table(field_table(row, DISTRICT_FIELDS, t, lang))
    estates = result.estates
    members = estates.loc[estates["district_id"].astype(str) == district_id]
    st.caption(t["members_count"].format(n=len(members)))
    st.dataframe(
        labelled_frame(members, MEMBER_FIELDS, t, lang),
        hide_index=True,
        width="stretch",
        key=f"district_members_{key}",
    )
    return True


def estate_card(t: dict[str, str], lang: str, result: PlanResult, estate_id: str) -> bool:
    """The estate's figures (and the input table's other columns); False when unknown."""
    estates = result.estates
    match = estates.loc[estates["estate_id"].astype(str) == estate_id]
    if not len(match):
        return False
    row = match.iloc[0].drop("geometry")
    title = row["name"] if pd.notna(row.get("name")) and str(row["name"]).strip() else estate_id
    st.subheader(plain(title))
    if (said := survey_said(row, t, lang, result)) is not None:
        st.markdown(
            f"**{t['survey_from']}**：{said}" if lang == "zh" else f"**{t['survey_from']}**: {said}"
        )
    card_table(field_table(row, ESTATE_FIELDS, t, lang))
    rest = other_columns(row, t)
    if len(rest):
        with st.expander(t["other_columns"]):
            st.dataframe(rest, hide_index=True, width="stretch")
    return True


def opened_from_click(clicked: dict | None) -> tuple[str, str] | None:
    """What a map click opens: ("estate", id) or ("district", id); None for anything else.

    The map's features carry ``estate_id`` (estates; HTML-escaped in the map) or only
    ``district_id`` (district outlines and labels).
    """
    props = (clicked or {}).get("properties") or {}
    if props.get("estate_id"):
        return ("estate", html.unescape(str(props["estate_id"])))
    if props.get("district_id") and "name" not in props:
        return ("district", html.unescape(str(props["district_id"])))
    return None


def details(t: dict[str, str], lang: str, result: PlanResult, opened: tuple | None) -> None:
    """The details panel: the opened estate or district, else how to open one."""
    if opened is not None:
        kind, item = opened
        card = district_card if kind == "district" else estate_card
        if card(t, lang, result, item):
            return
    st.caption(t["details"])
