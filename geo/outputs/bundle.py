"""The plan an export reads and one district's share of it (shared by every package writer).

Holds :class:`PlanLayers` and :func:`read_plan` (the GeoPackage written by ``lianpian plan``),
:class:`DistrictBundle` (one district's outline, member estates, corridors, elderly-care sites and
neighbouring estates, with its package name and Gauss-Krüger zone), :class:`PackageFile`, and the
provenance helpers (data sources, licences, synthetic/illustrative flags) that the workbook, the
drawings and the manifest all state.

May import: geo.core, geo.io, geo.planning (content classes), geo.outputs.context; no other
geo.outputs module (the format writers import this one).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from geo import io as geo_io
from geo.core.crs import WGS84, gk_zone_epsg
from geo.core.errors import InputError
from geo.core.messages import first_few, msg
from geo.io.safe_text import safe_filename
from geo.outputs import context, sheet
from geo.planning.content import CONTENT_CLASSES, needs_by_class

Progress = Callable[[float, str], None]

#: Layers of a plan GeoPackage an export reads (``corridors`` and ``elderly_sites`` optional).
REQUIRED_LAYERS = ("estates", "districts")
OPTIONAL_LAYERS = ("corridors", "elderly_sites")


OSM_LICENCE = "© OpenStreetMap contributors, ODbL 1.0 (https://www.openstreetmap.org/copyright)"


# --------------------------------------------------------------------------- plan layers


@dataclass
class PlanLayers:
    """The layers of a finished plan that an export needs, all in the plan's metric CRS.

    ``estates`` and ``districts`` as written by ``lianpian plan`` (see :mod:`geo.pipeline`);
    ``corridors`` and ``elderly_sites`` when the plan made them (their rows are given to a
    district by their ``district_id`` column, else by intersecting the district outline);
    ``run_info`` the provenance table as a dict (software version, policy, sources, synthetic);
    ``source`` names where the layers came from (a file path or ``"in-memory plan"``);
    ``adjacency`` the candidate pairs (``source_id``, ``target_id``, ``gap_m``,
    ``shared_boundary_m``, ``blocked``, ``blocked_by``) and ``quality`` the data-quality notes
    (``level``, ``source``, ``where``, ``message``, ``fix``) when the plan wrote them; ``roads`` and
    ``water`` the drawings' context (:mod:`geo.outputs.context`; ``fclass``, ``name``), None
    when not found; ``context_warnings`` says why a recorded context file is missing.
    """

    estates: gpd.GeoDataFrame
    districts: gpd.GeoDataFrame
    corridors: gpd.GeoDataFrame | None = None
    elderly_sites: gpd.GeoDataFrame | None = None
    run_info: dict[str, str] = field(default_factory=dict)
    source: str = "in-memory plan"
    adjacency: pd.DataFrame | None = None
    quality: pd.DataFrame | None = None
    roads: gpd.GeoDataFrame | None = None
    water: gpd.GeoDataFrame | None = None
    context_warnings: list[str] = field(default_factory=list)

    @classmethod
    def from_result(cls, result: object) -> PlanLayers:
        """Build from a :class:`geo.pipeline.PlanResult` (what the app holds in memory)."""
        layers = result.layers()  # type: ignore[attr-defined]
        info = layers.get("run_info")
        plan = cls(
            estates=layers["estates"],
            districts=layers["districts"],
            corridors=_geo_or_none(layers.get("corridors")),
            elderly_sites=_geo_or_none(layers.get("elderly_sites")),
            run_info=_info_dict(info) if info is not None else {},
            adjacency=_frame_or_none(layers.get("adjacency")),
            quality=_frame_or_none(layers.get("quality")),
        )
        inputs = getattr(result, "inputs", None)
        area = plan.context_area()
        for role, frame in (
            ("roads", getattr(inputs, "roads", None)),
            ("water", getattr(inputs, "barriers", None)),
        ):
            if isinstance(frame, gpd.GeoDataFrame) and len(frame) and frame.crs is not None:
                setattr(plan, role, context._tidy(frame, plan.crs, area, role))
        return plan

    def context_area(self) -> shapely.Geometry | None:
        """The area the drawings show: the union of the districts' map windows (plan CRS)."""
        if not len(self.districts):
            return None
        boxes = [shapely.box(*_drawing_extent(g)) for g in self.districts.geometry if g is not None]
        return shapely.union_all(boxes) if boxes else None

    def attach_context(
        self, roads: Sequence[str] | None = None, water: Sequence[str] | None = None
    ) -> None:
        """Read the roads and water of the drawings (given files, else the recorded inputs).

        ``roads``/``water``: files (``path`` or ``path::layer``); None uses ``run_info``'s
        ``source_roads`` and ``source_barriers``. Missing files become ``context_warnings``.
        """
        plan_path = Path(self.source) if self.source != "in-memory plan" else None
        area = self.context_area()
        for role, given, key in (
            ("roads", roads, "source_roads"),
            ("water", water, "source_barriers"),
        ):
            if getattr(self, role) is not None and given is None:
                continue  # a layer of the plan file itself
            items = list(given) if given is not None else self.run_info.get(key, "").split(";")
            if "demo_town.gpkg" in " ".join(items):
                items = []  # the embedded demo's water is synthetic and inside the package
            frame = context.read_context(
                items, self.crs, area, plan_path, self.context_warnings, role
            )
            setattr(self, role, frame)

    @property
    def crs(self) -> CRS:
        """The plan's metric CRS."""
        return CRS.from_user_input(self.estates.crs)


