"""Progress against the dated milestones of the annual plan: read a progress table, report a date.

* :func:`parse_progress_table` reads an office's monthly progress table: one row per estate
  (``estate_id`` or 小区名称, 县(区), 户数, 年份), a date per stage (开工日期, 完工日期, 验收日期, …),
  or the five start criteria of the Xinyang annex (开工认定标准) as yes/no columns, the residents'
  satisfaction (满意度) and whether the project is a carry-over (续建).
* :func:`estate_progress` says, for a date, which stages each estate has reached: a project counts
  as started only when all five start criteria hold (Xinyang 2022, annex 2) where the table has
  them; acceptance counts only with satisfaction at or above ``milestones.satisfaction_threshold``
  (80 %, Ruicheng 2021-2025 §(四)5).
* :func:`milestone_report` gives, for a date, each milestone of the city's list
  (``policy.milestones``) met, missed or due, by county and in all, with the shortfall in
  households; :func:`milestone_status_by_estate` the same per estate (the app colours the map by
  it); :func:`carry_over_years` the finishing year of carry-over projects for the schedule.

May import: geo.core only (pure: no file access, no printing; the file is read by geo.io).
"""

from __future__ import annotations

import calendar
import datetime
import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geo.core.errors import InputError, QualityReport
from geo.core.messages import msg
from geo.core.names import normalise_header, normalise_text
from geo.core.policy import MILESTONE_STAGES, Policy
from geo.core.schema import file_rows, parse_count

#: The five start criteria (Xinyang 2022, annex 2 城镇老旧小区改造开工认定标准), in order.
START_CRITERIA: dict[str, str] = {
    "criterion_consent": "改造方案和物业管理模式经80%以上居民同意",
    "criterion_illegal_removed": "完成违章建筑和临时建筑拆除",
    "criterion_design_shown": "完成项目设计并在小区内公示",
    "criterion_contractor_signed": "已确定施工队伍并签订施工合同",
    "criterion_on_site": "施工队伍进场且有明显形象进度",
}

#: Chinese names of the milestone stages (as the documents write them).
STAGE_NAMES: dict[str, str] = {
    "surveyed": "完成调查摸底",
    "designed": "完成方案设计",
    "approved": "完成立项",
    "tendered": "完成施工招投标",
    "started": "开工",
    "pipelines": "完成管线改造",
    "basically_completed": "基本完工",
    "completed": "全部完工",
    "accepted": "竣工验收",
}

#: Progress-table header aliases (compared after :func:`geo.core.names.normalise_header`).
PROGRESS_HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "estate_id": ("estate_id", "id", "编号", "小区编号"),
    "name": ("name", "小区名称", "项目名称", "小区"),
    "county": ("county", "县(区)", "县区", "县(市、区)", "区县"),
    "households": ("households", "户数", "涉及户数"),
    "plan_year": ("plan_year", "年份", "年度", "计划年度"),
    "surveyed": ("surveyed", "调查摸底", "民意调查", "完成调查"),
    "designed": ("designed", "方案设计", "设计完成"),
    "approved": ("approved", "立项", "立项日期"),
    "tendered": ("tendered", "招投标", "招标完成"),
    "started": ("started", "开工日期", "开工时间", "开工"),
    "pipelines": ("pipelines", "管线完成", "管线改造完成"),
    "basically_completed": ("basically_completed", "基本完工", "基本完成"),
    "completed": ("completed", "完工日期", "完工时间", "完工", "竣工日期"),
    "accepted": ("accepted", "验收日期", "竣工验收", "验收"),
    "satisfaction": ("satisfaction", "满意度", "居民满意度", "satisfaction_rate"),
    "carry_over": ("carry_over", "续建", "是否续建"),
    "criterion_consent": ("criterion_consent", "80%同意", "居民同意", "方案同意", "征求意见"),
    "criterion_illegal_removed": ("criterion_illegal_removed", "违建拆除", "拆除违建"),
    "criterion_design_shown": ("criterion_design_shown", "设计公示", "方案公示"),
    "criterion_contractor_signed": ("criterion_contractor_signed", "施工合同", "签订合同"),
    "criterion_on_site": ("criterion_on_site", "施工进场", "队伍进场", "进场"),
}

