"""Messages to the planner: every English template in geo/ has a Chinese entry with the same fields.

The scan reads the source (AST): each string literal passed as message, where or fix to
InputError / OutputError / PolicyError / ``quality.add``, and each template given to ``msg``. An
f-string in those places fails (text from data must be a parameter, never part of a template).
"""

from __future__ import annotations

import ast
import pickle
import string
from pathlib import Path

import pytest

from geo.core.errors import InputError, PolicyError, QualityReport
from geo.core.messages import Message, catalog, clip, fields, interface_language, msg, text

GEO = Path(__file__).resolve().parents[2] / "geo"
ERRORS = {"InputError", "OutputError", "PolicyError"}
ADD_POSITIONS = {2: "where", 3: "message", 4: "fix"}


def _call_name(node: ast.Call) -> str | None:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _message_args(tree: ast.AST):
    """(role, node) of every message/where/fix argument and every msg/Message template."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _call_name(node)
        if name in ERRORS:
            if node.args:
                yield "message", node.args[0]
            yield from ((k.arg, k.value) for k in node.keywords if k.arg in ("where", "fix"))
        elif (
            name == "add"
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in ("quality", "report")
        ):
            yield from (
                (ADD_POSITIONS[i], a) for i, a in enumerate(node.args) if i in ADD_POSITIONS
            )
            yield from (
                (k.arg, k.value) for k in node.keywords if k.arg in ("where", "message", "fix")
            )
        elif name in ("msg", "Message") and node.args:
            yield "template", node.args[0]


def scan() -> tuple[dict[str, list[str]], list[str]]:
    """Templates in geo/ -> where they are; and the f-strings found in message places."""
    templates: dict[str, list[str]] = {}
    fstrings: list[str] = []
    for path in sorted(GEO.rglob("*.py")):
        tree = ast.parse(path.read_text("utf-8"))
        for role, node in _message_args(tree):
            place = f"{path.relative_to(GEO.parent)}:{node.lineno}"
            if isinstance(node, ast.JoinedStr):
                fstrings.append(f"{place} ({role})")
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value:
                templates.setdefault(node.value, []).append(place)
    return templates, fstrings


TEMPLATES, FSTRINGS = scan()


def test_the_scan_finds_the_messages():
    # guards the scan itself: a broken walker would find nothing and pass the checks below
    assert len(TEMPLATES) > 150
    assert "the layer has no CRS (.prj missing?)" in TEMPLATES
    assert "no layer {layer!r}" in TEMPLATES


def test_the_scan_sees_every_message_place():
    snippet = ast.parse(
        'raise InputError(f"bad {x}", source=s, where="row 1", fix="fix it")\n'
        'quality.add("repair", s, "geometry", msg("t {a}", a=1), f"do {y}")\n'
        'raise PolicyError("k {key}", key=k)\n'
    )
    found = [(role, type(node).__name__) for role, node in _message_args(snippet)]
    assert sorted(found) == sorted(
        [
            ("message", "JoinedStr"),
            ("where", "Constant"),
            ("fix", "Constant"),
            ("where", "Constant"),
            ("message", "Call"),
            ("fix", "JoinedStr"),
            ("template", "Constant"),
            ("message", "Constant"),
        ]
    )


def test_no_fstring_is_a_message():
    assert not FSTRINGS, "use msg(template, **params) instead of an f-string:\n" + "\n".join(
        FSTRINGS
    )


def _specs(template: str) -> set[tuple[str, str | None, str | None]]:
    """The fields with their conversion and format (``{n:,.0f}`` must stay ``{n:,.0f}``)."""
    return {(n, c, s) for _, n, s, c in string.Formatter().parse(template) if n is not None}


def test_every_template_has_a_chinese_entry_with_the_same_fields():
    zh = catalog("zh")
    missing = [f"{t!r} ({', '.join(p[:2])})" for t, p in TEMPLATES.items() if t not in zh]
    assert not missing, "no Chinese entry in geo/core/strings/messages_zh.toml:\n" + "\n".join(
        missing
    )
    differ = [t for t in TEMPLATES if _specs(t) != _specs(zh[t])]
    assert not differ, f"fields differ between the template and its Chinese entry: {differ}"


def test_no_chinese_entry_is_orphaned():
    orphans = sorted(set(catalog("zh")) - set(TEMPLATES))
    assert not orphans, f"entries no code uses: {orphans}"


def test_the_chinese_entries_are_chinese_and_whole():
    for template, zh in catalog("zh").items():
        # Chinese words, or at least Chinese punctuation ("cost.item_rates：{exc}")
        assert any("\u4e00" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef" for ch in zh), (
            template,
            zh,
        )
        assert zh.strip() == zh and "  " not in zh, (template, zh)
        zh.format(**dict.fromkeys(fields(zh), 1))  # no stray brace


def test_data_in_a_parameter_stays_literal():
    for hostile in ("{x}", "{{7*7}}", "{0.__class__}", "}{"):
        message = msg("no layer {layer!r}", layer=hostile)
        assert str(message) == f"no layer {hostile!r}"
        assert message.text("zh") == catalog("zh")["no layer {layer!r}"].format(layer=hostile)
        assert hostile in message.text("zh")


def test_a_plain_english_string_still_works_and_is_looked_up():
    exc = InputError("the layer has no CRS (.prj missing?)", source="a.shp", fix="add it")
    assert str(exc) == "a.shp: the layer has no CRS (.prj missing?) Fix: add it"
    assert "坐标系" in exc.one_line("zh") and exc.one_line("zh").startswith("a.shp：")
    assert exc.one_line("zh").endswith("修改建议：add it")  # unknown sentence: English kept
    unknown = InputError("a sentence no catalog holds {x}")
    assert unknown.one_line("zh") == "a sentence no catalog holds {x}"


def test_errors_and_quality_notes_render_in_both_languages():
    exc = InputError(
        msg("no layer {layer!r}", layer="小区"),
        source="estates.gpkg",
        where=msg("row {row}", row=12),
        fix=msg("choose one of: {names}", names="a, b"),
    )
    assert str(exc) == "estates.gpkg, row 12: no layer '小区' Fix: choose one of: a, b"
    zh = exc.one_line("zh")
    assert "第 12 行" in zh and "'小区'" in zh and "a, b" in zh and "Fix" not in zh
    assert PolicyError(msg("unknown policy key {name}.{key}", name="x", key="y")).one_line("zh")
    report = QualityReport()
    report.add(
        "repair", "s.csv", msg("row {row}", row=3), msg("{text!r} is not a number", text="abc")
    )
    en, zh = report.to_frame("en"), report.to_frame("zh")
    assert en.loc[0, "message"] == "'abc' is not a number" and en.loc[0, "where"] == "row 3"
    assert zh.loc[0, "where"] == "第 3 行" and "'abc'" in zh.loc[0, "message"]
    assert type(en.loc[0, "message"]) is str  # plain text for the GeoPackage layer


def test_nested_messages_and_exceptions_are_translated():
    inner = msg("{text!r} is not a number", text="x")
    outer = msg("{key}: {message}", key="households", message=inner)
    assert str(outer) == "households: 'x' is not a number"
    assert catalog("zh")["{text!r} is not a number"].format(text="x") in outer.text("zh")
    err = PolicyError(msg("unknown policy key {name}.{key}", name="a", key="b"))
    wrapped = msg("cost.item_rates: {exc}", exc=err)
    assert "a.b" in wrapped.text("zh") and "unknown" not in wrapped.text("zh")


def test_a_message_survives_pickling_and_is_a_string():
    message = msg("row {row}", row=4)
    back = pickle.loads(pickle.dumps(message))
    assert isinstance(back, Message) and back == "row 4" and back.text("zh") == "第 4 行"
    assert message + "!" == "row 4!" and text(None) == "" and text(5) == "5"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("short error", "short error"),
        ("first line\nsecond line", "first line"),
        ("word " * 60, ("word " * 40).strip() + " …"),
        ("x" * 300, "x" * 200 + "…"),
        ("word " * 25 + "end. " + "more " * 30, "word " * 25 + "end …"),
    ],
)
def test_library_text_is_never_cut_mid_word(raw, expected):
    got = clip(raw)
    assert got == expected
    assert len(got) <= 202


def test_the_command_line_language():
    assert interface_language({"LIANPIAN_LANG": "zh"}) == "zh"
    assert interface_language({"LIANPIAN_LANG": "en", "LANG": "zh_CN.UTF-8"}) == "en"
    assert interface_language({"LANG": "zh_CN.UTF-8"}) == "zh"
    assert interface_language({"LANG": "C.UTF-8"}) == "en"
    assert interface_language({}) == "en"


@pytest.mark.parametrize(
    ("lang", "expected", "absent"),
    [("zh", "找不到文件。", "file not found"), ("en", "file not found", "找不到文件")],
)
def test_the_command_line_speaks_lianpian_lang(
    tmp_path, monkeypatch, capsys, lang, expected, absent
):
    from geo.cli import main

    monkeypatch.setenv("LIANPIAN_LANG", lang)
    code = main(
        ["plan", "--estates", str(tmp_path / "missing.gpkg"), "--out", str(tmp_path / "o.gpkg")]
    )
    err = capsys.readouterr().err
    assert code != 0 and "missing.gpkg" in err
    assert expected.rstrip("。") in err and absent not in err
