"""Token datasets: a dataset's two splits as tensors over its token store's read-only
memory maps (``load_dataset``), and windows of them for training and evaluation.

What a dataset name reads, and how its store is prepared, is ``cegbench.data.names``.
"""

from __future__ import annotations

import functools
import hashlib
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from cegbench.data.names import (
    MIN_VALIDATION_TOKENS,
    VALIDATION_FRACTION,
    VOCAB_SIZE,
    DatasetError,
    prepared_store,
)
from cegbench.data.store import TokenStore, validation_size


@dataclass(frozen=True)
class TokenDataset:
    """A dataset's two splits as memory-mapped token tensors.

    ``train`` and ``val`` are ``torch.from_numpy`` views of the store's read-only memory
    maps: no copy, one page cache shared by every process on the machine. A trainer that
    keeps the tokens on its device copies ``train_tokens`` there once, draws starts
    with ``sample_starts`` and gathers them itself; ``batch`` does both on the CPU.
    """

    name: str
    train: torch.Tensor  # (N,) token ids (uint8 bytes), memory-mapped
    val: torch.Tensor  # (M,) token ids, memory-mapped
    content_hash: str  # sha256 of all tokens, train then validation
    vocab_size: int = VOCAB_SIZE
    store: Path | None = None  # the token store it is read from

    @property
    def train_tokens(self) -> torch.Tensor:
        """The training split, (N,), memory-mapped: ``.to(device)`` puts it on a GPU once."""
        return self.train

    def sample_starts(self, batch_size: int, context: int, generator: torch.Generator):
        """Start positions of a random batch of training windows, (B,) int64."""
        return torch.randint(len(self.train) - context - 1, (batch_size,), generator=generator)

    def batch(self, batch_size: int, context: int, generator: torch.Generator):
        """A random batch of training windows: inputs (B, T) and next-token targets (B, T)."""
        return self.windows(self.sample_starts(batch_size, context, generator), context)

    def windows(self, starts: torch.Tensor, context: int, split: str = "train"):
        """The windows starting at ``starts`` (B,): inputs (B, T) and targets (B, T), int64.
        A trainer gathering on its device calls ``gather_windows(device_tokens, starts, T)``
        with the same starts and gets the same windows."""
        return gather_windows(self.train if split == "train" else self.val, starts, context)

    def validation_batches(self, n_tokens: int, context: int, batch_size: int):
        """The fixed validation windows, evenly spaced over the validation split."""
        n_windows = max(1, n_tokens // context)
        last_start = len(self.val) - context - 1
        starts = torch.linspace(0, last_start, n_windows).long()
        for i in range(0, n_windows, batch_size):
            yield self.windows(starts[i : i + batch_size], context, split="val")

    def epochs(self, tokens: int) -> float:
        """How many times ``tokens`` training tokens go over the training split."""
        return tokens / len(self.train)

    def unigram_loss(self, n_tokens: int, context: int) -> float:
        """Cross-entropy (nats per token) on the held-out windows ``validation_batches``
        evaluates of a model that knows only the training split's token frequencies:
        the loss a run that learned nothing else ends at (``cegbench.learning``)."""
        return _unigram_loss(self, n_tokens, context)


_frequencies: dict[str, np.ndarray] = {}


def _unigram_loss(dataset: TokenDataset, n_tokens: int, context: int) -> float:
    if dataset.content_hash not in _frequencies:  # one pass over the training split per process
        counts = np.bincount(dataset.train.numpy(), minlength=dataset.vocab_size).astype(float)
        _frequencies[dataset.content_hash] = counts / counts.sum()
    frequencies = _frequencies[dataset.content_hash]
    targets = torch.cat([y.flatten() for _, y in dataset.validation_batches(n_tokens, context, 64)]).numpy()
    with np.errstate(divide="ignore"):
        return float(-np.log(frequencies[targets]).mean())


def gather_windows(tokens: torch.Tensor, starts: torch.Tensor, context: int):
    """Inputs and next-token targets of the windows of ``tokens`` at ``starts``; works on
    any device the tensors share."""
    offsets = torch.arange(context + 1, device=starts.device)
    chunk = tokens[starts[:, None] + offsets].long()  # (B, T+1)
    return chunk[:, :-1].contiguous(), chunk[:, 1:].contiguous()


@functools.lru_cache(maxsize=4)
def load_dataset(name: str) -> TokenDataset:
    """Load a dataset by name (cached per process), preparing its store on first use."""
    return from_store(name, prepared_store(name))


def from_store(name: str, store: TokenStore) -> TokenDataset:
    """The store's splits as tensors over its read-only memory maps (never write into them)."""
    with warnings.catch_warnings():  # torch warns that the arrays are not writable: by design
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        train = torch.from_numpy(store.tokens("train"))
        val = torch.from_numpy(store.tokens("validation"))
    return TokenDataset(
        name=name,
        train=train,
        val=val,
        content_hash=store.content_hash,
        vocab_size=store.vocab_size,
        store=store.path,
    )


















def split(name: str, tokens: np.ndarray) -> TokenDataset:
    """An in-memory dataset (no store): the last 5 % (at least MIN_VALIDATION_TOKENS) held
    out. The layout every store has; kept for tests and benchmarks."""
    n_val = validation_size(len(tokens), VALIDATION_FRACTION, MIN_VALIDATION_TOKENS)
    if len(tokens) < 2 * n_val:
        raise DatasetError(
            f"dataset {name!r} has {len(tokens)} tokens: too few for a training split "
            f"and a validation split of {n_val} (need at least {2 * n_val})"
        )
    data = torch.from_numpy(np.array(tokens, dtype=np.uint8))  # a writable copy
    return TokenDataset(
        name=name,
        train=data[:-n_val],
        val=data[-n_val:],
        content_hash=hashlib.sha256(data.numpy().tobytes()).hexdigest(),
    )








