"""The renovation policy: one TOML file parsed into a frozen, validated object.

Defaults live in ``geo/default_policy.toml`` with the document each figure comes from. A city's
file overrides them key by key (:func:`load_policy`); the app edits a copy with
:meth:`Policy.with_values`. Unknown keys and out-of-range values raise :class:`PolicyError`
naming the key.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from geo.core.cost_rates import RATE_UNITS, check_item_rates, parse_rate  # noqa: F401
from geo.core.errors import PolicyError
from geo.core.messages import msg
from geo.core.places import county_stem

_LEVELS = ("county", "street", "community", "none")
#: Effects a policy condition (gate) can have on an estate (see geo.planning.conditions).
EFFECTS = ("exclude", "postpone", "weight", "off")
#: How an unsurveyed management model reads (see geo.planning.conditions): existing property
#: management counts as a model (others unknown), unknown (flagged only), or not agreed.
MANAGEMENT_MODEL_UNKNOWN = ("property_management", "unknown", "failed")
#: Which estates districts are formed from (see geo.planning.districts).
FORM_FROM = ("groupable", "ready")
#: What happens to a proposed elderly-care site below the minimum size that no site can absorb.
SMALL_SITE_ACTIONS = ("drop", "enlarge")


def _num(lo: float | None = None, hi: float | None = None) -> dict[str, Any]:
    return {"lo": lo, "hi": hi}


@dataclass(frozen=True)
class Eligibility:
    """Which estates may be renovated (see ``default_policy.toml`` for sources)."""

    cutoff_year: int = field(default=2000, metadata=_num(1949, 2030))
    extension_enabled: bool = True
    extension_last_year: int = field(default=2005, metadata=_num(1949, 2030))
    extension_max_share: float = field(default=0.15, metadata=_num(0, 1))
    consent_threshold: float = field(default=0.8, metadata=_num(0, 1))


@dataclass(frozen=True)
class Adjacency:
    """When two estates are neighbours (metres)."""

    tolerance_m: float = field(default=25.0, metadata=_num(0, 500))
    min_barrier_crossing_m: float = field(default=1.0, metadata=_num(0, 100))
    barrier_road_classes: tuple[str, ...] = (
        "motorway",
        "motorway_link",
        "trunk",
        "trunk_link",
        "primary",
        "primary_link",
    )


@dataclass(frozen=True)
class Districts:
    """Size caps of a district and the administrative level it must stay inside."""

    max_households: int = field(default=5000, metadata=_num(1, None))
    max_estates: int = field(default=20, metadata=_num(2, None))
    min_estates: int = field(default=2, metadata=_num(2, None))
    keep_within_level: str = "county"
    max_walk_m: float = field(default=500.0, metadata=_num(0, 5000))
    lot_max_households: int = field(default=4000, metadata=_num(0, None))
    form_from: str = "groupable"
    exact_max_estates: int = field(default=12, metadata=_num(0, 40))


@dataclass(frozen=True)
class Priority:
    """Weights and scales of the priority score."""

    weight_age: float = field(default=0.25, metadata=_num(0, None))
    weight_needs: float = field(default=0.15, metadata=_num(0, None))
    weight_consent: float = field(default=0.20, metadata=_num(0, None))
    weight_elderly: float = field(default=0.10, metadata=_num(0, None))
    weight_size: float = field(default=0.10, metadata=_num(0, None))
    weight_contiguity: float = field(default=0.10, metadata=_num(0, None))
    weight_readiness: float = field(default=0.10, metadata=_num(0, None))
    age_full_year: int = field(default=1975, metadata=_num(1900, 2030))
    age_zero_year: int = field(default=2005, metadata=_num(1900, 2035))
    size_full_households: int = field(default=2000, metadata=_num(1, None))
    elderly_full_share: float = field(default=0.4, metadata=_num(0.01, 1))
    needs_full_count: int = field(default=10, metadata=_num(1, 100))


@dataclass(frozen=True)
class Cost:
    """Unit costs (yuan)."""

    yuan_per_m2: float = field(default=242.0, metadata=_num(0, None))
    yuan_per_household: float = field(default=27200.0, metadata=_num(0, None))
    item_rates: tuple[str, ...] = ()
    basic_items: tuple[str, ...] = ()
    improvement_items: tuple[str, ...] = ()
    enhancement_items: tuple[str, ...] = ()


@dataclass(frozen=True)
class Conditions:
    """Conditions (gates) of inclusion and their effect per city (see geo.planning.conditions)."""

    illegal_structures: str = "postpone"
    management_model: str = "postpone"
    consent: str = "postpone"
    #: Reading of an estate whose management model is not surveyed (no column, or a blank cell):
    #: see MANAGEMENT_MODEL_UNKNOWN.
    management_model_unknown: str = "property_management"


@dataclass(frozen=True)
class Funding:
    """Who pays: shares of the investment by source (see geo.planning.funding)."""

    residents_min_share: float = field(default=0.2, metadata=_num(0, 1))
    city_share_of_government: float = field(default=0.5, metadata=_num(0, 1))
    utility_items: tuple[str, ...] = ()
    utility_share_of_items: float = field(default=0.5, metadata=_num(0, 1))
    central_share_of_basic: float = field(default=0.3, metadata=_num(0, 1))
    central_last_build_year: int = field(default=2000, metadata=_num(1949, 2030))


@dataclass(frozen=True)
class Elderly:
    """Elderly-care floor-area standard, life circles (metres) and facility siting."""

    m2_per_100_households: float = field(default=20.0, metadata=_num(0, 1000))
    circle_5min_m: float = field(default=300.0, metadata=_num(1, 5000))
    circle_10min_m: float = field(default=500.0, metadata=_num(1, 5000))
    circle_15min_m: float = field(default=1000.0, metadata=_num(1, 5000))
    types_5min: tuple[str, ...] = ("社区养老服务站", "老年人日间照料中心")
    types_10min: tuple[str, ...] = ()
    types_15min: tuple[str, ...] = ("养老院",)
    supply_types: tuple[str, ...] = ("社区养老服务站", "老年人日间照料中心")
    detour_factor: float = field(default=1.3, metadata=_num(1, 3))
    unwalkable_road_classes: tuple[str, ...] = (
        "motorway",
        "motorway_link",
        "trunk",
        "trunk_link",
    )
    nearest_search_m: float = field(default=2000.0, metadata=_num(1, 20000))
    max_new_sites: int = field(default=0, metadata=_num(0, 100000))
    exact_max_candidates: int = field(default=5000, metadata=_num(0, None))
    solver_time_limit_s: float = field(default=60.0, metadata=_num(1, 3600))
    province: str = ""
    m2_per_100_households_by_province: tuple[str, ...] = ()
    min_site_m2: float = field(default=350.0, metadata=_num(0, 100000))
    min_site_m2_by_province: tuple[str, ...] = ()
    merge_reach_m: float = field(default=500.0, metadata=_num(0, 5000))
    small_site_action: str = "drop"

    def provincial(self, key: str) -> float:
        """Return ``m2_per_100_households`` or ``min_site_m2`` for ``province`` when listed.

        The ``<key>_by_province`` lists hold ``"省=value"`` entries; without a ``province`` or an
        entry for it, the key's own value applies.
        """
        if self.province:
            for entry in getattr(self, f"{key}_by_province"):
                name, _, value = entry.partition("=")
                if name.strip() == self.province:
                    return float(value)
        return float(getattr(self, key))


@dataclass(frozen=True)
class Schedule:
    """The proposed five-year schedule: years and annual caps (see ``default_policy.toml``)."""

    first_year: int = field(default=2021, metadata=_num(2000, 2100))
    last_year: int = field(default=2025, metadata=_num(2000, 2100))
    households_per_year: int = field(default=0, metadata=_num(0, None))
    investment_yuan_per_year: float = field(default=0.0, metadata=_num(0, None))
    balance_headroom: float = field(default=0.10, metadata=_num(0, 1))
    objective: str = "households"
    solver: str = "auto"
    solver_max_units: int = field(default=3000, metadata=_num(0, None))
    solver_time_limit_s: float = field(default=120.0, metadata=_num(1, 3600))
    solver_max_nodes: int = field(default=500, metadata=_num(0, None))
    stated_estates_per_year: tuple[str, ...] = ()


#: Named plan periods (five-year plans): name -> (first year, last year); ``--period`` presets.
PLAN_PERIODS: dict[str, tuple[int, int]] = {"2021-2025": (2021, 2025), "2026-2030": (2026, 2030)}
#: Balance objectives of the schedule (see geo.fiveyear.assignment).
SCHEDULE_OBJECTIVES = ("households", "investment", "priority")
#: Cities whose dated milestones are in the policy (``[milestones]``); ``custom`` uses ``custom``.
MILESTONE_CITIES = ("ruicheng", "xinyang", "ziyun", "huaibei", "custom")
#: Stages a milestone can name (progress-table columns of the same name hold the dates).
MILESTONE_STAGES = (
    "surveyed",
    "designed",
    "approved",
    "tendered",
    "started",
    "pipelines",
    "basically_completed",
    "completed",
    "accepted",
)


@dataclass(frozen=True)
class Milestones:
    """Dated milestones of the annual plan per city, as ``"MM-DD stage share"`` (see the TOML)."""

    city: str = "ruicheng"
    ruicheng: tuple[str, ...] = ()
    xinyang: tuple[str, ...] = ()
    ziyun: tuple[str, ...] = ()
    huaibei: tuple[str, ...] = ()
    custom: tuple[str, ...] = ()
    carry_over_finish: str = "06-30"
    satisfaction_threshold: float = field(default=0.8, metadata=_num(0, 1))


@dataclass(frozen=True)
class Survey:
    """Joining a survey table with point coordinates to the footprints (metres, name scores)."""

    tolerance_m: float = field(default=50.0, metadata=_num(0, 1000))
    name_agree: float = field(default=0.85, metadata=_num(0, 1))
    name_search_m: float = field(default=250.0, metadata=_num(0, 5000))
    #: Counties merged or split since a table was made: ``"former = current | current"``
    #: entries (``"下城 = 拱墅区"``, ``"江干 = 上城区 | 钱塘区"``), compared by stem.
    former_counties: tuple[str, ...] = ()

    def successors(self) -> dict[str, tuple[str, ...]]:
        """``{former county stem: (current official names, ...)}`` from :attr:`former_counties`.

        Raises
        ------
        PolicyError
            An entry that is not ``"former = current[ | current ...]"``.
        """
        out: dict[str, tuple[str, ...]] = {}
        for entry in self.former_counties:
            former, sep, current = str(entry).partition("=")
            names = tuple(n.strip() for n in current.split("|") if n.strip())
            if not sep or not county_stem(former) or not names:
                raise PolicyError(
                    'survey.former_counties: {entry!r} is not "former = current | current"',
                    entry=entry,
                )
            out[county_stem(former)] = names
        return out


#: Utility types a corridor can carry (drainage as separate rain and sewage lines, 雨污分流).
UTILITIES = ("water", "rain", "sewage", "gas", "power", "telecom")


@dataclass(frozen=True)
class Corridors:
    """Shared pipeline corridors: routing, unit costs (yuan/m) and clearances (m)."""

    enabled: bool = True
    utilities: tuple[str, ...] = UTILITIES
    search_radius_m: float = field(default=250.0, metadata=_num(10, 5000))
    node_spacing_m: float = field(default=20.0, metadata=_num(1, 500))
    mains_reach_m: float = field(default=30.0, metadata=_num(0, 1000))
    connection_road_classes: tuple[str, ...] = (
        "primary",
        "primary_link",
        "secondary",
        "secondary_link",
        "tertiary",
        "tertiary_link",
    )
    excluded_road_classes: tuple[str, ...] = (
        "motorway",
        "motorway_link",
        "trunk",
        "trunk_link",
    )
    trench_yuan_per_m: float = field(default=1200.0, metadata=_num(0, None))
    water_yuan_per_m: float = field(default=450.0, metadata=_num(0, None))
    rain_yuan_per_m: float = field(default=650.0, metadata=_num(0, None))
    sewage_yuan_per_m: float = field(default=550.0, metadata=_num(0, None))
    gas_yuan_per_m: float = field(default=400.0, metadata=_num(0, None))
    power_yuan_per_m: float = field(default=700.0, metadata=_num(0, None))
    telecom_yuan_per_m: float = field(default=200.0, metadata=_num(0, None))
    connection_yuan: float = field(default=20000.0, metadata=_num(0, None))
    clearance_water_m: float = field(default=1.0, metadata=_num(0, 50))
    clearance_rain_m: float = field(default=2.5, metadata=_num(0, 50))
    clearance_sewage_m: float = field(default=2.5, metadata=_num(0, 50))
    clearance_gas_m: float = field(default=0.7, metadata=_num(0, 50))
    clearance_power_m: float = field(default=0.6, metadata=_num(0, 50))
    clearance_telecom_m: float = field(default=1.0, metadata=_num(0, 50))


_SECTIONS: dict[str, type] = {
    "eligibility": Eligibility,
    "adjacency": Adjacency,
    "districts": Districts,
    "priority": Priority,
    "cost": Cost,
    "elderly": Elderly,
    "schedule": Schedule,
    "milestones": Milestones,
    "corridors": Corridors,
    "survey": Survey,
    "conditions": Conditions,
    "funding": Funding,
}


@dataclass(frozen=True)
class Policy:
    """A complete, validated policy. Build it with :func:`load_policy`."""

    eligibility: Eligibility = Eligibility()
    adjacency: Adjacency = Adjacency()
    districts: Districts = Districts()
    priority: Priority = Priority()
    cost: Cost = Cost()
    elderly: Elderly = Elderly()
    schedule: Schedule = Schedule()
    milestones: Milestones = Milestones()
    corridors: Corridors = Corridors()
    survey: Survey = Survey()
    conditions: Conditions = Conditions()
    funding: Funding = Funding()
    source: str = "defaults"

    def with_values(self, values: dict[str, Any]) -> Policy:
        """Return a copy with ``{"section.key": value}`` replaced, validated like a file.

        Raises
        ------
        PolicyError
            For an unknown key or a value of the wrong type or out of range.
        """
        nested: dict[str, dict[str, Any]] = {}
        for dotted, value in values.items():
            section, _, key = dotted.partition(".")
            nested.setdefault(section, {})[key] = value
        return _merge(self, nested, self.source)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Return the policy as ``{section: {key: value}}`` (tuples as lists), as in the file."""
        out: dict[str, dict[str, Any]] = {}
        for name in _SECTIONS:
            section = dataclasses.asdict(getattr(self, name))
            out[name] = {k: list(v) if isinstance(v, tuple) else v for k, v in section.items()}
        return out

    def to_toml(self) -> str:
        """Return the policy as TOML text (for the manifest of an export or a download)."""
        lines = [f"# lianpian policy (from {self.source})"]
        for section, values in self.to_dict().items():
            lines.append(f"\n[{section}]")
            for key, value in values.items():
                lines.append(f"{key} = {_toml_value(value)}")
        return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return repr(value)


