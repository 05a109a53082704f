"""The drawing sheet shared by the DXF and the PDF/PNG maps: A3 frame, scale, title block, 界址点.

A tender's red-line drawing (红线图) is printed on a standard sheet: A3 landscape (420 x 297 mm,
GB/T 14689-2008 table 1) with the binding margin a = 25 mm on the left and c = 5 mm elsewhere
(GB/T 14689 table 1 for A3), a title block of 180 mm width in the lower right corner
(GB/T 10609.1-2008), at a standard scale (GB/T 14690 preferred ratios 1:1x10^n, 1:2x10^n,
1:5x10^n; 1:500, 1:1000, 1:2000 are the scales of detailed plans and site surveys). The map
window is the frame above the title block strip; the strip left of the title block holds the
legend (PDF) or the notes (DXF).

The boundary-point table (界址点坐标表) lists each ring of the district outline from its
north-western point clockwise, with X = northing and Y = easting in the Gauss-Krüger zone (the
surveying convention of Chinese coordinate tables, the reverse of GIS x/y), and the side length
to the next point. Collinear vertices are dropped (``shapely.simplify(..., 0)``: the line is
unchanged), so every listed point is a corner of the drawn outline.

May import: geo.core, geo.outputs.bundle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np
import shapely
from pyproj import CRS

from geo import __version__
from geo.outputs.bundle import DistrictBundle, PlanLayers, _blank, _crs_text, _data_character

#: A3 landscape, millimetres (GB/T 14689-2008).
PAPER_MM = (420.0, 297.0)
#: Binding margin (left) and the other margins of an A3 frame, millimetres (GB/T 14689-2008).
BINDING_MM, MARGIN_MM = 25.0, 5.0
#: Title block size, millimetres (GB/T 10609.1-2008: 180 mm wide; height from its rows).
TITLE_MM = (180.0, 42.0)
#: Preferred scale denominators (GB/T 14690), largest scale first.
SCALES = (200, 500, 1000, 2000, 2500, 5000, 10000, 20000, 25000, 50000, 100000)


@dataclass(frozen=True)
class Sheet:
    """A district placed on the A3 sheet: scale and where paper millimetres fall in the world.

    ``scale`` is the denominator (1:scale); ``origin`` the world coordinates (metres, GK zone) of
    the paper's lower-left corner; one paper millimetre is ``scale / 1000`` metres.
    """

    scale: int
    origin: tuple[float, float]

    @property
    def m_per_mm(self) -> float:
        """Metres of the world per millimetre of paper."""
        return self.scale / 1000.0

    def world(self, x_mm: float, y_mm: float) -> tuple[float, float]:
        """World coordinates (m) of a point on the paper (mm from the lower-left corner)."""
        return self.origin[0] + x_mm * self.m_per_mm, self.origin[1] + y_mm * self.m_per_mm

    def map_window_world(self) -> tuple[float, float, float, float]:
        """The map window (inside the frame, above the title strip) in world metres."""
        x0, y0, x1, y1 = map_window_mm()
        return (*self.world(x0, y0), *self.world(x1, y1))


def frame_mm() -> tuple[float, float, float, float]:
    """The inner frame (图框) on the paper: (x0, y0, x1, y1) in mm."""
    return BINDING_MM, MARGIN_MM, PAPER_MM[0] - MARGIN_MM, PAPER_MM[1] - MARGIN_MM


def map_window_mm() -> tuple[float, float, float, float]:
    """The map window: the frame less the bottom strip holding the title block."""
    x0, y0, x1, y1 = frame_mm()
    return x0, y0 + TITLE_MM[1], x1, y1


def title_block_mm() -> tuple[float, float, float, float]:
    """The title block in the frame's lower right corner (mm)."""
    _, y0, x1, _ = frame_mm()
    return x1 - TITLE_MM[0], y0, x1, y0 + TITLE_MM[1]


