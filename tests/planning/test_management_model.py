"""The agreed post-renovation management model (Huaibei 2021 七(五)) read from the survey.

Five estates in a row, all eligible, the survey a CSV with a Chinese header: each cell form is
read (是/否, 已确定/未确定, a model's name, 待定, an odd cell, a blank), the odd cell is a quality
note and not a crash, and the gate postpones exactly the estates whose model is not agreed. Without
the column the run says so once and applies ``conditions.management_model_unknown``.
"""

from __future__ import annotations

import pandas as pd
import pytest

from geo.core.errors import PolicyError
from geo.core.policy import load_policy
from geo.core.schema import map_headers
from geo.core.yes_no import parse_bool, parse_management_model
from geo.io.tables import read_survey
from geo.pipeline import PlanInputs, load_inputs, run_plan
from geo.planning.conditions import apply_conditions, management_model_note
from tests.conftest import squares_in_a_row


@pytest.mark.parametrize(
    ("cell", "agreed"),
    [
        ("是", True),
        ("否", False),
        ("已", True),
        ("未", False),
        ("Y", True),
        ("n", False),
        ("1", True),
        ("0", False),
        (1.0, True),
        (0, False),
        ("TRUE", True),
        ("false", False),
        (True, True),
        ("已确定", True),
        ("已明确", True),
        ("未确定", False),
        ("尚未明确", False),
        ("待定", False),
        ("暂无", False),
        ("物业服务企业", True),
        ("社区托管", True),
        ("业主自治", True),
        ("无物业", False),
        ("", None),
        (None, None),
        ("不详", None),
    ],
)
def test_cells_in_chinese_and_english(cell, agreed):
    value, note = parse_management_model(cell)
    assert value is agreed and note == ""


@pytest.mark.parametrize("cell", ["2", "maybe", "见附件"])
def test_an_odd_cell_is_unknown_with_a_note(cell):
    value, note = parse_management_model(cell)
    assert value is None and repr(cell) in note


def test_parse_bool_reads_spreadsheet_numbers():
    assert parse_bool(1.0) == (True, "") and parse_bool("0.0") == (False, "")
    assert parse_bool("1.5")[0] is None


@pytest.mark.parametrize(
    "header",
    ["是否确定改造后管理模式", "管理模式已确定", "management_model_agreed", "改造后管理模式"],
)
def test_headers_the_survey_join_accepts(header):
    assert map_headers(["小区名称", header]) == {
        "小区名称": "name",
        header: "management_model_agreed",
    }


def _survey_file(tmp_path, header="是否确定改造后管理模式", cells=None):
    cells = cells or ["是", "未确定", "物业服务企业", "见附件", ""]
    path = tmp_path / "survey.csv"
    rows = [f"小区编号,小区名称,建成年代,户数,居民同意率,{header}"]
    rows += [f"{chr(65 + i)},测试{i}号,1990,100,0.9,{c}" for i, c in enumerate(cells)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _estates_file(tmp_path):
    estates = squares_in_a_row(5)
    estates["has_property_management"] = pd.array([False] * 5, dtype="boolean")
    path = tmp_path / "estates.gpkg"
    estates.to_file(path, layer="estates")
    return path


def test_survey_column_postpones_the_estates_without_an_agreed_model(tmp_path):
    policy = load_policy()
    result = run_plan(
        load_inputs(str(_estates_file(tmp_path)), survey=str(_survey_file(tmp_path))), policy
    )
    estates = result.estates.set_index("estate_id").loc[list("ABCDE")]
    # A 是, B 未确定, C names a model, D odd cell (unknown), E blank (unknown, no property mgmt)
    assert list(estates["management_model_agreed"].astype(object).fillna("?")) == [
        True,
        False,
        True,
        "?",
        "?",
    ]
    assert list(estates["condition_management_model"]) == [
        "met",
        "failed",
        "met",
        "unknown",
        "unknown",
    ]
    assert list(estates["ready"]) == [True, False, True, True, True]
    assert "未确定改造后管理模式" in estates.loc["B", "ready_reason_zh"]
    quality = result.quality.to_frame()
    odd = quality[quality["message"].str.contains("见附件", regex=False)]
    assert len(odd) == 1 and odd["where"].iloc[0] == "row 5"  # header is row 1; D is row 5
    # two blank estates (D, E) in the programme: said once
    notes = quality[quality["where"] == "column management_model_agreed"]
    assert len(notes) == 1
    assert notes["message"].iloc[0].startswith("2 estates in the programme have no value")


@pytest.mark.parametrize(
    ("fallback", "ready", "state"),
    [
        ("property_management", [True, True], ["met", "unknown"]),
        ("unknown", [True, True], ["unknown", "unknown"]),
        ("failed", [False, False], ["failed", "failed"]),
    ],
)
def test_without_the_column_the_fallback_applies_and_is_said_once(fallback, ready, state):
    policy = load_policy().with_values({"conditions.management_model_unknown": fallback})
    estates = squares_in_a_row(2)
    estates["has_property_management"] = pd.array([True, False], dtype="boolean")
    inputs = PlanInputs(estates=estates)
    result = run_plan(inputs, policy)
    out = result.estates.set_index("estate_id").loc[["A", "B"]]
    assert list(out["ready"]) == ready
    assert list(out["condition_management_model"]) == state
    quality = result.quality.to_frame()
    notes = quality[quality["where"] == "column management_model_agreed"]
    assert len(notes) == 1
    message = notes["message"].iloc[0]
    assert message.startswith("the survey has no column management_model_agreed")
    assert repr(fallback) in message


def test_no_note_when_every_estate_is_surveyed_or_the_gate_is_off(eligible_row, policy):
    estates = eligible_row(2)
    estates["management_model_agreed"] = pd.array([True, False], dtype="boolean")
    assert management_model_note(estates, policy) is None
    estates["management_model_agreed"] = pd.array([True, pd.NA], dtype="boolean")
    assert management_model_note(estates, policy).startswith("1 estates in the programme")
    off = policy.with_values({"conditions.management_model": "off"})
    assert management_model_note(estates, off) is None
    assert list(apply_conditions(estates, off)["ready"]) == [True, True]


def test_the_fallback_is_one_of_three():
    with pytest.raises(PolicyError, match="management_model_unknown"):
        load_policy().with_values({"conditions.management_model_unknown": "yes"})


def test_read_survey_keeps_the_typed_column(tmp_path):
    from geo.core.errors import QualityReport

    quality = QualityReport()
    survey = read_survey(_survey_file(tmp_path, header="管理模式已确定"), quality=quality)
    assert str(survey["management_model_agreed"].dtype) == "boolean"
    assert survey["management_model_agreed"].isna().sum() == 2
