"""Token stores, corpora and repetition accounting, all offline: the corpus
files are small Parquet and JSONL.gz files made here, served from 127.0.0.1."""

import gzip
import hashlib
import http.server
import json
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from click.testing import CliRunner

from cegbench.cli.main import cli
from cegbench.data import sources
from cegbench.data.datasets import from_store, load_dataset, split
from cegbench.data.download import DownloadError, fetch
from cegbench.data.names import DatasetError, store_path
from cegbench.data.store import StoreError, open_store, verify_store, write_store
from cegbench.plan.cells import RepetitionError, guard_repetition, plan_cells
from cegbench.tiers import TIERS

DOCS = [f"Document {i}: " + "the quick brown fox jumps over the lazy dog. " * (20 + i % 7)
        for i in range(300)]


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    monkeypatch.setenv("CEGBENCH_DATA_CACHE", str(folder))
    return folder


def write_parquet(path: Path, docs):
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"id": list(range(len(docs))), "text": docs}), path)


def write_jsonl_gz(path: Path, docs):
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as f:
        for doc in docs:
            f.write(json.dumps({"text": doc, "url": "x"}) + "\n")


def expected_bytes(docs) -> bytes:
    return b"\n\n".join(d.encode() for d in docs)


class RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files with Range support and Hugging Face's X-Linked-* headers."""

    requests: list = []

    def log_message(self, *args):
        pass

    def send_head(self):
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            self.send_error(404)
            return None
        data = path.read_bytes()
        start = 0
        if self.headers.get("Range"):
            start = int(self.headers["Range"].split("=")[1].rstrip("-"))
        type(self).requests.append((self.command, self.path, start))
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(data) - start))
        self.send_header("X-Linked-Etag", f'"{hashlib.sha256(data).hexdigest()}"')
        self.send_header("X-Linked-Size", str(len(data)))
        self.send_header("X-Repo-Commit", "0123456789abcdef")
        self.end_headers()
        import io
        return io.BytesIO(data[start:])


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "remote"
    root.mkdir()
    RangeHandler.requests = []
    handler = lambda *a, **k: RangeHandler(*a, directory=str(root), **k)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def local_corpora(server, monkeypatch):
    """fineweb-edu and c4-en, three small files each, served locally."""
    root, base = server
    for name, corpus in sources.CORPORA.items():
        files = tuple(corpus.files[:3])
        for i, file in enumerate(files):
            docs = DOCS[i * 100:(i + 1) * 100]
            (write_parquet if corpus.format == "parquet" else write_jsonl_gz)(root / file, docs)
        monkeypatch.setitem(sources.CORPORA, name, replace(corpus, files=files))
    monkeypatch.setattr(sources.Corpus, "url", lambda self, file, revision: f"{base}/{file}")
    return root


def test_store_is_memory_mapped_and_batches_match_the_in_memory_dataset(data_dir):
    tokens = np.frombuffer(expected_bytes(DOCS), dtype=np.uint8)
    memory = split("demo", tokens)
    write_store(data_dir / "demo", [tokens[:5000], tokens[5000:]],
                n_validation=lambda n: len(memory.val), source="test")
    store = from_store("demo", open_store(store_path(f"store:{data_dir / 'demo'}")))
    assert store.store == data_dir / "demo" and not store.train.numpy().flags.owndata
    assert store.content_hash == memory.content_hash
    for seed in range(3):  # the same generator gives exactly the windows of before
        a = memory.batch(8, 32, torch.Generator().manual_seed(seed))
        b = store.batch(8, 32, torch.Generator().manual_seed(seed))
        assert all((x == y).all() for x, y in zip(a, b))
    starts = store.sample_starts(4, 16, torch.Generator().manual_seed(0))
    x, y = store.windows(starts, 16)
    assert (x[:, 1:] == y[:, :-1]).all() and store.train_tokens is store.train
    assert all((v[0] == w[0]).all() for v, w in zip(memory.validation_batches(320, 16, 4),
                                                    store.validation_batches(320, 16, 4)))
    assert store.epochs(len(store.train) * 2) == 2.0


def test_store_writes_are_atomic_and_checked(data_dir):
    def broken():
        yield np.zeros(10_000, dtype=np.uint8)
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_store(data_dir / "s", broken(), n_validation=lambda n: 4096, source="t")
    assert not data_dir.exists() or list(data_dir.iterdir()) == []  # nothing half-written
    store = write_store(data_dir / "s", [np.arange(20_000) % 251], n_validation=lambda n: 4096,
                        source="t")
    assert store.manifest["shards"]["validation"]["tokens"] == 4096
    assert verify_store(store.path).content_hash == store.content_hash
    with open(store.path / "train.bin", "r+b") as f:
        f.write(b"\xff")  # same size, other content
    with pytest.raises(StoreError, match="sha256"):
        verify_store(store.path)
    (store.path / "validation.bin").write_bytes(b"short")
    with pytest.raises(StoreError, match="damaged"):
        open_store(store.path)


def test_embedded_datasets_are_read_from_a_store_in_the_data_folder(data_dir):
    data = load_dataset("synthetic:3")
    assert data.store.parent == data_dir and (data.store / "manifest.json").is_file()
    whole = torch.cat([data.train, data.val]).numpy().tobytes()
    assert data.content_hash == hashlib.sha256(whole).hexdigest()  # as recorded before stores


