"""The planning run: one function, one result, used by both the CLI and the app.

``load_inputs`` reads files (through :mod:`geo.io`) into :class:`PlanInputs`; :func:`run_plan`
runs the pure steps in order (units, survey join, eligibility, adjacency, districts, priority)
and returns one :class:`PlanResult`. Steps do no file access and no printing: progress goes
through the ``progress`` callback the caller passes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

import geopandas as gpd
import networkx as nx
import pandas as pd
from pyproj import CRS

from geo import io
from geo.core import _memo
from geo.core._memo import Memo, digest
from geo.core.crs import CHINESE_OBFUSCATED, detect_gcj02_offset, metric_crs_for
from geo.core.errors import InputError, QualityReport
from geo.core.policy import Policy, load_policy
from geo.facilities.corridors import plan_corridors
from geo.facilities.elderly import assess_elderly_care, coverage_rings, gap_estates
from geo.planning.adjacency import build_adjacency
from geo.planning.districts import estimate_investment, form_districts
from geo.planning.eligibility import STATUSES, assess_eligibility
from geo.planning.priority import score_districts, score_estates
from geo.planning.survey import SurveyJoin, join_survey
from geo.planning.units import assign_units

Progress = Callable[[float, str], None]

#: The embedded synthetic demonstration town (made by scripts/make_demo_data.py).
DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DEMO_ESTATES = DATA_DIR / "estates" / "demo_town.gpkg"
DEMO_BOUNDARIES = DATA_DIR / "boundaries" / "demo_boundaries.gpkg"


@dataclass
class PlanInputs:
    """Everything a planning run reads, already loaded (frames in their own CRS).

    ``estates`` is canonical (see :mod:`geo.core.schema`); ``barriers`` holds lines and polygons with a
    ``barrier`` name column; ``roads`` keeps the whole road layer (OSM schema with ``fclass``) for
    barrier roads now and corridors and walking distances later; ``survey`` is canonical rows.
    """

    estates: gpd.GeoDataFrame
    survey: pd.DataFrame | None = None
    barriers: gpd.GeoDataFrame | None = None
    roads: gpd.GeoDataFrame | None = None
    boundaries: gpd.GeoDataFrame | None = None
    facilities: gpd.GeoDataFrame | None = None
    candidate_sites: gpd.GeoDataFrame | None = None
    mains: gpd.GeoDataFrame | None = None
    buildings: gpd.GeoDataFrame | None = None
    sources: dict[str, str] = field(default_factory=dict)
    synthetic: bool = False
    quality: QualityReport = field(default_factory=QualityReport)


@dataclass
class PlanResult:
    """The result of a planning run, every layer in the run's metric CRS (``crs``).

    ``estates``: every input estate with ``status``, reasons, priority columns, ``district_id``
    and ``project_type``; ``districts``: one row per district with its outline; ``adjacency``: every
    candidate pair as a line (blocked ones flagged); ``graph``: the unblocked adjacency graph.
    """

    estates: gpd.GeoDataFrame
    districts: gpd.GeoDataFrame
    adjacency: gpd.GeoDataFrame
    graph: nx.Graph
    policy: Policy
    crs: CRS
    quality: QualityReport
    inputs: PlanInputs
    survey_join: SurveyJoin | None = None
    extra_layers: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)

    def summary(self) -> dict[str, object]:
        """Return the figures the CLI prints and the app shows.

        Estates by status, districts, households and investment in them; with corridors, their
        totals (``corridor_*``, m, yuan, %); with facilities, the elderly-care figures
        (``elderly_*``: households without 5-minute coverage, gap m², sites proposed ...).
        """
        counts = self.estates["status"].value_counts()
        in_districts = self.estates["district_id"].notna()
        return {
            "estates": len(self.estates),
            "by_status": {s: int(counts.get(s, 0)) for s in STATUSES},
            "districts": len(self.districts),
            "estates_in_districts": int(in_districts.sum()),
            "households_in_districts": int(self.districts["households"].sum()),
            "standalone_projects": int((self.estates["project_type"] == "standalone").sum()),
            "investment_in_districts_yuan": float(self.districts["investment_yuan"].sum()),
            **_corridor_totals(self.districts),
            **_elderly_totals(self.extra_layers),
        }

    def run_info(self) -> pd.DataFrame:
        """Return the run's provenance as a ``key, value`` table (written as layer ``run_info``).

        Keys: ``software_version``, ``generated_at`` (ISO 8601, local time with offset), ``crs``,
        ``synthetic`` (``true`` for the embedded demo town), ``policy_source``, ``policy_toml``
        and ``source_<name>`` for every input file. Tender exports read it for their manifest.
        """
        from geo import __version__

        rows = {
            "software_version": f"lianpian {__version__}",
            "generated_at": datetime.now().astimezone().isoformat(timespec="seconds"),
            "crs": CRS.from_user_input(self.crs).to_string(),
            "synthetic": "true" if self.inputs.synthetic else "false",
            "policy_source": self.policy.source,
            "policy_toml": self.policy.to_toml(),
        }
        rows.update({f"source_{k}": str(v) for k, v in self.inputs.sources.items()})
        return pd.DataFrame({"key": list(rows), "value": list(rows.values())})

    def layers(self) -> dict[str, pd.DataFrame]:
        """Return the layers and tables to write, by name (``estates``, ``districts``, ...)."""
        out: dict[str, pd.DataFrame] = {
            "estates": self.estates,
            "districts": self.districts,
            "adjacency": self.adjacency,
        }
        out.update(self.extra_layers)
        out["run_info"] = self.run_info()
        out["quality"] = self.quality.to_frame()
        return out


#: elderly_summary figures (geo.facilities.elderly) repeated in PlanResult.summary(), with their types
_ELDERLY_FIGURES = {
    "distance": str,
    "households_without_5min": int,
    "estates_without_5min": int,
    "required_m2": float,
    "accessible_m2": float,
    "gap_m2": float,
    "sites_proposed": int,
    "site_floor_area_m2": float,
    "gap_covered_m2": float,
    "siting_method": str,
    "siting_gap": float,
}


def _elderly_totals(extra_layers: dict[str, pd.DataFrame]) -> dict[str, object]:
    """The elderly-care figures as ``elderly_<figure>``, empty when facilities were not given."""
    frame = extra_layers.get("elderly_summary")
    if frame is None:
        return {}
    raw = dict(frame[["figure", "value"]].itertuples(index=False))
    return {
        f"elderly_{k}": kind(float(raw[k]) if kind is int else raw[k])
        for k, kind in _ELDERLY_FIGURES.items()
    }


def _corridor_totals(districts: pd.DataFrame) -> dict[str, float]:
    """Corridor totals of the districts (m, yuan, %), empty when corridors were not planned."""
    if "corridor_length_m" not in districts:
        return {}
    length, separate = districts["corridor_length_m"].sum(), districts["separate_length_m"].sum()
    cost, separate_cost = districts["cost_yuan"].sum(), districts["separate_cost_yuan"].sum()
    return {
        "corridor_length_m": float(length),
        "separate_length_m": float(separate),
        "corridor_saving_pct": round(100 * (1 - length / separate), 1) if separate else 0.0,
        "corridor_cost_yuan": float(cost),
        "separate_cost_yuan": float(separate_cost),
        "corridor_cost_saving_pct": round(100 * (1 - cost / separate_cost), 1)
        if separate_cost
        else 0.0,
    }


def _note(progress: Progress | None, fraction: float, message: str) -> None:
    if progress is not None:
        progress(fraction, message)


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
) -> PlanInputs:
    """Read the files of a planning run. With no ``estates``, the embedded synthetic demo town.

    Parameters
    ----------
    estates
        Estate footprints (see :func:`geo.io.read_estates`); ``FILE::LAYER`` picks a layer, as
        for every vector input (or give ``estates_layer``).
    survey
        Survey table (CSV/TSV/XLSX) joined by id, else by name (see :mod:`geo.planning.survey`).
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
    column_mapping
        ``{input header: canonical column}`` for the estates and survey, over the built-in aliases.

    Raises
    ------
    InputError
        For any file that cannot be used (the message names the file and the fix).
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
    estates_gdf = io.read_estates(
        estates,
        quality=quality,
        layer=estates_layer,
        source_crs=source_crs,
        column_mapping=column_mapping,
    )
    sources["estates"] = str(estates)
    survey_df = None
    if survey is not None:
        survey_df = io.read_survey(survey, quality=quality, column_mapping=column_mapping)
        sources["survey"] = str(survey)
    barrier_frames = []
    for item in barriers:
        path, layer = _split_layer(item)
        frame = io.read_lines_or_polygons(path, quality=quality, layer=layer)
        label = frame["fclass"].astype(str) if "fclass" in frame else Path(path).stem
        barrier_frames.append(frame[[frame.geometry.name]].assign(barrier=label).to_crs(4326))
        sources.setdefault("barriers", "")
        sources["barriers"] += ("; " if sources["barriers"] else "") + str(item)
    roads_gdf = None
    if roads is not None:
        path, layer = _split_layer(roads)
        roads_gdf = io.read_lines_or_polygons(path, quality=quality, layer=layer)
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
    if (source_crs or "").strip().lower() not in CHINESE_OBFUSCATED:
        check_reference_offset(estates_gdf, references, str(estates), quality)
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


