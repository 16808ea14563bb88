"""Token stores: a prepared corpus as memory-mapped token files plus a manifest.

A store is a folder::

    manifest.json    source, licence, tokenizer, dtype, token counts, sha256 per shard,
                     the content hash, and how the store was made (source files, revision)
    train.bin        the training split: tokens, raw little-endian (uint8 bytes, or uint16)
    validation.bin   the held-out split

Each split is one shard, one contiguous file, so a window of the training split is
one slice of one memory map and a device-resident copy is one tensor. The content
hash is the sha256 of all tokens, training then validation (for byte tokens the same
hash ``cegbench.data`` recorded before stores existed, so recorded runs keep theirs).

Writes are atomic: a store is written into a temporary folder beside its destination
and renamed into place when complete, so a reader sees a whole store or none, and
workers racing to make one keep the first that lands. Opening a store checks its
manifest and file sizes (cheap); ``verify_store`` re-hashes every shard.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

STORE_FORMAT = 1
MANIFEST = "manifest.json"
SPLITS = {"train": "train.bin", "validation": "validation.bin"}
HASH_BLOCK = 1 << 24  # bytes hashed at a time


class StoreError(Exception):
    """A store is missing, incomplete or does not match its manifest."""


def data_dir() -> Path:
    """Where stores live: ``$CEGBENCH_DATA_CACHE``, else ``~/.cache/cegbench/data``."""
    folder = os.environ.get("CEGBENCH_DATA_CACHE")
    if folder:
        return Path(folder)
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "cegbench" / "data"


@dataclass(frozen=True)
class TokenStore:
    path: Path
    manifest: dict

    @property
    def content_hash(self) -> str:
        return self.manifest["content_hash"]

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.manifest["dtype"])

    @property
    def vocab_size(self) -> int:
        return self.manifest["vocab_size"]

    def tokens(self, split: str) -> np.memmap:
        """A split's tokens, memory-mapped read-only: pages are read from the file on demand
        and shared by every process mapping it (a read-only mapping also costs no memory
        commit, however many workers map a 10 GB store)."""
        n = self.manifest["shards"][split]["tokens"]
        return np.memmap(self.path / SPLITS[split], dtype=self.dtype, mode="r", shape=(n,))


def open_store(path) -> TokenStore:
    """A store's manifest, checked against its files' sizes."""
    path = Path(path)
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise StoreError(f"{str(path)!r} is not a token store (no {MANIFEST})")
    try:
        manifest = json.loads(manifest_path.read_text())
    except ValueError as error:
        raise StoreError(f"{manifest_path}: not valid JSON ({error})") from None
    if manifest.get("format") != STORE_FORMAT:
        raise StoreError(f"{manifest_path}: store format {manifest.get('format')!r}, this "
                         f"cegbench reads format {STORE_FORMAT}: prepare the store again")
    itemsize = np.dtype(manifest["dtype"]).itemsize
    for split, file in SPLITS.items():
        expected = manifest["shards"][split]["tokens"] * itemsize
        actual = (path / file).stat().st_size if (path / file).is_file() else None
        if actual != expected:
            raise StoreError(f"{path / file}: {actual} bytes, the manifest says {expected}: "
                             "the store is damaged; delete it and prepare it again")
    return TokenStore(path, manifest)


def verify_store(path) -> TokenStore:
    """``open_store``, then every shard's sha256 and the content hash re-computed."""
    store = open_store(path)
    whole = hashlib.sha256()
    for split, file in SPLITS.items():
        digest = hashlib.sha256()
        with open(store.path / file, "rb") as f:
            while block := f.read(HASH_BLOCK):
                digest.update(block)
                whole.update(block)
        if digest.hexdigest() != store.manifest["shards"][split]["sha256"]:
            raise StoreError(f"{store.path / file}: sha256 {digest.hexdigest()} differs from the "
                             "manifest's: the store is damaged; delete it and prepare it again")
    if whole.hexdigest() != store.content_hash:
        raise StoreError(f"{store.path}: content hash differs from the manifest's")
    return store


def validation_size(n_tokens: int, fraction: float, minimum: int) -> int:
    """Tokens held out for validation: the last ``fraction`` of the corpus, at least ``minimum``."""
    return max(int(n_tokens * fraction), minimum)


def write_store(path, chunks: Iterable[np.ndarray], *, n_validation, dtype="uint8",
                vocab_size: int = 256, max_tokens: int | None = None, **description) -> TokenStore:
    """Write a store from token chunks (streamed: the corpus is never whole in memory).

    ``n_validation(total)`` says how many of the last tokens are held out. At most
    ``max_tokens`` are kept. ``description`` (source, licence, tokenizer, origin…) goes
    into the manifest as is. If ``path`` already holds a store (another process got
    there first), that store is returned and this one discarded.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.parent / f".{path.name}.partial-{os.getpid()}"
    shutil.rmtree(temp, ignore_errors=True)
    temp.mkdir()
    try:
        dtype = np.dtype(dtype)
        total = 0
        with open(temp / SPLITS["train"], "wb") as out:
            for chunk in chunks:
                chunk = np.asarray(chunk, dtype=dtype)
                if max_tokens is not None:
                    chunk = chunk[: max_tokens - total]
                out.write(chunk.tobytes())
                total += len(chunk)
                if max_tokens is not None and total >= max_tokens:
                    break
        n_val = n_validation(total)
        if n_val <= 0 or total < 2 * n_val:
            raise StoreError(f"{total} tokens: too few for a training split and a validation "
                             f"split of {n_val} (need at least {2 * max(n_val, 1)})")
        # the last n_val tokens move to their own file; the training file is cut short
        train_file, val_file = temp / SPLITS["train"], temp / SPLITS["validation"]
        n_train = total - n_val
        with open(train_file, "rb") as f:
            f.seek(n_train * dtype.itemsize)
            val_file.write_bytes(f.read())
        os.truncate(train_file, n_train * dtype.itemsize)
        shards, whole = {}, hashlib.sha256()
        for split, file in SPLITS.items():
            digest = hashlib.sha256()
            with open(temp / file, "rb") as f:
                while block := f.read(HASH_BLOCK):
                    digest.update(block)
                    whole.update(block)
            shards[split] = {"file": file, "tokens": n_train if split == "train" else n_val,
                             "sha256": digest.hexdigest()}
        manifest = {"format": STORE_FORMAT, **description, "dtype": dtype.name,
                    "vocab_size": vocab_size, "tokens": total, "shards": shards,
                    "content_hash": whole.hexdigest()}
        (temp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        try:
            os.rename(temp, path)  # whole or not at all
        except OSError:
            if not (path / MANIFEST).is_file():
                raise
            shutil.rmtree(temp, ignore_errors=True)  # another process made it first
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return open_store(path)
