"""Command-line parts of the five-year plan: ``plan --plan``, ``schedule`` and ``tables``.

Kept apart from :mod:`geo.cli` so the main CLI stays small; :mod:`geo.cli` registers these.

``lianpian plan ... --plan FILE``
    matches the plan table to the estates and adds ``plan_year`` (and ``plan_row``, ``plan_name``)
    to the estates layer, and the tables ``plan_checks``, ``plan_rows``, ``plan_years`` to the
    GeoPackage. ``--plan-review review.csv`` writes the matches for a planner to confirm;
    ``--plan-overrides review.csv`` reads the edited file back.
``lianpian schedule RESULTS.gpkg --out schedule.xlsx``
    proposes a schedule from a results GeoPackage under annual caps and compares it with the
    imported plan when the estates carry ``plan_year``.
``lianpian tables [RESULTS.gpkg] [--plan FILE] --out DIR``
    writes the official tables: ``annual_plan.xlsx`` (Ruicheng annex-3 shape) and
    ``task_table.xlsx`` (by county, Xinyang annex-1 shape). A plan table alone (no map) is enough;
    a task table by county (Xinyang annex 1) is read and written back as it is.
``lianpian progress PROGRESS.xlsx --date 2022-07-05 --out report.xlsx``
    reports each milestone of the city's list (policy ``[milestones]``) met, missed or due on the
    date, by county, with the shortfall in households.
"""

from __future__ import annotations

import argparse
import datetime
import re
from pathlib import Path

import pandas as pd

from geo import io
from geo.core.errors import InputError, QualityReport
from geo.core.messages import interface_language, msg
from geo.core.policy import MILESTONE_CITIES, PLAN_PERIODS, SCHEDULE_OBJECTIVES, Policy, load_policy
from geo.fiveyear.checks import stated_counts, yearly_count_checks
from geo.fiveyear.matching import MatchSettings, review_table
from geo.fiveyear.overlay import plan_overlay, resolved_rows
from geo.fiveyear.progress import (
    carry_over_years,
    fill_households,
    milestone_report,
    milestone_status_by_estate,
    parse_progress_table,
)
from geo.fiveyear.schedule import propose_schedule
from geo.fiveyear.tables import (
    annual_plan_table,
    parse_task_table,
    plan_title,
    task_table,
    task_tables_by_year,
)
from geo.fiveyear.yearly import compare_with_plan, schedule_rows
from geo.io.workbook import write_workbook
from geo.pipeline import attach_plan, read_plan_overrides, read_plan_table

_ILLUSTRATIVE = (
    "注意：如输入为示例数据（illustrative/synthetic），本表不描述真实小区。"
    " / If the inputs are illustrative or synthetic data, this table describes no real estate."
)


def add_plan_arguments(plan: argparse.ArgumentParser) -> None:
    """Add ``--plan``, ``--plan-overrides``, ``--plan-review``, ``--match-threshold`` to ``plan``."""
    plan.add_argument(
        "--plan",
        help="five-year plan table (XLSX/CSV/TSV: 年份, 小区名称, 位置, 建成时间, 栋数, 户数, 面积m²) "
        "to match and overlay: adds plan_year and the plan_checks table",
    )
    plan.add_argument(
        "--plan-overrides",
        metavar="CSV",
        help="a planner's match decisions (plan_row, estate_id; '-' rejects, empty = no decision), "
        "e.g. an edited --plan-review file",
    )
    plan.add_argument(
        "--plan-review",
        metavar="CSV",
        help="write every plan row's match, score and candidates here for review",
    )
    plan.add_argument(
        "--match-threshold",
        type=float,
        default=MatchSettings.threshold,
        help="confidence (0-100) needed to match a plan row without review (default: %(default)s)",
    )


