"""Supply against demand: two-step floating catchment area (2SFCA) and the life circles.

Holds :func:`two_step_fca` (Luo, W. & Wang, F. 2003, "Measures of spatial accessibility to health
care in a GIS environment", *Environment and Planning B* 30(6): 865-884: a facility's floor area is
divided among all households in its catchment, so it is never counted once per estate) and the
life circles of GB 50180-2018 (5-minute 300 m, 10-minute 500 m, 15-minute 800-1000 m) with the
facility types each serves (:func:`facility_circles`).

May import: numpy, ``geo.core.policy`` (and :mod:`.walking` for type hints only).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from geo.core.policy import Policy

if TYPE_CHECKING:
    from geo.facilities.elderly.walking import Pairs

#: Life circles, in order, with the policy keys of their distance and facility types.
CIRCLES = ("5min", "10min", "15min")

#: English codes of the canonical facility types, used in column names.
TYPE_CODES = {
    "社区养老服务站": "station",
    "老年人日间照料中心": "day_care",
    "养老院": "nursing_home",
}


def two_step_fca(
    supply_m2: np.ndarray, households: np.ndarray, catchment: Pairs
) -> tuple[np.ndarray, np.ndarray]:
    """Two-step floating catchment area (Luo & Wang 2003) of floor area per household.

    Step 1: each facility ``j`` has ratio ``R_j = S_j / sum(P_k)`` over the estates ``k`` in its
    catchment (m² per household). Step 2: each estate ``i`` has ``A_i = sum(R_j)`` over the
    facilities whose catchment holds it; its accessible floor area is ``A_i * P_i`` (m²).

    Parameters
    ----------
    supply_m2
        Floor area of each facility (m²; 0 for a facility that does not count).
    households
        Households of each estate (0 for unknown: the estate neither takes nor receives supply).
    catchment
        Pairs with ``origin`` = facility index and ``target`` = estate index, one per estate in the
        facility's catchment.

    Returns
    -------
    tuple of ndarray
        ``(ratio_m2_per_household per facility, accessible_m2 per estate)``. The accessible areas
        add up to the supply of the facilities that have households in their catchment.
    """
    supply_m2 = np.asarray(supply_m2, dtype=float)
    households = np.nan_to_num(np.asarray(households, dtype=float))
    demand = np.bincount(
        catchment.origin, weights=households[catchment.target], minlength=len(supply_m2)
    )
    ratio = np.divide(supply_m2, demand, out=np.zeros_like(supply_m2), where=demand > 0)
    per_household = np.bincount(
        catchment.target, weights=ratio[catchment.origin], minlength=len(households)
    )
    return ratio, per_household * households


def facility_circles(policy: Policy) -> dict[str, str]:
    """Return ``{facility type: life circle}`` of the policy (``elderly.types_5min`` ...)."""
    el = policy.elderly
    out = {}
    for circle in CIRCLES:
        for kind in getattr(el, f"types_{circle}"):
            out[kind] = circle
    return out


def circle_m(policy: Policy, circle: str) -> float:
    """Return the walking distance (m) of a life circle (``"5min"``, ``"10min"``, ``"15min"``)."""
    return float(getattr(policy.elderly, f"circle_{circle}_m"))


def type_code(kind: str) -> str:
    """Return the English code of a facility type for column names (``elderly_nearest_<code>``)."""
    return TYPE_CODES.get(kind, "".join(ch if ch.isalnum() else "_" for ch in kind))
