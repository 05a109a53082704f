"""lianpian: the planner's map (Streamlit). Start with ``./dev app`` (serves ``serve.py``).

Streamlit runs this file as the page's script; the layout, widgets and their text live in
``geo.app`` (``geo/app/page.py`` and the modules it names; interface strings in
``geo/app/strings/<lang>.toml``). Heavy steps are cached there with ``st.cache_data`` keyed on the
inputs and the policy; the map only reruns the script on a click, never on pan or zoom.
"""

from __future__ import annotations

from geo.app.page import main

if __name__ == "__main__":  # Streamlit runs the page as __main__; serve.py uses geo.app.state
    main()
