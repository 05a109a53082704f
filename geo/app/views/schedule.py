"""The 五年计划 tab's proposed schedule and milestones, and the official tables in 导出.

* the proposed schedule (:func:`geo.fiveyear.schedule.propose_schedule`, an annual household cap
  chosen here) beside the imported plan, year by year (:func:`geo.fiveyear.yearly.plan_vs_schedule`):
  a chart and a table;
* milestone status on a chosen date from an uploaded progress table
  (:func:`geo.fiveyear.progress.parse_progress_table`, :func:`~geo.fiveyear.progress.milestone_report`,
  :func:`~geo.fiveyear.progress.milestone_status_by_estate`), and the map's colouring by it
  (:func:`milestone_colouring_of`: behind, on track, done; estates not in the table faint);
* the official tables (``annual_plan.xlsx``, Ruicheng annex 3; ``task_table.xlsx``, Xinyang annex 1)
  of the imported plan or of the proposed schedule, and the schedule workbook, written as
  ``lianpian tables`` / ``lianpian schedule`` write them (geo.io.workbook into a temporary folder)
  and offered as bytes.

May import geo.app.state, geo.app.text, geo.fiveyear, geo.io, geo.outputs, geo.pipeline, geo.core,
pandas and streamlit.
"""

from __future__ import annotations

import datetime
import hashlib
import html
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import streamlit as st

from geo import io
from geo.app.state import cached_plan
from geo.app.text import section
from geo.core.errors import LianpianError, QualityReport
from geo.core.policy import MILESTONE_CITIES
from geo.fiveyear.progress import (
    ALL_COUNTIES,
    fill_households,
    milestone_report,
    milestone_status_by_estate,
    parse_progress_table,
)
from geo.fiveyear.progress_estates import milestones_on_estates
from geo.fiveyear.schedule import Schedule, propose_schedule
from geo.fiveyear.tables import annual_plan_table, plan_title, task_tables_by_year
from geo.fiveyear.yearly import compare_with_plan, plan_vs_schedule, schedule_rows
from geo.io.workbook import write_workbook
from geo.outputs import maps
from geo.outputs.map_colouring import (
    milestone_colouring,
    milestone_label,
    milestone_note,
    milestone_words,
)
from geo.pipeline import PlanResult

#: Session key of the annual household cap of the proposed schedule (0: no cap).
HOUSEHOLD_CAP = "schedule_households_cap"
#: Session key of the switch that proposes the schedule in the 五年计划 tab.
SCHEDULE_ON = "schedule_on"


@st.cache_data(show_spinner=False, max_entries=8)
def cached_schedule(spec: tuple, policy_items: tuple, households_per_year: int) -> Schedule:
    """The proposed schedule of the plan of (spec, policy_items); ``households_per_year`` 0: none.

    The schedule never depends on an imported plan (only the comparison does).
    """
    result = cached_plan(spec, policy_items)
    estates = pd.DataFrame(result.estates.drop(columns="geometry", errors="ignore"))
    districts = pd.DataFrame(result.districts.drop(columns="geometry", errors="ignore"))
    return propose_schedule(
        estates,
        result.policy,
        districts=districts,
        households_per_year=households_per_year or None,
    )


def plan_years(result: PlanResult) -> pd.Series | None:
    """The imported plan's year by estate id (None: no plan attached to the estates)."""
    if "plan_year" not in result.estates:
        return None
    years = pd.Series(
        result.estates["plan_year"].to_numpy(), index=result.estates["estate_id"].astype(str)
    )
    return years.dropna()


