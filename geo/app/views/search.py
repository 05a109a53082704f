"""Search an estate or district by name or id, normalised as the survey join compares names.

``geo.core.names.normalise_name``: full-width to half-width, case, punctuation, Chinese numerals
and generic suffixes (小区, 住宅区...) do not matter. May import geo.core.names, geo.outputs.maps
(display geometry), geo.pipeline, pandas and streamlit.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from geo.core.names import normalise_name
from geo.outputs import maps
from geo.pipeline import PlanResult

#: Most matches offered.
MAX_HITS = 30


def find(result: PlanResult, query: str) -> list[tuple[str, str, str]]:
    """Estates and districts matching ``query``: (kind, id, label), districts first.

    A district matches by its id; an estate by its id or its normalised name containing the
    normalised query.
    """
    key = normalise_name(query)
    text = query.strip().lower()
    if not key and not text:
        return []
    hits: list[tuple[str, str, str]] = []
    for district in result.districts["district_id"].astype(str):
        if text and text == district.lower():
            hits.append(("district", district, district))
    estates = result.estates
    names = estates["name"].map(normalise_name)
    ids = estates["estate_id"].astype(str)
    found = (key != "") & names.str.contains(key, regex=False) | (ids.str.lower() == text)
    for _, row in estates.loc[found].head(MAX_HITS).iterrows():
        name = row["name"] if pd.notna(row["name"]) else row["estate_id"]
        hits.append(("estate", str(row["estate_id"]), f"{name} ({row['estate_id']})"))
    return hits


def target(result: PlanResult, kind: str, item: str, *, gcj02: bool) -> tuple[list[float], int]:
    """The map view of a found item: its centre ([lat, lon]) and a zoom showing it."""
    frame = result.districts if kind == "district" else result.estates
    column = "district_id" if kind == "district" else "estate_id"
    shape = frame.loc[frame[column].astype(str) == item, ["geometry"]]
    point = maps.display_frame(shape, gcj02=gcj02).geometry.iloc[0].centroid
    return [point.y, point.x], 16 if kind == "district" else 17


def search_box(t: dict[str, str], result: PlanResult, *, gcj02: bool) -> tuple | None:
    """Search field and its matches; return (kind, id, view) once a match is picked, else None."""
    c1, c2 = st.columns([1, 2])
    query = c1.text_input(t["search"], key="search", placeholder=t["search_hint"])
    hits = find(result, query) if query else []
    if query and not hits:
        c2.caption(t["search_none"])
        return None
    if not hits:
        return None
    labels = {(k, i): label for k, i, label in hits}
    picked = c2.selectbox(
        t["search_pick"],
        [None, *labels],
        format_func=lambda v: "—" if v is None else labels[v],
        key="search_pick",
    )
    if picked is None or picked not in labels:
        return None
    kind, item = picked
    return kind, item, target(result, kind, item, gcj02=gcj02)