def check_reference_offset(
    estates: gpd.GeoDataFrame,
    references: Sequence[tuple[object, gpd.GeoDataFrame | None]],
    estates_source: str,
    quality: QualityReport,
) -> None:
    """Warn when the estates and a reference layer are ~300-600 m apart (GCJ-02 vs WGS-84).

    Tries each reference layer (roads, boundaries, barriers) with
    :func:`geo.core.crs.detect_gcj02_offset` and records the first disagreement in ``quality``.
    """
    for name, frame in references:
        if frame is None or frame.empty:
            continue
        found = detect_gcj02_offset(estates, frame)
        if found is None:
            continue
        reference = Path(str(name).split("::")[0]).name
        if found.hypothesis == "estates_gcj02":
            quality.add(
                "warning",
                Path(estates_source.split("::")[0]).name,
                "all estates",
                f"the estates sit about {found.offset_m:.0f} m off {reference}: they look like "
                "GCJ-02 (AMap/Tencent) coordinates labelled as WGS-84 "
                f"(main lines crossing estates: {found.crossing_as_is:.2f} m per m of outline "
                f"as given, {found.crossing_shifted:.2f} after conversion)",
                "rerun with --source-crs gcj02 (bd09 for Baidu data)",
            )
        else:
            quality.add(
                "warning",
                reference,
                "all features",
                f"{reference} sits about {found.offset_m:.0f} m off the estates: it looks like "
                "GCJ-02 (AMap/Tencent) coordinates labelled as WGS-84",
                "convert that layer from GCJ-02 to WGS-84 before planning",
            )
        return