def apply_plan_option(args: argparse.Namespace, result: object) -> str | None:
    """Overlay ``args.plan`` on ``result`` (a PlanResult); return a summary line, or None."""
    if not getattr(args, "plan", None):
        return None
    quality = QualityReport()
    rows = read_plan_table(args.plan, quality=quality)
    overrides = read_plan_overrides(args.plan_overrides) if args.plan_overrides else None
    if not 0 <= args.match_threshold <= 100:
        raise InputError("--match-threshold must be between 0 and 100", fix="e.g. 85")
    settings = MatchSettings(threshold=args.match_threshold)
    overlay = plan_overlay(
        rows, result.estates, result.policy, settings=settings, overrides=overrides
    )
    attach_plan(result, overlay)
    result.quality.extend(quality)
    if args.plan_review:
        io.write_csv(args.plan_review, review_table(overlay.rows))
    counts = overlay.match_counts()
    violations = int((overlay.checks["status"] == "violation").sum())
    return (
        f"plan: {len(rows)} rows, {counts['matched']} matched, {counts['ambiguous']} ambiguous, "
        f"{counts['unmatched']} unmatched; {violations} check violations (table plan_checks)"
    )


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Register the ``schedule``, ``tables`` and ``progress`` subcommands."""
    schedule = sub.add_parser(
        "schedule",
        help="propose a five-year schedule from a results GeoPackage (MILP, greedy fallback)",
        description="Propose a schedule (districts whole, 15%% rule, every ready unit placed "
        "unless a cap forbids it; balanced by the stated objective) and compare it with the "
        "imported plan (when the estates carry plan_year).",
    )
    schedule.add_argument("results", help="GeoPackage written by lianpian plan")
    schedule.add_argument("--out", default="schedule.xlsx", help="XLSX (default: %(default)s)")
    schedule.add_argument("--policy", help="policy TOML overriding the defaults key by key")
    schedule.add_argument(
        "--progress",
        metavar="FILE",
        help="progress table: carry-over projects (续建 = 是) count in the year they finish",
    )
    _cap_arguments(schedule)
    tables = sub.add_parser(
        "tables",
        help="write the official tables: annual plan (Ruicheng annex 3), task table by county "
        "(Xinyang annex 1)",
    )
    tables.add_argument("results", nargs="?", help="GeoPackage written by lianpian plan")
    tables.add_argument(
        "--plan", help="plan table or task table by county (XLSX/CSV/TSV); works without RESULTS"
    )
    tables.add_argument(
        "--from-schedule",
        action="store_true",
        help="tabulate the proposed schedule instead of the imported plan",
    )
    tables.add_argument("--county", help="county (县(区)) of rows that name none, e.g. 芮城县")
    tables.add_argument("--place", default="", help="city or county in the titles, e.g. 信阳市")
    tables.add_argument("--year", type=int, help="plan year of a task table (title row)")
    tables.add_argument("--policy", help="policy TOML (unit costs for estimated investment)")
    tables.add_argument("--out", default="tables", help="output folder (default: %(default)s)")
    _cap_arguments(tables)
    progress = sub.add_parser(
        "progress",
        help="report the milestones (met, missed, due) on a date from a progress table",
    )
    progress.add_argument("table", help="progress table (XLSX/CSV/TSV), one row per estate")
    progress.add_argument("--date", required=True, help="reporting date, e.g. 2022-07-05")
    progress.add_argument("--year", type=int, help="plan year reported (default: the date's)")
    progress.add_argument(
        "--city", choices=MILESTONE_CITIES, help="milestone list (default: policy milestones.city)"
    )
    progress.add_argument("--results", help="results GeoPackage: households and counties by id")
    progress.add_argument("--policy", help="policy TOML overriding the defaults key by key")
    progress.add_argument("--out", default="progress.xlsx", help="XLSX (default: %(default)s)")


def _cap_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--households-per-year", type=int, help="annual cap of households")
    parser.add_argument(
        "--investment-wanyuan-per-year",
        type=float,
        help="annual cap of investment in 万元 (10,000 yuan)",
    )
    parser.add_argument(
        "--period", choices=sorted(PLAN_PERIODS), help="plan period preset (default: policy)"
    )
    parser.add_argument("--first-year", type=int, help="first year (default: policy, 2021)")
    parser.add_argument("--last-year", type=int, help="last year (default: policy, 2025)")
    parser.add_argument(
        "--objective",
        choices=SCHEDULE_OBJECTIVES,
        help="balance objective (default: policy schedule.objective)",
    )
    parser.add_argument(
        "--solver", choices=("auto", "milp", "greedy"), help="default: policy schedule.solver"
    )


def _policy(args: argparse.Namespace) -> Policy:
    policy = load_policy(args.policy)
    values: dict[str, object] = {}
    if getattr(args, "period", None):
        values["schedule.first_year"], values["schedule.last_year"] = PLAN_PERIODS[args.period]
    for key in ("first_year", "last_year", "objective", "solver"):
        if getattr(args, key, None) is not None:
            values[f"schedule.{key}"] = getattr(args, key)
    caps = {  # checked like the policy's own caps (finite, not negative), then passed on
        "schedule.households_per_year": getattr(args, "households_per_year", None),
        "schedule.investment_yuan_per_year": None
        if getattr(args, "investment_wanyuan_per_year", None) is None
        else args.investment_wanyuan_per_year * 1e4,
    }
    policy.with_values({k: v for k, v in caps.items() if v is not None})
    return policy.with_values(values) if values else policy


def _read_progress(path: str, estates: pd.DataFrame | None) -> pd.DataFrame:
    quality = QualityReport()
    table = io.read_table(path, quality=quality)
    frame = parse_progress_table(table, source=Path(path).name, quality=quality)
    frame = fill_households(frame, estates)
    missing = int(frame["households"].isna().sum())
    if missing:
        print(
            msg(
                "warning: {missing} progress rows without households (count 0 in the shares)",
                missing=missing,
            ).text(interface_language())
        )
    return frame


def _schedule(args: argparse.Namespace, layers: dict[str, pd.DataFrame], policy: Policy):
    estates = layers["estates"]
    needed = {"status", "consent_ok", "households", "investment_yuan", "priority_score"}
    missing = sorted(needed - set(estates.columns))
    if missing:
        raise InputError(
            msg("the estates layer lacks {missing}", missing=", ".join(missing)),
            source=Path(args.results).name,
            fix="give the GeoPackage written by lianpian plan",
        )
    if "district_id" not in estates:
        estates["district_id"] = pd.Series(pd.NA, index=estates.index, dtype="string")
    carry = None
    if getattr(args, "progress", None):
        carry = carry_over_years(_read_progress(args.progress, estates), policy)
    invest = args.investment_wanyuan_per_year
    return estates, propose_schedule(
        estates,
        policy,
        districts=layers.get("districts"),
        households_per_year=args.households_per_year,
        investment_yuan_per_year=None if invest is None else invest * 1e4,
        carry_over=carry,
    )


def _years_with_total(years: pd.DataFrame) -> pd.DataFrame:
    """The years table with a 合计 row: sums of the values shown, the period's shares."""
    n, h = int(years["estates"].sum()), int(years["households"].sum())
    total = {c: years[c].sum() for c in years.columns if c not in ("year",)}
    total.update(
        {
            "year": "合计",
            "extension_share_estates": round(int(years["extension_estates"].sum()) / n, 4)
            if n
            else 0.0,
            "extension_share_households": round(int(years["extension_households"].sum()) / h, 4)
            if h
            else 0.0,
            "households_cap": None,
            "investment_cap_yuan": None,
        }
    )
    out = years.astype({"year": object})
    return pd.concat([out, pd.DataFrame([total])], ignore_index=True)