def schedule_section(
    t: dict[str, str], lang: str, spec: tuple, policy_items: tuple, result: PlanResult
) -> Schedule | None:
    """The proposed schedule's per-year totals beside the imported plan's: chart and table.

    Proposed when the planner switches it on (an assignment MILP: seconds to tens of seconds on
    a city's estates, again after each policy change); None while it is off.
    """
    st.markdown(f"**{t['schedule_title']}**")
    c1, c2 = st.columns([1, 2], vertical_alignment="bottom")
    on = c1.toggle(t["schedule_on"], key=SCHEDULE_ON)
    cap = int(
        c2.number_input(
            t["schedule_cap"], min_value=0, max_value=10_000_000, step=500, key=HOUSEHOLD_CAP
        )
    )
    if not on:
        st.caption(t["schedule_off"])
        return None
    with st.spinner(t["schedule_running"]):
        schedule = cached_schedule(spec, policy_items, cap)
    s = schedule.summary
    st.caption(
        t["schedule_summary"].format(
            method=s.get("method", ""),
            units=s.get("unplaced_units", 0),
            estates=s.get("unplaced_estates", 0),
            households=f"{int(s.get('unplaced_households', 0) or 0):,}",
            binding=s.get("binding", "") or "—",
            share=float(s.get("extension_share_households", 0.0) or 0.0),
        )
    )
    years = plan_years(result)
    totals = plan_vs_schedule(result.estates, schedule, years)
    columns = section(lang, "schedule_columns")
    chart = totals.set_index("year")[["plan_households", "schedule_households"]]
    chart.index = chart.index.astype(str)
    st.bar_chart(chart.rename(columns=columns), stack=False)
    shown = totals.copy()
    for prefix in ("plan", "schedule"):
        shown[f"{prefix}_investment_yuan"] = (shown[f"{prefix}_investment_yuan"] / 1e4).round(1)
        for which in ("estates", "households"):
            column = f"{prefix}_extension_share_{which}"
            shown[column] = (shown[column] * 100).round(1)
    if years is None or not len(years):
        st.caption(t["schedule_no_plan"])
    st.dataframe(
        shown.rename(columns=columns),
        hide_index=True,
        width="stretch",
        column_config={columns["year"]: st.column_config.NumberColumn(format="%d")},
    )
    return schedule


@st.cache_data(show_spinner=False, max_entries=8)
def _read_progress(name: str, data: bytes) -> tuple[pd.DataFrame, QualityReport]:
    """An uploaded progress table, read (geo.io) and parsed (canonical columns)."""
    quality = QualityReport()
    with tempfile.TemporaryDirectory(prefix="lianpian-progress-") as folder:
        path = Path(folder) / Path(name).name
        path.write_bytes(data)
        table = io.read_table(path, quality=quality)
    return parse_progress_table(table, source=Path(name).name, quality=quality), quality


def default_date(progress: pd.DataFrame) -> datetime.date:
    """The reporting date a progress table starts on (today, or its latest plan year's end).

    A table whose latest plan year is over starts on 31 December of that year (an office
    looking back at a finished year); otherwise today.
    """
    today = datetime.date.today()
    if "plan_year" not in progress:
        return today
    years = pd.to_numeric(progress["plan_year"], errors="coerce").dropna()
    if len(years) and int(years.max()) < today.year:
        return datetime.date(int(years.max()), 12, 31)
    return today


@st.cache_resource(show_spinner=False, max_entries=8)
def _milestone_map(
    version: tuple, name: str, data: bytes, date: datetime.date, city: str, lang: str, _result
) -> tuple[maps.EstateColouring, int]:
    """The milestone colouring of one table, date and list on the plan ``version`` (cached)."""
    progress, _ = _read_progress(name, data)
    per_estate = milestone_status_by_estate(
        fill_households(progress, _result.estates), date, _result.policy, city=city
    )
    on_estates, unplaced = milestones_on_estates(per_estate, _result.estates)
    colouring = milestone_colouring(
        on_estates, lang, date=date.isoformat(), stage_words=section(lang, "milestone_stages")
    )
    return colouring, len(unplaced)


def milestone_colouring_of(
    lang: str, result: PlanResult, version: tuple
) -> tuple[maps.EstateColouring, tuple, int] | None:
    """The map's colouring by milestone status of the uploaded progress table (None: no table).

    Reads the upload, reporting date and milestone list as the 五年计划 tab's widgets hold them
    (the map is drawn before that tab in the page's run); ``version`` names the plan (data and
    policy values). Returns the colouring, its cache key (table digest, date, city, language)
    and the number of rows placed on no estate. A table that cannot be read gives None here
    (the tab says why).
    """
    uploaded = st.session_state.get("u_progress")
    if uploaded is None:
        return None
    data = uploaded.getvalue()
    try:
        progress, _ = _read_progress(uploaded.name, data)
    except (LianpianError, OSError, ValueError):
        return None
    date = st.session_state.get("progress_date") or default_date(progress)
    city = st.session_state.get("progress_city") or result.policy.milestones.city
    colouring, unplaced = _milestone_map(version, uploaded.name, data, date, city, lang, result)
    key = ("milestone", hashlib.sha256(data).hexdigest()[:16], date.isoformat(), city, lang)
    return colouring, key, unplaced


