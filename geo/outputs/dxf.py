"""The DXF of a package: the district in its CGCS2000 3-degree Gauss-Krüger zone, for CAD.

Holds the layer table, the CJK text style and the writer of one district's DXF (outline, member
estates with names, corridors, elderly-care sites, a CRS note).

May import: geo.core, geo.io, geo.outputs.bundle, ezdxf.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from geo import __version__
from geo import io as geo_io
from geo.outputs.bundle import DistrictBundle, _blank, _crs_text

_DXF_LAYERS = {
    "LP_DISTRICT": ("片区边界 district outline", 1),
    "LP_ESTATE": ("小区边界 member estates", 3),
    "LP_ESTATE_NAME": ("小区名称 estate names", 7),
    "LP_CORRIDOR": ("管线廊道 utility corridors", 5),
    "LP_ELDERLY": ("养老服务设施 elderly-care sites", 6),
    "LP_INFO": ("坐标系与说明 CRS and notes", 8),
}
_DXF_APPID = "LIANPIAN"
#: Text style of the DXF: SimSun is on every Chinese Windows; CAD substitutes it elsewhere.
DXF_CJK_FONT = "simsun.ttc"


def _write_dxf(b: DistrictBundle, path: Path) -> str:
    """Write the district as DXF R2010 in its GK zone; returns the CRS text."""
    import ezdxf

    crs = CRS.from_epsg(b.gk_epsg)
    doc = ezdxf.new("R2010", setup=False, units=6)  # 6 = metres
    doc.appids.add(_DXF_APPID)
    doc.styles.add("CJK", font=DXF_CJK_FONT)
    for name, (description, color) in _DXF_LAYERS.items():
        layer = doc.layers.add(name, color=color)
        layer.description = description
    msp = doc.modelspace()
    outline = b.outline.to_crs(crs)
    estates = b.estates.to_crs(crs)
    for geom in outline.geometry:
        _dxf_polygon(msp, geom, "LP_DISTRICT", b.district_id)
    minx, miny, maxx, maxy = outline.total_bounds
    height = float(np.clip(max(maxx - minx, maxy - miny) / 120, 3.0, 20.0))
    for estate_id, name, geom in zip(
        estates["estate_id"].astype(str),
        estates.get("name", estates["estate_id"]),
        estates.geometry,
        strict=True,
    ):
        _dxf_polygon(msp, geom, "LP_ESTATE", estate_id)
        point = geom.representative_point()
        label = estate_id if _blank(name) else str(name)
        text = msp.add_text(
            label,
            height=height,
            dxfattribs={"layer": "LP_ESTATE_NAME", "style": "CJK"},
        )
        text.set_placement((point.x, point.y), align=ezdxf.enums.TextEntityAlignment.MIDDLE_CENTER)
        text.set_xdata(_DXF_APPID, [(1000, estate_id)])
    if b.corridors is not None:
        for i, geom in enumerate(b.corridors.to_crs(crs).geometry):
            _dxf_any(msp, geom, "LP_CORRIDOR", f"corridor {i + 1}", height)
    if b.elderly_sites is not None:
        sites = b.elderly_sites.to_crs(crs)
        names = sites["name"] if "name" in sites else pd.Series([""] * len(sites))
        for i, (geom, name) in enumerate(zip(sites.geometry, names, strict=False)):
            label = f"site {i + 1}" if _blank(name) else str(name)
            _dxf_any(msp, geom, "LP_ELDERLY", label, height)
    note = (
        f"坐标系 CRS: {_crs_text(crs)}, CGCS2000 3-degree Gauss-Krüger, "
        f"central meridian {_central_meridian(crs)}°E, units metres, no zone prefix in "
        f"easting. 片区 {b.district_id}. lianpian {__version__}"
    )
    msp.add_mtext(
        note, dxfattribs={"layer": "LP_INFO", "style": "CJK", "char_height": height * 0.8}
    ).set_location((minx, miny - 3 * height))
    with geo_io.atomic_path(path) as tmp:
        doc.saveas(tmp)
    return _crs_text(crs)


def _central_meridian(crs: CRS) -> str:
    op = crs.coordinate_operation
    for param in op.params if op is not None else ():
        if "longitude of natural origin" in param.name.lower():
            return f"{param.value:g}"
    return "?"


def _rings(geom: shapely.Geometry) -> Iterable[tuple[str, np.ndarray]]:
    for poly in shapely.get_parts(geom):
        if poly.geom_type != "Polygon" or poly.is_empty:
            continue
        yield "outer", np.asarray(poly.exterior.coords)[:-1, :2]
        for ring in poly.interiors:
            yield "hole", np.asarray(ring.coords)[:-1, :2]


def _dxf_polygon(msp, geom: shapely.Geometry, layer: str, key: str) -> None:
    for role, coords in _rings(geom):
        pline = msp.add_lwpolyline(coords.tolist(), close=True, dxfattribs={"layer": layer})
        pline.set_xdata(_DXF_APPID, [(1000, key), (1000, role)])


def _dxf_any(msp, geom: shapely.Geometry, layer: str, label: str, height: float) -> None:
    for part in shapely.get_parts(geom):
        kind = part.geom_type
        if kind == "Polygon":
            _dxf_polygon(msp, part, layer, label)
        elif kind == "LineString":
            coords = np.asarray(part.coords)[:, :2].tolist()
            msp.add_lwpolyline(coords, dxfattribs={"layer": layer}).set_xdata(
                _DXF_APPID, [(1000, label)]
            )
        elif kind == "Point":
            msp.add_point((part.x, part.y), dxfattribs={"layer": layer})
            msp.add_circle((part.x, part.y), radius=height, dxfattribs={"layer": layer})
            msp.add_text(
                label, height=height * 0.8, dxfattribs={"layer": layer, "style": "CJK"}
            ).set_placement((part.x + 1.5 * height, part.y))
