"""lianpian: contiguous renovation (连片改造) of old residential estates.

The package is organised one module per planning concept (see ``README.md``):
``schema`` (canonical estate columns), ``io`` (all file access), ``crs``, ``policy``,
``eligibility``, ``adjacency``, ``districts``, ``priority`` and ``pipeline``, which runs the
steps in order and returns one :class:`geo.pipeline.PlanResult` used by both the CLI and the app.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("lianpian")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+source"

__all__ = ["__version__"]
