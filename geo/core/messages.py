"""Messages to the planner in the interface language: English templates, a Chinese catalog.

gettext-style: the English template is the message id; :func:`msg` fills its ``{name}`` fields
with ``str.format`` on the template only, so text from data (a name like ``{x}`` or ``{{7*7}}``)
is a parameter and stays literal. A :class:`Message` *is* the English sentence (a ``str``), so
code that compares, joins or prints messages keeps working; ``.text("zh")`` looks the template
up in ``strings/messages_zh.toml`` (template -> Chinese template with the same fields) and fills
it with the same parameters. A template missing from the catalog falls back to English.

:func:`clip` shortens library text (GDAL, pyogrio, openpyxl) at a word boundary, never mid-word.
:func:`interface_language` is the CLI's language: ``LIANPIAN_LANG``, then the locale (``LANG``).
Imports only the standard library.
"""

from __future__ import annotations

import os
import string
import tomllib
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources

#: The languages messages are shown in; English is the template language.
LANGUAGES = ("zh", "en")


class Message(str):
    """One sentence to the planner: its English text, the template and the parameters.

    Parameters
    ----------
    template
        The English template (the message id). Fields are ``{name}`` (with optional ``!r`` or a
        format spec); literal braces are doubled. When ``params`` is ``None`` the template is a
        plain sentence and never formatted (braces in it stay as written).
    params
        The values of the fields. A value that is itself a :class:`Message` is translated too.

    Raises
    ------
    KeyError, IndexError, ValueError
        When ``params`` do not fill the template (a programming error, caught by the tests).
    """

    template: str
    params: dict[str, object] | None

    def __new__(cls, template: str, params: Mapping[str, object] | None = None) -> Message:
        """The English text, with the template and the parameters kept for translation."""
        text = template if params is None else template.format(**params)
        self = super().__new__(cls, text)
        self.template = template
        self.params = None if params is None else dict(params)
        return self

    def text(self, lang: str = "en") -> str:
        """The sentence in ``lang`` ("zh" or "en"); English when the catalog lacks it."""
        if lang == "en":
            return str.__str__(self)
        translated = catalog(lang).get(self.template)
        if translated is None:
            return str.__str__(self)
        if self.params is None:
            return translated
        values = {k: _translated(v, lang) for k, v in self.params.items()}
        try:
            return translated.format(**values)
        except (KeyError, IndexError, ValueError):  # a catalog entry out of step: English
            return str.__str__(self)

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:  # pickled by dask / the cache
        return (Message, (self.template, self.params))


def _translated(value: object, lang: str) -> object:
    """A parameter in ``lang``: a message, or one of our errors (its ``one_line``), translated."""
    if isinstance(value, Message):
        return value.text(lang)
    if isinstance(value, BaseException) and callable(getattr(value, "one_line", None)):
        return value.one_line(lang)
    return value


def msg(template: str, **params: object) -> Message:
    """The message ``template`` filled with ``params`` (``str.format`` on the template only).

    Example: ``msg("no column {column!r}", column=name)``; the catalog holds the template.
    """
    return Message(template, params)


def text(value: object, lang: str = "en") -> str:
    """``value`` in ``lang``, as plain text.

    A :class:`Message` is translated; a plain string is looked up as a template-free sentence
    (code that passes plain English strings still gets Chinese when the catalog has the
    sentence); ``None`` is empty; anything else is ``str(value)``.
    """
    if isinstance(value, Message):
        return value.text(lang)
    if value is None:
        return ""
    value = str(value)
    if lang == "en":
        return value
    return catalog(lang).get(value, value) if "{" not in value else value


@cache
def catalog(lang: str) -> dict[str, str]:
    """The catalog of ``lang``: English template -> translated template (empty for English).

    Raises ``ValueError`` for a language other than :data:`LANGUAGES`.
    """
    if lang not in LANGUAGES:
        raise ValueError(f"unknown interface language {lang!r}; use one of {LANGUAGES}")
    if lang == "en":
        return {}
    path = resources.files("geo.core").joinpath("strings", f"messages_{lang}.toml")
    return dict(tomllib.loads(path.read_text("utf-8")))


def row_where(label: object) -> Message:
    """Where a note is: ``row 12`` for a row number, ``row SZ012`` (zh 小区 SZ012) for an id."""
    if isinstance(label, int) or str(label).isdigit():  # numpy integers: digits
        return msg("row {row}", row=label)
    return msg("row {estate}", estate=label)  # English as before; zh names the estate


#: The estate columns (geo.core.schema canonical names) in the planner's words, for notes that
#: name a column ("households: 'abc' is not a number" -> "户数：'abc' 不是数字").
_COLUMN_WORDS = {
    "households": msg("households"),
    "buildings": msg("buildings"),
    "floor_area_m2": msg("floor_area_m2"),
    "consent_rate": msg("consent_rate"),
    "elderly_share": msg("elderly_share"),
    "already_renovated": msg("already_renovated"),
    "shantytown_plan": msg("shantytown_plan"),
    "urban_village": msg("urban_village"),
    "illegal_structures_removed": msg("illegal_structures_removed"),
    "has_property_management": msg("has_property_management"),
    "management_model_agreed": msg("management_model_agreed"),
    "investment": msg("investment"),
    "name": msg("name"),
    "county": msg("county"),
}


def column_word(column: str) -> str:
    """A canonical column name as a message (English: the name itself; zh: 户数, 栋数 ...)."""
    return _COLUMN_WORDS.get(column, column)


def fields(template: str) -> set[str]:
    """The field names of a template (``{name!r:>5}`` -> ``name``); empty for plain text."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def first_few(items: Sequence[object], most: int = 6) -> str:
    """The first ``most`` items joined by ", ", with " …" when there are more (a message's list).

    >>> first_few(["S1", "S2", "S3"], most=2)
    'S1, S2 …'
    """
    shown = ", ".join(str(item) for item in items[:most])
    return shown + (" …" if len(items) > most else "")


def clip(library_text: str, limit: int = 200) -> str:
    """Library text (an exception's first line) cut at a word boundary, with ``…`` when cut.

    Whole sentences are kept when they fit; otherwise the text ends at the last space before
    ``limit`` characters (or at ``limit`` for text without spaces, such as a long path).
    """
    first = library_text.strip().splitlines()[0].strip() if library_text.strip() else ""
    if len(first) <= limit:
        return first
    head = first[:limit]
    for stop in (". ", "; ", ": "):
        cut = head.rfind(stop)
        if cut >= limit // 2:
            return head[: cut + 1].rstrip(" .;:") + " …"
    cut = head.rfind(" ")
    if cut >= limit // 2:
        return head[:cut].rstrip(" ,;:") + " …"
    return head + "…"


def interface_language(environ: Mapping[str, str] | None = None) -> str:
    """The command line's language: ``LIANPIAN_LANG`` (zh/en), else the locale, else ``en``.

    The locale is the first set of ``LC_ALL``, ``LC_MESSAGES``, ``LANG``: ``zh*`` gives ``zh``.
    """
    env = os.environ if environ is None else environ
    chosen = env.get("LIANPIAN_LANG", "").strip().lower()[:2]
    if chosen in LANGUAGES:
        return chosen
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if env.get(name):
            return "zh" if env[name].lower().startswith("zh") else "en"
    return "en"
