"""The site's words and counts: a verdict's answer sentence and markers
(``site/verdict_text.py``), what a tier's runs say (``site/summary.py``), the plots' ticks."""

import json
import re

import pytest

from cegbench.site import plots, summary
from cegbench.site import verdict_text as words
from cegbench.standing import ANOTHER_BOOTSTRAP_SEED

HEADLINE = {"compute": 1e12, "ceg": 0.76, "low": 0.61, "high": 0.94, "extrapolated": False, "basis": "fitted law"}


def verdict(label="scale-invariant", **columns):
    row = {"label": label, "label_basis": "fitted law", "margin": 1.5, "drift": 1.06, "drift_low": 0.94,
           "drift_high": 1.19, "headline": json.dumps(HEADLINE)}
    row.update({k: json.dumps(v) if isinstance(v, (list, dict)) else v for k, v in columns.items()})
    return row


def say(v, title="Post-norm → pre-norm"):
    return words.answer(v, title, words.headline(v))


def test_the_answer_states_the_headline_and_whether_it_changes_with_scale():
    assert say(verdict()) == (
        "At 1e12 FLOPs, pre-norm is worth 0.76× [0.61, 0.94] the compute of Post-norm (below 1×: it needs "
        "more compute than the baseline for the same loss); the gain does not change detectably with scale "
        "(CEG drift 1.06× [0.94, 1.19] per 10× compute, within the margin of 1.50× either way per 100× compute).")
    grows = say(verdict("scale-dependent", direction="grows with scale", drift=1.4, drift_low=1.2, drift_high=1.6,
                        headline={**HEADLINE, "ceg": 2.0, "low": 1.5, "high": 2.5, "extrapolated": True}))
    assert grows == ("At 1e12 FLOPs (extrapolated), pre-norm is worth 2.00× [1.50, 2.50] the compute of "
                     "Post-norm; the gain grows with scale (CEG drift 1.40× [1.20, 1.60] per 10× compute).")
    unsure = say(verdict("inconclusive", headline={**HEADLINE, "low": 0.9, "high": 1.1}), title="QK-norm")
    assert unsure.startswith("At 1e12 FLOPs, QK-norm is worth 0.76× [0.90, 1.10] the compute of the baseline "
                             "(the interval includes 1×: no gain is detectable there); whether the gain "
                             "changes with scale cannot be told yet (CEG drift")
    withheld = say(verdict("inconclusive", label_basis="none", drift=None,
                           withheld=["frontier not bracketed at 4e+12 FLOPs (baseline)"]))
    assert withheld.endswith("; whether it changes with scale is not labelled: frontier not bracketed at "
                             "4e+12 FLOPs (baseline).")
    assert say(verdict(headline=None, ceg="[]")).startswith("No CEG could be measured yet; ")
    assert words.answer(None, "x", None) == ""


def test_without_a_stated_headline_the_largest_measured_budget_stands_in_and_says_so():
    points = [{"compute": 1e12, "ceg": 1.2, "low": 1.1, "high": 1.3, "extrapolated": False},
              {"compute": 4e12, "ceg": float("nan"), "low": None, "high": None, "extrapolated": False},
              {"compute": 1e18, "ceg": 3.0, "low": 2.0, "high": 4.0, "extrapolated": True}]
    h = words.headline({"label": "inconclusive", "ceg": json.dumps(points)})
    assert (h.compute, h.ceg, h.stated, h.basis) == (1e12, 1.2, False, words.LARGEST_MEASURED)
    stated = words.headline(verdict())
    assert stated.stated and stated.value == "0.76×" and stated.interval == "[0.61, 0.94]"


def test_markers_and_caveats_say_what_qualifies_a_label():
    assert [m.text for m in words.markers(verdict())] == []
    borderline = verdict(weakened=[ANOTHER_BOOTSTRAP_SEED], n_seeds=1, label_basis="equal-loss CEGs",
                         withheld=["fit at a bound: E at 0"])
    assert [m.slug for m in words.markers(borderline)] == ["borderline", "few-seeds", "equal-loss"]
    assert "another bootstrap seed could make it inconclusive" in " ".join(words.caveats(borderline))
    assert "single seed" in " ".join(words.caveats(borderline))
    one_budget = verdict("scale-dependent", rests_on=["the 4e+12 FLOPs budget"], fragile=1)
    assert [m.text for m in words.markers(one_budget)] == ["rests on one budget", "fragile"]
    assert words.caveats(one_budget)[0] == (
        "The label rests on one budget: without the 4e+12 FLOPs budget its estimate crosses to the other "
        "side, so it is not counted as decided.")
    reasons = ["frontier not bracketed at 4e+12 FLOPs (baseline)", "fit at a bound"]
    withheld = verdict("inconclusive", label_basis="none", withheld=reasons)
    [marker] = words.markers(withheld)
    assert (marker.text, marker.slug) == ("frontier not bracketed at 4e+12 FLOPs (+1 more)", "withheld")
    assert words.shown_label(withheld) == "withheld" and words.shown_label(verdict()) == "scale-invariant"


