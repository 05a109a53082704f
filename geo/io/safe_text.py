"""Text from data made safe for the files it goes into: file names, CSV and spreadsheet cells.

The one place for these guards (OWASP CSV injection, Windows-reserved names); every writer uses them.
May import: the standard library only.
"""

from __future__ import annotations

import re
import unicodedata

_WINDOWS_RESERVED = {
    "CON",
    "PRN",
    "AUX",
    "NUL",
    *(f"COM{i}" for i in range(1, 10)),
    *(f"LPT{i}" for i in range(1, 10)),
}
_UNSAFE_CHARS = re.compile(r'[<>:"/\\|?*!\x00-\x1f\x7f]')
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_filename(name: str, *, max_length: int = 80) -> str:
    r"""Return ``name`` as a file name safe on Windows, macOS and Linux (Chinese kept).

    Characters ``< > : " / \\ | ? *``, control characters and ``!`` (GDAL reads it as an archive
    path separator) become ``_``; trailing dots and
    spaces are dropped; reserved device names (CON, PRN, AUX, NUL, COM1-9, LPT1-9, also with an
    extension) get a leading ``_``; the result is at most ``max_length`` characters and never empty.
    """
    text = unicodedata.normalize("NFC", str(name))
    text = _UNSAFE_CHARS.sub("_", text).strip()
    text = text[:max_length].rstrip(". ")
    if not text:
        text = "_"
    if text.split(".")[0].upper().strip() in _WINDOWS_RESERVED:
        text = "_" + text
    return text


def is_formula_like(value: object) -> bool:
    """True if ``value`` is text a spreadsheet could read as a formula (starts ``= + - @``)."""
    return isinstance(value, str) and value.startswith(_FORMULA_START)


def neutralise_csv(value: object) -> object:
    """Prefix formula-like text with ``'`` for CSV (OWASP CSV injection); other values unchanged."""
    return "'" + value if is_formula_like(value) else value  # type: ignore[operator]
