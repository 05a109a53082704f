"""The CJK fonts of the drawings: which installed font draws Chinese, and the warning when none does.

May import: matplotlib, the standard library; no geo module.
"""

from __future__ import annotations

import contextlib
import functools
import re
import warnings
from pathlib import Path

__all__ = ["CJK_FONT_FAMILIES", "find_cjk_font"]

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


@functools.cache
def _font_scan() -> None:
    """Add the system's CJK font files to matplotlib once per process (fonts added after its cache)."""
    from matplotlib import font_manager

    pattern = re.compile(r"(notosanscjk|notosanssc|sourcehansans|simhei|msyh|pingfang|wqy)", re.I)
    for path in font_manager.findSystemFonts():
        if pattern.search(Path(path).name):
            with contextlib.suppress(Exception):
                font_manager.fontManager.addfont(path)


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
        _font_scan()
        found = known()
    return found


def _no_cjk_font_warning(warn: list[str]) -> None:
    message = (
        "no CJK font found (Noto Sans CJK, SimHei, Microsoft YaHei, PingFang...): the map "
        "labels estates by number and id instead of name; install one, e.g. "
        "`apt install fonts-noto-cjk`"
    )
    warnings.warn(message, UserWarning, stacklevel=3)
    if message not in warn:
        warn.append(message)
