"""The page's layout: language, sidebar, plan, figures, then one tab per task.

Tabs: 地图 (search, plan year, the map, details), 片区 (table, district card, who still needs
persuading), 五年计划 (plan upload, match review, years, proposed schedule beside the plan,
milestones), 养老, 方案 (scenarios), 导出 (downloads, tender packages, official tables and the
schedule workbook), 数据质量 (the survey join, the quality notes).

:func:`main` is what ``app.py`` runs as Streamlit's script. Any exception of a page run ends in
the app's own panel (:func:`geo.app.messages.error_panel`), never Streamlit's error page, and the
last plan that succeeded stays on screen. May import every geo.app module, geo.outputs,
geo.pipeline, geo.core and streamlit.
"""

from __future__ import annotations

import logging
from dataclasses import asdict

import pandas as pd
import streamlit as st

from geo.app.mapview import highlight_script, map_component_args, show_map
from geo.app.messages import error_panel, show_error
from geo.app.sidebar import (
    data_sidebar,
    display_sidebar,
    keep_choices_across_languages,
    policy_sidebar,
)
from geo.app.state import (
    cached_inputs,
    cached_plan,
    freeze_imported_objects,
    illustrative_inputs,
    osm_reachable,
)
from geo.app.text import LANGUAGES, strings
from geo.app.views.districts import (
    OPEN,
    details,
    district_card,
    districts_table,
    mobilisation_section,
    opened_from_click,
)
from geo.app.views.elderly import elderly_tab
from geo.app.views.exports import district_png, exports_tab
from geo.app.views.fiveyear import apply_plan, fiveyear_tab, plan_upload
from geo.app.views.quality import quality_tab
from geo.app.views.scenarios import scenarios_tab
from geo.app.views.schedule import (
    HOUSEHOLD_CAP,
    cached_schedule,
    fiveyear_downloads,
    milestone_colouring_of,
    progress_section,
    schedule_section,
)
from geo.app.views.search import search_box
from geo.app.views.summary import summary_metrics
from geo.core.errors import LianpianError
from geo.outputs import maps

_LOG = logging.getLogger("lianpian.app")
#: Session key of the last (spec, policy values) that planned without error.
LAST_GOOD = "last_good"


def load_and_plan(t: dict[str, str], requested: tuple | None, policy_items: tuple):
    """Plan the requested data; on any failure keep the last plan that succeeded and say why.

    Tries the requested spec, then the current spec with these policy values, then the last
    good (spec, policy values). Bad input (``LianpianError``, ``OSError``, ``ValueError``) is one
    line; anything else is the app's error panel. The progress box goes away after a failure.
    Returns ``(spec, policy_items, result)`` or None when nothing has planned yet.
    """
    previous = st.session_state.get("spec", (("estates", None),))
    last_good = st.session_state.get(LAST_GOOD)
    planned = st.session_state.setdefault("planned", set())
    attempts = [(spec, policy_items) for spec in ([requested] if requested else []) + [previous]]
    if last_good is not None and last_good not in attempts:
        attempts.append(last_good)
    failed = False
    for spec, items in dict.fromkeys(attempts):
        box = st.empty()
        try:
            if (spec, items) in planned:  # in the cache: no progress to show
                result = cached_plan(spec, items)
            else:
                with box.container(), st.status(t["running"], expanded=True) as status:
                    bar = st.progress(0.0, text=t["step_read"])
                    if not any(done == spec for done, _ in planned):  # else read already
                        cached_inputs(spec)
                    bar.progress(0.4, text=t["step_plan"])
                    result = cached_plan(spec, items)
                    bar.progress(1.0, text=t["done"])
                    status.update(label=t["done"], state="complete")
                planned.add((spec, items))
                box.empty()  # the progress is shown while planning only
        except (LianpianError, OSError, ValueError) as exc:
            box.empty()
            if not failed:
                show_error(t, exc)
            failed = True
            continue
        except Exception as exc:  # a bug: the app's panel, and the last good plan below
            box.empty()
            _LOG.exception("planning failed")
            if not failed:
                error_panel(t, exc, stage="plan", kept=last_good is not None)
            failed = True
            continue
        st.session_state.spec = spec
        st.session_state[LAST_GOOD] = (spec, items)
        if items != policy_items:
            st.warning(t["shown_previous"])
        return spec, items, result
    return None


