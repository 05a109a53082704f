"""The planner's map in the browser (Streamlit): the top layer of lianpian.

``app.py`` at the repository root runs :func:`geo.app.page.main` as Streamlit's script; ``serve.py``
calls :func:`geo.app.state.warm_up` ahead of the first visit. Modules: ``text`` (interface strings
from ``strings/<lang>.toml``), ``state`` (start data, cached reading, planning, downloads),
``uploads``, ``sidebar``, ``mapview`` (the folium map sent to ``st_folium``), ``messages``,
``views/*`` (the page's sections) and ``page`` (the layout). geo.app may import every other geo
stage; it and ``app.py`` are the only code that imports streamlit. Importing this package draws
nothing.
"""