def _split_layer(item: str | Path) -> tuple[str, str | None]:
    """``"file.gpkg::layer"`` -> (path, layer); a plain path -> (path, None)."""
    text = str(item)
    if "::" in text:
        path, layer = text.rsplit("::", 1)
        return path, layer
    return text, None


def barrier_layer(inputs: PlanInputs, policy: Policy, crs: CRS) -> gpd.GeoDataFrame | None:
    """Return the barriers of a run in ``crs``: the barrier layers plus the policy's road classes."""
    frames = []
    if inputs.barriers is not None and len(inputs.barriers):
        frames.append(inputs.barriers.to_crs(crs))
    if inputs.roads is not None and "fclass" in inputs.roads:
        classes = set(policy.adjacency.barrier_road_classes)
        major = inputs.roads.loc[inputs.roads["fclass"].isin(classes)]
        if len(major):
            frames.append(
                gpd.GeoDataFrame(
                    {"barrier": "road:" + major["fclass"].astype(str)},
                    geometry=major.geometry.values,
                    crs=major.crs,
                ).to_crs(crs)
            )
    if not frames:
        return None
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=crs)


def run_plan(
    inputs: PlanInputs,
    policy: Policy | None = None,
    *,
    progress: Progress | None = None,
    workers: int = 1,
) -> PlanResult:
    """Run the planning steps on loaded inputs and return one :class:`PlanResult`.

    Steps: choose the metric CRS (:func:`geo.core.crs.metric_crs_for`); assign administrative units;
    join the survey; eligibility; adjacency (barriers: layers plus policy road classes); districts
    (inside one unit of ``districts.keep_within_level`` where that column has values); priority;
    shared corridors (:mod:`geo.facilities.corridors`; layers ``corridors`` and ``corridor_utilities``).
    ``workers`` processes plan the districts' corridors side by side (same result; see
    :func:`geo.facilities.corridors.plan_corridors`).

    Raises
    ------
    InputError
        If no estate is left to plan.
    """
    policy = policy or load_policy()
    quality = QualityReport()
    quality.extend(inputs.quality)
    estates, crs, survey_report = prepare_estates(inputs, policy, quality, progress)
    _note(progress, 0.45, "building the adjacency graph")
    barriers = barrier_layer(inputs, policy, crs)
    graph, edges = _adjacency(estates, barriers, policy)
    _note(progress, 0.65, "grouping districts")
    membership, districts = form_districts(
        estates, graph, policy, unit_column=district_unit_column(estates, policy)
    )
    estates = pd.concat([estates, membership], axis=1)
    _note(progress, 0.8, "scoring priorities")
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
        progress, workers=workers,
    )  # fmt: skip
    _note(progress, 1.0, "done")
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


