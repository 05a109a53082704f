import pytest

from geo.core.errors import PolicyError
from geo.core.policy import default_policy, load_policy


def test_defaults_come_from_the_documents():
    p = default_policy()
    assert p.eligibility.cutoff_year == 2000
    assert p.eligibility.extension_last_year == 2005
    assert p.eligibility.extension_max_share == pytest.approx(0.15)
    assert p.eligibility.consent_threshold == pytest.approx(0.8)
    assert p.cost.yuan_per_m2 == pytest.approx(242.0)


def test_city_file_overrides_key_by_key(tmp_path):
    f = tmp_path / "city.toml"
    f.write_text("[eligibility]\ncutoff_year = 1995\n[districts]\nmax_households = 800\n", "utf-8")
    p = load_policy(f)
    assert p.eligibility.cutoff_year == 1995
    assert p.eligibility.consent_threshold == pytest.approx(0.8)  # untouched default
    assert p.districts.max_households == 800
    assert p.source == str(f)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[eligibility]\ncutof_year = 1995\n", "eligibility.cutof_year"),
        ("[eligibility]\nconsent_threshold = 1.5\n", "eligibility.consent_threshold"),
        ("[districts]\nmax_estates = 'many'\n", "districts.max_estates"),
        ("[districts]\nkeep_within_level = 'province'\n", "districts.keep_within_level"),
        ("[nonsense]\na = 1\n", "nonsense"),
        ("[adjacency]\ntolerance_m = -1\n", "adjacency.tolerance_m"),
    ],
)
def test_bad_keys_and_values_name_the_key(tmp_path, text, key):
    f = tmp_path / "bad.toml"
    f.write_text(text, "utf-8")
    with pytest.raises(PolicyError, match=key.replace(".", r"\.")):
        load_policy(f)


def test_unparsable_file(tmp_path):
    f = tmp_path / "broken.toml"
    f.write_text("[eligibility\n", "utf-8")
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(f)


def test_with_values_validates():
    p = default_policy().with_values({"eligibility.cutoff_year": 1998})
    assert p.eligibility.cutoff_year == 1998
    with pytest.raises(PolicyError, match=r"priority\.weight_age"):
        p.with_values({"priority.weight_age": "high"})


def test_toml_round_trip(tmp_path):
    p = default_policy().with_values({"districts.max_estates": 7})
    f = tmp_path / "out.toml"
    f.write_text(p.to_toml(), "utf-8")
    assert load_policy(f).to_dict() == p.to_dict()
