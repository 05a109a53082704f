"""lianpian: the planner's map (Streamlit). Layout and widgets only; the work is done in ``geo``.

Start with ``./dev app`` (binds to 127.0.0.1, see ``.streamlit/config.toml``). Heavy steps are
cached with ``st.cache_data`` keyed on the inputs and the policy; maps are rendered once per plan
and display options and their text kept with ``st.cache_resource`` (``map_component_args``); the
map only reruns the script on a click (``returned_objects``), never on pan or zoom.
"""

from __future__ import annotations

import gc
import hashlib
import os
import shutil
import tempfile
import threading
from dataclasses import asdict
from pathlib import Path

import pandas as pd
import streamlit as st

from geo import io
from geo.core import _memo
from geo.core.errors import InputError, LianpianError
from geo.core.policy import default_policy
from geo.io import tiles
from geo.outputs import export, maps
from geo.pipeline import PlanResult, load_inputs, rescore, run_plan

# the app re-plans the same data after every policy change: reuse what did not change
# (adjacency, walking network, unchanged districts' corridors; geo.core._memo)
_memo.enable()

UI = {
    "zh": {
        "title": "城镇老旧小区连片改造",
        "data": "数据",
        "source": "数据来源",
        "demo": "内置示例（合成数据）",
        "paths": "本机文件路径",
        "upload": "上传文件",
        "demo_note": "示例数据为合成数据，描述的不是真实小区。",
        "estates_path": "小区范围（GeoPackage / Shapefile / GeoJSON）",
        "survey_path": "调查表（CSV / XLSX，可选）",
        "barriers_path": "阻隔要素（河流等，可选，多个用 ; 分隔）",
        "roads_path": "道路（OSM 格式，可选）",
        "boundaries_path": "行政区划（可选，可写 文件::图层）",
        "facilities_path": "养老服务设施（可选）",
        "candidates_path": "养老设施候选用地（可选：闲置用房、地块）",
        "estates_upload": "小区范围：Shapefile（.shp 与 .shx/.dbf/.prj/.cpg 一起选，或压缩为 .zip）、GeoPackage、GeoJSON",
        "survey_upload": "调查表：CSV / XLSX（可选）",
        "barriers_upload": "阻隔要素：河流、铁路等（可选，可多个）",
        "roads_upload": "道路（OSM 格式，可选）",
        "boundaries_upload": "行政区划（可选）",
        "facilities_upload": "养老服务设施（可选）",
        "candidates_upload": "养老设施候选用地（可选）",
        "more_layers": "更多图层（可选）",
        "layer": "{name} 的图层",
        "layer_auto": "自动（第一个面图层）",
        "several": "“{role}”只能上传一个数据集，收到 {n} 个",
        "crs": "坐标系",
        "crs_auto": "文件自带",
        "load": "载入",
        "policy": "政策参数",
        "reset": "恢复默认值",
        "cutoff": "建成年份截止（年底前）",
        "ext_on": "允许延伸纳入",
        "ext_last": "延伸纳入截止年份",
        "consent": "居民同意率门槛",
        "tolerance": "相邻容差（米）",
        "max_hh": "片区户数上限（户）",
        "max_est": "片区小区数上限（个）",
        "weights": "优先度权重",
        "display": "显示",
        "colour_by": "小区着色",
        "by_status": "改造资格",
        "by_priority": "优先度",
        "by_elderly_gap": "养老缺口",
        "no_elderly": "没有养老服务设施数据，无法按养老缺口着色：按改造资格着色。",
        "basemap": "底图",
        "tk": "天地图 tk 密钥（不会保存）",
        "local_tiles": "本地瓦片：{z}/{x}/{y}.png 文件夹或 .mbtiles 文件的路径",
        "plan_year": "五年计划年份",
        "plan_count": "至{year}年计划改造小区",
        "estates": "小区",
        "districts": "片区",
        "hh_in": "片区内户数",
        "invest": "片区估算投资",
        "details": "点击地图上的小区或片区查看详情",
        "members": "片区内小区",
        "table": "片区列表（点选一行定位）",
        "quality": "数据质量说明（{n}条）",
        "download": "下载结果",
        "gpkg": "GeoPackage",
        "xlsx": "Excel 表格",
        "tender": "片区招标资料包（zip）",
        "tender_pick": "片区",
        "running": "正在计算……",
        "step_read": "读取数据",
        "step_plan": "资格判定、相邻关系、片区划分、优先排序",
        "done": "计算完成",
        "error": "无法使用该数据：",
        "kept": "仍显示上一次的数据。",
        "internal": "内部错误（{kind}），请把操作步骤告知维护人员。",
        "elderly": "养老服务设施（5分钟生活圈，{m2} m²/百户）",
        "elderly_without": "未覆盖户数（户）",
        "elderly_gap": "面积缺口（m²）",
        "elderly_sites": "建议共享设施（处）",
        "elderly_site_area": "建议设施面积（m²）",
        "elderly_how": "距离：{distance}；选址：{method}，最优性差距 {gap:.1%}",
        "corridors": "共享管线走廊",
        "corridor_len": "共享走廊长度（km）",
        "corridor_save": "比各自铺设节省长度",
        "corridor_cost": "走廊造价（万元）",
        "corridor_cost_save": "节省造价",
        "unit_hh": "户",
        "unit_wan": "万元",
        "assets": "地图组件未安装：",
    },
    "en": {
        "title": "Contiguous renovation of old residential estates",
        "data": "Data",
        "source": "Data source",
        "demo": "Embedded demo (synthetic)",
        "paths": "Files on this computer",
        "upload": "Upload files",
        "demo_note": "The demo data are synthetic: they describe no real estate.",
        "estates_path": "Estate footprints (GeoPackage / Shapefile / GeoJSON)",
        "survey_path": "Survey table (CSV / XLSX, optional)",
        "barriers_path": "Barriers (rivers..., optional, several separated by ;)",
        "roads_path": "Roads (OSM schema, optional)",
        "boundaries_path": "Administrative units (optional, FILE::LAYER allowed)",
        "facilities_path": "Elderly-care facilities (optional)",
        "candidates_path": "Candidate sites for elderly care (optional: vacant rooms, parcels)",
        "estates_upload": "Estates: Shapefile (.shp with its .shx/.dbf/.prj/.cpg, or zipped), GeoPackage, GeoJSON",
        "survey_upload": "Survey: CSV / XLSX (optional)",
        "barriers_upload": "Barriers: rivers, railways... (optional, several allowed)",
        "roads_upload": "Roads (OSM schema, optional)",
        "boundaries_upload": "Administrative units (optional)",
        "facilities_upload": "Elderly-care facilities (optional)",
        "candidates_upload": "Candidate sites for elderly care (optional)",
        "more_layers": "More layers (optional)",
        "layer": "Layer of {name}",
        "layer_auto": "automatic (first polygon layer)",
        "several": "only one dataset can be uploaded as {role}; got {n}",
        "crs": "Coordinate system",
        "crs_auto": "as in the file",
        "load": "Load",
        "policy": "Policy",
        "reset": "Reset to defaults",
        "cutoff": "Built by the end of",
        "ext_on": "Allow the extension",
        "ext_last": "Extension: built by the end of",
        "consent": "Consent threshold",
        "tolerance": "Adjacency tolerance (m)",
        "max_hh": "District cap (households)",
        "max_est": "District cap (estates)",
        "weights": "Priority weights",
        "display": "Display",
        "colour_by": "Colour estates by",
        "by_status": "eligibility status",
        "by_priority": "priority",
        "by_elderly_gap": "elderly-care gap",
        "no_elderly": "No elderly-care facilities were given: coloured by eligibility instead.",
        "basemap": "Basemap",
        "tk": "Tianditu tk key (never stored)",
        "local_tiles": "Local tiles: path of a {z}/{x}/{y}.png folder or an .mbtiles file",
        "plan_year": "Five-year plan year",
        "plan_count": "Estates planned up to {year}",
        "estates": "Estates",
        "districts": "Districts",
        "hh_in": "Households in districts",
        "invest": "Investment in districts",
        "details": "Click an estate or district on the map for its details",
        "members": "Estates of the district",
        "table": "Districts (select a row to zoom to it)",
        "quality": "Data-quality notes ({n})",
        "download": "Download the results",
        "gpkg": "GeoPackage",
        "xlsx": "Excel workbook",
        "tender": "District tender package (zip)",
        "tender_pick": "District",
        "running": "Planning...",
        "step_read": "reading the data",
        "step_plan": "eligibility, adjacency, districts, priority",
        "done": "Done",
        "error": "Cannot use these data: ",
        "kept": "The previous data are still shown.",
        "internal": "Internal error ({kind}); please tell the maintainers what you did.",
        "elderly": "Elderly care (5-minute life circle, {m2} m² per 100 households)",
        "elderly_without": "Households not covered",
        "elderly_gap": "Floor-area gap (m²)",
        "elderly_sites": "Shared sites proposed",
        "elderly_site_area": "Floor area of the sites (m²)",
        "elderly_how": "Distance: {distance}; siting: {method}, optimality gap {gap:.1%}",
        "corridors": "Shared pipeline corridors",
        "corridor_len": "Shared corridors (km)",
        "corridor_save": "Length saved vs separate",
        "corridor_cost": "Corridor cost (10k yuan)",
        "corridor_cost_save": "Cost saved",
        "unit_hh": "households",
        "unit_wan": "10k yuan",
        "assets": "Map components missing: ",
    },
}
BASEMAP_LABELS = {
    "osm": "OpenStreetMap",
    "light": "CARTO light / 浅色",
    "tianditu": "天地图 Tianditu",
    "amap": "高德 AMap (GCJ-02)",
    "local": "本地瓦片 / local tiles (offline)",
    "none": "无底图 / none (offline)",
}
#: Start on files instead of the demo: LIANPIAN_APP_ESTATES, _SURVEY, _BARRIERS (; separated),
#: _ROADS, _BOUNDARIES, _FACILITIES, _CANDIDATES (paths, as in the sidebar); LIANPIAN_APP_TILES
#: starts on the local basemap (a tile folder or .mbtiles file, see geo.io.tiles).
ENV_PREFIX = "LIANPIAN_APP_"
#: The path fields of the sidebar, in :func:`paths_spec`'s order (and the ``LIANPIAN_APP_*`` names).
PATH_ROLES = ("estates", "survey", "barriers", "roads", "boundaries", "facilities", "candidates")
CRS_CHOICES = ("", "EPSG:4490", "EPSG:4326", "gcj02", "bd09", "EPSG:4549", "EPSG:4547")
# (policy key, widget kind, label key, min, max, step)
POLICY_WIDGETS = (
    ("eligibility.cutoff_year", "int", "cutoff", 1980, 2010, 1),
    ("eligibility.extension_enabled", "bool", "ext_on", None, None, None),
    ("eligibility.extension_last_year", "int", "ext_last", 1990, 2015, 1),
    ("eligibility.consent_threshold", "float", "consent", 0.5, 1.0, 0.05),
    ("adjacency.tolerance_m", "float", "tolerance", 0.0, 100.0, 5.0),
    ("districts.max_households", "int", "max_hh", 200, 20000, 100),
    ("districts.max_estates", "int", "max_est", 2, 60, 1),
)
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
WEIGHTS = ("age", "needs", "consent", "elderly", "size", "contiguity", "readiness")


