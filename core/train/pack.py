"""Packed training: runs of one shape trained together, as one batched model.

Runs that share a shape (``cegbench.plan.specs.pack_key``: recipe, tier, dataset,
budget, width, context, batch size, evaluation settings; they differ in seed,
learning rate, or the innovation they belong to) train in one process: each
member keeps its own model, optimizer, learning rate, data order, divergence
check, evaluations and ``RunResult`` (``cegbench.train.trainer.train_members``), and the
forward and backward passes of all members run as one batched computation,
``torch.func.vmap`` over ``functional_call`` of the members' parameters stacked
along a new leading dimension.

The stack is rebuilt from the members' own parameters at every step (a copy of
the weights, cheap next to the matmuls), so each member's optimizer is the
recipe's own, built by its optimizer component exactly as for a lone run, and a
member that diverges simply drops out of the stack while the others go on.

A pack is the same set of runs as its members trained alone: same run ids,
same specs; final losses agree to float rounding (batched matmuls sum in
another order; ``tests/test_pack.py`` measures it). Provenance says what a run
was packed with (``pack_provenance``).

Not every model can be vmapped. Before training, ``unpackable`` probes the
members: vmapped forward and backward must run, give each member's own loss,
and leave the buffers alone. It fails, and the pack falls back to training
its runs one by one, for

- the ``lstm`` family: ``aten::lstm`` has no batching rule (nor a fallback);
- ``mlp="moe"``: routing sizes each expert's slice from the data
  (``counts.tolist()``), which a vmapped function cannot do;
- any component that draws random numbers in its forward pass (dropout) or
  changes a buffer (batch-norm statistics), and any other vmap failure.

A fallback never changes a number: the runs are the ordinary unpacked runs.
"""

from __future__ import annotations

import json
import time
import warnings

import torch
from torch.func import functional_call, vmap

from cegbench.components import Components
from cegbench.plan.specs import TrainSpec, pack_key
from cegbench.provenance import utc_now
from cegbench.train.trainer import (
    DeviceSettings,
    Member,
    RunResult,
    Shape,
    error_text,
    new_result,
    run,
    steps_for,
    train_members,
)

PROBE_RTOL = 1e-4  # the probe's vmapped losses must match each member's own within this


