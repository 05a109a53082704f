"""The 五年计划 (five-year plan) tab: upload the plan table, review the matches, see the years.

The plan is read and matched with what the command line uses (``geo.pipeline.read_plan_table``,
``geo.fiveyear.matching.plan_overlay``, ``geo.pipeline.attach_plan``, as ``geo/cli/fiveyear.py``);
the match review is an editable table whose edits become the overrides. May import geo.app.state,
geo.app.uploads, geo.app.text, geo.fiveyear, geo.pipeline, geo.core, pandas and streamlit.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from geo.app.state import cached_plan
from geo.app.text import section
from geo.core.errors import QualityReport
from geo.fiveyear.matching import MatchSettings, parse_overrides, review_table
from geo.fiveyear.overlay import plan_overlay
from geo.pipeline import PlanResult, attach_plan, read_plan_table

#: Session key of the planner's match decisions {plan_row: estate_id or "-"}.
DECISIONS = "plan_decisions"


@st.cache_data(show_spinner=False, max_entries=8)
def cached_overlay(
    spec: tuple,
    policy_items: tuple,
    name: str,
    data: bytes,
    decisions: tuple,
    threshold: float,
):
    """Read, match and overlay an uploaded plan table on the plan of (spec, policy_items).

    Returns ``(overlay, quality)``: :class:`geo.fiveyear.matching.PlanOverlay` and the reading
    notes. ``decisions``: ((plan_row, estate_id or "-"), ...), the edited review.
    """
    result = cached_plan(spec, policy_items)
    quality = QualityReport()
    with tempfile.TemporaryDirectory(prefix="lianpian-plan-") as folder:
        path = Path(folder) / Path(name).name
        path.write_bytes(data)
        rows = read_plan_table(path, quality=quality)
    overrides = None
    if decisions:
        table = pd.DataFrame(decisions, columns=["plan_row", "estate_id"])
        overrides = parse_overrides(table, source=name)
    overlay = plan_overlay(
        rows,
        result.estates,
        result.policy,
        settings=MatchSettings(threshold=threshold),
        overrides=overrides,
    )
    return overlay, quality


def plan_upload(t: dict[str, str]) -> tuple[str, bytes] | None:
    """The plan table's uploader; return (file name, bytes) or None."""
    uploaded = st.file_uploader(t["plan_upload"], key="u_plan", help=".xlsx, .csv, .tsv")
    if uploaded is None:
        return None
    return uploaded.name, uploaded.getvalue()


def apply_plan(
    t: dict[str, str], spec: tuple, policy_items: tuple, result: PlanResult, upload
) -> str | None:
    """Overlay the uploaded plan on ``result`` (in place); return the plan's digest (None: none).

    Bad plan tables are one line (the plan is left off; the districts stay).
    """
    if upload is None:
        return None
    name, data = upload
    decisions = tuple(sorted(st.session_state.get(DECISIONS, {}).items()))
    threshold = float(st.session_state.get("plan_threshold", MatchSettings.threshold))
    overlay, quality = cached_overlay(spec, policy_items, name, data, decisions, threshold)
    attach_plan(result, overlay)
    result.quality.extend(quality)
    digest = hashlib.sha256(data + repr((decisions, threshold)).encode()).hexdigest()[:16]
    st.session_state["_plan_overlay"] = overlay
    return digest


def fiveyear_tab(t: dict[str, str], lang: str, result: PlanResult, has_plan: bool) -> None:
    """The review, per-year totals and checks of the uploaded plan."""
    st.number_input(
        t["plan_threshold"], 0.0, 100.0, MatchSettings.threshold, 5.0, key="plan_threshold"
    )
    overlay = st.session_state.get("_plan_overlay") if has_plan else None
    if overlay is None:
        st.caption(t["plan_none"])
        return
    counts = overlay.match_counts()
    labels = section(lang, "match_status")
    cols = st.columns(len(counts))
    for col, (status, n) in zip(cols, counts.items(), strict=True):
        col.metric(labels.get(status, status), f"{n:,}")
    st.markdown(f"**{t['plan_review']}**")
    st.caption(t["plan_review_help"])
    review = review_table(overlay.rows)
    review["estate_id"] = review["estate_id"].astype("string")
    columns = section(lang, "plan_columns")
    shown = review.assign(match_status=review["match_status"].map(lambda v: labels.get(v, v)))
    edited = st.data_editor(
        shown,
        hide_index=True,
        width="stretch",
        disabled=[c for c in review.columns if c != "estate_id"],
        column_config={c: st.column_config.Column(columns.get(c, c)) for c in review.columns},
        key="plan_review_editor",
    )
    decisions = _decisions(review, edited)
    if decisions != st.session_state.get(DECISIONS, {}):
        st.session_state[DECISIONS] = decisions
        st.rerun()
    st.markdown(f"**{t['plan_totals']}**")
    totals = overlay.totals.copy()
    totals["investment_wan"] = (totals.pop("investment_yuan") / 1e4).round(1)
    totals = totals.set_index("plan_year")
    st.bar_chart(totals[["households"]].rename(columns={"households": columns["households"]}))
    st.dataframe(totals.rename(columns=columns), width="stretch")
    st.markdown(f"**{t['plan_checks']}**")
    checks = overlay.checks.copy()
    results = section(lang, "check_status")
    checks["status"] = checks["status"].map(lambda v: results.get(v, v))
    names = section(lang, "check_names")
    checks["check"] = checks["check"].map(lambda v: names.get(v, v))
    checks["limit"] = checks["limit"].map(lambda v: names.get(f"limit_{v}", v))
    for column in ("detail", "source"):  # said in the interface language
        zh = checks.pop(f"{column}_zh") if f"{column}_zh" in checks else None
        if lang == "zh" and zh is not None:
            checks[column] = zh
    st.dataframe(checks.rename(columns=columns), hide_index=True, width="stretch")


def _decisions(review: pd.DataFrame, edited: pd.DataFrame) -> dict[int, str]:
    """The edited review's decisions: rows whose estate id the planner changed (kept earlier)."""
    out = dict(st.session_state.get(DECISIONS, {}))
    for before, after, row in zip(
        review["estate_id"], edited["estate_id"], review["plan_row"], strict=True
    ):
        b = "" if pd.isna(before) else str(before).strip()
        a = "" if pd.isna(after) else str(after).strip()
        if a != b:
            out[int(row)] = a or "-"
    return out
