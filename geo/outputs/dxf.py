"""The DXF of a package: the district's red-line drawing (红线图) in its Gauss-Krüger zone, for CAD.

Model space, metres, CGCS2000 3-degree Gauss-Krüger zone of the district (no zone prefix in the
easting): the outline, member estates with names (or their 序号 with a key), corridors,
elderly-care sites, the roads and water within the district's extent as context layers, the
boundary points J1... with the 界址点坐标表 (X northing, Y easting, side length) beside the
frame, and an A3 frame (图框) with title block at the drawing's scale (:mod:`geo.outputs.sheet`).
A paper-space layout ``A3 1-<scale>`` holds one locked viewport on that frame at exactly the
drawing's scale, so the drawing plots to scale on A3 from the layout tab.

Opens on the data: ``$EXTMIN``/``$EXTMAX`` and ``$LIMMIN``/``$LIMMAX`` are the drawing's
extents and the ``*Active`` viewport is centred on them, so AutoCAD, GstarCAD (浩辰) and ZWCAD
(中望) show the drawing without ZOOM E. ``$DWGCODEPAGE`` is ANSI_936 (GBK, the code page of
Chinese CAD; a DXF R2010 file itself is UTF-8). Text style ``LP_CJK`` uses the SHX fonts
``gbenor.shx`` with the big font ``gbcbig.shx`` (GB/T 14665 engineering lettering), shipped with
AutoCAD, GstarCAD and ZWCAD alike, so Chinese text shows without a font substitution dialog.
Text from the data is written as plain TEXT with ``%`` escaped (never a control code).

May import: geo.core, geo.io, geo.outputs.bundle, geo.outputs.sheet, ezdxf.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from geo import io as geo_io
from geo.outputs import sheet as sh
from geo.outputs.bundle import DistrictBundle, PlanLayers, _blank, _crs_text

_DXF_LAYERS = {
    "LP_DISTRICT": ("片区边界 district outline", 1),
    "LP_ESTATE": ("小区边界 member estates", 3),
    "LP_ESTATE_NAME": ("小区名称 estate names", 7),
    "LP_CORRIDOR": ("管线廊道 utility corridors", 5),
    "LP_ELDERLY": ("养老服务设施 elderly-care sites", 6),
    "LP_ROAD": ("道路(背景) roads, context", 8),
    "LP_WATER": ("水系(背景) water, context", 4),
    "LP_BPOINT": ("界址点 boundary points", 1),
    "LP_BPOINT_TABLE": ("界址点坐标表 boundary-point table", 7),
    "LP_FRAME": ("图框与标题栏 frame and title block", 7),
    "LP_INFO": ("坐标系与说明 CRS and notes", 8),
}
_DXF_APPID = "LIANPIAN"
#: Text style fonts: GB engineering SHX font and big font, present in AutoCAD, GstarCAD, ZWCAD.
DXF_CJK_FONT = "gbenor.shx"
DXF_BIG_FONT = "gbcbig.shx"
DXF_STYLE = "LP_CJK"
#: Paper text heights (mm): labels, table, title block.
_LABEL_MM, _TABLE_MM, _TITLE_TEXT_MM = 3.0, 2.5, 3.0
#: Rows of the boundary-point table per column beside the frame.
_TABLE_ROWS = 50


def _cad_text(value: object) -> str:
    """Text for a TEXT entity: ``%`` doubled as ``%%%`` (one literal percent), no line breaks."""
    text = " ".join(str(value).split())
    return text.replace("%", "%%%")


def _write_dxf(b: DistrictBundle, path: Path, layers: PlanLayers | None = None) -> str:
    """Write the district's red-line drawing as DXF R2010 in its GK zone; returns the CRS text."""
    import ezdxf

    crs = CRS.from_epsg(b.gk_epsg)
    doc = ezdxf.new("R2010", setup=False, units=6)  # 6 = metres
    doc.header["$MEASUREMENT"] = 1  # metric
    doc.appids.add(_DXF_APPID)
    style = doc.styles.add(DXF_STYLE, font=DXF_CJK_FONT)
    style.dxf.bigfont = DXF_BIG_FONT
    for name, (description, color) in _DXF_LAYERS.items():
        layer = doc.layers.add(name, color=color)
        layer.description = description
    msp = doc.modelspace()
    outline = b.outline.to_crs(crs)
    shape = outline.geometry.iloc[0]
    sheet = sh.place(tuple(outline.total_bounds))
    mm = sheet.m_per_mm
    window = sheet.map_window_world()

    for role, frame, layer in (("water", b.water, "LP_WATER"), ("roads", b.roads, "LP_ROAD")):
        if frame is not None:
            cut = shapely.clip_by_rect(frame.to_crs(crs).geometry.values, *window)
            for geom in cut[~shapely.is_empty(cut)]:
                _dxf_any(msp, geom, layer, role, 0.0)
    for geom in outline.geometry:
        _dxf_polygon(msp, geom, "LP_DISTRICT", b.district_id)
    estates = b.estates.to_crs(crs)
    height = _LABEL_MM * mm
    for estate_id, label, geom in zip(
        estates["estate_id"].astype(str), b.labels, estates.geometry, strict=True
    ):
        _dxf_polygon(msp, geom, "LP_ESTATE", estate_id)
        point = geom.representative_point()
        text = msp.add_text(
            _cad_text(label),
            height=height,
            dxfattribs={"layer": "LP_ESTATE_NAME", "style": DXF_STYLE},
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

    points = sh.boundary_points(shape)
    for p in points:
        if p["side_m"] is None:
            continue  # the closing row repeats the first point
        x, y = p["xy"]
        msp.add_circle((x, y), radius=0.6 * mm, dxfattribs={"layer": "LP_BPOINT"})
        msp.add_text(
            str(p["point"]), height=2.0 * mm, dxfattribs={"layer": "LP_BPOINT", "style": DXF_STYLE}
        ).set_placement((x + 0.9 * mm, y + 0.9 * mm))
    _frame(msp, sheet, b, layers)
    table_box = _point_table(msp, sheet, points)

    _, (px1, py1) = sheet.world(0, 0), sheet.world(*sh.PAPER_MM)
    x0, y0 = sheet.origin
    ext_max = (max(px1, table_box[2]), max(py1, table_box[3]))
    # ezdxf writes the header's extents, limits and code page from these on save
    msp.dxf.extmin = (x0, y0, 0.0)
    msp.dxf.extmax = (*ext_max, 0.0)
    msp.dxf.limmin = (x0, y0)
    msp.dxf.limmax = ext_max
    doc.encoding = "gbk"  # $DWGCODEPAGE ANSI_936; an R2010 file is written in UTF-8 regardless
    doc.set_modelspace_vport(
        height=(ext_max[1] - y0) * 1.05, center=((x0 + ext_max[0]) / 2, (y0 + ext_max[1]) / 2)
    )
    _paper_layout(doc, sheet)
    with geo_io.atomic_path(path) as tmp:
        doc.saveas(tmp)
    return _crs_text(crs)


def _paper_layout(doc, sheet: sh.Sheet) -> None:
    """A paper-space layout ``A3 1:<scale>``: the A3 sheet (mm) with one viewport on the frame.

    The frame and title block are drawn in model space at the drawing's scale; the viewport shows
    that sheet window at exactly 1:scale (one paper mm = ``scale / 1000`` model metres), so the
    layout plots the drawing to scale on A3 without any setup. The viewport is locked.
    """
    width, height = sh.PAPER_MM
    name = f"A3 1-{sheet.scale}"  # ':' is not allowed in a layout name
    doc.layouts.rename("Layout1", name)  # the one paper layout of a new document
    layout = doc.layouts.get(name)
    layout.page_setup(size=(width, height), margins=(0, 0, 0, 0), units="mm")
    centre = sheet.world(width / 2, height / 2)
    viewport = layout.add_viewport(
        center=(width / 2, height / 2),
        size=(width, height),
        view_center_point=centre,
        view_height=height * sheet.m_per_mm,
    )
    viewport.dxf.flags |= 16384  # locked: the scale stays 1:scale
    viewport.dxf.layer = "LP_FRAME"


def _text(msp, text: object, xy: tuple[float, float], height: float, layer: str, align=None):
    import ezdxf

    entity = msp.add_text(
        _cad_text(text), height=height, dxfattribs={"layer": layer, "style": DXF_STYLE}
    )
    entity.set_placement(xy, align=align or ezdxf.enums.TextEntityAlignment.LEFT)
    return entity


def _rect(msp, x0: float, y0: float, x1: float, y1: float, layer: str, width: float = 0.0) -> None:
    msp.add_lwpolyline(
        [(x0, y0), (x1, y0), (x1, y1), (x0, y1)],
        close=True,
        dxfattribs={"layer": layer, "const_width": width},
    )


def _frame(msp, sheet: sh.Sheet, b: DistrictBundle, layers: PlanLayers | None) -> None:
    """The paper edge, the frame (图框, 0.7 mm) and the title block with its rows."""
    mm = sheet.m_per_mm
    _rect(msp, *sheet.world(0, 0), *sheet.world(*sh.PAPER_MM), "LP_FRAME")
    fx0, fy0, fx1, fy1 = sh.frame_mm()
    _rect(msp, *sheet.world(fx0, fy0), *sheet.world(fx1, fy1), "LP_FRAME", 0.7 * mm)
    tx0, ty0, tx1, ty1 = sh.title_block_mm()
    _rect(msp, *sheet.world(tx0, ty0), *sheet.world(tx1, ty1), "LP_FRAME", 0.5 * mm)
    # the title strip's top edge across the frame: the map window ends there
    msp.add_line(sheet.world(fx0, ty1), sheet.world(tx0, ty1), dxfattribs={"layer": "LP_FRAME"})
    fields = sh.title_fields(b, layers, sheet) if layers is not None else []
    step = (ty1 - ty0) / max(len(fields), 1)
    for i, (label, value) in enumerate(fields):
        y = ty1 - (i + 1) * step
        if i:
            msp.add_line(
                sheet.world(tx0, y + step),
                sheet.world(tx1, y + step),
                dxfattribs={"layer": "LP_FRAME"},
            )
        _text(msp, label, sheet.world(tx0 + 2, y + 1.5), _TITLE_TEXT_MM * mm * 0.8, "LP_FRAME")
        _text(msp, value, sheet.world(tx0 + 40, y + 1.5), _TITLE_TEXT_MM * mm * 0.8, "LP_FRAME")
    if fields:
        msp.add_line(
            sheet.world(tx0 + 38, ty0), sheet.world(tx0 + 38, ty1), dxfattribs={"layer": "LP_FRAME"}
        )
    gk = CRS.from_epsg(b.gk_epsg)
    notes = [
        f"坐标系 CRS: {_crs_text(gk)}",
        f"CGCS2000 3° Gauss-Krüger, central meridian {_central_meridian(gk)}°E, metres, no zone prefix",
        "界址点 X = 北坐标 northing, Y = 东坐标 easting (坐标表在图框右侧 table right of the frame)",
        "背景 context: 道路 roads LP_ROAD, 水系 water LP_WATER",
    ]
    unnamed = [
        (lab, eid)
        for lab, eid in zip(b.labels, b.estates["estate_id"].astype(str), strict=True)
        if lab.isdigit()
    ]
    if unnamed:
        for start in range(0, min(len(unnamed), 18), 6):
            key = ", ".join(f"{lab} = {eid}" for lab, eid in unnamed[start : start + 6])
            notes.append(("无名小区编号 unnamed: " if not start else "") + key)
        if len(unnamed) > 18:
            notes.append("... (全部见工作簿 小区清单 all in the workbook's schedule)")
    for i, line in enumerate(notes):
        _text(msp, line, sheet.world(fx0 + 3, ty1 - 5 - i * 4.2), 2.5 * mm, "LP_INFO")


def _point_table(
    msp, sheet: sh.Sheet, points: list[dict[str, object]]
) -> tuple[float, float, float, float]:
    """The 界址点坐标表 beside the frame, in columns of :data:`_TABLE_ROWS` rows; returns its box."""
    mm = sheet.m_per_mm
    widths = (14.0, 30.0, 30.0, 20.0)
    heads = ("点号", "X (m)", "Y (m)", "边长 (m)")
    row_mm = 5.0
    col_w = sum(widths) + 6.0
    x_start = sh.PAPER_MM[0] + 10.0
    top = sh.PAPER_MM[1] - 5.0
    _text(
        msp,
        "界址点坐标表 boundary points (X 北 northing, Y 东 easting)",
        sheet.world(x_start, top + 2),
        3.5 * mm,
        "LP_BPOINT_TABLE",
    )
    chunks = [points[i : i + _TABLE_ROWS] for i in range(0, max(len(points), 1), _TABLE_ROWS)]
    right = x_start
    for c, chunk in enumerate(chunks):
        x0 = x_start + c * col_w
        rows = [
            heads,
            *(
                (
                    p["point"],
                    f"{p['x_north']:.3f}",
                    f"{p['y_east']:.3f}",
                    "" if p["side_m"] is None else f"{p['side_m']:.2f}",
                )
                for p in chunk
            ),
        ]
        bottom = top - row_mm * len(rows)
        _rect(msp, *sheet.world(x0, bottom), *sheet.world(x0 + sum(widths), top), "LP_BPOINT_TABLE")
        for r, values in enumerate(rows):
            y = top - row_mm * (r + 1)
            if r:
                msp.add_line(
                    sheet.world(x0, y + row_mm),
                    sheet.world(x0 + sum(widths), y + row_mm),
                    dxfattribs={"layer": "LP_BPOINT_TABLE"},
                )
            x = x0
            for w, value in zip(widths, values, strict=True):
                if value:
                    _text(
                        msp, value, sheet.world(x + 1.5, y + 1.3), _TABLE_MM * mm, "LP_BPOINT_TABLE"
                    )
                x += w
        x = x0
        for w in widths[:-1]:
            x += w
            msp.add_line(
                sheet.world(x, bottom), sheet.world(x, top), dxfattribs={"layer": "LP_BPOINT_TABLE"}
            )
        right = x0 + sum(widths)
    return (*sheet.world(x_start, 0), *sheet.world(right, top + 8))


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
    """Polygons as closed polylines, lines as polylines, points as a circle with a label.

    ``height`` 0 writes no labels and no XDATA (context layers: roads and water).
    """
    for part in shapely.get_parts(geom):
        kind = part.geom_type
        if kind == "Polygon":
            if height:
                _dxf_polygon(msp, part, layer, label)
            else:
                for _, coords in _rings(part):
                    msp.add_lwpolyline(coords.tolist(), close=True, dxfattribs={"layer": layer})
        elif kind == "LineString":
            coords = np.asarray(part.coords)[:, :2].tolist()
            pline = msp.add_lwpolyline(coords, dxfattribs={"layer": layer})
            if height:
                pline.set_xdata(_DXF_APPID, [(1000, label)])
        elif kind == "Point" and height:
            msp.add_point((part.x, part.y), dxfattribs={"layer": layer})
            msp.add_circle((part.x, part.y), radius=height, dxfattribs={"layer": layer})
            msp.add_text(
                _cad_text(label),
                height=height * 0.8,
                dxfattribs={"layer": layer, "style": DXF_STYLE},
            ).set_placement((part.x + 1.5 * height, part.y))
