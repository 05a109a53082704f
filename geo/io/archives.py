"""Checking zip archives before GDAL reads them: no path escapes, no links, no zip bombs.

A zipped Shapefile is read in place through GDAL's ``/vsizip/`` (nothing is extracted), but an
archive is still refused when it carries what a hostile upload would: member names that climb out
of the folder (``../``, "zip slip") or are absolute, symbolic links, or a total expanded size or
expansion ratio typical of a zip bomb. The checks read only the archive's central directory.
May import: geo.core and the standard library.
"""

from __future__ import annotations

import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from geo.core.errors import InputError
from geo.core.messages import msg

#: An archive that expands more than this many times its size, beyond ``BOMB_MIN_BYTES``, is a
#: zip bomb. Shapefiles compress 3-30 times (a .dbf of padded text up to about 50).
MAX_RATIO = 200
BOMB_MIN_BYTES = 50 * 1024 * 1024
MAX_MEMBERS = 10_000


@dataclass(frozen=True)
class ZipMember:
    """One entry of an archive's central directory, as far as the checks need it."""

    name: str
    compressed_bytes: int
    expanded_bytes: int
    is_symlink: bool = False


def members_of(path: str | Path) -> list[ZipMember]:
    """Return the entries of the zip archive at ``path`` (central directory only, no extraction).

    Raises
    ------
    InputError
        If the file is not a readable zip archive.
    """
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise InputError(
            msg("not a readable zip archive ({exc})", exc=exc),
            source=path.name,
            fix="zip the Shapefile (.shp, .shx, .dbf, .prj, .cpg) again",
        ) from exc
    return [member_of(info) for info in infos]


def member_of(info: zipfile.ZipInfo) -> ZipMember:
    """The :class:`ZipMember` of one central-directory entry."""
    return ZipMember(
        name=info.filename,
        compressed_bytes=info.compress_size,
        expanded_bytes=info.file_size,
        is_symlink=stat.S_ISLNK(info.external_attr >> 16),
    )


def check_members(
    members: list[ZipMember], *, source: str, archive_bytes: int, max_expanded_bytes: int
) -> None:
    """Refuse an archive whose members escape its folder, are links, or expand like a zip bomb.

    Pure function of the central directory entries.

    Parameters
    ----------
    members
        The archive's entries (:func:`members_of`).
    source
        The archive's name, for messages.
    archive_bytes
        The archive's size on disk (bytes).
    max_expanded_bytes
        The largest total expanded size accepted (bytes).

    Raises
    ------
    InputError
        Naming the first offending member and what to do.
    """
    fix = msg("zip only the Shapefile's own files, side by side, without folders or links")
    if len(members) > MAX_MEMBERS:
        raise InputError(
            msg(
                "the archive holds {n_members} entries (at most {MAX_MEMBERS})",
                n_members=len(members),
                MAX_MEMBERS=MAX_MEMBERS,
            ),
            source=source,
            fix=fix,
        )
    for member in members:
        name = member.name
        posix, windows = PurePosixPath(name), PureWindowsPath(name)
        if posix.is_absolute() or windows.is_absolute() or windows.drive or name.startswith("\\"):
            raise InputError(
                "an entry has an absolute path, which would write outside the upload folder",
                source=source,
                where=msg("entry {name!r}", name=name),
                fix=fix,
            )
        if ".." in posix.parts or ".." in windows.parts:
            raise InputError(
                "an entry climbs out of the archive folder with '..' (zip slip)",
                source=source,
                where=msg("entry {name!r}", name=name),
                fix=fix,
            )
        if member.is_symlink:
            raise InputError(
                "an entry is a symbolic link, which could point at any file on the server",
                source=source,
                where=msg("entry {name!r}", name=name),
                fix=fix,
            )
    expanded = sum(m.expanded_bytes for m in members)
    if expanded > max_expanded_bytes:
        raise InputError(
            msg(
                "the archive expands to {expanded:,.1f} MB, over the limit of "
                "{max_expanded_bytes:,.1f} MB",
                expanded=expanded / 1000000.0,
                max_expanded_bytes=max_expanded_bytes / 1000000.0,
            ),
            source=source,
            fix="split the data or clip it to the planning area",
        )
    if expanded > BOMB_MIN_BYTES and expanded > MAX_RATIO * max(archive_bytes, 1):
        raise InputError(
            msg(
                "the archive expands {max_archive_bytes:,.0f} times its size ({expanded:,.0f} "
                "MB): a zip bomb, refused",
                max_archive_bytes=expanded / max(archive_bytes, 1),
                expanded=expanded / 1000000.0,
            ),
            source=source,
            fix="upload the Shapefile itself, zipped normally",
        )