_YES = {"是", "yes", "y", "true", "1", "√", "✓", "已完成", "完成", "有"}
_NO = {"否", "no", "n", "false", "0", "×", "✗", "未完成", "无", ""}
ALL_COUNTIES = "全部 all"


@dataclass(frozen=True)
class Milestone:
    """One dated milestone: by ``month``/``day`` of the plan year, ``share`` of the households.

    ``share`` of the year's households (0-1) have reached ``stage``; ``text`` as in the policy.
    """

    month: int
    day: int
    stage: str
    share: float
    text: str

    def deadline(self, year: int) -> datetime.date:
        """Return the deadline in ``year``.

        A day at a month's end in a common year means the month's end: 02-28 in 2024 is 29 February.
        """
        last = calendar.monthrange(year, self.month)[1]
        day = last if self.day >= calendar.monthrange(2023, self.month)[1] else self.day
        return datetime.date(year, self.month, min(day, last))


def city_milestones(policy: Policy, city: str | None = None) -> list[Milestone]:
    """Return the milestones of ``city`` (default ``policy.milestones.city``) in date order.

    Raises
    ------
    InputError
        If the city has no milestones in the policy.
    """
    name = city or policy.milestones.city
    items = getattr(policy.milestones, name, None)
    if not items:
        raise InputError(
            msg("no milestones for {name!r} in the policy", name=name),
            fix="set milestones.city to ruicheng, xinyang, ziyun or huaibei, or fill "
            "milestones.custom",
        )
    out = []
    for item in items:
        date, stage, share = item.split()
        month, day = (int(v) for v in date.split("-"))
        out.append(Milestone(month, day, stage, int(share.rstrip("%")) / 100, item))
    return sorted(out, key=lambda m: (m.month, m.day, m.stage))


def _parse_date(text: str) -> datetime.date | None:
    text = normalise_text(text)
    if not text or text.lower() in {"nan", "nat", "none"}:
        return None
    found = re.fullmatch(r"(\d{4})\D{1,2}(\d{1,2})\D{1,2}(\d{1,2})\D?(\s.*)?", text)
    if not found:
        raise ValueError(text)
    return datetime.date(int(found.group(1)), int(found.group(2)), int(found.group(3)))


def _parse_yes(text: str) -> bool | None:
    value = normalise_text(text).strip().lower()
    if value in {"nan", "none"}:
        return None
    if value in _YES:
        return True
    if value in _NO:
        return False if value else None
    raise ValueError(text)


def parse_progress_table(
    table: pd.DataFrame, *, source: str, quality: QualityReport
) -> pd.DataFrame:
    """Read a progress table into canonical columns.

    Parameters
    ----------
    table
        Cells as text. Needs ``estate_id`` or 小区名称; optional 县(区), 户数, 年份, a date per
        stage (:data:`geo.core.policy.MILESTONE_STAGES`: 开工日期, 完工日期, 验收日期, …; written
        ``2022-05-31``, ``2022/5/31`` or ``2022年5月31日``), the five start criteria
        (:data:`START_CRITERIA`) as 是/否, 满意度 (``85%`` or ``0.85``) and 续建 (是/否).
    source
        The file name, for messages.
    quality
        Receives a warning for rows without households (they count 0).

    Returns
    -------
    DataFrame
        ``estate_id``, ``name``, ``county``, ``households`` (Int64), ``plan_year`` (Int64), one
        ``object`` column of dates per stage present, the criteria present (boolean),
        ``satisfaction`` (Float64, 0-1), ``carry_over`` (boolean).

    Raises
    ------
    InputError
        If neither an id nor a name column exists, or a date, yes/no or number cell cannot be
        read (the message names the row and the column).
    """
    lookup = {
        normalise_header(a): key
        for key, aliases in PROGRESS_HEADER_ALIASES.items()
        for a in aliases
    }
    header_of: dict[str, str] = {}
    for column in table.columns:
        key = lookup.get(normalise_header(column))
        if key and key not in header_of:
            header_of[key] = str(column)
    if "estate_id" not in header_of and "name" not in header_of:
        raise InputError(
            "the progress table has no estate_id and no 小区名称 column",
            source=source,
            fix="one row per estate: estate_id or 小区名称, then 开工日期, 完工日期, ...",
        )
    out: dict[str, list[object]] = {k: [] for k in header_of}
    for row_number, (_, cells) in zip(file_rows(table), table.iterrows(), strict=True):
        where = msg("row {row}", row=int(row_number))
        for key, column in header_of.items():
            text = normalise_text(cells[column])
            try:
                value = _parse_cell(key, text)
            except ValueError:
                raise InputError(
                    msg("{column}: {text!r} cannot be read", column=column, text=text),
                    source=source,
                    where=where,
                    fix="dates as 2022-05-31, yes/no as 是/否, numbers as numbers",
                ) from None
            out[key].append(value)
    frame = pd.DataFrame(out)
    for key, dtype in (
        ("estate_id", "string"),
        ("name", "string"),
        ("county", "string"),
        ("households", "Int64"),
        ("plan_year", "Int64"),
        ("satisfaction", "Float64"),
        ("carry_over", "boolean"),
    ):
        frame[key] = (
            frame[key].astype(dtype)
            if key in frame
            else pd.Series(pd.NA, index=frame.index, dtype=dtype)
        )
    for key in START_CRITERIA:
        if key in frame:
            frame[key] = frame[key].astype("boolean")
    missing = int(frame["households"].isna().sum())
    if missing:
        quality.add(
            "warning",
            source,
            "户数",
            msg(
                "{missing} rows without households: they count 0 in the shares unless the "
                "estates give them (fill_households)",
                missing=missing,
            ),
            "add 户数, or give estate_id so the estates' households are used",
        )
    return frame