def test_the_method_reads_as_text_never_as_python():
    items = words.method_items({"fit": "huber-log", "n_boot": 200, "shared_E": True, "t_dof": 11.783803952680001,
                                "sensitivity": [], "extrapolate_to": [1e18, 1e21],
                                "decision": {"seed_factors": [2, 4], "decided_share": 0.8},
                                "git_commit": "9ca95a5efed249827ff5b82b3cd9128546de3803", "new_thing": None})
    assert items == [("fit", "huber-log"), ("bootstrap replicates (fitted)", "200"),
                     ("irreducible loss E shared by both arms", "yes"), ("Student-t degrees of freedom", "11.8"),
                     ("sensitivity refits", "none"), ("extrapolated to (FLOPs)", "1e18, 1e21"),
                     ("what-would-decide-it simulation", "seed factors 2, 4; share that must decide 0.8"),
                     ("commit", "9ca95a5efe"), ("new thing", "—")]
    text = " ".join(f"{k} {v}" for k, v in items)
    assert not re.search(r"True|False|None|\[\]|\{|=", text)


def run(innovation, arm, budget, width, seed, loss, **extra):
    return {"innovation": innovation, "arm": arm, "budget": budget, "width": width, "seed": seed,
            "final_loss": loss, "n_params": 1000 * width, "tokens": 1000, "epochs": 0.5,
            "dataset": "enwiki-sample", "finished_at": "2026-12-02T02:52:16+00:00", **extra}


def test_a_tiers_scale_is_counted_from_its_runs():
    runs = [run("a", "baseline", 1e12, 16, 0, 2.0), run("a", "baseline", 1e12, 16, 1, 2.1),
            run("a", "modern", 4e12, 64, 0, 1.9, epochs=2.0, tokens=4000, finished_at="2026-12-03T00:00:00+00:00")]
    scale = summary.tier_scale(runs)
    assert scale.params == (16000, 64000) and scale.budgets == (1e12, 4e12)
    assert scale.datasets == ("enwiki-sample",) and scale.dataset_tokens == 2000 and scale.max_epochs == 2.0
    assert scale.seeds == (1, 2) and scale.n_runs == 3 and scale.n_innovations == 1
    assert scale.last_finished == "2026-12-03T00:00:00+00:00"


def test_innovations_measured_on_the_same_trainings_are_found_and_one_shared_arm_is_not():
    runs = []
    for name in ("gqa", "mqa", "swiglu"):
        for width in (16, 32, 48, 64):
            runs.append(run(name, "baseline", 1e12, width, 0, 2.0 + width / 1000))  # the default recipe
            same = width < 64 and name != "swiglu"  # gqa and mqa build the same model below 64
            runs.append(run(name, "modern", 1e12, width, 0, 1.9 + width / 1000 if same else hash(name) % 97 / 100))
    found = summary.shared_trainings(runs)
    assert set(found) == {"gqa", "mqa"}
    [shared] = found["gqa"]
    assert (shared.other, shared.shared, shared.total) == ("mqa", 7, 8)
    assert shared.per_arm == (("baseline", 4, 4), ("modern", 3, 4))


@pytest.mark.parametrize("low, high, expected", [
    (2e11, 5e12, ["3e11", "1e12", "3e12"]),
    (2.4e11, 4.2e12, ["5e11", "1e12", "2e12"]),
    (0.1, 5, ["0.1", "0.3", "1", "3"]),
    (0.8, 1.3, ["0.8", "1", "1.2"]),
    (1.85, 2.95, ["2", "2.5"]),  # a loss axis: round linear steps
    (1e12, 1e21, ["1e12", "1e15", "1e18", "1e21"]),
    (7e3, 6e5, ["1e4", "3e4", "1e5", "3e5"]),
])
def test_log_axes_get_few_ticks_that_cannot_collide(low, high, expected):
    assert [plots.tick_text(t) for t in plots.log_ticks(low, high)] == expected