def progress_section(t: dict[str, str], lang: str, result: PlanResult) -> None:
    """Milestones met, missed or due on a chosen date, from an uploaded progress table."""
    st.markdown(f"**{t['progress_title']}**")
    uploaded = st.file_uploader(t["progress_upload"], key="u_progress", help=".xlsx, .csv, .tsv")
    if uploaded is None:
        st.caption(t["progress_none"])
        return
    progress, quality = _read_progress(uploaded.name, uploaded.getvalue())
    result.quality.extend(quality)
    c1, c2 = st.columns(2)
    date = c1.date_input(t["progress_date"], value=default_date(progress), key="progress_date")
    cities = section(lang, "milestone_cities")
    city = c2.selectbox(
        t["progress_city"],
        MILESTONE_CITIES,
        index=MILESTONE_CITIES.index(result.policy.milestones.city),
        format_func=lambda c: cities.get(c, c),
        key="progress_city",
    )
    progress = fill_households(progress, result.estates)
    report = milestone_report(progress, date, result.policy, city=city)
    per_estate = milestone_status_by_estate(progress, date, result.policy, city=city)
    words = section(lang, "milestone_status")
    counts = per_estate["status"].value_counts()
    cols = st.columns(3)
    for col, status in zip(cols, ("behind", "on_track", "done"), strict=True):
        col.metric(words[status], f"{int(counts.get(status, 0)):,}")
    _, unplaced = milestones_on_estates(per_estate, result.estates)
    st.caption(t["progress_on_map"].format(n=len(per_estate) - len(unplaced), m=len(unplaced)))
    columns = section(lang, "progress_columns")
    counties = list(dict.fromkeys(report["county"].astype(str)))
    county = st.selectbox(
        t["progress_county"],
        counties,
        format_func=lambda c: t["progress_all"] if c == ALL_COUNTIES else c,
        key="progress_county",
    )
    stages = section(lang, "milestone_stages")
    part = report.loc[report["county"].astype(str) == county].copy()
    part["county"] = part["county"].map(lambda c: t["progress_all"] if c == ALL_COUNTIES else c)
    part["stage"] = part["stage"].map(lambda v: stages.get(v, v))
    part["milestone"] = part["milestone"].map(lambda v: milestone_label(v, stages))
    part["status"] = part["status"].map(lambda v: words.get(v, v))
    part["required_share"] = (part["required_share"] * 100).round(0)
    part["share_done"] = (part["share_done"] * 100).round(1)
    st.dataframe(
        part.rename(columns=columns), hide_index=True, width="stretch", key="milestone_report"
    )
    stage_words = section(lang, "milestone_stages")
    shown = per_estate.assign(
        status=per_estate["status"].map(lambda v: words.get(v, v)),
        next_milestone=per_estate["next_milestone"].map(
            lambda v: html.unescape(milestone_words(v, lang, stage_words))
        ),
        behind_on=per_estate["behind_on"].map(
            lambda v: html.unescape(milestone_words(v, lang, stage_words))
        ),
        note=per_estate["note"].map(lambda v: milestone_note(v, lang)),
    )
    shown = shown.astype(object).where(shown.notna(), "—")
    st.dataframe(
        shown.rename(columns=columns), hide_index=True, width="stretch", key="milestone_estates"
    )


def _workbook_bytes(name: str, sheets: dict, notes: list[str], titles: dict | None = None) -> bytes:
    """Write a workbook with geo.io (atomically, into a temporary folder) and return its bytes."""
    with tempfile.TemporaryDirectory(prefix="lianpian-tables-") as folder:
        path = write_workbook(Path(folder) / name, sheets, notes=notes, titles=titles)
        return path.read_bytes()


