"""Serve the planner's map (``app.py``, laid out by ``geo.app``) with its first plan made while the server starts.

``streamlit run serve.py`` (what ``./dev app`` runs) serves the same page as ``streamlit run
app.py``, with the same settings (``.streamlit/config.toml``: 127.0.0.1, upload limit). When the
server starts, a thread imports the page's libraries and reads and plans the start data (the demo,
or the files of ``LIANPIAN_APP_*``) so the content-keyed memos are filled before anyone opens the
page: the first visit then takes about as long as any later one. If that fails, the page plans
again at the first visit and shows the error there.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import streamlit as st

_LOG = logging.getLogger("lianpian.serve")


_THREAD = "lianpian-warm-up"


def _not_from_the_head_start(record: logging.LogRecord) -> bool:
    """Drop Streamlit's "missing ScriptRunContext" notes of the head start (it runs no page)."""
    return record.threadName != _THREAD


def _warm_up() -> None:
    from streamlit.runtime import Runtime

    # custom components (the map's st_folium) register with the running runtime when their
    # module is first imported: import the page only once the runtime is up
    deadline = time.monotonic() + 60
    while not Runtime.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        # Streamlit looks once per process, at the first element any page draws, whether it runs
        # in a REPL (inspect.stack(): every frame's source file read, about 1 s of a first visit
        # on a busy machine); asked here, that look is over before anyone opens the page
        from streamlit import delta_generator

        getattr(delta_generator, "_maybe_print_use_warning", lambda: None)()
    except Exception:  # a later Streamlit without it: the page pays the look itself
        _LOG.debug("no use-warning check to do ahead", exc_info=True)
    try:
        from geo.app import state  # the page's data functions; importing it draws nothing

        state.warm_up()
        # streamlit_folium is imported by the page (its component registers there), but most of
        # its import is folium.plugins (dozens of templates compiled): done here, ahead
        import folium.plugins  # noqa: F401
    except Exception:  # the first visit plans again and shows the error itself
        _LOG.warning("warming up the first plan failed", exc_info=True)


@asynccontextmanager
async def _lifespan(_app: object) -> AsyncIterator[None]:
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").addFilter(
        _not_from_the_head_start
    )
    threading.Thread(target=_warm_up, name=_THREAD, daemon=True).start()
    yield


app = st.App("app.py", lifespan=_lifespan)
