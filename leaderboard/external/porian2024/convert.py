"""Convert Porian et al. 2024's released IsoFLOP points into cegbench's external-runs format.

Run by hand, once (never by CI or the tests), from a copy of their repository:

    git clone https://github.com/formll/resolving-scaling-law-discrepancies porian
    python leaderboard/external/porian2024/convert.py porian    # a checkout, or a bare git dir

It reads ``data/summary_df.pickle.xz``, ``data/summary_df_owt2.pickle.xz`` and
``data/summary_df_att.pickle.xz`` at ``COMMIT`` (pandas pickles: one row per training
configuration, whose ``data`` column holds, per FLOP budget, the sizes ``orig_n``, tokens
``orig_t`` and losses ``orig_loss`` of its IsoFLOP ladder, read off each run's logged
curve at that budget by their ``analysis.fetch_flop``) and writes ``porian2024.csv.gz``
beside this file: one row per (configuration, budget, size), grouped into the one-change
pairs of ``PAIRS``. Needs pandas (the pickles are pandas DataFrames) and git for a bare
git dir. The output is deterministic (gzip without a time stamp).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import lzma
import pickle
import subprocess
import sys
from pathlib import Path

COMMIT = "0dc60d91b8a525858a3067fc9e4a46ff5374cc6f"  # formll/resolving-scaling-law-discrepancies
REPOSITORY = "https://github.com/formll/resolving-scaling-law-discrepancies"
TIER = "porian2024"
OUT = Path(__file__).with_name("porian2024.csv.gz")
CITATION = ("Porian, Wortsman, Jitsev, Schmidt and Carmon 2024, Resolving Discrepancies in "
            "Compute-Optimal Scaling of Language Models, arXiv:2406.19146")
LICENCE = "MIT (the repository's LICENSE; text and attribution in leaderboard/external/porian2024/README.md)"
PAPER = "https://arxiv.org/abs/2406.19146"
FILES = {"rw": "data/summary_df.pickle.xz", "owt2": "data/summary_df_owt2.pickle.xz",
         "att": "data/summary_df_att.pickle.xz"}
DATASETS = {"rw": "RefinedWeb", "owt2": "OpenWebText2"}

# A configuration: (dataset, hparams, warmup, decay, param_count, val), as their configs.py.
# Each pair differs in exactly one of them; the schedule column says how each arm trained.
WARMUP = ("warmup", "long", "short")
DECAY = ("decay", "kaplan", "chinchilla")
PAIRS = {
    # name: (file, the baseline's configuration, the field that changes, its modern value)
    "long-to-short-warmup-rw": ("rw", ("rw", "base", "long", "kaplan", "standard", "val"), *WARMUP[::2]),
    "long-to-short-warmup-owt2": ("owt2", ("owt2", "base", "long", "kaplan", "standard", "val"), *WARMUP[::2]),
    "long-to-short-warmup-rw-attention": ("att", ("rw", "base", "long", "kaplan", "attention", "train"), *WARMUP[::2]),
    "fixed-to-matched-cosine-rw": ("rw", ("rw", "base", "short", "kaplan", "standard", "val"), *DECAY[::2]),
    "fixed-to-matched-cosine-owt2": ("owt2", ("owt2", "base", "short", "kaplan", "standard", "val"), *DECAY[::2]),
    "fixed-to-matched-cosine-rw-attention": ("att", ("rw", "base", "short", "kaplan", "attention", "train"), *DECAY[::2]),
}
FIELDS = ("dataset", "hparams", "warmup", "decay", "param_count", "val")
WORDS = {
    "warmup": {"long": "long warmup (Kaplan et al.'s setting, as the paper reproduces it)",
               "short": "short warmup (the paper's correction)"},
    "decay": {"kaplan": ("cosine decay over a fixed long horizon (Kaplan et al.'s setting; losses read at "
                         "the checkpoint reaching each budget)"),
              "chinchilla": "cosine decay matched to each budget (Hoffmann et al.'s setting)"},
    "param_count": {"standard": "FLOPs 6·N·D with N counting the output layer",
                    "attention": "FLOPs 6·N·D plus attention (6·T·d·L a token)"},
    "val": {"val": "held-out loss", "train": "smoothed training loss"},
}
# What the paper concluded about each change, in its own terms (compute-optimal exponents),
# and the class we read from it: a long warmup costs small budgets most (the short warmup's
# gain shrinks as budgets grow); "careful learning rate decay is not essential for the
# validity of [the Chinchilla] scaling law" says nothing about a CEG's trend: no class.
FINDINGS = {
    "warmup": {"label": "scale-dependent", "note": (
        "Our reading of the paper's conclusion: Kaplan et al.'s warmup is too long for small models and "
        "budgets, so correcting it helps small budgets most. The paper "
        "measures its effect on the compute-optimal size exponent a, not a CEG: a = {a_b} with the long "
        "warmup, {a_m} with the short one (their released fits, bs_median_weighted).")},
    "decay": {"label": None, "note": (
        "The paper finds that careful learning-rate decay is not essential for the Chinchilla scaling "
        "law (the compute-optimal size exponent a = {a_b} with a fixed-horizon cosine, {a_m} with one "
        "matched to the budget; their released fits): a statement about allocation, not about how the "
        "gain in loss changes with scale, so no class is compared.")},
}


def read_pickle(repo: Path, path: str):
    """A pandas pickle of the repository at ``COMMIT`` (a checkout at that commit, or a git dir)."""
    if (repo / path).is_file():
        blob = (repo / path).read_bytes()
    else:
        blob = subprocess.run(["git", f"--git-dir={repo}", "show", f"{COMMIT}:{path}"],
                              check=True, capture_output=True).stdout
    return pickle.loads(lzma.decompress(blob))  # their released data, read by hand: a pickle runs code


def configuration(frame, config: tuple):
    rows = frame[(frame[list(FIELDS)] == list(config)).all(axis=1)]
    if len(rows) != 1:
        raise SystemExit(f"configuration {config}: {len(rows)} rows in the pickle, expected 1")
    return rows.iloc[0]


def schedule(config: tuple) -> str:
    named = dict(zip(FIELDS, config))
    return "; ".join([f"{DATASETS[named['dataset']]}", named["hparams"] + " hyperparameters",
                      *(WORDS[field][named[field]] for field in ("warmup", "decay", "param_count", "val"))])


def finding(change: str, a_b: float, a_m: float, dataset: str) -> dict:
    template = FINDINGS[change]
    return {"source": "Porian et al. 2024", "url": PAPER,
            "scale": f"{DATASETS[dataset]}, models of 5 M–901 M parameters, their runs (the ones analysed here)",
            "flops": [1.25e16, 2.56e19], "label": template["label"],
            "note": template["note"].format(a_b=f"{a_b:.3g}", a_m=f"{a_m:.3g}")}


def rows_of(name: str, frames: dict) -> list[dict]:
    file, baseline, field, modern_value = PAIRS[name]
    modern = tuple(modern_value if f == field else v for f, v in zip(FIELDS, baseline))
    assert sum(a != b for a, b in zip(baseline, modern)) == 1, (baseline, modern)  # one change
    arms = {"baseline": configuration(frames[file], baseline), "modern": configuration(frames[file], modern)}
    exponent = {arm: row["fit_results"]["bs_median_weighted"]["n_exponent"] for arm, row in arms.items()}
    findings = json.dumps([finding(field, exponent["baseline"], exponent["modern"], baseline[0])])
    rows = []
    for arm, row in arms.items():
        config = baseline if arm == "baseline" else modern
        for _, budget in row["data"].sort_values("flops").iterrows():
            if not hasattr(budget["orig_n"], "__len__"):  # a budget with no ladder
                continue
            for n, t, loss in zip(budget["orig_n"], budget["orig_t"], budget["orig_loss"]):
                rows.append({
                    "innovation": name, "arm": arm, "tier": TIER, "params": f"{float(n):.10g}",
                    "flops": f"{float(budget['flops']):.10g}", "loss": f"{float(loss):.6f}",
                    "tokens": f"{float(t):.10g}", "seed": 0, "schedule": schedule(config),
                    "source": f"{REPOSITORY} at {COMMIT}, {', '.join(FILES.values())}",
                    "citation": CITATION, "licence": LICENCE, "literature": findings})
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", type=Path, help="their repository: a checkout at COMMIT, or a git dir")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    frames = {key: read_pickle(args.repo, path) for key, path in FILES.items()}
    rows = [row for name in PAIRS for row in rows_of(name, frames)]
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    with open(args.out, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as out:
        out.write(text.getvalue().encode())
    print(f"wrote {len(rows)} rows of {len(PAIRS)} pairs to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
