"""Elderly-care facility gaps: who is not served, how much floor area is missing, where to build.

Pure planning logic (no file access, no printing), one concept a module:

- :mod:`.walking`: walking distances on the road and path network (or straight line x detour).
- :mod:`.accessibility`: supply against demand by the two-step floating catchment area, and the
  GB 50180-2018 life circles.
- :mod:`.siting`: maximal covering and location set covering solvers (HiGHS MILP / greedy).
- :mod:`.sites`: candidate sites and the proposed shared sites layer.
- :mod:`.assessment`: :func:`assess_elderly_care`, which ties them together, and the map layers.

This package re-exports the public names, so ``from geo.facilities.elderly import
assess_elderly_care`` keeps working. May import only its submodules.
"""

from geo.facilities.elderly.accessibility import (
    CIRCLES,
    TYPE_CODES,
    facility_circles,
    two_step_fca,
)
from geo.facilities.elderly.assessment import (
    ElderlyCare,
    assess_elderly_care,
    coverage_rings,
    gap_estates,
)
from geo.facilities.elderly.sites import PROGRAMME_STATUSES
from geo.facilities.elderly.siting import SitingSolution, maximal_covering, minimum_cover
from geo.facilities.elderly.walking import _NETWORKS, Pairs, WalkNetwork, walking_distances

__all__ = [
    "CIRCLES",
    "PROGRAMME_STATUSES",
    "TYPE_CODES",
    "_NETWORKS",
    "ElderlyCare",
    "Pairs",
    "SitingSolution",
    "WalkNetwork",
    "assess_elderly_care",
    "coverage_rings",
    "facility_circles",
    "gap_estates",
    "maximal_covering",
    "minimum_cover",
    "two_step_fca",
    "walking_distances",
]
