"""A proposed five-year schedule, its comparison with an imported plan, and the official tables.

Pure planning logic (no file access; :mod:`geo.io.workbook` writes the workbooks).

* :func:`propose_schedule` puts districts (whole) and standalone estates into the years of
  ``policy.schedule`` (2021-2025) under annual caps of households and/or investment, highest
  priority first, each year keeping the 2001-2005 extension within 15 % of its tasks by estates and
  by households (Yangjiang 2021-2025 draft §1). Only estates that may enter an annual plan are
  scheduled: eligible (or extension) and with at least 80 % consent (Xinyang 2022; Ruicheng).
* :func:`compare_with_plan` says which estates move between the imported plan and the proposal,
  and why.
* :func:`annual_plan_table` writes rows in the Ruicheng annex-3 shape (年份, 小区名称, 位置, 建成时间,
  栋数, 户数, 面积m²); :func:`task_table` the task table by county in the Xinyang annex-1 shape
  (序号, 县(区), 涉及小区数(个), 涉及户数(户), 涉及建筑面积(万平方米), 预计投资额(万元), with a 合计 row).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from geo.core.errors import InputError, QualityReport
from geo.core.names import normalise_header, normalise_text
from geo.core.policy import Policy
from geo.core.schema import parse_area, parse_count
from geo.planning.eligibility import groupable_statuses

# --------------------------------------------------------------------------- the schedule


@dataclass
class Unit:
    """One thing scheduled in one year: a district (all its ready members) or a standalone estate."""

    unit_id: str
    members: list[int]
    estates: int
    extension_estates: int
    households: int
    extension_households: int
    investment_yuan: float
    priority: float


@dataclass
class _Year:
    year: int
    estates: int = 0
    extension_estates: int = 0
    households: int = 0
    extension_households: int = 0
    investment_yuan: float = 0.0


@dataclass
class Schedule:
    """A proposed schedule.

    ``estates``: every estate with ``unit_id``, ``unit_rank`` (1 = highest priority),
    ``proposed_year`` (Int64, <NA> when not scheduled) and ``schedule_reason``; ``years``: per
    year ``estates``, ``households``, ``investment_yuan``, the extension counts and shares and the
    caps; ``caps``: the caps used and where they came from.
    """

    estates: pd.DataFrame
    years: pd.DataFrame
    caps: dict[str, object] = field(default_factory=dict)


def _units(candidates: pd.DataFrame, districts: pd.DataFrame | None) -> list[Unit]:
    district_priority: dict[str, float] = {}
    if districts is not None and len(districts) and "priority_score" in districts:
        district_priority = dict(
            zip(
                districts["district_id"].astype(str),
                districts["priority_score"].astype(float),
                strict=True,
            )
        )
    hh = candidates["households"].astype("Float64").fillna(0).astype(int)
    inv = candidates["investment_yuan"].astype("Float64").fillna(0.0).astype(float)
    ext = (candidates["status"] == "extension").fillna(False).astype(bool)
    prio = candidates["priority_score"].astype("Float64").fillna(0.0).astype(float)
    key = (
        candidates["district_id"]
        .astype("string")
        .fillna("estate:" + candidates["estate_id"].astype(str))
    )
    units = []
    for unit_id, idx in candidates.groupby(key, sort=True).groups.items():
        members = list(idx)
        weights = hh[members].to_numpy(dtype=float)
        own = prio[members].to_numpy(dtype=float)
        mean = float(np.average(own, weights=weights)) if weights.sum() > 0 else float(own.mean())
        units.append(
            Unit(
                unit_id=str(unit_id),
                members=members,
                estates=len(members),
                extension_estates=int(ext[members].sum()),
                households=int(hh[members].sum()),
                extension_households=int(hh[members][ext[members]].sum()),
                investment_yuan=float(inv[members].sum()),
                priority=district_priority.get(str(unit_id), mean),
            )
        )
    units.sort(key=lambda u: (-u.priority, u.unit_id))
    return units


def _blocker(
    y: _Year, u: Unit, hh_cap: float | None, inv_cap: float | None, share: float
) -> str | None:
    """Return why ``u`` does not fit in year ``y`` (None when it fits)."""
    if hh_cap is not None and y.households + u.households > hh_cap:
        return f"{y.year}: households cap ({y.households:,} + {u.households:,} > {hh_cap:,.0f})"
    if inv_cap is not None and y.investment_yuan + u.investment_yuan > inv_cap + 0.5:
        return (
            f"{y.year}: investment cap ({(y.investment_yuan + u.investment_yuan) / 1e4:,.0f} "
            f"> {inv_cap / 1e4:,.0f} 万元)"
        )
    ext_n, n = y.extension_estates + u.extension_estates, y.estates + u.estates
    ext_h, h = y.extension_households + u.extension_households, y.households + u.households
    if u.extension_estates and (ext_n > share * n + 1e-9 or ext_h > share * h + 1e-9):
        return (
            f"{y.year}: 15% rule ({ext_n} of {n} estates, {ext_h:,} of {h:,} households 2001-2005)"
        )
    return None


def schedule_caps(
    candidates_households: float,
    policy: Policy,
    *,
    households_per_year: int | None = None,
    investment_yuan_per_year: float | None = None,
) -> dict[str, object]:
    """Return the caps of a schedule: ``households`` and ``investment_yuan`` (None = no cap).

    Arguments override ``policy.schedule``; 0 means no cap. When neither cap is set, the years are
    balanced: schedulable households / years x (1 + ``balance_headroom``), stated in ``basis``
    (:func:`propose_schedule` counts extension households only up to what the 15 % rule admits).
    """
    s = policy.schedule
    years = s.last_year - s.first_year + 1
    hh = s.households_per_year if households_per_year is None else households_per_year
    inv = (
        s.investment_yuan_per_year if investment_yuan_per_year is None else investment_yuan_per_year
    )
    basis = "user or policy caps"
    if not hh and not inv:
        hh = math.ceil(candidates_households / years * (1 + s.balance_headroom)) if years else 0
        basis = (
            f"no cap given: balanced, {candidates_households:,.0f} schedulable households / "
            f"{years} years "
            f"+ {s.balance_headroom:.0%} headroom"
        )
    return {
        "households": int(hh) if hh else None,
        "investment_yuan": float(inv) if inv else None,
        "basis": basis,
    }


def propose_schedule(
    estates: pd.DataFrame,
    policy: Policy,
    *,
    districts: pd.DataFrame | None = None,
    households_per_year: int | None = None,
    investment_yuan_per_year: float | None = None,
) -> Schedule:
    """Propose a schedule over ``policy.schedule.first_year`` .. ``last_year``.

    Parameters
    ----------
    estates
        Estates of a planning run: ``estate_id``, ``name``, ``status``, ``consent_ok``,
        ``district_id``, ``households``, ``investment_yuan`` (yuan), ``priority_score`` (0-100).
    policy
        ``schedule`` (years, caps), ``eligibility`` (statuses, 15 % share).
    districts
        Districts with ``district_id`` and ``priority_score``; without it a district's priority is
        the household-weighted mean of its members'.
    households_per_year, investment_yuan_per_year
        Annual caps overriding the policy (0 = no cap); see :func:`schedule_caps`.

    Returns
    -------
    Schedule

    Notes
    -----
    Units (a district's ready members together, or a standalone estate) are taken by priority,
    highest first, and put in the earliest year where they fit the caps and keep the year's
    extension share (2001-2005 estates) within ``eligibility.extension_max_share`` by estates and by
    households (Yangjiang 2021-2025 draft §1); units blocked only by that rule are retried once more
    units are placed. A district is never split: members that are not ready (consent below
    ``eligibility.consent_threshold`` or unknown, Xinyang 2022 / Ruicheng) are left out and named.
    Estates of unknown households count 0 against the household cap.
    """
    rules = policy.eligibility
    s = policy.schedule
    frame = estates.reset_index(drop=True)
    status = frame["status"].astype("string")
    groupable = status.isin(groupable_statuses(policy)).fillna(False).astype(bool)
    consent = frame["consent_ok"].astype("boolean")
    ready = groupable & consent.fillna(False).astype(bool)
    units = _units(frame.loc[ready], districts)
    share = rules.extension_max_share if rules.extension_enabled else 0.0
    ext_hh = sum(u.extension_households for u in units)
    base_hh = sum(u.households for u in units) - ext_hh
    # at most share / (1 - share) extension households per other household can ever be scheduled
    total_hh = base_hh + (min(ext_hh, share / (1 - share) * base_hh) if share < 1 else ext_hh)
    caps = schedule_caps(
        total_hh,
        policy,
        households_per_year=households_per_year,
        investment_yuan_per_year=investment_yuan_per_year,
    )
    hh_cap, inv_cap = caps["households"], caps["investment_yuan"]
    years = [_Year(y) for y in range(s.first_year, s.last_year + 1)]
    n = len(frame)
    year_of: list[object] = [pd.NA] * n
    reason = [""] * n
    unit_of: list[object] = [pd.NA] * n
    rank_of: list[object] = [pd.NA] * n
    blocked: dict[str, list[str]] = {u.unit_id: [] for u in units}
    pending = list(units)
    for rank, u in enumerate(units, start=1):
        for i in u.members:
            unit_of[i], rank_of[i] = u.unit_id, rank
    progress = True
    while pending and progress:
        progress = False
        for u in list(pending):
            why = []
            for y in years:
                block = _blocker(y, u, hh_cap, inv_cap, share)  # type: ignore[arg-type]
                if block is None:
                    _place(y, u)
                    pending.remove(u)
                    progress = True
                    rank = units.index(u) + 1
                    text = f"priority rank {rank} of {len(units)} ({u.priority:.1f})"
                    if why:
                        text += "; earlier years full: " + "; ".join(why)
                    for i in u.members:
                        year_of[i], reason[i] = y.year, text
                    break
                why.append(block)
            blocked[u.unit_id] = why
    for u in pending:
        big = hh_cap is not None and u.households > hh_cap
        text = (
            f"not scheduled: {u.households:,} households, more than one year's cap "
            f"({hh_cap:,}); split the district or raise the cap"
            if big
            else "not scheduled: " + "; ".join(blocked[u.unit_id][-2:])
        )
        for i in u.members:
            reason[i] = text
    for i in np.flatnonzero(~ready.to_numpy()):
        reason[i] = _not_ready(frame.iloc[i], groupable.iloc[i], policy, year_of, unit_of, frame)
    out = pd.DataFrame(
        {
            "estate_id": frame["estate_id"].astype("string"),
            "name": frame["name"].astype("string"),
            "county": frame["county"].astype("string")
            if "county" in frame
            else pd.Series(pd.NA, index=frame.index, dtype="string"),
            "district_id": frame["district_id"].astype("string"),
            "status": status,
            "households": frame["households"].astype("Int64"),
            "investment_yuan": frame["investment_yuan"].astype("Float64"),
            "priority_score": frame["priority_score"].astype("Float64"),
            "unit_id": pd.array(unit_of, dtype="string"),
            "unit_rank": pd.array(rank_of, dtype="Int64"),
            "proposed_year": pd.array(year_of, dtype="Int64"),
            "schedule_reason": pd.array(reason, dtype="string"),
        }
    )
    return Schedule(estates=out, years=_year_table(years, caps), caps=caps)


def _place(y: _Year, u: Unit) -> None:
    y.estates += u.estates
    y.extension_estates += u.extension_estates
    y.households += u.households
    y.extension_households += u.extension_households
    y.investment_yuan += u.investment_yuan


def _not_ready(
    row: pd.Series,
    groupable: bool,
    policy: Policy,
    year_of: list[object],
    unit_of: list[object],
    frame: pd.DataFrame,
) -> str:
    if not groupable:
        text = str(row.get("reason_en") or row.get("status") or "not eligible")
        return f"not scheduled: {text}"
    rate = row.get("consent_rate")
    threshold = policy.eligibility.consent_threshold
    text = (
        "not scheduled: consent rate not surveyed"
        if pd.isna(rate)
        else f"not scheduled: consent {float(rate):.1%} below {threshold:.0%}"
    )
    district = row.get("district_id")
    if not pd.isna(district):
        same = frame.index[(frame["district_id"] == district).fillna(False).to_numpy()]
        years = {year_of[i] for i in same if not pd.isna(year_of[i])}
        if years:
            text += f"; its district {district} is proposed for {min(years)}: join it once ready"
    return text


def _year_table(years: list[_Year], caps: dict[str, object]) -> pd.DataFrame:
    rows = []
    for y in years:
        rows.append(
            {
                "year": y.year,
                "estates": y.estates,
                "households": y.households,
                "investment_yuan": round(y.investment_yuan, 0),
                "extension_estates": y.extension_estates,
                "extension_households": y.extension_households,
                "extension_share_estates": round(y.extension_estates / y.estates, 4)
                if y.estates
                else 0.0,
                "extension_share_households": round(y.extension_households / y.households, 4)
                if y.households
                else 0.0,
                "households_cap": caps["households"],
                "investment_cap_yuan": caps["investment_yuan"],
            }
        )
    return pd.DataFrame(rows)


def compare_with_plan(schedule: Schedule, plan_year: pd.Series) -> pd.DataFrame:
    """Return which estates move between the imported plan and the proposal, and why.

    Parameters
    ----------
    schedule
        From :func:`propose_schedule`.
    plan_year
        The imported plan's year per estate, indexed by ``estate_id`` (<NA> or absent: not in the
        plan), e.g. from :func:`geo.fiveyear.matching.overlay_plan`.

    Returns
    -------
    DataFrame
        One row per estate in the plan or in the proposal: ``estate_id``, ``name``,
        ``district_id``, ``plan_year``, ``proposed_year``, ``change`` (``same``, ``earlier``,
        ``later``, ``added``, ``dropped``) and ``reason``; sorted by change, then plan year.
    """
    est = schedule.estates
    planned = plan_year.dropna()
    planned.index = planned.index.astype(str)
    plan = est["estate_id"].astype(str).map(planned).astype("Int64")
    prop = est["proposed_year"]
    keep = plan.notna() | prop.notna()
    change = np.select(
        [
            (plan.notna() & prop.notna() & (plan == prop)).fillna(False),
            (plan.notna() & prop.notna() & (prop < plan)).fillna(False),
            (plan.notna() & prop.notna() & (prop > plan)).fillna(False),
            (plan.isna() & prop.notna()).to_numpy(),
        ],
        ["same", "earlier", "later", "added"],
        default="dropped",
    )
    reason = []
    for c, r, p in zip(change, est["schedule_reason"], plan, strict=True):
        if c == "added":
            reason.append(f"not in the imported plan; {r}")
        elif c == "same":
            reason.append(f"same year; {r}")
        elif c == "dropped":
            reason.append(f"in the plan for {p}; {r}")
        else:
            reason.append(f"plan has {p}; {r}")
    out = pd.DataFrame(
        {
            "estate_id": est["estate_id"],
            "name": est["name"],
            "district_id": est["district_id"],
            "plan_year": plan,
            "proposed_year": prop,
            "change": pd.array(change, dtype="string"),
            "reason": pd.array(reason, dtype="string"),
        }
    ).loc[keep.to_numpy()]
    order = {"dropped": 0, "later": 1, "earlier": 2, "added": 3, "same": 4}
    return out.sort_values(
        ["change", "plan_year", "proposed_year"],
        key=lambda s: s.map(order) if s.name == "change" else s,
    ).reset_index(drop=True)


def schedule_rows(schedule: Schedule, estates: pd.DataFrame) -> pd.DataFrame:
    """Return the scheduled estates as plan rows (columns of :data:`geo.fiveyear.matching.PLAN_COLUMNS`).

    ``location`` is the estate's street, else its county; figures are the estates' (survey).
    """
    est = estates.reset_index(drop=True)
    year = schedule.estates["proposed_year"]
    picked = est.loc[year.notna().to_numpy()].copy()
    location = picked["county"].astype("string") if "county" in picked else pd.NA
    if "street" in picked:
        location = picked["street"].astype("string").fillna(location)
    return pd.DataFrame(
        {
            "plan_row": pd.array(np.arange(len(picked)) + 1, dtype="Int64"),
            "plan_year": year.loc[year.notna()].to_numpy(),
            "estate_id": picked["estate_id"].astype("string").to_numpy(),
            "matched_estate_id": picked["estate_id"].astype("string").to_numpy(),
            "match_status": "matched",
            "name": picked["name"].astype("string").to_numpy(),
            "location": pd.array(np.asarray(location), dtype="string"),
            "county": picked["county"].astype("string").to_numpy(),
            "build_year_raw": picked["build_year_raw"].astype("string").to_numpy(),
            "build_year": picked["build_year"].astype("Int64").to_numpy(),
            "build_year_latest": picked["build_year_latest"].astype("Int64").to_numpy(),
            "buildings": picked["buildings"].astype("Int64").to_numpy(),
            "households": picked["households"].astype("Int64").to_numpy(),
            "floor_area_m2": picked["floor_area_m2"].astype("Float64").to_numpy(),
            "investment_yuan": picked["investment_yuan"].astype("Float64").to_numpy(),
            "investment_estimated": picked.get(
                "investment_estimated", pd.Series(True, index=picked.index)
            )
            .astype("boolean")
            .to_numpy(),
        }
    ).sort_values(["plan_year", "plan_row"], ignore_index=True)


# --------------------------------------------------------------------------- official tables

#: Ruicheng 2021-2025 plan, annex 3 (the five-year plan table).
ANNUAL_PLAN_HEADERS = ("年份", "小区名称", "位置", "建成时间", "栋数", "户数", "面积m²")
#: Xinyang 2022 plan, annex 1 (the annual task table by county).
TASK_TABLE_HEADERS = (
    "序号",
    "县(区)",
    "涉及小区数(个)",
    "涉及户数(户)",
    "涉及建筑面积(万平方米)",
    "预计投资额(万元)",
)
UNKNOWN_COUNTY = "未注明县(区)"
_COUNTY_LIKE = re.compile(r"(区|县|市|旗)$")
_STREET_LIKE = re.compile(r"(路|街|巷|道|侧|号|楼|弄)")


def annual_plan_table(rows: pd.DataFrame, *, year: int | None = None) -> pd.DataFrame:
    """Return plan rows in the Ruicheng annex-3 shape (:data:`ANNUAL_PLAN_HEADERS`).

    ``rows`` are plan rows (:func:`geo.fiveyear.matching.parse_plan_table` or :func:`schedule_rows`); ``year``
    keeps one year. Floor area in m², sorted by year then file row.
    """
    part = rows if year is None else rows.loc[rows["plan_year"] == year]
    part = part.sort_values(["plan_year", "plan_row"])
    location = part["location"].astype("string").replace("", pd.NA)
    location = location.fillna(part["county"].astype("string")).fillna("")
    return pd.DataFrame(
        {
            "年份": part["plan_year"].astype("Int64").to_numpy(),
            "小区名称": part["name"].astype("string").to_numpy(),
            "位置": location.to_numpy(),
            "建成时间": part["build_year_raw"].astype("string").fillna("").to_numpy(),
            "栋数": part["buildings"].astype("Int64").to_numpy(),
            "户数": part["households"].astype("Int64").to_numpy(),
            "面积m²": part["floor_area_m2"].astype("Float64").round(2).to_numpy(),
        }
    )


def row_counties(rows: pd.DataFrame, *, default_county: str | None = None) -> pd.Series:
    """Return the county (县(区)) of each plan row.

    The row's ``county`` (the matched estate's, or the table's 县(区) column), else its location
    when that reads as a county (ends in 区/县/市/旗 and names no street), else ``default_county``,
    else :data:`UNKNOWN_COUNTY`.
    """
    county = rows["county"].astype("string").replace("", pd.NA)
    location = rows["location"].astype("string").fillna("")
    looks = location.map(lambda t: bool(_COUNTY_LIKE.search(t)) and not _STREET_LIKE.search(t))
    county = county.fillna(location.where(looks.astype(bool), pd.NA))
    return county.fillna(default_county or UNKNOWN_COUNTY)


def county_totals(rows: pd.DataFrame, *, default_county: str | None = None) -> pd.DataFrame:
    """Return per-county totals of plan rows.

    Columns ``county``, ``estates``, ``households``, ``floor_area_m2`` (m²), ``investment_yuan``
    (yuan), ``investment_estimated_rows``; counties in order of first appearance. Rows need
    ``investment_yuan`` (see :func:`geo.fiveyear.matching.resolved_rows`); unknown values count 0.
    """
    frame = rows.assign(
        _county=row_counties(rows, default_county=default_county).to_numpy(),
        _est=rows.get("investment_estimated", pd.Series(False, index=rows.index))
        .astype("boolean")
        .fillna(False)
        .astype(int),
    )
    grouped = frame.groupby("_county", sort=False)
    return pd.DataFrame(
        {
            "county": list(grouped.groups.keys()),
            "estates": grouped.size().to_numpy(),
            "households": grouped["households"].sum().astype(int).to_numpy(),
            "floor_area_m2": grouped["floor_area_m2"].sum().astype(float).to_numpy(),
            "investment_yuan": grouped["investment_yuan"].sum().astype(float).to_numpy(),
            "investment_estimated_rows": grouped["_est"].sum().to_numpy(),
        }
    )


def task_table(counties: pd.DataFrame) -> pd.DataFrame:
    """Return the task table by county in the Xinyang annex-1 shape, with the 合计 row.

    Parameters
    ----------
    counties
        ``county``, ``estates``, ``households``, ``floor_area_m2`` (m²), ``investment_yuan``
        (yuan), e.g. from :func:`county_totals` or :func:`parse_task_table`.

    Returns
    -------
    DataFrame
        Columns :data:`TASK_TABLE_HEADERS`: floor area in 万平方米 and investment in 万元, rounded
        to 2 decimals after summing in m² and yuan; the last row is 合计 (序号 empty).
    """
    body = pd.DataFrame(
        {
            "序号": [str(i) for i in range(1, len(counties) + 1)],
            "县(区)": counties["county"].astype(str).to_numpy(),
            "涉及小区数(个)": counties["estates"].astype(int).to_numpy(),
            "涉及户数(户)": counties["households"].astype(int).to_numpy(),
            "涉及建筑面积(万平方米)": (counties["floor_area_m2"].astype(float) / 1e4)
            .round(2)
            .to_numpy(),
            "预计投资额(万元)": (counties["investment_yuan"].astype(float) / 1e4)
            .round(2)
            .to_numpy(),
        }
    )
    total = {
        "序号": "合计",
        "县(区)": "",
        "涉及小区数(个)": int(counties["estates"].sum()),
        "涉及户数(户)": int(counties["households"].sum()),
        "涉及建筑面积(万平方米)": round(float(counties["floor_area_m2"].sum()) / 1e4, 2),
        "预计投资额(万元)": round(float(counties["investment_yuan"].sum()) / 1e4, 2),
    }
    return pd.concat([body, pd.DataFrame([total])], ignore_index=True)


def parse_task_table(
    table: pd.DataFrame, *, source: str, quality: QualityReport
) -> tuple[pd.DataFrame, dict[str, float] | None]:
    """Read a task table by county (Xinyang annex-1 shape) and its stated total row.

    Parameters
    ----------
    table
        Cells as text with headers like :data:`TASK_TABLE_HEADERS` (units in the headers: 万平方米,
        万元 are converted to m² and yuan).
    source
        The file name, for messages.
    quality
        Receives a warning when the stated 合计 row differs from the sum of the rows.

    Returns
    -------
    (DataFrame, dict or None)
        Per-county rows (``county``, ``estates``, ``households``, ``floor_area_m2`` in m²,
        ``investment_yuan`` in yuan) and the stated total (same keys) if the table has one.

    Raises
    ------
    InputError
        If the county, estates or households column is missing or a cell is not a number.
    """
    wanted = {
        "county": ("县(区)", "县区", "县(市、区)", "county"),
        "estates": ("涉及小区数", "小区数", "estates"),
        "households": ("涉及户数", "户数", "households"),
        "floor_area": ("涉及建筑面积", "建筑面积", "面积", "floor_area"),
        "investment": ("预计投资额", "投资额", "investment"),
    }
    lookup = {normalise_header(a): k for k, aliases in wanted.items() for a in aliases}
    header_of: dict[str, str] = {}
    for column in table.columns:
        key = lookup.get(normalise_header(column))
        if key and key not in header_of:
            header_of[key] = str(column)
    for key in ("county", "estates", "households"):
        if key not in header_of:
            raise InputError(
                f"the task table has no {wanted[key][0]} column",
                source=source,
                fix="use the headers 序号, 县(区), 涉及小区数(个), 涉及户数(户), 涉及建筑面积(万平方米), "
                "预计投资额(万元)",
            )
    area_scale = 1e4 if "万" in header_of.get("floor_area", "") else 1.0
    money_scale = 1e4 if "万" in header_of.get("investment", "") else 1.0
    rows, stated = [], None
    for offset, (_, cells) in enumerate(table.iterrows()):
        texts = [normalise_text(v) for v in cells.to_numpy()]
        is_total = any(re.sub(r"\s+", "", t) in {"合计", "总计"} for t in texts)
        record = {"county": "合计" if is_total else normalise_text(cells[header_of["county"]])}
        for key, parser, scale in (
            ("estates", parse_count, 1.0),
            ("households", parse_count, 1.0),
            ("floor_area", parse_area, area_scale),
            ("investment", parse_area, money_scale),
        ):
            value, note = parser(cells[header_of[key]]) if key in header_of else (None, "")
            if note or (value is None and key in ("estates", "households")):
                raise InputError(
                    f"{header_of.get(key, key)}: {note or 'empty cell'}",
                    source=source,
                    where=f"row {offset + 2}",
                    fix="write a number",
                )
            record[key] = 0.0 if value is None else value * scale
        if is_total:
            stated = record
        elif record["county"]:
            rows.append(record)
    frame = pd.DataFrame(rows).rename(
        columns={"floor_area": "floor_area_m2", "investment": "investment_yuan"}
    )
    total = None
    if stated is not None:
        total = {
            "estates": stated["estates"],
            "households": stated["households"],
            "floor_area_m2": stated["floor_area"],
            "investment_yuan": stated["investment"],
        }
        for key, value in total.items():
            summed = float(frame[key].sum())
            if abs(summed - float(value)) > 0.5 + 1e-6 * abs(summed):
                quality.add(
                    "warning",
                    source,
                    "合计 row",
                    f"{key}: the stated total {value:,.2f} differs from the sum of the rows "
                    f"{summed:,.2f}",
                    "correct the total row or the county rows",
                )
    return frame, total
