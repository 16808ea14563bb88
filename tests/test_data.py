import hashlib

import pytest
import torch

from cegbench.data.datasets import load_dataset, split
from cegbench.data.names import ENWIKI_SHA256, MIN_VALIDATION_TOKENS, DatasetError, synthetic_tokens


def test_synthetic_is_deterministic_and_seeded():
    a, b = synthetic_tokens(0, n_words=2000), synthetic_tokens(0, n_words=2000)
    assert (a == b).all()
    assert not (synthetic_tokens(1, n_words=2000)[:500] == a[:500]).all()
    text = a.tobytes().decode("ascii")
    assert ". " in text and text.count(" ") > 1000


def test_dataset_has_fixed_validation_split_and_content_hash():
    data = load_dataset("synthetic")
    assert len(data.val) >= MIN_VALIDATION_TOKENS
    whole = torch.cat([data.train, data.val]).numpy().tobytes()
    assert data.content_hash == hashlib.sha256(whole).hexdigest()
    assert load_dataset("synthetic") is data  # cached


def test_batches_are_next_byte_targets_and_seeded():
    data = load_dataset("synthetic")
    x, y = data.batch(4, 16, torch.Generator().manual_seed(3))
    assert x.shape == y.shape == (4, 16) and x.dtype == torch.int64
    assert (x[:, 1:] == y[:, :-1]).all()
    x2, _ = data.batch(4, 16, torch.Generator().manual_seed(3))
    assert (x == x2).all()
    windows = list(data.validation_batches(n_tokens=160, context=16, batch_size=4))
    assert sum(len(w[0]) for w in windows) == 10
    assert all((a[0] == b[0]).all() for a, b in zip(windows, data.validation_batches(160, 16, 4)))


def test_embedded_enwiki_corpus_is_pinned_and_english():
    data = load_dataset("enwiki-sample")
    assert ENWIKI_SHA256.startswith("a53f4648") and ENWIKI_SHA256.endswith("bea2d")
    text = bytes(data.train[:200_000].numpy()).decode("utf-8", errors="replace")
    assert "Anarchism" in text and " the " in text
    assert len(data.train) > 4_000_000


def test_local_text_file_and_folder(tmp_path):
    (tmp_path / "a.txt").write_text("hello world. " * 1000)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.txt").write_text("second file. " * 1000)
    one = load_dataset(f"text:{tmp_path / 'a.txt'}")
    both = load_dataset(f"text:{tmp_path}")
    assert len(both.train) + len(both.val) > len(one.train) + len(one.val)
    assert one.content_hash != both.content_hash


@pytest.mark.parametrize("name, message", [
    ("nonsense", "Unknown dataset 'nonsense'"),
    ("text:/no/such/file.txt", "does not exist"),
])
def test_bad_dataset_names(name, message):
    with pytest.raises(DatasetError, match=message):
        load_dataset(name)


def test_too_small_dataset_is_refused(tmp_path):
    import numpy as np

    with pytest.raises(DatasetError, match="too few"):
        split("tiny", np.zeros(100, dtype=np.uint8))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no \\*.txt files"):
        load_dataset(f"text:{tmp_path / 'empty'}")
