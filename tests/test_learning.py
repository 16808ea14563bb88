"""Runs that did not learn: the rule, the unigram loss it reads, and the registry's marks."""

import json
import math

import numpy as np
import pytest
from sqlite_utils import Database
from test_registry import innovation, run_row

from cegbench.data.datasets import load_dataset
from cegbench.learning import MARGIN, not_learned_reason
from cegbench.registry.db import save_innovations, save_run
from cegbench.registry.migrations import migrations
from cegbench.registry.opening import open_registry
from cegbench.sweep.verdicts import judge_learning
from cegbench.tiers import TIERS

CURVE = [{"loss": 2.6}, {"loss": 2.45}, {"loss": 2.4}]
FLAT = [{"loss": 3.509}, {"loss": 3.5095}, {"loss": 3.4980}]  # a real stuck run's curve (cpu v3)


def test_a_run_stuck_at_the_unigram_loss_did_not_learn():
    assert not_learned_reason(3.498, FLAT, unigram_loss=3.4976).startswith("did not learn: held-out loss")
    # learned early and stopped: far below the unigram loss, however flat its curve
    assert not_learned_reason(3.4976 * (1 - MARGIN) - 1e-6, FLAT, unigram_loss=3.4976) is None
    # still learning: above the unigram loss, but its curve falls (a smoke-tier run)
    assert not_learned_reason(4.1, [{"loss": 4.4}, {"loss": 4.1}], unigram_loss=2.67) is None
    assert not_learned_reason(2.4, CURVE, unigram_loss=3.4976) is None


def test_a_curve_that_never_fell_did_not_learn_where_the_unigram_loss_is_unknown():
    assert "never fell" in not_learned_reason(3.498, FLAT)
    assert not_learned_reason(2.4, CURVE) is None
    assert not_learned_reason(2.4, CURVE[:1]) is None  # one evaluation: nothing to judge by
    assert not_learned_reason(None, FLAT) is None  # a failed run: its status says so
    assert not_learned_reason(2.4, [{"loss": "x"}, 3]) is None  # a damaged curve


def test_unigram_loss_is_the_cross_entropy_of_training_frequencies_on_the_held_out_windows():
    dataset = load_dataset("synthetic")
    tier = TIERS.get("smoke")
    frequencies = np.bincount(dataset.train.numpy(), minlength=256) / len(dataset.train)
    targets = np.concatenate([y.numpy().ravel() for _, y in
                              dataset.validation_batches(tier.eval_tokens, tier.context, tier.batch_size)])
    expected = -np.mean(np.log(frequencies[targets]))
    assert dataset.unigram_loss(tier.eval_tokens, tier.context) == pytest.approx(expected, rel=1e-12)
    assert 0 < expected < math.log(256)


def test_the_real_stuck_runs_sit_at_the_unigram_loss_of_their_held_out_windows():
    # cpu v3's post-norm baseline rungs at 3.497 nats (both seeds, two budgets) learned
    # token frequencies and nothing else
    cpu = TIERS.get("cpu")
    unigram = load_dataset(cpu.dataset).unigram_loss(cpu.eval_tokens, cpu.context)
    for stuck in (3.498048, 3.497461, 3.496687, 3.496879):
        assert abs(stuck - unigram) < 0.002
        assert not_learned_reason(stuck, FLAT, unigram) is not None


def test_m014_marks_runs_whose_curve_never_fell(tmp_path):
    db = Database(tmp_path / "old.db")
    migrations.apply(db, stop_before="m014_runs_that_did_not_learn")
    db["innovations"].insert(innovation())
    db["runs"].insert(run_row("stuck", final_loss=3.498, curve=json.dumps(FLAT)))
    db["runs"].insert(run_row("learned", final_loss=2.4, curve=json.dumps(CURVE)))
    db["runs"].insert(run_row("broken", final_loss=2.4, curve="{not json"))
    db.close()
    db = open_registry(tmp_path / "old.db")
    assert "never fell" in db["runs"].get("stuck")["not_learned"]
    assert db["runs"].get("learned")["not_learned"] is None
    assert db["runs"].get("broken")["not_learned"] is None
    assert {"law", "headline", "rests_on", "n_seeds", "n_not_learned"} <= set(db["verdicts"].columns_dict)


def test_judge_learning_measures_the_unigram_loss_of_runs_recorded_without_it(tmp_path):
    tier = TIERS.get("smoke")
    dataset = load_dataset(tier.dataset)
    db = open_registry(tmp_path / "r.db")
    save_innovations(db, [innovation()])
    spec = json.dumps({"eval_tokens": tier.eval_tokens, "context": tier.context})
    common = {"tier": tier.name, "tier_version": tier.version, "dataset": tier.dataset,
              "dataset_hash": dataset.content_hash, "spec": spec, "curve": json.dumps(CURVE)}
    unigram = dataset.unigram_loss(tier.eval_tokens, tier.context)
    save_run(db, run_row("stuck", final_loss=unigram + 0.001, **{**common, "curve": json.dumps(FLAT)}))
    save_run(db, run_row("learned", final_loss=unigram * 0.8, **common))
    save_run(db, run_row("other data", final_loss=unigram, **{**common, "dataset_hash": "elsewhere"}))
    judge_learning(db, tier)
    assert db["runs"].get("stuck")["unigram_loss"] == pytest.approx(unigram)
    assert db["runs"].get("stuck")["not_learned"].startswith("did not learn: held-out loss")
    assert db["runs"].get("learned")["not_learned"] is None
    assert db["runs"].get("other data")["unigram_loss"] is None  # not this machine's data: not judged
