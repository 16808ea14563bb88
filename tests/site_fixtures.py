"""Registries for the site tests, written with the real registry functions.

``sample_registry(path)`` holds six innovations:

* ``gelu-to-swiglu``: a scale-invariant verdict in two tiers (smoke v1, small v2); borderline
  on smoke (another bootstrap seed could make it inconclusive);
* ``lstm-to-transformer``: scale-dependent, grows with scale, one failed run, and a
  description, warning and error that carry HTML (they must render as text); it rests on
  one budget, and 2 of its runs did not learn;
* ``layernorm-to-rmsnorm``: registered, no runs and no verdict yet;
* ``transformer-2017-to-modern``: a bundle (parts above, some unregistered) with an
  inconclusive verdict on a single seed, read off the equal-loss CEGs, its composition and
  a decision estimate;
* ``mha-to-gqa`` and ``mha-to-mqa``: the same trainings (identical losses, cell by cell), so
  the same rows; gqa's label is withheld (a frontier not bracketed).

Published findings: gelu-to-swiglu's agrees (1.5× at 1e13 FLOPs), lstm-to-transformer's
disagrees (6.28× at a comparable model size), mha-to-mqa's is at a different scale.

The verdict detail columns of migration ``m002_analysis_detail`` (fragile, sensitivity,
ceg_at_loss, wall_ceg, composition, decision, fit_bands, frontier parabolas) and the columns
the analysis adds later (``headline`` at the smoke tier's one compute ``HEADLINE``,
``rests_on``, ``n_seeds``, ``n_not_learned``, ``equal_loss_cegs``) are filled for the smoke tier
and left out (NULL, or absent columns) for ``small``, as in an older registry.

Losses follow L(C, N) = E + A·C^−α plus a valley in log N, so the plots look real.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from cegbench import Finding, Innovation, Recipe
from cegbench.registry.db import innovation_row, save_innovations, save_run, save_verdict
from cegbench.registry.opening import open_registry
from cegbench.site.render import build_site
from cegbench.standing import ANOTHER_BOOTSTRAP_SEED

XSS = "<script>alert(1)</script>"
BUDGETS = (1e12, 3e12, 1e13)
HEADLINE = math.sqrt(BUDGETS[0] * BUDGETS[-1])  # the smoke tier's one headline compute
EXTRAPOLATED = (1e18, 1e21)
WIDTHS = (64, 128, 256)
PLUGIN = SimpleNamespace(distribution="cegbench", version="0.1.0")

INNOVATIONS = [
    Innovation(
        name="gelu-to-swiglu", title="GeLU → SwiGLU", category="architecture", year=2020,
        paper="https://arxiv.org/abs/2002.05202",
        description="A gated linear unit with a Swish gate replaces the GeLU MLP.",
        baseline=Recipe(activation="gelu"), modern=Recipe(activation="swiglu"),
        expected="scale-invariant", plugin="cegbench.plugins.swiglu",
        literature=(Finding(source="Shazeer 2020", url="https://arxiv.org/abs/2002.05202",
                            scale="a T5 ablation near 1e13 FLOPs", ceg=1.5, flops=1e13),),
    ),
    Innovation(
        name="lstm-to-transformer", title="LSTM → Transformer", category="architecture", year=2017,
        paper="https://arxiv.org/abs/1706.03762",
        description=f"Attention replaces recurrence. {XSS}",
        baseline=Recipe(family="lstm", position="learned"),
        modern=Recipe(family="gpt", norm="rmsnorm", position="rotary"),
        expected="scale-dependent", plugin="cegbench.plugins.lstm_to_transformer",
        literature=(Finding(source="Gundlach et al. 2025", url="https://arxiv.org/abs/2511.21622",
                            scale="3.6 M parameters", ceg=6.28, label="scale-dependent", params=3.6e6),),
    ),
    Innovation(
        name="layernorm-to-rmsnorm", title="LayerNorm → RMSNorm", category="architecture", year=2019,
        paper="https://arxiv.org/abs/1910.07467",
        description="Normalise by the root mean square only, without centring.",
        baseline=Recipe(norm="layernorm"), modern=Recipe(norm="rmsnorm"),
        plugin="cegbench.plugins.rmsnorm",
    ),
    Innovation(
        name="transformer-2017-to-modern", title="Transformer 2017 → modern", category="architecture",
        year=2023, paper="https://arxiv.org/abs/2302.13971",
        description="Every change from the 2017 Transformer to a modern decoder, at once.",
        baseline=Recipe(norm="layernorm", activation="gelu"),
        modern=Recipe(norm="rmsnorm", activation="swiglu"),
        parts=("gelu-to-swiglu", "layernorm-to-rmsnorm", "sinusoidal-to-rope"),
        plugin="cegbench.plugins.bundles",
    ),
    Innovation(
        name="mha-to-gqa", title="Multi-head → grouped-query attention", category="architecture",
        year=2023, paper="https://arxiv.org/abs/2305.13245",
        description="Key/value heads shared by groups of query heads.",
        baseline=Recipe(attention="mha"), modern=Recipe(attention="gqa"), plugin="cegbench.plugins.attention",
    ),
    Innovation(
        name="mha-to-mqa", title="Multi-head → multi-query attention", category="architecture",
        year=2019, paper="https://arxiv.org/abs/1911.02150",
        description="One key/value head shared by every query head.",
        baseline=Recipe(attention="mha"), modern=Recipe(attention="mqa"), plugin="cegbench.plugins.attention",
        literature=(Finding(source="Sanderson et al. 2025", url="https://arxiv.org/abs/2505.04075",
                            scale="30 M parameters", ceg=0.67, flops=2.5e18, params=3e7),),
    ),
]

# (E, A, alpha) per arm, with compute in FLOPs.
LAWS = {
    "gelu-to-swiglu": {"baseline": (1.8, 31.7, 0.10), "modern": (1.8, 30.5, 0.10)},
    "lstm-to-transformer": {"baseline": (1.8, 16.0, 0.07), "modern": (1.8, 31.7, 0.10)},
    "transformer-2017-to-modern": {"baseline": (1.8, 31.7, 0.10), "modern": (1.8, 29.0, 0.101)},
    "mha-to-gqa": {"baseline": (1.8, 31.7, 0.10), "modern": (1.8, 31.0, 0.10)},
    "mha-to-mqa": {"baseline": (1.8, 31.7, 0.10), "modern": (1.8, 31.0, 0.10)},
}


def law_loss(law, compute):
    E, A, alpha = law
    return E + A * compute ** -alpha


def ceg(laws, compute):
    """C_baseline(L_modern(C)) / C."""
    E, A, alpha = laws["baseline"]
    return (A / (law_loss(laws["modern"], compute) - E)) ** (1 / alpha) / compute


def add_runs(db, name: str, tier: str, version: int, *, seeds=(0, 1), hardware="1× NVIDIA H100 80GB",
             noise_of: str | None = None):
    """An IsoFLOP ladder per arm and budget; returns the frontier points. ``noise_of``: draw
    the noise of that innovation's runs (the same trainings: identical losses)."""
    frontier = []
    for arm, law in LAWS[name].items():
        for budget in BUDGETS:
            n_opt = 4e5 * (budget / 1e12) ** 0.5
            for width in WIDTHS:
                n_params = 12 * 4 * width**2 + 256 * width
                valley = 0.04 * math.log(n_params / n_opt) ** 2
                for seed in seeds:
                    noise = random.Random(f"{noise_of or name}{arm}{budget}{width}{seed}").gauss(0, 0.004)
                    tokens = int(budget / (6 * n_params))
                    save_run(db, {
                        "run_id": f"{name}-{tier}{version}-{arm}-{budget:.0e}-{width}-{seed}",
                        "innovation": name, "arm": arm, "tier": tier, "tier_version": version,
                        "budget": budget, "width": width, "n_params": n_params, "seed": seed,
                        "status": "ok", "final_loss": law_loss(law, budget) + valley + noise,
                        "tokens": tokens, "epochs": tokens / 5_465_255,
                        "wall_time_s": 3.0 + budget / 1e11,
                        "hardware": hardware, "finished_at": "2025-06-01T12:00:00+00:00",
                        "dataset": "enwiki-sample",
                    })
            # the valley 0.04·x² − 0.08·ln(n_opt)·x + …, x = ln N, as the analysis would fit it
            x_opt = math.log(n_opt)
            frontier.append({"arm": arm, "budget": budget, "loss": law_loss(law, budget),
                             "n_params_opt": n_opt, "bracketed": budget != BUDGETS[-1],
                             "parabola": [law_loss(law, budget) + 0.04 * x_opt**2,
                                          -0.08 * x_opt, 0.04]})
    return frontier


