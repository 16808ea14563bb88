"""The trainer: specs in, ``RunResult``s out. Never touches the database.

A run trains to exactly its compute budget: FLOPs per token are measured (and
cross-checked against the family's analytic formula; once per process for each
recipe, width and set of registered components), then

    steps = round(budget / (flops_per_token × batch_size × context))

with the arm's optimizer and schedule, evaluating held-out loss a few times on
the way and at the end. Divergence (a non-finite or exploding loss) ends the run
as failed, with its reason. With the same seed a run is repeatable on CPU.

``run(spec)`` trains one run; ``cegbench.train.pack.run_pack(specs)`` trains runs of
one shape together as one batched model. Both use the loop here (``train_members``):
each member has its own model, optimizer, learning rate, data order and
divergence check, and only the forward pass differs (one model, or every
member's at once under ``torch.func.vmap``).

The device decides the numerics (``DeviceSettings``): on CPU, fp32 and a
divergence check every step, bit-identical to the trainer before packing
existed; on CUDA, bf16 autocast over fp32 master weights, TF32 matmuls, the
training tokens resident on the GPU with windows gathered there, and the
divergence check read back every ``CUDA_CHECK_EVERY`` steps (no host sync per
step: the first bad step and its loss are kept on the device).

Two times are recorded: ``wall_time_s``, the whole run (set-up, FLOP measurement,
evaluations), and ``train_time_s``, the training steps alone, which is what a
wall-clock comparison of two recipes should use. A packed run records its share
of the pack's times (the pack's time divided by its members).
"""

from __future__ import annotations

import contextlib
import math
import time
import traceback
from dataclasses import dataclass, field
from weakref import WeakKeyDictionary

import torch

from cegbench.catalog.contracts import multiplier_problem
from cegbench.components import Components
from cegbench.data.datasets import TokenDataset, gather_windows, load_dataset
from cegbench.flops import FlopReport, check_flops
from cegbench.plan.specs import TrainSpec
from cegbench.provenance import utc_now
from cegbench.train.divergence import Divergence, negative_loss
from cegbench.train.environment import environment

GRAD_CLIP = 1.0
CUDA_CHECK_EVERY = 16  # steps between divergence read-backs on CUDA (a host sync each)
STARTS_CHUNK = 256  # window starts drawn (and moved to the device) this many steps at a time


class Diverged(RuntimeError):
    """Training loss became non-finite or exploded."""


class PluginOutputError(RuntimeError):
    """A plugin's component returned what it never may: a schedule a non-finite or
    negative multiplier, a family a negative loss or a parameter count its model does
    not have. The message names the component."""


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
    unigram_loss: float | None = None  # held-out loss of token frequencies alone (cegbench.learning)
    environment: dict = field(default_factory=dict)
    started_at: str = ""
    finished_at: str = ""


@dataclass(frozen=True)
class DeviceSettings:
    """How a device trains: precision, and how often the divergence check syncs."""

    device: str
    autocast: torch.dtype | None  # None: plain fp32
    check_every: int  # steps between divergence read-backs

    @classmethod
    def for_device(cls, device: str) -> DeviceSettings:
        if torch.device(device).type == "cuda":
            return cls(device, torch.bfloat16, CUDA_CHECK_EVERY)
        return cls(device, None, 1)

    def autocast_context(self):
        if self.autocast is None:
            return contextlib.nullcontext()
        return torch.autocast(torch.device(self.device).type, dtype=self.autocast)


def configure_device(device: str) -> None:
    """Process-wide fast-math settings for CUDA: TF32 matmuls and convolutions."""
    if torch.device(device).type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.set_float32_matmul_precision("high")


def new_result(spec: TrainSpec, device: str) -> RunResult:
    return RunResult(spec.run_id, spec, status="failed", started_at=utc_now(),
                     environment=environment(device))


def error_text(error: Exception) -> str:
    """A failure's reason as recorded: the exception and where it was raised."""
    if isinstance(error, Diverged):
        return f"diverged: {error}"
    if isinstance(error, PluginOutputError):
        return str(error)
    where = traceback.extract_tb(error.__traceback__)[-1]
    return (f"{type(error).__name__}: {error} "
            f"(at {where.filename.rsplit('/', 1)[-1]}:{where.lineno})")


def run(spec: TrainSpec, components: Components, device: str = "cpu",
        settings: DeviceSettings | None = None) -> RunResult:
    """Train one run; any failure becomes a failed ``RunResult`` with its reason."""
    result = new_result(spec, device)
    start = time.perf_counter()
    try:
        train(spec, components, device, result, settings)
        result.status = "ok"
    except Exception as error:  # recorded, not raised: the sweep goes on
        result.error = error_text(error)
    result.wall_time_s = time.perf_counter() - start
    result.finished_at = utc_now()
    return result


