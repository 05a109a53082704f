"""Eligibility of each estate under the policy: one ``status`` code and the reason.

Codes (exactly these):

``eligible``
    built by the end of ``cutoff_year`` (2000: Ruicheng 2021-2025 plan; Yangjiang 2021-2025 draft).
``extension``
    built in ``cutoff_year + 1`` .. ``extension_last_year`` (2001-2005), which the Yangjiang draft
    allows for at most 15 % of a year's tasks.
``ineligible``
    built later (too new).
``excluded``
    already comprehensively renovated, inside a shanty-town or expropriation plan, or an urban
    village / self-built housing (Ruicheng; Yangjiang conditions).
``needs_survey``
    build year unknown: never guessed.

Consent is not a status: 80 % consent is required before an estate *enters an annual plan*
(Xinyang 2022; Ruicheng), so it is reported in ``consent_ok`` and weighs in the priority, and the
plan checks enforce it. The policy's conditions of inclusion (illegal structures, management model,
consent; :mod:`geo.planning.conditions`) are applied last: an ``exclude`` condition makes the estate
``excluded`` with its reason, a ``postpone`` one leaves it eligible but not ``ready``.

May import: numpy, pandas, geopandas, ``geo.core.policy``, :mod:`geo.planning.conditions`.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.core._machine import without_collector
from geo.core.policy import Policy
from geo.core.text_columns import string_array
from geo.planning.conditions import apply_conditions

STATUSES = ("eligible", "extension", "ineligible", "excluded", "needs_survey")
#: Statuses that districts may hold when the policy allows the extension.
GROUPABLE = ("eligible", "extension")

_EXCLUSIONS = (
    ("already_renovated", "已完成综合改造", "already comprehensively renovated"),
    ("shantytown_plan", "已纳入棚改或征收计划", "in a shanty-town or expropriation plan"),
    ("urban_village", "城中村或自建房为主", "urban village or self-built housing"),
)


@without_collector  # many short-lived texts, no cycles (issue 20)
def assess_eligibility(estates: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """Return a copy of ``estates`` with ``status``, ``reason_zh``, ``reason_en`` and ``consent_ok``.

    Parameters
    ----------
    estates
        Canonical estate table: needs ``build_year_latest`` (Int64), ``consent_rate`` (0-1) and the
        boolean exclusion columns ``already_renovated``, ``shantytown_plan``, ``urban_village``
        (missing values count as "no").
    policy
        ``policy.eligibility`` gives the cut-off year, the extension and the consent threshold.

    Returns
    -------
    DataFrame (or GeoDataFrame, like the input)
        ``status`` is one of :data:`STATUSES`; ``consent_ok`` is True/False, or <NA> when the
        consent rate is unknown; and the columns of
        :func:`geo.planning.conditions.apply_conditions` (``condition_*``, ``ready``,
        ``ready_reason_zh/en``, ``condition_flags``).
    """
    rules = policy.eligibility
    out = estates.copy(deep=False)  # copy on write: columns are replaced, never edited
    year = out["build_year_latest"]
    status = np.full(len(out), "", dtype=object)
    zh = np.full(len(out), "", dtype=object)
    en = np.full(len(out), "", dtype=object)
    excluded = np.zeros(len(out), dtype=bool)
    for column, text_zh, text_en in _EXCLUSIONS:
        hit = out[column].fillna(False).to_numpy(dtype=bool) & ~excluded
        status[hit], zh[hit], en[hit] = "excluded", f"排除：{text_zh}", f"excluded: {text_en}"
        excluded |= hit
    unknown = ~excluded & year.isna().to_numpy()
    status[unknown] = "needs_survey"
    zh[unknown], en[unknown] = "建成年代不详，需补充调查", "build year unknown: survey needed"
    known = ~excluded & ~unknown
    y = year.fillna(0).to_numpy(dtype=int)
    old = known & (y <= rules.cutoff_year)
    ext = known & (y > rules.cutoff_year) & (y <= rules.extension_last_year)
    new = known & ~old & ~ext
    for mask, code, text_zh, text_en in (
        (old, "eligible", f"{rules.cutoff_year}年底前建成", f"built by end of {rules.cutoff_year}"),
        (
            ext,
            "extension",
            f"{rules.cutoff_year + 1}-{rules.extension_last_year}年建成，可适当纳入"
            f"（不超过任务的{rules.extension_max_share:.0%}）",
            f"built {rules.cutoff_year + 1}-{rules.extension_last_year}: may be added up to "
            f"{rules.extension_max_share:.0%} of tasks",
        ),
        (
            new,
            "ineligible",
            f"{rules.extension_last_year}年后建成，不在改造范围",
            f"built after {rules.extension_last_year}: too new",
        ),
    ):
        status[mask], zh[mask], en[mask] = code, text_zh, text_en
    if not rules.extension_enabled:
        status[ext] = "ineligible"
        zh[ext] = f"{rules.cutoff_year}年后建成，本政策不纳入延伸范围"
        en[ext] = f"built after {rules.cutoff_year}: extension disabled by the policy"
    with_year = np.array([str(v) if v else "" for v in out["build_year_raw"].fillna("").tolist()])
    show = known & (with_year != "")
    zh[show] = _with_year("{}（建成{}）", zh[show], with_year[show])
    en[show] = _with_year("{} (built {})", en[show], with_year[show])
    consent = out["consent_rate"].astype("Float64")  # NaN and <NA>: unknown
    ok = pd.array(consent >= rules.consent_threshold, dtype="boolean")
    out["status"] = string_array(status)
    out["reason_zh"] = string_array(zh)
    out["reason_en"] = string_array(en)
    out["consent_ok"] = ok
    return apply_conditions(out, policy)


def _with_year(template: str, reasons: np.ndarray, years: np.ndarray) -> np.ndarray:
    """``template.format(reason, year)`` per row, each distinct (reason, year) formatted once.

    A few reasons and a few hundred build-year cells make the reasons of 200,000 estates.
    """
    reason_codes, reason_values = pd.factorize(reasons)
    year_codes, year_values = pd.factorize(years)
    pair_codes, pairs = pd.factorize(reason_codes.astype(np.int64) * len(year_values) + year_codes)
    texts = np.array(
        [
            template.format(reason_values[k // len(year_values)], year_values[k % len(year_values)])
            for k in pairs.tolist()
        ]
        + [""],  # an object array even with one text
        dtype=object,
    )
    return texts[pair_codes]


def groupable_statuses(policy: Policy) -> tuple[str, ...]:
    """Return the statuses a district may hold: eligible, plus extension when the policy allows."""
    return GROUPABLE if policy.eligibility.extension_enabled else ("eligible",)


def is_groupable(estates: gpd.GeoDataFrame, policy: Policy) -> np.ndarray:
    """Return a boolean mask of the estates that districts may hold (see groupable_statuses)."""
    return estates["status"].isin(groupable_statuses(policy)).to_numpy()