def _parse_cell(key: str, text: str) -> object:
    if key in MILESTONE_STAGES:
        return _parse_date(text)
    if key.startswith("criterion_") or key == "carry_over":
        return _parse_yes(text)
    if key in ("households", "plan_year"):
        value, note = parse_count(text)
        if note:
            raise ValueError(text)
        return value
    if key == "satisfaction":
        return _parse_share(text)
    return text if text and text.lower() != "nan" else None


def _parse_share(text: str) -> float | None:
    if not text or text.lower() == "nan":
        return None
    value = float(text.rstrip("%").strip())
    value = value / 100 if text.endswith("%") or value > 1 else value
    if not 0 <= value <= 1:
        raise ValueError(text)
    return value


def fill_households(progress: pd.DataFrame, estates: pd.DataFrame | None) -> pd.DataFrame:
    """Return ``progress`` with missing households, counties and names from ``estates``.

    Rows are matched by ``estate_id``; ``estates`` needs ``estate_id`` and may be None.
    """
    out = progress.copy()
    if estates is None or not len(estates) or out["estate_id"].isna().all():
        return out
    table = estates.drop_duplicates("estate_id").set_index(estates["estate_id"].astype(str))
    ids = out["estate_id"].astype(str)
    for key, dtype in (("households", "Int64"), ("county", "string"), ("name", "string")):
        if key in table:
            out[key] = out[key].fillna(ids.map(table[key]).astype(dtype))
    return out


