"""The trainer: one spec in, one ``RunResult`` out. Never touches the database.

A run trains to exactly its compute budget: FLOPs per token are measured (and
cross-checked against the family's analytic formula; once per process for each
recipe, width and set of registered components), then

    steps = round(budget / (flops_per_token × batch_size × context))

with the arm's optimizer and schedule, evaluating held-out loss a few times on
the way and at the end. Divergence (a non-finite or exploding loss) ends the run
as failed, with its reason. With the same seed a run is repeatable on CPU.

Two times are recorded: ``wall_time_s``, the whole run (set-up, FLOP measurement,
evaluations), and ``train_time_s``, the training steps alone, which is what a
wall-clock comparison of two recipes should use.
"""

from __future__ import annotations

import math
import time
import traceback
from dataclasses import dataclass, field
from weakref import WeakKeyDictionary

import torch

from cegbench.components import Components
from cegbench.data import load_dataset
from cegbench.flops import FlopReport, check_flops
from cegbench.plan import TrainSpec
from cegbench.provenance import environment, utc_now

GRAD_CLIP = 1.0


class Diverged(RuntimeError):
    """Training loss became non-finite or exploded."""


@dataclass
class RunResult:
    run_id: str
    spec: TrainSpec  # a RunSpec for measurement runs
    status: str  # "ok" or "failed"
    error: str | None = None
    final_loss: float | None = None  # held-out loss at the end of training
    n_params: int | None = None
    flops_per_token: float | None = None  # measured
    flops_per_token_analytic: float | None = None
    tokens: int = 0
    steps: int = 0
    epochs: float | None = None  # tokens / the dataset's training tokens: > 1 repeats data
    curve: list[dict] = field(default_factory=list)  # {"step", "tokens", "flops", "loss"}
    wall_time_s: float = 0.0  # the whole run
    train_time_s: float | None = None  # the training steps alone (no set-up, no evaluation)
    dataset_hash: str | None = None
    environment: dict = field(default_factory=dict)
    started_at: str = ""
    finished_at: str = ""


def run(spec: TrainSpec, components: Components, device: str = "cpu") -> RunResult:
    """Train one run; any failure becomes a failed ``RunResult`` with its reason."""
    result = RunResult(spec.run_id, spec, status="failed", started_at=utc_now(),
                       environment=environment(device))
    start = time.perf_counter()
    try:
        train(spec, components, device, result)
        result.status = "ok"
    except Diverged as error:
        result.error = f"diverged: {error}"
    except Exception as error:  # recorded, not raised: the sweep goes on
        where = traceback.extract_tb(error.__traceback__)[-1]
        result.error = (f"{type(error).__name__}: {error} "
                        f"(at {where.filename.rsplit('/', 1)[-1]}:{where.lineno})")
    result.wall_time_s = time.perf_counter() - start
    result.finished_at = utc_now()
    return result


def train(spec: TrainSpec, components: Components, device: str, result: RunResult) -> None:
    """The training loop proper; fills in ``result`` as it goes."""
    recipe = spec.recipe
    dataset = load_dataset(spec.dataset)
    result.dataset_hash = dataset.content_hash
    family = components.get("family", recipe.family)
    optimizer_rule = components.get("optimizer", recipe.optimizer)
    schedule = components.get("schedule", recipe.schedule)

    # compute accounting: measured FLOPs per token, checked against the formula
    flops = measured_flops(family, recipe, spec.width, dataset.vocab_size, spec.context, components)
    result.flops_per_token = flops.measured
    result.flops_per_token_analytic = flops.analytic
    tokens_per_step = spec.batch_size * spec.context
    steps = max(1, round(spec.budget / (flops.measured * tokens_per_step)))
    result.steps, result.tokens = steps, steps * tokens_per_step
    result.epochs = dataset.epochs(result.tokens)
    eval_steps = sorted({max(1, round(steps * k / spec.eval_points)) for k in range(1, spec.eval_points + 1)})

    torch.manual_seed(spec.seed)
    model = family.build(recipe, spec.width, dataset.vocab_size, spec.context, components).to(device)
    result.n_params = sum(p.numel() for p in model.parameters())
    optimizer = optimizer_rule.build(model, spec.learning_rate)
    batches = torch.Generator().manual_seed(spec.seed)

    model.train()
    eval_time = 0.0
    loop_start = time.perf_counter()
    for step in range(1, steps + 1):
        lr = spec.learning_rate * schedule(step / steps)
        for group in optimizer.param_groups:
            group["lr"] = lr
        x, y = dataset.batch(spec.batch_size, spec.context, batches)
        _, loss = model(x.to(device), y.to(device))
        loss_value = loss.item()
        if not math.isfinite(loss_value):
            raise Diverged(f"training loss became {loss_value} at step {step} of {steps}")
        if loss_value > spec.max_loss:
            raise Diverged(
                f"training loss exploded to {loss_value:.3g} (> {spec.max_loss}) at step {step} of {steps}"
            )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
        optimizer.step()
        if step in eval_steps:
            eval_start = time.perf_counter()
            val_loss = evaluate(model, dataset, spec, device)
            eval_time += time.perf_counter() - eval_start
            if not math.isfinite(val_loss):
                raise Diverged(f"held-out loss became {val_loss} at step {step} of {steps}")
            tokens = step * tokens_per_step
            result.curve.append({"step": step, "tokens": tokens,
                                 "flops": tokens * flops.measured, "loss": val_loss})
    result.final_loss = result.curve[-1]["loss"]
    result.train_time_s = time.perf_counter() - loop_start - eval_time


_flop_reports: WeakKeyDictionary = WeakKeyDictionary()  # Components → {(recipe, ...): FlopReport}


def measured_flops(family, recipe, width, vocab_size, context, components) -> FlopReport:
    """``check_flops``, measured once per process for each recipe and shape.

    The cache is per ``Components`` object: a catalog's component lookups are frozen, so
    the same object always means the same implementations behind each name,
    while another catalog (e.g. a test registering other code under the same
    names) gets its own measurements.
    """
    reports = _flop_reports.setdefault(components, {})
    key = (recipe, width, vocab_size, context)
    if key not in reports:
        reports[key] = check_flops(family, recipe, width, vocab_size, context, components)
    return reports[key]


@torch.no_grad()
def evaluate(model, dataset, spec: TrainSpec, device: str) -> float:
    """Mean held-out loss over the dataset's fixed validation windows."""
    model.eval()
    total, count = 0.0, 0
    for x, y in dataset.validation_batches(spec.eval_tokens, spec.context, spec.batch_size):
        _, loss = model(x.to(device), y.to(device))
        total += loss.item() * len(x)
        count += len(x)
    model.train()
    return total / count
