"""The one guard between a run's inputs and its outputs: no input is ever overwritten.

Every command (``plan``, ``schedule``, ``tables``, ``export``) and the app run inside
:func:`guarded_run`, which records the run's input files (symlinks resolved, a Shapefile with all
its parts). :func:`check_output` refuses, as an :class:`~geo.core.errors.OutputError` (exit code 2,
one line), an output that *is* an input, that would *replace* an input (a folder output holding
one), or that is a folder where a file is wanted (and the reverse). :func:`geo.io.writers.atomic_path`
calls it for every file it writes, so no writer can forget it; the commands call it once more
before any work so a run that would fail does not compute first. Files a run created are removed
again when the run fails (``--plan-review`` written, then the plan failed).
May import: geo.core and the standard library.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

from geo.core.errors import OutputError
from geo.core.messages import msg

#: Suffixes of a Shapefile's parts: an input ``a.shp`` protects ``a.dbf``, ``a.shx`` ... too.
_SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx", ".xml")
#: Files SQLite keeps beside a GeoPackage while it is open.
_SQLITE_PARTS = ("-wal", "-shm", "-journal")


@dataclass
class RunFiles:
    """The inputs of one run (resolved) and the outputs it created so far."""

    inputs: tuple[Path, ...] = ()
    created: list[Path] = field(default_factory=list)


_RUN: ContextVar[RunFiles | None] = ContextVar("lianpian_run_files", default=None)


def _strip_layer(item: str | os.PathLike[str]) -> Path:
    text = os.fspath(item)
    return Path(text.split("::", 1)[0]) if "::" in text else Path(text)


def input_files(items: Iterable[str | os.PathLike[str] | None]) -> tuple[Path, ...]:
    """Resolve the existing input files among ``items`` (``FILE::LAYER`` allowed; None skipped).

    Symbolic links are followed; a Shapefile brings its parts (same stem, any case), a
    GeoPackage its SQLite side files. Paths that do not exist are left out (a missing input is
    the reader's error, not the guard's).
    """
    found: list[Path] = []
    for item in items:
        if item is None or not os.fspath(item).strip():
            continue
        path = _strip_layer(item)
        if not path.exists():
            continue
        real = path.resolve()
        found.append(real)
        if real.suffix.lower() in _SHAPEFILE_PARTS and real.parent.is_dir():
            stem = real.stem.lower()
            found += [
                p.resolve()
                for p in real.parent.iterdir()
                if p.stem.lower() == stem and p.suffix.lower() in _SHAPEFILE_PARTS
            ]
        found += [real.with_name(real.name + s) for s in _SQLITE_PARTS]
    return tuple(dict.fromkeys(found))


def check_output(
    target: str | os.PathLike[str],
    *,
    folder: bool = False,
    inputs: Iterable[Path] | None = None,
) -> Path:
    """Refuse an output that is, or would replace, one of the run's inputs; return it resolved.

    Parameters
    ----------
    target
        The output file, or with ``folder=True`` the output folder (whose content the command
        replaces, e.g. the export's packages).
    folder
        Whether ``target`` is a folder output.
    inputs
        Resolved input files (:func:`input_files`); by default those of the current
        :func:`guarded_run` (none outside one).

    Raises
    ------
    OutputError
        If the output (symlinks followed) is an input file, a folder output holds an input, a
        file output is an existing folder, or a folder output is an existing file.
    """
    raw = Path(target)
    real = raw.resolve()
    protected = tuple(inputs) if inputs is not None else _protected()
    shown = str(raw)
    if not folder and real.is_dir():
        raise OutputError(
            "the output is a folder, not a file",
            source=shown,
            fix="give a file name (for example one inside this folder)",
        )
    if folder and real.exists() and not real.is_dir():
        raise OutputError(
            "the output folder is an existing file",
            source=shown,
            fix="give a folder name (it is created)",
        )
    for path in protected:
        via = (
            msg(" (the link points to {real})", real=real)
            if raw.is_symlink() or raw.absolute() != real
            else ""
        )
        if path == real:
            raise OutputError(
                msg("the output would overwrite an input of this run{via}", via=via),
                source=shown,
                fix="choose another output path; inputs are never modified",
            )
        if folder and path.is_relative_to(real):
            raise OutputError(
                msg(
                    "the output folder holds an input of this run ({name}){via}, which it would "
                    "replace",
                    name=path.name,
                    via=via,
                ),
                source=shown,
                fix="write to a new folder; inputs are never modified",
            )
    return real


def _protected() -> tuple[Path, ...]:
    run = _RUN.get()
    return run.inputs if run is not None else ()


def note_created(path: Path) -> None:
    """Record that the current run created ``path`` (removed again if the run fails)."""
    run = _RUN.get()
    if run is not None:
        run.created.append(path)


@contextlib.contextmanager
def guarded_run(
    inputs: Iterable[str | os.PathLike[str] | None],
    *,
    files: Iterable[str | os.PathLike[str]] = (),
    folders: Iterable[str | os.PathLike[str]] = (),
) -> Iterator[RunFiles]:
    """Run a command with its inputs protected; check its outputs before any work.

    Parameters
    ----------
    inputs
        The run's input paths (``FILE::LAYER`` allowed; None and missing ones skipped).
    files, folders
        The outputs the run will write (files) and the folders it will replace; checked at once
        with :func:`check_output`. Any file written through :func:`geo.io.atomic_path` inside the
        run is checked again.

    On an exception, the files the run created (not those it replaced) are removed, so a failed
    run leaves no new half of its outputs behind.

    Raises
    ------
    OutputError
        See :func:`check_output`.
    """
    run = RunFiles(inputs=input_files(inputs))
    for item in files:
        check_output(item, inputs=run.inputs)
    for item in folders:
        check_output(item, folder=True, inputs=run.inputs)
    token = _RUN.set(run)
    try:
        yield run
    except BaseException:
        for path in reversed(run.created):
            with contextlib.suppress(OSError):
                path.unlink()
        raise
    finally:
        _RUN.reset(token)
