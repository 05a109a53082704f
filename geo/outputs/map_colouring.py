"""Colourings of the estates from outside the plan: scenario changes and milestone status.

Part of :mod:`geo.outputs.maps`. An :class:`EstateColouring` is a fill colour, a few tooltip rows
and a legend per estate, given to :func:`geo.outputs.maps.build_map` (``colouring=``); the estate
layer then fills from it (the canvas's style-from-properties: one colour column) instead of the
eligibility status, and, with ``on_plan``, the five-year-plan layer too. Two are built here:

- :func:`change_colouring`: what changes from scenario A to scenario B
  (:func:`geo.planning.scenario_changes.scenario_changes`): 新纳入 added, 移出 removed, 换片区 moved,
  状态变化 status; unchanged estates faint; the tooltip says the change in words with both
  scenarios' values;
- :func:`milestone_colouring`: milestone status of an uploaded progress table
  (:func:`geo.fiveyear.progress_estates.milestones_on_estates`): 滞后 behind, 按期推进 on track,
  已完工 done, estates not in the table faint.

Every text from data (scenario names, district ids, notes) is HTML-escaped here; legends carry
counts. May import: pandas, :mod:`geo.core`, :mod:`geo.outputs.map_style`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from geo.core.policy import MILESTONE_STAGES
from geo.outputs.map_style import TEXT, _esc, status_label

#: Fill of the estates a colouring leaves out (unchanged, not in the progress table): faint.
FAINT = "#f0f0f0"
#: Colours of the kinds of change (ColorBrewer-like, told apart from the status colours).
CHANGE_COLOURS = {
    "added": "#1a9850",
    "removed": "#d73027",
    "moved": "#762a83",
    "status": "#4575b4",
}
#: Colours of the milestone statuses: late red, on track blue, done green.
MILESTONE_COLOURS = {"behind": "#d7191c", "on_track": "#2c7bb6", "done": "#1a9641"}

WORDS: dict[str, dict[str, str]] = {
    "zh": {
        "added": "新纳入",
        "removed": "移出",
        "moved": "换片区",
        "status": "状态变化",
        "unchanged": "无变化",
        "postponed": "暂缓（条件未满足）",
        "state_eligible": "符合条件",
        "state_extension": "延伸纳入",
        "change": "变化",
        "legend_change": "方案变化：{a} → {b}",
        "no_district": "不在片区",
        "in_district": "片区 {d}",
        "same_district": "片区 {a}（方案B编号 {b}）",
        "value": "{state}，{district}",
        "behind": "滞后",
        "on_track": "按期推进",
        "done": "已完工",
        "not_listed": "未列入进度表",
        "legend_milestone": "节点进度（{date}）",
        "milestone": "节点进度",
        "behind_on": "未达节点",
        "next_milestone": "下一节点",
        "note": "说明",
        "by_date": "{stage}（{date}前）",
        "sep": "；",
        "count": "{label}（{n:,}）",
        "said": "{kind}：{what}",
    },
    "en": {
        "added": "added",
        "removed": "removed",
        "moved": "changes district",
        "status": "status changes",
        "unchanged": "unchanged",
        "postponed": "postponed (a condition not met)",
        "state_eligible": "eligible",
        "state_extension": "extension",
        "change": "Change",
        "legend_change": "Scenario changes: {a} → {b}",
        "no_district": "no district",
        "in_district": "district {d}",
        "same_district": "district {a} (numbered {b} in B)",
        "value": "{state}, {district}",
        "behind": "behind",
        "on_track": "on track",
        "done": "completed",
        "not_listed": "not in the progress table",
        "legend_milestone": "Milestones ({date})",
        "milestone": "Milestones",
        "behind_on": "Missed",
        "next_milestone": "Next",
        "note": "Note",
        "by_date": "{stage} by {date}",
        "sep": "; ",
        "count": "{label} ({n:,})",
        "said": "{kind}: {what}",
    },
}


@dataclass(frozen=True)
class EstateColouring:
    """A colouring of the estates for :func:`geo.outputs.maps.build_map`.

    Attributes
    ----------
    title
        Legend title (plain text; escaped when drawn).
    colour
        Fill colour per estate (``#rrggbb``), indexed like ``PlanResult.estates``; an estate
        missing from it is drawn :data:`FAINT`.
    tooltip
        ``(label, values)`` rows shown after the estate's name: values are HTML-escaped text per
        estate (same index; empty = row left out).
    legend
        ``(colour, label)`` entries (plain text).
    on_plan
        Whether the five-year-plan layer (the year slider) is filled from this colouring too.
    outline
        Outline colour of the estates (a lighter one lets the coloured estates stand out).
    """

    title: str
    colour: pd.Series
    tooltip: tuple[tuple[str, pd.Series], ...] = ()
    legend: tuple[tuple[str, str], ...] = ()
    on_plan: bool = False
    outline: str = "#333333"

    def colours_for(self, index: pd.Index) -> pd.Series:
        """Fill colours of the estates ``index`` (:data:`FAINT` where the colouring has none)."""
        return self.colour.reindex(index).astype(object).where(lambda s: s.notna(), FAINT)

    def columns(self, index: pd.Index) -> tuple[dict[str, pd.Series], list[tuple[str, str]]]:
        """The canvas columns of the estates ``index``: fill ``xcolour``, tooltip ``x0``, ``x1``...

        Returns the columns and the ``(column, label)`` tooltip rows.
        """
        columns = {"xcolour": self.colours_for(index)}
        tip = []
        for i, (label, values) in enumerate(self.tooltip):
            columns[f"x{i}"] = values.reindex(index).astype(object).where(lambda v: v.notna(), "")
            tip.append((f"x{i}", label))
        return columns, tip


def _legend(
    w: dict[str, str], colours: dict[str, str], counts: pd.Series, faint: str, n_faint: int
) -> tuple[tuple[str, str], ...]:
    """Legend entries ``(colour, "label (count)")`` of ``colours``, then the faint ones."""
    entries = [
        (c, w["count"].format(label=w[k], n=int(counts.get(k, 0)))) for k, c in colours.items()
    ]
    return (*entries, (FAINT, w["count"].format(label=w[faint], n=n_faint)))


def state_label(state: object, language: str = "zh") -> str:
    """Words of an estate's state (:data:`geo.planning.scenario_changes.STATES`)."""
    if state is None or pd.isna(state):
        return TEXT[language]["unknown"]
    if state in ("postponed", "eligible", "extension"):  # no cutoff year: scenarios differ in it
        return WORDS[language].get(f"state_{state}", WORDS[language]["postponed"])
    return status_label(str(state), language)


def _district_label(district: object, language: str) -> str:
    w = WORDS[language]
    if district is None or pd.isna(district):
        return w["no_district"]
    return w["in_district"].format(d=district)


def change_colouring(
    changes: pd.DataFrame, language: str = "zh", *, name_a: str = "A", name_b: str = "B"
) -> EstateColouring:
    """Colour estates by what changes from scenario A to scenario B.

    Parameters
    ----------
    changes
        :func:`geo.planning.scenario_changes.scenario_changes` output (index of the estates drawn:
        scenario B's ``PlanResult.estates``).
    language
        ``zh`` or ``en``.
    name_a, name_b
        The scenarios' names (from the planner; escaped).

    Returns
    -------
    EstateColouring
        Colours of :data:`CHANGE_COLOURS`, unchanged faint; legend entries with counts; tooltip
        rows: the change in words (``需补充调查 → 符合条件``, ``片区 D0003 → D0005``) and the
        state and district in each scenario.
    """
    w = WORDS[language]
    kinds = changes["change"].astype(str)
    counts = kinds.value_counts()
    colour = kinds.map(CHANGE_COLOURS).fillna(FAINT)
    states = {
        s: state_label(s, language)
        for s in pd.unique(changes[["state_a", "state_b"]].values.ravel())
    }

    def describe(row: pd.Series) -> str:
        kind = row["change"]
        if kind == "unchanged":
            return w["unchanged"]
        parts = []
        if row["state_a"] != row["state_b"]:
            parts.append(f"{states[row['state_a']]} → {states[row['state_b']]}")
        da, db = row["district_a"], row["district_b"]
        continues = row["district_b_in_a"]
        same = (pd.isna(da) and pd.isna(db)) or (
            pd.notna(continues) and pd.notna(da) and bool(continues == da)
        )
        if kind == "moved" or not same:
            parts.append(f"{_district_label(da, language)} → {_district_label(db, language)}")
        return w["said"].format(kind=w[kind], what=w["sep"].join(parts))

    def value(state: object, district: object) -> str:
        return w["value"].format(
            state=states.get(state, state_label(state, language)),
            district=_district_label(district, language),
        )

    described = changes.apply(describe, axis=1) if len(changes) else pd.Series(dtype=object)
    in_a = [value(s, d) for s, d in zip(changes["state_a"], changes["district_a"], strict=True)]
    in_b = [value(s, d) for s, d in zip(changes["state_b"], changes["district_b"], strict=True)]
    tooltip = (
        (w["change"], described.map(html.escape)),
        (name_a, pd.Series([html.escape(v) for v in in_a], index=changes.index, dtype=object)),
        (name_b, pd.Series([html.escape(v) for v in in_b], index=changes.index, dtype=object)),
    )
    legend = _legend(w, CHANGE_COLOURS, counts, "unchanged", int(counts.get("unchanged", 0)))
    return EstateColouring(
        title=w["legend_change"].format(a=name_a, b=name_b),
        colour=colour,
        tooltip=tooltip,
        legend=legend,
        outline="#9a9a9a",
    )


_BY_DATE = re.compile(r"([a-z_]+) by (\d{4}-\d{2}-\d{2})")


def milestone_words(
    text: object, language: str = "zh", stage_words: Mapping[str, str] | None = None
) -> str:
    """Return ``behind_on``/``next_milestone`` text (``started by 2022-06-30; ...``) in words.

    ``stage_words`` names the stages (``started`` -> 开工); without it the stage keys are
    shown as they are. Escaped.
    """
    if text is None or (not isinstance(text, str) and pd.isna(text)) or not str(text).strip():
        return ""
    w = WORDS[language]
    names = stage_words or {}
    items = [
        w["by_date"].format(stage=names.get(stage, stage), date=date)
        for stage, date in _BY_DATE.findall(str(text))
    ]
    return html.escape(w["sep"].join(items) if items else str(text))


_STAGE = re.compile(r"\b(" + "|".join(MILESTONE_STAGES) + r")\b")
_CRITERIA_NOTE = re.compile(r"start date given but not all start criteria hold: (.*)")
_SATISFACTION_NOTE = re.compile(
    r"acceptance needs (\d+%) satisfaction \((\w+)\), table has (none|\d+%)"
)


def milestone_label(text: object, stage_words: Mapping[str, str] | None = None) -> str:
    """A milestone as the policy writes it (``06-30 started 50%``) with the stage in words."""
    names = stage_words or {}
    return _STAGE.sub(lambda m: names.get(m.group(1), m.group(1)), str(text))


def milestone_note(text: object, language: str = "zh") -> str:
    """The progress note of an estate (:func:`geo.fiveyear.progress.estate_progress`) in ``language``.

    The two notes it writes (start criteria not all met; acceptance below the satisfaction
    threshold) are said in Chinese for ``zh``; other text is kept. Not escaped.
    """
    if text is None or (not isinstance(text, str) and pd.isna(text)) or not str(text).strip():
        return ""
    if language != "zh":
        return str(text)
    out = []
    for part in str(text).split("; "):
        if found := _CRITERIA_NOTE.fullmatch(part):
            out.append("填了开工日期，但开工认定标准未全部满足：" + found.group(1))
        elif found := _SATISFACTION_NOTE.fullmatch(part):
            need, city, has = found.groups()
            has = "未填" if has == "none" else has
            city = {"Ruicheng": "芮城"}.get(city, city)
            out.append(f"竣工验收需居民满意度达到{need}（{city}），表中为{has}")
        else:
            out.append(part)
    return "；".join(out)


def milestone_colouring(
    on_estates: pd.DataFrame,
    language: str = "zh",
    *,
    date: str = "",
    stage_words: Mapping[str, str] | None = None,
) -> EstateColouring:
    """Colour estates by milestone status (behind, on track, done; not in the table faint).

    Parameters
    ----------
    on_estates
        :func:`geo.fiveyear.progress_estates.milestones_on_estates` output (the estates' index):
        ``milestone_status``, ``behind_on``, ``next_milestone``, ``note``.
    language
        ``zh`` or ``en``.
    date
        The reporting date (shown in the legend title).
    stage_words
        Names of the milestone stages in ``language`` (``started`` -> 开工).

    Returns
    -------
    EstateColouring
        Colours of :data:`MILESTONE_COLOURS`; legend entries with counts; tooltip rows: status,
        missed milestones, next milestone, note; ``on_plan`` (the plan layer too).
    """
    w = WORDS[language]
    status = on_estates["milestone_status"].astype(object)
    counts = status.value_counts()
    listed = status.notna()
    colour = status.map(MILESTONE_COLOURS).where(listed, FAINT).fillna(FAINT)
    words = status.map(lambda s: html.escape(w.get(str(s), str(s))) if pd.notna(s) else "")
    tooltip = (
        (w["milestone"], words.where(listed, html.escape(w["not_listed"]))),
        (
            w["behind_on"],
            on_estates["behind_on"].map(lambda v: milestone_words(v, language, stage_words)),
        ),
        (
            w["next_milestone"],
            on_estates["next_milestone"].map(lambda v: milestone_words(v, language, stage_words)),
        ),
        (w["note"], on_estates["note"].map(lambda v: _esc(milestone_note(v, language)))),
    )
    legend = _legend(w, MILESTONE_COLOURS, counts, "not_listed", int((~listed).sum()))
    return EstateColouring(
        title=w["legend_milestone"].format(date=date) if date else w["milestone"],
        colour=colour,
        tooltip=tooltip,
        legend=legend,
        on_plan=True,
        outline="#9a9a9a",
    )