def add_verdict(db, name: str, tier: str, version: int, frontier, *, label, direction=None,
                warnings=(), n_failed=0):
    laws = LAWS[name]
    points = [{"compute": c, "ceg": ceg(laws, c), "low": 0.9 * ceg(laws, c),
               "high": 1.1 * ceg(laws, c), "extrapolated": c not in BUDGETS}
              for c in (*BUDGETS, *EXTRAPOLATED)]
    points[-1]["low"] = points[-1]["high"] = float("nan")  # an interval that failed
    delta = laws["modern"][2] - laws["baseline"][2]
    save_verdict(db, innovation=name, tier=SimpleNamespace(name=tier, version=version),
        verdict={
            "label": label, "direction": direction, "delta_alpha": delta,
            "delta_alpha_low": delta - 0.004, "delta_alpha_high": delta + 0.004, "margin": 0.01,
            "ceg": points, "frontier": frontier, "warnings": list(warnings),
            "n_runs": len(frontier) * len(WIDTHS) * 2, "n_failed": n_failed,
            "method": {"fit": "huber-log", "n_boot": 200, "ci": 0.95, "shared_E": True},
            "cegbench_version": "0.1.0",
        },
        fits=[{"arm": arm, "E": E, "A": A, "alpha": alpha, "alpha_low": alpha - 0.003,
               "alpha_high": alpha + 0.003, "E_low": E - 0.05, "E_high": E + 0.05, "shared_E": 1}
              for arm, (E, A, alpha) in laws.items()],
    )