@st.cache_resource(show_spinner=False)
def _freeze_imported_objects() -> bool:
    """Leave the objects of the imported libraries out of Python's full garbage collections.

    A full collection walks every tracked object; after the imports (Streamlit, pandas, folium...)
    they are about 150,000 that live as long as the app, and a rerun that builds a new plan or map
    ran one or two such walks (0.1-0.15 s each on the Hangzhou set). Done once per process, on
    the first run before any data is loaded (a resource: not on every rerun; and never again
    once something is frozen, even after the caches are cleared); later objects are collected as
    usual.
    """
    if gc.get_freeze_count() == 0:
        gc.collect()
        gc.freeze()
    return True


def policy_defaults() -> dict[str, object]:
    """Return the sidebar's policy values of the default policy file."""
    policy = default_policy().to_dict()
    keys = [k for k, *_ in POLICY_WIDGETS] + [f"priority.weight_{w}" for w in WEIGHTS]
    return {k: policy[k.split(".")[0]][k.split(".")[1]] for k in keys}


def _load(spec: tuple[tuple[str, object], ...]):
    """Load the inputs described by ``spec`` (its ``_stamp`` only keys the cache)."""
    return load_inputs(**{k: v for k, v in spec if k != "_stamp"})


@st.cache_data(show_spinner=False, max_entries=8)
def cached_inputs(spec: tuple[tuple[str, object], ...]):
    """Load the inputs described by ``spec`` (paths and CRS; file sizes and times in the key)."""
    return _load(spec)


