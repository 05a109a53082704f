"""The planning run: :func:`run_plan` runs the pure steps in order and returns one :class:`PlanResult`.

May import: geo.core, geo.io, geo.planning, geo.facilities, :mod:`geo.pipeline.result` and
:mod:`geo.pipeline.inputs`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
from pyproj import CRS

from geo.core import _memo
from geo.core._machine import alongside, release_free_memory
from geo.core._memo import Memo, digest
from geo.core.crs import metric_crs_for
from geo.core.errors import InputError, QualityReport
from geo.core.messages import column_word, msg
from geo.core.policy import Policy, load_policy
from geo.core.reproject import to_crs
from geo.facilities.corridors import CorridorPlan, plan_corridors
from geo.facilities.elderly import assess_elderly_care, coverage_rings, gap_estates
from geo.pipeline.inputs import barrier_layer
from geo.pipeline.result import (
    LayerReady,
    PlanInputs,
    PlanResult,
    Progress,
    note_progress,
)
from geo.planning.adjacency import BlockingAreas, build_adjacency
from geo.planning.conditions import management_model_note
from geo.planning.districts import estimate_investment, form_districts
from geo.planning.eligibility import assess_eligibility
from geo.planning.funding import funding_table
from geo.planning.lots import mobilisation_list
from geo.planning.priority import score_districts, score_estates
from geo.planning.survey import SurveyJoin, join_survey
from geo.planning.units import assign_units


def run_plan(
    inputs: PlanInputs,
    policy: Policy | None = None,
    *,
    progress: Progress | None = None,
    workers: int = 1,
    layer_ready: LayerReady | None = None,
) -> PlanResult:
    """Run the planning steps on loaded inputs and return one :class:`PlanResult`.

    Steps: choose the metric CRS (:func:`geo.core.crs.metric_crs_for`); assign administrative units;
    join the survey; eligibility; adjacency (barriers: layers plus policy road classes); districts
    (inside one unit of ``districts.keep_within_level`` where that column has values); priority;
    shared corridors (:mod:`geo.facilities.corridors`; layers ``corridors`` and ``corridor_utilities``).
    The adjacency is built in a thread while the survey join, eligibility and investment run
    (:func:`adjacency_alongside`; same result, notes and errors as one after the other).
    ``workers`` processes plan the districts' corridors side by side (same result; see
    :func:`geo.facilities.corridors.plan_corridors`). ``layer_ready(name, frame)`` is called with
    each layer of the result that is final before the run ends (the ``estates`` layer, once the
    corridors' preparation is done and their workers started), so the caller can start writing it: ``lianpian plan`` passes
    :meth:`geo.io.GeoPackageWriter.write_ahead`. The frame must not be modified.

    Raises
    ------
    InputError
        If no estate is left to plan.
    """
    policy = policy or load_policy()
    quality = QualityReport()
    quality.extend(inputs.quality)
    estates, crs = project_estates(inputs, progress)
    # the barriers are projected for the areas where they can block a pair only (issue 20)
    barriers = partial(_barriers_in, inputs, policy, crs)
    with adjacency_alongside(estates, barriers, policy) as adjacency:
        # survey join, eligibility and investment on this core, adjacency on the other (issue 20)
        estates, survey_report = describe_estates(estates, inputs, policy, quality, progress)
        note_progress(progress, 0.45, "building the adjacency graph")
        graph, edges = adjacency.result(estates)
    release_free_memory()  # what the adjacency's threads freed stays resident otherwise
    note_progress(progress, 0.65, "grouping districts")
    membership, districts = form_districts(
        estates, graph, policy, unit_column=district_unit_column(estates, policy)
    )
    estates = pd.concat([estates, membership], axis=1)
    note_progress(progress, 0.8, "scoring priorities")
    estates = pd.concat([estates, score_estates(estates, graph, policy)], axis=1)
    estates = gpd.GeoDataFrame(estates, geometry=estates.geometry.name, crs=crs)
    if len(districts):
        districts = pd.concat([districts, score_districts(districts, estates)], axis=1)
    else:
        districts = districts.assign(
            priority_score=pd.Series(dtype=float), priority_rank=pd.Series(dtype=int)
        )
    districts = gpd.GeoDataFrame(districts, geometry="geometry", crs=crs)
    result = finish_plan(
        estates, districts, edges, graph, inputs, policy, crs, quality, survey_report,
        progress, workers=workers, layer_ready=layer_ready,
    )  # fmt: skip
    note_progress(progress, 1.0, "done")
    return result


def rescore(result: PlanResult, policy: Policy) -> PlanResult:
    """Return ``result`` with its priorities scored again under ``policy``.

    The priority score changes nothing upstream (eligibility, adjacency, districts, corridors
    and elderly-care sites do not depend on it), so a change of the ``[priority]`` weights needs
    only :func:`geo.planning.priority.score_estates` and :func:`geo.planning.priority.score_districts` again: the
    app uses this to answer a weight slider at once. The result equals ``run_plan`` under
    ``policy``. ``result`` is not modified.

    Raises
    ------
    ValueError
        If ``policy`` differs from ``result.policy`` outside the ``[priority]`` section.
    """
    old, new = result.policy.to_dict(), policy.to_dict()
    changed = sorted(k for k in new if old.get(k) != new[k])
    if set(changed) - {"priority"}:
        raise ValueError(f"rescore only re-weights priorities; changed sections: {changed}")
    scores = score_estates(result.estates, result.graph, policy)
    estates = result.estates.copy()
    estates[list(scores.columns)] = scores
    districts = result.districts.copy()
    if len(districts):
        ranked = score_districts(districts, estates)
        districts[list(ranked.columns)] = ranked
    return replace(result, estates=estates, districts=districts, policy=policy)


#: Adjacency by content: it depends on the estates' ids and shapes, the barriers and the
#: adjacency settings only, not on eligibility; the app re-plans after each policy change on the
#: same estates and reuses it. The graph and edges are shared with the memo: like every layer
#: of a PlanResult they are read, never modified in place (geo.pipeline.rescore copies).
_ADJACENCY: Memo[tuple[nx.Graph, gpd.GeoDataFrame]] = Memo(2)


def _barriers_in(
    inputs: PlanInputs, policy: Policy, crs: CRS, areas: BlockingAreas | np.ndarray | None
) -> gpd.GeoDataFrame | None:
    """:func:`geo.pipeline.inputs.barrier_layer` for ``areas`` (None: everywhere)."""
    return barrier_layer(inputs, policy, crs, areas=areas)


def _adjacency(
    estates: gpd.GeoDataFrame,
    barriers: gpd.GeoDataFrame | Callable[[np.ndarray | None], gpd.GeoDataFrame | None] | None,
    policy: Policy,
) -> tuple[nx.Graph, gpd.GeoDataFrame]:
    """:func:`geo.planning.adjacency.build_adjacency` with the run's settings, memoised by content.

    ``barriers``: a layer, or a function giving them for the areas where they can block a pair
    (see :func:`geo.planning.adjacency.build_adjacency`; called with None, everywhere: with the
    memos on, as in the app, the whole layer keys the memo).
    """
    settings = (policy.adjacency.tolerance_m, policy.adjacency.min_barrier_crossing_m)
    if not _memo.enabled():
        return build_adjacency(
            estates,
            tolerance_m=settings[0],
            barriers=barriers,
            min_barrier_crossing_m=settings[1],
        )
    if callable(barriers):
        barriers = barriers(None)
    key = digest(
        settings,
        estates["estate_id"].astype(str).str.cat(sep="\x1f"),
        layers=[estates, barriers],
        columns=("barrier",),
    )
    found = _ADJACENCY.get(key)
    if found is None:
        found = build_adjacency(
            estates,
            tolerance_m=settings[0],
            barriers=barriers,
            min_barrier_crossing_m=settings[1],
        )
        _ADJACENCY.put(key, found)
    return found


#: More unmatched or ambiguous survey rows than this are reported in one line each kind (the
#: rows are all in the survey_join layer).
_SURVEY_ROWS_LISTED = 20


def _report_survey(report: SurveyJoin, inputs: PlanInputs, quality: QualityReport) -> None:
    source = Path(inputs.sources.get("survey", "survey")).name
    for row, (given, own, others) in report.id_name_conflicts.items():
        quality.add(
            "warning",
            source,
            msg("row {row}", row=row),
            msg(
                "joined by its id {given} ({own_or}), but its name is that of estate {others}",
                given=given,
                own_or=own or msg("no name"),
                others=", ".join(others[:5]),
            ),
            "check the id: the row may describe the other estate",
        )
    for county, rows in report.counties_not_known.items():
        quality.add(
            "warning",
            source,
            msg("{rows} rows", rows=rows),
            msg(
                "county {county!r} is not among the estates' counties: those rows join only "
                "estates without a county",
                county=county,
            ),
            "write the county as the boundaries name it, or list a merged county in the "
            'policy\'s [survey] former_counties (e.g. "下城 = 拱墅区")',
        )
    many = {
        msg("matched no estate"): report.unmatched_rows,
        msg("matched several estates equally well"): list(report.ambiguous_rows),
    }
    if max(len(rows) for rows in many.values()) > _SURVEY_ROWS_LISTED:
        for what, rows in many.items():
            if rows:
                quality.add(
                    "warning",
                    source,
                    msg("{n_rows} rows", n_rows=len(rows)),
                    msg(
                        "survey rows {what} (rows {map_rows}...): each row's outcome and reason is in "
                        "the layer survey_join",
                        what=what,
                        map_rows=", ".join(map(str, rows[:10])),
                    ),
                    "check the names, the county and --survey-crs; add estate ids",
                )
        _report_estates_without_survey(report, inputs, quality)
        return
    for row in report.unmatched_rows:
        quality.add(
            "warning",
            source,
            msg("row {row}", row=row),
            "survey row matched no estate",
            "add the estate id (osm_id / 编号) or correct the name",
        )
    for row, candidates in report.ambiguous_rows.items():
        quality.add(
            "warning",
            source,
            msg("row {row}", row=row),
            msg("name matches several estates: {estates}", estates=", ".join(candidates[:5])),
            "add the estate id or the county (所在区)",
        )
    _report_estates_without_survey(report, inputs, quality)


def _report_estates_without_survey(
    report: SurveyJoin, inputs: PlanInputs, quality: QualityReport
) -> None:
    if report.estates_without_survey:
        quality.add(
            "warning",
            Path(inputs.sources.get("estates", "estates")).name,
            msg(
                "{n_estates_without_survey} estates",
                n_estates_without_survey=len(report.estates_without_survey),
            ),
            msg(
                "no survey row (first: {estates})",
                estates=", ".join(report.estates_without_survey[:5]),
            ),
            "survey them; their build year decides eligibility",
        )


def finish_plan(
    estates: gpd.GeoDataFrame,
    districts: gpd.GeoDataFrame,
    edges: gpd.GeoDataFrame,
    graph: nx.Graph,
    inputs: PlanInputs,
    policy: Policy,
    crs: CRS,
    quality: QualityReport,
    survey_report: SurveyJoin | None,
    progress: Progress | None = None,
    workers: int = 1,
    corridors: CorridorPlan | None = None,
    layer_ready: LayerReady | None = None,
) -> PlanResult:
    """Run the steps that follow the districts and return the :class:`PlanResult`.

    Elderly-care gaps and sites, then the shared corridors (``workers`` processes). Used by
    :func:`run_plan` and by the distributed engine after it gathers the units, so both add the
    same columns and layers. ``estates`` and ``districts`` are scored, in the run's CRS ``crs``.
    ``corridors``: the districts' corridors when already planned (the distributed engine plans
    them per unit; district rows indexed like ``districts``), else planned here.
    ``layer_ready``: as in :func:`run_plan` (the estates, handed to the corridors' ``meanwhile``).
    """
    extra_layers: dict[str, gpd.GeoDataFrame] = {}
    if survey_report is not None and survey_report.table is not None:
        extra_layers["survey_join"] = survey_report.table.to_crs(crs)
    if "fund_residents_yuan" in estates:  # who pays, per district and standalone estate (万元)
        extra_layers["funding"] = funding_table(estates, districts)
    if "ready" in estates:  # estates not yet ready: who still needs persuading (issue 17)
        extra_layers["mobilisation"] = mobilisation_list(estates, policy)
    if inputs.facilities is not None:
        note_progress(progress, 0.9, "assessing elderly-care floor area and proposing sites")
        care = assess_elderly_care(
            estates, inputs.facilities, policy, districts=districts, roads=inputs.roads,
            candidates=inputs.candidate_sites, quality=quality,
        )  # fmt: skip
        estates = gpd.GeoDataFrame(pd.concat([estates, care.estates], axis=1), crs=crs)
        districts = gpd.GeoDataFrame(pd.concat([districts, care.districts], axis=1), crs=crs)
        extra_layers["elderly_sites"] = care.sites
        if care.dropped_sites is not None and len(care.dropped_sites):
            extra_layers["elderly_sites_dropped"] = care.dropped_sites  # below the minimum size
        extra_layers["elderly_coverage"] = coverage_rings(care, policy)
        extra_layers["elderly_gaps"] = gap_estates(estates)
        extra_layers["elderly_summary"] = pd.DataFrame(
            {"figure": list(care.summary), "value": [str(v) for v in care.summary.values()]}
        )
    # final: the corridors add columns to the districts only; handed over once the corridors'
    # workers are started, so that writing it does not slow their preparation (issue 20)
    estates_ready = None if layer_ready is None else partial(layer_ready, "estates", estates)
    if policy.corridors.enabled and len(districts):
        note_progress(progress, 0.9, "planning shared corridors")
        if corridors is None:
            corridors = plan_corridors(
                estates, districts, edges, policy, roads=inputs.roads, mains=inputs.mains,
                buildings=inputs.buildings, quality=quality, workers=workers,
                meanwhile=estates_ready,
            )  # fmt: skip
            estates_ready = None  # called by the corridors
        districts = gpd.GeoDataFrame(
            pd.concat([districts, corridors.districts], axis=1), geometry="geometry", crs=crs
        )
        extra_layers["corridors"] = corridors.segments
        extra_layers["corridor_utilities"] = corridors.utilities
    if estates_ready is not None:
        estates_ready()
    return PlanResult(
        estates=estates,
        districts=districts,
        adjacency=edges,
        graph=graph,
        policy=policy,
        crs=crs,
        quality=quality,
        inputs=inputs,
        survey_join=survey_report,
        extra_layers=extra_layers,
    )


def district_unit_column(estates: pd.DataFrame, policy: Policy) -> str | None:
    """The column of the administrative unit districts stay inside, or None.

    ``districts.keep_within_level`` (default ``county``) when the estates carry it for at least
    one estate (from ``--boundaries`` or a county column); None when the policy says ``none`` or
    no estate has that unit.
    """
    level = policy.districts.keep_within_level
    if level != "none" and level in estates and estates[level].notna().any():
        return level
    return None


def prepare_estates(
    inputs: PlanInputs, policy: Policy, quality: QualityReport, progress: Progress | None = None
) -> tuple[gpd.GeoDataFrame, CRS, SurveyJoin | None]:
    """Run the steps before adjacency: metric CRS, units, survey join, eligibility, investment.

    Used by the distributed engine, so it prepares estates as :func:`run_plan` does
    (:func:`project_estates`, then :func:`describe_estates`; ``run_plan`` builds the adjacency
    alongside the second). Returns the estates in the metric CRS, that CRS, and what the survey
    join did (or None).

    Raises
    ------
    InputError
        If there is no estate to plan.
    """
    estates, crs = project_estates(inputs, progress)
    estates, survey_report = describe_estates(estates, inputs, policy, quality, progress)
    return estates, crs, survey_report


def project_estates(
    inputs: PlanInputs, progress: Progress | None = None
) -> tuple[gpd.GeoDataFrame, CRS]:
    """The estates in the run's metric CRS, with their administrative units; and that CRS.

    The first of :func:`prepare_estates`' steps: the metric CRS
    (:func:`geo.core.crs.metric_crs_for`), then, with ``inputs.boundaries``, each estate's units
    (:func:`geo.planning.units.assign_units`; ``county`` keeps the estate's own where no
    boundary holds it). Rows, order, ids and shapes are the estates' for the rest of the run.

    Raises
    ------
    InputError
        If there is no estate to plan.
    """
    if inputs.estates.empty:
        raise InputError(
            "no estates to plan",
            source=inputs.sources.get("estates"),
            fix="check the estates layer",
        )
    note_progress(progress, 0.05, "choosing the metric CRS")
    crs = metric_crs_for(inputs.estates)
    estates = to_crs(inputs.estates, crs)  # PROJ on all cores, the same coordinates
    if inputs.boundaries is not None:
        note_progress(progress, 0.1, "assigning administrative units")
        units = assign_units(estates, inputs.boundaries.to_crs(crs))
        for level in units.columns:
            if level == "county":
                estates["county"] = units["county"].fillna(estates["county"]).astype("string")
            else:
                estates[level] = units[level]
    return estates, crs


def describe_estates(
    estates: gpd.GeoDataFrame,
    inputs: PlanInputs,
    policy: Policy,
    quality: QualityReport,
    progress: Progress | None = None,
) -> tuple[gpd.GeoDataFrame, SurveyJoin | None]:
    """The estates of :func:`project_estates` with survey, eligibility and investment columns.

    The survey join (:func:`geo.planning.survey.join_survey`, its notes into ``quality``),
    eligibility (:func:`geo.planning.eligibility.assess_eligibility`), the note on estates
    without a management model (:func:`geo.planning.conditions.management_model_note`) and the
    investment estimate (:func:`geo.planning.districts.estimate_investment`). Each step returns
    a shallow copy with columns added or replaced (values, names, counties): never a row added,
    dropped or moved, an ``estate_id`` or a shape changed. :func:`run_plan` builds the adjacency
    of the projected estates meanwhile, and checks this (:func:`same_shapes`).
    Returns the estates and what the survey join did (or None without a survey).
    """
    survey_report = None
    if inputs.survey is not None:
        note_progress(progress, 0.2, "joining the survey")
        estates, survey_report = join_survey(estates, inputs.survey, policy.survey)
        _report_survey(survey_report, inputs, quality)
    note_progress(progress, 0.3, "deciding eligibility")
    estates = assess_eligibility(estates, policy)
    unsurveyed = management_model_note(estates, policy)
    if unsurveyed:
        quality.add(
            "warning",
            Path(inputs.sources.get("survey", "survey")).name,
            msg("column {columns}", columns=column_word("management_model_agreed")),
            unsurveyed,
            "survey 是否确定改造后管理模式 (是/否) per estate, or set "
            "conditions.management_model_unknown",
        )
    estates = pd.concat([estates, estimate_investment(estates, policy)], axis=1)
    return estates, survey_report


def adjacency_shapes(estates: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """What the adjacency of ``estates`` depends on: ``estate_id`` and geometry, as a frame of its own.

    Its columns are new arrays holding the same ids and shapely geometries (immutable), so a
    thread can build the adjacency from it while the caller replaces columns of ``estates``.
    Same index and CRS.
    """
    return gpd.GeoDataFrame(
        {"estate_id": estates["estate_id"].copy()},
        geometry=estates.geometry.values.copy(),
        index=estates.index,
        crs=estates.crs,
    )


def same_shapes(these: gpd.GeoDataFrame, those: gpd.GeoDataFrame) -> bool:
    """Whether two estate layers have the same rows, in order, with the same ids, shapes and CRS.

    Shapes compare as objects (the same shapely geometry is equal at once; others by
    coordinates), so checking a layer whose geometry column was carried along costs a pass over
    pointers (about 10 ms at 220,000 estates).
    """
    return (
        len(these) == len(those)
        and these.index.equals(those.index)
        and these.crs == those.crs
        and these["estate_id"].astype(str).tolist() == those["estate_id"].astype(str).tolist()
        and these.geometry.to_numpy().tolist() == those.geometry.to_numpy().tolist()
    )


@dataclass(frozen=True)
class AdjacencyAlongside:
    """The adjacency started by :func:`adjacency_alongside`: its thread's future and inputs."""

    future: Future[tuple[nx.Graph, gpd.GeoDataFrame]]
    shapes: gpd.GeoDataFrame  # what it is built from (adjacency_shapes)
    barriers: Callable[[BlockingAreas | None], gpd.GeoDataFrame | None]
    policy: Policy

    def result(self, estates: gpd.GeoDataFrame) -> tuple[nx.Graph, gpd.GeoDataFrame]:
        """The graph and edges of ``estates`` (waits for the thread; its error is raised here).

        Those built in the thread when ``estates`` have the rows, ids and shapes they were
        built from (:func:`same_shapes`; :func:`describe_estates` never changes them), else
        (a guard, should a step ever move rows) built again from ``estates``, here.
        """
        graph, edges = self.future.result()
        if same_shapes(estates, self.shapes):
            return graph, edges
        return _adjacency(estates, self.barriers, self.policy)


@contextlib.contextmanager
def adjacency_alongside(
    estates: gpd.GeoDataFrame,
    barriers: Callable[[BlockingAreas | None], gpd.GeoDataFrame | None],
    policy: Policy,
) -> Iterator[AdjacencyAlongside]:
    """Build the adjacency of ``estates`` (:func:`_adjacency`) in a thread while the block runs.

    The adjacency depends on the estates' ids and shapes, the barriers and the adjacency
    settings only (see :data:`_ADJACENCY`), so it starts as soon as the estates are projected
    and runs on the core the survey join, eligibility and investment leave idle
    (:func:`geo.core._machine.alongside`: its pair tests and shared boundaries are GEOS calls,
    which release the GIL). It gets :func:`adjacency_shapes`, a frame of its own, and the
    barriers' function (which reads the input layers, never written by the run). Yields the
    started adjacency: ``.result(estates)`` gives ``(graph, edges)`` of the estates the caller
    goes on with, or raises the thread's error, in the caller's thread (see
    :class:`AdjacencyAlongside`). Leaving the block waits for the thread (an error of the block
    is raised after it, as if the adjacency had not started).
    """
    shapes = adjacency_shapes(estates)
    with alongside(_adjacency, shapes, barriers, policy) as future:
        yield AdjacencyAlongside(future, shapes, barriers, policy)
