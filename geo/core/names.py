"""Normalising estate names and table headers so that spellings from different sources meet.

Plans, surveys and maps spell the same estate differently (``朝晖六小区`` / ``朝晖6小区`` /
``朝晖六住宅区``). :func:`normalise_name` reduces a name to a comparison key; it is used to join
survey rows to footprints and plan rows to estates. It never decides a match on its own: the
callers restrict candidates (same county) and report ambiguous cases.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Container

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
#: Cells that listing sites and surveys write for "no value" (read as empty, not reported).
MISSING_CELLS = frozenset(
    {
        "",
        "nan",
        "none",
        "null",
        "-",
        "--",
        "---",
        "—",
        "——",
        "/",
        "暂无",
        "暂无数据",
        "暂无资料",
        "暂无信息",
        "无数据",
        "不详",
        "未知",
        "待定",
        "n/a",
        "na",
    }
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


_DECIMAL_ID = re.compile(r"(\d+)\.0+")


def whole_number_id(text: object) -> str | None:
    """The whole number of an id written as a decimal (``"4477360.0"`` -> ``"4477360"``), else None.

    A spreadsheet or pandas writes an id column with gaps as decimals; the tables' id joins look
    such an id up by its whole number when it names no estate as written.

    >>> whole_number_id("4477360.0"), whole_number_id(" 12.00 "), whole_number_id("12.5")
    ('4477360', '12', None)
    """
    if not isinstance(text, str):
        return None
    found = _DECIMAL_ID.fullmatch(text.strip())
    return found.group(1) if found else None


def known_id(text: str, known: Container[str]) -> str | None:
    """``text`` when it is one of the ``known`` ids, else its :func:`whole_number_id` when that is.

    The id joins of the survey, plan and progress tables: ``4477360.0`` names estate ``4477360``
    only when no estate is ``4477360.0`` itself. None when neither is known.
    """
    if text in known:
        return text
    whole = whole_number_id(text)
    return whole if whole is not None and whole in known else None


#: Labels of a total row in a planner's table (合计, 总计, 小计, 共计, total, sum): a sum of the
#: rows above, never an estate or a plan row.
TOTAL_LABELS = frozenset({"合计", "总计", "小计", "共计", "total", "sum"})


def is_total_label(text: object) -> bool:
    """Whether a cell labels a total row: :data:`TOTAL_LABELS`, spaces, colons and case aside.

    >>> is_total_label("合 计："), is_total_label("Total"), is_total_label("合计小区")
    (True, True, False)
    """
    return re.sub(r"[\s:：]+", "", normalise_text(text)).lower() in TOTAL_LABELS


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


# --------------------------------------------------------------------------- name agreement
# Used by the location-and-name survey join (geo.planning.survey_points): the point decides
# where, the name only confirms or disambiguates, so the comparison may be looser than the key.

#: Generic endings a listing site, a survey or the map adds or drops (after :func:`normalise_name`).
_STEM_SUFFIXES = (
    "住宅小区",
    "小区",
    "住宅区",
    "住宅",
    "花园",
    "家园",
    "新村",
    "公寓",
    "排屋",
    "别墅",
    "社区",
    "苑",
    "园",
)
#: A phase or part at the end of a name: 1期, 2区, a区, 东区, 3组团, 1园 (南苑 is not one: kept).
_PHASE = re.compile(r"(?:第?(\d+|[a-z])(?:期|区|组团|标段)|([东南西北中])区|(\d+)园)$")
#: Bracketed parts (``万科草庄（东岸）``) are read as a phase or part, not the estate name.
_BRACKETS = re.compile(r"[(（\[【][^)）\]】]*[)）\]】]")


def split_phase(name: object) -> tuple[str, str]:
    """Split an estate name into its key without phase and the phase: ``("采荷", "2区")``.

    The key is :func:`normalise_name` of the name with bracketed parts removed; the phase is a
    trailing ``一期`` / ``2期`` / ``二区`` / ``A区`` / ``东区`` / ``3组团`` (numerals as digits), or
    ``""``. A name that is only a phase keeps it as its key.

    Examples
    --------
    >>> split_phase("采荷二区")
    ('采荷', '2区')
    >>> split_phase("天阳棕榈湾二期")
    ('天阳棕榈湾', '2期')
    >>> split_phase("万科草庄（东岸）")
    ('万科草庄', '')
    """
    text = _BRACKETS.sub("", normalise_text(name))
    key = normalise_name(text)
    match = _PHASE.search(key)
    if match and len(key) - len(match.group(0)) >= 2:
        phase = match.group(0).removeprefix("第")
        return normalise_name(key[: match.start()]), phase
    return key, ""


def name_stem(name: object) -> str:
    """Return the loose stem of an estate name: phase, brackets and generic endings removed.

    Beyond :func:`normalise_name`, endings such as 花园, 家园, 苑, 公寓, 新村 are dropped (while at
    least two characters remain) and the phase (:func:`split_phase`). ``"蒋村花园"`` and
    ``"蒋村"`` share the stem ``"蒋村"``. Only for comparing names that a location already paired.
    """
    key, _ = split_phase(name)
    changed = True
    while changed:
        changed = False
        for suffix in _STEM_SUFFIXES:
            if key.endswith(suffix) and len(key) - len(suffix) >= 2:
                key = key[: -len(suffix)]
                changed = True
    return key


def _is_subsequence(short: str, long: str) -> bool:
    it = iter(long)
    return all(ch in it for ch in short)


def name_score(a: object, b: object) -> float:
    """Return how well two estate names agree, from 0 (different estates) to 1 (same name).

    ======  ==================================================================================
    score   when
    ======  ==================================================================================
    1.0     same :func:`normalise_name` key (``朝晖六小区`` / ``朝晖6住宅区``)
    0.95    same key once phase and brackets are set aside, and at most one side has a phase
            (``天阳棕榈湾二期`` / ``天阳棕榈湾``)
    0.9     same :func:`name_stem` (``蒋村花园`` / ``蒋村``), or one stem of 3+ characters
            inside the other (``凯旋门`` / ``滨江凯旋门``: a developer or district prefix); a
            2-character stem only at the end (``香溪`` / ``富越香溪``, not ``紫金`` / ``紫金观巷``)
    0.85    the shorter stem (3+ characters, at least half the longer) appears in order in the
            longer one (``金地林溪里`` / ``金地自在城林溪里``)
    0.0     both names carry a phase and the phases differ (``采荷一区`` / ``采荷二区`` are two
            estates), or either name is empty
    else    the similarity ratio of the stems (:class:`difflib.SequenceMatcher`) times 0.8,
            so that near-misses such as ``招商雍和府`` / ``招商雍泽府`` stay below agreement
    ======  ==================================================================================

    The thresholds that count as agreement are policy (``survey.name_agree``).
    """
    from difflib import SequenceMatcher

    key_a, key_b = normalise_name(a), normalise_name(b)
    if not key_a or not key_b:
        return 0.0
    if key_a == key_b:
        return 1.0
    (base_a, phase_a), (base_b, phase_b) = split_phase(a), split_phase(b)
    if phase_a and phase_b and phase_a != phase_b:
        return 0.0
    if base_a == base_b:
        return 0.95
    stem_a, stem_b = name_stem(a), name_stem(b)
    if stem_a == stem_b:
        return 0.9
    short, long = sorted((stem_a, stem_b), key=len)
    if (len(short) >= 3 and short in long) or (len(short) == 2 and long.endswith(short)):
        return 0.9
    if len(short) >= 3 and 2 * len(short) >= len(long) and _is_subsequence(short, long):
        return 0.85
    first, second = sorted((stem_a, stem_b))  # the ratio is not always symmetric
    return round(0.8 * SequenceMatcher(None, first, second).ratio(), 3)
