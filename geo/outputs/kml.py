"""The KML of a package: the district in WGS-84, styled, for Google Earth and Ovital (奥维).

One folder per layer (片区边界, 小区, 管线廊道, 养老设施; GDAL reads each as a layer). Styles, so
that a viewer does not paint every polygon opaque white: the district outline as a red line with
no fill (its estates show through), estates with a translucent fill by status (符合条件 green,
延伸纳入 orange, other grey), corridors as blue lines, elderly-care sites as icons. The site icon
is a PNG written in ``icons/`` beside the KML (:data:`SITE_ICON`, a relative link), so Google Earth and Ovital
show it offline instead of their default pin. Each placemark
has its name, a description table (HTML built from escaped values: text from the data never
becomes markup) and the same values as ``ExtendedData`` for GIS import. Coordinates are written
with 9 decimals (about 0.1 mm). Written with the standard library's XML writer, which escapes
every text node; valid against the OGC KML 2.2 schema (tests/outputs/test_kml.py).

May import: geo.core, geo.io, geo.outputs.bundle, geo.outputs.labels.
"""

from __future__ import annotations

import html
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo import io as geo_io
from geo.core.crs import WGS84
from geo.outputs.bundle import DistrictBundle, _blank
from geo.outputs.labels import code_label, column_label

KML_NS = "http://www.opengis.net/kml/2.2"
#: The elderly-care site icon, written beside the KML and linked by this relative name
#: (a web address would leave an offline viewer with its default pin).
SITE_ICON = "icons/elderly_site.png"

#: KML colours are aabbggrr. Estates: about 45 % opaque fill, opaque outline.
_STYLES: dict[str, dict[str, str]] = {
    "district": {"line": "ff1c19d7", "width": "3", "fill": "0"},
    "estate_eligible": {"line": "ff2f7d2f", "width": "1.5", "poly": "734aaf4d", "fill": "1"},
    "estate_extension": {"line": "ff0060c0", "width": "1.5", "poly": "73007fff", "fill": "1"},
    "estate_other": {"line": "ff555555", "width": "1.5", "poly": "73999999", "fill": "1"},
    "corridor": {"line": "ffba832b", "width": "4"},
    "site": {"icon": SITE_ICON},
}

_ESTATE_FIELDS = (
    "estate_id",
    "build_year",
    "households",
    "floor_area_m2",
    "status",
    "needs_basic",
    "needs_improvement",
    "needs_enhancement",
)


def _write_kml(b: DistrictBundle, path: Path) -> list[str]:
    """Write the district as styled KML in WGS-84: folders 片区边界, 小区, 管线廊道, 养老设施.

    Returns the names of the files written beside it (the site icon, when the district has
    proposed elderly-care sites), for the package manifest.
    """
    ET.register_namespace("", KML_NS)
    root = ET.Element(f"{{{KML_NS}}}kml")
    doc = _sub(root, "Document")
    _sub(doc, "name", f"片区 {b.district_id}")
    _sub(doc, "open", "1")
    for style_id, spec in _STYLES.items():
        _style(doc, style_id, spec)

    outline = _wgs84(b.outline)
    _folder(
        doc,
        "片区边界 district",
        outline,
        outline["district_id"].astype(str),
        ["county", "estates", "households", "floor_area_m2"],
        lambda _: "district",
    )
    est = _wgs84(b.estates)
    status = est["status"].astype(str) if "status" in est else pd.Series("", index=est.index)
    _folder(
        doc,
        "小区 estates",
        est,
        pd.Series(b.labels, index=est.index),
        [c for c in _ESTATE_FIELDS if c in est],
        lambda i: {"eligible": "estate_eligible", "extension": "estate_extension"}.get(
            status.iloc[i], "estate_other"
        ),
    )
    for key, label, style in (
        ("corridors", "管线廊道 corridors", "corridor"),
        ("elderly_sites", "养老设施 elderly-care sites", "site"),
    ):
        frame = getattr(b, key)
        if frame is None:
            continue
        frame = _wgs84(frame)
        names = (
            frame["name"].where(frame["name"].notna(), "").astype(str)
            if "name" in frame
            else pd.Series("", index=frame.index)
        )
        names = pd.Series(
            [n if n else f"{label.split()[0]} {i + 1}" for i, n in enumerate(names)],
            index=frame.index,
        )
        fields = [c for c in frame.columns if c not in (frame.geometry.name, "name")]
        _folder(doc, label, frame, names, fields, lambda _, s=style: s)
    ET.indent(root, space=" ")
    beside = []
    if b.elderly_sites is not None and len(b.elderly_sites):
        icon = resources.files("geo.outputs").joinpath("assets", Path(SITE_ICON).name).read_bytes()
        target = path.parent / SITE_ICON
        target.parent.mkdir(exist_ok=True)
        with geo_io.atomic_path(target) as tmp:
            Path(tmp).write_bytes(icon)
        beside.append(SITE_ICON)
    with geo_io.atomic_path(path) as tmp:
        ET.ElementTree(root).write(tmp, encoding="utf-8", xml_declaration=True)
    return beside


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    node = ET.SubElement(parent, f"{{{KML_NS}}}{tag}")
    if text is not None:
        node.text = text
    return node


