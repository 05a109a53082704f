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
    assert quality["message"].str.contains("read as phases").all()
    assert quality["message_zh"].str.contains("读作分期").all()
    assert quality["where_zh"].str.startswith("小区 ").all()
    assert all(type(v) is str for v in quality["message_zh"])
