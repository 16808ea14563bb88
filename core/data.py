"""Token datasets: byte-level tokens (vocabulary 256), no tokenizer download.

Sources, named by a string:

* ``synthetic`` (or ``synthetic:SEED``) — a deterministic made-up language: a
  vocabulary of random words chained by a sparse random bigram table. Words are
  easy to learn, their order is harder, so loss keeps falling with compute.
* ``enwiki-sample`` — a real English corpus embedded in the package: the article
  texts of a shortened English Wikipedia dump (see ``cegbench/corpora/README.md``
  for where it comes from), checked against its pinned sha256 on every load.
* ``text:PATH`` — a local UTF-8 text file, or every ``*.txt`` file under a folder.

Every dataset has a fixed held-out validation split (its last 5 %, at least
4096 tokens) and a content hash of its tokens, recorded with each run.

Making ``synthetic`` or ``enwiki-sample`` takes seconds; with
``CEGBENCH_DATA_CACHE=DIR`` their tokens are saved once to ``DIR`` and every
later process (e.g. each Ray or Slurm worker) loads them from there instead.
"""

from __future__ import annotations

import bz2
import functools
import hashlib
import io
import os
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import torch

VOCAB_SIZE = 256  # bytes
VALIDATION_FRACTION = 0.05
MIN_VALIDATION_TOKENS = 4096

ENWIKI_FILE = "enwiki-sample.xml.bz2"
ENWIKI_SHA256 = "a53f4648dec40467ebdcbc7a1307eddb51fe6e28e9309f6ebde81ba0d04bea2d"


class DatasetError(ValueError):
    """A dataset name, file or content that cannot be used."""


@dataclass(frozen=True)
class TokenDataset:
    name: str
    train: torch.Tensor  # (N,) uint8
    val: torch.Tensor  # (M,) uint8
    content_hash: str  # sha256 of all tokens, train then validation
    vocab_size: int = VOCAB_SIZE

    def batch(self, batch_size: int, context: int, generator: torch.Generator):
        """A random batch of training windows: inputs (B, T) and next-byte targets (B, T)."""
        starts = torch.randint(len(self.train) - context - 1, (batch_size,), generator=generator)
        return self._windows(self.train, starts, context)

    def validation_batches(self, n_tokens: int, context: int, batch_size: int):
        """The fixed validation windows, evenly spaced over the validation split."""
        n_windows = max(1, n_tokens // context)
        last_start = len(self.val) - context - 1
        starts = torch.linspace(0, last_start, n_windows).long()
        for i in range(0, n_windows, batch_size):
            yield self._windows(self.val, starts[i : i + batch_size], context)

    @staticmethod
    def _windows(data: torch.Tensor, starts: torch.Tensor, context: int):
        offsets = torch.arange(context + 1)
        chunk = data[starts[:, None] + offsets].long()  # (B, T+1)
        return chunk[:, :-1].contiguous(), chunk[:, 1:].contiguous()


@functools.lru_cache(maxsize=4)
def load_dataset(name: str) -> TokenDataset:
    """Load a dataset by name (cached per process)."""
    if name == "synthetic" or name.startswith("synthetic:"):
        seed = int(name.partition(":")[2] or 0)
        tokens = cached(name, lambda: synthetic_tokens(seed))
    elif name == "enwiki-sample":
        tokens = cached(name, enwiki_sample_tokens)
    elif name.startswith("text:"):
        tokens = text_tokens(Path(name[len("text:") :]))
    else:
        raise DatasetError(
            f"Unknown dataset {name!r}. Available: synthetic, synthetic:SEED, "
            "enwiki-sample, text:PATH"
        )
    return split(name, tokens)


def cached(name: str, make) -> np.ndarray:
    """``make()``, or its tokens saved under ``$CEGBENCH_DATA_CACHE`` by an earlier process."""
    folder = os.environ.get("CEGBENCH_DATA_CACHE")
    if not folder:
        return make()
    path = Path(folder) / f"{name.replace(':', '-')}.npy"
    if path.is_file():
        return np.load(path)
    tokens = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.partial.npy")
    np.save(partial, tokens)
    os.replace(partial, path)  # whole or not at all: workers may race to write it
    return tokens


def split(name: str, tokens: np.ndarray) -> TokenDataset:
    """Hold out the last 5 % (at least MIN_VALIDATION_TOKENS) for validation."""
    n_val = max(int(len(tokens) * VALIDATION_FRACTION), MIN_VALIDATION_TOKENS)
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


def synthetic_tokens(seed: int = 0, n_words: int = 400_000, vocabulary: int = 1500) -> np.ndarray:
    """Text of a made-up language, identical for a given seed on every machine."""
    rng = np.random.default_rng(seed)
    letters = np.frombuffer(b"etaoinshrdlcumwfgypbvkjxqz", dtype=np.uint8)
    letter_p = 1.0 / np.arange(1, len(letters) + 1)
    letter_p /= letter_p.sum()
    lengths = rng.integers(2, 9, size=vocabulary)
    words = [rng.choice(letters, size=n, p=letter_p).tobytes() for n in lengths]
    # each word may be followed by 6 others, chosen with Zipf-like popularity
    popularity = 1.0 / np.arange(1, vocabulary + 1) ** 0.8
    popularity /= popularity.sum()
    successors = rng.choice(vocabulary, size=(vocabulary, 6), p=popularity)
    weights = rng.dirichlet(np.ones(6) * 0.5, size=vocabulary).cumsum(axis=1)
    draws = rng.random(n_words)
    sentence_ends = rng.random(n_words) < 0.08
    out, word = [], 0
    for i in range(n_words):
        out.append(words[word])
        out.append(b". " if sentence_ends[i] else b" ")
        word = successors[word, min(np.searchsorted(weights[word], draws[i]), 5)]
    return np.frombuffer(b"".join(out), dtype=np.uint8)


def enwiki_sample_tokens() -> np.ndarray:
    """The article texts of the embedded Wikipedia sample, as UTF-8 bytes."""
    raw = resources.files("cegbench.corpora").joinpath(ENWIKI_FILE).read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != ENWIKI_SHA256:
        raise DatasetError(
            f"embedded corpus cegbench/corpora/{ENWIKI_FILE} has sha256 {digest}, "
            f"expected {ENWIKI_SHA256}: the installation is damaged; reinstall cegbench"
        )
    texts = []
    for _, element in ElementTree.iterparse(io.BytesIO(bz2.decompress(raw))):
        if element.tag.endswith("}text") and element.text:
            texts.append(element.text)
        element.clear()
    return np.frombuffer("\n\n".join(texts).encode("utf-8"), dtype=np.uint8)


def text_tokens(path: Path) -> np.ndarray:
    """UTF-8 bytes of a text file, or of every ``*.txt`` under a folder (sorted)."""
    if path.is_file():
        files = [path]
    elif path.is_dir():
        files = sorted(path.rglob("*.txt"))
        if not files:
            raise DatasetError(f"folder {str(path)!r} holds no *.txt files")
    else:
        raise DatasetError(f"text dataset path {str(path)!r} does not exist")
    return np.frombuffer(b"\n\n".join(f.read_bytes() for f in files), dtype=np.uint8)
