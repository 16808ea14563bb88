"""Runs that did not learn: the rule, in one place.

A run can finish "ok" — no error, no divergence — and still have learned nothing: a
post-norm Transformer whose optimiser never left the unigram plateau ends at the loss
of a model that knows only the data's token frequencies. Its loss measures a failure to
train, not its model size, and an IsoFLOP parabola through it puts the compute-optimal
loss below every measured run (cpu v3: post-norm-to-pre-norm's baseline frontier 0.20
nats below its best runs, a CEG of 0.29× where the measured minima give about 0.76×).

A run **did not learn** when its loss curve never fell — no held-out evaluation after
the first is below the first by at least ``MARGIN`` — and, where its *unigram loss* is
known, its held-out loss is not below it by ``MARGIN`` either. The unigram loss is the
cross-entropy, on the same held-out windows, of a model that predicts every token by its
frequency in the training split (``TokenDataset.unigram_loss``).

Both, not either: a run still above the unigram loss whose curve falls is learning, only
slowly (every smoke-tier run ends above it, its curves falling from 5.5 to 3.1 nats), and
a run far below it whose curve is flat learned early. Where the unigram loss is not
known (imported or external runs) the flat curve decides alone.

``MARGIN`` is 2 %: on the cpu v3 runs the 13 stuck trainings sit within 0.04 % of the
unigram loss (3.4976 nats) and their curves fell 0.1–0.9 % after the first
evaluation; every other training fell at least 3.2 % and ended ≥ 0.7 nats below it.
Such runs stay in the registry (``runs.not_learned`` holds the reason), are counted by
``status``, ``show`` and the site, and are kept out of frontiers and fits.
"""

from __future__ import annotations

import math

MARGIN = 0.02


def not_learned_reason(final_loss, curve: list[dict] | None, unigram_loss=None) -> str | None:
    """Why a finished run did not learn (see the module docstring), or None if it did.

    ``curve``: its held-out evaluations ({"loss": …} dicts, in order of steps);
    ``unigram_loss``: the unigram loss of its data's held-out windows, if known.
    """
    if final_loss is None or not math.isfinite(final_loss):
        return None  # a failed run: its status says so
    losses = [point.get("loss") for point in curve or () if isinstance(point, dict)]
    if len(losses) < 2 or not all(isinstance(x, int | float) and math.isfinite(x) for x in losses):
        return None  # nothing to judge by
    if min(losses[1:]) <= (1 - MARGIN) * losses[0]:
        return None  # its curve fell: it learned, if slowly
    flat = f"its loss curve never fell {MARGIN:.0%} below its first evaluation ({losses[0]:.4g} → {losses[-1]:.4g})"
    if unigram_loss is None or not math.isfinite(unigram_loss):
        return f"did not learn: {flat}"
    if final_loss < (1 - MARGIN) * unigram_loss:
        return None  # it learned early, then stopped
    return (f"did not learn: held-out loss {final_loss:.4g} is not {MARGIN:.0%} below the unigram loss "
            f"{unigram_loss:.4g} of a model that knows only token frequencies, and {flat}")