@st.cache_data(show_spinner=False, max_entries=8)
def cached_base_plan(spec: tuple, base_items: tuple) -> PlanResult:
    """Run the plan for the inputs ``spec`` and the policy values other than priority weights.

    No Streamlit call inside (cached functions must not write to blocks made outside them);
    progress is shown by the caller between the cached steps.
    """
    policy = default_policy().with_values(dict(base_items))
    return run_plan(cached_inputs(spec), policy)


@st.cache_data(show_spinner=False, max_entries=16)
def cached_rescored_plan(spec: tuple, policy_items: tuple) -> PlanResult:
    """The plan of the other policy values re-scored with the priority weights of ``policy_items``."""
    base = cached_base_plan(spec, _base_items(policy_items))
    return rescore(base, default_policy().with_values(dict(policy_items)))


def _base_items(policy_items: tuple) -> tuple:
    """``policy_items`` with the default priority weights."""
    defaults = policy_defaults()
    return tuple(
        sorted((k, defaults[k] if k.startswith("priority.weight_") else v) for k, v in policy_items)
    )


def cached_plan(spec: tuple, policy_items: tuple) -> PlanResult:
    """The plan for ``spec`` and the policy values (cached on both).

    Priority weights change no district: a weight change only re-scores the cached plan of the
    other values (``geo.pipeline.rescore``), so the sliders answer at once. With the default
    weights the plan is the base plan itself (cached once, not twice).
    """
    base_items = _base_items(policy_items)
    if base_items == policy_items:
        return cached_base_plan(spec, base_items)
    return cached_rescored_plan(spec, policy_items)


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
    spec: tuple, policy_items: tuple, options_items: tuple, _result: PlanResult
) -> dict:
    """The arguments ``st_folium`` sends for the map of a plan and display options, rendered once.

    The folium map is built, given to ``st_folium`` once with the component call recorded (nothing
    is drawn here), and dropped: each rerun sends the same recorded text (see :func:`show_map`),
    so a rerun that changes nothing on the map, or comes back to a map seen before, renders
    nothing. The map's size on the page (height, container width) and what the browser returns
    (only a clicked feature: pan and zoom never rerun the script) are fixed here. ``_result`` is
    ``cached_plan(spec, policy_items)``, already at hand (not part of the key).
    """
    fmap = maps.build_map(_result, maps.MapOptions(**dict(options_items)))
    switch = _capture()
    switch.active, switch.kwargs = True, None
    try:
        _folium().st_folium(fmap, **MAP_ARGS)
        kwargs = switch.kwargs
    finally:
        switch.active, switch.kwargs = False, None
    if kwargs is None:
        raise RuntimeError("streamlit_folium did not call its component")
    return kwargs


