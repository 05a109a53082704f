"""Cost by content and who pays: an estate priced from its needs, the funding split by hand."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.core.errors import PolicyError
from geo.core.policy import load_policy
from geo.planning.districts import estimate_investment
from geo.planning.funding import FUNDING_COLUMNS, funding_table
from geo.planning.investment import estimate_investment as by_content
from geo.planning.investment import item_classes
from tests.conftest import squares_in_a_row


def test_an_estate_costs_the_sum_of_its_needs(policy):
    # 100 households, 8,000 m², 2 buildings (make_estates defaults)
    estates = squares_in_a_row(1, needs="供水；屋面防水；加装电梯；绿化美化；服务设施")
    out = by_content(estates, policy).iloc[0]
    basic = 100 * 1800 + 8000 * 30  # 供水 per household, 屋面防水 per m² floor area
    improvement = 2 * 600000 + 8000 * 15  # 加装电梯 per building, 绿化美化 per m²
    enhancement = 200000  # 服务设施 per estate
    assert out["investment_basic_yuan"] == basic
    assert out["investment_improvement_yuan"] == improvement
    assert out["investment_enhancement_yuan"] == enhancement
    assert out["investment_yuan"] == basic + improvement + enhancement
    assert out["investment_method"] == "needs" and not out["investment_estimated"]
    assert out["investment_utility_items_yuan"] == 100 * 1800


def test_a_city_moves_items_between_classes(policy):
    huaibei = policy.with_values(
        {
            "cost.basic_items": [*policy.cost.basic_items, "照明设施", "绿化美化"],
            "cost.improvement_items": [
                "停车设施",
                "文体活动设施",
                "楼道照明",
                "加装电梯",
                "功能用房",
            ],
        }
    )
    assert item_classes(huaibei)["绿化美化"] == "basic"
    estates = squares_in_a_row(1, needs="绿化美化")
    out = by_content(estates, huaibei).iloc[0]
    assert out["investment_basic_yuan"] == 8000 * 15 and out["investment_improvement_yuan"] == 0


def test_flat_fallback_and_unpriced_items_are_flagged(policy):
    estates = squares_in_a_row(3)
    estates["needs"] = pd.array(["", "供水；晾衣架", pd.NA], dtype="string")
    estates.loc[2, "floor_area_m2"] = pd.NA
    out = by_content(estates, policy)
    assert out["investment_yuan"].iloc[0] == 8000 * 242  # not surveyed: Xinyang 2022 flat rate
    assert out["investment_unclassified_yuan"].iloc[0] == 8000 * 242
    assert out["investment_method"].iloc[0] == "flat" and out["investment_estimated"].iloc[0]
    assert out["investment_yuan"].iloc[1] == 100 * 1800  # 晾衣架 is not an annex item
    assert out["investment_unpriced"].iloc[1] == "晾衣架" and out["investment_estimated"].iloc[1]
    assert out["investment_yuan"].iloc[2] == 100 * 27200  # no floor area: per household


def test_rates_must_name_annex_items(policy):
    with pytest.raises(PolicyError, match="annex"):
        by_content(
            squares_in_a_row(1), policy.with_values({"cost.item_rates": ["晾衣架 = 5 / m2"]})
        )
    with pytest.raises(PolicyError, match="item_rates"):
        policy.with_values({"cost.item_rates": ["供水 = lots"]})


def test_funding_split_by_hand(policy):
    # 1990 estate, 100 households, needs 供水 (utility item, basic) and 屋面防水 (basic)
    estates = squares_in_a_row(1, needs="供水；屋面防水")
    costs = estimate_investment(estates, policy).iloc[0]
    total = 100 * 1800 + 8000 * 30  # 420,000
    assert costs["investment_yuan"] == total
    assert costs["fund_residents_yuan"] == 0.2 * total  # Huaibei 六: at least 20 %
    assert costs["fund_utilities_yuan"] == 0.5 * 100 * 1800  # half the water supply item
    assert costs["fund_central_yuan"] == 0.3 * total  # pre-2000: 30 % of the basic class
    government = total - 0.2 * total - 0.5 * 180000 - 0.3 * total
    assert costs["fund_city_yuan"] == costs["fund_district_yuan"] == government / 2  # 1:1
    assert sum(costs[c] for c in FUNDING_COLUMNS) == total


def test_no_central_subsidy_after_2000(policy):
    estates = squares_in_a_row(1, build_year_latest=2003, needs="屋面防水")
    costs = estimate_investment(estates, policy).iloc[0]
    assert costs["fund_central_yuan"] == 0


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(1, 5000),
            st.floats(0, 500000),
            st.sampled_from(["", "供水", "供水；供电；立面整治", "加装电梯；服务设施", "绿化美化"]),
            st.integers(1960, 2010),
        ),
        min_size=1,
        max_size=6,
    ),
    st.floats(0, 1),
    st.floats(0, 1),
    st.floats(0, 1),
)
def test_funding_always_sums_to_the_investment(rows, residents, utility, central):
    from geo.core.policy import default_policy

    policy = default_policy().with_values(
        {
            "funding.residents_min_share": residents,
            "funding.utility_share_of_items": utility,
            "funding.central_share_of_basic": central,
        }
    )
    estates = squares_in_a_row(len(rows))
    estates["households"] = pd.array([r[0] for r in rows], dtype="Int64")
    estates["floor_area_m2"] = pd.array([r[1] for r in rows], dtype="Float64")
    estates["needs"] = pd.array([r[2] for r in rows], dtype="string")
    estates["build_year_latest"] = pd.array([r[3] for r in rows], dtype="Int64")
    out = estimate_investment(estates, policy)
    parts = out[list(FUNDING_COLUMNS)].to_numpy(dtype=float)
    assert (parts >= 0).all()
    assert np.allclose(parts.sum(axis=1), out["investment_yuan"].to_numpy(dtype=float), atol=0.5)


def test_funding_table_districts_standalones_and_total(policy):
    estates = squares_in_a_row(3, needs="屋面防水")
    estates = pd.concat([estates, estimate_investment(estates, policy)], axis=1)
    estates["status"] = "eligible"
    estates["district_id"] = pd.array(["D0001", "D0001", pd.NA], dtype="string")
    districts = pd.DataFrame(
        {"district_id": ["D0001"], **{c: [estates[c].iloc[:2].sum()] for c in FUNDING_COLUMNS}}
    )
    table = funding_table(estates, districts)
    assert set(table["level"]) == {"district", "estate", "total"}
    total = table.loc[table["level"] == "total", "wan_yuan"].sum()
    assert total == pytest.approx(3 * 8000 * 30 / 1e4)
    assert table.loc[table["level"] == "district", "wan_yuan"].sum() == pytest.approx(2 * 24.0)


def test_rates_per_metre_of_boundary_and_per_estate(policy):
    # a 100 m square: 400 m of boundary (red line)
    custom = policy.with_values(
        {"cost.item_rates": ["绿化美化 = 10 / m", "服务设施 = 5000 / estate"]}
    )
    out = by_content(squares_in_a_row(1, needs="绿化美化；服务设施"), custom).iloc[0]
    assert out["investment_improvement_yuan"] == 400 * 10
    assert out["investment_enhancement_yuan"] == 5000


def _funding_table_by_rows(estates: pd.DataFrame, districts: pd.DataFrame) -> pd.DataFrame:
    """The row-by-row funding table that ``funding_table`` replaced (issue 20), kept as its reference."""
    from geo.planning.funding import SOURCES

    rows = []
    in_programme = estates["status"].isin(("eligible", "extension"))
    standalone = estates.loc[in_programme & estates["district_id"].isna()]

    def add(level, ident, values):
        whole = sum(values.values())
        for name, (zh, _en) in SOURCES.items():
            amount = values[name]
            share = round(amount / whole, 4) if whole else 0.0
            rows.append([level, ident, name, zh, round(amount / 1e4, 2), share])

    for frame, level, key in (
        (districts, "district", "district_id"),
        (standalone, "estate", "estate_id"),
    ):
        if not len(frame) or "fund_residents_yuan" not in frame:
            continue
        for _, row in frame.iterrows():
            values = {
                s: float(np.nan_to_num(pd.to_numeric(row[f"fund_{s}_yuan"], errors="coerce")))
                for s in SOURCES
            }
            add(level, str(row[key]), values)
    programme = estates.loc[in_programme]
    if len(programme):
        add(
            "total",
            "合计",
            {s: float(programme[f"fund_{s}_yuan"].astype("Float64").sum()) for s in SOURCES},
        )
    return pd.DataFrame(rows, columns=["level", "id", "source", "source_zh", "wan_yuan", "share"])


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["eligible", "extension", "ineligible"]),
            st.sampled_from([None, "D1", "D2"]),
            st.lists(
                st.one_of(st.none(), st.floats(0, 1e7), st.sampled_from([0.0, 12345.675, 5.0])),
                min_size=5,
                max_size=5,
            ),
        ),
        max_size=12,
    )
)
def test_funding_table_equals_the_row_by_row_table(rows):
    cols = list(FUNDING_COLUMNS)
    estates = pd.DataFrame(
        {
            "estate_id": pd.array([f"E{i}" for i in range(len(rows))], dtype="string"),
            "status": [r[0] for r in rows],
            "district_id": pd.array([r[1] for r in rows], dtype="string"),
            **{c: pd.array([r[2][k] for r in rows], dtype="Float64") for k, c in enumerate(cols)},
        }
    )
    districts = estates.dropna(subset=["district_id"]).groupby("district_id")[cols].sum()
    districts = districts.reset_index().assign(geometry=None)
    got = funding_table(estates, districts)
    want = _funding_table_by_rows(estates, districts)
    pd.testing.assert_frame_equal(got, want, check_dtype=True)


def _priced_one_by_one(estates: pd.DataFrame, policy) -> pd.DataFrame:
    """The estate-by-estate pricing loop that grouping by needs cell replaced (issue 20)."""
    from geo.core.cells import split_needs
    from geo.planning.content import CONTENT_CLASSES, classify_need
    from geo.planning.investment import _quantities, item_rates

    classes, rates, quantity = item_classes(policy), item_rates(policy), _quantities(estates)
    utility = {item.name for raw in policy.funding.utility_items if (item := classify_need(raw))}
    n = len(estates)
    by_class = {c: np.zeros(n) for c in CONTENT_CLASSES}
    utility_cost, total = np.zeros(n), np.full(n, np.nan)
    unpriced = [""] * n
    for i, cell in enumerate(estates["needs"].to_numpy(dtype=object, na_value=None)):
        items = split_needs(cell)
        if not items:
            continue
        missing = []
        for raw in dict.fromkeys(items):
            item = classify_need(raw)
            rate = rates.get(item.name) if item else None
            amount = rate[0] * quantity[rate[1]][i] if rate else np.nan
            if item is None or not np.isfinite(amount):
                missing.append(raw)
                continue
            by_class[classes[item.name]][i] += amount
            if item.name in utility:
                utility_cost[i] += amount
        total[i] = sum(by_class[c][i] for c in CONTENT_CLASSES)
        unpriced[i] = "；".join(missing)
    out = {f"investment_{c}_yuan": np.round(by_class[c], 0) for c in CONTENT_CLASSES}
    out["investment_utility_items_yuan"] = np.round(utility_cost, 0)
    out["priced"] = ~np.isnan(total)
    out["investment_unpriced"] = unpriced
    return pd.DataFrame(out, index=estates.index)


_NEEDS = [
    "供水",
    "屋面防水",
    "加装电梯",
    "绿化美化",
    "服务设施",
    "停车设施",
    "not an item",
    "序号 3",
]


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.lists(st.sampled_from(_NEEDS), max_size=4).map("；".join)),
            st.one_of(st.none(), st.floats(0, 1e5)),
            st.one_of(st.none(), st.integers(0, 3000)),
        ),
        min_size=1,
        max_size=10,
    )
)
def test_pricing_by_needs_cell_equals_estate_by_estate(rows):
    policy = load_policy()
    estates = squares_in_a_row(len(rows))
    estates["needs"] = pd.array([r[0] for r in rows], dtype="string")
    estates["floor_area_m2"] = pd.array([r[1] for r in rows], dtype="Float64")
    estates["households"] = pd.array([r[2] for r in rows], dtype="Int64")
    got = by_content(estates, policy)
    want = _priced_one_by_one(estates, policy)
    for column in want.columns.drop(["priced", "investment_unpriced"]):
        np.testing.assert_array_equal(got[column].to_numpy(), want[column].to_numpy())
    surveyed = want["priced"].to_numpy()  # the others take the flat rate
    assert (got["investment_method"].to_numpy(dtype=object)[surveyed] == "needs").all()
    assert list(got["investment_unpriced"]) == list(want["investment_unpriced"])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(["", "加装电梯", "管网改造；加装电梯", " a ", None]), max_size=30),
    st.sampled_from(["string", "str", "object"]),
)
def test_same_texts_groups_cells_as_the_loop_does(cells, dtype) -> None:
    from geo.planning.investment import _same_cells, _same_texts

    column = pd.Series(cells, dtype=dtype, index=np.arange(len(cells)) * 2)
    expected = _same_cells(column.to_numpy(dtype=object, na_value=None))
    got = _same_texts(column)
    assert [cell for cell, _ in got] == [cell for cell, _ in expected]
    for (_, ours), (_, theirs) in zip(got, expected, strict=True):
        assert ours.tolist() == theirs.tolist()
