"""The package workbooks read back with openpyxl: 合计 = sum of the shown values, Chinese labels,
the itemised estimate in its three modes, assignment, adjacency and quality sheets."""

from __future__ import annotations

import math

import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.outputs import bundle, cells, estimate, labels, workbook
from geo.outputs import export as ex


def _shown(cell) -> object:
    """The value as Excel displays it (number format's decimals)."""
    value = cell.value
    if not isinstance(value, int | float) or isinstance(value, bool):
        return value
    places = cells._decimals(cell.number_format)
    return value if places is None else round(value, places)


def _rows(ws) -> list[list]:
    return [list(r) for r in ws.iter_rows()]


def _check_totals(ws) -> int:
    """Every numeric cell of the 合计 row equals the sum of the shown values above; returns count."""
    rows = _rows(ws)
    total = next(r for r in rows if r[0].value == "合计 total")
    body = rows[1 : rows.index(total)]
    checked = 0
    for j, cell in enumerate(total):
        if j == 0 or not isinstance(cell.value, int | float):
            continue
        shown = [_shown(r[j]) for r in body if isinstance(r[j].value, int | float)]
        assert _shown(cell) == pytest.approx(round(sum(shown), 6)), (ws.title, j)
        assert cell.value == _shown(cell)  # stored as shown
        checked += 1
    return checked


def test_schedule_total_is_the_sum_of_shown_values(package):
    folder, _ = package
    wb = openpyxl.load_workbook(next(folder.glob("*.xlsx")))
    assert _check_totals(wb["小区清单"]) == 4  # buildings, households, floor area, investment


def test_index_total_is_the_sum_of_shown_values(package):
    folder, _ = package
    wb = openpyxl.load_workbook(folder.parent / "index.xlsx")
    assert _check_totals(wb["片区一览"]) == 5
    members = _rows(wb["小区归属"])
    assert [r[1].value for r in members[1:]] == ["E1", "E2"]
    assert members[1][3].value == "符合条件"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1e7, allow_nan=False), min_size=1, max_size=30))
def test_total_row_adds_the_rounded_values(values):
    rows = [["x", cells.shown(v / 1e4, "#,##0.0")] for v in values]
    total = cells.total_row(rows, ["@", "#,##0.0"], [False, True], "合计 total")
    assert total[1] == pytest.approx(round(sum(r[1] for r in rows), 1))
    assert math.isclose(total[1], round(total[1], 1))


def test_chinese_sheets_have_no_english_codes(package):
    folder, _ = package
    wb = openpyxl.load_workbook(next(folder.glob("*.xlsx")))
    codes = set(labels.STATUS_ZH) | {"district", "standalone", "True", "False"}
    for ws in wb.worksheets:
        for row in ws.iter_rows(min_row=2, values_only=True):
            assert not codes & {v for v in row if isinstance(v, str)}, ws.title
        header = [c.value for c in next(ws.iter_rows(max_row=1))]
        assert all(
            any("\u4e00" <= ch <= "\u9fff" for ch in str(h)) or h == "序号" for h in header
        ), (
            ws.title,
            header,
        )


def test_no_repeated_or_always_zero_columns(package):
    folder, _ = package
    wb = openpyxl.load_workbook(next(folder.glob("*.xlsx")))
    for title in ("管线廊道", "养老设施", "小区清单"):
        ws = wb[title]
        header = [c.value for c in next(ws.iter_rows(max_row=1))]
        assert len(header) == len(set(header)), title
        for j in range(len(header)):
            values = [r[j] for r in ws.iter_rows(min_row=2, values_only=True)]
            assert not all(v in (0, None) for v in values), (title, header[j])
    assert [c.value for c in next(wb["管线廊道"].iter_rows(max_row=1))].count("长度(m) length") == 1


def test_assignment_adjacency_and_quality_sheets(package):
    folder, _ = package
    wb = openpyxl.load_workbook(next(folder.glob("*.xlsx")))
    assign = _rows(wb["小区归属"])
    assert [(r[0].value, r[1].value, r[2].value) for r in assign[1:]] == [
        ("D0001", 1, "E1"),
        ("D0001", 2, "E2"),
    ]
    adjacency = _rows(wb["相邻关系"])
    assert [c.value for c in adjacency[0]][:2] == ["小区A estate A", "小区B estate B"]
    assert [(r[0].value, r[1].value) for r in adjacency[1:]] == [("E1", "E2")]
    assert adjacency[1][4].value == "否"  # blocked False in Chinese
    quality = _rows(wb["数据质量"])
    assert len(quality) == 2 and quality[1][2].value == "row 2"  # E2's survey row, not row 7


def _estimate(layers, **changes) -> pd.DataFrame:
    plan = bundle.PlanLayers(**{**layers.__dict__})
    for key, value in changes.items():
        setattr(plan, key, value)
    rows, notes = estimate.estimate_rows(bundle._bundle(plan, "D0001"), plan)
    return pd.DataFrame(rows, columns=estimate.HEADER), notes


