"""Named building blocks, looked up by name, one ``Lookup`` per kind.

(A ``Lookup`` is an in-memory table of names; "registry" in cegbench means only the
SQLite database, ``cegbench.registry``.)

Every string in a ``Recipe`` names a component of one kind. Built-in
components are registered by default plugins (``cegbench.models.layers``,
``cegbench.models.gpt``, ``cegbench.optim`` …) through the same hook a
third-party plugin uses. The contract of each kind:

=========== ===================================================================
kind        implementation
=========== ===================================================================
activation  ``nn.Module`` class, no constructor arguments; class attribute
            ``gated`` (True: its input has twice the hidden width, halved).
norm        ``nn.Module`` class taking ``dim``.
position    ``nn.Module`` class taking ``(n_embd, n_head, context)``, with
            ``embed(x) -> x`` (B, T, C) and ``rotate(q, k) -> (q, k)``.
optimizer   object with ``base_lr`` (float, centre of the tuning sweep) and
            ``build(model, lr) -> torch.optim.Optimizer``.
schedule    callable ``(progress in [0, 1]) -> learning-rate multiplier``.
family      a ``cegbench.models.ModelFamily``: builds a model for a recipe
            and width, and gives its analytic FLOPs per token.
allocation  callable ``(budget, tier, family, recipe, vocab_size, components) -> widths``.
=========== ===================================================================
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from types import MappingProxyType
from typing import Generic, TypeVar

KINDS = ("activation", "norm", "position", "optimizer", "schedule", "family", "allocation",
         "attention_kernel")

T = TypeVar("T")


class UnknownName(KeyError):
    """A name that no ``Lookup`` holds; ``str()`` suggests close matches."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return self.args[0]


class Lookup(Generic[T]):
    """Names → objects for one kind, remembering which plugin registered each."""

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}
        self._origins: dict[str, str] = {}

    def register(self, name: str, item: T, origin: str) -> None:
        if name in self._items:
            raise ValueError(
                f"{self.kind} {name!r} is registered twice: by plugin {self._origins[name]!r} "
                f"and by plugin {origin!r}"
            )
        if isinstance(self._items, MappingProxyType):
            raise RuntimeError(f"the {self.kind} names are frozen")
        self._items[name] = item
        self._origins[name] = origin

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            raise UnknownName(self.unknown_message(name)) from None

    def unknown_message(self, name: str) -> str:
        names = sorted(self._items)
        message = f"Unknown {self.kind} {name!r}."
        close = difflib.get_close_matches(name, names, n=3)
        if close:
            message += f" Did you mean: {', '.join(close)}?"
        shown = ", ".join(names[:20]) + (f" … ({len(names)} in all)" if len(names) > 20 else "")
        return f"{message} Available: {shown or 'none'}"

    def origin(self, name: str) -> str:
        return self._origins[name]

    def freeze(self) -> None:
        self._items = MappingProxyType(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def items(self):
        return sorted(self._items.items())


class Components:
    """One ``Lookup`` per component kind."""

    def __init__(self):
        self.lookups = {kind: Lookup(kind) for kind in KINDS}

    def get(self, kind: str, name: str):
        return self.lookups[kind].get(name)

    def __getitem__(self, kind: str) -> Lookup:
        return self.lookups[kind]

    def freeze(self) -> None:
        for lookup in self.lookups.values():
            lookup.freeze()
