"""The 导出 (exports) tab: the plan as GeoPackage / workbook, tender packages as one zip.

Tender packages for one, several or all districts are built on a button press with a progress
bar (``geo.outputs.export.export_packages``' progress callback) and offered as one zip. May import
geo.app.state, geo.outputs.export, geo.pipeline and streamlit.
"""

from __future__ import annotations

import io
import zipfile

import streamlit as st

from geo.app.state import cached_download, cached_tender
from geo.outputs import export
from geo.outputs.shapefile import SHAPEFILE_ENCODINGS
from geo.pipeline import PlanResult


def tender_zip(
    result: PlanResult, district_ids: list[str], progress=None, encoding: str = "utf-8"
) -> bytes:
    """One zip with the tender packages of ``district_ids`` (nothing left on disk).

    ``progress(fraction, message)`` is called as each district's package is done; ``encoding``
    is the Shapefiles' (``utf-8`` or ``gbk``, :data:`geo.outputs.shapefile.SHAPEFILE_ENCODINGS`).
    As :func:`geo.outputs.export.package_zip_bytes`: several districts come with the index.
    """
    return export.package_zip_bytes(
        export.PlanLayers.from_result(result),
        district_ids,
        options=export.PackageOptions(encoding=encoding),
        progress=progress,
    )


def district_png(spec: tuple, policy_items: tuple, district_id: str) -> bytes:
    """The district drawing of its tender package (PNG, no network tiles), for reports."""
    data = cached_tender(spec, policy_items, district_id)  # the PNG does not depend on encoding
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        name = next(n for n in zf.namelist() if n.lower().endswith(".png"))
        return zf.read(name)


def exports_tab(t: dict[str, str], spec: tuple, policy_items: tuple, result: PlanResult) -> None:
    """Downloads: the results, one district's package, and several or all districts as one zip."""
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
    if not len(result.districts):
        return
    # UTF-8 for QGIS and ArcGIS Pro; GBK for ArcMap 10.x and CAD-side tools that ignore .cpg
    encoding = st.radio(
        t["shp_encoding"],
        list(SHAPEFILE_ENCODINGS),
        format_func=lambda e: t[f"shp_encoding_{e.replace('-', '')}"],
        horizontal=True,
        key="shp_encoding",
    )
    ids = [str(i) for i in result.districts.sort_values("priority_rank")["district_id"]]
    picked = c3.selectbox(t["tender_pick"], ids, key="tender_district")
    c3.download_button(
        t["tender"],
        data=lambda: cached_tender(spec, policy_items, str(picked), encoding),
        file_name=f"lianpian_{picked}.zip",
        mime="application/zip",
    )
    st.markdown(f"**{t['tender_many']}**")
    chosen = st.multiselect(t["tender_many_pick"], ids, key="tender_many", placeholder=t["choose"])
    label = t["tender_build"].format(n=len(chosen) or len(ids))
    if st.button(label, key="tender_build"):
        bar = st.progress(0.0, text=t["tender_building"])

        def progress(fraction: float, message: str) -> None:
            bar.progress(min(max(fraction, 0.0), 1.0), text=t["tender_building"])

        data = tender_zip(result, chosen or ids, progress, encoding)
        bar.progress(1.0, text=t["done"])
        key = (spec, policy_items, tuple(chosen or ids), encoding)
        st.session_state["_tender_zip"] = (key, data)
    built = st.session_state.get("_tender_zip")
    if built is not None and (built[0][:2], built[0][3]) == ((spec, policy_items), encoding):
        st.download_button(
            t["tender_many_download"].format(n=len(built[0][2])),
            data=built[1],
            file_name="lianpian_tender_packages.zip",
            mime="application/zip",
            key="tender_many_download",
        )
