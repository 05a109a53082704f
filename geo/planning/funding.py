"""Who pays: the funding of each estate and district by source (yuan), summing to the investment.

Sources, in the order they are taken from an estate's investment (``investment_yuan``, from
:mod:`geo.planning.investment`):

``residents``  residents and enterprises, at least ``funding.residents_min_share`` (20 %) of the
               total (Huaibei 2021 §六).
``utilities``  utility companies, ``funding.utility_share_of_items`` of the cost of their items
               (``funding.utility_items``: water, power, gas, telecom) inside the red line (Ziyun
               2022: the government digs the trench and pre-buries ducts, the utility lays its
               lines; Huaibei §六: government funds exclude these networks). Their lines outside
               the red line are theirs entirely and not in the estate's investment.
``central``    central subsidy, ``funding.central_share_of_basic`` of the basic class for estates
               built by ``funding.central_last_build_year`` (Ruicheng §三(一): "重点用于支持改造2000年底前
               建成的城镇老旧小区"); an estate whose classes are unknown (flat fallback) gets none.
``city`` / ``district``  the government remainder, split ``city_share_of_government`` : rest
               (Huaibei §六: 1:1 of the balance after higher-level subsidy and residents' and
               enterprises' contributions).

Each part is whole yuan and the five add up to ``investment_yuan`` exactly (the district part
takes the rounding). An estate of unknown investment has unknown funding.

May import: numpy, pandas, ``geo.core.policy``, ``geo.core._machine``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo.core._machine import without_collector
from geo.core.policy import Policy

#: Funding sources: column suffix -> (Chinese, English).
SOURCES: dict[str, tuple[str, str]] = {
    "residents": ("居民和企业出资", "residents and enterprises"),
    "utilities": ("管线单位出资", "utility companies"),
    "central": ("中央补助资金", "central subsidy"),
    "city": ("市级财政", "city government"),
    "district": ("区级财政", "district government"),
}
#: Funding columns of an estate or district (yuan).
FUNDING_COLUMNS = tuple(f"fund_{s}_yuan" for s in SOURCES)


def fund_estates(estates: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """Return the funding of each estate by source (:data:`FUNDING_COLUMNS`, yuan, Float64).

    Parameters
    ----------
    estates
        Estates with ``investment_yuan``, ``investment_basic_yuan``,
        ``investment_utility_items_yuan`` (from :func:`geo.planning.investment.estimate_investment`)
        and ``build_year_latest``.
    policy
        ``policy.funding`` shares.
    """
    f = policy.funding
    total = estates["investment_yuan"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    # <NA> outside the programme (geo.planning.districts.estimate_investment): counts 0 here
    basic = np.nan_to_num(_floats(estates["investment_basic_yuan"]), nan=0.0)
    utility_items = np.nan_to_num(_floats(estates["investment_utility_items_yuan"]), nan=0.0)
    year = estates["build_year_latest"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    known = np.isfinite(total)
    t = np.where(known, total, 0.0)
    residents = np.round(f.residents_min_share * t, 0)
    utilities = np.minimum(np.round(f.utility_share_of_items * utility_items, 0), t - residents)
    old = np.isfinite(year) & (year <= f.central_last_build_year)
    central = np.where(old, np.round(f.central_share_of_basic * basic, 0), 0.0)
    central = np.clip(central, 0.0, t - residents - utilities)
    government = t - residents - utilities - central
    city = np.round(government * f.city_share_of_government, 0)
    district = government - city
    out = pd.DataFrame(index=estates.index)
    for name, values in zip(SOURCES, (residents, utilities, central, city, district), strict=True):
        out[f"fund_{name}_yuan"] = pd.array(np.where(known, values, np.nan), dtype="Float64")
    return out


def _floats(values: pd.Series) -> np.ndarray:
    return values.astype("Float64").to_numpy(dtype=float, na_value=np.nan)


@without_collector
def funding_table(estates: pd.DataFrame, districts: pd.DataFrame) -> pd.DataFrame:
    """Return the funding table in long form: one row per (level, id, source), in 万元.

    Columns ``level`` (``estate`` for estates outside districts, ``district``, ``total``), ``id``
    (estate or district id, ``合计`` for the total), ``source``, ``source_zh``, ``wan_yuan`` (万元,
    2 decimals), ``share`` (of the row's investment). Districts take the sums of their members;
    the total is over every estate with a known investment in the programme (``status`` eligible or
    extension). An unknown amount counts 0. Rows: the districts in their order, then the
    standalone estates, then the total, each with its five sources in :data:`SOURCES` order.
    """
    in_programme = estates["status"].isin(("eligible", "extension"))
    # only the columns read below are taken (not every column of every estate)
    funds = [c for c in (f"fund_{s}_yuan" for s in SOURCES) if c in estates]
    standalone = estates[["estate_id", *funds]].loc[
        in_programme & estates.get("district_id", pd.Series(pd.NA, index=estates.index)).isna()
    ]
    levels: list[str] = []
    ids: list[str] = []
    blocks: list[np.ndarray] = []  # (rows, sources) yuan
    for frame, level, key in (
        (districts, "district", "district_id"),
        (standalone, "estate", "estate_id"),
    ):
        if not len(frame) or f"fund_{next(iter(SOURCES))}_yuan" not in frame:
            continue
        blocks.append(
            np.column_stack(
                [
                    np.nan_to_num(
                        pd.to_numeric(frame[f"fund_{s}_yuan"], errors="coerce")
                        .astype("Float64")
                        .to_numpy(dtype=float, na_value=np.nan)
                    )
                    for s in SOURCES
                ]
            )
        )
        levels += [level] * len(frame)
        ids += [str(v) for v in frame[key].to_numpy(dtype=object)]
    programme = estates[funds].loc[in_programme]
    if len(programme) and "fund_residents_yuan" in programme:
        blocks.append(
            np.array(
                [[float(programme[f"fund_{s}_yuan"].astype("Float64").sum()) for s in SOURCES]]
            )
        )
        levels.append("total")
        ids.append("合计")
    columns = ["level", "id", "source", "source_zh", "wan_yuan", "share"]
    if not blocks:
        return pd.DataFrame([], columns=columns)
    amounts = np.concatenate(blocks)
    whole = amounts[:, 0].copy()  # summed source by source, as a planner adds them up
    for k in range(1, amounts.shape[1]):
        whole += amounts[:, k]
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = amounts / whole[:, None]
    n = len(SOURCES)
    share = rounded(shares.ravel(), 4)
    share[np.repeat(whole == 0, n)] = 0.0
    return pd.DataFrame(
        {
            "level": np.repeat(np.array(levels, dtype=object), n),
            "id": np.repeat(np.array(ids, dtype=object), n),
            "source": list(SOURCES) * len(levels),
            "source_zh": [zh for zh, _en in SOURCES.values()] * len(levels),
            "wan_yuan": rounded((amounts / 1e4).ravel(), 2),
            "share": share,
        },
        columns=columns,
    )


def rounded(values: np.ndarray, digits: int) -> np.ndarray:
    """``[round(x, digits) for x in values]`` (Python's rounding) as a float array, in bulk.

    Python rounds the exact binary value to the nearest decimal (ties to even) and returns the
    float nearest that decimal; ``np.round`` divides ``rint(x * 10**digits)`` by ``10**digits``.
    Where ``x * 10**digits`` (one rounding) is not within a few ulps of a tie and below 2**52,
    both find the same integer, and the division by a power of ten (correctly rounded) gives the
    float nearest the same decimal: the same value. The others, and NaN and infinities, are
    rounded by Python one by one. ``digits`` from 0 to 15 (powers of ten exact in floats).
    """
    if not 0 <= digits <= 15:
        raise ValueError(f"digits must be 0 to 15, not {digits}")
    values = np.asarray(values, dtype=float)
    scale = 10.0**digits
    with np.errstate(over="ignore", invalid="ignore"):  # beyond 2**52: by Python below
        scaled = values * scale
        out = np.round(values, digits)
        near_tie = np.abs(np.abs(scaled - np.floor(scaled)) - 0.5) <= 8 * np.spacing(scaled)
        doubt = ~np.isfinite(scaled) | (np.abs(scaled) >= 2.0**52) | near_tie
    for i in np.flatnonzero(doubt):
        out[i] = round(float(values[i]), digits)
    return out
