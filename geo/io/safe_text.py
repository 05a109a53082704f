"""Text from data made safe for the files it goes into: file names, CSV and spreadsheet cells.

The one place for these guards (OWASP CSV injection, Windows-reserved names); every writer uses them.
May import: the standard library only (workbooks are duck-typed openpyxl objects).
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


def neutralise_workbook(book: object) -> int:
    """Store every formula-like cell of an openpyxl workbook as text; return how many were changed.

    openpyxl turns any string starting with ``=`` into a live formula. Text from data never should
    be one (OWASP CSV injection): such cells, and text starting ``+ - @``, tab or CR, are stored
    as strings with Excel's quote prefix, so Excel shows them as typed and never evaluates them.
    lianpian writes no formula of its own, so every formula cell of its workbooks came from data.
    Call it on a workbook opened for writing (not ``read_only``/``write_only``) before saving.
    """
    changed = 0
    for sheet in getattr(book, "worksheets", []):
        for row in sheet.iter_rows():
            for cell in row:
                value = cell.value
                if cell.data_type == "f" or is_formula_like(value):
                    if not isinstance(value, str):
                        value = str(value)
                        cell.value = value
                    cell.data_type = "s"
                    cell.quotePrefix = True
                    changed += 1
    return changed