def train(spec: TrainSpec, components: Components, device: str, result: RunResult,
          settings: DeviceSettings | None = None) -> None:
    """Train one run, filling in ``result``; raises ``Diverged`` (or any error) on failure."""
    shape = Shape.of(spec, components, device)
    member = Member.build(spec, shape, components, device, result)
    train_members(shape, [member], SingleForward(member.model), settings)
    if member.error is not None:
        raise (PluginOutputError if member.fault else Diverged)(member.error)


@dataclass
class Shape:
    """What the members of a pack share: data, model family, optimizer, schedule, steps."""

    dataset: TokenDataset
    family: object
    optimizer_rule: object
    schedule: object
    flops: FlopReport
    steps: int
    eval_steps: list[int]
    spec: TrainSpec  # the first member's: recipe, width, context, batch size, eval settings

    @classmethod
    def of(cls, spec: TrainSpec, components: Components, device: str) -> Shape:
        recipe = spec.recipe
        dataset = load_dataset(spec.dataset)
        family = components.get("family", recipe.family)
        optimizer_rule = components.get("optimizer", recipe.optimizer)
        schedule = components.get("schedule", recipe.schedule)
        # compute accounting: measured FLOPs per token, checked against the formula
        flops = measured_flops(family, recipe, spec.width, dataset.vocab_size, spec.context, components)
        steps = steps_for(spec, flops.measured)
        eval_steps = sorted({max(1, round(steps * k / spec.eval_points))
                             for k in range(1, spec.eval_points + 1)})
        return cls(dataset, family, optimizer_rule, schedule, flops, steps, eval_steps, spec)

    @property
    def tokens_per_step(self) -> int:
        return self.spec.batch_size * self.spec.context


def steps_for(spec: TrainSpec, flops_per_token: float) -> int:
    """Training steps that spend the spec's budget: every run trains to exactly its budget."""
    return max(1, round(spec.budget / (flops_per_token * spec.batch_size * spec.context)))


@dataclass
class Member:
    """One run in the training loop: its spec, model, optimizer, data order and result."""

    spec: TrainSpec
    result: RunResult
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    starts: WindowStarts
    error: str | None = None  # set when it diverges (or its family returns a negative loss)
    fault: bool = False  # the error is the family's (a negative loss), not a divergence

    @classmethod
    def build(cls, spec: TrainSpec, shape: Shape, components: Components, device: str,
              result: RunResult) -> Member:
        result.dataset_hash = shape.dataset.content_hash
        result.unigram_loss = shape.dataset.unigram_loss(spec.eval_tokens, spec.context)
        result.flops_per_token = shape.flops.measured
        result.flops_per_token_analytic = shape.flops.analytic
        result.steps, result.tokens = shape.steps, shape.steps * shape.tokens_per_step
        result.epochs = shape.dataset.epochs(result.tokens)
        torch.manual_seed(spec.seed)
        model = shape.family.build(spec.recipe, spec.width, shape.dataset.vocab_size, spec.context,
                                   components).to(device)
        result.n_params = sum(p.numel() for p in model.parameters())
        declared = shape.family.n_params(spec.recipe, spec.width, shape.dataset.vocab_size,
                                         spec.context, components)
        if declared != result.n_params:  # the analytic count is what allocation and import use
            raise PluginOutputError(
                f"family {spec.recipe.family!r}: n_params() gives {declared} parameters at width "
                f"{spec.width}, but the model its build() makes has {result.n_params}; the two "
                "must agree (allocation and import use n_params)")
        optimizer = shape.optimizer_rule.build(model, spec.learning_rate)
        starts = WindowStarts(len(shape.dataset.train) - spec.context - 1, spec.batch_size,
                              torch.Generator().manual_seed(spec.seed), device)
        return cls(spec, result, model, optimizer, starts)


class WindowStarts:
    """A run's training windows' start offsets, step by step: the same numbers as
    ``TokenDataset.batch`` draws with the same generator (one ``randint`` stream),
    drawn ``STARTS_CHUNK`` steps at a time and moved to the device in one copy."""

    def __init__(self, high: int, batch_size: int, generator: torch.Generator, device: str):
        self.high, self.batch_size, self.generator, self.device = high, batch_size, generator, device
        self.chunk, self.index = None, STARTS_CHUNK

    def next(self) -> torch.Tensor:
        if self.index == STARTS_CHUNK:
            drawn = torch.randint(self.high, (STARTS_CHUNK * self.batch_size,), generator=self.generator)
            self.chunk = drawn.view(STARTS_CHUNK, self.batch_size).to(self.device, non_blocking=True)
            self.index = 0
        self.index += 1
        return self.chunk[self.index - 1]  # (B,)


_device_tokens: dict = {}


def device_tokens(dataset: TokenDataset, device: str) -> torch.Tensor:
    """The training tokens on ``device``, copied there once per process."""
    if torch.device(device).type == "cpu":
        return dataset.train
    key = (dataset.content_hash, str(device))
    if key not in _device_tokens:
        _device_tokens[key] = dataset.train.to(device)
    return _device_tokens[key]


