"""The project's exception and quality-report types, in one place.

Every error a planner can cause by their input is an :class:`InputError` (a ``ValueError``)
that names the file, the row or feature, and the fix, so the CLI and the app can show one
clear line instead of a traceback. Repairs that do not stop the run are collected in a
:class:`QualityReport` and written with the results.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from geo.core.messages import msg, text


class LianpianError(Exception):
    """Base class of every error raised on purpose by lianpian."""

    def one_line(self, lang: str = "en") -> str:
        """The error in one line, in ``lang`` (a message argument is translated)."""
        return text(self.args[0], lang) if len(self.args) == 1 else str(self)


class InputError(LianpianError, ValueError):
    """Bad input data: a file, a column, a row or a feature that cannot be used.

    Parameters
    ----------
    message
        What is wrong, in one sentence: a :class:`~geo.core.messages.Message` (``msg(template,
        **params)``, shown in the interface language) or a plain English string.
    source
        The file (or upload name) concerned, if any.
    where
        The row, feature or column concerned, e.g. ``"row 12"`` or ``"column 户数"``.
    fix
        What the user should do about it (a message or a plain string, like ``message``).
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        where: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.message = message
        self.source = source
        self.where = where
        self.fix = fix
        super().__init__(self.one_line())

    def one_line(self, lang: str = "en") -> str:
        """Return the error as one line: ``file, where: message. Fix: ...``, in ``lang``."""
        comma, colon = ("，", "：") if lang == "zh" else (", ", ": ")
        head = comma.join(p for p in (text(self.source, lang), text(self.where, lang)) if p)
        body = text(self.message, lang)
        line = f"{head}{colon}{body}" if head else body
        if self.fix and lang == "zh":
            line += ("" if line.endswith(("。", "？", "）", "…")) else "。") + "修改建议："
        elif self.fix:
            line += " Fix: "
        return line + text(self.fix, lang) if self.fix else line

    def text(self, lang: str = "en") -> str:
        """The message alone (no file, no fix) in ``lang``."""
        return text(self.message, lang)


class OutputError(InputError):
    """An output path that cannot be written (same one-line form as InputError).

    It is (or would replace) an input, it is a folder where a file is wanted, or the disk is full
    or read-only.
    """


class PolicyError(LianpianError, ValueError):
    """A policy file or value that is unknown, of the wrong type or out of range.

    The message always names the key (``section.key``) concerned. Given ``params``, ``message``
    is a template filled by :func:`geo.core.messages.msg` (``PolicyError("unknown key {key}",
    key=k)``); without them a plain sentence or a :class:`~geo.core.messages.Message`.
    """

    def __init__(self, message: object = "", *args: object, **params: object) -> None:
        self.message = msg(str(message), **params) if params else message
        super().__init__(self.message, *args)


@dataclass
class QualityIssue:
    """One repair or warning about the input, kept for the data-quality report."""

    level: str  # "repair", "warning" or "dropped"
    source: str
    where: str  # these three: a geo.core.messages.Message (translatable) or plain English
    message: str
    fix: str = ""


@dataclass
class QualityReport:
    """Repairs and warnings collected while loading and planning.

    Written as the non-spatial layer ``quality`` of the results GeoPackage, shown in the app.
    """

    issues: list[QualityIssue] = field(default_factory=list)

    def add(self, level: str, source: str, where: str, message: str, fix: str = "") -> None:
        """Record one issue. ``level`` is ``repair``, ``warning`` or ``dropped``."""
        self.issues.append(QualityIssue(level, source, where, message, fix))

    def extend(self, other: QualityReport) -> None:
        """Append every issue of ``other``."""
        self.issues.extend(other.issues)

    def __len__(self) -> int:
        return len(self.issues)

    def to_frame(self, lang: str = "en") -> pd.DataFrame:
        """Return the issues as a DataFrame with columns level, source, where, message, fix.

        ``source``, ``where``, ``message`` and ``fix`` are plain text in ``lang`` ("zh" or "en").
        """
        columns = ["level", "source", "where", "message", "fix"]
        rows = [
            (
                i.level,
                text(i.source, lang),
                text(i.where, lang),
                text(i.message, lang),
                text(i.fix, lang),
            )
            for i in self.issues
        ]
        return pd.DataFrame(rows, columns=columns)