def _geo_or_none(frame: object) -> gpd.GeoDataFrame | None:
    if isinstance(frame, gpd.GeoDataFrame) and len(frame) and frame.crs is not None:
        return frame
    return None


def _frame_or_none(frame: object) -> pd.DataFrame | None:
    return frame if isinstance(frame, pd.DataFrame) and len(frame) else None


def _info_dict(frame: pd.DataFrame) -> dict[str, str]:
    if not {"key", "value"} <= set(frame.columns):
        return {}
    return {
        str(k): "" if pd.isna(v) else str(v)
        for k, v in zip(frame["key"], frame["value"], strict=True)
    }


def read_plan(
    path: str | Path,
    *,
    roads: Sequence[str] | None = None,
    water: Sequence[str] | None = None,
    context_layers: bool = True,
) -> PlanLayers:
    """Read the GeoPackage written by ``lianpian plan`` (layers estates, districts, ...).

    ``adjacency`` and ``quality`` are read when present. With ``context_layers`` the drawings'
    roads and water are read too (:meth:`PlanLayers.attach_context`: the given files, else layers
    ``roads``/``water`` of the plan file, else the input files the plan recorded).

    Raises
    ------
    InputError
        If the file cannot be opened, is not a plan (no estates or districts layer), or the
        estates lack the ``district_id`` column.
    """
    path = Path(path)
    source = path.name
    if not path.exists():
        raise InputError("file not found", source=str(path), fix="give the GeoPackage of a plan")
    try:
        names = {str(n) for n, _ in pyogrio.list_layers(path)}
    except Exception as exc:  # GDAL raises several types for unreadable files
        raise InputError(
            "cannot open the file as a GeoPackage",
            source=source,
            fix="give the .gpkg written by `lianpian plan --out`",
        ) from exc
    missing = [n for n in REQUIRED_LAYERS if n not in names]
    if missing:
        raise InputError(
            msg("not a lianpian plan: no layer {missing}", missing=", ".join(missing)),
            source=source,
            fix="run `lianpian plan ... --out RESULTS.gpkg` and export that file",
        )
    layers = {
        n: geo_io.read_vector(path, layer=n)
        for n in (*REQUIRED_LAYERS, *OPTIONAL_LAYERS)
        if n in names
    }
    if "district_id" not in layers["estates"]:
        raise InputError(
            "the estates layer has no district_id column",
            source=source,
            fix="export the GeoPackage written by `lianpian plan`",
        )
    info = {}
    if "run_info" in names:
        info = _info_dict(pyogrio.read_dataframe(path, layer="run_info", read_geometry=False))
    tables = {
        n: pyogrio.read_dataframe(path, layer=n, read_geometry=False)
        for n in ("adjacency", "quality")
        if n in names
    }
    plan = PlanLayers(
        estates=layers["estates"],
        districts=layers["districts"],
        corridors=_geo_or_none(layers.get("corridors")),
        elderly_sites=_geo_or_none(layers.get("elderly_sites")),
        run_info=info,
        source=str(path),
        adjacency=_frame_or_none(tables.get("adjacency")),
        quality=_frame_or_none(tables.get("quality")),
    )
    for role in ("roads", "water"):
        if context_layers and role in names:
            frame = geo_io.read_vector(path, layer=role)
            setattr(plan, role, context._tidy(frame, plan.crs, plan.context_area(), role))
    if context_layers:
        plan.attach_context(roads, water)
    return plan


