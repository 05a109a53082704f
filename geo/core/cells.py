"""Parsers of one survey cell: build year (建成年代), shares, counts, areas and needs.

Cells are parsed leniently but never guessed: ``"1995、1997"`` is two phases, ``"90年代"`` a
decade, ``"85%"`` a share, ``"1597户"`` a count; an empty cell is unknown. Each parser returns the
value and a note (a :func:`geo.core.messages.msg`, empty when the cell was read as written) for
the quality report; :func:`geo.core.schema.coerce_attributes` applies them to whole columns.

May import: the standard library, numpy, pandas, ``geo.core.messages`` and ``geo.core.names``.
"""

from __future__ import annotations

import datetime
import math
import re
from dataclasses import dataclass

from geo.core.messages import msg
from geo.core.names import MISSING_CELLS, normalise_text

_CN_YEAR_DIGITS = str.maketrans("〇零一二三四五六七八九", "00123456789")
_FIRST_PLAUSIBLE_YEAR = 1900


@dataclass(frozen=True)
class BuildYear:
    """A parsed build-year cell: earliest and latest year (``None`` when unknown) and a note."""

    first: int | None
    latest: int | None
    note: str = ""
    repaired: bool = False  # the note records an interpretation (a repair), not a rejection


def parse_build_year(cell: object, *, current_year: int | None = None) -> BuildYear:
    """Parse a build-year cell (建成年代) as planners write it.

    Accepted forms: ``1995``, ``1995.0``, ``"1995年"``, ``"1995、1997"`` / ``"1995/97"`` /
    ``"1995-1997"`` (phases: first and latest), ``"90年代"`` / ``"1990s"`` / ``"九十年代"`` /
    ``"上世纪90年代末"`` (a decade: 1990 to 1999), ``"九五年"`` (1995), a completion date
    (``"2018-06-30"``, ``"2018年6月"``, a spreadsheet's date cell ``"1995-01-01 00:00:00"``). Empty or unreadable cells and years after ``current_year`` give
    ``BuildYear(None, None, note)``; unknown means "needs survey", never a guess. Readings that
    interpret the cell (phases, a two-digit year) carry the note with ``repaired=True``.

    Examples
    --------
    >>> year = parse_build_year("1995、1997")
    >>> (year.first, year.latest)
    (1995, 1997)
    >>> parse_build_year("90年代").latest
    1999
    """
    current_year = current_year or datetime.date.today().year
    text = normalise_text(cell)
    if text.lower() in MISSING_CELLS:
        return BuildYear(None, None, "")
    written = text
    text = text.translate(_CN_YEAR_DIGITS)
    if re.fullmatch(r"\d+\.0+", text):
        text = text.split(".")[0]
    date = re.fullmatch(
        r"(\d{4})\s*[-/.年]\s*(?:0?[1-9]|1[0-2])\s*月?"
        r"(?:\s*[-/.]\s*(?:0?[1-9]|[12]\d|3[01])\s*日?|\s*(?:0?[1-9]|[12]\d|3[01])\s*日)?"
        # a date cell of a spreadsheet read as text: 1995-01-01 00:00:00, 1995-01-01T00:00
        r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
        r"\s*(?:建成|竣工)?",
        text,
    )
    if date:  # a completion date (2018-06-30, 2018年6月): its year
        return _checked(int(date.group(1)), int(date.group(1)), written, current_year)
    # 上世纪80年代, 20世纪80年代末, 八十年代 (digits above made 8十): the 1900s' decades
    text = re.sub(r"^(?:上世纪|上个世纪|上個世紀|20世纪|2十世纪|20世紀)\s*", "", text)
    text = re.sub(r"^(\d)十(?=\s*年代)", r"\g<1>0", text)
    decade = re.fullmatch(r"(\d{2}|\d{4})\s*(?:年代|s)(?:初|中|末|中期|末期)?", text)
    if decade:
        start = int(decade.group(1))
        start = start + 1900 if start < 100 else start
        return _checked(start, start + 9, text, current_year, note="decade")
    years = [int(y) for y in re.findall(r"\d{4}|(?<=[、/,，\-~～至和及 ])\d{2}(?!\d)", text)]
    note = ""
    if not years:
        short = re.fullmatch(r"(\d{2})年?", text)
        if short:
            years = [1900 + int(short.group(1))]
            note = msg("build year {written!r} read as {year}", written=written, year=years[0])
    if not years:
        return BuildYear(None, None, msg("build year {written!r} is not a year", written=written))
    full: list[int] = []
    for year in years:
        if year < 100 and full:
            year = full[0] // 100 * 100 + year
        full.append(year)
    if len(set(full)) > 1:
        note = msg(
            "build year {written!r} read as phases {first} to {latest} (latest, {latest}, "
            "decides eligibility)",
            written=written,
            first=min(full),
            latest=max(full),
        )
    return _checked(min(full), max(full), written, current_year, note=note)


