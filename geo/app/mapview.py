"""The map on the page: the folium map of a plan rendered once, sent to ``st_folium`` on reruns.

Holds the recording of ``streamlit_folium``'s component call (:func:`map_component_args`, cached
per plan and display options) and :func:`show_map`. May import geo.outputs.maps, geo.pipeline and
streamlit; ``streamlit_folium`` is imported only inside the page's run (see :func:`_folium`).
"""

from __future__ import annotations

import hashlib
import json
import threading

import streamlit as st

from geo.outputs import maps
from geo.pipeline import PlanResult

#: The map's key in the session and the only browser event that reruns the script (a click).
MAP_KEY = "map"


RETURNED = ["last_active_drawing"]


#: ``st_folium`` arguments of the map. ``render=False``: st_folium renders the map's elements itself
#: (``Map.render``); rendering the whole page first as well gives the same text (tests/test_app.py)
#: in 0.1 s more for the Hangzhou estates.
MAP_ARGS = {
    "height": 640,
    "use_container_width": True,
    "returned_objects": RETURNED,
    "key": MAP_KEY,
    "render": False,
}


class _Capture(threading.local):
    """Per-thread switch: while on, st_folium's component call is recorded instead of sent."""

    active = False
    kwargs: dict | None = None


def _capture() -> _Capture:
    """Wrap ``streamlit_folium``'s component function once so that its arguments can be recorded.

    ``st_folium`` renders the folium map to HTML and Leaflet script (Jinja templates, the GeoJSON
    of every layer serialised) each time it is called, and it rewrites the map's structure while
    doing so. The app renders each map once through ``st_folium`` itself with the recording on,
    keeps the arguments it would send (:func:`map_component_args`), and sends those on every rerun.
    The switch lives on the wrapper (this script is run again on every rerun; the wrapper stays).
    """
    import streamlit_folium  # imported on the page's first run: see _folium

    inner = streamlit_folium._component_func
    switch = getattr(inner, "lianpian_capture", None)
    if switch is not None:
        return switch
    switch = _Capture()

    def component(**kwargs):
        if switch.active:
            switch.kwargs = kwargs
            return None
        return inner(**kwargs)

    component.lianpian_capture = switch
    streamlit_folium._component_func = component
    return switch


@st.cache_resource(show_spinner=False, max_entries=16)  # a Hangzhou map's text is about 2 MB
def map_component_args(
    spec: tuple,
    policy_items: tuple,
    options_items: tuple,
    _result: PlanResult,
    colouring_key: tuple = (),
    _colouring: maps.EstateColouring | None = None,
    map_key: str = MAP_KEY,
) -> dict:
    """The arguments ``st_folium`` sends for the map of a plan and display options, rendered once.

    The folium map is built, given to ``st_folium`` once with the component call recorded (nothing
    is drawn here), and dropped: each rerun sends the same recorded text (see :func:`show_map`),
    so a rerun that changes nothing on the map, or comes back to a map seen before, renders
    nothing. The map's size on the page (height, container width) and what the browser returns
    (only a clicked feature: pan and zoom never rerun the script) are fixed here. ``_result`` is
    ``cached_plan(spec, policy_items)``, already at hand (not part of the key). ``_colouring``
    (scenario changes, milestones: :mod:`geo.outputs.map_colouring`) fills the estates instead
    of the display option, named in the key by ``colouring_key``; ``map_key`` is the component's
    key (one per map on the page).
    """
    fmap = maps.build_map(_result, maps.MapOptions(**dict(options_items)), colouring=_colouring)
    switch = _capture()
    switch.active, switch.kwargs = True, None
    try:
        _folium().st_folium(fmap, **{**MAP_ARGS, "key": map_key})
        kwargs = switch.kwargs
    finally:
        switch.active, switch.kwargs = False, None
    if kwargs is None:
        raise RuntimeError("streamlit_folium did not call its component")
    own = spec if map_key == MAP_KEY else (*spec, ("_map", map_key))  # each map its own view
    bounds = next((c.bounds for c in fmap._children.values() if hasattr(c, "bounds")), None)
    return {**kwargs, "script": kwargs["script"] + keep_view_script(own, bounds)}