#: Text keys with a fixed set of values: section -> key -> allowed values.
_CHOICES: dict[str, dict[str, tuple[str, ...]]] = {
    "conditions": {
        **{name: EFFECTS for name in ("illegal_structures", "management_model", "consent")},
        "management_model_unknown": MANAGEMENT_MODEL_UNKNOWN,
    },
    "districts": {"form_from": FORM_FROM},
    "elderly": {"small_site_action": SMALL_SITE_ACTIONS},
}


def _check_value(section: str, f: dataclasses.Field[Any], value: Any) -> Any:
    key = f"{section}.{f.name}"
    default = f.default
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise PolicyError("{key} must be true or false, not {value!r}", key=key, value=value)
        return value
    if isinstance(default, tuple):
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise PolicyError(
                "{key} must be a list of strings, not {value!r}", key=key, value=value
            )
        return tuple(value)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise PolicyError("{key} must be text, not {value!r}", key=key, value=value)
        if f.name == "keep_within_level" and value not in _LEVELS:
            raise PolicyError(
                "{key} must be one of {choices}, not {value!r}",
                key=key,
                choices=", ".join(_LEVELS),
                value=value,
            )
        choices = _CHOICES.get(section, {}).get(f.name)
        if choices and value not in choices:
            raise PolicyError(
                "{key} must be one of {choices}, not {value!r}",
                key=key,
                choices=", ".join(choices),
                value=value,
            )
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PolicyError("{key} must be a number, not {value!r}", key=key, value=value)
    if not math.isfinite(value):  # issue 16: TOML allows nan and inf; no rule means them
        raise PolicyError(
            "{key} = {value!r} is not a finite number. Fix: give a number", key=key, value=value
        )
    if isinstance(default, int) and value != int(value):
        raise PolicyError("{key} must be a whole number, not {value!r}", key=key, value=value)
    lo, hi = f.metadata.get("lo"), f.metadata.get("hi")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise PolicyError(
            "{key} = {value!r} is out of range [{lo}, {hi}]. Fix: give a value in that range",
            key=key,
            value=value,
            lo=lo,
            hi=hi if hi is not None else msg("no limit"),
        )
    return int(value) if isinstance(default, int) else float(value)


