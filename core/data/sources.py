"""Corpora a token store is prepared from: downloaded ones and local files.

Downloaded corpora (``CORPORA``) are read file by file, in their published order,
from their public Hugging Face hosting, until the store has the tokens asked for;
each file is fetched once into ``DATA/downloads/`` (resumable, checksummed, see
``cegbench.data.download``) and kept for the next store. Documents become UTF-8 bytes
joined by a blank line, the way the embedded Wikipedia sample is, and the store
ends at exactly the number of tokens asked for, so (corpus, revision, tokens)
always makes the same store; its manifest records the revision and every source
file's sha256.

Local files: ``text:PATH`` (UTF-8 text), ``jsonl:PATH`` (``.jsonl`` or ``.jsonl.gz``
/ ``.json.gz``, one JSON object a line) and ``parquet:PATH``, where PATH is a
file or a folder (its files of that kind, sorted); JSON and Parquet documents are
read from the ``text`` field.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from cegbench.data.corpora import CORPORA, Corpus
from cegbench.data.download import DownloadError, describe, fetch, file_sha256
from cegbench.data.names import format_tokens, prepare_store, prepared_store
from cegbench.data.store import TokenStore, data_dir, open_store

SEPARATOR = b"\n\n"  # between documents
CHUNK_BYTES = 1 << 24  # tokens handed to the store writer at a time


LOCAL_KINDS = {"text": (".txt",), "jsonl": (".jsonl", ".jsonl.gz", ".json.gz"),
               "parquet": (".parquet",)}


class PrepareError(Exception):
    """A store cannot be prepared; the message says what to do instead (one line)."""


# -------------------------------------------------------------------------
# reading documents


def documents(path: Path, kind: str, field: str = "text") -> Iterator[str | bytes]:
    """The documents of one file, in order."""
    if kind == "text":
        yield path.read_bytes()
    elif kind == "jsonl":
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                if line.strip():
                    try:
                        yield json.loads(line)[field]
                    except (ValueError, KeyError) as error:
                        raise PrepareError(f"{path}:{number}: no {field!r} field in a JSON "
                                           f"object ({type(error).__name__})") from None
    elif kind == "parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise PrepareError("reading Parquet needs pyarrow: pip install 'cegbench[data]'") \
                from None

        table = pq.ParquetFile(path)
        if field not in table.schema_arrow.names:
            raise PrepareError(f"{path}: no column {field!r} (columns: "
                               f"{', '.join(table.schema_arrow.names)})")
        for batch in table.iter_batches(columns=[field], batch_size=1024):
            yield from (text for text in batch.column(0).to_pylist() if text is not None)
    else:
        raise ValueError(kind)


def byte_chunks(docs: Iterator[str | bytes], limit: int | None = None) -> Iterator[np.ndarray]:
    """Documents as UTF-8 byte tokens joined by ``SEPARATOR``, in chunks; no document is
    read once ``limit`` tokens are out (so no file is fetched that is not needed)."""
    buffer, size, first, total = [], 0, True, 0
    for doc in docs:
        data = doc.encode("utf-8") if isinstance(doc, str) else doc
        if not first:
            buffer.append(SEPARATOR)
        buffer.append(data)
        size += len(data) + len(SEPARATOR)
        total += len(data) + len(SEPARATOR)
        first = False
        if limit is not None and total >= limit:
            break
        if size >= CHUNK_BYTES:
            yield np.frombuffer(b"".join(buffer), dtype=np.uint8)
            buffer, size = [], 0
    if buffer:
        yield np.frombuffer(b"".join(buffer), dtype=np.uint8)


def local_files(path: Path, kind: str) -> list[Path]:
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(f for f in path.rglob("*") if f.name.endswith(LOCAL_KINDS[kind]))
        if files:
            return files
        raise PrepareError(f"folder {str(path)!r} holds no {'/'.join(LOCAL_KINDS[kind])} files")
    raise PrepareError(f"{str(path)!r} does not exist")


# -------------------------------------------------------------------------
# preparing stores


def prepare(source: str, *, tokens: int | None = None, out=None, from_dir=None,
            revision: str = "main", field: str = "text", licence: str | None = None,
            progress: bool = True) -> TokenStore:
    """Prepare a token store from ``source``: a corpus of ``CORPORA`` (``tokens`` required),
    ``text:PATH``, ``jsonl:PATH``, ``parquet:PATH``, ``synthetic[:SEED]`` or
    ``enwiki-sample``. Returns the store (an existing complete one is reused)."""
    if source in CORPORA:
        if tokens is None:
            raise PrepareError(f"say how many tokens of {source} to prepare: --tokens N "
                               "(e.g. 10B; `cegbench data needs --tier gpu` prints a tier's)")
        return prepare_corpus(CORPORA[source], tokens, out=out, from_dir=from_dir,
                              revision=revision, progress=progress)
    kind, _, path = source.partition(":")
    if kind in LOCAL_KINDS and path:
        files = local_files(Path(path), kind)
        out = Path(out) if out else data_dir() / Path(path).name.split(".")[0]
        if (out / "manifest.json").is_file():
            return open_store(out)
        chunks = byte_chunks((doc for f in files for doc in documents(f, kind, field)), tokens)
        return prepare_store(
            out, chunks, source=source, licence=licence or "unknown (local files)",
            max_tokens=tokens, files=[{"file": str(f), "sha256": file_sha256(f)} for f in files])
    if source in ("synthetic", "enwiki-sample") or source.startswith("synthetic:"):
        return prepared_store(source)
    raise PrepareError(f"unknown source {source!r}: one of {', '.join(CORPORA)}, text:PATH, "
                       "jsonl:PATH, parquet:PATH, synthetic[:SEED], enwiki-sample")


def prepare_corpus(corpus: Corpus, tokens: int, *, out=None, from_dir=None,
                   revision: str = "main", progress: bool = True) -> TokenStore:
    """The first ``tokens`` tokens of a downloadable corpus, as a store (by default the one
    the dataset name ``CORPUS:TOKENS`` reads)."""
    out = Path(out) if out else data_dir() / f"{corpus.name}-{format_tokens(tokens)}"
    if (out / "manifest.json").is_file():
        return open_store(out)
    downloads = data_dir() / "downloads" / corpus.repo.replace("/", "--") / revision
    used: list[dict] = []
    resolved = {"revision": revision}

    def source_files() -> Iterator[Path]:
        for file in corpus.files:
            if from_dir is not None:
                path = find_local(Path(from_dir), file)
                if path is None:
                    raise PrepareError(
                        f"{corpus.name}: {file} is not in {str(from_dir)!r} and more tokens are "
                        f"needed; download it from {corpus.url(file, revision)}")
            else:
                url = corpus.url(file, revision)
                try:
                    path = fetch(url, downloads / file, progress=progress)
                except DownloadError as error:
                    raise PrepareError(offline_message(corpus, tokens, error)) from None
            used.append({"file": file, "sha256": file_sha256(path), "bytes": path.stat().st_size})
            yield path

    def chunks():
        return byte_chunks((doc for path in source_files()
                            for doc in documents(path, corpus.format, corpus.field)), tokens)

    if from_dir is None:  # network check first: nothing is written when offline
        try:
            resolved["revision"] = describe(corpus.url(corpus.files[0], revision)).revision \
                or revision
        except DownloadError as error:
            raise PrepareError(offline_message(corpus, tokens, error)) from None
    origin = {"repo": corpus.repo, "homepage": corpus.homepage, "revision": resolved,
              "files": used, "from": str(from_dir) if from_dir else "download"}
    store = prepare_store(out, gather(chunks(), tokens, corpus.name), source=corpus.name,
                          licence=corpus.licence, name=f"{corpus.name}:{format_tokens(tokens)}",
                          max_tokens=tokens, **origin)
    return store


def gather(chunks: Iterator[np.ndarray], tokens: int, name: str) -> Iterator[np.ndarray]:
    """The chunks, checking at the end that there were ``tokens`` of them."""
    total = 0
    for chunk in chunks:
        total += len(chunk)
        yield chunk
        if total >= tokens:
            return
    raise PrepareError(f"{name}: all its files give {total} tokens, fewer than the {tokens} "
                       "asked for")


def find_local(folder: Path, file: str) -> Path | None:
    """A corpus file in a local folder: under its repository path or by its name alone."""
    for candidate in (folder / file, folder / Path(file).name):
        if candidate.is_file():
            return candidate
    return None


def offline_message(corpus: Corpus, tokens: int, error: Exception) -> str:
    first = corpus.url(corpus.files[0], "main")
    return (f"{error}. Without network access, download {corpus.name}'s files yourself "
            f"(first: {first}; then the next ones in order until there are "
            f"{format_tokens(tokens)} tokens) into a folder and run `cegbench data prepare "
            f"{corpus.name} --tokens {format_tokens(tokens)} --from FOLDER`, or prepare your own "
            "files with `cegbench data prepare text:PATH` (or jsonl:PATH, parquet:PATH)")
