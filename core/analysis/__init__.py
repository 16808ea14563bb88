"""Analysis: from the runs of one innovation in one tier to a verdict; numbers only
(no registry, no plugins, no printing).

One module per step: ``frontier`` (the compute-optimal loss per arm and budget),
``bootstrap`` (seed noise, Welch–Satterthwaite and Student-t scaling), ``fit`` (the
joint scaling-law fit), ``estimate`` (Δα, the CEG drift, their intervals and the label), ``drift``, ``label``,
``ceg``, ``sensitivity``, ``decision``, ``wall``, ``composition``, ``simulate``
(planted-truth data for acceptance tests and tier design); ``analyze``
chains them. This package only re-exports the public names, each on first use.

``analyze_innovation`` is the one entry point; ``compose`` compares a bundle's CEG
with its parts' (it needs their verdicts, which the caller reads from the registry).
"""

import importlib

# the public names and the module each is defined in: imported on first use (PEP 562), so
# that importing one step (``cegbench.analysis.label``, ``.curves``) loads that step alone,
# not scipy with ``analyze``; ``from cegbench.analysis import analyze_innovation`` works as ever
_DEFINED_IN = {
    "Analysis": "analyze", "analyze_innovation": "analyze",
    "CEGPoint": "ceg", "LossCEGPoint": "ceg", "ceg_at_loss": "ceg",
    "compute_equivalent_gain": "ceg", "compute_to_reach": "ceg",
    "Composition": "composition", "compose": "composition", "parts_first": "composition",
    "Decision": "decision",
    "ScalingFit": "fit",
    "AnalysisError": "frontier", "FrontierPoint": "frontier",
    "label_from_drift": "label", "label_from_interval": "label",
    "SensitivityResult": "sensitivity",
}


def __getattr__(name: str):
    if name not in _DEFINED_IN:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_DEFINED_IN[name]}", __name__), name)


__all__ = [
    "Analysis",
    "AnalysisError",
    "CEGPoint",
    "Composition",
    "Decision",
    "FrontierPoint",
    "LossCEGPoint",
    "ScalingFit",
    "SensitivityResult",
    "analyze_innovation",
    "ceg_at_loss",
    "compose",
    "compute_equivalent_gain",
    "compute_to_reach",
    "label_from_drift",
    "label_from_interval",
    "parts_first",
]
