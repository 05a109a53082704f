"""The page's sections (figures, districts table and details, ...), one module each.

Each view draws with streamlit and imports only geo.app.text/state/messages and lower stages.
"""
