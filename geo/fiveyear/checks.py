"""Checks of a plan against the documents, year by year: :func:`check_plan`.

The 15 % extension share (Yangjiang), 80 % consent (Xinyang, Ruicheng), no excluded or too-new
estate, districts split across years (contiguous renovation: Xinyang, Huaibei, Ruicheng,
Yangjiang), and Ruicheng's yearly milestones (:func:`milestones`).

May import: geo.core and :mod:`geo.fiveyear.progress` (pure: no file access, no printing).
"""

from __future__ import annotations

import datetime

import pandas as pd

from geo.core.messages import msg, text
from geo.core.policy import Policy
from geo.fiveyear.progress import city_milestones

# --------------------------------------------------------------------------- checks

#: Ruicheng 2021-2025 plan (seed 003), §(三): the yearly milestones (month, day, zh, en).
MILESTONES: tuple[tuple[int, str, str], ...] = (
    (1, "完成调查摸底", "survey finished"),
    (2, "完成方案设计", "design finished"),
    (3, "完成立项审批", "approval finished"),
    (5, "全部开工", "all started"),
    (10, "基本完工", "basically complete"),
    (11, "全部完工", "complete"),
)

#: The document behind each check (messages: shown in the interface language).
SOURCES = {
    "extension_share": msg(
        "Yangjiang 2021-2025 draft §1 (2005年底前建成的…比例不得超过改造任务的15%)"
    ),
    "consent": msg("Xinyang 2022 plan §3 and annex (80% consent); Ruicheng 2021-2025 plan §(二)1"),
    "eligibility": msg(
        "Ruicheng 2021-2025 plan (2000年底前; 棚改/城中村/自建房 excluded); Yangjiang draft §1"
    ),
    "district_split": msg(
        "Xinyang 2022 (以小区为主、片区互动); Huaibei 2021 (一区一规划); "
        "Yangjiang draft (成片捆绑、打包)"
    ),
    "milestones": msg(
        "policy [milestones]: the city's dated milestones (Ruicheng 2021-2025 plan; "
        "Xinyang 2022; Ziyun 2022; Huaibei 2021)"
    ),
    "matching": msg("lianpian plan import"),
    "yearly_count": msg(
        "the plan's stated estates per year (Ruicheng 2021-2025 plan §(二): "
        "2021: 2, 2022: 7, 2023: 6, 2024: 7, 2025: 8)"
    ),
}

#: Milestone stages and cities in words (the interface language; Chinese: the documents' words).
_STAGE_WORDS = {
    "surveyed": msg("surveyed"),
    "designed": msg("designed"),
    "approved": msg("approved"),
    "tendered": msg("tendered"),
    "started": msg("started"),
    "pipelines": msg("pipelines renewed"),
    "basically_completed": msg("basically completed"),
    "completed": msg("completed"),
    "accepted": msg("accepted"),
}
_CITY_WORDS = {
    "ruicheng": msg("Ruicheng milestones"),
    "xinyang": msg("Xinyang milestones"),
    "ziyun": msg("Ziyun milestones"),
    "huaibei": msg("Huaibei milestones"),
    "custom": msg("the city's own milestones"),
}

#: Ruicheng 2021-2025 plan §(二) 主要目标: estates renovated per year (30 in all).
RUICHENG_ESTATES_PER_YEAR = {2021: 2, 2022: 7, 2023: 6, 2024: 7, 2025: 8}


def stated_counts(policy: Policy) -> dict[int, int]:
    """Return ``schedule.stated_estates_per_year`` as {year: estates}."""
    out = {}
    for item in policy.schedule.stated_estates_per_year:
        year, count = item.split(":")
        out[int(year)] = int(count)
    return out


