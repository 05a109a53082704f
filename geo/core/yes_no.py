"""Yes/no survey cells: 是/否, 已/未, Y/N, 1/0, true/false, and the agreed management model.

Cells are read leniently but never guessed: a cell that says neither yes nor no is unknown, with
a note that :func:`geo.core.schema.coerce_attributes` puts in the quality report.

May import: the standard library, numpy, ``geo.core.messages`` and ``geo.core.names``.
"""

from __future__ import annotations

import re

import numpy as np

from geo.core.messages import msg
from geo.core.names import MISSING_CELLS, normalise_text

_BOOL_TRUE = {"是", "有", "已", "y", "yes", "true", "t", "1", "√", "✓"}
_BOOL_FALSE = {"否", "无", "未", "n", "no", "false", "f", "0", "×", ""}


def parse_bool(value: object) -> tuple[bool | None, str]:
    """Parse a yes/no cell (是/否, 有/无, 已/未, yes/no, y/n, true/false, 1/0); empty gives ``None``."""
    if isinstance(value, bool | np.bool_):
        return bool(value), ""
    text = normalise_text(value).lower()
    if text in MISSING_CELLS:
        return None, ""
    if text in _BOOL_TRUE:
        return True, ""
    if text in _BOOL_FALSE:
        return False, ""
    if re.fullmatch(r"[01]\.0+", text):  # 1.0 / 0.0: a spreadsheet's number cell
        return text.startswith("1"), ""
    return None, msg("{text!r} is not yes/no (是/否)", text=text)


#: Leading words of a yes/no phrase (已确定, 未拆除, 尚未明确, 待定): the state, whatever the verb.
_DONE_PREFIXES = ("已经", "已")
_NOT_DONE_PREFIXES = ("尚未", "暂未", "还未", "仍未", "没有", "未", "无", "没", "不", "待", "暂无")
#: A post-renovation management model written by name (the model is then agreed): 物业服务企业,
#: 专业化物业, 准物业, 业主自治/自管, 单位自管, 社区托管/代管, 居委会 (Huaibei 2021 七(五) names
#: 物业服务、业主自治、社区托管 among the ways; Yangjiang §三(一) 专业化物业管理或社区托管).
_MANAGEMENT_MODELS = ("物业", "自治", "自管", "托管", "代管", "居委会", "社区管理", "单位管理")


def parse_management_model(value: object) -> tuple[bool | None, str]:
    """Parse a cell of ``management_model_agreed`` (是否确定改造后管理模式).

    Yes/no as :func:`parse_bool` reads it (是/否, 已/未, Y/N, 1/0, true/false), phrases that start
    with 已 (已确定, 已明确: agreed) or 未/尚未/待/无 (未确定, 待定, 暂无: not agreed), or the
    model's name (物业服务企业, 业主自治, 社区托管 ...: agreed). Anything else is unknown, with a note
    for the quality report; a cell naming a model and a negation (无物业) is not agreed.
    """
    text = normalise_text(value)
    if text in {"待定", "暂无", "暂未确定"}:  # empty cells elsewhere; here: no model yet
        return False, ""
    agreed, note = parse_bool(value)
    if agreed is not None or not note:
        return agreed, note
    if text.startswith(_NOT_DONE_PREFIXES) or text in {"不确定", "不明确", "未知"}:
        return False, ""
    if text.startswith(_DONE_PREFIXES):
        return True, ""
    if any(model in text for model in _MANAGEMENT_MODELS):
        return True, ""
    return None, msg(
        "{text!r} is not yes/no (是/否) nor a management model (物业、自治、托管)", text=text
    )