def schedule_lines(schedule) -> list[str]:
    """Return the lines saying how the schedule was made (method, gap, objective, caps)."""
    s, caps = schedule.summary, schedule.caps
    gap = s.get("gap")
    gap_text = "" if gap is None else f", optimality gap {gap:.2%}"
    return [
        f"method: {s['method']} ({s['status']}{gap_text}); {s['note']}",
        f"objective: {s['objective']}; {s['spread']}",
        "caps: households per year "
        + ("no cap" if caps["households"] is None else f"{caps['households']:,}")
        + ", investment per year "
        + ("no cap" if caps["investment_yuan"] is None else f"{caps['investment_yuan']:,.0f} yuan")
        + f" ({caps['basis']})",
        f"ready units not scheduled: {s['unplaced_units']} ({s['unplaced_estates']} estates, "
        f"{s['unplaced_households']:,} households); binding cap: {s['binding']}",
        f"2001-2005 share over the period: {s['extension_share_estates']:.1%} of estates, "
        f"{s['extension_share_households']:.1%} of households",
    ]


def cmd_schedule(args: argparse.Namespace) -> int:
    """Run ``lianpian schedule``: propose, compare with the plan, write one XLSX."""
    policy = _policy(args)
    layers = io.read_results(args.results)
    estates, schedule = _schedule(args, layers, policy)
    sheets: dict[str, pd.DataFrame] = {
        "年度汇总 years": _years_with_total(schedule.years),
        "建议计划 schedule": schedule.estates.sort_values(
            ["proposed_year", "unit_rank"], na_position="last"
        ),
    }
    if "plan_year" in estates:
        plan_year = pd.Series(
            estates["plan_year"].to_numpy(), index=estates["estate_id"].astype(str)
        )
        comparison = compare_with_plan(schedule, plan_year)
        sheets["与导入计划比较 comparison"] = comparison
    lines = schedule_lines(schedule)
    notes = [
        *lines,
        "rules: districts kept in one year; 2001-2005 estates at most "
        f"{policy.eligibility.extension_max_share:.0%} of each year's estates and households "
        "(Yangjiang 2021-2025 draft); only estates with consent >= "
        f"{policy.eligibility.consent_threshold:.0%} (Xinyang 2022; Ruicheng); carry-over "
        "projects (续建) counted in the year they finish (Xinyang 2022).",
        _ILLUSTRATIVE,
    ]
    out = write_workbook(args.out, sheets, notes=notes)
    scheduled = int(schedule.estates["proposed_year"].notna().sum())
    lang = interface_language()
    print(msg("scheduled estates: {n}", n=scheduled).text(lang))
    for line in lines:
        print(line)
    for row in schedule.years.itertuples(index=False):
        year_line = msg(
            "{year}: {estates:>5} estates {households:>8,} households {wan:>12,.1f} 万元; "
            "extension {share_estates:.1%} / {share_households:.1%}",
            year=row.year,
            estates=row.estates,
            households=row.households,
            wan=row.investment_yuan / 1e4,
            share_estates=row.extension_share_estates,
            share_households=row.extension_share_households,
        )
        print("  " + year_line.text(lang))
    if "与导入计划比较 comparison" in sheets:
        changes = sheets["与导入计划比较 comparison"]["change"].value_counts()
        compared = ", ".join(f"{k} {v}" for k, v in changes.items())
        print(msg("compared with the imported plan: {changes}", changes=compared).text(lang))
    print(msg("written: {out}", out=out).text(lang))
    return 0


