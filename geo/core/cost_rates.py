"""Item rates of the cost estimate: ``cost.item_rates`` entries such as ``"供水 = 1800 / household"``.

A rate is yuan per unit (:data:`RATE_UNITS`: m² of floor area, household, building, metre of the
estate boundary, or a lump sum per estate); :func:`parse_rate` reads one entry and
:func:`check_item_rates` checks a policy's list when it is loaded (``geo.core.policy``).

May import: the standard library, ``geo.core.errors`` and ``geo.core.messages``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from geo.core.errors import PolicyError
from geo.core.messages import msg

#: Units of an item rate (``cost.item_rates``): what the yuan are per.
RATE_UNITS = {
    "m2": "m² of floor area (建筑面积)",
    "household": "household (户)",
    "building": "building (栋)",
    "m": "metre of the estate boundary (red line), a proxy for estate-level lines and walls",
    "estate": "estate (lump sum)",
}
_RATE = re.compile(
    r"^\s*(?P<item>[^=]+?)\s*=\s*(?P<rate>\d+(?:\.\d+)?)\s*(?:yuan\s*)?/\s*(?P<unit>\w+)\s*$"
)


def parse_rate(entry: str) -> tuple[str, float, str]:
    """Parse a ``cost.item_rates`` entry ``"供水 = 1500 / household"`` into (item, yuan, unit).

    Raises
    ------
    ValueError
        If the entry is not ``item = number / unit`` with a unit of :data:`RATE_UNITS`.
    """
    match = _RATE.match(entry)
    if not match or match["unit"] not in RATE_UNITS:
        raise ValueError(
            msg(
                "{entry!r} is not 'item = yuan / unit' with a unit of {units}",
                entry=entry,
                units=", ".join(RATE_UNITS),
            )
        )
    return match["item"], float(match["rate"]), match["unit"]


def check_item_rates(entries: Iterable[str]) -> None:
    """Every ``cost.item_rates`` entry parses (the items are checked against the annex later).

    Raises
    ------
    PolicyError
        Naming ``cost.item_rates`` and the entry that does not parse.
    """
    for entry in entries:
        try:
            parse_rate(entry)
        except ValueError as exc:
            raise PolicyError("cost.item_rates: {exc}", exc=exc) from exc