def show_map(args: dict, center: list[float] | None, zoom: int | None) -> dict | None:
    """Send a map rendered by :func:`map_component_args`, centred and zoomed as asked."""
    return _folium()._component_func(**{**args, "center": center, "zoom": zoom})


def _folium():
    """``streamlit_folium``, imported by the page's script, never at this module's import.

    A custom component registers with the running Streamlit runtime when its module is first
    imported; ``serve.py`` imports this module in a thread outside any page, where that
    registration would be lost (the map's frame would be answered 404).
    """
    import streamlit_folium

    return streamlit_folium


@st.cache_data(show_spinner=False, max_entries=8)
def cached_download(spec: tuple, policy_items: tuple, kind: str) -> bytes:
    """The results as GeoPackage or XLSX bytes (written by geo.io to a temporary file)."""
    result = cached_plan(spec, policy_items)
    with tempfile.TemporaryDirectory(prefix="lianpian-dl-") as folder:
        target = Path(folder) / f"lianpian.{kind}"
        if kind == "gpkg":
            io.write_layers(target, result.layers())
        else:
            io.write_xlsx(target, {k: v for k, v in result.layers().items() if k != "adjacency"})
        return target.read_bytes()


@st.cache_data(show_spinner=False, max_entries=8)
def cached_tender(spec: tuple, policy_items: tuple, district_id: str) -> bytes:
    """One district's tender package (GeoPackage, Shapefile, DXF, XLSX, KML, PNG, manifest) as zip."""
    result = cached_plan(spec, policy_items)
    return export.package_zip_bytes(export.PlanLayers.from_result(result), [district_id])