def yearly_count_checks(rows: pd.DataFrame, stated: dict[int, int]) -> list[dict[str, object]]:
    """Check the plan table's estates per year against the counts its text states.

    One check per stated year (and one for a table year the text does not state): ``ok`` when
    the table lists exactly the stated number of rows that year, else ``violation``.
    """
    counts = rows["plan_year"].dropna().astype(int).value_counts().to_dict()
    out = []
    for year in sorted(set(stated) | set(counts)):
        listed, says = int(counts.get(year, 0)), stated.get(year)
        ok = says is not None and listed == says
        detail = (
            msg(
                "the table lists {listed} estates for {year}, the text states {says}",
                listed=listed,
                year=year,
                says=says,
            )
            if says is not None
            else msg(
                "the table lists {listed} estates for {year}, a year the text does not state",
                listed=listed,
                year=year,
            )
        )
        out.append(_check(year, "yearly_count", "ok" if ok else "violation", listed, says, detail))
    total_listed, total_says = sum(counts.values()), sum(stated.values())
    out.append(
        _check(
            pd.NA,
            "yearly_count",
            "ok" if total_listed == total_says else "violation",
            total_listed,
            total_says,
            msg(
                "the table lists {listed} estates in all, the text states {says}",
                listed=total_listed,
                says=total_says,
            ),
        )
    )
    return out