def _checked(first: int, latest: int, text: str, current_year: int, note: str = "") -> BuildYear:
    # a note other than "decade" here records how the cell was read: a repair
    if first < _FIRST_PLAUSIBLE_YEAR or latest > current_year:
        return BuildYear(
            None,
            None,
            msg(
                "build year {text!r} is outside {first}-{current_year}",
                text=text,
                first=_FIRST_PLAUSIBLE_YEAR,
                current_year=current_year,
            ),
        )
    return BuildYear(first, latest, note, repaired=bool(note) and note != "decade")


def parse_share(value: object, *, percent_scale: bool | None = None) -> tuple[float | None, str]:
    """Parse a share such as a consent rate: ``0.85``, ``"85%"`` and ``85`` all give 0.85.

    Parameters
    ----------
    value
        The cell.
    percent_scale
        What the rest of the column says: ``True`` when its plain numbers are percentages (most
        above 1), ``False`` when they are shares 0-1, ``None`` when unknown. In a column of shares
        a number between 1 and 2 (``1.2``) is rejected: it is a share over 100 %, not a 1.2 %
        rate. Numbers above 2 and up to 100 are read as percentages (reported).

    Returns
    -------
    tuple
        ``(share, note)``; ``share`` is ``None`` for empty or impossible values (negative, or over
        100 %), and ``note`` says what was repaired or rejected.
    """
    text = normalise_text(value)
    if text.lower() in MISSING_CELLS:
        return None, ""
    read_as = _share_reading(text)
    if read_as is not None:
        return read_as
    percent = text.endswith("%")
    try:
        number = float(text.rstrip("%").strip())
    except ValueError:
        return None, msg("{text!r} is not a number", text=text)
    if not math.isfinite(number) or number < 0:
        return None, msg("{text!r} is not a share between 0 and 1", text=text)
    if percent:
        number /= 100
    elif number > 1:
        if percent_scale is False and number < 2:
            return None, (
                msg(
                    "{text!r} is over 1 in a column of shares (0-1): over 100%; treated as unknown",
                    text=text,
                )
            )
        if number <= 100:
            return number / 100, msg(
                "{text!r} read as a percentage ({share:.2f})", text=text, share=number / 100
            )
        return None, msg("{text!r} is not a share between 0 and 1", text=text)
    if number > 1:
        return None, msg("{text!r} is over 100%", text=text)
    return number, ""


#: A count as surveys write it: 约1200户, 共1234户, 1.2万户, 1200余户 / 1200多户 / 1200户以上
#: (a lower bound), 1234(户), 1200户左右. Groups: number, 万, lower-bound word.
_COUNT_CELL = re.compile(
    r"(?:约|共|合计|总计)?\s*(\d+(?:\.\d+)?)\s*(万)?\s*(余|多|以上)?\s*"
    r"(?:[户栋幢个套间]|\(\s*[户栋幢个套间]\s*\))?\s*(余|多|以上)?\s*(?:左右)?"
)