@st.cache_resource(show_spinner=False, max_entries=4)
def local_tile_server(path: str) -> tiles.TileServer:
    """One loopback server per tile folder or MBTiles file, for the life of the app."""
    return tiles.serve_tiles(tiles.TileSource.open(path))


def _stamp(paths: list[str]) -> tuple:
    out = []
    for p in paths:
        path = Path(p.split("::")[0])
        if path.exists():
            stat = path.stat()
            out.append((str(path), stat.st_size, stat.st_mtime_ns))
    return tuple(out)


def _upload_dir() -> Path:
    if "upload_dir" not in st.session_state:
        st.session_state.upload_dir = tempfile.mkdtemp(prefix="lianpian-upload-")
    return Path(st.session_state.upload_dir)


def _stage(uploaded: list) -> list[str]:
    """Save one uploader's files under a folder named by their content; return the datasets.

    The files go through ``geo.io.stage_uploads`` (names, types, sizes, archives checked); the
    same files uploaded again are not staged twice.
    """
    files = [(f.name, f.getvalue()) for f in uploaded]
    digest = hashlib.sha256()
    for name, data in files:
        digest.update(name.encode("utf-8", "replace") + b"\0" + hashlib.sha256(data).digest())
    folder = _upload_dir() / digest.hexdigest()[:16]
    staged = st.session_state.setdefault("staged", {})
    if folder.name in staged:
        return staged[folder.name]
    if folder.exists():  # a previous attempt that failed part-way
        shutil.rmtree(folder)
    folder.mkdir()
    try:
        paths = [str(p) for p in io.stage_uploads(files, folder)]
    except Exception:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    staged[folder.name] = paths
    return paths


@st.cache_data(show_spinner=False, max_entries=64)
def cached_layer_names(path: str) -> list[str]:
    """The layers of a staged upload (its folder is named by its content: never changes)."""
    return io.layer_names(path)


#: Upload roles: (input of load_inputs, label key, file types, several datasets allowed).
VECTOR_TYPES = ["zip", "gpkg", "geojson", "json", "fgb", "shp", "shx", "dbf", "prj", "cpg"]
UPLOADS = (
    ("estates", "estates_upload", VECTOR_TYPES, False),
    ("survey", "survey_upload", ["csv", "tsv", "xlsx"], False),
    ("barriers", "barriers_upload", VECTOR_TYPES, True),
    ("roads", "roads_upload", VECTOR_TYPES, False),
    ("boundaries", "boundaries_upload", VECTOR_TYPES, False),
    ("facilities", "facilities_upload", VECTOR_TYPES, False),
    ("candidate_sites", "candidates_upload", VECTOR_TYPES, False),
)


def _uploaded_paths(t: dict[str, str], role: str, label: str, types: list, several: bool):
    """One uploader (and its layer choice); return the dataset paths (``FILE::LAYER``)."""
    # No ``type=`` filter: Streamlit would refuse other types with an opaque app error; the
    # types are checked by geo.io.stage_uploads, which says what to upload instead.
    uploaded = st.file_uploader(
        t[label], accept_multiple_files=True, key=f"u_{role}", help=f".{', .'.join(types)}"
    )
    if not uploaded:
        return []
    paths = _stage(uploaded)
    if len(paths) > 1 and not several:
        raise InputError(
            t["several"].format(role=t[label].split("：")[0].split(":")[0], n=len(paths)),
            source=", ".join(Path(p).name for p in paths),
            fix="upload one dataset (a Shapefile's parts count as one)",
        )
    chosen = []
    for i, path in enumerate(paths):
        layers = cached_layer_names(path) if Path(path).suffix.lower() == ".gpkg" else []
        layer = None
        if len(layers) > 1:
            layer = st.selectbox(
                t["layer"].format(name=Path(path).name),
                [None, *layers],
                format_func=lambda x: t["layer_auto"] if x is None else x,
                key=f"u_{role}_layer_{i}",
            )
        chosen.append(f"{path}::{layer}" if layer else path)
    return chosen


