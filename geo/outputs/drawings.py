"""The drawings of a package: the district map drawn with matplotlib (no network tiles).

Holds the CJK font lookup (:func:`find_cjk_font`), the polygon/line drawing helpers and the map
writer with legend, scale bar and north arrow.

May import: geo.core, geo.io, geo.outputs.bundle, matplotlib (never folium: that is geo.outputs.maps).
"""

from __future__ import annotations

import contextlib
import math
import re
import warnings
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from geo import __version__
from geo import io as geo_io
from geo.outputs.bundle import (
    OSM_LICENCE,
    DistrictBundle,
    PlanLayers,
    _blank,
    _crs_text,
    _data_character,
    _sources,
)

# ----- PNG map

#: Font families tried for Chinese labels, in order.
CJK_FONT_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
    "Heiti SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Noto Sans CJK JP",
    "Noto Sans CJK TC",
    "Sarasa Gothic SC",
)


def find_cjk_font() -> str | None:
    """Return the name of an installed font family that draws Chinese, else None.

    Tries :data:`CJK_FONT_FAMILIES` among the fonts matplotlib knows; if none, scans the system
    font folders once for their files (a font installed after matplotlib built its cache).
    """
    from matplotlib import font_manager

    def known() -> str | None:
        names = {f.name for f in font_manager.fontManager.ttflist}
        return next((f for f in CJK_FONT_FAMILIES if f in names), None)

    found = known()
    if found is None:
        pattern = re.compile(
            r"(notosanscjk|notosanssc|sourcehansans|simhei|msyh|pingfang|wqy)", re.I
        )
        for path in font_manager.findSystemFonts():
            if pattern.search(Path(path).name):
                with contextlib.suppress(Exception):
                    font_manager.fontManager.addfont(path)
        found = known()
    return found


_STATUS_COLOURS = {"eligible": "#4daf4a", "extension": "#ff7f00"}
_STATUS_LABELS = {"eligible": "符合条件 eligible", "extension": "延伸纳入 extension (2001-2005)"}


def _nice_length(span: float) -> float:
    target = span / 4
    exp = 10 ** math.floor(math.log10(max(target, 1e-9)))
    return max(m * exp for m in (1, 2, 5) if m * exp <= target) if target >= exp else exp


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


def _add_polygons(ax, geoms: Iterable[shapely.Geometry], **style) -> None:
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import PathPatch

    patches = [PathPatch(p) for g in geoms if (p := _polygon_path(g)) is not None]
    if patches:
        ax.add_collection(PatchCollection(patches, **style))


def _add_lines(ax, geoms: Iterable[shapely.Geometry], **style) -> None:
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


def _no_cjk_font_warning(warn: list[str]) -> None:
    message = (
        "no CJK font found (Noto Sans CJK, SimHei, Microsoft YaHei, PingFang...): the map "
        "labels estates by id instead of name; install one, e.g. `apt install fonts-noto-cjk`"
    )
    warnings.warn(message, UserWarning, stacklevel=3)
    if message not in warn:
        warn.append(message)


