"""The page's figures: counts by status, districts, households, investment, elderly care, corridors.

May import geo.outputs.maps (status labels) and streamlit.
"""

from __future__ import annotations

import streamlit as st

from geo.outputs import maps


def summary_metrics(t: dict[str, str], s: dict[str, object], lang: str) -> None:
    """Counts by status, districts, households and investment in districts."""
    by_status = s["by_status"]
    cols = st.columns(len(by_status))
    for col, (status, count) in zip(cols, by_status.items(), strict=False):
        label = maps.status_label(status, lang).split("（")[0].split(" (")[0]
        col.metric(label, f"{count}", help=maps.status_label(status, lang))
    cols = st.columns(3)
    cols[0].metric(t["districts"], f"{s['districts']}")
    cols[1].metric(
        t["with_unit"].format(label=t["hh_in"], unit=t["unit_hh"]),
        f"{s['households_in_districts']:,}",
    )
    cols[2].metric(
        t["with_unit"].format(label=t["invest"], unit=t["unit_wan"]),
        f"{s['investment_in_districts_yuan'] / 1e4:,.0f}",
    )


def _metric_row(title: str, figures: list[tuple[str, str]]) -> None:
    st.markdown(f"**{title}**")
    for col, (label, value) in zip(st.columns(len(figures)), figures, strict=True):
        col.metric(label, value)


def shared_facility_metrics(t: dict[str, str], s: dict[str, object], m2_per_100: float) -> None:
    """Elderly-care and corridor figures (``PlanResult.summary()``), when they were computed."""
    if "elderly_gap_m2" in s:
        m2 = f"{m2_per_100:g}"
        _metric_row(
            t["elderly"].format(m2=m2),
            [
                (t["elderly_without"], f"{s['elderly_households_without_5min']:,}"),
                (t["elderly_gap"], f"{s['elderly_gap_m2']:,.0f}"),
                (t["elderly_sites"], f"{s['elderly_sites_proposed']:,}"),
                (t["elderly_site_area"], f"{s['elderly_site_floor_area_m2']:,.0f}"),
            ],
        )
        elderly_caption(t, s)
    if "corridor_length_m" in s:
        _metric_row(
            t["corridors"],
            [
                (t["corridor_len"], f"{s['corridor_length_m'] / 1000:,.2f}"),
                (t["corridor_save"], f"{s['corridor_saving_pct']}%"),
                (t["corridor_cost"], f"{s['corridor_cost_yuan'] / 1e4:,.0f}"),
                (t["corridor_cost_save"], f"{s['corridor_cost_saving_pct']}%"),
            ],
        )


def elderly_caption(t: dict[str, str], s: dict[str, object]) -> None:
    """How the elderly-care figures were found, in words; the solver's name and gap in an expander."""
    walking = s["elderly_distance"] == "walking network"
    distance = t["distance_walking"] if walking else t["distance_straight"]
    gap = float(s.get("elderly_siting_gap") or 0.0)
    key = "elderly_caption" if gap <= 1e-9 else "elderly_caption_gap"
    st.caption(t[key].format(distance=distance, gap=gap))
    with st.expander(t["elderly_method"]):
        st.caption(
            t["elderly_method_text"].format(
                distance=distance,
                method=s["elderly_siting_method"] or "-",
                gap=gap,
            )
        )
