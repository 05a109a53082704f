"""The drawings of a package: the district on an A3 landscape sheet, as PDF and as 300-dpi PNG.

The sheet of :mod:`geo.outputs.sheet` (frame, title block, standard scale 1:N true on paper)
with the map drawn by matplotlib, offline (no network tiles): roads and water around the
district as context, neighbouring estates in grey, member estates by status, the district
outline, corridors and elderly-care sites; a scale bar with the ratio, a north arrow (grid
north of the Gauss-Krüger zone), a legend and the key of the estates labelled by number.

Labels never sit on each other or on a site symbol: each estate's name is tried at its
representative point and at offsets around it; when no place is free the estate is labelled by
its 序号 (the number of the schedule) and listed in the key. Unnamed estates always carry their
number (never an OSM id). Text is drawn with matplotlib's math text off (``text.parse_math``),
so a ``$`` in a name stays a dollar sign.

May import: geo.core, geo.io, geo.outputs.bundle, geo.outputs.context, geo.outputs.fonts,
geo.outputs.sheet,
matplotlib, PIL (never folium: that is geo.outputs.maps).
"""

from __future__ import annotations

import contextlib
import functools
import re
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from geo import io as geo_io
from geo.outputs import sheet as sh
from geo.outputs.bundle import OSM_LICENCE, DistrictBundle, PlanLayers, _sources
from geo.outputs.context import MAJOR_ROAD_CLASSES
from geo.outputs.fonts import _no_cjk_font_warning, find_cjk_font

_STATUS_COLOURS = {"eligible": "#4daf4a", "extension": "#ff7f00"}
_STATUS_LABELS = {"eligible": "符合条件 eligible", "extension": "延伸纳入 extension (2001-2005)"}
_MM_PER_INCH = 25.4
#: Label offsets tried around an estate's point, in label heights (x, y).
_OFFSETS = ((0, 0), (0, 1.3), (0, -1.3), (1.2, 0), (-1.2, 0), (1.0, 1.2), (-1.0, -1.2))


def _polygon_path(geom: shapely.Geometry):
    """A matplotlib Path of a (Multi)Polygon, holes included (even-odd rings)."""
    from matplotlib.path import Path as MplPath

    paths = [
        MplPath(np.asarray(ring.coords)[:, :2], closed=True)
        for poly in shapely.get_parts(geom)
        if poly.geom_type == "Polygon" and not poly.is_empty
        for ring in (poly.exterior, *poly.interiors)
    ]
    return MplPath.make_compound_path(*paths) if paths else None


def _add_polygons(ax, geoms, **style) -> None:
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import PathPatch

    patches = [PathPatch(p) for g in geoms if (p := _polygon_path(g)) is not None]
    if patches:
        ax.add_collection(PatchCollection(patches, **style))


def _add_lines(ax, geoms, **style) -> None:
    from matplotlib.collections import LineCollection

    segments = []
    for geom in geoms:
        for part in shapely.get_parts(geom):
            if part.geom_type == "LineString":
                segments.append(np.asarray(part.coords)[:, :2])
            elif part.geom_type == "Polygon":
                segments += [np.asarray(r.coords)[:, :2] for r in (part.exterior, *part.interiors)]
    if segments:
        ax.add_collection(LineCollection(segments, **style))


def _fig_rect(x0: float, y0: float, x1: float, y1: float) -> tuple[float, float, float, float]:
    """Paper millimetres to figure fractions (left, bottom, width, height)."""
    w, h = sh.PAPER_MM
    return x0 / w, y0 / h, (x1 - x0) / w, (y1 - y0) / h


def _write_drawings(
    b: DistrictBundle,
    pdf_path: Path,
    png_path: Path,
    layers: PlanLayers,
    dpi: int,
    warn: list[str],
) -> tuple[int, list[str]]:
    """Draw the district's A3 sheet; save it as PDF (vector) and PNG (``dpi``).

    Returns
    -------
    tuple
        The scale denominator and the key lines (number = estate) of estates labelled by number.
    """
    with _drawing_rc(warn) as font:
        fig, canvas, scale, key = compose(b, layers, font)
        with geo_io.atomic_path(pdf_path) as tmp:
            fig.savefig(tmp, format="pdf", metadata={"Creator": "lianpian"})
        fig.set_dpi(dpi)
        canvas.draw()
        _save_png(canvas, png_path)
    return scale, key


