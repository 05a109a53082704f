"""The planning run: one function, one result, used by both the CLI and the app.

``load_inputs`` reads files (through :mod:`geo.io`) into :class:`PlanInputs`; :func:`run_plan`
runs the pure steps in order (units, survey join, eligibility, adjacency, districts, priority)
and returns one :class:`PlanResult`. Steps do no file access and no printing: progress goes
through the ``progress`` callback the caller passes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import networkx as nx
import pandas as pd
from pyproj import CRS

from geo import io
from geo.adjacency import build_adjacency
from geo.crs import metric_crs_for
from geo.districts import estimate_investment, form_districts
from geo.eligibility import STATUSES, assess_eligibility
from geo.errors import InputError, QualityReport
from geo.policy import Policy, load_policy
from geo.priority import score_districts, score_estates
from geo.survey import SurveyJoin, join_survey
from geo.units import assign_units

Progress = Callable[[float, str], None]

#: The embedded synthetic demonstration town (made by scripts/make_demo_data.py).
DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DEMO_ESTATES = DATA_DIR / "estates" / "demo_town.gpkg"
DEMO_BOUNDARIES = DATA_DIR / "boundaries" / "demo_boundaries.gpkg"


@dataclass
class PlanInputs:
    """Everything a planning run reads, already loaded (frames in their own CRS).

    ``estates`` is canonical (see :mod:`geo.schema`); ``barriers`` holds lines and polygons with a
    ``barrier`` name column; ``roads`` keeps the whole road layer (OSM schema with ``fclass``) for
    barrier roads now and corridors and walking distances later; ``survey`` is canonical rows.
    """

    estates: gpd.GeoDataFrame
    survey: pd.DataFrame | None = None
    barriers: gpd.GeoDataFrame | None = None
    roads: gpd.GeoDataFrame | None = None
    boundaries: gpd.GeoDataFrame | None = None
    facilities: gpd.GeoDataFrame | None = None
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
        """Return the figures the CLI prints: estates by status, districts, households in them."""
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
        }

    def layers(self) -> dict[str, pd.DataFrame]:
        """Return the layers and tables to write, by name (``estates``, ``districts``, ...)."""
        out: dict[str, pd.DataFrame] = {
            "estates": self.estates,
            "districts": self.districts,
            "adjacency": self.adjacency,
        }
        out.update(self.extra_layers)
        out["quality"] = self.quality.to_frame()
        return out


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
    source_crs: str | None = None,
    estates_layer: str | None = None,
    column_mapping: dict[str, str] | None = None,
) -> PlanInputs:
    """Read the files of a planning run. With no ``estates``, the embedded synthetic demo town.

    Parameters
    ----------
    estates
        Estate footprints (see :func:`geo.io.read_estates`).
    survey
        Survey table (CSV/TSV/XLSX) joined by id, else by name (see :mod:`geo.survey`).
    barriers
        Layers estates may not be grouped across (water, railways...): lines or polygons.
    roads
        OSM-schema road lines; classes named by ``adjacency.barrier_road_classes`` become
        barriers, the whole layer is kept for corridors and walking distances.
    boundaries
        Administrative units (see :func:`geo.io.read_boundaries`).
    facilities
        Elderly-care facilities (kept for the elderly-care step).
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
        facilities_gdf = io.read_vector(path, layer=layer, quality=quality)
        sources["facilities"] = str(facilities)
    return PlanInputs(
        estates=estates_gdf,
        survey=survey_df,
        barriers=pd.concat(barrier_frames, ignore_index=True) if barrier_frames else None,
        roads=roads_gdf,
        boundaries=boundaries_gdf,
        facilities=facilities_gdf,
        sources=sources,
        synthetic=synthetic,
        quality=quality,
    )


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
    inputs: PlanInputs, policy: Policy | None = None, *, progress: Progress | None = None
) -> PlanResult:
    """Run the planning steps on loaded inputs and return one :class:`PlanResult`.

    Steps: choose the metric CRS (:func:`geo.crs.metric_crs_for`); assign administrative units;
    join the survey; eligibility; adjacency (barriers: layers plus policy road classes); districts
    (inside one unit of ``districts.keep_within_level`` where that column has values); priority.

    Raises
    ------
    InputError
        If no estate is left to plan.
    """
    policy = policy or load_policy()
    quality = QualityReport()
    quality.extend(inputs.quality)
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
    _note(progress, 0.45, "building the adjacency graph")
    barriers = barrier_layer(inputs, policy, crs)
    graph, edges = build_adjacency(
        estates,
        tolerance_m=policy.adjacency.tolerance_m,
        barriers=barriers,
        min_barrier_crossing_m=policy.adjacency.min_barrier_crossing_m,
    )
    _note(progress, 0.65, "grouping districts")
    level = policy.districts.keep_within_level
    unit_column = (
        level if level != "none" and level in estates and estates[level].notna().any() else None
    )
    membership, districts = form_districts(estates, graph, policy, unit_column=unit_column)
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
    _note(progress, 1.0, "done")
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
    )


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