def main() -> None:
    """Lay out the page; an exception of the run shows the app's panel instead of Streamlit's."""
    st.set_page_config(page_title="lianpian 连片改造", layout="wide")
    freeze_imported_objects()
    lang = st.sidebar.radio(
        "语言 / Language",
        LANGUAGES,
        format_func=lambda x: "中文" if x == "zh" else "English",
        key="lang",
    )
    t = strings(lang)
    try:
        _page(t, lang)
    except Exception as exc:  # Streamlit's rerun/stop are BaseExceptions: they pass
        _LOG.exception("the page run failed")
        error_panel(t, exc, stage="page", kept=st.session_state.get(LAST_GOOD) is not None)


def _page(t: dict[str, str], lang: str) -> None:
    st.title(t["title"])
    keep_choices_across_languages(lang)
    requested = data_sidebar(t)  # bad uploads are shown there; the previous data stay
    policy_items = policy_sidebar(t, lang)
    display_choices = display_sidebar(t, lang)

    planned = load_and_plan(t, requested, policy_items)
    if planned is None:
        return
    spec, policy_items, result = planned
    if result.inputs.synthetic:
        st.info(t["demo_note"])
    elif files := illustrative_inputs(result):
        sep = "、" if lang == "zh" else ", "
        st.info(t["illustrative"].format(files=sep.join(files)))
    summary = result.summary()
    summary_metrics(t, summary, lang)

    names = ("tab_map", "tab_districts", "tab_plan", "tab_elderly", "tab_scenarios")
    tabs = dict(
        zip(
            (*names, "tab_exports", "tab_quality"),
            st.tabs([t[n] for n in (*names, "tab_exports", "tab_quality")]),
            strict=True,
        )
    )
    with tabs["tab_plan"]:  # first in code: the plan's years colour the map
        upload = plan_upload(t)
        try:
            plan_digest = apply_plan(t, spec, policy_items, result, upload)
        except (LianpianError, OSError, ValueError) as exc:
            show_error(t, exc)
            plan_digest = None
        fiveyear_tab(t, lang, result, plan_digest is not None)
    with tabs["tab_map"]:
        options = map_tab(
            t, lang, (*spec, ("_plan", plan_digest)), policy_items, result, display_choices
        )
    with tabs["tab_districts"]:
        district_tab(t, lang, result, options)
        opened = st.session_state.get(OPEN)
        if opened and opened[0] == "district":
            st.download_button(
                t["district_png"],
                data=lambda: district_png(spec, policy_items, opened[1]),
                file_name=f"lianpian_{opened[1]}.png",
                mime="image/png",
                key="district_png",
            )
    with tabs["tab_elderly"]:
        elderly_tab(t, lang, result, summary)
    with tabs["tab_scenarios"]:
        scenarios_tab(t, lang, spec, policy_items, display_choices)
    with tabs["tab_exports"]:
        exports_tab(t, spec, policy_items, result)
        overlay = st.session_state.get("_plan_overlay") if plan_digest is not None else None
        cap = int(st.session_state.get(HOUSEHOLD_CAP) or 0)
        fiveyear_downloads(
            t,
            result,
            lambda: cached_schedule(spec, policy_items, cap),
            overlay,
            (spec, policy_items, plan_digest, cap),
        )
    with tabs["tab_quality"]:
        quality_tab(t, lang, result)
    with tabs["tab_plan"]:  # last: the proposed schedule takes seconds on a city's estates
        try:
            schedule_section(t, lang, spec, policy_items, result)
        except (LianpianError, ValueError) as exc:
            show_error(t, exc)
        try:
            progress_section(t, lang, result)
        except (LianpianError, OSError, ValueError) as exc:
            show_error(t, exc)