def _is_task_table(table: pd.DataFrame) -> bool:
    """A task table by county (Xinyang annex 1) has a county and an estate-count column."""
    names = {re.sub(r"\s+", "", str(c)) for c in table.columns}
    return bool(names & {"县(区)", "县区", "县(市、区)"}) and bool(
        names & {"涉及小区数(个)", "涉及小区数", "小区数"}
    )


def _task_table_only(args: argparse.Namespace, table: pd.DataFrame) -> int:
    """Read a task table by county and write it back in the annex-1 shape."""
    quality = QualityReport()
    counties, stated = parse_task_table(table, source=Path(args.plan).name, quality=quality)
    year = args.year
    if year is None:
        found = re.findall(r"(?<!\d)(20\d\d)(?!\d)", Path(args.plan).stem)
        year = int(found[0]) if len(found) == 1 else None
    title = plan_title("task_table", place=args.place, year=year)
    sheet = str(year) if year else "任务表"
    notes = [f"source: {Path(args.plan).name} (task table by county)", _ILLUSTRATIVE]
    if len(quality):
        notes += [f"{r.where}: {r.message}" for r in quality.to_frame().itertuples(index=False)]
    out = write_workbook(
        Path(args.out) / "task_table.xlsx",
        {sheet: task_table(counties)},
        notes=notes,
        titles={sheet: f"附件1 {title}"},
    )
    lang = interface_language()
    task_line = msg(
        "task table: {counties} counties, {estates} estates, {households:,} households",
        counties=len(counties),
        estates=int(counties["estates"].sum()),
        households=int(counties["households"].sum()),
    )
    checked = "" if stated is None else msg("; stated 合计 checked").text(lang)
    print(task_line.text(lang) + checked)
    print(msg("written: {out}", out=out).text(lang))
    return 0


