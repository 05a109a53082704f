"""The app's data and plan: start data, input specs, cached reading, planning and downloads.

Holds the session-independent caches (``st.cache_data`` keyed on the input spec and the policy
values; file sizes and times in the spec), the policy widgets' table, the start data of
``LIANPIAN_APP_*`` and :func:`warm_up` (``serve.py``'s head start). May import geo.core, geo.io,
geo.pipeline, geo.outputs and streamlit (caches only: no widget is drawn here).
"""

from __future__ import annotations

import dataclasses
import gc
import os
import socket
import tempfile
import threading
from pathlib import Path

import streamlit as st

from geo import io, pipeline
from geo.core import _memo
from geo.core.errors import QualityReport
from geo.core.policy import default_policy
from geo.io import tiles
from geo.outputs import export, maps
from geo.pipeline import PlanResult

# the app re-plans the same data after every policy change: reuse what did not change
# (adjacency, walking network, unchanged districts' corridors; geo.core._memo)
_memo.enable()


#: Start on files instead of the demo: LIANPIAN_APP_ESTATES, _SURVEY, _BARRIERS (; separated),
#: _ROADS, _BOUNDARIES, _FACILITIES, _CANDIDATES (paths, as in the sidebar); LIANPIAN_APP_TILES
#: starts on the local basemap (a tile folder or .mbtiles file, see geo.io.tiles).
ENV_PREFIX = "LIANPIAN_APP_"


#: The path fields of the sidebar, in :func:`paths_spec`'s order (and the ``LIANPIAN_APP_*`` names).
PATH_ROLES = ("estates", "survey", "barriers", "roads", "boundaries", "facilities", "candidates")


CRS_CHOICES = ("", "EPSG:4490", "EPSG:4326", "gcj02", "bd09", "EPSG:4549", "EPSG:4547")

#: The survey table's point systems (``load_inputs(survey_crs=...)``, as ``--survey-crs``); ""
#: declares none (read as WGS-84, then checked against the footprints: a warning names the likely
#: system, geo.planning.survey_points.check_point_system).
SURVEY_CRS_CHOICES = ("", "wgs84", "gcj02", "bd09")


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


WEIGHTS = ("age", "needs", "consent", "elderly", "size", "contiguity", "readiness")


@st.cache_resource(show_spinner=False)
def freeze_imported_objects() -> bool:
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
    return pipeline.load_inputs(**{k: v for k, v in spec if k != "_stamp"})


# The inputs and plans are kept as objects (st.cache_resource), not pickled (st.cache_data): a
# cache_data hit unpickles the whole plan on every rerun of every page (3.2 s for a 50,000-estate
# plan of 174 MB pickled, 0.05 s at Hangzhou's 2,112) and a miss pickles it (2.5 s at 50,000).
# Nothing changes a kept object: the page gets its own shallow copy of a plan (own_copy) to
# attach a five-year plan to, and the planning steps never change their inputs. Fewer entries
# than the pickled caches had: the objects are several times their pickle in memory.
@st.cache_resource(show_spinner=False, max_entries=4)
def cached_inputs(spec: tuple[tuple[str, object], ...]):
    """Load the inputs described by ``spec`` (paths and CRS; file sizes and times in the key).

    The start data are those the server's head start read (:func:`warm_up`): taken from it.
    """
    inputs = _HEAD_START.take("inputs", spec, default_policy())
    return inputs if inputs is not None else _load(spec)


@st.cache_resource(show_spinner=False, max_entries=4)
def cached_base_plan(spec: tuple, base_items: tuple) -> PlanResult:
    """Run the plan for the inputs ``spec`` and the policy values other than priority weights.

    No Streamlit call inside (cached functions must not write to blocks made outside them);
    progress is shown by the caller between the cached steps.
    """
    policy = default_policy().with_values(dict(base_items))
    result = _HEAD_START.take("result", spec, policy)  # the start data's plan, made at start
    return result if result is not None else pipeline.run_plan(cached_inputs(spec), policy)


@st.cache_resource(show_spinner=False, max_entries=8)
def cached_rescored_plan(spec: tuple, policy_items: tuple) -> PlanResult:
    """The plan of the other policy values re-scored with the priority weights of ``policy_items``."""
    base = cached_base_plan(spec, _base_items(policy_items))
    return pipeline.rescore(base, default_policy().with_values(dict(policy_items)))


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
        return own_copy(cached_base_plan(spec, base_items))
    return own_copy(cached_rescored_plan(spec, policy_items))


