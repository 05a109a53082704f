"""``python -m geo.cli``: the ``lianpian`` command."""

from geo.cli import run

run()
