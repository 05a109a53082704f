"""The package DXF read back with ezdxf: opens on the data, GBK code page, CJK style, frame, 界址点."""

from __future__ import annotations

import math

import ezdxf
import pytest
import shapely
from ezdxf import bbox

from geo.outputs import bundle, sheet
from geo.outputs import dxf as dxf_out
from tests.outputs.tender_plan import X0, Y0


@pytest.fixture(scope="module")
def doc(package):
    folder, _ = package
    return ezdxf.readfile(next(folder.glob("*.dxf")))


def test_dxf_audits_clean(doc):
    auditor = doc.audit()
    assert not auditor.has_errors, [str(e) for e in auditor.errors]


def test_dxf_opens_on_the_data(doc):
    """$EXTMIN/$EXTMAX hold every entity and the *Active viewport shows them all."""
    extmin, extmax = doc.header["$EXTMIN"], doc.header["$EXTMAX"]
    assert extmin[0] < extmax[0] and extmin[1] < extmax[1]
    box = bbox.extents(doc.modelspace(), fast=True)
    tol = 0.01 * (extmax[0] - extmin[0])
    assert box.extmin.x >= extmin[0] - tol and box.extmin.y >= extmin[1] - tol
    assert box.extmax.x <= extmax[0] + tol and box.extmax.y <= extmax[1] + tol
    # the district (around X0, Y0 in the same GK zone) lies inside the extents
    assert extmin[0] < X0 < extmax[0] and extmin[1] < Y0 < extmax[1]
    active = doc.viewports.get("*Active")[0]
    cx, cy = active.dxf.center.x, active.dxf.center.y
    assert extmin[0] < cx < extmax[0] and extmin[1] < cy < extmax[1]
    assert active.dxf.height >= extmax[1] - extmin[1]
    assert doc.header["$LIMMIN"][0] == pytest.approx(extmin[0])


def test_dxf_code_page_and_cjk_style(doc):
    assert doc.header["$DWGCODEPAGE"] == "ANSI_936"
    style = doc.styles.get(dxf_out.DXF_STYLE)
    assert style.dxf.font == "gbenor.shx" and style.dxf.bigfont == "gbcbig.shx"
    texts = doc.modelspace().query("TEXT")
    assert texts and all(t.dxf.style == dxf_out.DXF_STYLE for t in texts)


def test_dxf_context_layers_within_the_frame(doc):
    msp = doc.modelspace()
    roads = msp.query('LWPOLYLINE[layer=="LP_ROAD"]')
    water = msp.query('LWPOLYLINE[layer=="LP_WATER"]')
    assert len(roads) == 1 and len(water) == 1
    texts = [t.dxf.text for t in msp.query('TEXT[layer=="LP_FRAME"]')]
    scale = int(next(t for t in texts if t.startswith("1:"))[2:])
    origin = doc.header["$EXTMIN"]  # the paper's lower-left corner
    x0, y0, x1, y1 = sheet.Sheet(scale, (origin[0], origin[1])).map_window_world()
    for pline in roads:  # the road is 900 m long: cut to the map window
        for x, y, *_ in pline.get_points():
            assert x0 - 1e-6 <= x <= x1 + 1e-6 and y0 - 1e-6 <= y <= y1 + 1e-6
    pond = shapely.Polygon([p[:2] for p in water[0].get_points()])
    source = shapely.box(X0 + 20, Y0 + 140, X0 + 120, Y0 + 180)  # the pond, cut by the window
    assert pond.area == pytest.approx(source.intersection(shapely.box(x0, y0, x1, y1)).area)
    assert pond.area > 0


def test_dxf_title_block(doc):
    texts = [t.dxf.text for t in doc.modelspace().query('TEXT[layer=="LP_FRAME"]')]
    joined = " ".join(texts)
    assert "1:" in joined and "EPSG:4549" in joined and "D0001" in joined
    assert any(t.startswith("20") and len(t) == 10 for t in texts)  # the date, ISO
    scale = int(next(t for t in texts if t.startswith("1:"))[2:])
    assert scale in sheet.SCALES