def add_detail(db, name: str, tier: str, version: int, *, label: str, fragile: bool, **extra):
    """Fill the verdict detail columns of m002 (added with alter=True where still missing)."""
    laws = LAWS[name]
    computes = [*BUDGETS, *EXTRAPOLATED]
    grid = np.geomspace(BUDGETS[0], EXTRAPOLATED[-1], 12)
    delta = laws["modern"][2] - laws["baseline"][2]
    other = "inconclusive" if fragile else label
    detail = {
        "fragile": int(fragile),
        "sensitivity": [
            {"variant": variant, "label": variant_label, "direction": None,
             "delta_alpha": delta + shift, "low": delta + shift - 0.005, "high": delta + shift + 0.005}
            for variant, variant_label, shift in (("drop smallest budget", label, 0.001),
                                                  ("drop largest budget", other, -0.004),
                                                  ("E fixed", label, 0.0), ("E per arm", label, 0.002))],
        "ceg_at_loss": [{"target_loss": law_loss(laws["modern"], c), "ceg": ceg(laws, c),
                         "low": 0.9 * ceg(laws, c), "high": 1.1 * ceg(laws, c)} for c in BUDGETS],
        "wall_ceg": [{"compute": c, "ceg": 0.8 * ceg(laws, c), "low": 0.7 * ceg(laws, c),
                      "high": 0.9 * ceg(laws, c), "extrapolated": c not in BUDGETS} for c in computes],
        "fit_bands": {arm: [{"compute": c, "loss": law_loss(law, c), "low": law_loss(law, c) * 0.98,
                             "high": law_loss(law, c) * 1.02} for c in grid]
                      for arm, law in laws.items()},
        "composition": None, "decision": None,
        # what later migrations add: one headline at the tier's one compute, the equal-loss
        # CEGs the label is read off, seeds per cell and runs that did not learn
        "headline": {"compute": HEADLINE, "ceg": ceg(laws, HEADLINE), "low": 0.9 * ceg(laws, HEADLINE),
                     "high": 1.1 * ceg(laws, HEADLINE), "extrapolated": False, "basis": "fitted law"},
        "equal_loss_cegs": [{"compute": c, "ceg": 1.02 * ceg(laws, c)} for c in BUDGETS],
        "rests_on": [], "n_seeds": 2, "n_not_learned": 0, **extra,
    }
    detail = {k: v if v is None or isinstance(v, (int, str)) else json.dumps(v) for k, v in detail.items()}
    db["verdicts"].update((name, tier, version), detail, alter=True)


