"""Each component kind's contract, checked when a plugin loads.

A component that breaks its contract (an optimizer without ``base_lr``, an
activation without ``gated``, a class where an object is expected …) would
otherwise load silently and stop a sweep hours later with an AttributeError.
``contract_error`` finds such faults up front, without building anything: it
looks at types, attributes and call signatures, and calls only a schedule (a
pure function of progress) on three points. Constructors are never called at
load: they may be costly or have side effects, and every worker loads the plugins.
What a component returns while training is checked where it is used: a schedule's
multiplier at every step (``multiplier_problem``), a family's losses and parameter
count by the trainer; a family's analytic formulas at load, by ``family_formula_error``,
on the arms that use it.

The contracts are documented in docs/plugins.md ("Component contracts").
"""

from __future__ import annotations

import inspect
import math
import numbers
import re

# lowercase letters, digits and ``-_.``; no spaces or markup, since names appear in
# commands, file names, URLs and HTML
COMPONENT_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")

# kind -> (is a class?, constructor or call arguments, attributes that must be callable)
_MODULE_CLASSES = {
    "activation": ((), ()),
    "norm": (("dim",), ()),
    "position": (("n_embd", "n_head", "context"), ("embed", "rotate")),
    "attention_kernel": ((), ("forward",)),
}
_FUNCTIONS = {
    "schedule": ("progress",),
    "allocation": ("budget", "tier", "family", "recipe", "vocab_size", "components"),
}


def contract_error(kind: str, implementation) -> str | None:
    """What is wrong with ``implementation`` as a component of ``kind``, or None.

    The message names the field at fault, e.g. ``field 'implementation': an
    optimizer needs 'base_lr' …``.
    """
    check = {**{k: _module_class for k in _MODULE_CLASSES},
             **{k: _function for k in _FUNCTIONS},
             "optimizer": _optimizer, "family": _family}[kind]
    problem = check(kind, implementation)
    return None if problem is None else f"field 'implementation': {problem}"


def _name(obj) -> str:
    return getattr(obj, "__qualname__", None) or type(obj).__name__


def _binds(callable_, args: tuple[str, ...]) -> str | None:
    """None if ``callable_`` accepts exactly these positional arguments, else why not."""
    try:
        signature = inspect.signature(callable_)
    except (TypeError, ValueError):  # a builtin without a signature: trust it
        return None
    try:
        signature.bind(*args)
    except TypeError as error:
        wanted = f"({', '.join(args)})" if args else "no arguments"
        return f"must accept {wanted}, but its signature is {signature}: {error}"
    return None


def _module_class(kind: str, implementation) -> str | None:
    import torch.nn as nn

    args, methods = _MODULE_CLASSES[kind]
    article = "an" if kind[0] in "aeiou" else "a"
    if not inspect.isclass(implementation):
        return (f"{article} {kind} must be an nn.Module class (the model builds instances), "
                f"got the {type(implementation).__name__} object {_short(implementation)}; "
                f"register the class itself")
    if not issubclass(implementation, nn.Module):
        return (f"{article} {kind} must be a subclass of torch.nn.Module, got class "
                f"{_name(implementation)}")
    # Static checks only: a plugin's constructor may be costly or have side effects, and
    # every worker process loads the plugins too.
    if implementation.__init__ is nn.Module.__init__:  # accepts *args but uses none
        if args:
            return (f"{article} {kind} class must take ({', '.join(args)}) when built, but "
                    f"{_name(implementation)} defines no __init__, so it takes no arguments")
    else:
        problem = _binds(implementation, args)
        if problem:
            return f"{article} {kind} class {problem}"
    if kind == "activation" and not isinstance(getattr(implementation, "gated", None), bool):
        return (f"an activation class needs a class attribute 'gated' (bool: True when its "
                f"input has twice the hidden width, as SwiGLU), and {_name(implementation)} "
                f"{'has none' if not hasattr(implementation, 'gated') else 'has a non-bool one'}")
    for method in methods:
        if not callable(getattr(implementation, method, None)) or (
                method == "forward" and implementation.forward is nn.Module.forward):
            return (f"{article} {kind} class needs a method {method!r}; "
                    f"{_name(implementation)} has none")
    return None