def test_dxf_boundary_point_table_matches_the_outline(doc, layers):
    """Every J point of the table is a corner of the outline, X = northing, Y = easting."""
    outline = layers.districts.geometry.iloc[0]
    msp = doc.modelspace()
    cells = [
        (t.dxf.insert[0], t.dxf.insert[1], t.dxf.text)
        for t in msp.query('TEXT[layer=="LP_BPOINT_TABLE"]')
    ]
    texts = [t.dxf.text for t in msp.query('TEXT[layer=="LP_FRAME"]')]
    width = 94.0 * int(next(t for t in texts if t.startswith("1:"))[2:]) / 1000  # table, m
    rows = []
    for x, y, text in sorted(cells, key=lambda c: (round(c[0], 1), -c[1])):
        if text.startswith("J"):  # a row: the cells right of its point number
            row = sorted(c for c in cells if abs(c[1] - y) < 1e-6 and 0 <= c[0] - x < width)
            rows.append((x, -y, [c[2] for c in row]))
    rows = [r for _, _, r in sorted(rows)]
    assert len(rows) >= 5  # a closed ring of at least 4 corners plus the closing row
    corners = shapely.get_coordinates(shapely.simplify(outline, 0.0))
    for point, x_north, y_east, *_ in rows:
        x, y = float(y_east), float(x_north)
        assert min(math.hypot(x - cx, y - cy) for cx, cy in corners) < 0.002, point
    closing = [i for i, r in enumerate(rows) if len(r) == 3]  # no side length: closes a ring
    rings = [outline.exterior, *outline.interiors]  # the test outline: one hole (courtyard)
    assert len(closing) == len(rings) == 2
    starts = [0, closing[0] + 1]
    assert (
        [rows[i][0] for i in closing] == [rows[s][0] for s in starts] == ["J1", rows[starts[1]][0]]
    )
    sides = [float(r[3]) for r in rows if len(r) == 4]
    total = sum(r.length for r in rings)  # sides shown to 0.01 m
    assert sum(sides) == pytest.approx(total, abs=0.005 * len(sides))
    marks = msp.query('CIRCLE[layer=="LP_BPOINT"]')
    assert len(marks) == len(rows) - len(closing)


def test_boundary_points_clockwise_from_north_west():
    square = shapely.box(0, 0, 10, 10)  # shapely gives it counter-clockwise
    rows = sheet.boundary_points(square)
    assert [r["point"] for r in rows] == ["J1", "J2", "J3", "J4", "J1"]
    assert [(r["y_east"], r["x_north"]) for r in rows] == [
        (0, 10),
        (10, 10),
        (10, 0),
        (0, 0),
        (0, 10),
    ]
    assert [r["side_m"] for r in rows] == [10, 10, 10, 10, None]


def test_unnamed_estates_get_their_number_and_a_key(layers, tmp_path):
    plan = bundle.PlanLayers(**{**layers.__dict__})
    estates = plan.estates.copy()
    estates.loc[estates["estate_id"] == "E2", "name"] = None
    plan.estates = estates
    b = bundle._bundle(plan, "D0001")
    assert b.labels == ["朝晖一小区", "2"]
    path = tmp_path / "d.dxf"
    dxf_out._write_dxf(b, path, plan)
    msp = ezdxf.readfile(path).modelspace()
    names = {t.dxf.text for t in msp.query('TEXT[layer=="LP_ESTATE_NAME"]')}
    assert names == {"朝晖一小区", "2"}
    info = " ".join(t.dxf.text for t in msp.query('TEXT[layer=="LP_INFO"]'))
    assert "2 = E2" in info


def test_percent_in_names_is_not_a_control_code(layers, tmp_path):
    plan = bundle.PlanLayers(**{**layers.__dict__})
    estates = plan.estates.copy()
    estates.loc[estates["estate_id"] == "E1", "name"] = "50%%d小区"
    plan.estates = estates
    path = tmp_path / "d.dxf"
    dxf_out._write_dxf(bundle._bundle(plan, "D0001"), path, plan)
    texts = {t.dxf.text for t in ezdxf.readfile(path).modelspace().query("TEXT")}
    assert "50%%%%%%d小区" in texts  # every % doubled to %%% (a literal %): no degree sign


def test_paper_layout_plots_the_frame_at_the_drawing_scale(package):
    """One A3 layout (420 x 297 mm), one locked viewport showing the frame at 1:scale."""
    import ezdxf

    folder, _ = package
    doc = ezdxf.readfile(next(folder.glob("*.dxf")))
    names = [n for n in doc.layouts.names() if n != "Model"]
    assert len(names) == 1 and names[0].startswith("A3 1-")
    scale = int(names[0].split("-")[1])
    layout = doc.layouts.get(names[0])
    assert (layout.dxf_layout.dxf.paper_width, layout.dxf_layout.dxf.paper_height) == (420, 297)
    viewports = [v for v in layout.viewports() if v.dxf.id > 1]  # id 1 is the layout's own
    assert len(viewports) == 1
    vp = viewports[0]
    assert vp.dxf.flags & 16384  # locked
    # one paper mm is scale / 1000 model metres
    assert vp.dxf.view_height / vp.dxf.height == pytest.approx(scale / 1000)
    # the viewport's centre is the middle of the model-space frame
    frame = [e for e in doc.modelspace().query("LWPOLYLINE[layer=='LP_FRAME']")]
    xs = [x for e in frame for x, *_ in e.get_points()]
    ys = [y for e in frame for _, y, *_ in e.get_points()]
    cx, cy = vp.dxf.view_center_point.x, vp.dxf.view_center_point.y
    assert min(xs) < cx < max(xs) and min(ys) < cy < max(ys)