def sample_registry(path: str | Path):
    """The three-innovation registry described in the module docstring."""
    db = open_registry(path)
    with db.atomic():  # one transaction: the registry functions nest as savepoints
        save_innovations(db, [innovation_row(inn, PLUGIN) for inn in INNOVATIONS])

        frontier = add_runs(db, "gelu-to-swiglu", "smoke", 1)
        add_verdict(db, "gelu-to-swiglu", "smoke", 1, frontier, label="scale-invariant")
        frontier = add_runs(db, "gelu-to-swiglu", "small", 2, seeds=(0, 1, 2), hardware="cpu")
        add_verdict(db, "gelu-to-swiglu", "small", 2, frontier, label="scale-invariant")

        frontier = add_runs(db, "lstm-to-transformer", "smoke", 1)
        save_run(db, {
            "run_id": "lstm-to-transformer-smoke1-baseline-failed", "innovation": "lstm-to-transformer",
            "arm": "baseline", "tier": "smoke", "tier_version": 1, "budget": 1e13, "width": 512,
            "n_params": 12_713_984, "seed": 0, "status": "failed",
            "error": "CUDA out of memory <img src=x onerror=alert(2)>", "wall_time_s": 1.5,
            "hardware": "1× NVIDIA H100 80GB",
        })
        add_verdict(db, "lstm-to-transformer", "smoke", 1, frontier, label="scale-dependent",
                    direction="grows with scale", n_failed=1,
                    warnings=["ladder does not bracket the optimum at 1e+13 <b>FLOPs</b>"])
        add_detail(db, "gelu-to-swiglu", "smoke", 1, label="scale-invariant", fragile=False,
                   label_basis="fitted law", weakened=[ANOTHER_BOOTSTRAP_SEED])
        add_detail(db, "lstm-to-transformer", "smoke", 1, label="scale-dependent", fragile=True,
                   label_basis="fitted law", rests_on=["the 1e+13 FLOPs budget"], n_not_learned=2)

        frontier = add_runs(db, "transformer-2017-to-modern", "smoke", 1, seeds=(0,))
        add_verdict(db, "transformer-2017-to-modern", "smoke", 1, frontier, label="inconclusive")
        bundle_ceg = ceg(LAWS["transformer-2017-to-modern"], BUDGETS[-1])
        add_detail(db, "transformer-2017-to-modern", "smoke", 1, label="inconclusive", fragile=False,
                   label_basis="equal-loss CEGs", n_seeds=1,
                   withheld=["fit at a bound: shared E at its lower bound 0 (2e-10)"],
                   composition={"compute": BUDGETS[-1], "measured": bundle_ceg,
                                "measured_low": 0.9 * bundle_ceg, "measured_high": 1.1 * bundle_ceg,
                                "parts": [{"name": "gelu-to-swiglu", "ceg": 1.05},
                                          {"name": "layernorm-to-rmsnorm", "ceg": None}],
                                "missing": ["layernorm-to-rmsnorm", "sinusoidal-to-rope"],
                                "product": 1.05, "ratio": bundle_ceg / 1.05},
                   decision={"more_seeds": 4, "budget_factor": 10.0,
                             "text": "About 4 more seeds, or budgets reaching 10× further, would decide."})

        for name in ("mha-to-gqa", "mha-to-mqa"):  # the same trainings: mqa draws gqa's noise
            frontier = add_runs(db, name, "smoke", 1, noise_of="mha-to-gqa")
            add_verdict(db, name, "smoke", 1, frontier, label="inconclusive")
        add_detail(db, "mha-to-gqa", "smoke", 1, label="inconclusive", fragile=False, label_basis="none",
                   withheld=["frontier not bracketed at 1e+13 FLOPs (baseline)"])
        add_detail(db, "mha-to-mqa", "smoke", 1, label="inconclusive", fragile=False,
                   label_basis="fitted law")
    return db


@pytest.fixture
def sample_db(tmp_path):
    db = sample_registry(tmp_path / "registry.db")
    yield db
    db.close()


@pytest.fixture(scope="session")
def built_site(tmp_path_factory):
    """The sample registry rendered once per session: (out_dir, written files)."""
    root = tmp_path_factory.mktemp("site")
    db = sample_registry(root / "registry.db")
    written = build_site(db, root / "out")
    db.close()
    return root / "out", written
