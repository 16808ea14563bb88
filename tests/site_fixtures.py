"""Registries for the site tests, written with the real registry functions.

``sample_registry(path)`` holds three innovations:

* ``gelu-to-swiglu``: a scale-invariant verdict in two tiers (smoke v1, small v2);
* ``lstm-to-transformer``: scale-dependent, grows with scale, one failed run, and a
  description, warning and error that carry HTML (they must render as text);
* ``layernorm-to-rmsnorm``: registered, no runs and no verdict yet.

Losses follow L(C, N) = E + A·C^−α plus a valley in log N, so the plots look real.
"""

from __future__ import annotations

import math
import random
from pathlib import Path
from types import SimpleNamespace

import pytest

from cegbench import Innovation, Recipe
from cegbench.registry.db import innovation_row, open_registry, save_innovations, save_run, save_verdict
from cegbench.site.render import build_site

XSS = "<script>alert(1)</script>"
BUDGETS = (1e12, 3e12, 1e13)
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
    ),
    Innovation(
        name="lstm-to-transformer", title="LSTM → Transformer", category="architecture", year=2017,
        paper="https://arxiv.org/abs/1706.03762",
        description=f"Attention replaces recurrence. {XSS}",
        baseline=Recipe(family="lstm", position="learned"),
        modern=Recipe(family="gpt", norm="rmsnorm", position="rotary"),
        expected="scale-dependent", plugin="cegbench.plugins.lstm_to_transformer",
    ),
    Innovation(
        name="layernorm-to-rmsnorm", title="LayerNorm → RMSNorm", category="architecture", year=2019,
        paper="https://arxiv.org/abs/1910.07467",
        description="Normalise by the root mean square only, without centring.",
        baseline=Recipe(norm="layernorm"), modern=Recipe(norm="rmsnorm"),
        plugin="cegbench.plugins.rmsnorm",
    ),
]

# (E, A, alpha) per arm, with compute in FLOPs.
LAWS = {
    "gelu-to-swiglu": {"baseline": (1.8, 31.7, 0.10), "modern": (1.8, 30.5, 0.10)},
    "lstm-to-transformer": {"baseline": (1.8, 16.0, 0.07), "modern": (1.8, 31.7, 0.10)},
}


def law_loss(law, compute):
    E, A, alpha = law
    return E + A * compute ** -alpha


def ceg(laws, compute):
    """C_baseline(L_modern(C)) / C."""
    E, A, alpha = laws["baseline"]
    return (A / (law_loss(laws["modern"], compute) - E)) ** (1 / alpha) / compute


def add_runs(db, name: str, tier: str, version: int, *, seeds=(0, 1), hardware="1× NVIDIA H100 80GB"):
    """An IsoFLOP ladder per arm and budget; returns the frontier points."""
    frontier = []
    for arm, law in LAWS[name].items():
        for budget in BUDGETS:
            n_opt = 4e5 * (budget / 1e12) ** 0.5
            for width in WIDTHS:
                n_params = 12 * 4 * width**2 + 256 * width
                valley = 0.04 * math.log(n_params / n_opt) ** 2
                for seed in seeds:
                    noise = random.Random(f"{name}{arm}{budget}{width}{seed}").gauss(0, 0.004)
                    tokens = int(budget / (6 * n_params))
                    save_run(db, {
                        "run_id": f"{name}-{tier}{version}-{arm}-{budget:.0e}-{width}-{seed}",
                        "innovation": name, "arm": arm, "tier": tier, "tier_version": version,
                        "budget": budget, "width": width, "n_params": n_params, "seed": seed,
                        "status": "ok", "final_loss": law_loss(law, budget) + valley + noise,
                        "tokens": tokens, "wall_time_s": 3.0 + budget / 1e11,
                        "hardware": hardware, "finished_at": "2025-06-01T12:00:00+00:00",
                    })
            frontier.append({"arm": arm, "budget": budget, "loss": law_loss(law, budget),
                             "n_params_opt": n_opt, "bracketed": budget != BUDGETS[-1]})
    return frontier


def add_verdict(db, name: str, tier: str, version: int, frontier, *, label, direction=None,
                warnings=(), n_failed=0):
    laws = LAWS[name]
    points = [{"compute": c, "ceg": ceg(laws, c), "low": 0.9 * ceg(laws, c),
               "high": 1.1 * ceg(laws, c), "extrapolated": c not in BUDGETS}
              for c in (*BUDGETS, *EXTRAPOLATED)]
    points[-1]["low"] = points[-1]["high"] = float("nan")  # an interval that failed
    delta = laws["modern"][2] - laws["baseline"][2]
    save_verdict(
        db, innovation=name, tier=tier, tier_version=version,
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