def cmd_tables(args: argparse.Namespace) -> int:
    """Run ``lianpian tables``: write annual_plan.xlsx and task_table.xlsx into ``--out``."""
    policy = _policy(args)
    layers = io.read_results(args.results) if args.results else None
    estates = layers["estates"] if layers else pd.DataFrame(columns=["estate_id", "name"])
    notes = [_ILLUSTRATIVE]
    if args.plan and not args.from_schedule:
        table = io.read_table(args.plan)
        if _is_task_table(table):
            return _task_table_only(args, table)
    if args.from_schedule:
        if layers is None:
            raise InputError("--from-schedule needs RESULTS.gpkg", fix="give the results file")
        estates, schedule = _schedule(args, layers, policy)
        rows = schedule_rows(schedule, estates)
        notes.append(f"source: proposed schedule ({schedule.summary['method']})")
    elif args.plan:
        quality = QualityReport()
        rows = read_plan_table(args.plan, quality=quality)
        overlay = plan_overlay(rows, estates, policy)
        rows = overlay.rows
        notes.append(f"source: {Path(args.plan).name}")
    elif layers is not None and "plan_rows" in layers:
        rows = resolved_rows(layers["plan_rows"], estates, policy)
        notes.append(f"source: plan_rows of {Path(args.results).name}")
    else:
        raise InputError(
            "no plan to tabulate",
            fix="give --plan FILE, or RESULTS.gpkg written with --plan, or --from-schedule",
        )
    if rows["investment_estimated"].fillna(False).any():
        notes.append(
            "预计投资额 estimated where the plan gives none (marked in the 备注 column): floor "
            f"area x {policy.cost.yuan_per_m2:g} yuan/m² (else households x "
            f"{policy.cost.yuan_per_household:g} yuan), Xinyang 2022 unit costs"
        )
    out_dir = Path(args.out)
    years = sorted(int(y) for y in rows["plan_year"].dropna().unique())
    period = f"{policy.schedule.first_year}-{policy.schedule.last_year}"
    annual = {"全部 all": annual_plan_table(rows)}
    annual.update({str(y): annual_plan_table(rows, year=y) for y in years})
    annual_titles = {
        k: "附件3 "
        + plan_title(
            "annual_plan", place=args.place, year=None if k == "全部 all" else int(k), period=period
        )
        for k in annual
    }
    task = task_tables_by_year(rows, default_county=args.county)
    task_titles = {
        k: "附件1 "
        + plan_title("task_table", place=args.place, year=None if k == "全部 all" else int(k))
        for k in task
    }
    a = write_workbook(out_dir / "annual_plan.xlsx", annual, notes=notes, titles=annual_titles)
    t = write_workbook(out_dir / "task_table.xlsx", task, notes=notes, titles=task_titles)
    lang = interface_language()
    for y in years:
        part = rows.loc[rows["plan_year"] == y]
        year_line = msg(
            "{year}: {estates:>4} estates {households:>8,} households",
            year=y,
            estates=len(part),
            households=int(part["households"].sum()),
        )
        print("  " + year_line.text(lang))
    if policy.schedule.stated_estates_per_year:
        for check in yearly_count_checks(rows, stated_counts(policy)):
            if check["status"] != "ok" or pd.isna(check["plan_year"]):
                detail = check["detail_zh"] if lang == "zh" else check["detail"]
                print(
                    "  "
                    + msg(
                        "estates per year ({status}): {detail}",
                        status=check["status"],
                        detail=detail,
                    ).text(lang)
                )
    print(msg("written: {out}", out=f"{a}, {t}").text(lang))
    return 0


def cmd_progress(args: argparse.Namespace) -> int:
    """Run ``lianpian progress``: milestones met, missed or due on ``--date``, by county."""
    policy = load_policy(args.policy)
    try:
        date = datetime.date.fromisoformat(args.date)
    except ValueError:
        raise InputError(
            msg("--date {date!r} is not a date", date=args.date), fix="e.g. 2022-07-05"
        ) from None
    estates = io.read_results(args.results)["estates"] if args.results else None
    progress = _read_progress(args.table, estates)
    report = milestone_report(progress, date, policy, year=args.year, city=args.city)
    by_estate = milestone_status_by_estate(progress, date, policy, year=args.year, city=args.city)
    city = args.city or policy.milestones.city
    notes = [
        f"milestones of {city} (policy [milestones]), reported on {date.isoformat()}",
        "started only when all five start criteria hold (Xinyang 2022, annex 2) where the table "
        "has them; accepted only with satisfaction >= "
        f"{policy.milestones.satisfaction_threshold:.0%} (Ruicheng)",
        _ILLUSTRATIVE,
    ]
    out = write_workbook(
        args.out, {"里程碑 milestones": report, "小区 estates": by_estate}, notes=notes
    )
    overall = report.loc[report["county"] == report["county"].iloc[0]] if len(report) else report
    for row in overall.itertuples(index=False):
        print(
            f"  {row.deadline} {row.stage:<20} {row.required_share:>4.0%}: {row.status:<6} "
            f"{row.share_done:.0%} of {row.households:,} households"
            + (f", short by {row.shortfall_households:,}" if row.shortfall_households else "")
        )
    missed = report.loc[report["status"] == "missed"]
    lang = interface_language()
    if len(missed):
        print(msg("missed by county: {n} rows (sheet 里程碑 milestones)", n=len(missed)).text(lang))
    print(msg("written: {out}", out=out).text(lang))
    return 0