@pytest.mark.parametrize("kind, writer, name", [
    ("parquet", write_parquet, "docs.parquet"),
    ("jsonl", write_jsonl_gz, "docs.jsonl.gz"),
])
def test_prepare_local_files(tmp_path, data_dir, kind, writer, name):
    writer(tmp_path / "in" / name, DOCS)
    result = CliRunner().invoke(cli, ["data", "prepare", f"{kind}:{tmp_path / 'in'}",
                                      "--out", str(tmp_path / "store")])
    assert result.exit_code == 0, result.output
    store = open_store(tmp_path / "store")
    data = load_dataset(f"store:{tmp_path / 'store'}")
    everything = torch.cat([data.train, data.val]).numpy().tobytes()
    assert everything == expected_bytes(DOCS)
    assert store.manifest["tokenizer"] == "bytes" and store.manifest["source"].startswith(kind)
    assert store.manifest["origin"]["files"][0]["sha256"]


def test_download_resumes_and_checks_sha256(server, tmp_path):
    root, base = server
    payload = bytes(range(256)) * 400
    (root / "f.bin").write_bytes(payload)
    dest = tmp_path / "dl" / "f.bin"
    dest.parent.mkdir()
    (tmp_path / "dl" / "f.bin.partial").write_bytes(payload[:1000])  # an interrupted download
    fetch(f"{base}/f.bin", dest, progress=False)
    assert dest.read_bytes() == payload
    assert ("GET", "/f.bin", 1000) in RangeHandler.requests  # resumed, not restarted
    (tmp_path / "dl" / "g.bin.partial").write_bytes(b"\x00" * 1000)  # a corrupt partial file
    with pytest.raises(DownloadError, match="sha256"):
        fetch(f"{base}/f.bin", tmp_path / "dl" / "g.bin", progress=False)
    assert not (tmp_path / "dl" / "g.bin.partial").exists()


@pytest.mark.parametrize("corpus", ["fineweb-edu", "c4-en"])
def test_prepare_downloaded_corpus(local_corpora, data_dir, corpus):
    n = len(expected_bytes(DOCS[:150]))  # needs the first two files, not the third
    result = CliRunner().invoke(cli, ["data", "prepare", corpus, "--tokens", str(n)])
    assert result.exit_code == 0, result.output
    data = load_dataset(f"{corpus}:{n}")
    assert torch.cat([data.train, data.val]).numpy().tobytes() == expected_bytes(DOCS)[:n]
    manifest = open_store(data.store).manifest
    assert [f["file"] for f in manifest["origin"]["files"]] == list(
        sources.CORPORA[corpus].files[:2])
    assert manifest["origin"]["revision"]["revision"] == "0123456789abcdef"
    assert manifest["tokens"] == n and "ODC-By" in manifest["licence"]
    # downloaded once: a second store of the same corpus reads the kept files
    RangeHandler.requests.clear()
    assert CliRunner().invoke(cli, ["data", "prepare", corpus, "--tokens", "10000"]).exit_code == 0
    assert not [r for r in RangeHandler.requests if r[0] == "GET"]


def test_prepare_from_local_folder_and_offline_message(local_corpora, data_dir, monkeypatch):
    def offline(url):
        raise DownloadError("cannot reach huggingface.co: Name or service not known")

    monkeypatch.setattr(sources, "describe", offline)
    result = CliRunner().invoke(cli, ["data", "prepare", "fineweb-edu", "--tokens", "20K"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert "--from FOLDER" in result.output and "000_00000.parquet" in result.output
    assert not data_dir.exists() or not any(data_dir.glob("fineweb*"))  # nothing written
    with pytest.raises(DatasetError, match="cegbench data prepare fineweb-edu --tokens 20K"):
        load_dataset("fineweb-edu:20000")
    # the same files, fetched by hand: the same store, without the network
    folder = local_corpora / "sample" / "10BT"
    result = CliRunner().invoke(cli, ["data", "prepare", "fineweb-edu", "--tokens", "20K",
                                      "--from", str(folder)])
    assert result.exit_code == 0, result.output
    assert len(load_dataset("fineweb-edu:20K").train) == 20_000 - 4096
    # more tokens than the files hold: refused, and no store is left behind
    result = CliRunner().invoke(cli, ["data", "prepare", "fineweb-edu", "--tokens", "10M",
                                      "--from", str(folder)])
    assert result.exit_code == 1 and "fewer than" in result.output
    assert not (data_dir / "fineweb-edu-10M").exists()


def test_planner_refuses_runs_that_repeat_the_data_too_often(catalog):
    innovation = catalog.innovations.get("gelu-to-swiglu")
    tier = TIERS.get("smoke")
    cells = plan_cells([innovation], tier, catalog.components)  # synthetic: far below 1 epoch
    with pytest.raises(RepetitionError, match=r"tier smoke v2: its largest run \(gelu-to-swiglu "
                                              r".*budget 2e\+09.*needs [\d,]+ training tokens"):
        guard_repetition(cells, tier, catalog.components, available=10_000)
    assert guard_repetition(cells, replace(tier, max_epochs=100.0), catalog.components,
                            available=10_000).epochs > 1
    # the shipped tiers plan within their allowance: cpu within 6 epochs, gpu within 1
    for name, limit in (("cpu", 6.0), ("gpu", 1.0)):
        tier = TIERS.get(name)
        largest = guard_repetition(plan_cells([innovation], tier, catalog.components,
                                              check_repetition=False), tier, catalog.components)
        assert largest.epochs <= tier.max_epochs == limit
