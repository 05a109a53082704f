"""The 25-item content table of the Yangjiang annex and its three content classes."""

from __future__ import annotations

from pathlib import Path

import pytest

from geo.planning.content import (
    CONTENT_CLASSES,
    CONTENT_ITEMS,
    classify_need,
    content_table,
    count_items,
    needs_by_class,
)

SEED = Path(__file__).resolve().parents[2].parent / "shared" / "seeds"


def test_the_table_has_25_items_numbered_in_order_with_a_class_each():
    assert [item.number for item in CONTENT_ITEMS] == list(range(1, 26))
    assert {item.content_class for item in CONTENT_ITEMS} == set(CONTENT_CLASSES)
    assert [item.group for item in CONTENT_ITEMS] == [1] * 13 + [2] * 7 + [3] * 3 + [4] * 2


@pytest.mark.parametrize(
    ("written", "number", "class_zh"),
    [
        ("供水", 1, "基础类"),
        ("楼内给水排水管道", 20, "基础类"),
        ("楼内给水、排水管道", 20, "基础类"),
        (" 加装电梯 ", 18, "完善类"),
        ("雨污分流", 5, "基础类"),
        ("服务设施", 21, "提升类"),
        ("18", 18, "完善类"),
    ],
)
def test_classify_need(written, number, class_zh):
    item = classify_need(written)
    assert item is not None and item.number == number and item.class_zh == class_zh


def test_unknown_need_is_kept_as_other_not_dropped():
    split = needs_by_class("加装电梯；供水、屋顶花园；供水")
    assert split == {
        "basic": ["供水"],
        "improvement": ["加装电梯"],
        "enhancement": [],
        "other": ["屋顶花园"],
    }
    assert needs_by_class(None) == {k: [] for k in (*CONTENT_CLASSES, "other")}


def test_counts_and_table():
    counts = count_items(["供水；供水；排水", "供水", None])
    assert counts == {1: 2, 5: 1}
    rows = content_table(counts)
    assert len(rows) == 25 and rows[0]["需要的小区数 (estates)"] == 2


@pytest.mark.realdata
def test_every_item_name_appears_in_the_yangjiang_annex():
    seeds = list(SEED.glob("004_*.txt"))
    if not seeds:
        pytest.skip(f"seed documents absent at {SEED}")
    text = "".join(seeds[0].read_text(encoding="utf-8").split())
    for item in CONTENT_ITEMS:
        assert item.name in text, item.name


@pytest.mark.realdata
def test_every_need_of_the_illustrative_survey_is_classified():
    survey = SEED.parent / "data" / "hangzhou" / "survey_illustrative.csv"
    if not survey.exists():
        pytest.skip(f"real data absent at {survey}")
    import pandas as pd

    needs = pd.read_csv(survey, dtype=str, encoding="utf-8-sig")["改造需求"]
    assert all(not needs_by_class(cell)["other"] for cell in needs)
