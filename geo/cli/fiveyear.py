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
    ``task_table.xlsx`` (by county, Xinyang annex-1 shape). A plan table alone (no map) is enough.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from geo import io
from geo.core.errors import InputError, QualityReport
from geo.core.policy import Policy, load_policy
from geo.fiveyear.matching import MatchSettings, review_table
from geo.fiveyear.overlay import plan_overlay, resolved_rows
from geo.fiveyear.schedule import propose_schedule
from geo.fiveyear.tables import annual_plan_table, county_totals, task_table
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
    """Register the ``schedule`` and ``tables`` subcommands."""
    schedule = sub.add_parser(
        "schedule",
        help="propose a 2021-2025 schedule from a results GeoPackage under annual caps",
        description="Propose a schedule (districts whole, 15%% rule, highest priority first) and "
        "compare it with the imported plan (when the estates carry plan_year).",
    )
    schedule.add_argument("results", help="GeoPackage written by lianpian plan")
    schedule.add_argument("--out", default="schedule.xlsx", help="XLSX (default: %(default)s)")
    schedule.add_argument("--policy", help="policy TOML overriding the defaults key by key")
    _cap_arguments(schedule)
    tables = sub.add_parser(
        "tables",
        help="write the official tables: annual plan (Ruicheng annex 3), task table by county "
        "(Xinyang annex 1)",
    )
    tables.add_argument("results", nargs="?", help="GeoPackage written by lianpian plan")
    tables.add_argument("--plan", help="plan table (XLSX/CSV/TSV); works without RESULTS")
    tables.add_argument(
        "--from-schedule",
        action="store_true",
        help="tabulate the proposed schedule instead of the imported plan",
    )
    tables.add_argument("--county", help="county (县(区)) of rows that name none, e.g. 芮城县")
    tables.add_argument("--policy", help="policy TOML (unit costs for estimated investment)")
    tables.add_argument("--out", default="tables", help="output folder (default: %(default)s)")
    _cap_arguments(tables)


def _cap_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--households-per-year", type=int, help="annual cap of households")
    parser.add_argument(
        "--investment-wanyuan-per-year",
        type=float,
        help="annual cap of investment in 万元 (10,000 yuan)",
    )
    parser.add_argument("--first-year", type=int, help="first year (default: policy, 2021)")
    parser.add_argument("--last-year", type=int, help="last year (default: policy, 2025)")


def _policy(args: argparse.Namespace) -> Policy:
    policy = load_policy(args.policy)
    values = {}
    if args.first_year is not None:
        values["schedule.first_year"] = args.first_year
    if args.last_year is not None:
        values["schedule.last_year"] = args.last_year
    return policy.with_values(values) if values else policy


def _schedule(args: argparse.Namespace, layers: dict[str, pd.DataFrame], policy: Policy):
    estates = layers["estates"]
    needed = {"status", "consent_ok", "households", "investment_yuan", "priority_score"}
    missing = sorted(needed - set(estates.columns))
    if missing:
        raise InputError(
            f"the estates layer lacks {', '.join(missing)}",
            source=Path(args.results).name,
            fix="give the GeoPackage written by lianpian plan",
        )
    if "district_id" not in estates:
        estates["district_id"] = pd.Series(pd.NA, index=estates.index, dtype="string")
    invest = args.investment_wanyuan_per_year
    return estates, propose_schedule(
        estates,
        policy,
        districts=layers.get("districts"),
        households_per_year=args.households_per_year,
        investment_yuan_per_year=None if invest is None else invest * 1e4,
    )


def cmd_schedule(args: argparse.Namespace) -> int:
    """Run ``lianpian schedule``: propose, compare with the plan, write one XLSX."""
    policy = _policy(args)
    layers = io.read_results(args.results)
    estates, schedule = _schedule(args, layers, policy)
    sheets: dict[str, pd.DataFrame] = {
        "年度汇总 years": schedule.years,
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
    caps = schedule.caps
    notes = [
        f"caps: households per year {caps['households']}, investment per year "
        f"{caps['investment_yuan']} yuan ({caps['basis']})",
        "rules: districts kept in one year; 2001-2005 estates at most "
        f"{policy.eligibility.extension_max_share:.0%} of each year's estates and households "
        "(Yangjiang 2021-2025 draft); only estates with consent >= "
        f"{policy.eligibility.consent_threshold:.0%} (Xinyang 2022; Ruicheng).",
        _ILLUSTRATIVE,
    ]
    out = write_workbook(args.out, sheets, notes=notes)
    scheduled = int(schedule.estates["proposed_year"].notna().sum())
    print(f"scheduled estates: {scheduled}")
    for row in schedule.years.itertuples(index=False):
        print(
            f"  {row.year}: {row.estates:>5} estates {row.households:>8,} households "
            f"{row.investment_yuan / 1e4:>12,.1f} 万元  extension {row.extension_share_estates:.0%}"
            f" / {row.extension_share_households:.0%}"
        )
    if "与导入计划比较 comparison" in sheets:
        changes = sheets["与导入计划比较 comparison"]["change"].value_counts()
        print(
            "compared with the imported plan: " + ", ".join(f"{k} {v}" for k, v in changes.items())
        )
    print(f"written: {out}")
    return 0


def cmd_tables(args: argparse.Namespace) -> int:
    """Run ``lianpian tables``: write annual_plan.xlsx and task_table.xlsx into ``--out``."""
    policy = _policy(args)
    layers = io.read_results(args.results) if args.results else None
    estates = layers["estates"] if layers else pd.DataFrame(columns=["estate_id", "name"])
    notes = [_ILLUSTRATIVE]
    if args.from_schedule:
        if layers is None:
            raise InputError("--from-schedule needs RESULTS.gpkg", fix="give the results file")
        estates, schedule = _schedule(args, layers, policy)
        rows = schedule_rows(schedule, estates)
        notes.append(f"source: proposed schedule ({schedule.caps['basis']})")
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
            "预计投资额 estimated where the plan gives none: floor area x "
            f"{policy.cost.yuan_per_m2:g} yuan/m² (else households x "
            f"{policy.cost.yuan_per_household:g} yuan), Xinyang 2022 unit costs"
        )
    out_dir = Path(args.out)
    years = sorted(int(y) for y in rows["plan_year"].dropna().unique())
    annual = {"全部 all": annual_plan_table(rows)}
    annual.update({str(y): annual_plan_table(rows, year=y) for y in years})
    task = {
        str(y): task_table(
            county_totals(rows.loc[rows["plan_year"] == y], default_county=args.county)
        )
        for y in years
    }
    task["全部 all"] = task_table(county_totals(rows, default_county=args.county))
    a = write_workbook(out_dir / "annual_plan.xlsx", annual, notes=notes)
    t = write_workbook(out_dir / "task_table.xlsx", task, notes=notes)
    for y in years:
        part = rows.loc[rows["plan_year"] == y]
        print(f"  {y}: {len(part):>4} estates {int(part['households'].sum()):>8,} households")
    print(f"written: {a}, {t}")
    return 0
