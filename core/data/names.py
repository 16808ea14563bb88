"""Dataset names: what each name reads (its token store, prepared on first use where
cegbench can), and token counts written short. Byte-level tokens (vocabulary 256), no
tokenizer download; no torch (``datasets`` turns a store into tensors).

Sources, named by a string:

* ``synthetic`` (or ``synthetic:SEED``) — a deterministic made-up language: a
  vocabulary of random words chained by a sparse random bigram table. Words are
  easy to learn, their order is harder, so loss keeps falling with compute.
* ``enwiki-sample`` — a real English corpus embedded in the package: the article
  texts of a shortened English Wikipedia dump (see ``cegbench/data/corpora/README.md``
  for where it comes from), checked against its pinned sha256 when it is read.
* ``text:PATH`` — a local UTF-8 text file, or every ``*.txt`` file under a folder.
* ``CORPUS:TOKENS`` (e.g. ``fineweb-edu:10B``) — the first TOKENS tokens of a
  downloaded corpus (``cegbench.data.sources``), prepared once with
  ``cegbench data prepare CORPUS --tokens TOKENS``.
* ``store:PATH`` — any token store (``cegbench.data.store``) made by ``cegbench data prepare``.

Every dataset is read from a token store: memory-mapped token files shared by
every process on a machine, never a whole-corpus copy per worker. The first three
sources are prepared into a store under the data folder (``$CEGBENCH_DATA_CACHE``,
else ``~/.cache/cegbench/data``) on first use; downloaded corpora must be prepared
before a run. Every dataset has a fixed held-out validation split (its last 5 %,
at least 4096 tokens) and a content hash of its tokens, recorded with each run.
"""

from __future__ import annotations

import bz2
import hashlib
import io
import re
from importlib import resources
from pathlib import Path
from xml.etree import ElementTree

import numpy as np

from cegbench.data.corpora import CORPORA
from cegbench.data.store import (
    StoreError,
    TokenStore,
    data_dir,
    open_store,
    validation_size,
    write_store,
)

VOCAB_SIZE = 256  # bytes
VALIDATION_FRACTION = 0.05
MIN_VALIDATION_TOKENS = 4096

ENWIKI_FILE = "enwiki-sample.xml.bz2"
ENWIKI_SHA256 = "a53f4648dec40467ebdcbc7a1307eddb51fe6e28e9309f6ebde81ba0d04bea2d"


class DatasetError(ValueError):
    """A dataset name that cannot be resolved, or data that cannot be used."""


def prepared_store(name: str) -> TokenStore:
    """The store a dataset name reads, prepared first where cegbench can (generated and
    embedded data); ``DatasetError`` saying how to get it otherwise (a corpus to download)."""
    try:
        return open_store(store_path(name, make=True))
    except StoreError as error:
        raise DatasetError(f"dataset {name!r}: {error}") from None


def training_tokens(name: str) -> int:
    """Tokens in a dataset's training split, without preparing a downloaded corpus
    (its size is in its name)."""
    corpus = corpus_name(name)
    if corpus is not None and not (store_path(name) / "manifest.json").is_file():
        total = corpus[1]
        return total - validation_size(total, VALIDATION_FRACTION, MIN_VALIDATION_TOKENS)
    return prepared_store(name).manifest["shards"]["train"]["tokens"]


