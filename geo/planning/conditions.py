"""Conditions of inclusion (gates) with their effect per city, and whether an estate is ready.

The documents state some rules as *conditions*, not priorities. Each is a policy entry
(``[conditions]``) whose effect a city chooses:

``exclude``   the estate is not in the programme: ``status`` becomes ``excluded`` with the reason.
``postpone``  the estate stays eligible and in its district, but is not ready: it is on the
              mobilisation list (``ready`` False, ``ready_reason_zh/en``); with
              ``districts.form_from = "ready"`` it is left out of districts.
``weight``    only the priority readiness component (:mod:`geo.planning.priority`) reflects it.
``off``       ignored.

The conditions (:data:`CONDITIONS`):

``illegal_structures``  illegal structures largely removed (Yangjiang 2021-2025 draft §三(3):
                        "违章建筑拆除情况较好"; Xinyang 2022 start criteria), column
                        ``illegal_structures_removed``.
``management_model``    a post-renovation management model agreed (Huaibei 2021 §七(五):
                        "未能确定改造后管理模式的小区，暂缓改造"), column ``management_model_agreed``
                        (是否确定改造后管理模式). Where it is not surveyed (no column, or a blank
                        cell), ``conditions.management_model_unknown`` decides: by default existing
                        property management (``has_property_management`` True) counts as a model
                        in place and no property management is *not* a failure (Yangjiang §三(一):
                        incomplete management is a reason to qualify): the model is then unknown;
                        ``"unknown"``: always unknown; ``"failed"``: not agreed until shown.
                        :func:`management_model_note` says so once for the quality report.
``consent``             at least ``eligibility.consent_threshold`` (80 %) of residents agree (Xinyang
                        2022; Ruicheng §(二)1), column ``consent_rate``.

An unknown value never excludes or postpones, except consent: consent must be shown, so an
unknown consent rate is not ready. Each condition is reported as ``condition_<name>``: ``met``,
``failed`` or ``unknown``.

May import: numpy, pandas, ``geo.core.policy``.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd

from geo.core.messages import msg
from geo.core.policy import Policy
from geo.core.text_columns import string_array, text_values

#: name -> (Chinese label of a failure, English label, document)
CONDITIONS: dict[str, tuple[str, str, str]] = {
    "illegal_structures": ("违建未拆除", "illegal structures not removed", "阳江 三(3)"),
    "management_model": (
        "未确定改造后管理模式",
        "no agreed post-renovation management model",
        "淮北 七(五)",
    ),
    "consent": ("居民同意率未达标", "consent below the threshold", "信阳、芮城 (二)1"),
}

#: Statuses a condition can exclude or postpone (estates inside the programme).
_IN_PROGRAMME = ("eligible", "extension")


def condition_values(estates: pd.DataFrame, policy: Policy) -> dict[str, pd.Series]:
    """Per condition, a boolean Series: True met, False failed, <NA> unknown."""
    index = estates.index

    def flag(column: str) -> pd.Series:
        if column not in estates:
            return pd.Series(pd.NA, index=index, dtype="boolean")
        return estates[column].astype("boolean")

    model = flag("management_model_agreed")
    fallback = policy.conditions.management_model_unknown
    if fallback == "property_management":
        in_place = flag("has_property_management")
        # a model in place counts; no property management says nothing about an agreed model
        model = model.where(model.notna(), in_place.where(in_place == True, pd.NA))  # noqa: E712
    elif fallback == "failed":
        model = model.fillna(False)
    consent = estates["consent_rate"].astype("Float64") if "consent_rate" in estates else None
    consent_ok = (
        (consent >= policy.eligibility.consent_threshold).astype("boolean")
        if consent is not None
        else pd.Series(pd.NA, index=index, dtype="boolean")
    )
    return {
        "illegal_structures": flag("illegal_structures_removed"),
        "management_model": model.astype("boolean"),
        "consent": consent_ok,
    }


def management_model_note(estates: pd.DataFrame, policy: Policy) -> str | None:
    """Say, once, that the management model was not surveyed and which reading applied.

    Returns ``None`` when the gate is ``off`` or every estate in the programme (``status``
    eligible or extension, when given) has a value in ``management_model_agreed``; else one
    sentence (English) for the quality report.
    """
    if policy.conditions.management_model == "off":
        return None
    column = (
        estates["management_model_agreed"].astype("boolean")
        if "management_model_agreed" in estates
        else pd.Series(pd.NA, index=estates.index, dtype="boolean")
    )
    absent = bool(column.isna().all())
    if "status" in estates:  # the condition applies in the programme only
        column = column[estates["status"].isin(_IN_PROGRAMME).to_numpy()]
    blank = int(column.isna().sum())
    if blank == 0:
        return None
    fallback = policy.conditions.management_model_unknown
    reading = {
        "property_management": msg(
            "estates with property management count as having a model, "
            "the others are unknown (flagged, not postponed)"
        ),
        "unknown": msg("every such estate is unknown (flagged, not postponed)"),
        "failed": msg(
            "every such estate counts as without a model (effect: {effect})",
            effect=policy.conditions.management_model,
        ),
    }[fallback]
    what = (
        msg("the survey has no column management_model_agreed (是否确定改造后管理模式)")
        if absent
        else msg(
            "{n} estates in the programme have no value in management_model_agreed "
            "(是否确定改造后管理模式)",
            n=blank,
        )
    )
    return msg(
        "{what}: the management-model condition (Huaibei 2021 七(五)) used "
        "conditions.management_model_unknown = {fallback!r}: {reading}",
        what=what,
        fallback=fallback,
        reading=reading,
    )


def apply_conditions(estates: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """Return a copy of ``estates`` with the conditions applied and readiness reported.

    Parameters
    ----------
    estates
        Estates after :func:`geo.planning.eligibility.assess_eligibility` (``status``,
        ``reason_zh``, ``reason_en``; ``illegal_structures_removed``, ``has_property_management``,
        optional ``management_model_agreed``, ``consent_rate``).
    policy
        ``policy.conditions`` gives each condition's effect; ``eligibility.consent_threshold``.

    Returns
    -------
    DataFrame (or GeoDataFrame, like the input)
        Added: ``condition_<name>`` (``met``/``failed``/``unknown``) per :data:`CONDITIONS`;
        ``ready`` (boolean: in the programme and no postponing condition failed or, for consent,
        unknown; <NA> outside the programme); ``ready_reason_zh`` / ``ready_reason_en`` (the
        failed conditions with their document, empty when ready); ``condition_flags`` (conditions
        with effect ``weight`` that failed, and unknown values to survey). ``status`` becomes
        ``excluded`` (reason prefixed) where an ``exclude`` condition fails.
    """
    out = estates.copy(deep=False)  # copy on write: columns are replaced, never edited
    n = len(out)
    status = text_values(out["status"].astype(str))
    in_programme = np.isin(status, _IN_PROGRAMME)
    values = condition_values(out, policy)
    # per estate with any (most have none): position -> texts
    reasons_zh: defaultdict[int, list[str]] = defaultdict(list)
    reasons_en: defaultdict[int, list[str]] = defaultdict(list)
    flags: defaultdict[int, list[str]] = defaultdict(list)
    not_ready = np.zeros(n, dtype=bool)
    excluded = np.zeros(n, dtype=bool)
    zh_reason = text_values(out["reason_zh"].astype(str))
    en_reason = text_values(out["reason_en"].astype(str))
    for name, (label_zh, label_en, source) in CONDITIONS.items():
        value = values[name]
        failed = (value == False).fillna(False).to_numpy(dtype=bool)  # noqa: E712
        unknown = value.isna().to_numpy()
        out[f"condition_{name}"] = string_array(
            np.where(failed, "failed", np.where(unknown, "unknown", "met"))
        )
        effect = getattr(policy.conditions, name)
        if effect == "off":
            continue
        for i in np.flatnonzero(in_programme & unknown):
            flags[i].append(f"{name}: unknown")
        hit = in_programme & failed & ~excluded
        if effect == "exclude":
            for i in np.flatnonzero(hit):
                zh_reason[i] = f"排除：{label_zh}（{source}）；{zh_reason[i]}"
                en_reason[i] = f"excluded: {label_en} ({source}); {en_reason[i]}"
            status[hit] = "excluded"
            excluded |= hit
        elif effect == "postpone":
            blocked = hit | (in_programme & unknown & (name == "consent"))
            for i in np.flatnonzero(blocked):
                what_zh = label_zh if failed[i] else f"{label_zh}（未知，需调查）"
                what_en = label_en if failed[i] else f"{label_en} (unknown: survey)"
                reasons_zh[i].append(f"暂缓：{what_zh}（{source}）")
                reasons_en[i].append(f"postponed: {what_en} ({source})")
            not_ready |= blocked
        else:  # weight
            for i in np.flatnonzero(hit):
                flags[i].append(f"{name}: failed")
    in_programme &= ~excluded
    out["status"] = string_array(status)
    out["reason_zh"] = string_array(zh_reason)
    out["reason_en"] = string_array(en_reason)
    ready = np.where(in_programme, ~not_ready, False)
    out["ready"] = pd.array(
        [bool(r) if p else pd.NA for r, p in zip(ready, in_programme, strict=True)], dtype="boolean"
    )
    for column, texts, sep in (
        ("ready_reason_zh", reasons_zh, "；"),
        ("ready_reason_en", reasons_en, "; "),
        ("condition_flags", flags, "; "),
    ):
        joined = [""] * n
        for i, parts in texts.items():
            joined[i] = sep.join(parts)
        out[column] = string_array(joined)
    return out


def households_to_persuade(estates: pd.DataFrame, policy: Policy) -> pd.Series:
    """Return, per estate, how many more households must agree to reach the consent threshold.

    ``ceil(threshold x households - consent_rate x households)`` clipped at 0 (Int64); <NA> where
    the consent rate or the households are unknown. A planner's mobilisation target.
    """
    hh = estates["households"].astype("Float64")
    rate = estates["consent_rate"].astype("Float64")
    short = (policy.eligibility.consent_threshold * hh - rate * hh).clip(lower=0)
    # consent rates are rounded shares: 1e-6 keeps 0.8 x 100 - 0.8 x 100 at 0
    return np.ceil(short - 1e-6).clip(lower=0).astype("Int64")
