"""Places in survey tables: county names as listing sites write them, and point coordinates.

Listing-site exports and tables whose points were picked on Baidu or AMap maps carry a region cell
(``所属区域``: ``"西湖 北山"``, county and business circle) and a point (``经度/纬度``, ``lng/lat``,
``x/y`` or one ``坐标`` cell ``"120.15,30.27"``). This module reads those cells; which coordinate
system the points are in is declared by the user (``--survey-crs``) and handled in
:mod:`geo.core.crs`; the join is :mod:`geo.planning.survey_points`.

May import: :mod:`geo.core.names` only (it is imported by :mod:`geo.core.schema`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping

from geo.core.names import MISSING_CELLS, normalise_header, normalise_text

#: Canonical point columns of survey tables (not estate attributes): picked by
#: :func:`point_columns`, turned into points by :mod:`geo.planning.survey_points`.
POINT_COLUMNS = ("longitude", "latitude", "coordinates")
POINT_HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "longitude": (
        "longitude",
        "lng",
        "lon",
        "long",
        "x",
        "经度",
        "东经",
        "x坐标",
        "坐标x",
        "lng_bd09",
    ),
    "latitude": ("latitude", "lat", "y", "纬度", "北纬", "y坐标", "坐标y", "lat_bd09"),
    "coordinates": (
        "coordinates",
        "coordinate",
        "location",
        "lnglat",
        "坐标",
        "经纬度",
        "经纬度坐标",
        "位置坐标",
    ),
}


#: Endings of county-level names (区, 县, 县级市, 自治县, 旗): ``西湖区`` and ``西湖`` share a stem.
_COUNTY_ENDINGS = ("自治县", "自治旗", "林区", "特区", "新区", "区", "县", "市", "旗")
_REGION_SPLIT = re.compile(r"[\s/|·•・\-—>＞]+")


def split_region(cell: object) -> tuple[str, str]:
    """Split a listing site's region cell into county and business circle (商圈/板块).

    ``"西湖 北山"`` gives ``("西湖", "北山")``; ``"西湖区"`` gives ``("西湖区", "")``; separators
    are spaces, ``/``, ``-``, ``·`` or ``>``. The county stays as written (``"西湖"``): mapping it to
    the official name needs the list of counties (:func:`official_county`). Empty cells give
    ``("", "")``.
    """
    text = normalise_text(cell)
    if text.lower() in MISSING_CELLS:
        return "", ""
    parts = [p for p in _REGION_SPLIT.split(text) if p]
    if not parts:
        return "", ""
    return parts[0], " ".join(parts[1:])


def county_stem(name: object) -> str:
    """Return a county name without its ending: ``"西湖区"`` and ``"西湖"`` both give ``"西湖"``.

    Endings: 区, 县, 市, 旗, 新区, 自治县 (kept when only one character would remain).
    """
    text = re.sub(r"\s+", "", normalise_text(name))
    if text.lower() in MISSING_CELLS:
        return ""
    for ending in _COUNTY_ENDINGS:
        if text.endswith(ending) and len(text) - len(ending) >= 2:
            return text[: -len(ending)]
    return text


def official_county(name: object, known: Iterable[str]) -> str | None:
    """Map a county as written (``"西湖"``) to the one official name of ``known`` with its stem.

    ``known`` is the official county names of the run (``西湖区``, ``淳安县`` ...: from the
    boundaries layer or the estates). Returns ``None`` when no known name, or more than one, has
    that stem: the county is then not guessed (``淳安`` could be a 县 or a 区).
    """
    stem = county_stem(name)
    if not stem:
        return None
    found = {k for k in known if isinstance(k, str) and county_stem(k) == stem}
    return found.pop() if len(found) == 1 else None


def point_columns(
    columns: list[str], user_mapping: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Return ``{"longitude": header, "latitude": header}`` or ``{"coordinates": header}``.

    Headers are compared after :func:`geo.core.names.normalise_header` with
    :data:`POINT_HEADER_ALIASES` (``经度/纬度``, ``lng/lat``, ``lon/lat``, ``x/y``, ``坐标``);
    ``user_mapping`` (``{header: "longitude"}`` ...) takes precedence. A pair of longitude and
    latitude columns wins over a single coordinates column; ``{}`` when the table has no points.
    """
    user_mapping = dict(user_mapping or {})
    found: dict[str, str] = {}
    for header, target in user_mapping.items():
        if target in POINT_COLUMNS and header in columns:
            found.setdefault(target, header)
    lookup = {
        normalise_header(alias): role
        for role, aliases in POINT_HEADER_ALIASES.items()
        for alias in aliases
    }
    for column in columns:
        role = lookup.get(normalise_header(column))
        if role is not None and column not in user_mapping:
            found.setdefault(role, column)
    if "longitude" in found and "latitude" in found:
        return {"longitude": found["longitude"], "latitude": found["latitude"]}
    if "coordinates" in found:
        return {"coordinates": found["coordinates"]}
    return {}


_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")
_DMS = re.compile(
    r"([-+]?\d+(?:\.\d+)?)\s*[°度]\s*(?:(\d+(?:\.\d+)?)\s*['′分])?\s*(?:(\d+(?:\.\d+)?)\s*[\"″秒])?"
)


def parse_coordinate(cell: object) -> float | None:
    r"""Parse one coordinate: ``120.153``, ``"E120.153"``, ``"120°9'11\"E"`` or ``"120度9分11秒"``.

    Returns degrees (or the number as written for projected coordinates), ``None`` for an empty
    or unreadable cell. ``S``/``W`` make the value negative.
    """
    text = normalise_text(cell)
    if text.lower() in MISSING_CELLS:
        return None
    sign = -1.0 if re.search(r"[SsWw]|南纬|西经", text) else 1.0
    dms = _DMS.search(text)
    if dms:
        degrees = float(dms.group(1))
        minutes = float(dms.group(2) or 0)
        seconds = float(dms.group(3) or 0)
        value = abs(degrees) + minutes / 60 + seconds / 3600
        return sign * (-value if degrees < 0 else value)
    numbers = _NUMBER.findall(text)
    if len(numbers) != 1:
        return None
    value = float(numbers[0])
    return sign * value if math.isfinite(value) else None


def parse_coordinate_pair(cell: object) -> tuple[float | None, float | None]:
    """Parse a coordinates cell ``"120.15,30.27"`` (longitude first, as AMap and Baidu write it).

    Separators: comma (also full-width), semicolon, space or ``/``. Returns ``(None, None)`` for
    an empty cell or one without exactly two numbers.
    """
    text = normalise_text(cell)
    if text.lower() in MISSING_CELLS:
        return None, None
    parts = [p for p in re.split(r"[,;\s/]+", text) if p]
    if len(parts) != 2:
        return None, None
    first, second = parse_coordinate(parts[0]), parse_coordinate(parts[1])
    if first is None or second is None:
        return None, None
    return first, second