def milestones(year: int) -> list[tuple[datetime.date, str, str]]:
    """Return Ruicheng's milestones of ``year`` as (deadline: last day of the month, zh, en)."""
    out = []
    for month, zh, en in MILESTONES:
        first_next = datetime.date(year + month // 12, month % 12 + 1, 1)
        out.append((first_next - datetime.timedelta(days=1), zh, en))
    return out


def _check(
    year: object,
    check: str,
    status: str,
    value: object,
    limit: object,
    detail: str,
    items: str = "",
) -> dict[str, object]:
    return {
        "plan_year": year,
        "check": check,
        "status": status,
        "value": value,
        "limit": limit,
        "estates": items,
        "detail": detail,
        "source": SOURCES[check],
        # the same in Chinese, beside the English (as the quality layer's *_zh columns): a
        # message does not survive a DataFrame, which keeps plain text
        "detail_zh": text(detail, "zh"),
        "source_zh": text(SOURCES[check], "zh"),
    }


def _names(frame: pd.DataFrame, limit: int = 12) -> str:
    labels = [
        f"{n}" + (f" ({e})" if not pd.isna(e) else "")
        for n, e in zip(frame["name"], frame["matched_estate_id"], strict=True)
    ]
    more = f" … +{len(labels) - limit}" if len(labels) > limit else ""
    return "、".join(labels[:limit]) + more


def extension_shares(rows: pd.DataFrame, policy: Policy) -> tuple[int, int, int, int]:
    """Return (extension estates, estates, extension households, households) of plan rows.

    An extension estate was built (latest year) after ``eligibility.cutoff_year`` and by
    ``extension_last_year`` (2001-2005: Yangjiang draft). Rows of unknown households count 0.
    """
    rules = policy.eligibility
    latest = rows["build_year_latest"].astype("Int64")
    ext = (latest > rules.cutoff_year) & (latest <= rules.extension_last_year)
    ext = ext.fillna(False).astype(bool)
    households = rows["households"].astype("Float64").fillna(0)
    return (
        int(ext.sum()),
        len(rows),
        int(households[ext].sum()),
        int(households.sum()),
    )


def check_plan(
    rows: pd.DataFrame, policy: Policy, *, estates: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Check each plan year against the documents; one row per check and year.

    Parameters
    ----------
    rows
        Resolved plan rows (:func:`resolved_rows`).
    policy
        ``eligibility`` (cut-off, extension, 15 % share, 80 % consent).
    estates
        The estates with ``district_id`` (for districts split across years); optional.

    Returns
    -------
    DataFrame
        Columns ``plan_year`` (a year, or ``<NA>`` for the whole plan), ``check``
        (``extension_share``, ``consent``, ``eligibility``, ``district_split``, ``matching``,
        ``milestones``, ``yearly_count``), ``status`` (``ok``, ``violation``, ``warning``, ``info``), ``value``,
        ``limit``, ``estates`` (the rows concerned), ``detail`` and ``source`` (the document), and
        ``detail_zh``, ``source_zh``: the same two in Chinese.
    """
    rules = policy.eligibility
    out: list[dict[str, object]] = []
    years = sorted(int(y) for y in rows["plan_year"].dropna().unique())
    for year in years:
        part = rows.loc[rows["plan_year"] == year]
        out.extend(_extension_checks(year, part, policy))
        out.extend(_consent_checks(year, part, rules.consent_threshold))
        out.extend(_eligibility_checks(year, part, policy))
        not_matched = part.loc[part.get("match_status", "unmatched") != "matched"]
        if len(not_matched):
            out.append(
                _check(
                    year,
                    "matching",
                    "warning",
                    len(not_matched),
                    0,
                    msg(
                        "{n} of {total} rows not placed on the map: consent, status and "
                        "districts cannot be checked for them",
                        n=len(not_matched),
                        total=len(part),
                    ),
                    _names(not_matched),
                )
            )
        for m in city_milestones(policy):
            out.append(
                _check(
                    year,
                    "milestones",
                    "info",
                    m.deadline(year).isoformat(),
                    f"{m.share:.0%}",
                    msg(
                        "{share:.0%} of households {stage} ({city})",
                        share=m.share,
                        stage=_STAGE_WORDS.get(m.stage, m.stage),
                        city=_CITY_WORDS.get(policy.milestones.city, policy.milestones.city),
                    ),
                )
            )
    if len(years) > 1:
        out.extend(_extension_checks(pd.NA, rows, policy, whole_plan=True))
    if estates is not None and "district_id" in estates:
        out.extend(_district_checks(rows, estates))
    if policy.schedule.stated_estates_per_year:
        out.extend(yearly_count_checks(rows, stated_counts(policy)))
    frame = pd.DataFrame(out, columns=list(_check(0, "matching", "", "", "", "").keys()))
    frame["plan_year"] = frame["plan_year"].astype("Int64")
    frame["value"] = frame["value"].astype(str)
    frame["limit"] = frame["limit"].astype(str)
    return frame


def _extension_checks(
    year: object, part: pd.DataFrame, policy: Policy, whole_plan: bool = False
) -> list[dict[str, object]]:
    rules = policy.eligibility
    ext_n, n, ext_hh, hh = extension_shares(part, policy)
    latest = part["build_year_latest"].astype("Int64")
    ext_rows = part.loc[
        ((latest > rules.cutoff_year) & (latest <= rules.extension_last_year)).fillna(False)
    ]
    out = []
    span = f"{rules.cutoff_year + 1}-{rules.extension_last_year}"
    for by_estates, num, den in ((True, ext_n, n), (False, ext_hh, hh)):
        share = num / den if den else 0.0
        limit = 0.0 if not rules.extension_enabled else rules.extension_max_share
        ok = share <= limit + 1e-12
        figures = {
            "num": num,
            "den": den,
            "span": span,
            "share": share,
            "limit": limit,
            "disabled": "" if rules.extension_enabled else msg(", extension disabled"),
        }
        detail = (
            msg(
                "by estates: {num} of {den} built {span} = {share:.1%} "
                "(limit {limit:.0%}{disabled})",
                **figures,
            )
            if by_estates
            else msg(
                "by households: {num} of {den} built {span} = {share:.1%} "
                "(limit {limit:.0%}{disabled})",
                **figures,
            )
        )
        if whole_plan:
            detail = msg("{detail}, the whole plan", detail=detail)
        out.append(
            _check(
                year,
                "extension_share",
                "ok" if ok else "violation",
                round(share, 4),
                limit,
                detail,
                _names(ext_rows) if num else "",
            )
        )
    return out


def _consent_checks(year: int, part: pd.DataFrame, threshold: float) -> list[dict[str, object]]:
    matched = part.loc[part.get("match_status", "unmatched") == "matched"]
    rate = matched["consent_rate"].astype("Float64")
    low = matched.loc[(rate < threshold).fillna(False)]
    unknown = matched.loc[rate.isna()]
    if matched.empty:
        return []
    out = [
        _check(
            year,
            "consent",
            "violation" if len(low) else "ok",
            len(low),
            threshold,
            msg(
                "{n} of {total} matched estates below {threshold:.0%} consent{rates}",
                n=len(low),
                total=len(matched),
                threshold=threshold,
                rates=(
                    " (" + ", ".join(f"{r:.1%}" for r in low["consent_rate"].head(8)) + ")"
                    if len(low)
                    else ""
                ),
            ),
            _names(low) if len(low) else "",
        )
    ]
    if len(unknown):
        out.append(
            _check(
                year,
                "consent",
                "warning",
                len(unknown),
                threshold,
                msg("{n} matched estates with no surveyed consent rate", n=len(unknown)),
                _names(unknown),
            )
        )
    return out


def _eligibility_checks(year: int, part: pd.DataFrame, policy: Policy) -> list[dict[str, object]]:
    rules = policy.eligibility
    status = part["status"].astype("string")
    latest = part["build_year_latest"].astype("Int64")
    too_new = (latest > rules.extension_last_year).fillna(False) | (status == "ineligible").fillna(
        False
    )
    excluded = (status == "excluded").fillna(False)
    unknown = (status == "needs_survey").fillna(False) | (
        latest.isna() & (part.get("match_status", "unmatched") != "matched")
    )
    out = []
    bad = part.loc[too_new | excluded]
    reasons = []
    if too_new.any():
        reasons.append(
            msg("{n} built after {year}", n=int(too_new.sum()), year=rules.extension_last_year)
        )
    if excluded.any():
        reasons.append(
            msg("{n} excluded (renovated, shanty-town plan, urban village)", n=int(excluded.sum()))
        )
    out.append(
        _check(
            year,
            "eligibility",
            "violation" if len(bad) else "ok",
            len(bad),
            0,
            (
                msg("{first}; {second}", first=reasons[0], second=reasons[1])
                if len(reasons) == 2
                else reasons[0]
                if reasons
                else msg("no planned estate is excluded or too new")
            ),
            _names(bad) if len(bad) else "",
        )
    )
    if unknown.any():
        out.append(
            _check(
                year,
                "eligibility",
                "warning",
                int(unknown.sum()),
                0,
                msg(
                    "{n} planned estates of unknown build year: survey needed",
                    n=int(unknown.sum()),
                ),
                _names(part.loc[unknown]),
            )
        )
    return out


def _district_checks(rows: pd.DataFrame, estates: pd.DataFrame) -> list[dict[str, object]]:
    matched = rows.loc[(rows.get("match_status", "unmatched") == "matched")]
    year_of = dict(zip(matched["matched_estate_id"].astype(str), matched["plan_year"], strict=True))
    out = []
    members = estates.loc[estates["district_id"].notna(), ["estate_id", "district_id", "name"]]
    for district, group in members.groupby("district_id", sort=True):
        years = [year_of.get(str(e)) for e in group["estate_id"]]
        planned = sorted({int(y) for y in years if y is not None and not pd.isna(y)})
        if not planned:
            continue
        missing = [n for n, y in zip(group["name"], years, strict=True) if y is None]
        if len(planned) > 1:
            parts = ", ".join(
                f"{y}: {sum(1 for v in years if v is not None and not pd.isna(v) and v == y)}"
                for y in planned
            )
            out.append(
                _check(
                    min(planned),
                    "district_split",
                    "warning",
                    district,
                    "one year",
                    msg(
                        "district {district} split across years ({parts} estates): contiguity "
                        "lost (shared pipelines and facilities built in one go)",
                        district=district,
                        parts=parts,
                    ),
                    "、".join(str(n) for n in group["name"]),
                )
            )
        if missing:
            out.append(
                _check(
                    min(planned),
                    "district_split",
                    "info",
                    district,
                    "all members",
                    msg(
                        "district {district}: {n} of {total} estates not in the plan",
                        district=district,
                        n=len(missing),
                        total=len(group),
                    ),
                    "、".join(str(n) for n in missing[:12]),
                )
            )
    return out