def paths_spec(
    estates: str,
    survey: str,
    barriers: str,
    roads: str,
    boundaries: str,
    facilities: str,
    candidates: str,
    source_crs: str | None,
) -> tuple:
    """The input spec of files on disk (``barriers``: paths separated by ``;``; "" = none)."""
    barrier_list = tuple(b.strip() for b in barriers.split(";") if b.strip())
    files = [estates, survey, roads, boundaries, facilities, candidates, *barrier_list]
    return (
        ("estates", estates),
        ("survey", survey or None),
        ("barriers", barrier_list),
        ("roads", roads or None),
        ("boundaries", boundaries or None),
        ("facilities", facilities or None),
        ("candidate_sites", candidates or None),
        ("source_crs", source_crs),
        ("_stamp", _stamp([f for f in files if f])),
    )


def start_paths() -> dict[str, str]:
    """The path fields a new page starts with: ``LIANPIAN_APP_<ROLE>`` ("" when unset)."""
    return {name: os.environ.get(f"{ENV_PREFIX}{name.upper()}", "").strip() for name in PATH_ROLES}


def start_spec() -> tuple:
    """The input spec a new page starts on: the files of ``LIANPIAN_APP_*``, else the demo."""
    paths = start_paths()
    if not paths["estates"]:
        return (("estates", None),)
    return paths_spec(*paths.values(), None)


def warm_up() -> None:
    """Read and plan the start data with the default policy, ahead of the first visit.

    ``serve.py`` calls it in a thread when the server starts, so the first page finds the
    libraries imported and the content-keyed memos (``geo.core._memo``: adjacency, walking network,
    corridors, display geometry) filled, and plans in a fraction of the time. Streamlit's own
    caches belong to the page's script and stay empty until the first visit.
    """
    result = run_plan(_load(start_spec()), default_policy())
    maps.build_map(result, maps.MapOptions())


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
            estates, survey, barriers, roads, boundaries, facilities, candidates, crs or None
        )
    requested: dict[str, list[str]] = {}
    errors: list[LianpianError] = []

    def uploader(role: str, label: str, types: list, several: bool) -> None:
        try:
            requested[role] = _uploaded_paths(t, role, label, types, several)
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
    )


def _reset_policy() -> None:
    for key, value in policy_defaults().items():
        st.session_state[f"pol.{key}"] = value


def policy_sidebar(t: dict[str, str]) -> tuple:
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
    with st.sidebar.expander(t["weights"]):
        for w in WEIGHTS:
            key = f"priority.weight_{w}"
            values[key] = float(
                st.slider(w, min_value=0.0, max_value=1.0, step=0.05, key=f"pol.{key}")
            )
    if values["eligibility.extension_last_year"] < values["eligibility.cutoff_year"]:
        values["eligibility.extension_last_year"] = values["eligibility.cutoff_year"]
    return tuple(sorted(values.items()))


def show_error(t: dict[str, str], exc: BaseException) -> None:
    """One clear line, never a traceback."""
    if isinstance(exc, maps.MapAssetsError):
        st.error(t["assets"] + str(exc))
    elif isinstance(exc, LianpianError):
        text = exc.one_line() if hasattr(exc, "one_line") else str(exc)
        st.error(t["error"] + text + " " + t["kept"])
    else:
        st.error(t["internal"].format(kind=type(exc).__name__))


def load_and_plan(t: dict[str, str], requested: tuple | None, policy_items: tuple):
    """Plan the requested data; on bad input keep the previous data and say why."""
    previous = st.session_state.get("spec", (("estates", None),))
    planned = st.session_state.setdefault("planned", set())
    for spec in ([requested] if requested is not None else []) + [previous]:
        try:
            if (spec, policy_items) in planned:  # in the cache: no progress to show
                result = cached_plan(spec, policy_items)
            else:
                with st.status(t["running"], expanded=False) as status:
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


