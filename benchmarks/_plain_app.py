"""The app a user would otherwise write: Streamlit + streamlit-folium, the same estates as GeoJSON.

Run by ``bench_app_browser.py`` (``streamlit run benchmarks/_plain_app.py``) with
``LIANPIAN_BENCH_PLAIN`` naming a GeoPackage of the planned estates (``estate_id``, ``name``,
``status``; EPSG:4326), written by the benchmark from the same plan as lianpian's app. The page
is what the streamlit-folium documentation shows: the layer read once (``st.cache_data``), a
``folium.GeoJson`` coloured by status with ``style_function`` and a ``GeoJsonTooltip``, given to
``st_folium`` on every run. Leaflet is inlined from ``node_modules`` (the machine is offline),
as for lianpian's map, so the two pages differ only in how the map is made and sent.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import geopandas as gpd
import streamlit as st
from streamlit_folium import st_folium

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _plain_map import plain_folium_map

from geo.outputs import maps  # Leaflet's files only

maps.MacroElement.render = maps._BRANCA_RENDER  # folium as shipped (maps patches its rendering)


@st.cache_data
def estates(path: str) -> gpd.GeoDataFrame:
    """The planned estates of the benchmark (EPSG:4326)."""
    return gpd.read_file(path)


st.set_page_config(page_title="plain streamlit-folium", layout="wide")
st.title("plain streamlit-folium")
frame = estates(os.environ["LIANPIAN_BENCH_PLAIN"])
js, css, _, _ = maps._assets(str(maps.leaflet_dir()))
m = plain_folium_map(frame, js, css)
st_folium(m, height=640, use_container_width=True, returned_objects=["last_active_drawing"])