def estate_progress(progress: pd.DataFrame, date: datetime.date, policy: Policy) -> pd.DataFrame:
    """Return, per estate, the date each stage was reached (``NaT``-like None when not by ``date``).

    A stage with a date after ``date`` is not reached. ``started`` also needs all five start
    criteria where the table has them (a row marked started without them is not started:
    ``note`` says which criteria fail; when every criterion holds but no date is given the
    project counts as started on ``date``). ``accepted`` needs ``satisfaction`` at or above
    ``policy.milestones.satisfaction_threshold``. Completing implies the earlier stages.

    Returns
    -------
    DataFrame
        ``estate_id``, ``name``, ``county``, ``households``, ``plan_year``, ``carry_over``, one
        column per stage of :data:`geo.core.policy.MILESTONE_STAGES` (a date or None) and
        ``note``.
    """
    frame = progress.reset_index(drop=True)
    out = frame[["estate_id", "name", "county", "households", "plan_year", "carry_over"]].copy()
    criteria = [c for c in START_CRITERIA if c in frame]
    notes: list[list[str]] = [[] for _ in range(len(frame))]
    threshold = policy.milestones.satisfaction_threshold
    for stage in MILESTONE_STAGES:
        values = []
        for i in range(len(frame)):
            when = frame.at[i, stage] if stage in frame else None
            when = None if when is None or pd.isna(when) else when
            if when is not None and when > date:
                when = None
            if stage == "started" and criteria:
                failing = [c for c in criteria if not bool(frame[c].fillna(False).iloc[i])]
                if failing:
                    if when is not None:
                        notes[i].append(
                            "start date given but not all start criteria hold: "
                            + "; ".join(START_CRITERIA[c] for c in failing)
                        )
                    when = None
                elif when is None:
                    when = date
            if stage == "accepted" and when is not None:
                rate = frame.at[i, "satisfaction"]
                if pd.isna(rate) or float(rate) < threshold:
                    notes[i].append(
                        f"acceptance needs {threshold:.0%} satisfaction (Ruicheng), table has "
                        + ("none" if pd.isna(rate) else f"{float(rate):.0%}")
                    )
                    when = None
            values.append(when)
        out[stage] = values
    _imply_earlier(out)
    out["note"] = pd.array(["; ".join(n) for n in notes], dtype="string")
    return out


def _imply_earlier(out: pd.DataFrame) -> None:
    """Completed implies basically complete; basically complete implies started."""
    for later, earlier in (
        ("completed", "basically_completed"),
        ("basically_completed", "started"),
    ):
        out[earlier] = [
            e if e is not None else d for e, d in zip(out[earlier], out[later], strict=True)
        ]


def _done_by(reached: pd.Series, deadline: datetime.date) -> np.ndarray:
    return np.array([d is not None and d <= deadline for d in reached], dtype=bool)


def milestone_report(
    progress: pd.DataFrame,
    date: datetime.date,
    policy: Policy,
    *,
    year: int | None = None,
    city: str | None = None,
) -> pd.DataFrame:
    """Report each milestone of ``year`` (default: the year of ``date``) on ``date``, by county.

    Parameters
    ----------
    progress
        From :func:`parse_progress_table` (households filled, e.g. :func:`fill_households`).
    date
        The reporting date.
    policy
        ``milestones`` (the city's list, the carry-over deadline, the satisfaction threshold).
    year
        Plan year reported; rows whose ``plan_year`` is another year are left out (rows without
        one count in every year). Carry-over projects (续建) of ``year - 1`` are reported against
        ``milestones.carry_over_finish`` (Xinyang 2022).
    city
        Milestone list to use instead of ``policy.milestones.city``.

    Returns
    -------
    DataFrame
        One row per county (and :data:`ALL_COUNTIES`) and milestone: ``county``, ``milestone``
        (as in the policy), ``deadline``, ``stage``, ``required_share``, ``estates``,
        ``households``, ``households_done`` (reached the stage by the deadline, or by ``date`` when
        the deadline is later), ``share_done``, ``status`` (``met``, ``missed`` or ``due``),
        ``shortfall_households`` (households still needed: 0 when met), ``estates_behind`` (names).
    """
    year = year or date.year
    state = estate_progress(progress, date, policy)
    plan_year = state["plan_year"]
    carry = state["carry_over"].fillna(False).astype(bool)
    this_year = (plan_year.isna() | (plan_year == year)).fillna(True).astype(bool) & ~carry
    last_year = carry & (plan_year == year - 1).fillna(False).astype(bool)
    items: list[tuple[Milestone, pd.DataFrame, datetime.date]] = [
        (m, state.loc[this_year.to_numpy()], m.deadline(year))
        for m in city_milestones(policy, city)
    ]
    mm, dd = (int(v) for v in policy.milestones.carry_over_finish.split("-"))
    carry_m = Milestone(
        mm, dd, "completed", 1.0, f"{mm:02d}-{dd:02d} completed 100% (续建 {year - 1})"
    )
    if last_year.any():
        items.append((carry_m, state.loc[last_year.to_numpy()], carry_m.deadline(year)))
    rows = []
    for m, part, deadline in items:
        counties = part["county"].astype("string").fillna("未注明县(区)")
        groups = [(ALL_COUNTIES, part.index)] + [
            (c, part.index[(counties == c).to_numpy()]) for c in sorted(counties.unique())
        ]
        for county, index in groups:
            sub = part.loc[index]
            hh = sub["households"].astype("Float64").fillna(0).to_numpy(dtype=float)
            done = _done_by(sub[m.stage], min(deadline, date))
            total, got = float(hh.sum()), float(hh[done].sum())
            need = math.ceil(m.share * total - 1e-9)
            ok = got >= need
            status = "met" if ok else ("missed" if deadline <= date else "due")
            rows.append(
                {
                    "county": county,
                    "milestone": m.text,
                    "deadline": deadline.isoformat(),
                    "stage": m.stage,
                    "required_share": m.share,
                    "estates": len(sub),
                    "households": int(total),
                    "households_done": int(got),
                    "share_done": round(got / total, 4) if total else 1.0,
                    "status": status,
                    "shortfall_households": max(need - int(got), 0),
                    "estates_behind": "、".join(
                        str(n) for n in sub.loc[~done, "name"].fillna(sub.loc[~done, "estate_id"])
                    )[:400]
                    if not ok
                    else "",
                }
            )
    return pd.DataFrame(rows)


