import pytest

from geo.core.names import normalise_header, normalise_name


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("朝晖六小区", "朝晖6小区"),
        ("朝晖六小区", "朝晖六住宅区"),
        ("朝晖十二小区", "朝晖12"),
        ("Ａ区１号楼", "a区1号楼"),
        ("人民医院 2号、3号住宅楼", "人民医院2号3号"),
    ],
)
def test_same_estate_same_key(a, b):
    assert normalise_name(a) == normalise_name(b)


def test_different_estates_differ():
    assert normalise_name("朝晖六小区") != normalise_name("朝晖四小区")


def test_suffix_alone_is_kept():
    assert normalise_name("小区") == "小区"


@pytest.mark.parametrize(
    ("header", "key"),
    [
        ("建筑面积(m²)", "建筑面积"),
        ("建筑面积m2", "建筑面积"),
        ("面积m ²", "面积"),
        ("户数（户）", "户数"),
        (" Households ", "households"),
    ],
)
def test_headers(header, key):
    assert normalise_header(header) == key
