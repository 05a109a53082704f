"""The districts table (select a row to zoom) and the details of a clicked estate or district.

May import geo.pipeline (PlanResult), pandas and streamlit.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from geo.pipeline import PlanResult


def districts_table(t: dict[str, str], result: PlanResult) -> pd.DataFrame:
    """Sortable districts table; return the selected rows."""
    table = pd.DataFrame(result.districts.drop(columns="geometry"))
    columns = [
        c
        for c in (
            "priority_rank",
            "district_id",
            "county",
            "estates",
            "households",
            "floor_area_m2",
            "build_year_min",
            "build_year_max",
            "investment_yuan",
            "priority_score",
        )
        if c in table
    ]
    table = table[columns].sort_values("priority_rank") if len(table) else table[columns]
    event = st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="single-row",
        key="districts_table",
    )
    rows = event.selection.rows if event is not None else []
    return table.iloc[rows]


def details(t: dict[str, str], result: PlanResult, clicked: dict | None) -> None:
    """Details of the clicked estate or district (values shown as text by st.dataframe)."""
    props = (clicked or {}).get("properties") or {}
    estates = result.estates
    if props.get("district_id") and "name" not in props:
        district = result.districts.loc[result.districts["district_id"] == props["district_id"]]
        if len(district):
            row = district.iloc[0]
            st.subheader(f"{t['districts']} {row['district_id']}")
            st.dataframe(pd.DataFrame(row.drop("geometry")).astype(str), width="stretch")
            members = estates.loc[estates["district_id"] == row["district_id"]]
            st.caption(t["members"])
            st.dataframe(
                pd.DataFrame(members[["estate_id", "name", "build_year", "households", "status"]]),
                hide_index=True,
            )
            return
    estate_id = props.get("estate_id")
    if estate_id:
        import html

        match = estates.loc[estates["estate_id"] == html.unescape(str(estate_id))]
        if len(match):
            row = match.iloc[0].drop("geometry")
            st.subheader(str(row["name"]) if pd.notna(row["name"]) else str(row["estate_id"]))
            st.dataframe(pd.DataFrame({"value": row.astype(str)}), width="stretch")
            return
    st.caption(t["details"])