def milestone_status_by_estate(
    progress: pd.DataFrame,
    date: datetime.date,
    policy: Policy,
    *,
    year: int | None = None,
    city: str | None = None,
) -> pd.DataFrame:
    """Return each estate's status on ``date`` against the milestones (for the app's map).

    Returns
    -------
    DataFrame
        One row per estate: ``estate_id``, ``name``, ``county``, ``households``, ``status``
        (``behind`` when a passed milestone's stage is not reached, ``on_track`` otherwise,
        ``done`` when completed), ``next_milestone`` (text and deadline of the next one due),
        ``behind_on`` (the passed milestones not reached) and ``note``. An estate is behind a
        milestone of share below 100 % only when it has not reached the stage; the share itself is
        a county's or the city's, reported by :func:`milestone_report`.
    """
    year = year or date.year
    state = estate_progress(progress, date, policy)
    miles = city_milestones(policy, city)
    mm, dd = (int(v) for v in policy.milestones.carry_over_finish.split("-"))
    carry_m = Milestone(mm, dd, "completed", 1.0, "续建")
    rows = []
    for i in range(len(state)):
        behind, upcoming = [], None
        carry = bool(pd.notna(state.at[i, "carry_over"]) and state.at[i, "carry_over"])
        for m in [carry_m] if carry else miles:
            deadline = m.deadline(year)
            reached = state.at[i, m.stage] is not None
            if deadline <= date and not reached:
                behind.append(f"{m.stage} by {deadline.isoformat()}")
            elif deadline > date and not reached and upcoming is None:
                upcoming = f"{m.stage} by {deadline.isoformat()}"
        done = state.at[i, "completed"] is not None
        rows.append(
            {
                "estate_id": state.at[i, "estate_id"],
                "name": state.at[i, "name"],
                "county": state.at[i, "county"],
                "households": state.at[i, "households"],
                "status": "done" if done else ("behind" if behind else "on_track"),
                "next_milestone": upcoming or "",
                "behind_on": "; ".join(behind),
                "note": state.at[i, "note"],
            }
        )
    return pd.DataFrame(rows)


def carry_over_years(progress: pd.DataFrame, policy: Policy) -> pd.Series:
    """Return the finishing year of carry-over projects (续建) by ``estate_id``.

    A carry-over project finishes in the year of its completion date, else the year after its
    plan year (Xinyang 2022: 2021's carry-over projects finished by ``carry_over_finish`` of 2022).
    Rows without ``estate_id`` or plan year are left out.
    """
    carry = progress.loc[progress["carry_over"].fillna(False).astype(bool)]
    years = []
    for _, row in carry.iterrows():
        done = row.get("completed")
        if done is not None and not pd.isna(done):
            years.append(done.year)
        elif not pd.isna(row.get("plan_year")):
            years.append(int(row["plan_year"]) + 1)
        else:
            years.append(pd.NA)
    out = pd.Series(years, index=carry["estate_id"].astype("string"), dtype="Int64")
    return out[out.notna() & out.index.notna()]