def _amount(table: pd.DataFrame, label: str) -> float:
    return float(table.loc[table["内容类别 class"] == label, "金额(万元) amount"].iloc[0])


def test_estimate_flat_rate_is_marked(layers):
    table, notes = _estimate(layers)
    assert "ESTIMATE" in notes[0]
    assert _amount(table, "建安工程费 construction cost") == pytest.approx(1210.0)
    other = table.loc[table["内容类别 class"] == "其他费用 other costs"]
    assert other["依据 basis"].str.contains("ASSUMPTION").all()
    assert _amount(table, "总投资 total investment") == pytest.approx(1210 * 1.10)


def test_estimate_itemised_from_policy_rates(layers):
    toml = (
        layers.run_info["policy_toml"]
        .replace("item_rates = []\n", "")
        .replace(
            "[cost]",
            '[cost]\nitem_rates = ["供水 = 1800 / household", "屋面防水 = 30 / m2", '
            '"协商机制 = 10000 / estate"]\ndesign_rate = 0.04',
        )
    )
    table, notes = _estimate(layers, run_info={**layers.run_info, "policy_toml": toml})
    assert notes[0].startswith("分项估算")
    water = table.loc[table["项目 item"] == "供水"].iloc[0]
    assert (water["工程量 quantity"], water["单位 unit"], water["单价(元) unit rate"]) == (
        300,
        "户",
        1800,
    )
    assert water["金额(万元) amount"] == pytest.approx(54.0)
    roof = table.loc[table["项目 item"] == "屋面防水"].iloc[0]
    assert roof["金额(万元) amount"] == pytest.approx(60.0)  # 20,000 m² x 30
    lift = table.loc[table["项目 item"] == "加装电梯"].iloc[0]
    assert pd.isna(lift["金额(万元) amount"]) and "no rate" in lift["依据 basis"]
    construction = _amount(table, "建安工程费 construction cost")
    assert construction == pytest.approx(54 + 60 + 1)
    classes = table.loc[
        table["内容类别 class"].str.endswith("类合计", na=False), "金额(万元) amount"
    ]
    assert classes.sum() == pytest.approx(construction)
    design = table.loc[table["项目 item"] == "勘察设计费 survey and design"].iloc[0]
    assert design["依据 basis"] == "policy cost.design_rate"
    assert design["金额(万元) amount"] == pytest.approx(round(construction * 0.04, 2))


def test_estimate_reads_cost_by_class_and_funding_columns(layers):
    estates = layers.estates.copy()
    estates["investment_basic_yuan"] = [500_000.0, 300_000.0, 0.0]
    estates["investment_enhancement_yuan"] = [100_000.0, 50_000.0, 0.0]
    estates["funding_residents_yuan"] = [200_000.0, 100_000.0, 0.0]
    estates["funding_government_yuan"] = [400_000.0, 250_000.0, 0.0]
    table, notes = _estimate(layers, estates=estates)
    assert notes[0].startswith("按内容分类")
    assert _amount(table, "基础类合计") == pytest.approx(80.0)
    assert _amount(table, "提升类合计") == pytest.approx(15.0)
    assert _amount(table, "建安工程费 construction cost") == pytest.approx(95.0)
    funding = table.loc[table["内容类别 class"] == "资金来源 funding"]
    assert set(funding["项目 item"]) >= {"居民出资 residents", "政府补助 government", "合计 total"}
    total = funding.loc[funding["项目 item"] == "合计 total", "金额(万元) amount"].iloc[0]
    # the sources pay the total investment: construction 95 + other costs in the same proportions
    assert total == pytest.approx(_amount(table, "总投资 total investment"), abs=0.02)
    residents = funding.loc[funding["项目 item"] == "居民出资 residents", "金额(万元) amount"]
    assert residents.iloc[0] == pytest.approx(total * 30 / 95, abs=0.01)
    sources = funding.loc[funding["项目 item"] != "合计 total", "金额(万元) amount"]
    assert total == pytest.approx(sources.sum())


def test_boundary_point_sheet(package, layers):
    folder, _ = package
    wb = openpyxl.load_workbook(next(folder.glob("*.xlsx")))
    rows = _rows(wb["界址点坐标表"])
    assert rows[1][1].value == "J1"
    assert rows[1][2].value > 3_000_000 > rows[1][3].value  # X northing, Y easting


def test_formula_text_from_data_stays_text_in_every_sheet(package):
    folder, _ = package
    for path in [next(folder.glob("*.xlsx")), folder.parent / "index.xlsx"]:
        wb = openpyxl.load_workbook(path)
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    assert cell.data_type != "f", (path.name, ws.title, cell.coordinate)


def test_schedule_drops_empty_columns(layers):
    plan = bundle.PlanLayers(**{**layers.__dict__})
    estates = plan.estates.copy()
    estates["elderly_share"] = None
    plan.estates = estates
    header, rows, _ = workbook.schedule(bundle._bundle(plan, "D0001"))
    assert "60岁以上人口占比(%) share aged 60+" not in header
    assert rows[-1][0] == "合计 total"
    assert ex.PackageOptions().encoding == "utf-8"
