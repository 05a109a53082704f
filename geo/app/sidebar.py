"""The sidebar: data source (demo, paths, uploads), policy values, display choices.

Each function draws its widgets and returns what the page needs (an input spec, the policy values,
the map's display options). Widget keys and values never depend on the interface language (only
labels are formatted). May import geo.app.state, geo.app.uploads, geo.app.messages, geo.outputs.maps,
geo.core and streamlit.
"""

from __future__ import annotations

import os

import streamlit as st

from geo.app.messages import show_error
from geo.app.state import (
    CRS_CHOICES,
    ENV_PREFIX,
    POLICY_WIDGETS,
    SURVEY_CRS_CHOICES,
    WEIGHTS,
    local_tile_server,
    paths_spec,
    policy_defaults,
    start_paths,
)
from geo.app.text import basemap_labels, section
from geo.app.uploads import UPLOADS, uploaded_paths
from geo.core.errors import LianpianError
from geo.outputs import maps

#: Widgets whose options are shown through a language-dependent ``format_func``. Streamlit sends
#: a radio's or selectbox's choice back as its *label*: after a language switch the old label
#: matches no option and the widget fell back to its first option (the demo). Their values are
#: kept per session and given back to the widgets on the run that switches the language.
LABELLED_CHOICES = ("data_mode", "source_crs", "survey_crs", "colour_by", "basemap")
_KEPT = "_kept_choices"


def keep_choices_across_languages(lang: str) -> None:
    """Give the choice widgets their values back on the run that switches the language.

    Call before any widget of :data:`LABELLED_CHOICES` (or an upload's layer choice) is drawn:
    until a widget is drawn in this run Streamlit reads its value with the last run's labels (the
    right option); written back, the widget shows that option under its new label. Values are
    also kept per session, for a widget not drawn on the last run.
    """
    kept = st.session_state.setdefault(_KEPT, {})
    layers = [k for k in st.session_state if str(k).startswith("u_") and "_layer_" in str(k)]
    switched = st.session_state.get("_lang_last") not in (None, lang)
    for key in (*LABELLED_CHOICES, *layers):
        if key in st.session_state:
            kept[key] = st.session_state[key]
        if switched and key in kept:
            st.session_state[key] = kept[key]
    st.session_state["_lang_last"] = lang


def data_sidebar(t: dict[str, str]) -> tuple | None:
    """Data choice widgets; return the requested input spec (None: keep the current one)."""
    st.sidebar.header(t["data"])
    if "data_mode" not in st.session_state and start_paths()["estates"]:
        st.session_state.data_mode = "paths"
        for name, path in start_paths().items():
            st.session_state[f"p_{name}"] = path
    mode = st.sidebar.radio(
        t["source"],
        ("demo", "paths", "upload"),
        format_func=lambda m: t[m],
        key="data_mode",
    )
    crs = st.sidebar.selectbox(
        t["crs"], CRS_CHOICES, format_func=lambda c: c or t["crs_auto"], key="source_crs"
    )
    if mode == "demo":
        return (("estates", None),)
    survey_crs = st.sidebar.selectbox(
        t["survey_crs"],
        SURVEY_CRS_CHOICES,
        format_func=lambda c: t[f"survey_crs_{c or 'none'}"],
        help=t["survey_crs_help"],
        key="survey_crs",
    )
    if mode == "paths":
        with st.sidebar.form("paths_form"):
            estates = st.text_input(t["estates_path"], key="p_estates").strip()
            survey = st.text_input(t["survey_path"], key="p_survey").strip()
            barriers = st.text_input(t["barriers_path"], key="p_barriers").strip()
            roads = st.text_input(t["roads_path"], key="p_roads").strip()
            boundaries = st.text_input(t["boundaries_path"], key="p_boundaries").strip()
            facilities = st.text_input(t["facilities_path"], key="p_facilities").strip()
            candidates = st.text_input(t["candidates_path"], key="p_candidates").strip()
            st.form_submit_button(t["load"])
        if not estates:
            return None
        return paths_spec(
            estates,
            survey,
            barriers,
            roads,
            boundaries,
            facilities,
            candidates,
            crs or None,
            survey_crs or None,
        )
    requested: dict[str, list[str]] = {}
    errors: list[LianpianError] = []

    def uploader(role: str, label: str, types: list, several: bool) -> None:
        try:
            requested[role] = uploaded_paths(t, role, label, types, several)
        except LianpianError as exc:  # shown below; the other uploaders are still drawn
            requested[role] = []
            errors.append(exc)

    with st.sidebar:
        for upload in UPLOADS[:2]:
            uploader(*upload)
        with st.expander(t["more_layers"], expanded=False):
            for upload in UPLOADS[2:]:
                uploader(*upload)
    for exc in errors:
        show_error(t, exc)
    if errors or not requested["estates"]:
        return None

    def first(role: str) -> str | None:
        return requested[role][0] if requested[role] else None

    return (
        ("estates", requested["estates"][0]),
        ("survey", first("survey")),
        ("barriers", tuple(requested["barriers"])),
        ("roads", first("roads")),
        ("boundaries", first("boundaries")),
        ("facilities", first("facilities")),
        ("candidate_sites", first("candidate_sites")),
        ("source_crs", crs or None),
        ("survey_crs", survey_crs or None),
    )