def _write_png(
    b: DistrictBundle, path: Path, layers: PlanLayers, dpi: int, warn: list[str]
) -> None:
    """Draw the district map (no network tiles) in its GK zone and save it as PNG."""
    from matplotlib import rcParams
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

    font = find_cjk_font()
    if font is None:
        _no_cjk_font_warning(warn)

    def zh(chinese: str, english: str) -> str:
        return f"{chinese} {english}" if font else english

    crs = CRS.from_epsg(b.gk_epsg)
    families = [font, "DejaVu Sans"] if font else ["DejaVu Sans"]
    saved = rcParams["font.family"], rcParams["axes.unicode_minus"]
    rcParams["font.family"], rcParams["axes.unicode_minus"] = families, False
    try:
        fig = Figure(figsize=(9, 9))
        FigureCanvasAgg(fig)
        ax = fig.add_axes((0.03, 0.07, 0.94, 0.87))
        outline = b.outline.to_crs(crs)
        minx, miny, maxx, maxy = outline.total_bounds
        half = max(maxx - minx, maxy - miny) * 0.62 + 30  # square frame with a margin
        cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
        if len(b.context):
            _add_polygons(
                ax,
                b.context.to_crs(crs).geometry,
                facecolor="#e0e0e0",
                edgecolor="#b0b0b0",
                linewidth=0.4,
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
            linewidth=0.6,
            alpha=0.85,
        )
        _add_lines(ax, outline.geometry, color="#d7191c", linewidth=2.2, linestyle="--")
        handles = [
            Line2D(
                [],
                [],
                color="#d7191c",
                linewidth=2.2,
                linestyle="--",
                label=zh("片区边界", "district outline"),
            ),
            *(
                Patch(
                    facecolor=_STATUS_COLOURS[s],
                    edgecolor="#333333",
                    label=_STATUS_LABELS[s] if font else s,
                )
                for s in _STATUS_COLOURS
                if (status == s).any()
            ),
            Patch(facecolor="#e0e0e0", edgecolor="#b0b0b0", label=zh("其他小区", "other estates")),
        ]
        if b.corridors is not None:
            _add_lines(ax, b.corridors.to_crs(crs).geometry, color="#2b83ba", linewidth=2.5)
            handles.append(
                Line2D(
                    [], [], color="#2b83ba", linewidth=2.5, label=zh("管线廊道", "utility corridor")
                )
            )
        if b.elderly_sites is not None:
            pts = b.elderly_sites.to_crs(crs).geometry.representative_point()
            ax.scatter(pts.x, pts.y, marker="^", s=90, color="#7b3294", edgecolor="white", zorder=5)
            handles.append(
                Line2D(
                    [],
                    [],
                    marker="^",
                    linestyle="",
                    color="#7b3294",
                    markersize=9,
                    label=zh("养老服务设施", "elderly-care site"),
                )
            )
        names = est["name"] if "name" in est else est["estate_id"]
        size = 8 if len(est) <= 10 else 6.5
        for geom, name, eid in zip(est.geometry, names, est["estate_id"], strict=True):
            p = geom.representative_point()
            label = str(eid) if (font is None or _blank(name)) else str(name)
            ax.annotate(
                label,
                (p.x, p.y),
                ha="center",
                va="center",
                fontsize=size,
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.7},
            )
        ax.set_xlim(cx - half, cx + half)
        ax.set_ylim(cy - half, cy + half)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        bar = _nice_length(2 * half)
        ax.add_artist(
            AnchoredSizeBar(
                ax.transData,
                bar,
                f"{bar:,.0f} m",
                "lower left",
                pad=0.6,
                frameon=True,
                size_vertical=half / 75,
            )
        )
        ax.annotate(
            "N",
            xy=(0.95, 0.96),
            xytext=(0.95, 0.86),
            xycoords="axes fraction",
            ha="center",
            va="center",
            fontsize=14,
            fontweight="bold",
            arrowprops={"facecolor": "black", "width": 4, "headwidth": 12},
        )
        ax.legend(handles=handles, loc="upper left", fontsize=8, framealpha=0.9)
        ax.set_title(_map_title(b, len(est), font is not None), fontsize=13)
        fig.text(
            0.5,
            0.015,
            "\n".join(_map_footer(layers, crs, est, font is not None)),
            ha="center",
            fontsize=7,
            color="#444444",
        )
        with geo_io.atomic_path(path) as tmp:
            # fast zlib level: 4x quicker to encode, ~1.4x larger than level 6
            fig.savefig(tmp, dpi=dpi, format="png", pil_kwargs={"compress_level": 1})
    finally:
        rcParams["font.family"], rcParams["axes.unicode_minus"] = saved


def _map_title(b: DistrictBundle, count: int, chinese: bool) -> str:
    hh = b.row.get("households")
    county = b.row.get("county")
    if chinese:
        title = f"片区 District {b.district_id}"
        title += "" if _blank(county) else f" · {county}"
        title += f" · {count} 个小区 estates"
        return title + ("" if _blank(hh) else f" · {int(hh):,} 户 households")
    title = f"District {b.district_id} · {count} estates"
    return title + ("" if _blank(hh) else f" · {int(hh):,} households")


def _map_footer(layers: PlanLayers, crs: CRS, est: pd.DataFrame, chinese: bool) -> list[str]:
    foot = [f"{_crs_text(crs)} · grid north · lianpian {__version__} · {datetime.now():%Y-%m-%d}"]
    if any("OpenStreetMap" in s["licence"] for s in _sources(layers)) or "osm_id" in est:
        foot.append("Map data " + OSM_LICENCE)
    character = _data_character(layers)
    if character.startswith(("SYNTHETIC", "ILLUSTRATIVE")):
        zh = " (示意/合成数据)" if chinese else ""
        foot.append(character.split(":")[0].split()[0] + ": not real figures" + zh)
    return foot