def _merge(base: Policy, data: dict[str, Any], source: str) -> Policy:
    sections: dict[str, Any] = {}
    for name, value in data.items():
        if name not in _SECTIONS:
            raise PolicyError(
                "unknown policy section {name!r} (known: {SECTIONS})",
                name=name,
                SECTIONS=", ".join(_SECTIONS),
            )
        if not isinstance(value, dict):
            raise PolicyError("{name} must be a table of keys", name=name)
        current = getattr(base, name)
        fields = {f.name: f for f in dataclasses.fields(current)}
        changes = {}
        for key, item in value.items():
            if key not in fields:
                raise PolicyError("unknown policy key {name}.{key}", name=name, key=key)
            changes[key] = _check_value(name, fields[key], item)
        sections[name] = dataclasses.replace(current, **changes)
    policy = dataclasses.replace(base, **sections, source=source)
    _check_consistency(policy)
    return policy


def _check_consistency(policy: Policy) -> None:
    e, p = policy.eligibility, policy.priority
    if e.extension_last_year < e.cutoff_year:
        raise PolicyError(
            "eligibility.extension_last_year must not be before eligibility.cutoff_year"
        )
    if p.age_zero_year <= p.age_full_year:
        raise PolicyError("priority.age_zero_year must be after priority.age_full_year")
    weights = [getattr(p, f.name) for f in dataclasses.fields(p) if f.name.startswith("weight_")]
    if sum(weights) <= 0:
        raise PolicyError("priority.weight_* must not all be 0")
    if policy.schedule.last_year < policy.schedule.first_year:
        raise PolicyError("schedule.last_year must not be before schedule.first_year")
    _check_schedule(policy)
    if policy.districts.min_estates > policy.districts.max_estates:
        raise PolicyError("districts.min_estates must not exceed districts.max_estates")
    unknown = set(policy.corridors.utilities) - set(UTILITIES)
    if unknown or not policy.corridors.utilities:
        raise PolicyError(
            "corridors.utilities must be a non-empty list of {utilities}, not {given}",
            utilities=", ".join(UTILITIES),
            given=", ".join(policy.corridors.utilities) or "[]",
        )
    el = policy.elderly
    if not el.circle_5min_m <= el.circle_10min_m <= el.circle_15min_m:
        raise PolicyError(
            "elderly.circle_5min_m <= elderly.circle_10min_m <= elderly.circle_15min_m must hold"
        )
    for key in ("m2_per_100_households", "min_site_m2"):
        for entry in getattr(el, f"{key}_by_province"):
            name, sep, value = entry.partition("=")
            try:
                ok = bool(sep and name.strip()) and float(value) >= 0
            except ValueError:
                ok = False
            if not ok:
                raise PolicyError(
                    'elderly.{key}_by_province: {entry!r} is not "province=number"',
                    key=key,
                    entry=entry,
                )
    check_item_rates(policy.cost.item_rates)
    policy.survey.successors()  # raises on a malformed entry
    typed = [*el.types_5min, *el.types_10min, *el.types_15min]
    if len(typed) != len(set(typed)):
        raise PolicyError("elderly.types_5min/10min/15min: a facility type is in two life circles")