@contextlib.contextmanager
def _drawing_rc(warn: list[str]):
    """Matplotlib settings of the drawings (CJK font, math text off), restored afterwards."""
    from matplotlib import rcParams

    font = find_cjk_font()
    if font is None:
        _no_cjk_font_warning(warn)
    keys = ("font.family", "axes.unicode_minus", "text.parse_math", "pdf.fonttype")
    saved = {k: rcParams[k] for k in keys}
    rcParams.update(
        {
            "font.family": [font, "DejaVu Sans"] if font else ["DejaVu Sans"],
            "axes.unicode_minus": False,
            "text.parse_math": False,  # a "$" in a name is text, not math
            "pdf.fonttype": 42 if font is None else 3,
        }
    )
    try:
        yield font
    finally:
        rcParams.update(saved)


def compose(b: DistrictBundle, layers: PlanLayers, font: str | None):
    """The A3 figure of a district (inside :func:`_drawing_rc`): (figure, canvas, scale, key)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    crs = CRS.from_epsg(b.gk_epsg)
    outline = b.outline.to_crs(crs)
    sheet = sh.place(tuple(outline.total_bounds))
    fig = Figure(figsize=(sh.PAPER_MM[0] / _MM_PER_INCH, sh.PAPER_MM[1] / _MM_PER_INCH))
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_axes(_fig_rect(*sh.map_window_mm()))
    x0, y0, x1, y1 = sheet.map_window_world()
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal", adjustable="box")
    ax.set_axis_off()
    handles = _draw_map(ax, b, crs, outline, font is not None)
    key = _label_estates(ax, canvas, b, crs, sheet, font is not None)
    _scale_bar(ax, sheet)
    _north_arrow(ax)
    _frame_and_title(fig, b, layers, sheet, font is not None)
    _legend(fig, handles, key, layers, b, font is not None)
    return fig, canvas, sheet.scale, key


@functools.cache
def _palette():
    """A fixed 256-colour palette for the PNG: the drawing's own colours, their blends and greys.

    Mapping each pixel to its nearest palette colour is several times faster than computing an
    adaptive palette for 17 million pixels, and a map has few colours: the styles of
    :func:`_draw_map` (fills as drawn at their opacity over white), a 64-step grey ramp for
    text, lines and anti-aliasing, and the 6 x 6 x 6 web cube for everything else.
    """
    from matplotlib.colors import to_rgb
    from PIL import Image

    def blend(colour: str, alpha: float, under=(1.0, 1.0, 1.0)) -> tuple[int, ...]:
        rgb = to_rgb(colour)
        return tuple(
            round(255 * (alpha * c + (1 - alpha) * u)) for c, u in zip(rgb, under, strict=True)
        )

    styles = [
        *_STATUS_COLOURS.values(),
        "#999999",
        "#d7191c",
        "#2b83ba",
        "#7b3294",
        "#bfe0f5",
        "#7fb8dd",
        "#ececec",
        "#b8b8b8",
        "#c8c8c8",
        "#a0a0a0",
        "#444444",
        "#333333",
    ]
    colours: list[tuple[int, ...]] = []
    for colour in styles:
        for alpha in (1.0, 0.6, 0.35, 0.15):
            colours.append(blend(colour, alpha))
        colours.append(blend(colour, 0.6, to_rgb("#ececec")))
    colours += [(v, v, v) for v in range(0, 256, 4)]
    colours += [
        (r, g, b) for r in range(0, 256, 51) for g in range(0, 256, 51) for b in range(0, 256, 51)
    ]
    unique = list(dict.fromkeys(colours))[:256]
    unique += [(255, 255, 255)] * (256 - len(unique))
    image = Image.new("P", (1, 1))
    image.putpalette([c for rgb in unique for c in rgb])
    return image


def _save_png(canvas, path: Path) -> None:
    """The drawn canvas as a palette PNG (nearest colours of :func:`_palette`, no dithering).

    About 10 times smaller than RGBA at A3 / 300 dpi (17 Mpx) and several times faster to write.
    """
    from PIL import Image

    width, height = canvas.get_width_height(physical=True)
    rgba = Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    image = rgba.convert("RGB").quantize(palette=_palette(), dither=Image.Dither.NONE)
    dpi = canvas.figure.dpi
    with geo_io.atomic_path(path) as tmp:
        image.save(tmp, format="PNG", compress_level=1, compress_type=3, dpi=(dpi, dpi))


def _draw_map(ax, b: DistrictBundle, crs: CRS, outline, chinese: bool) -> list:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    def zh(chinese_text: str, english: str) -> str:
        return f"{chinese_text} {english}" if chinese else english

    handles = []
    if b.water is not None:
        water = b.water.to_crs(crs).geometry
        polys = [g for g in water if g.geom_type in ("Polygon", "MultiPolygon")]
        _add_polygons(ax, polys, facecolor="#bfe0f5", edgecolor="#7fb8dd", linewidth=0.4, zorder=1)
        lines = [g for g in water if g.geom_type not in ("Polygon", "MultiPolygon")]
        _add_lines(ax, lines, color="#7fb8dd", linewidth=0.8, zorder=1)
        handles.append(Patch(facecolor="#bfe0f5", edgecolor="#7fb8dd", label=zh("水系", "water")))
    if b.roads is not None:
        roads = b.roads.to_crs(crs)
        major = roads["fclass"].isin(MAJOR_ROAD_CLASSES)
        _add_lines(ax, roads.geometry[~major], color="#c8c8c8", linewidth=0.6, zorder=2)
        _add_lines(ax, roads.geometry[major], color="#a0a0a0", linewidth=1.6, zorder=2)
        handles.append(Line2D([], [], color="#a0a0a0", linewidth=1.6, label=zh("道路", "roads")))
    if len(b.context):
        _add_polygons(
            ax,
            b.context.to_crs(crs).geometry,
            facecolor="#ececec",
            edgecolor="#b8b8b8",
            linewidth=0.3,
            zorder=3,
        )
        handles.append(
            Patch(facecolor="#ececec", edgecolor="#b8b8b8", label=zh("其他小区", "other estates"))
        )
    est = b.estates.to_crs(crs)
    status = (
        est["status"].astype(str) if "status" in est else pd.Series("eligible", index=est.index)
    )
    _add_polygons(
        ax,
        est.geometry,
        facecolor=[_STATUS_COLOURS.get(s, "#999999") for s in status],
        edgecolor="#333333",
        linewidth=0.5,
        alpha=0.6,
        zorder=4,
    )
    for s in _STATUS_COLOURS:
        if (status == s).any():
            label = _STATUS_LABELS[s] if chinese else s
            handles.append(
                Patch(facecolor=_STATUS_COLOURS[s], alpha=0.6, edgecolor="#333333", label=label)
            )
    _add_lines(ax, outline.geometry, color="#d7191c", linewidth=1.8, linestyle="--", zorder=5)
    handles.insert(
        0,
        Line2D(
            [],
            [],
            color="#d7191c",
            linewidth=1.8,
            linestyle="--",
            label=zh("片区边界", "district outline"),
        ),
    )
    if b.corridors is not None:
        _add_lines(ax, b.corridors.to_crs(crs).geometry, color="#2b83ba", linewidth=2.0, zorder=6)
        handles.append(
            Line2D([], [], color="#2b83ba", linewidth=2.0, label=zh("管线廊道", "utility corridor"))
        )
    if b.elderly_sites is not None:
        pts = b.elderly_sites.to_crs(crs).geometry.representative_point()
        ax.scatter(pts.x, pts.y, marker="^", s=60, color="#7b3294", edgecolor="white", zorder=8)
        handles.append(
            Line2D(
                [],
                [],
                marker="^",
                linestyle="",
                color="#7b3294",
                markersize=7,
                label=zh("养老服务设施", "elderly-care site"),
            )
        )
    return handles


def _label_estates(
    ax, canvas, b: DistrictBundle, crs: CRS, sheet: sh.Sheet, chinese: bool
) -> list[str]:
    """Place estate labels without overlaps (names, else numbers); returns the key lines."""
    est = b.estates.to_crs(crs)
    renderer = canvas.get_renderer()
    occupied = []
    if b.elderly_sites is not None:  # site symbols are taken
        pts = b.elderly_sites.to_crs(crs).geometry.representative_point()
        for x, y in zip(pts.x, pts.y, strict=True):
            px, py = ax.transData.transform((x, y))
            occupied.append((px - 8, py - 8, px + 8, py + 8))
    # the scale bar (lower left, about 90 x 14 mm) and the north arrow (upper right)
    m = sheet.m_per_mm
    x0, y0, x1, y1 = sheet.map_window_world()
    for corner in ((x0, y0, x0 + 95 * m, y0 + 16 * m), (x1 - 14 * m, y1 - 30 * m, x1, y1)):
        (ax0, ay0), (ax1, ay1) = ax.transData.transform([corner[:2], corner[2:]])
        occupied.append((ax0, ay0, ax1, ay1))
    ids = est["estate_id"].astype(str).tolist()
    height = 2.6 * sheet.m_per_mm  # label height, world metres (≈ 7.5 pt on paper)
    # smaller estates first: they have the fewest places
    order = np.argsort(est.geometry.area.to_numpy())
    key: list[str] = []
    numbered: set[int] = set()
    for i in order:
        label = b.labels[i]
        point = est.geometry.iloc[i].representative_point()
        by_number = label.isdigit() or not chinese
        text = str(i + 1) if by_number else label
        placed = _place(ax, renderer, text, point, height, occupied, bold=by_number)
        if not placed and not by_number:
            text, by_number = str(i + 1), True
            placed = _place(ax, renderer, text, point, height, occupied, bold=True)
        if not placed:  # crowded: the number at the point, on a white halo
            _place(ax, renderer, text, point, height, occupied, bold=True, force=True)
        if by_number:
            numbered.add(i)
    for i in sorted(numbered):
        name = b.labels[i]
        if not chinese:
            key.append(f"{i + 1} = {ids[i]}")
            continue
        what = "无名小区 unnamed" if name.isdigit() else name
        key.append(f"{i + 1} = {what} ({ids[i]})")
    return key


def _place(ax, renderer, text, point, height, occupied, bold=False, force=False) -> bool:
    """Put ``text`` at the first free offset around ``point``; False (nothing drawn) if none.

    The text is laid out once: its box is moved by each offset in display units.
    """
    artist = ax.text(
        point.x,
        point.y,
        text,
        ha="center",
        va="center",
        fontsize=7.0,
        fontweight="bold" if bold else "normal",
        zorder=9,
        bbox={"boxstyle": "round,pad=0.12", "fc": "white", "ec": "none", "alpha": 0.75},
    )
    box = artist.get_window_extent(renderer).expanded(1.05, 1.1)
    inside = ax.get_window_extent(renderer)
    origin = ax.transData.transform((point.x, point.y))
    for dx, dy in _OFFSETS if not force else ((0, 0),):
        shift = ax.transData.transform((point.x + dx * height * 2, point.y + dy * height)) - origin
        extent = (box.x0 + shift[0], box.y0 + shift[1], box.x1 + shift[0], box.y1 + shift[1])
        fits = (
            inside.x0 <= extent[0]
            and extent[2] <= inside.x1
            and inside.y0 <= extent[1]
            and extent[3] <= inside.y1
        )
        if force or (fits and not any(_overlap(extent, o) for o in occupied)):
            artist.set_position((point.x + dx * height * 2, point.y + dy * height))
            occupied.append(extent)
            return True
    artist.remove()
    return False


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _scale_bar(ax, sheet: sh.Sheet) -> None:
    """Alternating black/white bar in the map window's lower left, with the ratio 1:N."""
    from matplotlib.patches import Rectangle

    length, segments = sh.nice_bar(sheet.scale)
    m = sheet.m_per_mm
    x0, y0, _, _ = sheet.map_window_world()
    x, y = x0 + 8 * m, y0 + 8 * m
    step = length / segments
    for k in range(segments):
        ax.add_patch(
            Rectangle(
                (x + k * step, y),
                step,
                1.6 * m,
                facecolor="black" if k % 2 == 0 else "white",
                edgecolor="black",
                linewidth=0.6,
                zorder=10,
            )
        )
    for k in (0, segments // 2, segments):
        ax.text(
            x + k * step,
            y + 2.6 * m,
            f"{k * step:g}",
            ha="center",
            va="bottom",
            fontsize=6.5,
            zorder=10,
        )
    ax.text(
        x + length + 3 * m,
        y + 0.8 * m,
        f"m   1:{sheet.scale}",
        ha="left",
        va="center",
        fontsize=8,
        zorder=10,
    )


def _north_arrow(ax) -> None:
    ax.annotate(
        "N",
        xy=(0.965, 0.95),
        xytext=(0.965, 0.86),
        xycoords="axes fraction",
        ha="center",
        va="center",
        fontsize=12,
        fontweight="bold",
        arrowprops={"facecolor": "black", "width": 3, "headwidth": 10},
        zorder=10,
    )


def _frame_and_title(
    fig, b: DistrictBundle, layers: PlanLayers, sheet: sh.Sheet, chinese: bool
) -> None:
    from matplotlib.patches import Rectangle

    def rect(x0, y0, x1, y1, lw):
        fig.add_artist(
            Rectangle(
                (x0 / sh.PAPER_MM[0], y0 / sh.PAPER_MM[1]),
                (x1 - x0) / sh.PAPER_MM[0],
                (y1 - y0) / sh.PAPER_MM[1],
                transform=fig.transFigure,
                fill=False,
                linewidth=lw,
                edgecolor="black",
            )
        )

    fx0, fy0, fx1, fy1 = sh.frame_mm()
    rect(fx0, fy0, fx1, fy1, 1.6)
    tx0, ty0, tx1, ty1 = sh.title_block_mm()
    rect(tx0, ty0, tx1, ty1, 1.0)
    rect(fx0, fy0, tx0, ty1, 0.6)  # the strip left of the title block: legend and key
    fields = sh.title_fields(b, layers, sheet)
    if not chinese:  # no font for Chinese: keep the English half of labels and values
        fields = [(lab.split(" ", 1)[-1], _latin(val)) for lab, val in fields]
    step = (ty1 - ty0) / len(fields)
    for k, (label, value) in enumerate(fields):
        y = ty1 - (k + 0.5) * step
        if k:
            fig.add_artist(_hline(tx0, tx1, ty1 - k * step))
        fig.text((tx0 + 2) / sh.PAPER_MM[0], y / sh.PAPER_MM[1], label, fontsize=7, va="center")
        fig.text((tx0 + 31) / sh.PAPER_MM[0], y / sh.PAPER_MM[1], value, fontsize=7, va="center")
    fig.add_artist(_vline(tx0 + 29, ty0, ty1))


def _latin(text: str) -> str:
    """Text without its CJK characters (for a sheet drawn without a CJK font)."""
    return " ".join(re.sub(r"[\u3000-\u9fff\uff00-\uffef]+", " ", text).split()) or "?"


def _hline(x0, x1, y):
    from matplotlib.lines import Line2D

    w, h = sh.PAPER_MM
    return Line2D([x0 / w, x1 / w], [y / h, y / h], linewidth=0.5, color="black")


def _vline(x, y0, y1):
    from matplotlib.lines import Line2D

    w, h = sh.PAPER_MM
    return Line2D([x / w, x / w], [y0 / h, y1 / h], linewidth=0.5, color="black")


def _legend(
    fig, handles, key: list[str], layers: PlanLayers, b: DistrictBundle, chinese: bool
) -> None:
    fx0, fy0, _, _ = sh.frame_mm()
    _, _, _, ty1 = sh.title_block_mm()
    w, h = sh.PAPER_MM
    fig.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=((fx0 + 1) / w, (ty1 - 1) / h),
        ncol=2,
        fontsize=6.5,
        frameon=False,
        title="图例 legend" if chinese else "legend",
        title_fontsize=7,
        alignment="left",
    )
    lines = key[:9]
    if len(key) > 9:
        more = "见工作簿 小区归属 see the workbook" if chinese else "see the workbook"
        lines.append(f"... +{len(key) - 9} ({more})")
    if lines:
        title = "编号 key (序号 = 小区)" if chinese else "key (number = estate)"
        fig.text(
            (fx0 + 112) / w,
            (ty1 - 2) / h,
            "\n".join([title, *lines]),
            fontsize=5.8,
            va="top",
            linespacing=1.25,
        )
    foot = ["grid north (Gauss-Krüger) · " + ("非测绘成果 " if chinese else "") + "not a survey"]
    if any("OpenStreetMap" in s["licence"] for s in _sources(layers)) or "osm_id" in b.estates:
        foot.append("Map data " + OSM_LICENCE)
    fig.text(
        (fx0 + 1) / w, (fy0 + 1) / h, "\n".join(foot), fontsize=5, color="#444444", va="bottom"
    )
