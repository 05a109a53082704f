"""Messages to the planner: one clear line in the interface language, never a traceback.

:func:`show_error` for bad input (one line naming the file and the fix), :func:`error_panel` for
anything unexpected (the app's own panel, instead of Streamlit's error page). File paths in a
message are cut to the file's name (uploads live in temporary folders the planner never saw).
May import geo.core.errors, geo.outputs.maps (its assets error) and streamlit.
"""

from __future__ import annotations

import re

import streamlit as st

from geo.core.errors import LianpianError
from geo.outputs import maps

# an absolute path (POSIX or Windows) up to its last part: kept is the file's name
# characters that would make markup of a message (``_`` inside names is literal in Markdown)
_MARKDOWN = re.compile(r"([\\`*\[\]<>#|~$])")
_PATH = re.compile(r"(?:[A-Za-z]:\\|/)(?:[^\s/\\:'\"]+[/\\])+(?=[^\s/\\'\"]+)")


def without_paths(text: str) -> str:
    """``text`` with every absolute path shortened to its file name."""
    return _PATH.sub("", text)


def _sentences(text: str, fix: str = "Fix:") -> str:
    """The error's text as Markdown-safe sentences: paths cut, a full stop before the fix.

    ``fix`` introduces the fix in the interface language.
    """
    text = without_paths(text).strip()
    text = re.sub(r"(?<![.!?。])\s+Fix:", ". Fix:", text).replace("Fix:", fix)
    if text and text[-1] not in ".!?。":
        text += "."
    return _MARKDOWN.sub(r"\\\1", text)


def show_error(t: dict[str, str], exc: BaseException) -> None:
    """One clear message, never a traceback; the previous data stay (said on a second line)."""
    if isinstance(exc, maps.MapAssetsError):
        st.error(t["assets"] + _sentences(str(exc)))
    elif isinstance(exc, LianpianError):
        text = exc.one_line() if hasattr(exc, "one_line") else str(exc)
        st.error(t["error"] + _sentences(text, t["fix"]) + "  \n" + t["kept"])
    elif isinstance(exc, (OSError, ValueError)):
        st.error(t["error"] + _sentences(str(exc), t["fix"]) + "  \n" + t["kept"])
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