def _function(kind: str, implementation) -> str | None:
    article = "an" if kind[0] in "aeiou" else "a"
    if inspect.isclass(implementation) or not callable(implementation):
        got = (f"the class {_name(implementation)}" if inspect.isclass(implementation)
               else _short(implementation))
        return f"{article} {kind} must be a function (or another callable object), got {got}"
    problem = _binds(implementation, _FUNCTIONS[kind])
    if problem:
        return f"{article} {kind} {problem}"
    if kind == "schedule":
        for progress in (0.0, 0.5, 1.0):
            try:
                value = implementation(progress)
            except Exception as error:
                return f"the schedule raised {type(error).__name__} at progress {progress}: {error}"
            if multiplier_problem(value):
                return (f"a schedule must return a finite multiplier >= 0, but at progress "
                        f"{progress} it returned {_short(value)}")
    return None


def finite_real(value) -> bool:
    """A real number (not a bool) within float range and finite: an int too large for a
    float (``10**400``) is not, where ``math.isfinite`` would raise OverflowError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    try:
        return math.isfinite(float(value))
    except (OverflowError, ValueError, TypeError):
        return False


def multiplier_problem(value) -> str | None:
    """What is wrong with a schedule's return value (a finite real >= 0), or None."""
    if not finite_real(value):
        return "not a finite number"
    if value < 0:
        return "negative"
    return None


def family_formula_error(family, recipe, width: int, vocab_size: int, context: int,
                         components) -> str | None:
    """What is wrong with a family's analytic formulas for one recipe and width: FLOPs per
    token must be a finite number > 0 (a budget is divided by it), the parameter count an
    integer >= 1 (allocation divides by it and takes logs); or None."""
    for method in ("flops_per_token", "n_params"):
        try:
            value = getattr(family, method)(recipe, width, vocab_size, context, components)
        except Exception as error:  # noqa: BLE001 - a plugin's formula may raise anything
            return f"{method}() raised {type(error).__name__} at width {width}: {error}"
        if method == "flops_per_token":
            ok, wanted = finite_real(value) and value > 0, "a finite number > 0"
        else:
            ok, wanted = finite_real(value) and value >= 1 and value == int(value), "an integer >= 1"
        if not ok:
            return f"{method}() must return {wanted}, but at width {width} it returned {_short(value)}"
    return None


def _optimizer(kind: str, implementation) -> str | None:
    if inspect.isclass(implementation):
        return (f"an optimizer must be an object (an instance), got the class "
                f"{_name(implementation)}; register {_name(implementation)}() instead")
    base_lr = getattr(implementation, "base_lr", None)
    if base_lr is None:
        return (f"an optimizer needs 'base_lr' (a float: the centre of the learning-rate "
                f"tuning grid), and {_short(implementation)} has none")
    if not finite_real(base_lr) or base_lr <= 0:
        return f"an optimizer's 'base_lr' must be a positive finite number, got {_short(base_lr)}"
    build = getattr(implementation, "build", None)
    if not callable(build):
        return (f"an optimizer needs a method 'build(model, lr) -> torch.optim.Optimizer', "
                f"and {_short(implementation)} has none")
    problem = _binds(build, ("model", "lr"))
    return f"an optimizer's build {problem}" if problem else None


def _family(kind: str, implementation) -> str | None:
    from cegbench.models import ModelFamily

    if inspect.isclass(implementation):
        return (f"a family must be a cegbench.models.ModelFamily object, got the class "
                f"{_name(implementation)}; register {_name(implementation)}() instead")
    if not isinstance(implementation, ModelFamily):
        return (f"a family must be a cegbench.models.ModelFamily object, got "
                f"{_short(implementation)}")
    for method in ("depth", "build", "n_params", "flops_per_token"):
        if getattr(type(implementation), method) is getattr(ModelFamily, method):
            return (f"a family must implement {method}(); {type(implementation).__name__} "
                    "inherits ModelFamily's, which raises NotImplementedError")
    return None


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
