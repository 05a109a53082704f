"""The GeoPackage ``quality`` layer keeps its English columns and adds where/message/fix in Chinese."""

from __future__ import annotations

import geo.pipeline


def test_the_quality_layer_has_chinese_columns_beside_the_english_ones():
    result = geo.pipeline.run_plan(geo.pipeline.load_inputs())
    quality = result.layers()["quality"]
    assert list(quality.columns) == [
        "level", "source", "where", "message", "fix", "where_zh", "message_zh", "fix_zh"
    ]  # fmt: skip
    assert len(quality) == len(result.quality) > 0
    phases = quality["message"].str.contains("read as phases")
    assert phases.sum() >= 3  # the demo's phased build years
    assert quality.loc[phases, "message_zh"].str.contains("读作分期").all()
    assert quality.loc[phases, "where_zh"].str.startswith("小区 ").all()
    # the demo survey has no management-model column: said once, in both languages
    model = quality["message"].str.contains("management_model_agreed")
    assert model.sum() == 1
    assert "改造后管理模式" in quality.loc[model, "message_zh"].iloc[0]
    assert quality.loc[model, "where_zh"].iloc[0] == "列 改造后管理模式是否确定"
    assert all(type(v) is str for v in quality["message_zh"])