def _share_reading(text: str) -> tuple[float | None, str] | None:
    """A share written as a bound, in tenths or as a fraction; ``None`` for other cells.

    ``85%以上`` / ``≥85%`` / ``不低于85%`` (a lower bound), ``8成`` (tenths), ``2/3``: the share
    with a note saying how it was read.
    """
    bound = re.fullmatch(
        r"(?:[≥>]=?|不低于|不少于|超过|高于)?\s*(\d+(?:\.\d+)?)\s*%\s*(以上|及以上)?", text
    )
    if bound and (bound.group(2) or not text[0].isdigit()):
        share = float(bound.group(1)) / 100
        if share > 1:
            return None, msg("{text!r} is over 100%", text=text)
        return share, msg(
            "{text!r} read as {share:.0%} (the cell gives a lower bound)", text=text, share=share
        )
    tenths = re.fullmatch(r"(\d+(?:\.\d+)?)\s*成", text)
    if tenths and float(tenths.group(1)) <= 10:
        share = float(tenths.group(1)) / 10
        return share, msg("{text!r} read as {share:.0%}", text=text, share=share)
    fraction = re.fullmatch(r"(\d+)\s*/\s*(\d+)", text)
    parts = (int(fraction.group(1)), int(fraction.group(2))) if fraction else (1, 0)
    if parts[1] > 0 and parts[0] <= parts[1]:
        share = parts[0] / parts[1]
        return share, msg("{text!r} read as {share:.0%}", text=text, share=share)
    return None


def parse_count(value: object) -> tuple[int | None, str]:
    """Parse a count (households, buildings): a non-negative whole number, else ``None`` + note.

    Read: ``1,234``, ``1 234``, ``1234户``, ``约1200户``, ``共1234户``, ``1234(户)``, ``1.2万户``
    (12,000), and ``1200余户`` / ``1200多户`` / ``1200户以上``, read as 1,200 with a note (the
    cell gives a lower bound; the survey should give the count).
    """
    text = normalise_text(value).replace(",", "")
    if text.lower() in MISSING_CELLS:
        return None, ""
    if re.fullmatch(r"\d{1,3}(?: \d{3})+", text):  # 1 234: a space between thousands
        text = text.replace(" ", "")
    cell = _COUNT_CELL.fullmatch(text)
    bound = ""
    try:
        if cell:
            number = float(cell.group(1)) * (10_000 if cell.group(2) else 1)
            bound = cell.group(3) or cell.group(4) or ""
        else:
            number = float(text)  # 1e3, 1234.0
    except ValueError:
        return None, msg("{text!r} is not a number", text=text)
    if not math.isfinite(number) or number < 0 or number != int(number):
        return None, msg("{text!r} is not a whole number of at least 0", text=text)
    if bound:
        return int(number), msg(
            "{text!r} read as {number:,} (the cell gives a lower bound)",
            text=text,
            number=int(number),
        )
    return int(number), ""


def parse_area(value: object) -> tuple[float | None, str]:
    """Parse a floor area in m² (a positive number), else ``None``.

    ``"1,234.5"``, ``"70000平方米"``, ``"70000㎡"`` and ``"7万平方米"`` (ten thousands) are read.
    """
    text = normalise_text(value).replace(",", "")
    if text.lower() in MISSING_CELLS:
        return None, ""
    text = re.sub(r"^约", "", text)
    text = re.sub(r"(m2|m²|㎡|平方米|平米)$", "", text)
    scale = 1.0
    if text.endswith("万"):
        text, scale = text[:-1], 10000.0
    try:
        number = float(text) * scale
    except ValueError:
        return None, msg("{text!r} is not a number", text=text)
    if not math.isfinite(number) or number < 0:
        return None, msg("{text!r} is not an area of at least 0 m²", text=text)
    return number, ""


def split_needs(cell: object) -> list[str]:
    """Split a needs cell (改造需求) into items: separators ``；`` ``;`` ``、`` ``,`` and new lines."""
    text = normalise_text(cell)
    if text.lower() in MISSING_CELLS:
        return []
    return [item.strip() for item in re.split(r"[;；、,，\n]+", text) if item.strip()]