def _check_schedule(policy: Policy) -> None:
    """The [schedule] and [milestones] blocks: names and the milestone format."""
    s, m = policy.schedule, policy.milestones
    if s.objective not in SCHEDULE_OBJECTIVES:
        raise PolicyError(
            "schedule.objective must be one of {SCHEDULE_OBJECTIVES}, not {objective!r}",
            SCHEDULE_OBJECTIVES=", ".join(SCHEDULE_OBJECTIVES),
            objective=s.objective,
        )
    if s.solver not in ("auto", "milp", "greedy"):
        raise PolicyError(
            "schedule.solver must be auto, milp or greedy, not {solver!r}", solver=s.solver
        )
    for item in s.stated_estates_per_year:
        if not re.fullmatch(r"\d{4}: ?\d+", item):
            raise PolicyError(
                "schedule.stated_estates_per_year: {item!r} is not 'YEAR: N', e.g. '2022: 7'",
                item=item,
            )
    if m.city not in MILESTONE_CITIES:
        raise PolicyError(
            "milestones.city must be one of {MILESTONE_CITIES}, not {city!r}",
            MILESTONE_CITIES=", ".join(MILESTONE_CITIES),
            city=m.city,
        )
    if not re.fullmatch(r"(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])", m.carry_over_finish):
        raise PolicyError(
            "milestones.carry_over_finish must be MM-DD, not {carry_over_finish!r}",
            carry_over_finish=m.carry_over_finish,
        )
    pattern = re.compile(
        r"(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01]) (" + "|".join(MILESTONE_STAGES) + r") \d{1,3}%"
    )
    for city in MILESTONE_CITIES:
        for item in getattr(m, city):
            if not pattern.fullmatch(item):
                raise PolicyError(
                    "milestones.{city}: {item!r} is not 'MM-DD stage share', e.g. '05-31 started "
                    "100%' (stages: {MILESTONE_STAGES})",
                    city=city,
                    item=item,
                    MILESTONE_STAGES=", ".join(MILESTONE_STAGES),
                )


@functools.cache
def default_policy() -> Policy:
    """Return the policy of ``geo/default_policy.toml`` (the documents' figures).

    Read once per process: a :class:`Policy` is frozen, so every caller can share it (the app
    asks for the defaults on each rerun).
    """
    text = resources.files("geo.core").joinpath("default_policy.toml").read_text(encoding="utf-8")
    return _merge(Policy(), tomllib.loads(text), "defaults")


def load_policy(path: str | Path | None = None) -> Policy:
    """Load a policy: the defaults, overridden key by key by the TOML file at ``path``.

    Raises
    ------
    PolicyError
        If the file cannot be read or parsed, or has an unknown key or a bad value (the message
        names the key, e.g. ``eligibility.cutoff_year``).
    """
    policy = default_policy()
    if path is None:
        return policy
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PolicyError(
            "{path}: cannot read the policy file ({exc})", path=path, exc=exc
        ) from exc
    try:
        return _merge(policy, data, str(path))
    except PolicyError as exc:  # issue 16: name the file with the key
        raise PolicyError("{name}: {exc}", name=Path(path).name, exc=exc) from exc
