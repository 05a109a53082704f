"""The page's layout: language, sidebar, plan, figures, map, details, table, downloads.

:func:`main` is what ``app.py`` runs as Streamlit's script. May import every geo.app module,
geo.outputs, geo.pipeline, geo.core and streamlit.
"""

from __future__ import annotations

from dataclasses import asdict

import pandas as pd
import streamlit as st

from geo.app.mapview import map_component_args, show_map
from geo.app.messages import show_error
from geo.app.sidebar import data_sidebar, display_sidebar, policy_sidebar
from geo.app.state import (
    cached_download,
    cached_inputs,
    cached_plan,
    cached_tender,
    freeze_imported_objects,
)
from geo.app.text import LANGUAGES, strings
from geo.app.views.districts import details, districts_table
from geo.app.views.summary import shared_facility_metrics, summary_metrics
from geo.core.errors import LianpianError
from geo.outputs import maps


def load_and_plan(t: dict[str, str], requested: tuple | None, policy_items: tuple):
    """Plan the requested data; on bad input keep the previous data and say why."""
    previous = st.session_state.get("spec", (("estates", None),))
    planned = st.session_state.setdefault("planned", set())
    for spec in ([requested] if requested is not None else []) + [previous]:
        try:
            if (spec, policy_items) in planned:  # in the cache: no progress to show
                result = cached_plan(spec, policy_items)
            else:
                with st.status(t["running"], expanded=True) as status:  # progress bar in view
                    bar = st.progress(0.0, text=t["step_read"])
                    if not any(done == spec for done, _ in planned):  # else read already
                        cached_inputs(spec)
                    bar.progress(0.4, text=t["step_plan"])
                    result = cached_plan(spec, policy_items)
                    bar.progress(1.0, text=t["done"])
                    status.update(label=t["done"], state="complete")
                planned.add((spec, policy_items))
        except (LianpianError, OSError, ValueError) as exc:
            show_error(t, exc)
            if spec == previous:
                return None
            continue
        st.session_state.spec = spec
        return spec, result
    return None


def main() -> None:
    """Lay out the page."""
    st.set_page_config(page_title="lianpian 连片改造", layout="wide")
    freeze_imported_objects()
    lang = st.sidebar.radio(
        "语言 / Language",
        LANGUAGES,
        format_func=lambda x: "中文" if x == "zh" else "English",
        key="lang",
    )
    t = strings(lang)
    st.title(t["title"])
    requested = data_sidebar(t)  # bad uploads are shown there; the previous data stay
    policy_items = policy_sidebar(t)
    display_choices = display_sidebar(t, lang)

    planned = load_and_plan(t, requested, policy_items)
    if planned is None:
        return
    spec, result = planned
    if result.inputs.synthetic:
        st.info(t["demo_note"])
    summary = result.summary()
    summary_metrics(t, summary, lang)

    plan_year = None
    if "plan_year" in result.estates:
        years = pd.to_numeric(result.estates["plan_year"], errors="coerce").dropna()
        if len(years):
            lo, hi = int(min(years.min(), 2021)), int(max(years.max(), 2025))
            plan_year = st.slider(t["plan_year"], lo, hi, hi, key="plan_year")
            st.metric(t["plan_count"].format(year=plan_year), int((years <= plan_year).sum()))

    if display_choices["colour_by"] == "elderly_gap" and "elderly_gap_m2" not in result.estates:
        st.caption(t["no_elderly"])
        display_choices = {**display_choices, "colour_by": "status"}
    options = maps.MapOptions(plan_year=plan_year, language=lang, **display_choices)
    basemap = options.basemap
    left, right = st.columns([3, 1])
    with left:
        try:
            options_items = tuple(sorted(asdict(options).items()))
            args = map_component_args(spec, policy_items, options_items, result)
        except (LianpianError, ValueError) as exc:
            show_error(t, exc)
            return
        center, zoom = st.session_state.get("zoom_to") or (None, None)
        output = show_map(args, center, zoom)
    with right:
        details(t, result, (output or {}).get("last_active_drawing"))
    shared_facility_metrics(t, summary, result.policy.elderly.m2_per_100_households)
    st.subheader(t["table"])
    chosen = districts_table(t, result)
    if len(chosen):
        district = result.districts.loc[
            result.districts["district_id"] == chosen.iloc[0]["district_id"]
        ]
        point = maps.display_frame(district, gcj02=basemap == "amap").geometry.iloc[0].centroid
        target = ([point.y, point.x], 16)
        if st.session_state.get("zoom_to") != target:
            st.session_state.zoom_to = target
            st.rerun()
    if len(result.quality):
        with st.expander(t["quality"].format(n=len(result.quality))):
            st.dataframe(result.quality.to_frame(), hide_index=True, width="stretch")
    st.subheader(t["download"])
    c1, c2, c3 = st.columns(3)
    c1.download_button(
        t["gpkg"],
        data=lambda: cached_download(spec, policy_items, "gpkg"),
        file_name="lianpian_plan.gpkg",
        mime="application/geopackage+sqlite3",
    )
    c2.download_button(
        t["xlsx"],
        data=lambda: cached_download(spec, policy_items, "xlsx"),
        file_name="lianpian_plan.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    if len(result.districts):
        picked = c3.selectbox(
            t["tender_pick"], list(result.districts["district_id"]), key="tender_district"
        )
        c3.download_button(
            t["tender"],
            data=lambda: cached_tender(spec, policy_items, str(picked)),
            file_name=f"lianpian_{picked}.zip",
            mime="application/zip",
        )