def own_copy(result: PlanResult) -> PlanResult:
    """A shallow copy of a kept plan that a page run may change without changing the kept one.

    The page replaces layers (``attach_plan`` sets ``estates`` and ``extra_layers`` entries) and
    adds quality notes; its own frames (``DataFrame.copy(deep=False)``: no data copied), layer
    dictionary and quality list take those changes. The values are shared until written: pandas
    (3.x) copies a column on write, so even a value changed in place stays in the copy.
    """
    return dataclasses.replace(
        result,
        estates=result.estates.copy(deep=False),
        districts=result.districts.copy(deep=False),
        adjacency=result.adjacency.copy(deep=False),
        quality=QualityReport(list(result.quality.issues)),
        extra_layers=dict(result.extra_layers),
    )


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
def cached_tender(
    spec: tuple, policy_items: tuple, district_id: str, encoding: str = "utf-8"
) -> bytes:
    """One district's tender package (GeoPackage, Shapefile, DXF, XLSX, KML, PNG, manifest) as zip.

    ``encoding``: the Shapefiles' text encoding, ``utf-8`` or ``gbk``.
    """
    result = cached_plan(spec, policy_items)
    return export.package_zip_bytes(
        export.PlanLayers.from_result(result),
        [district_id],
        options=export.PackageOptions(encoding=encoding),
    )


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


def paths_spec(
    estates: str,
    survey: str,
    barriers: str,
    roads: str,
    boundaries: str,
    facilities: str,
    candidates: str,
    source_crs: str | None,
    survey_crs: str | None = None,
) -> tuple:
    """The input spec of files on disk (``barriers``: paths separated by ``;``; "" = none).

    ``survey_crs``: the survey table's point system (:data:`SURVEY_CRS_CHOICES`; None: not
    declared); part of the spec, so a change re-reads the inputs.
    """
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
        ("survey_crs", survey_crs or None),
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


class _HeadStart:
    """The start data's inputs and plan as :func:`warm_up` made them, handed to the first page.

    The first visit often comes while the head start is still reading or planning (the server
    answers at once). Its cached steps then wait for the head start's results instead of reading
    and planning the same files again beside it on the same cores (the first visit took as long
    as both together). Only the start spec with the default policy is handed over, each object
    once (the page's cache keeps it from there; the page may change the plan it holds in place).
    """

    def __init__(self) -> None:
        self.spec: tuple | None = None
        self.inputs = None
        self.result: PlanResult | None = None
        self.done = threading.Event()
        self.lock = threading.Lock()

    def begin(self, spec: tuple) -> None:
        self.spec, self.inputs, self.result = spec, None, None
        self.done.clear()

    def take(self, part: str, spec: tuple, policy) -> object | None:
        """The head start's ``"inputs"`` or ``"result"`` for ``spec`` and ``policy``, once.

        None when they are not the head start's, it failed, or it is still running after
        :data:`HEAD_START_WAIT_S` (the page then does the work itself).
        """
        if self.spec is None or spec != self.spec or policy != default_policy():
            return None
        self.done.wait(HEAD_START_WAIT_S)
        with self.lock:
            value = getattr(self, part)
            setattr(self, part, None)
        return value


#: The longest a first page waits for the head start's plan before planning itself (s).
HEAD_START_WAIT_S = 600.0
_HEAD_START = _HeadStart()


def warm_up() -> None:
    """Read and plan the start data with the default policy, ahead of the first visit.

    ``serve.py`` calls it in a thread when the server starts, so the first page finds the
    libraries imported and the content-keyed memos (``geo.core._memo``: adjacency, walking network,
    corridors, display geometry) filled. The page's cached reading and planning of the start
    data take the head start's inputs and plan (:class:`_HeadStart`; waiting for them if the
    page is early) instead of doing the same work again.
    """
    spec = start_spec()
    _HEAD_START.begin(spec)
    try:
        inputs = _load(spec)
        result = pipeline.run_plan(inputs, default_policy())
        maps.build_map(result, maps.MapOptions())
        _HEAD_START.inputs, _HEAD_START.result = inputs, result
    finally:
        _HEAD_START.done.set()
    osm_reachable()  # the default basemap's server, asked once ahead of the page


#: Words that mark an input file as made up (as the tender package's README flags them,
#: geo.outputs.export).
ILLUSTRATIVE_WORDS = ("illustrative", "synthetic", "demo")


def illustrative_inputs(result: PlanResult) -> list[str]:
    """The file names of the plan's inputs that are illustrative (name says so), in input order."""
    names = []
    for item in result.inputs.sources.values():
        for part in str(item).split(";"):
            name = Path(part.strip().split("::")[0]).name
            if name and any(w in name.lower() for w in ILLUSTRATIVE_WORDS):
                names.append(name)
    return list(dict.fromkeys(names))


#: Host and port the OpenStreetMap basemap's tiles come from.
OSM_TILE_HOST = ("tile.openstreetmap.org", 443)


@st.cache_data(show_spinner=False, ttl=300)
def osm_reachable(timeout_s: float = 2.0) -> bool:
    """Whether this machine reaches the OpenStreetMap tile server (checked at most every 5 min).

    The app runs on the planner's machine (127.0.0.1), so the server's view is the browser's. A
    name lookup that hangs counts as unreachable after ``timeout_s``.
    """
    answer: list[bool] = []

    def attempt() -> None:
        try:
            with socket.create_connection(OSM_TILE_HOST, timeout=timeout_s):
                answer.append(True)
        except OSError:
            answer.append(False)

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(timeout_s + 0.5)
    return bool(answer and answer[0])
