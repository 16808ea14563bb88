"""The corpora cegbench knows: the downloadable ones (``CORPORA``: where each is hosted,
its files in the order they are read, its licence), and, in this folder, the embedded
English Wikipedia sample (README.md says where it comes from)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Corpus:
    name: str
    title: str
    repo: str  # a Hugging Face dataset repository
    files: tuple[str, ...]  # paths in the repository, in the order they are read
    format: str  # "parquet" or "jsonl"
    licence: str
    homepage: str
    field: str = "text"

    def url(self, file: str, revision: str) -> str:
        return f"https://huggingface.co/datasets/{self.repo}/resolve/{revision}/{file}"


CORPORA = {
    "fineweb-edu": Corpus(
        name="fineweb-edu",
        title="FineWeb-Edu, the sample-10BT split (about 10 B GPT-2 tokens, ~2 GB Parquet a file)",
        repo="HuggingFaceFW/fineweb-edu",
        files=tuple(f"sample/10BT/{i:03d}_00000.parquet" for i in range(14)),
        format="parquet",
        licence="ODC-By 1.0 (and Common Crawl's terms of use)",
        homepage="https://huggingface.co/datasets/HuggingFaceFW/fineweb-edu",
    ),
    "c4-en": Corpus(
        name="c4-en",
        title="C4 English (allenai/c4, en), the reference work's corpus (~300 MB gzip a file)",
        repo="allenai/c4",
        files=tuple(f"en/c4-train.{i:05d}-of-01024.json.gz" for i in range(1024)),
        format="jsonl",
        licence="ODC-By 1.0 (and Common Crawl's terms of use)",
        homepage="https://huggingface.co/datasets/allenai/c4",
    ),
}
