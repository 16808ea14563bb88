"""Which runs diverged while training: a training loss that is not finite or above the
spec's ``max_loss`` (divergence), or below 0 (a family's fault: a cross-entropy is >= 0)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch

from cegbench.plan.specs import TrainSpec

if TYPE_CHECKING:
    from cegbench.train.trainer import Member


class Divergence:
    """Which members diverged (a loss not finite, above the spec's ``max_loss``, or below 0).
    With ``check_every`` 1 (the CPU) each loss is read every step; otherwise each member's
    first bad step and its loss are recorded on the device and read back every
    ``check_every`` steps and at each evaluation, so a member reports the same step and loss
    either way (a read-back syncs the device)."""

    def __init__(self, members: list[Member], steps: int, check_every: int, device):
        self.steps, self.check_every, self.device = steps, check_every, device
        self.max_loss = torch.tensor([m.spec.max_loss for m in members], dtype=torch.float64, device=device)
        self.first_bad = torch.zeros(len(members), dtype=torch.long, device=device)
        self.bad_loss = torch.zeros(len(members), device=device)
        self.slots = {id(m): i for i, m in enumerate(members)}
        self.indices: dict[tuple, torch.Tensor] = {}  # the slots of a set of stepping members, on device

    def record(self, spec: TrainSpec, stepping: list[Member], losses: torch.Tensor, step: int) -> None:
        """Note the training losses (A,) of the members ``stepping`` at ``step``: a member
        that diverged gets its ``error`` (at once, or at the next read-back)."""
        if self.check_every == 1:  # read every step (free on CPU): stop before the backward
            for member, value in zip(stepping, losses.tolist()):
                if not math.isfinite(value) or value > member.spec.max_loss:
                    member.error = divergence_reason(value, step, self.steps, member.spec.max_loss)
                elif value < 0:
                    member.error, member.fault = negative_loss(spec, "training", value, step, self.steps), True
            return
        key = tuple(self.slots[id(m)] for m in stepping)
        if key not in self.indices:  # made once per set of members: a copy to the device syncs
            self.indices[key] = torch.tensor(key, device=self.device)
        index = self.indices[key]
        bad = ~torch.isfinite(losses) | (losses.double() > self.max_loss[index]) | (losses < 0)
        new = bad & (self.first_bad[index] == 0)
        self.first_bad[index] = torch.where(new, step, self.first_bad[index])
        self.bad_loss[index] = torch.where(new, losses.detach(), self.bad_loss[index])
        if step % self.check_every == 0:
            self.read_back(spec, stepping)

    def read_back(self, spec: TrainSpec, active: list[Member]) -> None:
        """Read the device's record back: each member of ``active`` that diverged gets its
        ``error`` (and ``fault``, for a negative loss: the family's, not divergence)."""
        if not active:
            return
        bad_steps, bad_values = self.first_bad.tolist(), self.bad_loss.tolist()
        for member in active:
            slot = self.slots[id(member)]
            if bad_steps[slot]:
                member.error = divergence_reason(bad_values[slot], bad_steps[slot], self.steps,
                                                 member.spec.max_loss)
                if bad_values[slot] < 0:
                    member.fault = True
                    member.error = negative_loss(spec, "training", bad_values[slot],
                                                 bad_steps[slot], self.steps)


def negative_loss(spec: TrainSpec, which: str, loss: float, step: int, steps: int) -> str:
    """Why a run whose family returned a negative loss failed (a cross-entropy is >= 0)."""
    return (f"family {spec.recipe.family!r} returned a negative {which} loss {loss:.4g} at step "
            f"{step} of {steps}; a language model's loss (a cross-entropy) is >= 0")


def divergence_reason(loss: float, step: int, steps: int, max_loss: float) -> str:
    if not math.isfinite(loss):
        return f"training loss became {loss} at step {step} of {steps}"
    return f"training loss exploded to {loss:.3g} (> {max_loss}) at step {step} of {steps}"
