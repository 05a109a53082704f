"""Reading a run's inputs: :func:`load_inputs` (through :mod:`geo.io`) and the plan tables.

May import: geo.core, geo.io, geo.fiveyear (to parse plan tables), :mod:`geo.pipeline.result`,
:mod:`geo.pipeline.offsets`.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import ParamSpec, TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from geo import io
from geo.core._machine import alongside, without_collector
from geo.core.crs import CHINESE_OBFUSCATED
from geo.core.errors import QualityReport
from geo.core.extent import NEAR_MARGIN_M, boxes_in
from geo.core.messages import msg
from geo.core.policy import Policy
from geo.core.reproject import to_crs
from geo.core.schema import ESTATE_COLUMNS
from geo.fiveyear.matching import parse_overrides
from geo.fiveyear.plan_table import parse_plan_table
from geo.pipeline.offsets import ReferenceOffsets, check_reference_offset
from geo.pipeline.result import (
    DEMO_BOUNDARIES,
    DEMO_ESTATES,
    PlanInputs,
)
from geo.planning.adjacency import BlockingAreas, meets_any
from geo.planning.survey_points import attach_points, check_point_system

P = ParamSpec("P")
R = TypeVar("R")


def _warnings_kept(func: Callable[P, R]) -> Callable[P, R]:
    """``func`` with the :mod:`warnings` module's filters and handler as they were on return.

    Python's :class:`warnings.catch_warnings` (before 3.14) changes the process's state and
    puts back what it found on leaving: two threads whose blocks overlap (shapely's validity in
    the threads reading a layer, a reader's block beside another's) can leave a filter of one
    in place, for any later warning (issue 20). Threads overlap only inside :func:`load_inputs`,
    which waits for them, so putting the state back there bounds any mix-up to the reading.
    """

    @functools.wraps(func)
    def kept(*args: P.args, **kwargs: P.kwargs) -> R:
        with warnings.catch_warnings():  # records nothing: leaving puts the state back
            return func(*args, **kwargs)

    return kept


@without_collector  # see the docstring's Notes
@_warnings_kept
def load_inputs(
    estates: str | Path | None = None,
    *,
    survey: str | Path | None = None,
    barriers: Sequence[str | Path] = (),
    roads: str | Path | None = None,
    boundaries: str | Path | None = None,
    facilities: str | Path | None = None,
    candidate_sites: str | Path | None = None,
    source_crs: str | None = None,
    estates_layer: str | None = None,
    column_mapping: dict[str, str] | None = None,
    mains: str | Path | None = None,
    buildings: str | Path | None = None,
    survey_crs: str | None = None,
) -> PlanInputs:
    """Read the files of a planning run. With no ``estates``, the embedded synthetic demo town.

    Parameters
    ----------
    estates
        Estate footprints (see :func:`geo.io.read_estates`); ``FILE::LAYER`` picks a layer, as
        for every vector input (or give ``estates_layer``).
    survey
        Survey table (CSV/TSV/XLSX) joined by id, by location and name when its rows carry
        points, else by name (see :mod:`geo.planning.survey`).
    barriers
        Layers estates may not be grouped across (water, railways...): lines or polygons.
    roads
        OSM-schema road lines; classes named by ``adjacency.barrier_road_classes`` become
        barriers, the whole layer is kept for corridors and walking distances.
    boundaries
        Administrative units (see :func:`geo.io.read_boundaries`).
    facilities
        Elderly-care facilities (kept for the elderly-care step).
    candidate_sites
        Candidate sites for new shared elderly-care facilities (points or polygons, see
        :func:`geo.io.read_candidate_sites`), offered to the siting besides the member estates.
    mains
        Municipal mains (lines, optional ``utility`` column) for the corridors' connection points.
    buildings
        Building footprints (polygons) for the corridors' clearance check.
    source_crs
        Declared CRS of the estates (and survey-free layers): ``gcj02``, ``bd09`` or an EPSG code.
    survey_crs
        Coordinate system of the survey's points (``经度/纬度``, ``lng/lat``, ``x/y``, ``坐标``):
        ``wgs84``, ``gcj02``, ``bd09`` or an EPSG code; undeclared, WGS-84 is assumed and checked
        against the estates (see :mod:`geo.planning.survey_points`).
    column_mapping
        ``{input header: canonical column}`` for the estates and survey, over the built-in aliases.

    Raises
    ------
    InputError
        For any file that cannot be used (the message names the file and the fix).

    Notes
    -----
    Python's cyclic collector is paused while the files are read
    (:func:`geo.core._machine.collector_paused`): reading makes millions of objects
    (geometries, cell texts) and no reference cycles, and the collector's passes over them took
    2.4 s of the 8 s of CPU at 220,000 tiled estates (issue 20).

    The barrier and road layers are read in a thread from the start
    (:func:`geo.core._machine.alongside`), while the estates and the survey are read here, and
    checked against the estates there (:func:`geo.pipeline.offsets.check_reference_offset`'s
    work, while the survey is read): GDAL's reading, GEOS's validity and the checks' GEOS and
    PROJ work release the GIL (issue 20, 220,000 tiled estates in a new process: 5.1 -> 4.3 s
    wall, 6.7 -> 7.1 s of CPU; on one core 6.3 s both ways). What a user sees is as in one read after another:
    the notes in the order of the inputs (estates, survey, barriers, roads, the others, the
    offset check last), and the error of the first bad input in that order (a bad estates
    file's before a bad barrier file's, which is read at the same time). On one core the
    layers are read first, in this thread.
    """
    quality = QualityReport()
    synthetic = estates is None
    if estates is not None and estates_layer is None:
        estates, estates_layer = _split_layer(estates)
    sources: dict[str, str] = {}
    if synthetic:
        estates, estates_layer = DEMO_ESTATES, "estates"
        barriers = [*barriers, f"{DEMO_ESTATES}::water"]
        roads = roads or f"{DEMO_ESTATES}::roads"
        boundaries = boundaries or DEMO_BOUNDARIES
        facilities = facilities or f"{DEMO_ESTATES}::elderly_facilities"
    layers = [*barriers, *([roads] if roads is not None else [])]
    stems = [Path(_split_layer(item)[0]).stem for item in barriers]  # barrier labels
    check_offsets = (source_crs or "").strip().lower() not in CHINESE_OBFUSCATED
    # the barrier and road layers are read in a thread from the start (GDAL, GEOS's validity
    # and the offset checks' GEOS and PROJ work release the GIL) while the estates and the
    # survey are read here (issue 20); their notes and errors come as in one read after another
    with alongside(_read_layers, layers) as layers_read:
        estates_gdf = io.read_estates(
            estates,
            quality=quality,
            layer=estates_layer,
            source_crs=source_crs,
            column_mapping=column_mapping,
        )
        estates_gdf = drop_derived_columns(estates_gdf, str(estates), quality)
        sources["estates"] = str(estates)
        with alongside(
            _layers_to_estates, layers_read, estates_gdf, stems, check_offsets
        ) as layers_ready:
            survey_df = None
            if survey is not None:
                survey_df, table = io.read_survey_and_table(
                    survey, quality=quality, column_mapping=column_mapping
                )
                sources["survey"] = str(survey)
                survey_df = _survey_points(
                    survey, survey_df, table, survey_crs, estates_gdf, column_mapping, quality
                )
                del table
            ready = layers_ready.result()
    quality.extend(ready.quality)
    barrier_frames = ready.barriers
    for item in barriers:
        sources.setdefault("barriers", "")
        sources["barriers"] += ("; " if sources["barriers"] else "") + str(item)
    roads_gdf = ready.roads
    if roads is not None:
        sources["roads"] = str(roads)
    boundaries_gdf = None
    if boundaries is not None:
        path, layer = _split_layer(boundaries)
        boundaries_gdf = io.read_boundaries(path, quality=quality, layer=layer)
        sources["boundaries"] = str(boundaries)
    facilities_gdf = None
    if facilities is not None:
        path, layer = _split_layer(facilities)
        facilities_gdf = io.read_facilities(path, layer=layer, quality=quality)
        sources["facilities"] = str(facilities)
    candidates_gdf = None
    if candidate_sites is not None:
        path, layer = _split_layer(candidate_sites)
        candidates_gdf = io.read_candidate_sites(path, layer=layer, quality=quality)
        sources["candidate_sites"] = str(candidate_sites)
    extra = {}
    for name, item in (("mains", mains), ("buildings", buildings)):
        if item is not None:
            path, layer = _split_layer(item)
            extra[name] = io.read_lines_or_polygons(path, quality=quality, layer=layer)
            sources[name] = str(item)
    references = [(sources.get("roads"), roads_gdf), (sources.get("boundaries"), boundaries_gdf)]
    references += list(zip(barriers, barrier_frames, strict=True))
    if check_offsets:
        ahead = [ready.road_offsets, None, *ready.barrier_offsets]
        check_reference_offset(estates_gdf, references, str(estates), quality, ahead=ahead)
    return PlanInputs(
        **extra,
        estates=estates_gdf,
        survey=survey_df,
        barriers=pd.concat(barrier_frames, ignore_index=True) if barrier_frames else None,
        roads=roads_gdf,
        boundaries=boundaries_gdf,
        facilities=facilities_gdf,
        candidate_sites=candidates_gdf,
        sources=sources,
        synthetic=synthetic,
        quality=quality,
    )


def _read_layers(items: Sequence[str | Path]) -> tuple[QualityReport, list[gpd.GeoDataFrame]]:
    """The barrier and road layers read, in order, and their notes (a report of their own).

    Each layer's validity is checked in the background while the next layer is read. For a
    thread started before the estates are read (:func:`load_inputs`).

    Raises
    ------
    InputError
        As :func:`geo.io.read_lines_or_polygons`, for the first layer that cannot be used.
    """
    quality = QualityReport()
    with ThreadPoolExecutor(1) as background:
        started = _start_layers(items, background, quality)
        return quality, [pending.result() for pending in started]  # invalid geometries repaired


@dataclass
class _LayersReady:
    """The barrier and road layers as :func:`load_inputs` keeps them, with their offset checks."""

    quality: QualityReport  # the notes of their reading, in order
    barriers: list[gpd.GeoDataFrame]  # one frame per barrier layer: geometry, barrier; estates' CRS
    roads: gpd.GeoDataFrame | None  # in its own CRS
    barrier_offsets: list[ReferenceOffsets | None]
    road_offsets: ReferenceOffsets | None


def _layers_to_estates(
    layers_read: Future[tuple[QualityReport, list[gpd.GeoDataFrame]]],
    estates: gpd.GeoDataFrame,
    stems: Sequence[str],
    check_offsets: bool,
) -> _LayersReady:
    """The layers :func:`_read_layers` reads, the barriers in the estates' CRS, their checks run.

    ``stems``: the barrier layers' file names without suffix, their label where a layer has no
    ``fclass``. Waits for ``layers_read`` (raising its error). The offset checks against the estates
    (:func:`check_reference_offset`, pure GEOS and PROJ work) are run ahead when
    ``check_offsets``; their verdicts, or errors, are taken where the checks come in order.
    """
    quality, frames = layers_read.result()
    barrier_frames = []
    for frame, stem in zip(frames, stems, strict=False):
        label = frame["fclass"].astype(str) if "fclass" in frame else stem
        # in the estates' CRS (one frame for all layers): the run projects them to its metric
        # CRS, which is the estates' own when projected, so most runs transform barriers once
        # or never
        barrier_frames.append(
            frame[[frame.geometry.name]].assign(barrier=label).to_crs(estates.crs)
        )
    roads = frames[len(stems)] if len(frames) > len(stems) else None
    road_offsets, barrier_offsets = None, [None] * len(barrier_frames)
    if check_offsets:
        road_offsets = ReferenceOffsets.ahead(estates, roads)
        barrier_offsets = [ReferenceOffsets.ahead(estates, f) for f in barrier_frames]
    return _LayersReady(quality, barrier_frames, roads, barrier_offsets, road_offsets)


def _start_layers(
    items: Sequence[str | Path], background: Executor, quality: QualityReport
) -> list[io.LinesOrPolygons]:
    """Read the barrier and road layers in order, their validity left to ``background``.

    Raises
    ------
    InputError
        As :func:`geo.io.read_lines_or_polygons`, for the first layer that cannot be used.
    """
    started = []
    for item in items:
        path, layer = _split_layer(item)
        started.append(
            io.start_lines_or_polygons(path, quality=quality, layer=layer, background=background)
        )
    return started


def _survey_points(
    path: str | Path,
    survey: pd.DataFrame,
    table: pd.DataFrame,
    survey_crs: str | None,
    estates: gpd.GeoDataFrame,
    column_mapping: dict[str, str] | None,
    quality: QualityReport,
) -> pd.DataFrame:
    """The survey with its rows' points (WGS-84), the declared system checked against the estates.

    ``table`` is the survey file as read (cells as written), for its point columns, which the
    canonical survey does not keep; rows are in the same order.
    """
    if len(table) != len(survey):
        return survey
    source = Path(path).name
    located = attach_points(
        survey,
        table,
        declared=survey_crs,
        source=source,
        quality=quality,
        column_mapping=column_mapping,
    )
    check_point_system(located, estates, source=source, quality=quality)
    return located


#: Estate columns a planning run computes (survey join, eligibility, districts, priority, elderly
#: care); the ``plan_*`` columns of a five-year plan are replaced by ``attach_plan`` itself.
DERIVED_ESTATE_COLUMNS = (
    "survey_row",
    "survey_rows",
    "survey_name",
    "survey_match",
    "survey_distance_m",
    "survey_name_score",
    "ready",
    "ready_reason_zh",
    "ready_reason_en",
    "lot",
    "standalone_reason",
    "status",
    "reason_zh",
    "reason_en",
    "consent_ok",
    "investment_yuan",
    "investment_estimated",
    "district_id",
    "project_type",
)
DERIVED_ESTATE_PREFIXES = ("priority_", "elderly_", "condition_", "investment_", "fund_")


def drop_derived_columns(
    estates: gpd.GeoDataFrame, source: str, quality: QualityReport
) -> gpd.GeoDataFrame:
    """Take a lianpian result's ``estates`` layer (``lianpian plan --out``) as estates again.

    A layer that carries ``status``, ``district_id`` and ``priority_score`` is the tool's own
    result: the columns the run computes (:data:`DERIVED_ESTATE_COLUMNS`, ``priority_*``,
    ``elderly_*``; never a canonical input column such as ``elderly_share``) are dropped, so they are computed anew under the current policy; the input
    attributes (build year, households, consent...) and a five-year plan's ``plan_*`` columns are
    kept. The drop is reported in ``quality``. Any other layer is returned unchanged.
    (Planning judgement: a planner reloads yesterday's result; its figures are never reused as
    inputs.)
    """
    if not {"status", "district_id", "priority_score"} <= set(estates.columns):
        return estates
    derived = [
        c
        for c in estates.columns
        if c not in ESTATE_COLUMNS
        and (c in DERIVED_ESTATE_COLUMNS or c.startswith(DERIVED_ESTATE_PREFIXES))
    ]
    quality.add(
        "repair",
        Path(source.split("::")[0]).name,
        "estates layer",
        msg(
            "a lianpian result: its {n_derived} computed columns (status, district, "
            "priority, elderly care...) were dropped and computed again under the current "
            "policy",
            n_derived=len(derived),
        ),
    )
    return estates.drop(columns=derived)


def _split_layer(item: str | Path) -> tuple[str, str | None]:
    """``"file.gpkg::layer"`` -> (path, layer); a plain path -> (path, None)."""
    text = str(item)
    if "::" in text:
        path, layer = text.rsplit("::", 1)
        return path, layer
    return text, None


def barrier_layer(
    inputs: PlanInputs,
    policy: Policy,
    crs: CRS,
    *,
    areas: BlockingAreas | np.ndarray | None = None,
) -> gpd.GeoDataFrame | None:
    """Return the barriers of a run in ``crs``: the barrier layers plus the policy's road classes.

    ``areas``: where a barrier can change the adjacency, as
    :func:`geo.planning.adjacency.build_adjacency` gives them to a barrier function
    (:class:`~geo.planning.adjacency.BlockingAreas`: boxes about the gap lines of estates apart,
    where any barrier can block, and about the edges touching estates share, where only a line
    can), or an array of boxes where any barrier can block (shapely polygons in ``crs``). When
    given, a layer in another CRS than ``crs`` keeps only the features that meet such an area
    (grown by :data:`geo.core.extent.NEAR_MARGIN_M`) in their own CRS, in their order, before
    it is projected: the same graph and edges, for less projecting (issue 20: at 220,000 tiled
    estates, whose tiles span two Gauss-Krüger zones, 1.3 of the 20.6 million barrier
    vertices). A layer already in ``crs`` is kept whole (the adjacency's own index passes over
    far barriers).
    """
    frames = []
    boxes: dict[str, np.ndarray | None] = {}  # the areas as boxes in a layer's CRS, by CRS
    if isinstance(areas, BlockingAreas):
        crossing = len(areas.crossing)
        areas = np.concatenate([areas.crossing, areas.along])
    elif areas is not None:
        crossing = len(areas)

    def nearby(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        if areas is None or not len(frame):
            return frame
        if CRS.from_user_input(frame.crs) == CRS.from_user_input(crs):
            return frame  # nothing to project
        key = CRS.from_user_input(frame.crs).to_wkt()
        if key not in boxes:
            boxes[key] = boxes_in(areas, crs, frame.crs, NEAR_MARGIN_M)
        if boxes[key] is None:
            return frame
        keep = _meeting(frame.geometry.to_numpy(), boxes[key], crossing, frame.crs)
        return frame if keep.all() else frame.loc[keep]

    if inputs.barriers is not None and len(inputs.barriers):
        frames.append(to_crs(nearby(inputs.barriers), crs))
    if inputs.roads is not None and "fclass" in inputs.roads:
        classes = set(policy.adjacency.barrier_road_classes)
        major = nearby(inputs.roads.loc[inputs.roads["fclass"].isin(classes)])
        if len(major):
            frames.append(
                to_crs(
                    gpd.GeoDataFrame(
                        {"barrier": "road:" + major["fclass"].astype(str)},
                        geometry=major.geometry.values,
                        crs=major.crs,
                    ),
                    crs,
                )
            )
    if not frames:
        return None
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=crs)


#: Longest edge (m) of a feature selected by its shape; one with a longer edge is selected by
#: its extent. Between two conformal projections at China's latitudes a straight edge of L m
#: strays from the straight line between its carried ends by about L² tan(latitude) / 8R: at
#: most 0.7 m at 5 km, well inside :data:`geo.core.extent.NEAR_MARGIN_M`.
_NEAR_EDGE_M = 5000.0
#: At least the metres in a unit of angle of a geographic CRS (per radian) in any direction.
_EARTH_RADIUS_MAX_M = 6_400_000.0
#: A feature's shape is tested against the areas near its extent when it has more than this
#: many vertices per such area: projecting a vertex costs about an eighth of a test (measured
#: at 220,000 tiled estates), so a feature with fewer is projected untested.
_VERTICES_PER_TEST = 8


def _meeting(geoms: np.ndarray, boxes: np.ndarray, crossing: int, layer_crs: object) -> np.ndarray:
    """Which features of a barrier layer can block a pair: a bool per feature, in its own CRS.

    ``boxes`` in the layer's CRS, one per area: the first ``crossing`` where any barrier can
    block, the others where only a line can (see :func:`barrier_layer`). A feature is kept when
    its extent meets an area a barrier of its kind blocks in (polygons: the first ``crossing``;
    lines and points: any) and, where testing costs less than projecting it
    (:data:`_VERTICES_PER_TEST`), its shape meets one too
    (:func:`geo.planning.adjacency.meets_any`). Carried into the run's CRS, a straight edge
    becomes a slightly bent one, which the margin of the boxes covers for edges up to
    :data:`_NEAR_EDGE_M`: a feature with a longer edge is kept by its extent.
    """
    box_idx, geom_idx = shapely.STRtree(geoms).query(boxes)
    polygonal = shapely.get_dimensions(geoms) == 2
    usable = ~(polygonal[geom_idx] & (box_idx >= crossing))
    box_idx, geom_idx = box_idx[usable], geom_idx[usable]
    near = np.bincount(geom_idx, minlength=len(geoms))
    tested = shapely.get_num_coordinates(geoms) > _VERTICES_PER_TEST * near
    keep = (near > 0) & ~tested
    chosen = tested[geom_idx]
    keep |= meets_any(geoms, boxes, geom_idx[chosen], box_idx[chosen])
    doubt = np.flatnonzero((near > 0) & ~keep)
    if len(doubt):
        layer_crs = CRS.from_user_input(layer_crs)
        unit_m = layer_crs.axis_info[0].unit_conversion_factor
        if layer_crs.is_geographic:
            unit_m *= _EARTH_RADIUS_MAX_M  # radians per unit -> at most these metres per unit
        keep[doubt[_has_edge_over(geoms[doubt], _NEAR_EDGE_M / unit_m)]] = True
    return keep


def _has_edge_over(geoms: np.ndarray, limit: float) -> np.ndarray:
    """Whether each geometry has two consecutive vertices more than ``limit`` apart (its units).

    Within a geometry, the last vertex of a part and the first of the next count as
    consecutive too (a longer answer errs on keeping the feature).
    """
    x0, y0, x1, y1 = shapely.bounds(geoms).T
    wide = np.flatnonzero(np.hypot(x1 - x0, y1 - y0) > limit)
    over = np.zeros(len(geoms), dtype=bool)
    if len(wide):
        xy, index = shapely.get_coordinates(geoms[wide], return_index=True)
        step = np.hypot(*np.diff(xy, axis=0).T)
        same = index[1:] == index[:-1]
        longest = np.zeros(len(wide))
        np.maximum.at(longest, index[1:][same], step[same])
        over[wide] = longest > limit
    return over


def read_plan_table(
    path: str | Path, *, quality: QualityReport, sheet: str | int = 0
) -> pd.DataFrame:
    """Read a five-year or annual plan table (XLSX, CSV or TSV) into canonical plan rows.

    The Ruicheng annex-3 shape (年份, 小区名称, 位置, 建成时间, 栋数, 户数, 面积m²) and its variants;
    see :func:`geo.fiveyear.plan_table.parse_plan_table` for the columns and the repairs. No geometry is needed.

    Raises
    ------
    InputError
        If the file cannot be read or lacks a year or name column.
    """
    table = io.read_table(path, sheet=sheet)
    return parse_plan_table(table, source=Path(path).name, quality=quality)


def read_plan_overrides(path: str | Path) -> pd.DataFrame:
    """Read a planner's match decisions (CSV/TSV/XLSX with ``plan_row`` and ``estate_id``).

    See :func:`geo.fiveyear.matching.parse_overrides`. Raises :class:`InputError` for a bad file or column.
    """
    return parse_overrides(io.read_table(path), source=Path(path).name)