class SingleForward:
    """One member's forward pass: its own model, no batching."""

    def __init__(self, model):
        self.model = model

    def losses(self, members, batches):
        """Training losses (A,) of the active members, each on its own (inputs, targets)."""
        [(x, y)] = batches
        return self.model(x, y)[1].unsqueeze(0)

    def eval_losses(self, members, x, y):
        """Held-out losses (A,) of the active members on shared inputs and targets (B, T)."""
        return self.model(x, y)[1].unsqueeze(0)

    def set_training(self, training: bool) -> None:
        self.model.train(training)


def train_members(shape: Shape, members: list[Member], forward, settings: DeviceSettings | None = None):
    """Train members of one shape in lockstep; a member that diverges stops alone (its
    ``error`` set), the others go on. Fills in each member's result."""
    spec = shape.spec
    device = members[0].starts.device
    settings = settings or DeviceSettings.for_device(device)
    configure_device(device)
    tokens = device_tokens(shape.dataset, device)
    divergence = Divergence(members, shape.steps, settings.check_every, device)
    active = list(members)
    forward.set_training(True)
    eval_time = 0.0
    loop_start = time.perf_counter()
    for step in range(1, shape.steps + 1):
        if not active:
            break
        set_learning_rates(shape, active, step)
        stepping = list(active)  # the members whose losses this step computes, in order
        batches = [gather_windows(tokens, m.starts.next(), spec.context) for m in stepping]  # (B, T) each
        with settings.autocast_context():
            losses = forward.losses(stepping, batches).float()  # (A,)
        divergence.record(spec, stepping, losses, step)
        alive = [i for i, m in enumerate(stepping) if m.error is None]
        losses, active = losses[alive] if len(alive) < len(stepping) else losses, [stepping[i] for i in alive]
        if not active:  # the diverged stop here, before their backward
            break
        descend(active, losses)
        if step in shape.eval_steps:
            divergence.read_back(spec, active)  # evaluations read back anyway: no curve point after a divergence
            active = [m for m in active if m.error is None]
            if not active:
                break
            eval_start = time.perf_counter()
            forward.set_training(False)
            val = evaluate(forward, active, shape, settings)
            forward.set_training(True)
            eval_time += time.perf_counter() - eval_start
            record_evaluation(shape, active, val, step)
            active = [m for m in active if m.error is None]
    divergence.read_back(spec, active)
    train_time = (time.perf_counter() - loop_start - eval_time) / len(members)
    for member in members:
        if member.error is None:
            member.result.final_loss = member.result.curve[-1]["loss"]
            member.result.train_time_s = train_time


def set_learning_rates(shape: Shape, active: list[Member], step: int) -> None:
    """Each active member's rate at ``step``: its tuned rate × the schedule's multiplier,
    which is checked at every step, not only at load."""
    spec, steps = shape.spec, shape.steps
    lr_factor = shape.schedule(step / steps)
    if problem := multiplier_problem(lr_factor):
        raise PluginOutputError(
            f"schedule {spec.recipe.schedule!r} returned {str(lr_factor)[:40]} at progress "
            f"{step / steps:.4g} (step {step} of {steps}): {problem}; a schedule's "
            "learning-rate multiplier must be a finite number >= 0")
    for member in active:
        for group in member.optimizer.param_groups:
            group["lr"] = member.spec.learning_rate * lr_factor


def descend(active: list[Member], losses: torch.Tensor) -> None:
    """One optimizer step of every active member on its loss (A,), its gradient clipped."""
    for member in active:
        member.optimizer.zero_grad(set_to_none=True)
    losses.sum().backward()
    for member in active:
        torch.nn.utils.clip_grad_norm_(member.model.parameters(), GRAD_CLIP)
        member.optimizer.step()


def record_evaluation(shape: Shape, active: list[Member], val: list[float], step: int) -> None:
    """Each active member's held-out loss at ``step`` on its curve; a loss that is not
    finite, or negative (the family's fault), fails the member instead."""
    spec, steps = shape.spec, shape.steps
    tokens_so_far = step * shape.tokens_per_step
    for member, loss in zip(active, val):
        if not math.isfinite(loss):
            member.error = f"held-out loss became {loss} at step {step} of {steps}"
            continue
        if loss < 0:
            member.error, member.fault = negative_loss(spec, "held-out", loss, step, steps), True
            continue
        member.result.curve.append({"step": step, "tokens": tokens_so_far,
                                    "flops": tokens_so_far * shape.flops.measured, "loss": loss})


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
def evaluate(forward, active: list[Member], shape: Shape, settings: DeviceSettings) -> list[float]:
    """Each active member's mean held-out loss over the dataset's fixed validation windows."""
    spec = shape.spec
    device = settings.device
    total, count = torch.zeros(len(active), dtype=torch.float64, device=device), 0
    for x, y in shape.dataset.validation_batches(spec.eval_tokens, spec.context, spec.batch_size):
        with settings.autocast_context():
            losses = forward.eval_losses(active, x.to(device), y.to(device)).float()
        total += losses.double() * len(x)
        count += len(x)
    return (total / count).tolist()