def _adjacency(
    estates: gpd.GeoDataFrame, barriers: gpd.GeoDataFrame | None, policy: Policy
) -> tuple[nx.Graph, gpd.GeoDataFrame]:
    """:func:`geo.planning.adjacency.build_adjacency` with the run's settings, memoised by content."""
    settings = (policy.adjacency.tolerance_m, policy.adjacency.min_barrier_crossing_m)
    key = (
        digest(
            settings,
            estates["estate_id"].astype(str).str.cat(sep="\x1f"),
            layers=[estates, barriers],
            columns=("barrier",),
        )
        if _memo.enabled()
        else b""
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


def _report_survey(report: SurveyJoin, inputs: PlanInputs, quality: QualityReport) -> None:
    source = Path(inputs.sources.get("survey", "survey")).name
    for row in report.unmatched_rows:
        quality.add(
            "warning",
            source,
            f"row {row}",
            "survey row matched no estate",
            "add the estate id (osm_id / 编号) or correct the name",
        )
    for row, candidates in report.ambiguous_rows.items():
        quality.add(
            "warning",
            source,
            f"row {row}",
            "name matches several estates: " + ", ".join(candidates[:5]),
            "add the estate id or the county (所在区)",
        )
    if report.estates_without_survey:
        quality.add(
            "warning",
            Path(inputs.sources.get("estates", "estates")).name,
            f"{len(report.estates_without_survey)} estates",
            "no survey row (first: " + ", ".join(report.estates_without_survey[:5]) + ")",
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
) -> PlanResult:
    """Run the steps that follow the districts and return the :class:`PlanResult`.

    Elderly-care gaps and sites, then the shared corridors (``workers`` processes). Used by
    :func:`run_plan` and by the distributed engine after it gathers the units, so both add the
    same columns and layers. ``estates`` and ``districts`` are scored, in the run's CRS ``crs``.
    """
    extra_layers: dict[str, gpd.GeoDataFrame] = {}
    if inputs.facilities is not None:
        _note(progress, 0.9, "assessing elderly-care floor area and proposing sites")
        care = assess_elderly_care(
            estates, inputs.facilities, policy, districts=districts, roads=inputs.roads,
            candidates=inputs.candidate_sites, quality=quality,
        )  # fmt: skip
        estates = gpd.GeoDataFrame(pd.concat([estates, care.estates], axis=1), crs=crs)
        districts = gpd.GeoDataFrame(pd.concat([districts, care.districts], axis=1), crs=crs)
        extra_layers["elderly_sites"] = care.sites
        extra_layers["elderly_coverage"] = coverage_rings(care, policy)
        extra_layers["elderly_gaps"] = gap_estates(estates)
        extra_layers["elderly_summary"] = pd.DataFrame(
            {"figure": list(care.summary), "value": [str(v) for v in care.summary.values()]}
        )
    if policy.corridors.enabled and len(districts):
        _note(progress, 0.9, "planning shared corridors")
        corridors = plan_corridors(
            estates, districts, edges, policy, roads=inputs.roads, mains=inputs.mains,
            buildings=inputs.buildings, quality=quality, workers=workers,
        )  # fmt: skip
        districts = gpd.GeoDataFrame(
            pd.concat([districts, corridors.districts], axis=1), geometry="geometry", crs=crs
        )
        extra_layers["corridors"] = corridors.segments
        extra_layers["corridor_utilities"] = corridors.utilities
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

    Used by :func:`run_plan` and the distributed engine, so both prepare estates the same way.
    Returns the estates in the metric CRS, that CRS, and what the survey join did (or None).

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
    _note(progress, 0.05, "choosing the metric CRS")
    crs = metric_crs_for(inputs.estates)
    estates = inputs.estates.to_crs(crs)
    if inputs.boundaries is not None:
        _note(progress, 0.1, "assigning administrative units")
        units = assign_units(estates, inputs.boundaries.to_crs(crs))
        for level in units.columns:
            if level == "county":
                estates["county"] = units["county"].fillna(estates["county"]).astype("string")
            else:
                estates[level] = units[level]
    survey_report = None
    if inputs.survey is not None:
        _note(progress, 0.2, "joining the survey")
        estates, survey_report = join_survey(estates, inputs.survey)
        _report_survey(survey_report, inputs, quality)
    _note(progress, 0.3, "deciding eligibility")
    estates = assess_eligibility(estates, policy)
    estates = pd.concat([estates, estimate_investment(estates, policy)], axis=1)
    return estates, crs, survey_report