def _reset_policy() -> None:
    for key, value in policy_defaults().items():
        st.session_state[f"pol.{key}"] = value


def policy_sidebar(t: dict[str, str], lang: str = "zh") -> tuple:
    """Policy widgets (with reset); return the policy values as a sorted tuple."""
    st.sidebar.header(t["policy"])
    defaults = policy_defaults()
    for key, value in defaults.items():
        st.session_state.setdefault(f"pol.{key}", value)
    st.sidebar.button(t["reset"], on_click=_reset_policy, key="reset_policy")
    values: dict[str, object] = {}
    for key, kind, label, lo, hi, step in POLICY_WIDGETS:
        wkey = f"pol.{key}"
        if kind == "bool":
            values[key] = st.sidebar.checkbox(t[label], key=wkey)
        elif kind == "int":
            values[key] = int(
                st.sidebar.number_input(t[label], min_value=lo, max_value=hi, step=step, key=wkey)
            )
        else:
            values[key] = float(
                st.sidebar.slider(t[label], min_value=lo, max_value=hi, step=step, key=wkey)
            )
    weight_labels = section(lang, "weight_labels")
    with st.sidebar.expander(t["weights"]):
        for w in WEIGHTS:
            key = f"priority.weight_{w}"
            values[key] = float(
                st.slider(
                    weight_labels[w], min_value=0.0, max_value=1.0, step=0.05, key=f"pol.{key}"
                )
            )
    if values["eligibility.extension_last_year"] < values["eligibility.cutoff_year"]:
        values["eligibility.extension_last_year"] = values["eligibility.cutoff_year"]
    return tuple(sorted(values.items()))


def display_sidebar(t: dict[str, str], lang: str) -> dict[str, object]:
    """Colour and basemap widgets; return the matching ``maps.MapOptions`` fields.

    Tianditu without a key and local tiles that cannot be opened fall back to no basemap.
    """
    st.sidebar.header(t["display"])
    colour_by = st.sidebar.radio(
        t["colour_by"],
        ("status", "priority", "elderly_gap", "milestone"),
        format_func=lambda c: t[f"by_{c}"],
        horizontal=True,
        key="colour_by",
    )
    if "basemap" not in st.session_state and os.environ.get(f"{ENV_PREFIX}TILES"):
        st.session_state.basemap = "local"  # an office's own tiles, set once in its start script
        st.session_state.local_tiles = os.environ[f"{ENV_PREFIX}TILES"]
    basemap = st.sidebar.selectbox(
        t["basemap"], maps.BASEMAPS, format_func=basemap_labels(lang).get, key="basemap"
    )
    key = ""
    if basemap == "tianditu":
        key = st.sidebar.text_input(t["tk"], type="password", key="tianditu_key").strip()
        if not key:
            basemap = "none"
    local: dict[str, object] = {}
    if basemap == "local":
        folder = st.sidebar.text_input(t["local_tiles"], key="local_tiles").strip()
        try:
            server = local_tile_server(folder) if folder else None
        except LianpianError as exc:
            show_error(t, exc)
            server = None
        if server is None:
            basemap = "none"
        else:
            local = {
                "local_tiles_url": server.url,
                "local_tiles_max_zoom": server.source.max_zoom,
                "local_tiles_name": server.source.name,
            }

    return {"colour_by": colour_by, "basemap": basemap, "tianditu_key": key or None, **local}
