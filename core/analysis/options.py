"""Analysis options a paper needs: a fixed irreducible loss, a target loss for the CEG
at that loss, a window of budgets to fit. ``analyze_innovation`` takes them as keyword
arguments; this module checks them, applies the window and says in the verdict's
``method`` what was used.

* ``fixed_E``: the shared E held at a value (the reference works fix it; the fitter's
  "E fixed" sensitivity variant does too). It must be positive and below every frontier
  loss: a law cannot pass below its own floor.
* ``target_loss``: CEG read off the measured frontiers at that loss (log C interpolated
  in loss between frontier points, ``ceg.ceg_at_losses``), in place of the default
  targets (the baseline's frontier losses the modern frontier spans).
* ``fit_window``: (min, max) FLOPs; runs at budgets outside it are left out before the
  frontier is built (the reference work saw its key exponent move with the window).
"""

from __future__ import annotations

import math

import pandas as pd

from .frontier import FrontierPoint


class OptionError(ValueError):
    """An option's value cannot be used with these runs (e.g. a fixed E above the
    frontier): the caller's mistake, not the data's, so it is never stored as a verdict."""


def _positive(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def check_options(*, fixed_E=None, target_loss=None, fit_window=None, shared_E: bool = True) -> None:
    """``ValueError`` naming the option whose value cannot be used."""
    if fixed_E is not None:
        if not _positive(fixed_E):
            raise OptionError(f"fixed_E must be a positive loss, got {fixed_E!r}")
        if not shared_E:
            raise OptionError("fixed_E holds the shared E: it needs shared_E=True")
    if target_loss is not None and not _positive(target_loss):
        raise OptionError(f"target_loss must be a positive loss, got {target_loss!r}")
    if fit_window is not None and (len(fit_window) != 2 or not all(map(_positive, fit_window))
                                   or not fit_window[0] < fit_window[1]):
        raise OptionError(f"fit_window must be (min, max) FLOPs with 0 < min < max, got {fit_window!r}")


def within_window(runs: pd.DataFrame, fit_window) -> tuple[pd.DataFrame, str | None]:
    """The runs whose budget lies in ``fit_window`` (all without one), and a warning
    counting the others."""
    if fit_window is None:
        return runs, None
    low, high = fit_window
    budgets = pd.to_numeric(runs["budget"], errors="coerce")
    inside = (budgets >= low * (1 - 1e-9)) & (budgets <= high * (1 + 1e-9))
    outside = int((~inside).sum())
    note = (f"fit window {low:.3g}–{high:.3g} FLOPs: {outside} run(s) at budgets outside it left out"
            if outside else None)
    return runs[inside], note


def check_fixed_E(fixed_E, frontier: list[FrontierPoint]) -> None:
    """``OptionError`` when a fixed E is not below every frontier loss."""
    if fixed_E is None:
        return
    lowest = min(p.loss for p in frontier)
    if not fixed_E < lowest:
        raise OptionError(f"fixed E = {fixed_E:g} is not below the smallest frontier loss {lowest:.4g}: "
                            "a law cannot pass below its irreducible loss")


def target_loss_warning(target_loss: float, frontier: list[FrontierPoint]) -> str:
    """Why no CEG could be read at ``target_loss``."""
    ranges = []
    for arm in ("baseline", "modern"):
        losses = [p.loss for p in frontier if p.arm == arm]
        ranges.append(f"{arm} {min(losses):.4g}–{max(losses):.4g}")
    return (f"no CEG at target loss {target_loss:g}: both measured frontiers must reach it (and "
            f"90 % of their bootstrap replicates); the frontiers span {', '.join(ranges)}")


def options_method(*, fixed_E=None, target_loss=None, fit_window=None) -> dict:
    """What the verdict's ``method`` records of the options (None: not used)."""
    return {"fixed_E": fixed_E, "target_loss": target_loss,
            "fit_window": list(fit_window) if fit_window is not None else None}
