"""Analysis: from the runs of one innovation in one tier to a verdict; numbers only
(no registry, no plugins, no printing).

One module per step: ``frontier`` (the compute-optimal loss per arm and budget),
``bootstrap`` (seed noise, Welch–Satterthwaite and Student-t scaling), ``fit`` (the
joint scaling-law fit), ``estimate`` (Δα, the CEG drift, their intervals and the label), ``drift``, ``label``,
``ceg``, ``sensitivity``, ``decision``, ``wall``, ``composition``, ``simulate``
(planted-truth data for acceptance tests and tier design); ``analyze``
chains them. This package only re-exports the public names.

``analyze_innovation`` is the one entry point; ``compose`` compares a bundle's CEG
with its parts' (it needs their verdicts, which the caller reads from the registry).
"""

from .analyze import Analysis, analyze_innovation
from .ceg import CEGPoint, LossCEGPoint, ceg_at_loss, compute_equivalent_gain, compute_to_reach
from .composition import Composition, compose, parts_first
from .decision import Decision
from .fit import ScalingFit
from .frontier import AnalysisError, FrontierPoint
from .label import label_from_drift, label_from_interval
from .sensitivity import SensitivityResult

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
