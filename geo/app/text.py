"""The interface strings of the planner's map, one TOML file per language (``strings/*.toml``).

Holds the loader (:func:`strings`, :func:`basemap_labels`) and the language list. Imports only
the standard library (no Streamlit): the strings are plain data, read once per process.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources

#: The interface languages, in the order of the language switch.
LANGUAGES = ("zh", "en")


@cache
def _table(lang: str) -> dict[str, object]:
    if lang not in LANGUAGES:
        raise ValueError(f"unknown interface language {lang!r}; use one of {LANGUAGES}")
    text = resources.files("geo.app").joinpath("strings", f"{lang}.toml").read_text("utf-8")
    return tomllib.loads(text)


def strings(lang: str) -> dict[str, str]:
    """The interface strings of ``lang`` ("zh" or "en"), keyed as in ``strings/<lang>.toml``.

    Returns a new dict (callers may not change the cached table). Raises ``ValueError`` for an
    unknown language.
    """
    return {k: v for k, v in _table(lang).items() if isinstance(v, str)}


def section(lang: str, name: str) -> dict[str, str]:
    """One ``[name]`` table of the language file (e.g. ``basemaps``, ``columns``), as a new dict."""
    return dict(_table(lang).get(name, {}))


def basemap_labels(lang: str) -> dict[str, str]:
    """The basemap names shown in the basemap choice, keyed by ``geo.outputs.maps.BASEMAPS``."""
    return section(lang, "basemaps")
