"""How well two estate names agree (the location join's confirmation)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from geo.core.names import name_score, name_stem, split_phase

AGREE = 0.85  # geo/core/default_policy.toml survey.name_agree


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("朝晖六小区", "朝晖6住宅区"),
        ("天阳棕榈湾二期", "天阳棕榈湾"),  # a phase of the mapped estate
        ("蒋村花园", "蒋村"),
        ("凯旋门", "滨江凯旋门"),  # a district or developer prefix
        ("西溪诚园正信苑", "绿城·西溪诚园正信苑"),
        ("香溪", "富越·香溪"),
        ("金地自在城林溪里", "金地·林溪里"),
        ("万科草庄（东岸）", "万科草庄"),
        ("嘉绿名苑", "嘉绿名苑东区"),
    ],
)
def test_names_that_agree(a, b):
    assert name_score(a, b) >= AGREE
    assert name_score(b, a) == name_score(a, b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("采荷一区", "采荷二区"),  # phases that differ are two estates
        ("招商雍和府", "招商雍泽府"),
        ("西溪诚园知敬苑", "绿城·西溪诚园明礼苑"),
        ("紫金观巷", "紫金社区"),  # a 2-character stem at the start is not enough
        ("金沙家园", "新沙家园"),
        ("东海橙对", "东海柠檬郡"),
        ("文晖苑", ""),
    ],
)
def test_names_that_do_not_agree(a, b):
    assert name_score(a, b) < AGREE


def test_split_phase_and_stem():
    assert split_phase("采荷二区") == ("采荷", "2区")
    assert split_phase("近江一园") == ("近江", "1园")
    assert split_phase("A区") == ("a区", "")  # a phase alone is the name
    assert name_stem("钱塘景苑") == "钱塘景"
    assert name_stem("朝晖花园小区") == "朝晖"


@given(st.text(alphabet="朝晖文苑小区花园一二期区AB 1", max_size=10), st.text(max_size=6))
def test_score_is_bounded_and_symmetric(a, b):
    score = name_score(a, b)
    assert 0.0 <= score <= 1.0
    assert score == name_score(b, a)
