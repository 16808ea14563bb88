"""Built-in optimizers and learning-rate schedules, registered as components.

An optimizer component has ``base_lr`` (the centre of the tier's learning-rate
sweep, see ``cegbench.plan.tuning``) and ``build(model, lr)``. Weight decay, where an
optimizer has it, applies to matrices only (not norms or biases), as in nanoGPT.

A schedule is a function of training progress p in [0, 1] returning the
learning-rate multiplier.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from cegbench.hookspecs import hookimpl
from cegbench.innovations import Component

WARMUP_FRACTION = 0.1  # linear warm-up over the first 10 % of steps (reference work)
FINAL_FRACTION = 0.1  # cosine and linear decay end at 0.1 × peak (reference work)


def param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """Decay matrices (dim ≥ 2); leave norms, biases and other vectors alone."""
    params = [p for p in model.parameters() if p.requires_grad]
    return [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]


def fused(model: torch.nn.Module) -> dict:
    """On CUDA, the fused implementation (one kernel for all parameters, no host sync);
    elsewhere torch's default, so CPU runs stay bit-identical."""
    params = list(model.parameters())
    return {"fused": True} if params and all(p.is_cuda for p in params) else {}


@dataclass(frozen=True)
class SGDMomentum:
    base_lr: float = 0.1
    momentum: float = 0.9

    def build(self, model, lr):
        return torch.optim.SGD(model.parameters(), lr=lr, momentum=self.momentum, **fused(model))


@dataclass(frozen=True)
class Adam:
    """Adam (Kingma & Ba 2014) without weight decay."""

    base_lr: float = 4e-3
    betas: tuple[float, float] = (0.9, 0.999)

    def build(self, model, lr):
        return torch.optim.Adam(model.parameters(), lr=lr, betas=self.betas, **fused(model))


@dataclass(frozen=True)
class AdamW:
    """Adam with decoupled weight decay (Loshchilov & Hutter 2017)."""

    base_lr: float = 4e-3
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.1

    def build(self, model, lr):
        return torch.optim.AdamW(param_groups(model, self.weight_decay), lr=lr, betas=self.betas,
                                 **fused(model))


def warmup(progress: float) -> float:
    return min(1.0, progress / WARMUP_FRACTION)


def constant(progress: float) -> float:
    """1 throughout: no warm-up, no decay."""
    return 1.0


def cosine(progress: float) -> float:
    """Linear warm-up, then cosine decay from 1 to FINAL_FRACTION."""
    if progress < WARMUP_FRACTION:
        return warmup(progress)
    decay = (progress - WARMUP_FRACTION) / (1 - WARMUP_FRACTION)
    return FINAL_FRACTION + (1 - FINAL_FRACTION) * 0.5 * (1 + math.cos(math.pi * decay))


def linear(progress: float) -> float:
    """Linear warm-up, then linear decay from 1 to FINAL_FRACTION."""
    if progress < WARMUP_FRACTION:
        return warmup(progress)
    decay = (progress - WARMUP_FRACTION) / (1 - WARMUP_FRACTION)
    return 1 - (1 - FINAL_FRACTION) * decay


def inverse_sqrt(progress: float) -> float:
    """Linear warm-up, then 1/sqrt(step) decay (Vaswani et al. 2017)."""
    if progress < WARMUP_FRACTION:
        return warmup(progress)
    return math.sqrt(WARMUP_FRACTION / progress)


@hookimpl
def cegbench_register_components():
    return [
        Component("optimizer", "sgd", SGDMomentum(), "SGD with momentum 0.9"),
        Component("optimizer", "adam", Adam(), "Adam (0.9, 0.999), no weight decay"),
        Component("optimizer", "adamw", AdamW(), "AdamW (0.9, 0.999), decoupled weight decay 0.1"),
        Component("schedule", "constant", constant, constant.__doc__),
        Component("schedule", "cosine", cosine, cosine.__doc__),
        Component("schedule", "linear", linear, linear.__doc__),
        Component("schedule", "inverse-sqrt", inverse_sqrt, inverse_sqrt.__doc__),
    ]