def place(bounds: tuple[float, float, float, float], fill: float = 0.85) -> Sheet:
    """Choose the largest standard scale at which ``bounds`` (world m) fit the map window.

    The extent is centred in the window and takes at most ``fill`` of its width and height.
    """
    minx, miny, maxx, maxy = bounds
    wx0, wy0, wx1, wy1 = map_window_mm()
    need = max((maxx - minx) / ((wx1 - wx0) * fill), (maxy - miny) / ((wy1 - wy0) * fill))
    scale = next((s for s in SCALES if s / 1000.0 >= need), None)
    if scale is None:  # beyond 1:100,000: a round figure above what is needed
        scale = int(10 ** math.ceil(math.log10(need * 1000.0)))
    m = scale / 1000.0
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    mx, my = (wx0 + wx1) / 2, (wy0 + wy1) / 2
    return Sheet(scale=scale, origin=(cx - mx * m, cy - my * m))


def title_fields(b: DistrictBundle, layers: PlanLayers, sheet: Sheet) -> list[tuple[str, str]]:
    """The rows of the title block: (label, value), text from the data left as plain text."""
    county = b.row.get("county")
    where = "" if _blank(county) else f"{county} "
    character = _data_character(layers)
    data = "as supplied 按所给数据"
    if character.startswith("SYNTHETIC"):
        data = "合成数据 SYNTHETIC, not real estates"
    elif character.startswith("ILLUSTRATIVE"):
        data = "示意数据 ILLUSTRATIVE inputs"
    return [
        ("项目 project", f"{where}城镇老旧小区连片改造 contiguous renovation"),
        ("图名 title", f"片区 {b.district_id} 红线图 district red-line drawing"),
        ("比例 scale", f"1:{sheet.scale:,}".replace(",", "")),
        ("日期 date", date.today().isoformat()),
        ("坐标系 CRS", _crs_text(CRS.from_epsg(b.gk_epsg))),
        ("数据 data", data),
        ("制图 by", f"lianpian {__version__} (规划辅助, 非测绘成果 not a survey)"),
    ]


def boundary_points(outline: shapely.Geometry) -> list[dict[str, object]]:
    """The 界址点 of an outline (GK metres): rings from the north-west point, clockwise.

    Returns
    -------
    list of dict
        One per point, in table order, each ring closed by repeating its first point:
        ``ring`` (1-based; holes after their polygon's exterior), ``point`` (``J1``...; the
        repeated first point keeps its number), ``x_north``, ``y_east`` (m, 3 decimals),
        ``side_m`` (length to the next point, m; None on the closing row), ``xy`` (world x, y).
    """
    rows: list[dict[str, object]] = []
    number = 0
    ring_no = 0
    for poly in shapely.get_parts(shapely.simplify(outline, 0.0)):
        if poly.geom_type != "Polygon" or poly.is_empty:
            continue
        for k, ring in enumerate((poly.exterior, *poly.interiors)):
            coords = np.asarray(ring.coords)[:-1, :2]
            if len(coords) < 3:
                continue
            ring_no += 1
            area2 = np.sum(
                coords[:, 0] * np.roll(coords[:, 1], -1) - np.roll(coords[:, 0], -1) * coords[:, 1]
            )
            if area2 > 0:  # counter-clockwise: reverse to clockwise
                coords = coords[::-1]
            start = int(np.argmax(coords[:, 1] - coords[:, 0]))  # north-west: high y, low x
            coords = np.roll(coords, -start, axis=0)
            first = number + 1
            for i, (x, y) in enumerate(coords):
                number += 1
                nx, ny = coords[(i + 1) % len(coords)]
                rows.append(
                    {
                        "ring": ring_no,
                        "hole": k > 0,
                        "point": f"J{number}",
                        "x_north": round(float(y), 3),
                        "y_east": round(float(x), 3),
                        "side_m": round(float(math.hypot(nx - x, ny - y)), 2),
                        "xy": (float(x), float(y)),
                    }
                )
            x, y = coords[0]
            rows.append(
                {
                    "ring": ring_no,
                    "hole": k > 0,
                    "point": f"J{first}",
                    "x_north": round(float(y), 3),
                    "y_east": round(float(x), 3),
                    "side_m": None,
                    "xy": (float(x), float(y)),
                }
            )
    return rows


def nice_bar(scale: int, max_mm: float = 60.0) -> tuple[float, int]:
    """A scale bar: (length in metres, number of segments) no longer than ``max_mm`` on paper."""
    limit = max_mm * scale / 1000.0
    exp = 10 ** math.floor(math.log10(limit))
    length = max(m * exp for m in (1, 2, 5, 10) if m * exp <= limit)
    segments = 5 if str(int(length / exp))[0] == "5" else 4
    return float(length), segments
