"""The 养老 (elderly care) tab: the figures, the proposed shared sites and the estates' gaps.

May import geo.app.views (summary, fields), geo.pipeline (PlanResult) and streamlit.
"""

from __future__ import annotations

import streamlit as st

from geo.app.views.fields import GAP_FIELDS, SITE_FIELDS, first_rows, labelled_frame
from geo.app.views.summary import shared_facility_metrics
from geo.pipeline import PlanResult


def elderly_tab(t: dict[str, str], lang: str, result: PlanResult, summary: dict) -> None:
    """Elderly-care and corridor figures, then the proposed sites and the gaps, largest first."""
    shared_facility_metrics(t, summary, result.policy.elderly.m2_per_100_households)
    layers = result.extra_layers
    sites = layers.get("elderly_sites")
    gaps = layers.get("elderly_gaps")
    if sites is None and gaps is None:
        st.caption(t["no_elderly"])
        return
    if sites is not None and len(sites):
        st.markdown(f"**{t['elderly_sites_table']}**")
        st.dataframe(labelled_frame(sites, SITE_FIELDS, t, lang), hide_index=True, width="stretch")
    if gaps is not None and len(gaps):
        st.markdown(f"**{t['elderly_gaps_table']}**")
        gaps, note = first_rows(gaps.sort_values("elderly_gap_m2", ascending=False), t)
        st.dataframe(labelled_frame(gaps, GAP_FIELDS, t, lang), hide_index=True, width="stretch")
        if note:
            st.caption(note)
