"""The folium map a user would otherwise write of the planned estates (the benchmarks' baseline).

One ``folium.GeoJson`` coloured by status with a ``style_function`` and a ``GeoJsonTooltip``, as
folium's and streamlit-folium's documentation show, with Leaflet inlined (the machine is offline)
exactly as for lianpian's map, so the pages differ only in how the map is made. Used by
``bench_app_browser.py`` (a standalone page) and ``_plain_app.py`` (the Streamlit app).
"""

from __future__ import annotations

import folium
import geopandas as gpd

from geo.outputs import maps


def plain_folium_map(estates: gpd.GeoDataFrame, js: str, css: str) -> folium.Map:
    """The map of ``estates`` (``name``, ``status``; EPSG:4326) with Leaflet's ``js`` and ``css``."""
    m = folium.Map(tiles=None)
    m.default_js = [("leaflet", js)]
    m.default_css = [("leaflet_css", css)]
    colours = maps.STATUS_COLOURS
    folium.GeoJson(
        estates,
        name="estates",
        style_function=lambda f: {
            "fillColor": colours.get(f["properties"]["status"], "#999999"),
            "color": "#333333",
            "weight": 0.6,
            "fillOpacity": 0.75,
        },
        tooltip=folium.GeoJsonTooltip(["name", "status"]),
    ).add_to(m)
    m.fit_bounds(m.get_bounds())
    return m