def map_tab(
    t: dict[str, str],
    lang: str,
    map_spec: tuple,
    policy_items: tuple,
    result,
    display_choices: dict,
) -> maps.MapOptions | None:
    """Search, plan year, the map (full width) and the details of what was clicked."""
    gcj02 = display_choices["basemap"] == "amap"
    found = search_box(t, result, gcj02=gcj02)
    if found is not None and found[:2] != st.session_state.get("_search_done"):
        kind, item, view = found
        st.session_state["_search_done"] = (kind, item)
        st.session_state.zoom_to = view
        st.session_state[OPEN] = (kind, item)
        st.rerun()
    plan_year = None
    if "plan_year" in result.estates:
        years = pd.to_numeric(result.estates["plan_year"], errors="coerce").dropna()
        if len(years):
            lo, hi = int(min(years.min(), 2021)), int(max(years.max(), 2025))
            c1, c2 = st.columns([3, 1])
            plan_year = c1.slider(t["plan_year"], lo, hi, hi, key="plan_year")
            c2.metric(t["plan_count"].format(year=plan_year), int((years <= plan_year).sum()))
    if display_choices["colour_by"] == "elderly_gap" and "elderly_gap_m2" not in result.estates:
        st.caption(t["no_elderly"])
        display_choices = {**display_choices, "colour_by": "status"}
    colouring, colouring_key = None, ()
    if display_choices["colour_by"] == "milestone":
        found = milestone_colouring_of(lang, result, (map_spec, policy_items))
        if found is None:
            st.caption(t["no_progress"])
        else:
            colouring, colouring_key, _ = found
        display_choices = {**display_choices, "colour_by": "status"}
    if display_choices["basemap"] == "osm" and not osm_reachable():
        offline_basemap_note(t)
    options = maps.MapOptions(plan_year=plan_year, language=lang, **display_choices)
    opened = st.session_state.get(OPEN)
    try:
        options_items = tuple(sorted(asdict(options).items()))
        args = map_component_args(
            map_spec, policy_items, options_items, result, colouring_key, colouring
        )
    except (LianpianError, ValueError) as exc:
        show_error(t, exc)
        return None
    # sent once: later runs leave the view to the planner (kept across display changes)
    center, zoom = st.session_state.pop("zoom_to", None) or (None, None)
    district = opened[1] if opened and opened[0] == "district" else None
    extra = highlight_script(result, district, gcj02=gcj02)
    output = show_map(args, center, zoom, extra)
    clicked = (output or {}).get("last_active_drawing")
    if clicked != st.session_state.get("_last_click"):
        st.session_state["_last_click"] = clicked
        if (new := opened_from_click(clicked)) is not None and new != opened:
            st.session_state[OPEN] = new
            st.rerun()  # the highlight follows the opened district
    with st.container(key="details_panel"):
        details(t, lang, result, opened)
    return options


def district_tab(t: dict[str, str], lang: str, result, options) -> None:
    """The districts table (a row opens the district and zooms the map) and its card."""
    st.subheader(t["table"])
    chosen = districts_table(t, lang, result)
    if chosen is not None and chosen != st.session_state.get("_table_choice"):
        st.session_state["_table_choice"] = chosen
        district = result.districts.loc[result.districts["district_id"].astype(str) == chosen]
        gcj02 = options is not None and options.basemap == "amap"
        point = maps.display_frame(district, gcj02=gcj02).geometry.iloc[0].centroid
        st.session_state.zoom_to = ([point.y, point.x], 16)
        st.session_state[OPEN] = ("district", chosen)
        st.rerun()
    opened = st.session_state.get(OPEN)
    if opened and opened[0] == "district":
        district_card(t, lang, result, opened[1], key="tab")
    mobilisation_section(t, lang, result, opened[1] if opened and opened[0] == "district" else None)


def offline_basemap_note(t: dict[str, str]) -> None:
    """OSM tiles cannot load: say so and offer the offline basemaps (one click each)."""

    def use(basemap: str) -> None:
        st.session_state.basemap = basemap

    note, none, local = st.columns([6, 1, 1], vertical_alignment="center")
    note.warning(t["offline_osm"])
    none.button(t["use_none"], on_click=use, args=("none",), key="offline_none")
    local.button(t["use_local"], on_click=use, args=("local",), key="offline_local")