def official_tables(
    t: dict[str, str], rows: pd.DataFrame, result: PlanResult, source: str
) -> dict[str, bytes]:
    """``annual_plan.xlsx`` (Ruicheng annex 3) and ``task_table.xlsx`` (Xinyang annex 1) as bytes.

    ``rows``: plan rows (:data:`geo.fiveyear.plan_table.PLAN_COLUMNS`: the imported plan's
    overlay rows, or :func:`geo.fiveyear.yearly.schedule_rows`); one sheet for all years and one
    per plan year, with the annex titles, as ``lianpian tables`` writes them.
    """
    policy = result.policy
    notes = [t["tables_note_source"].format(source=source), t["tables_note_illustrative"]]
    if rows["investment_estimated"].fillna(False).any():
        notes.append(t["tables_note_estimated"].format(rate=policy.cost.yuan_per_m2))
    years = sorted(int(y) for y in rows["plan_year"].dropna().unique())
    period = f"{policy.schedule.first_year}-{policy.schedule.last_year}"
    everything = "全部 all"
    annual = {everything: annual_plan_table(rows)}
    annual.update({str(y): annual_plan_table(rows, year=y) for y in years})
    annual_titles = {
        k: "附件3 "
        + plan_title("annual_plan", year=None if k == everything else int(k), period=period)
        for k in annual
    }
    task = task_tables_by_year(rows)
    task_titles = {
        k: "附件1 " + plan_title("task_table", year=None if k == everything else int(k))
        for k in task
    }
    return {
        "annual_plan.xlsx": _workbook_bytes("annual_plan.xlsx", annual, notes, annual_titles),
        "task_table.xlsx": _workbook_bytes("task_table.xlsx", task, notes, task_titles),
    }


def schedule_workbook(t: dict[str, str], schedule: Schedule, result: PlanResult) -> bytes:
    """The schedule workbook as ``lianpian schedule`` writes it: years, estates, comparison."""
    sheets: dict[str, pd.DataFrame] = {
        "年度汇总 years": schedule.years,
        "建议计划 schedule": schedule.estates.drop(columns="geometry", errors="ignore").sort_values(
            ["proposed_year", "unit_rank"], na_position="last"
        ),
        "计划与建议 plan vs schedule": plan_vs_schedule(
            result.estates, schedule, plan_years(result)
        ),
    }
    years = plan_years(result)
    if years is not None and len(years):
        sheets["与导入计划比较 comparison"] = compare_with_plan(schedule, years)
    s = schedule.summary
    notes = [
        t["schedule_note_method"].format(
            method=s.get("method", ""), status=s.get("status", ""), note=s.get("note", "")
        ),
        t["schedule_note_objective"].format(
            objective=s.get("objective", ""), spread=s.get("spread", "")
        ),
        t["tables_note_illustrative"],
    ]
    return _workbook_bytes("schedule.xlsx", sheets, notes)


def fiveyear_downloads(
    t: dict[str, str],
    result: PlanResult,
    schedule_of: Callable[[], Schedule],
    overlay,
    version: tuple,
) -> None:
    """The 导出 tab's official tables and schedule workbook (built on a button press).

    ``schedule_of()`` gives the proposed schedule (cached; called only when the files are built);
    ``overlay``: the imported plan (:class:`geo.fiveyear.overlay.PlanOverlay`, None: none).
    ``version`` names the inputs, policy, plan upload and cap: files built for another version
    are not offered.
    """
    st.markdown(f"**{t['tables_title']}**")
    sources = ("plan", "schedule") if overlay is not None else ("schedule",)
    source = st.radio(
        t["tables_source"],
        sources,
        format_func=lambda s: t[f"tables_from_{s}"],
        horizontal=True,
        key="tables_source",
    )
    if st.button(t["tables_build"], key="tables_build"):
        with st.spinner(t["schedule_running"]):
            schedule = schedule_of()
        if source == "plan":
            rows, named = overlay.rows, t["tables_from_plan"]
        else:
            estates = result.estates.drop(columns="geometry", errors="ignore")
            rows, named = schedule_rows(schedule, estates), t["tables_from_schedule"]
        built = official_tables(t, rows, result, named)
        built["schedule.xlsx"] = schedule_workbook(t, schedule, result)
        st.session_state["_tables"] = ((*version, source), built)
    kept = st.session_state.get("_tables")
    built = kept[1] if kept is not None and kept[0] == (*version, source) else {}
    cols = st.columns(3)
    for col, name in zip(
        cols, ("annual_plan.xlsx", "task_table.xlsx", "schedule.xlsx"), strict=True
    ):
        if name in built:
            col.download_button(
                name,
                data=built[name],
                file_name=name,
                mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                key=f"dl_{name}",
            )