def show_map(
    args: dict, center: list[float] | None, zoom: int | None, feature_group: str | None = None
) -> dict | None:
    """Send a map rendered by :func:`map_component_args`, centred and zoomed as asked.

    ``feature_group``: script of layers drawn over the map without rendering it again (the
    selected district's outline, :func:`highlight_script`).
    """
    return _folium()._component_func(
        **{**args, "center": center, "zoom": zoom, "feature_group": feature_group}
    )


def keep_view_script(spec: tuple, bounds: list | None = None) -> str:
    """Script that keeps the map's view (centre, zoom) across display changes, in the browser.

    The view is saved in the tab's ``sessionStorage`` on every move and restored when a map of
    the same data is drawn again (another colouring, basemap or plan year): pan and zoom never
    rerun the page. A new data set (``spec``) starts at its own extent (``bounds``,
    ``[[south, west], [north, east]]``). A map drawn in a hidden tab has no size: its view is
    neither saved nor placed until the tab is shown (else it would keep Leaflet's zoom 0, the
    whole world, as after a five-year plan was uploaded on its own tab).
    """
    data = tuple(item for item in spec if item[0] != "_plan")  # a plan keeps the data's view
    key = "lianpian-view-" + hashlib.sha256(repr(data).encode("utf-8")).hexdigest()[:16]
    return (
        "\n(function(){var k=" + json.dumps(key) + ",b=" + json.dumps(bounds) + ",placed=false;"
        "function sized(){var s=map_div.getSize();return s.x>0&&s.y>0;}"
        "function place(){try{var v=JSON.parse(window.sessionStorage.getItem(k)||'null');"
        "if(v){map_div.setView(v.c,v.z,{animate:false});}"
        "else if(b){map_div.fitBounds(b,{animate:false});}}catch(e){}placed=true;}"
        # shown: placed once the frame has settled to its size (it grows in steps)
        "if(sized()){place();}else{var t=null,t0=0,shown=function(){if(!sized())return;"
        "t0=t0||Date.now();clearTimeout(t);t=setTimeout(place,200);"
        "if(Date.now()-t0>2000){map_div.off('resize',shown);}};map_div.on('resize',shown);}"
        "map_div.on('moveend',function(){if(!placed||!sized())return;try{var c=map_div.getCenter();"
        "window.sessionStorage.setItem(k,JSON.stringify({c:[c.lat,c.lng],z:map_div.getZoom()}));"
        "}catch(e){}});})();\n"
    )


#: Outline of the selected district over the map (not interactive: clicks reach the estates).
HIGHLIGHT_STYLE = {"color": "#2166ac", "weight": 5, "opacity": 0.95, "fill": False}


def highlight_script(result: PlanResult, district_id: str | None, *, gcj02: bool) -> str | None:
    """``st_folium`` feature-group script outlining ``district_id`` (None: no district chosen)."""
    if district_id is None:
        return None
    district = result.districts.loc[result.districts["district_id"].astype(str) == district_id]
    if not len(district):
        return None
    shape = maps.display_frame(district[["geometry"]], gcj02=gcj02)
    options = {"style": HIGHLIGHT_STYLE, "interactive": False}
    return (
        f"var feature_group_lp_selected = L.geoJSON({shape.to_json()}, {json.dumps(options)});\n"
        "feature_group_lp_selected.setStyle(" + json.dumps(HIGHLIGHT_STYLE) + ");\n"
        "map_div.addLayer(feature_group_lp_selected);\n"
        "window.feature_group = window.feature_group || [];\n"
        "window.feature_group.push(feature_group_lp_selected);\n"
    )


def _folium():
    """``streamlit_folium``, imported by the page's script, never at this module's import.

    A custom component registers with the running Streamlit runtime when its module is first
    imported; ``serve.py`` imports this module in a thread outside any page, where that
    registration would be lost (the map's frame would be answered 404).
    """
    import streamlit_folium

    return streamlit_folium
