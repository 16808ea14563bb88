"""cegbench: what an algorithmic innovation in deep learning is worth in compute.

Plugins import their markers and declaration types from here::

    from cegbench import hookimpl, Innovation, Recipe, Component, Finding
"""

from importlib.metadata import PackageNotFoundError, version

from cegbench.hookspecs import hookimpl
from cegbench.innovations import Component, Innovation, Recipe
from cegbench.literature import Finding

try:
    __version__ = version("cegbench")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["hookimpl", "Innovation", "Recipe", "Component", "Finding", "__version__"]