# --------------------------------------------------------------------------- district bundle


@dataclass
class DistrictBundle:
    """One district's features, in the plan's metric CRS, with its package name and DXF zone."""

    district_id: str
    row: pd.Series
    outline: gpd.GeoDataFrame
    estates: gpd.GeoDataFrame
    corridors: gpd.GeoDataFrame | None
    elderly_sites: gpd.GeoDataFrame | None
    context: gpd.GeoDataFrame
    name: str
    gk_epsg: int
    roads: gpd.GeoDataFrame | None = None
    water: gpd.GeoDataFrame | None = None
    adjacency: pd.DataFrame | None = None
    quality: pd.DataFrame | None = None

    @property
    def labels(self) -> list[str]:
        """Map label of each member estate: its name, else its 序号 (row number of the schedule)."""
        names = self.estates["name"] if "name" in self.estates else [None] * len(self.estates)
        return [str(i) if _blank(n) else str(n) for i, n in enumerate(names, start=1)]


def _bundle(layers: PlanLayers, district_id: str) -> DistrictBundle:
    districts = layers.districts
    match = districts.loc[districts["district_id"].astype(str) == str(district_id)]
    if match.empty:
        known = first_few(districts["district_id"].astype(str).tolist(), most=8)
        raise InputError(
            msg("no district {district_id!r}", district_id=district_id),
            source=layers.source,
            fix=msg("choose one of: {known}", known=known),
        )
    outline = match.iloc[[0]]
    row = outline.iloc[0]
    shape = outline.geometry.iloc[0]
    estates = layers.estates.loc[layers.estates["district_id"].astype(str) == str(district_id)]
    estates = _with_needs_classes(estates)
    lon = gpd.GeoSeries([shape.centroid], crs=layers.crs).to_crs(WGS84).x.iloc[0]
    county = row.get("county")
    label = str(district_id) if _blank(county) else f"{district_id}_{county}"
    extent = _drawing_extent(shape)
    near = shapely.box(*extent)
    nearby = layers.estates.iloc[layers.estates.sindex.query(near, predicate="intersects")]
    return DistrictBundle(
        district_id=str(district_id),
        row=row,
        outline=outline,
        estates=estates,
        corridors=_part_of(layers.corridors, district_id, shape),
        elderly_sites=_part_of(layers.elderly_sites, district_id, shape),
        context=nearby.loc[~nearby.index.isin(estates.index)],
        name=safe_filename(label),
        gk_epsg=gk_zone_epsg(lon),
        roads=context.in_extent(layers.roads, extent),
        water=context.in_extent(layers.water, extent),
        adjacency=_member_pairs(layers.adjacency, estates["estate_id"]),
        quality=_notes_of(
            layers.quality,
            str(district_id),
            estates,
            Path(layers.run_info.get("source_survey", "").split("::")[0]).name,
        ),
    )


def _drawing_extent(shape: shapely.Geometry) -> tuple[float, float, float, float]:
    """The map window of the district's sheet (plan CRS, metres), 5 % larger.

    The margin covers the GK zone's scale factor; the drawings show the roads, water and
    neighbouring estates in it.
    """
    x0, y0, x1, y1 = sheet.place(shape.bounds).map_window_world()
    dx, dy = (x1 - x0) * 0.05, (y1 - y0) * 0.05
    return x0 - dx, y0 - dy, x1 + dx, y1 + dy


def _member_pairs(adjacency: pd.DataFrame | None, ids: pd.Series) -> pd.DataFrame | None:
    """Adjacency rows whose two estates are both members (``source_id``/``target_id``)."""
    if adjacency is None or not {"source_id", "target_id"} <= set(adjacency.columns):
        return None
    members = set(ids.astype(str))
    keep = adjacency["source_id"].astype(str).isin(members) & adjacency["target_id"].astype(
        str
    ).isin(members)
    part = pd.DataFrame(adjacency.loc[keep]).drop(columns="geometry", errors="ignore")
    return part.reset_index(drop=True) if len(part) else None


