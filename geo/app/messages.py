"""Messages to the planner: one clear line in the interface language, never a traceback.

May import geo.core.errors, geo.outputs.maps (its assets error) and streamlit.
"""

from __future__ import annotations

import streamlit as st

from geo.core.errors import LianpianError
from geo.outputs import maps


def show_error(t: dict[str, str], exc: BaseException) -> None:
    """One clear line, never a traceback."""
    if isinstance(exc, maps.MapAssetsError):
        st.error(t["assets"] + str(exc))
    elif isinstance(exc, LianpianError):
        text = exc.one_line() if hasattr(exc, "one_line") else str(exc)
        st.error(t["error"] + text + " " + t["kept"])
    else:
        st.error(t["internal"].format(kind=type(exc).__name__))
