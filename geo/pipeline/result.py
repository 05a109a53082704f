"""The result of a planning run (:class:`PlanResult`) and what it is made from (:class:`PlanInputs`).

May import: geo.core, geo.io, the stage packages (planning, facilities, fiveyear). Imported by the rest of
:mod:`geo.pipeline`, the outputs, the CLI and the app.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import geopandas as gpd
import networkx as nx
import pandas as pd
from pyproj import CRS

from geo.core.errors import QualityReport
from geo.core.policy import Policy
from geo.fiveyear.overlay import PlanOverlay
from geo.planning.eligibility import STATUSES
from geo.planning.survey import SurveyJoin

Progress = Callable[[float, str], None]
#: Called with a layer's name and frame once the run has it final (see geo.pipeline.run_plan).
LayerReady = Callable[[str, pd.DataFrame], None]

#: The embedded synthetic demonstration town (made by scripts/make_demo_data.py).
DATA_DIR = Path(__file__).resolve().parents[2] / "data"
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
        # the notes in English (the columns as before), then where/message/fix in Chinese
        zh = self.quality.to_frame("zh")[["where", "message", "fix"]].add_suffix("_zh")
        out["quality"] = pd.concat([self.quality.to_frame(), zh], axis=1)
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


def note_progress(progress: Progress | None, fraction: float, message: str) -> None:
    """Pass ``fraction`` (0-1) and ``message`` to the caller's progress callback, if any."""
    if progress is not None:
        progress(fraction, message)


def attach_plan(result: PlanResult, overlay: PlanOverlay) -> PlanResult:
    """Add a plan overlay to a planning run's result (in place) and return it.

    ``result.estates`` gains ``plan_year``, ``plan_row`` and ``plan_name`` (the app's year slider
    reads ``plan_year``); ``result.extra_layers`` gains the tables ``plan_checks``
    (:func:`check_plan`), ``plan_rows`` (resolved rows with match status) and ``plan_years``
    (:func:`plan_year_totals`), written with the other layers.
    """
    estates = result.estates.drop(columns=[c for c in overlay.overlay if c in result.estates])
    result.estates = estates.join(overlay.overlay)
    result.extra_layers["plan_checks"] = overlay.checks
    result.extra_layers["plan_rows"] = overlay.rows
    result.extra_layers["plan_years"] = overlay.totals
    return result