def parse_tokens(text: str) -> int:
    """A token count written as 1500000, 1.5e6, 1500K, 1.5M or 10B."""
    match = re.fullmatch(r"\s*([0-9.]+(?:e[0-9]+)?)\s*([kKmMbBgG]?)\s*", text)
    if not match:
        raise DatasetError(f"{text!r} is not a token count (e.g. 1500000, 1.5M, 10B)")
    scale = {"": 1, "k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9}[match[2].lower()]
    return round(float(match[1]) * scale)


def format_tokens(n: int) -> str:
    """A token count the short way, exactly: 10000000000 → 10B, 1500000 → 1.5M."""
    for unit, scale in (("B", 10**9), ("M", 10**6), ("K", 10**3)):
        if n >= scale and round(float(f"{n / scale:g}") * scale) == n:
            return f"{n / scale:g}{unit}"
    return str(n)


def corpus_name(name: str) -> tuple[str, int] | None:
    """(corpus, tokens) for a ``CORPUS:TOKENS`` name of a downloadable corpus, else None."""
    corpus, _, tokens = name.partition(":")
    if corpus not in CORPORA or not tokens:
        return None
    return corpus, parse_tokens(tokens)


def code_version() -> str:
    """A hash of this module: stores made from generated or embedded data are named
    after it, so a changed generator never reads an old store."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]


def store_path(name: str, make: bool = False) -> Path:
    """The store a dataset name reads; with ``make``, prepared first where cegbench can."""
    if name.startswith("store:"):
        return Path(name[len("store:") :])
    corpus = corpus_name(name)
    if corpus is not None:
        path = data_dir() / f"{corpus[0]}-{format_tokens(corpus[1])}"
        if make and not (path / "manifest.json").is_file():
            raise DatasetError(
                f"dataset {name!r} is not prepared in {data_dir()}: run `cegbench data prepare "
                f"{corpus[0]} --tokens {format_tokens(corpus[1])}` (add `--from FOLDER` to use "
                "files you downloaded yourself; see docs/data.md)")
        return path
    if name == "synthetic" or name.startswith("synthetic:"):
        seed = name.partition(":")[2] or "0"
        if not seed.isdigit():
            raise DatasetError(f"{name!r}: the seed of synthetic:SEED is a whole number")
        make_tokens, source = (lambda: synthetic_tokens(int(seed))), f"synthetic:{seed}"
        path = data_dir() / f"synthetic-{seed}-{code_version()}"
        licence = "generated by cegbench (MIT)"
    elif name == "enwiki-sample":
        make_tokens, source = enwiki_sample_tokens, "enwiki-sample"
        path = data_dir() / f"enwiki-sample-{code_version()}"
        licence = "CC BY-SA 4.0 and GFDL (Wikipedia)"
    elif name.startswith("text:"):
        files = text_files(Path(name[len("text:") :]))
        make_tokens, source = (lambda: text_tokens(files)), name
        stamp = json_key([(str(f.resolve()), f.stat().st_size, f.stat().st_mtime_ns) for f in files])
        path = data_dir() / f"text-{stamp}-{code_version()}"
        licence = "unknown (local files)"
    else:
        raise DatasetError(
            f"Unknown dataset {name!r}. Available: synthetic, synthetic:SEED, enwiki-sample, "
            "text:PATH, store:PATH, CORPUS:TOKENS (CORPUS: fineweb-edu, c4-en)"
        )
    if make and not (path / "manifest.json").is_file():
        tokens = make_tokens()
        prepare_store(path, [tokens], source=source, licence=licence, name=name)
    return path


def json_key(value) -> str:
    return hashlib.sha256(repr(value).encode()).hexdigest()[:16]


def prepare_store(path: Path, chunks, *, source: str, licence: str, name: str | None = None,
                  max_tokens: int | None = None, **origin) -> TokenStore:
    """Write byte tokens into a store with the standard validation split."""
    try:
        return write_store(
            path, chunks, max_tokens=max_tokens, name=name or source, source=source,
            licence=licence, tokenizer="bytes", origin=origin,
            n_validation=lambda total: validation_size(total, VALIDATION_FRACTION,
                                                       MIN_VALIDATION_TOKENS))
    except StoreError as error:
        raise DatasetError(f"dataset {name or source!r}: {error}") from None


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
    raw = resources.files("cegbench.data.corpora").joinpath(ENWIKI_FILE).read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != ENWIKI_SHA256:
        raise DatasetError(
            f"embedded corpus cegbench/data/corpora/{ENWIKI_FILE} has sha256 {digest}, "
            f"expected {ENWIKI_SHA256}: the installation is damaged; reinstall cegbench"
        )
    texts = []
    for _, element in ElementTree.iterparse(io.BytesIO(bz2.decompress(raw))):
        if element.tag.endswith("}text") and element.text:
            texts.append(element.text)
        element.clear()
    return np.frombuffer("\n\n".join(texts).encode("utf-8"), dtype=np.uint8)


def text_files(path: Path) -> list[Path]:
    """A text file, or every ``*.txt`` under a folder (sorted)."""
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(path.rglob("*.txt"))
        if not files:
            raise DatasetError(f"folder {str(path)!r} holds no *.txt files")
        return files
    raise DatasetError(f"text dataset path {str(path)!r} does not exist")


def text_tokens(files: list[Path]) -> np.ndarray:
    """UTF-8 bytes of text files, joined by blank lines."""
    return np.frombuffer(b"\n\n".join(f.read_bytes() for f in files), dtype=np.uint8)
