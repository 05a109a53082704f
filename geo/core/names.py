"""Normalising estate names and table headers so that spellings from different sources meet.

Plans, surveys and maps spell the same estate differently (``朝晖六小区`` / ``朝晖6小区`` /
``朝晖六住宅区``). :func:`normalise_name` reduces a name to a comparison key; it is used to join
survey rows to footprints and plan rows to estates. It never decides a match on its own: the
callers restrict candidates (same county) and report ambiguous cases.
"""

from __future__ import annotations

import re
import unicodedata

_DIGITS = {
    "零": "0",
    "〇": "0",
    "一": "1",
    "二": "2",
    "两": "2",
    "三": "3",
    "四": "4",
    "五": "5",
    "六": "6",
    "七": "7",
    "八": "8",
    "九": "9",
}

# Generic suffixes that plans add or drop (issue "five-year plan": 小区/住宅区/住宅楼/片区).
_SUFFIXES = (
    "住宅小区",
    "小区",
    "住宅区",
    "住宅楼",
    "宿舍区",
    "宿舍楼",
    "宿舍",
    "片区",
    "社区",
    "新村",
)
_PUNCT = re.compile(r"[\s·•・.,，。、:：;；'\"“”‘’()（）\[\]【】<>《》\-_/\\]+")


def _chinese_number(text: str) -> str:
    """Turn runs of Chinese numerals (up to 99, e.g. 十二, 二十, 六) into Arabic digits."""

    def repl(match: re.Match[str]) -> str:
        run = match.group(0)
        if "十" in run:
            tens, _, units = run.partition("十")
            value = int(_DIGITS.get(tens, "1") if tens else 1) * 10
            value += int(_DIGITS[units]) if units else 0
            return str(value)
        return "".join(_DIGITS[c] for c in run)

    return re.sub(r"[零〇一二两三四五六七八九十]+", repl, text)


def normalise_text(text: object) -> str:
    """Return ``text`` in NFKC form (full-width letters and digits made half-width), stripped.

    ``None`` and NaN give ``""``.
    """
    if text is None or (isinstance(text, float) and text != text):
        return ""
    return unicodedata.normalize("NFKC", str(text)).strip()


def normalise_name(name: object) -> str:
    """Return the comparison key of an estate name.

    NFKC (full-width to half-width), lower case, punctuation and spaces removed, Chinese numerals
    written as digits, and generic suffixes (小区, 住宅区, 住宅楼, 片区, ...) dropped from the end.

    Examples
    --------
    >>> normalise_name("朝晖六小区") == normalise_name("朝晖6住宅区")
    True
    >>> normalise_name(" Ｂｌｏｃｋ　Ａ ")
    'blocka'
    """
    key = _PUNCT.sub("", normalise_text(name).lower())
    key = _chinese_number(key)
    changed = True
    while changed and key:
        changed = False
        for suffix in _SUFFIXES:
            if key.endswith(suffix) and len(key) > len(suffix):
                key = key[: -len(suffix)]
                changed = True
    return key


def normalise_header(header: object) -> str:
    """Return the comparison key of a table header: NFKC, lower case, units and spaces removed.

    ``"建筑面积(m²)"``, ``"建筑面积m2"`` and ``"建筑面积 （平方米）"`` all give ``"建筑面积"``.
    """
    key = re.sub(r"\s+", "", normalise_text(header).lower())
    key = re.sub(r"[(（\[【].*?[)）\]】]", "", key)  # units in brackets
    key = re.sub(r"(m2|m²|㎡|平方米|万平方米|万元|元|户|个|栋|%)$", "", key)
    return re.sub(r"[\s_\-]+", "", key)
