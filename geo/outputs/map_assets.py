"""Offline assets and safe rendering of the web map (part of :mod:`geo.outputs.maps`).

Holds Leaflet's files inlined as ``data:`` URLs (Leaflet pinned in ``package-lock.json``, installed
from the npm registry by ``./dev``; no CDN, no jQuery or Bootstrap), the project's own map CSS, and
the patch of branca's ``MacroElement.render`` that puts each element's output into the page as
text instead of compiling it again as a Jinja template (data never becomes template code).

May import: the standard library, folium/branca, :mod:`geo.core`, :mod:`geo.outputs.map_canvas_js`
(its script is inlined here after Leaflet). Imported by the ``geo.outputs.map*``
modules only.
"""

from __future__ import annotations

import base64
import functools
import os
import re
from pathlib import Path

import folium
from branca.element import Element, Figure, MacroElement

from geo.core.errors import LianpianError
from geo.outputs.map_canvas_js import CANVAS_JS

LEAFLET_VERSION = "1.9.4"
#: Folder of leaflet.js / leaflet.css: $LIANPIAN_LEAFLET_DIR, else node_modules of the repository.
LEAFLET_DIR_ENV = "LIANPIAN_LEAFLET_DIR"
_REPO = Path(__file__).resolve().parents[2]


class MapAssetsError(LianpianError, RuntimeError):
    """Leaflet's files are not installed (run ``./dev``, which runs ``npm ci``)."""


# --------------------------------------------------------------------------- rendering


class _Text(Element):
    """An element's rendered output, put into the page as it is (never read as a template)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = "Text"
        self.text = text

    def render(self, **kwargs) -> str:
        """Return the text unchanged."""
        return self.text


def _render_macros(self: MacroElement, **kwargs) -> None:
    """``MacroElement.render`` without compiling each output again as a Jinja template.

    branca puts every element's rendered header, HTML and script into the page as
    ``Element(output)``, which compiles that output as a new Jinja template and renders it once
    more. Data would then be read as template code: an estate named ``{{ 7*7 }}`` would show
    ``49``, one named ``{% if %}`` would stop the map from rendering (and a crafted name could run
    code on the server). The output also holds the GeoJSON of every layer, and compiling 2 MB of it
    for the 2,112 Hangzhou estates took about 0.1 s per render. Same output otherwise.
    """
    figure = self.get_root()
    if not isinstance(figure, Figure):
        raise TypeError("You cannot render this Element if it is not in a Figure.")
    module = self._template.module.__dict__
    for part in ("header", "html", "script"):
        macro = module.get(part)
        if macro is not None:
            getattr(figure, part).add_child(_Text(macro(self, kwargs)), name=self.get_name())
    for element in list(self._children.values()):
        element.render(**kwargs)


# folium (through branca) renders every map element with this; geo.outputs.maps is the only module that
# draws maps, so the whole app renders data as text only
_BRANCA_RENDER = getattr(MacroElement.render, "branca_render", MacroElement.render)
_render_macros.branca_render = _BRANCA_RENDER
MacroElement.render = _render_macros

# --------------------------------------------------------------------------- offline assets


def leaflet_dir() -> Path:
    """Return the folder holding Leaflet's ``leaflet.js``, ``leaflet.css`` and ``images/``.

    Raises
    ------
    MapAssetsError
        If neither ``$LIANPIAN_LEAFLET_DIR`` nor ``node_modules/leaflet/dist`` has them.
    """
    env = os.environ.get(LEAFLET_DIR_ENV)
    folder = Path(env) if env else _REPO / "node_modules" / "leaflet" / "dist"
    if not (folder / "leaflet.js").is_file() or not (folder / "leaflet.css").is_file():
        raise MapAssetsError(
            f"Leaflet {LEAFLET_VERSION} not found in {folder}. Fix: run ./dev (it runs npm ci), "
            f"or set {LEAFLET_DIR_ENV} to a folder with leaflet.js and leaflet.css"
        )
    return folder


def _data_url(mime: str, payload: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(payload).decode('ascii')}"


_OWN_CSS = """
.leaflet-container { background: #f2efe9; font: 13px/1.4 "Noto Sans CJK SC", "Microsoft YaHei",
  "PingFang SC", sans-serif; }
.lp-legend { background: rgba(255,255,255,.92); padding: 6px 9px; border-radius: 4px;
  box-shadow: 0 1px 4px rgba(0,0,0,.3); line-height: 1.5; max-width: 260px; }
.lp-legend b { display: block; margin-bottom: 2px; }
.lp-legend i { display: inline-block; width: 14px; height: 12px; margin-right: 6px;
  vertical-align: -1px; border: 1px solid #555; }
.leaflet-tooltip.lp-label { background: rgba(255,255,255,.8); border: 1px solid #333;
  box-shadow: none; font-weight: bold; padding: 1px 4px; }
.leaflet-tooltip.lp-label::before { display: none; }
.leaflet-tooltip.lp-label.leaflet-interactive { cursor: pointer; }
.leaflet-tooltip.lp-tip { width: max-content; max-width: 380px; white-space: normal; }
.lp-tip th { text-align: left; padding-right: 8px; color: #555; font-weight: normal;
  white-space: nowrap; vertical-align: top; }
.lp-tip td { min-width: 6em; white-space: normal; }
.lp-city path.lp-corridors, .lp-city path.lp-elderly_sites { pointer-events: none; }
"""


@functools.cache
def _assets(folder: str) -> tuple[str, str, str, str]:
    """Return the data URLs of leaflet.js, leaflet.css (images inlined), our CSS and our script."""
    path = Path(folder)
    js = (path / "leaflet.js").read_bytes()
    css = (path / "leaflet.css").read_text(encoding="utf-8")

    def inline(match: re.Match[str]) -> str:
        image = path / match.group(1)
        if not image.is_file():
            return match.group(0)
        return f"url({_data_url('image/png', image.read_bytes())})"

    css = re.sub(r"url\((images/[\w@.-]+\.png)\)", inline, css)
    return (
        _data_url("text/javascript", js),
        _data_url("text/css", css.encode("utf-8")),
        _data_url("text/css", _OWN_CSS.encode("utf-8")),
        _data_url("text/javascript", CANVAS_JS.encode("utf-8")),
    )


def _use_offline_assets(m: folium.Map) -> None:
    """Replace folium's CDN scripts and styles by Leaflet inlined as data URLs (no jQuery/Bootstrap)."""
    js, css, own, canvas = _assets(str(leaflet_dir()))
    m.default_js = [("leaflet", js), ("lianpian_canvas", canvas)]
    m.default_css = [("leaflet_css", css), ("lianpian_css", own)]
