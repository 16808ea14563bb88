"""Hook specifications: the whole plugin API of cegbench.

A plugin is a module (or any object) with functions marked ``@hookimpl`` whose
names match the specs below. Built-in innovations in ``cegbench.plugins`` use
exactly these hooks, the same way a pip-installed package does.

Hooks return plain declarations (``Innovation``, ``Component``); cegbench
validates every one of them itself and names the plugin at fault, because
pluggy checks argument names only, never return values.

Specs may gain arguments in later versions but never lose or rename one: an
implementation may accept any subset of a spec's arguments.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from cegbench.innovations import Component, Innovation

hookspec = pluggy.HookspecMarker("cegbench")
hookimpl = pluggy.HookimplMarker("cegbench")


# -------------------------------------------------------------------------
# Declaration hooks: called once per process when the plugin manager loads.


@hookspec
def cegbench_register_innovations() -> list[Innovation]:
    """Declare innovations: baseline/modern recipe pairs to be measured.

    Each ``Innovation`` names a slug, its metadata (title, category, year,
    paper URL, description) and its two arms as ``Recipe`` objects. Both arms
    must differ in at least one field, and every component a recipe names must
    be registered (built in, or through ``cegbench_register_components``).

    :return: a list of ``cegbench.Innovation`` (may be empty).

    Example::

        @hookimpl
        def cegbench_register_innovations():
            return [Innovation(name="gelu-to-swiglu", ..., baseline=Recipe(activation="gelu"),
                               modern=Recipe(activation="swiglu"))]
    """


@hookspec
def cegbench_register_components() -> list[Component]:
    """Declare new building blocks that recipes can name.

    A ``Component`` has a ``kind`` (one of ``cegbench.components.KINDS``:
    activation, norm, position, optimizer, schedule, family, allocation), a
    ``name`` used in recipes, and the ``implementation`` whose contract is
    documented per kind in ``docs/plugins.md``. This is how an idea that is
    not a built-in switch becomes one plugin.

    :return: a list of ``cegbench.Component`` (may be empty).
    """
