"""Messages to the planner: one clear line in the interface language, never a traceback.

:func:`show_error` for bad input (one line naming the file and the fix, in the interface
language: the errors carry :class:`geo.core.messages.Message` templates with a Chinese catalog),
:func:`error_panel` for anything unexpected (the app's own panel, instead of Streamlit's error
page). File paths in a message are cut to the file's name (uploads live in temporary folders the
planner never saw); library text is clipped at a word boundary.
May import geo.core.errors, geo.core.messages, geo.outputs.maps (its assets error) and streamlit.
"""

from __future__ import annotations

import re

import streamlit as st

from geo.app.text import section
from geo.core.errors import InputError, LianpianError
from geo.core.messages import clip, text
from geo.outputs import maps

# an absolute path (POSIX or Windows) up to its last part: kept is the file's name
# characters that would make markup of a message (``_`` inside names is literal in Markdown)
_MARKDOWN = re.compile(r"([\\`*\[\]<>#|~$])")
_PATH = re.compile(r"(?:[A-Za-z]:\\|/)(?:[^\s/\\:'\"]+[/\\])+(?=[^\s/\\'\"]+)")


#: Command-line options a message may name, said in the app as the control that does the same.
_CLI_FLAG = re.compile(
    r"\s?--(source-crs|survey-crs|survey|roads|boundaries|plan|match-threshold)(?![\w-])\s?"
)


def in_app_words(text: str, lang: str) -> str:
    """``text`` with command-line options (``--source-crs``) named as the app's controls.

    The words come from ``[cli_flags]`` of ``strings/<lang>.toml`` (侧栏“坐标系” ...); options
    the app has no control for stay as they are (they concern the command line).
    """
    words = section(lang, "cli_flags")

    def control(match: re.Match[str]) -> str:
        word = words.get(match.group(1))
        if word is None:
            return match.group(0)
        if lang == "zh":  # no spaces around Chinese words; one before a following code
            return word + (" " if match.group(0).endswith(" ") else "")
        return f" {word} " if match.group(0).endswith(" ") else f" {word}"

    return _CLI_FLAG.sub(control, text).strip() if "--" in text else text


def without_paths(text: str) -> str:
    """``text`` with every absolute path shortened to its file name."""
    return _PATH.sub("", text)


def _sentences(text: str, fix: str = "Fix:", lang: str = "en") -> str:
    """The error's text as Markdown-safe sentences: paths cut, a full stop before the fix.

    ``fix`` introduces the fix in the interface language; ``lang`` chooses the full stop.
    """
    stop = "。" if lang == "zh" else "."
    text = without_paths(text).strip()
    text = re.sub(r"(?<![.!?。])\s+(Fix:|修改建议：)", stop + r" \1", text)
    text = text.replace("Fix:", fix).replace("修改建议：", fix)
    if text and text[-1] not in ".!?。？！…":
        text += stop
    return _MARKDOWN.sub(r"\\\1", text)


def error_text(exc: BaseException, lang: str, fix: str) -> str:
    """The error as Markdown-safe sentences in ``lang``: file, row, what is wrong, the fix.

    Our errors are translated (their message templates); library errors (``OSError``,
    ``ValueError``) keep their text, clipped at a word boundary, with paths cut to file names.
    """
    if isinstance(exc, InputError):
        colon, comma = ("：", "，") if lang == "zh" else (": ", ", ")
        head = comma.join(p for p in (text(exc.source, lang), text(exc.where, lang)) if p)
        body = in_app_words(text(exc.message, lang), lang)
        line = _sentences(f"{head}{colon}{body}" if head else body, lang=lang)
        if exc.fix:
            gap = "" if lang == "zh" else " "
            said = in_app_words(text(exc.fix, lang), lang)
            line += gap + fix.strip() + gap + _sentences(said, lang=lang)
        return line
    if isinstance(exc, LianpianError):
        return _sentences(in_app_words(exc.one_line(lang), lang), fix, lang)
    return _sentences(clip(str(exc), 300), fix, lang)


def show_error(t: dict[str, str], exc: BaseException, lang: str | None = None) -> None:
    """One clear message, never a traceback; the previous data stay (said on a second line).

    ``lang``: the interface language ("zh" or "en"); by default the language switch's value.
    """
    lang = lang or str(st.session_state.get("lang", "zh"))
    if isinstance(exc, maps.MapAssetsError):
        st.error(t["assets"] + _sentences(str(exc)))
    elif isinstance(exc, (LianpianError, OSError, ValueError)):
        st.error(t["error"] + error_text(exc, lang, t["fix"]) + "  \n" + t["kept"])
    else:
        st.error(t["internal"].format(kind=type(exc).__name__))


def error_panel(t: dict[str, str], exc: BaseException, *, stage: str, kept: bool) -> None:
    """The app's panel for an unexpected error: what failed, that the last plan stays, what to do.

    ``stage``: ``plan`` (a planning run) or ``page`` (drawing the page). Names only the kind of
    error (its class), never its text (which may hold paths or data).
    """
    what = t["panel_plan_error"] if stage == "plan" else t["panel_page_error"]
    st.error(
        f"**{t['panel_title']}**  \n{what.format(kind=type(exc).__name__)}  \n"
        + (t["panel_kept"] if kept else t["panel_kept_none"]),
        icon="⚠️",
    )