def _notes_of(
    quality: pd.DataFrame | None, district_id: str, estates: pd.DataFrame, survey: str
) -> pd.DataFrame | None:
    """Quality notes about a district: its members' survey rows, or naming it or a member.

    A note ``where == "row N"`` from the survey file ``survey`` belongs to the member whose
    ``survey_row`` is N.
    """
    if quality is None or not {"where", "message"} <= set(quality.columns):
        return None
    rows = set()
    if "survey_row" in estates:
        rows = {
            f"row {int(r)}" for r in pd.to_numeric(estates["survey_row"], errors="coerce").dropna()
        }
    ids = [re.escape(str(i)) for i in estates["estate_id"]] + [re.escape(district_id)]
    pattern = re.compile(r"(?<![\w])(" + "|".join(ids) + r")(?![\w])")
    where = quality["where"].astype(str)
    text = where + " " + quality["message"].astype(str)
    source = quality.get("source", pd.Series("", index=quality.index)).astype(str)
    by_row = where.isin(rows) & (source == survey) if survey else where.isin(rows) & False
    keep = by_row | text.map(lambda s: bool(pattern.search(s)))
    part = pd.DataFrame(quality.loc[keep]).drop(columns="geometry", errors="ignore")
    return part.reset_index(drop=True) if len(part) else None


def _part_of(
    frame: gpd.GeoDataFrame | None, district_id: str, shape: shapely.Geometry
) -> gpd.GeoDataFrame | None:
    """Rows of an optional layer for a district: by ``district_id``, else within 50 m of it."""
    if frame is None:
        return None
    if "district_id" in frame:
        part = frame.loc[frame["district_id"].astype(str) == str(district_id)]
    else:
        part = frame.iloc[frame.sindex.query(shape.buffer(50.0), predicate="intersects")]
    return part if len(part) else None


def _blank(value: object) -> bool:
    return value is None or (not isinstance(value, str) and pd.isna(value)) or str(value) == ""


def _with_needs_classes(estates: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Add ``needs_basic``, ``needs_improvement``, ``needs_enhancement``, ``needs_other``."""
    out = estates.copy()
    needs = out["needs"] if "needs" in out else pd.Series(None, index=out.index)
    split = [needs_by_class(cell) for cell in needs]
    for key in (*CONTENT_CLASSES, "other"):
        out[f"needs_{key}"] = pd.Series(
            ["；".join(s[key]) for s in split], index=out.index, dtype="string"
        )
    return out


# --------------------------------------------------------------------------- writers


@dataclass
class PackageFile:
    """One written file of a package (path relative to the package root)."""

    path: str
    description: str
    crs: str = ""


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    return geo_io._plain(frame)  # the one place that maps extension dtypes for GDAL


def _crs_text(crs: CRS) -> str:
    epsg = crs.to_epsg()
    return f"EPSG:{epsg} ({crs.name})" if epsg else crs.name


def _sources(layers: PlanLayers) -> list[dict[str, str]]:
    """Data sources of the run with their licence and whether they are illustrative."""
    out = []
    for key, value in layers.run_info.items():
        if not key.startswith("source_"):
            continue
        for item in [v.strip() for v in value.split(";") if v.strip()]:
            name = Path(item.split("::")[0]).name.lower()
            osm = "osm" in name or (key == "source_estates" and "osm_id" in layers.estates)
            illustrative = any(w in name for w in ("illustrative", "synthetic", "demo"))
            out.append(
                {
                    "role": key.removeprefix("source_"),
                    "file": Path(item).name,
                    "licence": OSM_LICENCE if osm else "as supplied by the user",
                    "illustrative": "yes" if illustrative else "no",
                }
            )
    if not out and "osm_id" in layers.estates:
        out.append(
            {"role": "estates", "file": "?", "licence": OSM_LICENCE, "illustrative": "unknown"}
        )
    return out


def _data_character(layers: PlanLayers) -> str:
    if layers.run_info.get("synthetic") == "true":
        return "SYNTHETIC: the embedded demo town, not real estates (合成数据，非真实小区)"
    if any(s["illustrative"] == "yes" for s in _sources(layers)):
        return (
            "ILLUSTRATIVE inputs: some attributes were generated to exercise the software and "
            "describe no real estate (示意数据，不得作为事实引用)"
        )
    if not layers.run_info:
        return "unknown (the plan recorded no run_info)"
    return "as supplied (no input is marked synthetic or illustrative)"
