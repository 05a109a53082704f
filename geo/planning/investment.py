"""Investment by content (改造内容): an estate costs the sum of its surveyed needs, by class.

An estate's needs (``needs``, 改造需求: items of the Yangjiang annex, :mod:`geo.planning.content`)
are priced with the policy's unit rates (``cost.item_rates``: yuan per m² of floor area, household,
building, metre of the estate boundary or estate) and summed by content class (``cost.basic_items``
/ ``improvement_items`` / ``enhancement_items``: a city moves an item to another class in its
file, e.g. Huaibei 2021 §四(一) puts lighting and greening in the basic class). Where the needs are
not surveyed (empty cell) the flat rate of ``cost.yuan_per_m2`` applies (Xinyang 2022: 242 yuan/m²;
Huaibei 2021: 224), or ``cost.yuan_per_household`` without a floor area, flagged
``investment_estimated``. Items the rates cannot price (an item not in the annex, a quantity
unknown) are listed in ``investment_unpriced`` and flag the estate as estimated.

May import: numpy, pandas, shapely, geopandas, ``geo.core`` (policy, schema, errors, _machine) and
:mod:`geo.planning.content`.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.core._machine import without_collector
from geo.core.cost_rates import parse_rate
from geo.core.errors import PolicyError
from geo.core.messages import msg
from geo.core.policy import Policy
from geo.core.schema import split_needs
from geo.core.text_columns import string_array
from geo.planning.content import CONTENT_CLASSES, CONTENT_ITEMS, classify_need

#: Investment columns added per estate and summed per district (yuan).
CLASS_COLUMNS = tuple(f"investment_{c}_yuan" for c in (*CONTENT_CLASSES, "unclassified"))


def item_classes(policy: Policy) -> dict[str, str]:
    """Return ``{annex item name: content class}`` under the policy.

    Items the policy's ``cost.*_items`` lists do not name keep the class of
    :data:`geo.planning.content.CONTENT_ITEMS`.

    Raises
    ------
    PolicyError
        If a list names an item the annex does not have, or one item is in two classes.
    """
    classes = {item.name: item.content_class for item in CONTENT_ITEMS}
    seen: dict[str, str] = {}
    for content_class in CONTENT_CLASSES:
        for raw in getattr(policy.cost, f"{content_class}_items"):
            item = classify_need(raw)
            if item is None:
                raise PolicyError(
                    msg(
                        "cost.{content_class}_items: {raw!r} is not an annex item",
                        content_class=content_class,
                        raw=raw,
                    )
                )
            if item.name in seen and seen[item.name] != content_class:
                raise PolicyError(
                    msg(
                        "cost: {name} is in both {seen_name} and {content_class}",
                        name=item.name,
                        seen_name=seen[item.name],
                        content_class=content_class,
                    )
                )
            seen[item.name] = content_class
            classes[item.name] = content_class
    return classes


def item_rates(policy: Policy) -> dict[str, tuple[float, str]]:
    """Return ``{annex item name: (yuan, unit)}`` of ``cost.item_rates``.

    Raises
    ------
    PolicyError
        If an entry does not parse or names an item the annex does not have.
    """
    rates: dict[str, tuple[float, str]] = {}
    for entry in policy.cost.item_rates:
        try:
            raw, yuan, unit = parse_rate(entry)
        except ValueError as exc:
            raise PolicyError(msg("cost.item_rates: {exc}", exc=exc)) from exc
        item = classify_need(raw)
        if item is None:
            raise PolicyError(msg("cost.item_rates: {raw!r} is not an annex item", raw=raw))
        rates[item.name] = (yuan, unit)
    return rates


def _quantities(estates: pd.DataFrame) -> dict[str, np.ndarray]:
    def floats(column: str) -> np.ndarray:
        if column not in estates:
            return np.full(len(estates), np.nan)
        return estates[column].astype("Float64").to_numpy(dtype=float, na_value=np.nan)

    if (
        isinstance(estates, gpd.GeoDataFrame)
        and estates.crs is not None
        and estates.crs.is_projected
    ):
        perimeter = _perimeters(estates.geometry.to_numpy())
    else:
        perimeter = np.full(len(estates), np.nan)
    return {
        "m2": floats("floor_area_m2"),
        "household": floats("households"),
        "building": floats("buildings"),
        "m": np.asarray(perimeter, dtype=float),
        "estate": np.ones(len(estates)),
    }


def _perimeters(geoms: np.ndarray) -> np.ndarray:
    """``shapely.length(shapely.boundary(geoms))``: each footprint's boundary length (m).

    A polygon's length, or a multipolygon's of one part, is its rings' lengths added in the
    order of its boundary's: the same value without building the boundary. The others (a
    multipolygon of several parts adds each part's rings first) go through the boundary.
    """
    single = np.isin(shapely.get_type_id(geoms), (3, 6)) & (shapely.get_num_geometries(geoms) <= 1)
    perimeter = shapely.length(geoms)
    perimeter[~single] = shapely.length(shapely.boundary(geoms[~single]))
    return perimeter


def _same_cells(cells: np.ndarray) -> list[tuple[object, np.ndarray]]:
    """``(cell, positions)`` of each distinct value of ``cells``, in order of first appearance."""
    groups: dict[tuple[type, object], list[int]] = {}  # by type too: 1 and 1.0 are two cells
    alone: list[tuple[object, np.ndarray]] = []  # unhashable cells, one by one
    for i, cell in enumerate(cells.tolist()):
        try:
            groups.setdefault((type(cell), cell), []).append(i)
        except TypeError:
            alone.append((cell, np.array([i])))
    return [(key[1], np.array(rows)) for key, rows in groups.items()] + alone


def _same_texts(column: pd.Series) -> list[tuple[str | None, np.ndarray]]:
    """:func:`_same_cells` of a text column's cells (missing cells as None), without a loop.

    The cells are numbered by ``pd.factorize`` (in order of first appearance, as the groups
    are) and grouped by a stable sort (positions ascending); the missing cells, one group of
    None, take their place in that order.
    """
    if not isinstance(column.dtype, pd.StringDtype):
        return _same_cells(column.to_numpy(dtype=object, na_value=None))
    codes, uniques = pd.factorize(column)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(-1, len(uniques) + 1))
    groups: list[tuple[str | None, np.ndarray]] = [
        (str(uniques[k]), order[bounds[k + 1] : bounds[k + 2]]) for k in range(len(uniques))
    ]
    if bounds[1]:  # missing cells, placed after the texts that appear before the first of them
        first = int(np.argmax(codes < 0))
        groups.insert(int(codes[:first].max(initial=-1)) + 1, (None, order[: bounds[1]]))
    return groups


@without_collector
def estimate_investment(estates: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """Return the investment of each estate from its needs, by content class (yuan).

    Parameters
    ----------
    estates
        Estates with ``needs`` (items separated by ``；``), ``floor_area_m2`` (m²),
        ``households``, ``buildings``; a GeoDataFrame in a projected CRS for rates per metre
        (the boundary length of the estate polygon, m).
    policy
        ``policy.cost``: item rates, item classes and the flat fallback rates.

    Returns
    -------
    DataFrame
        Indexed like ``estates``: ``investment_yuan`` (Float64, <NA> when nothing can be
        estimated), ``investment_estimated`` (boolean), ``investment_method`` (``needs`` or
        ``flat``), :data:`CLASS_COLUMNS` (yuan; the flat fallback goes to
        ``investment_unclassified_yuan``), ``investment_utility_items_yuan`` (cost of the items of
        ``funding.utility_items``) and ``investment_unpriced`` (items not priced, ``；``).

    Raises
    ------
    PolicyError
        If the policy's rates or classes name items the annex does not have.
    """
    classes = item_classes(policy)
    rates = item_rates(policy)
    utility = {item.name for raw in policy.funding.utility_items if (item := classify_need(raw))}
    quantity = _quantities(estates)
    n = len(estates)
    by_class = {c: np.zeros(n) for c in (*CONTENT_CLASSES, "unclassified")}
    utility_cost = np.zeros(n)
    total = np.full(n, np.nan)
    estimated = np.zeros(n, dtype=bool)
    method = np.full(n, "needs", dtype=object)
    unpriced: list[str] = [""] * n
    needs = estates["needs"] if "needs" in estates else pd.Series([None] * n, index=estates.index)
    # estates with the same needs cell are priced together, item by item in the cell's order
    # (the same sums, in the same order, as estate by estate)
    for cell, rows in _same_texts(needs):
        items = split_needs(cell)
        if not items:
            continue
        missing = []  # (item as written, estates of ``rows`` it is not priced for)
        for raw in dict.fromkeys(items):
            item = classify_need(raw)
            rate = rates.get(item.name) if item else None
            if item is None or rate is None:
                missing.append((raw, np.ones(len(rows), dtype=bool)))
                continue
            amount = rate[0] * quantity[rate[1]][rows]
            priced = np.isfinite(amount)
            missing.append((raw, ~priced))
            by_class[classes[item.name]][rows[priced]] += amount[priced]
            if item.name in utility:
                utility_cost[rows[priced]] += amount[priced]
        total[rows] = sum(by_class[c][rows] for c in CONTENT_CLASSES)
        unknown = np.column_stack([mask for _raw, mask in missing])
        for k in np.flatnonzero(unknown.any(axis=1)):
            estimated[rows[k]] = True
            unpriced[rows[k]] = "；".join(
                raw for (raw, _mask), miss in zip(missing, unknown[k], strict=True) if miss
            )
    # whole yuan per class; the total is their sum, so the classes add up to it exactly
    for content_class in CONTENT_CLASSES:
        by_class[content_class] = np.round(by_class[content_class], 0)
    total = np.where(np.isnan(total), np.nan, sum(by_class[c] for c in CONTENT_CLASSES))
    # the flat fallback where the needs are not surveyed
    flat = np.isnan(total)
    area, households = quantity["m2"], quantity["household"]
    fallback = np.round(
        np.where(
            np.isfinite(area),
            area * policy.cost.yuan_per_m2,
            households * policy.cost.yuan_per_household,
        ),
        0,
    )
    total = np.where(flat, fallback, total)
    by_class["unclassified"] = np.where(flat & np.isfinite(fallback), fallback, 0.0)
    method[flat] = "flat"
    estimated |= flat & np.isfinite(fallback)
    out = pd.DataFrame(index=estates.index)
    out["investment_yuan"] = pd.array(total, dtype="Float64")
    out["investment_estimated"] = pd.array(estimated, dtype="boolean")
    out["investment_method"] = string_array(np.where(np.isnan(total), None, method))
    for content_class, column in zip(
        (*CONTENT_CLASSES, "unclassified"), CLASS_COLUMNS, strict=True
    ):
        out[column] = by_class[content_class]
    out["investment_utility_items_yuan"] = np.round(utility_cost, 0)
    out["investment_unpriced"] = string_array(unpriced)
    return out