def _style(doc: ET.Element, style_id: str, spec: dict[str, str]) -> None:
    style = _sub(doc, "Style")
    style.set("id", style_id)
    if "icon" in spec:
        icon_style = _sub(style, "IconStyle")
        _sub(icon_style, "scale", "1.2")
        _sub(_sub(icon_style, "Icon"), "href", spec["icon"])
        return
    line = _sub(style, "LineStyle")
    _sub(line, "color", spec["line"])
    _sub(line, "width", spec["width"])
    if "fill" in spec:
        poly = _sub(style, "PolyStyle")
        if "poly" in spec:
            _sub(poly, "color", spec["poly"])
        _sub(poly, "fill", spec["fill"])
        _sub(poly, "outline", "1")


def _wgs84(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The frame in WGS-84; polygons that reprojection made invalid (slivers) repaired."""
    out = frame.to_crs(WGS84)
    geoms = out.geometry.values
    bad = ~shapely.is_valid(geoms)
    if bad.any():
        polygonal = np.isin(shapely.get_type_id(geoms[bad]), [3, 6])
        fixed = shapely.make_valid(geoms[bad])
        fixed[polygonal] = geo_io._polygonal_part(fixed[polygonal])
        geoms = geoms.copy()
        geoms[bad] = fixed
        out = out.set_geometry(gpd.GeoSeries(geoms, index=out.index, crs=WGS84))
    return out


def _text(value: object) -> str:
    if _blank(value):
        return ""
    if isinstance(value, float | np.floating):
        return f"{float(value):,.2f}".rstrip("0").rstrip(".")
    return str(value)


def _folder(doc, name, frame, names: pd.Series, fields: Sequence[str], style_of) -> None:
    folder = _sub(doc, "Folder")
    _sub(folder, "name", name)
    for i in range(len(frame)):
        geom = frame.geometry.iloc[i]
        if geom is None or geom.is_empty:
            continue
        values = [(c, code_label(c, frame[c].iloc[i])) for c in fields]
        mark = _sub(folder, "Placemark")
        _sub(mark, "name", str(names.iloc[i]))
        rows = "".join(
            f"<tr><th align='left'>{html.escape(column_label(c))}</th>"
            f"<td>{html.escape(_text(v))}</td></tr>"
            for c, v in values
            if not _blank(v)
        )
        _sub(mark, "description", f"<table border='1' cellpadding='2'>{rows}</table>")
        _sub(mark, "styleUrl", f"#{style_of(i)}")
        data = _sub(mark, "ExtendedData")
        for c, v in values:
            item = _sub(data, "Data")
            item.set("name", c)
            _sub(item, "value", _text(v) if not isinstance(v, int | np.integer) else str(v))
        _geometry(mark, geom)


def _coords(coords: np.ndarray) -> str:
    return " ".join(f"{x:.9f},{y:.9f}" for x, y in coords[:, :2])


def _geometry(parent: ET.Element, geom: shapely.Geometry) -> None:
    parts = [p for p in shapely.get_parts(geom) if not p.is_empty]
    if len(parts) > 1:
        parent = _sub(parent, "MultiGeometry")
    for part in parts:
        kind = part.geom_type
        if kind == "Polygon":
            poly = _sub(parent, "Polygon")
            ring = _sub(_sub(poly, "outerBoundaryIs"), "LinearRing")
            _sub(ring, "coordinates", _coords(np.asarray(part.exterior.coords)))
            for interior in part.interiors:
                ring = _sub(_sub(poly, "innerBoundaryIs"), "LinearRing")
                _sub(ring, "coordinates", _coords(np.asarray(interior.coords)))
        elif kind == "LineString":
            _sub(_sub(parent, "LineString"), "coordinates", _coords(np.asarray(part.coords)))
        elif kind == "Point":
            _sub(_sub(parent, "Point"), "coordinates", _coords(np.asarray(part.coords)))
        else:  # nested collections
            _geometry(parent, part)
