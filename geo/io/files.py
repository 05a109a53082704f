"""Input files before they are parsed: size limits, known suffixes, Shapefile encodings, short error text.

Holds the checks every reader runs first (:func:`_check_input_file`: missing, empty, oversized,
Shapefile without .shx/.dbf, unsafe zip) and small text helpers shared by the readers.
May import: geo.core, geo.io.archives, numpy and the standard library.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from geo.core.errors import InputError, QualityReport
from geo.core.messages import clip, msg
from geo.io import archives as _archive

VECTOR_SUFFIXES = (".gpkg", ".shp", ".geojson", ".json", ".fgb", ".zip", ".pbf", ".kml", ".gml")
TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".xls")
#: Default largest input file (and expanded zip archive), in MB; the environment variable
#: ``LIANPIAN_MAX_INPUT_MB`` changes it (the app sets its own upload limit too).
DEFAULT_MAX_INPUT_MB = 2048.0


def max_input_bytes() -> int:
    """Return the largest input accepted, in bytes (``LIANPIAN_MAX_INPUT_MB``, default 2048 MB).

    Raises
    ------
    InputError
        If the environment variable is not a positive number.
    """
    text = os.environ.get("LIANPIAN_MAX_INPUT_MB", "").strip()
    if not text:
        return int(DEFAULT_MAX_INPUT_MB * 1024 * 1024)
    try:
        megabytes = float(text)
    except ValueError:
        megabytes = -1.0
    if not np.isfinite(megabytes) or megabytes <= 0:
        raise InputError(
            msg("LIANPIAN_MAX_INPUT_MB={text!r} is not a positive number of megabytes", text=text),
            fix="set it to e.g. 200, or unset it",
        )
    return int(megabytes * 1024 * 1024)


#: Default most estates one run plans: 220,000 estates take about 110 s and 3 GB (docs/benchmarks.md,
#: one process), growing linearly; 500,000 stay within about 5 minutes and 7 GB on the 24 GB machine.
#: ``LIANPIAN_MAX_ESTATES`` changes it.
DEFAULT_MAX_ESTATES = 500_000


def max_estates() -> int:
    """Return the most estates one run accepts (``LIANPIAN_MAX_ESTATES``, default 500,000).

    Raises
    ------
    InputError
        If the environment variable is not a positive whole number.
    """
    return positive_int_env("LIANPIAN_MAX_ESTATES", DEFAULT_MAX_ESTATES)


def positive_int_env(name: str, default: int) -> int:
    """Return the environment variable ``name`` as a positive whole number, ``default`` if unset.

    Raises
    ------
    InputError
        If the variable is set but is not a positive whole number.
    """
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) <= 0:
        raise InputError(
            msg("{name}={text!r} is not a positive whole number", name=name, text=text),
            fix=msg("set it to e.g. {default}, or unset it", default=default),
        )
    return int(text)


def _size_text(n_bytes: float) -> str:
    """A size for messages: ``"830 bytes"``, ``"12.5 kB"``, ``"1,234.0 MB"``."""
    if n_bytes < 1024:
        return f"{n_bytes:.0f} bytes"
    if n_bytes < 1024 * 1024:
        return f"{n_bytes / 1024:.1f} kB"
    return f"{n_bytes / 1024 / 1024:,.1f} MB"


def _check_input_file(path: Path) -> None:
    """Refuse a missing, empty or oversized input file, and a Shapefile without its .shx/.dbf."""
    source = path.name
    if not path.exists():
        raise InputError("file not found", source=str(path), fix="check the path")
    if path.is_dir():
        raise InputError(
            "this is a folder, not a file", source=str(path), fix="give the file inside it"
        )
    size = path.stat().st_size
    if size == 0:
        raise InputError("the file is empty (0 bytes)", source=source, fix="export it again")
    limit = max_input_bytes()
    if size > limit:
        raise InputError(
            msg(
                "the file is {size_text_size}, over the input limit of {size_text_limit}",
                size_text_size=_size_text(size),
                size_text_limit=_size_text(limit),
            ),
            source=source,
            fix="clip the data to the planning area, or raise LIANPIAN_MAX_INPUT_MB",
        )
    if path.suffix.lower() == ".shp":
        for part, role in ((".shx", msg("index")), (".dbf", msg("attribute table"))):
            if not any(path.with_suffix(s).exists() for s in (part, part.upper())):
                raise InputError(
                    msg("the Shapefile has no {part} file (its {role})", part=part, role=role),
                    source=source,
                    where=msg("missing {name}", name=path.with_suffix(part).name),
                    fix=msg(
                        "put {stem}{part} next to {name}: a Shapefile is .shp + .shx + .dbf (+ .prj, "
                        ".cpg); or zip all of them together",
                        stem=path.stem,
                        part=part,
                        name=path.name,
                    ),
                )
    if path.suffix.lower() in (".xlsx", ".xlsm"):  # an XLSX is a zip: no bombs either
        members = []
        with contextlib.suppress(InputError):  # not a zip at all: the table reader says so
            members = _archive.members_of(path)
        _archive.check_members(members, source=source, archive_bytes=size, max_expanded_bytes=limit)
    if path.suffix.lower() == ".zip":
        _archive.check_members(
            _archive.members_of(path),
            source=source,
            archive_bytes=size,
            max_expanded_bytes=limit,
        )


def _shapefile_encoding(path: Path) -> str | None:
    """Return the encoding of a Shapefile's .dbf when no .cpg says it: UTF-8 or GB18030 (GBK).

    GDAL reads a .dbf without .cpg as ISO-8859-1, which turns GBK names into mojibake. The
    attribute bytes are tried as strict UTF-8 first, else GB18030 (a superset of GBK).
    """
    if path.with_suffix(".cpg").exists() or path.with_suffix(".CPG").exists():
        return None
    dbf = next(
        (p for p in (path.with_suffix(".dbf"), path.with_suffix(".DBF")) if p.exists()), None
    )
    if dbf is None:
        return None
    raw = dbf.read_bytes()
    header_len = int.from_bytes(raw[8:10], "little") if len(raw) >= 10 else len(raw)
    body = raw[header_len:]
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return "GB18030"
    return "UTF-8"


def _short(exc: BaseException) -> str:
    return clip(str(exc)) or type(exc).__name__


def _id_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def split_sheet(path: str | Path) -> tuple[Path, str | None]:
    """``"table.xlsx::Sheet2"`` -> (Path("table.xlsx"), "Sheet2"); a plain path -> (path, None).

    A path that exists as written is never split (a file name may contain ``::`` on Linux).
    """
    text = str(path)
    if "::" in text and not Path(text).exists():
        file, sheet = text.rsplit("::", 1)
        return Path(file), sheet or None
    return Path(text), None


@contextlib.contextmanager
def library_warnings(source: str, quality: QualityReport | None) -> Iterator[None]:
    """Catch the warnings GDAL/pyogrio (or pandas, openpyxl) raise while reading ``source``.

    They go to ``quality`` as warnings (each text once), never to the terminal: the command line
    prints one line per error and the report lists what the libraries noticed.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    if quality is None:
        return
    seen: set[str] = set()
    for item in caught:
        text = clip(str(item.message))
        if text and text not in seen:
            seen.add(text)
            quality.add("warning", source, "file", msg("the reader noted: {text}", text=text))
