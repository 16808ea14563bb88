"""The published cpu v3 runs (``leaderboard/runs.jsonl.gz``) as a DataFrame, each judged by
the learning rule as the registry judges it on import: what the calibration tests read."""

import functools
import gzip
import json
from pathlib import Path

import pandas as pd

from cegbench.data.datasets import load_dataset
from cegbench.learning import not_learned_reason
from cegbench.tiers import TIERS

LEADERBOARD = Path(__file__).parents[1] / "leaderboard"
CPU = TIERS.get("cpu")


@functools.cache
def published_runs() -> pd.DataFrame:
    with gzip.open(LEADERBOARD / "runs.jsonl.gz", "rt") as lines:
        runs = pd.DataFrame([json.loads(line) for line in lines])
    unigram = load_dataset(CPU.dataset).unigram_loss(CPU.eval_tokens, CPU.context)
    runs["not_learned"] = [not_learned_reason(loss, json.loads(curve), unigram)
                           for loss, curve in zip(runs["final_loss"], runs["curve"])]
    return runs