def summary_metrics(t: dict[str, str], s: dict[str, object], lang: str) -> None:
    """Counts by status, districts, households and investment in districts."""
    by_status = s["by_status"]
    cols = st.columns(len(by_status))
    for col, (status, count) in zip(cols, by_status.items(), strict=False):
        label = maps.status_label(status, lang).split("（")[0].split(" (")[0]
        col.metric(label, f"{count}", help=maps.status_label(status, lang))
    cols = st.columns(3)
    cols[0].metric(t["districts"], f"{s['districts']}")
    cols[1].metric(f"{t['hh_in']}（{t['unit_hh']}）", f"{s['households_in_districts']:,}")
    cols[2].metric(
        f"{t['invest']}（{t['unit_wan']}）", f"{s['investment_in_districts_yuan'] / 1e4:,.0f}"
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
        st.caption(
            t["elderly_how"].format(
                distance=s["elderly_distance"],
                method=s["elderly_siting_method"] or "-",
                gap=s["elderly_siting_gap"],
            )
        )
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


def districts_table(t: dict[str, str], result: PlanResult) -> pd.DataFrame:
    """Sortable districts table; return the selected rows."""
    table = pd.DataFrame(result.districts.drop(columns="geometry"))
    columns = [
        c
        for c in (
            "priority_rank",
            "district_id",
            "county",
            "estates",
            "households",
            "floor_area_m2",
            "build_year_min",
            "build_year_max",
            "investment_yuan",
            "priority_score",
        )
        if c in table
    ]
    table = table[columns].sort_values("priority_rank") if len(table) else table[columns]
    event = st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="single-row",
        key="districts_table",
    )
    rows = event.selection.rows if event is not None else []
    return table.iloc[rows]


def details(t: dict[str, str], result: PlanResult, clicked: dict | None) -> None:
    """Details of the clicked estate or district (values shown as text by st.dataframe)."""
    props = (clicked or {}).get("properties") or {}
    estates = result.estates
    if props.get("district_id") and "name" not in props:
        district = result.districts.loc[result.districts["district_id"] == props["district_id"]]
        if len(district):
            row = district.iloc[0]
            st.subheader(f"{t['districts']} {row['district_id']}")
            st.dataframe(pd.DataFrame(row.drop("geometry")).astype(str), width="stretch")
            members = estates.loc[estates["district_id"] == row["district_id"]]
            st.caption(t["members"])
            st.dataframe(
                pd.DataFrame(members[["estate_id", "name", "build_year", "households", "status"]]),
                hide_index=True,
            )
            return
    estate_id = props.get("estate_id")
    if estate_id:
        import html

        match = estates.loc[estates["estate_id"] == html.unescape(str(estate_id))]
        if len(match):
            row = match.iloc[0].drop("geometry")
            st.subheader(str(row["name"]) if pd.notna(row["name"]) else str(row["estate_id"]))
            st.dataframe(pd.DataFrame({"value": row.astype(str)}), width="stretch")
            return
    st.caption(t["details"])


def display_sidebar(t: dict[str, str]) -> dict[str, object]:
    """Colour and basemap widgets; return the matching ``maps.MapOptions`` fields.

    Tianditu without a key and local tiles that cannot be opened fall back to no basemap.
    """
    st.sidebar.header(t["display"])
    colour_by = st.sidebar.radio(
        t["colour_by"],
        ("status", "priority", "elderly_gap"),
        format_func=lambda c: t[f"by_{c}"],
        horizontal=True,
        key="colour_by",
    )
    if "basemap" not in st.session_state and os.environ.get(f"{ENV_PREFIX}TILES"):
        st.session_state.basemap = "local"  # an office's own tiles, set once in its start script
        st.session_state.local_tiles = os.environ[f"{ENV_PREFIX}TILES"]
    basemap = st.sidebar.selectbox(
        t["basemap"], maps.BASEMAPS, format_func=BASEMAP_LABELS.get, key="basemap"
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


def main() -> None:
    """Lay out the page."""
    st.set_page_config(page_title="lianpian 连片改造", layout="wide")
    _freeze_imported_objects()
    lang = st.sidebar.radio(
        "语言 / Language", ("zh", "en"), format_func=lambda x: "中文" if x == "zh" else "English"
    )
    t = UI[lang]
    st.title(t["title"])
    requested = data_sidebar(t)  # bad uploads are shown there; the previous data stay
    policy_items = policy_sidebar(t)
    display_choices = display_sidebar(t)

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


if __name__ == "__main__":  # Streamlit runs the page as __main__; serve.py imports warm_up
    main()
