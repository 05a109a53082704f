"""Uploaded files: staged under a per-session folder named by content, one uploader per input role.

Holds :data:`UPLOADS` (roles, labels, types) and :func:`uploaded_paths`. May import geo.io,
geo.core.errors and streamlit.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path

import streamlit as st

from geo import io
from geo.core.errors import InputError


def _upload_dir() -> Path:
    if "upload_dir" not in st.session_state:
        st.session_state.upload_dir = tempfile.mkdtemp(prefix="lianpian-upload-")
    return Path(st.session_state.upload_dir)


def _stage(uploaded: list) -> list[str]:
    """Save one uploader's files under a folder named by their content; return the datasets.

    The files go through ``geo.io.stage_uploads`` (names, types, sizes, archives checked); the
    same files uploaded again are not staged twice.
    """
    files = [(f.name, f.getvalue()) for f in uploaded]
    digest = hashlib.sha256()
    for name, data in files:
        digest.update(name.encode("utf-8", "replace") + b"\0" + hashlib.sha256(data).digest())
    folder = _upload_dir() / digest.hexdigest()[:16]
    staged = st.session_state.setdefault("staged", {})
    if folder.name in staged:
        return staged[folder.name]
    if folder.exists():  # a previous attempt that failed part-way
        shutil.rmtree(folder)
    folder.mkdir()
    try:
        paths = [str(p) for p in io.stage_uploads(files, folder)]
    except Exception:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    staged[folder.name] = paths
    return paths


@st.cache_data(show_spinner=False, max_entries=64)
def cached_layer_names(path: str) -> list[str]:
    """The layers of a staged upload (its folder is named by its content: never changes)."""
    return io.layer_names(path)


#: Upload roles: (input of load_inputs, label key, file types, several datasets allowed).
VECTOR_TYPES = ["zip", "gpkg", "geojson", "json", "fgb", "shp", "shx", "dbf", "prj", "cpg"]


UPLOADS = (
    ("estates", "estates_upload", VECTOR_TYPES, False),
    ("survey", "survey_upload", ["csv", "tsv", "xlsx"], False),
    ("barriers", "barriers_upload", VECTOR_TYPES, True),
    ("roads", "roads_upload", VECTOR_TYPES, False),
    ("boundaries", "boundaries_upload", VECTOR_TYPES, False),
    ("facilities", "facilities_upload", VECTOR_TYPES, False),
    ("candidate_sites", "candidates_upload", VECTOR_TYPES, False),
)


def uploaded_paths(t: dict[str, str], role: str, label: str, types: list, several: bool):
    """One uploader (and its layer choice); return the dataset paths (``FILE::LAYER``)."""
    # No ``type=`` filter: Streamlit would refuse other types with an opaque app error; the
    # types are checked by geo.io.stage_uploads, which says what to upload instead.
    uploaded = st.file_uploader(
        t[label], accept_multiple_files=True, key=f"u_{role}", help=f".{', .'.join(types)}"
    )
    if not uploaded:
        return []
    paths = _stage(uploaded)
    if len(paths) > 1 and not several:
        raise InputError(
            t["several"].format(role=t[label].split("：")[0].split(":")[0], n=len(paths)),
            source=", ".join(Path(p).name for p in paths),
            fix="upload one dataset (a Shapefile's parts count as one)",
        )
    chosen = []
    for i, path in enumerate(paths):
        layers = cached_layer_names(path) if Path(path).suffix.lower() == ".gpkg" else []
        layer = None
        if len(layers) > 1:
            layer = st.selectbox(
                t["layer"].format(name=Path(path).name),
                [None, *layers],
                format_func=lambda x: t["layer_auto"] if x is None else x,
                key=f"u_{role}_layer_{i}",
            )
        chosen.append(f"{path}::{layer}" if layer else path)
    return chosen