class VmapForward:
    """Every member's forward pass at once: their parameters stacked, one vmapped call."""

    def __init__(self, members: list[Member]):
        self.base = members[0].model  # the module whose forward runs, with each member's weights
        self.names = [name for name, _ in self.base.named_parameters()]
        self.buffers = dict(self.base.named_buffers())  # equal in every member (checked)
        self.params = {id(m): [p for _, p in m.model.named_parameters()] for m in members}

    def stacked(self, members: list[Member]) -> dict:
        per_member = [self.params[id(m)] for m in members]
        return {name: torch.stack([params[i] for params in per_member])  # (A, ...)
                for i, name in enumerate(self.names)}

    def _loss(self, params, x, y):
        return functional_call(self.base, (params, self.buffers), (x, y))[1]

    def losses(self, members, batches):
        """Training losses (A,), each member on its own (inputs, targets) of shape (B, T)."""
        x = torch.stack([b[0] for b in batches])  # (A, B, T)
        y = torch.stack([b[1] for b in batches])
        with warnings.catch_warnings():
            # e.g. "a performance drop because we have not yet implemented the batching rule"
            warnings.simplefilter("ignore", UserWarning)
            return vmap(self._loss)(self.stacked(members), x, y)

    def eval_losses(self, members, x, y):
        """Held-out losses (A,) on inputs and targets (B, T) shared by all members."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return vmap(self._loss, in_dims=(0, None, None))(self.stacked(members), x, y)

    def set_training(self, training: bool) -> None:
        self.base.train(training)


def unpackable(members: list[Member], shape: Shape) -> str | None:
    """Why these members cannot train as one vmapped model, or None when they can."""
    models = [m.model for m in members]
    names = [name for name, _ in models[0].named_parameters()]
    for model in models[1:]:
        if [name for name, _ in model.named_parameters()] != names:
            return "the members' models have different parameters"
        buffers = dict(model.named_buffers())
        for name, buffer in models[0].named_buffers():
            if name not in buffers or not torch.equal(buffers[name], buffer):
                return f"buffer {name!r} differs between members (state, not a function of shape)"
    x, y = next(shape.dataset.validation_batches(shape.spec.batch_size * shape.spec.context,
                                                 shape.spec.context, shape.spec.batch_size))
    device = members[0].starts.device
    x, y = x.to(device), y.to(device)
    before = [b.clone() for b in models[0].buffers()]
    forward = VmapForward(members)
    try:
        forward.set_training(True)
        packed = forward.losses(members, [(x, y)] * len(members))
        packed.sum().backward()
    except Exception as error:  # noqa: BLE001 - any failure means: train them one by one
        return f"vmap cannot batch this model: {type(error).__name__}: {str(error).splitlines()[0]}"
    finally:
        for model in models:
            model.zero_grad(set_to_none=True)
    if any(not torch.equal(a, b) for a, b in zip(before, models[0].buffers())):
        return "the forward pass changes buffers"
    with torch.no_grad():
        alone = torch.stack([model(x, y)[1] for model in models])
    if not torch.allclose(packed.detach(), alone, rtol=PROBE_RTOL, atol=0.0):
        return (f"vmapped losses {packed.tolist()} differ from the members' own "
                f"{alone.tolist()} by more than {PROBE_RTOL:g}")
    return None


def run_pack(specs: list[TrainSpec], components: Components, device: str = "cpu",
             settings: DeviceSettings | None = None) -> list[RunResult]:
    """Train runs of one shape as one pack; one ``RunResult`` per spec, in order.

    A pack that cannot be vmapped (``unpackable``) trains its runs one by one instead,
    and says why in each result's provenance.
    """
    specs = list(specs)
    if len(specs) == 1:
        return [run(specs[0], components, device, settings)]
    if len({pack_key(spec) for spec in specs}) != 1:
        raise ValueError("a pack's specs must share a shape (cegbench.plan.specs.pack_key)")
    start = time.perf_counter()
    results = [new_result(spec, device) for spec in specs]
    try:
        shape = Shape.of(specs[0], components, device)
        if len({steps_for(spec, shape.flops.measured) for spec in specs}) != 1:
            reason = "the members train for different numbers of steps"
        else:
            members = [Member.build(spec, shape, components, device, result)
                       for spec, result in zip(specs, results)]
            reason = unpackable(members, shape)
    except Exception as error:  # noqa: BLE001 - set-up failed: each run, alone, reports its own
        reason = f"pack set-up failed: {error_text(error)}"
    if reason is None:
        try:
            train_members(shape, members, VmapForward(members), settings)
        except Exception as error:  # noqa: BLE001 - e.g. out of memory: train them alone
            reason = f"packed training failed: {error_text(error)}"
    if reason is not None:
        return [with_pack(run(spec, components, device, settings), [], reason) for spec in specs]
    share = (time.perf_counter() - start) / len(specs)
    for member in members:
        result = member.result
        result.status = "ok" if member.error is None else "failed"
        result.error = (None if member.error is None else member.error if member.fault
                        else f"diverged: {member.error}")
        result.wall_time_s = share
        result.finished_at = utc_now()
        with_pack(result, [s.run_id for s in specs if s.run_id != result.run_id], None)
    return results


def with_pack(result: RunResult, packed_with: list[str], fallback: str | None) -> RunResult:
    """Record in the result's provenance what it was packed with (``pack`` column, JSON)."""
    result.environment["pack"] = pack_provenance(packed_with, fallback)
    return result


def pack_provenance(packed_with: list[str], fallback: str | None) -> str:
    """``{"size", "packed_with": [run ids], "engine"}``; a fallback gives the reason
    instead of an engine (size 1: the run trained alone)."""
    record = {"size": 1 + len(packed_with), "packed_with": packed_with}
    record.update({"engine": "vmap"} if fallback is None else {"fallback": fallback})
    return json.dumps(record, sort_keys=True)
