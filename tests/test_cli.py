"""The command line, end to end on the smoke tier."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from sqlite_utils import Database

from cegbench.cli.main import cli
from cegbench.plan.cells import plan_runs
from cegbench.present.numbers import fmt_compute
from cegbench.registry.learning_rates import tuned_rates
from cegbench.tiers import TIERS

CPU_VERSION = TIERS.get("cpu").version
EXAMPLE_PLUGIN = Path(__file__).parent / "example_plugin"


def invoke(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def smoke_registry(tmp_path_factory):
    """One innovation run through the smoke tier, shared by the tests below."""
    path = tmp_path_factory.mktemp("smoke") / "registry.db"
    result = invoke("run", "--tier", "smoke", "--innovation", "gelu-to-swiglu",
                    "--registry", str(path))
    assert result.exit_code == 0, result.output
    return path, result.output


def test_run_records_every_planned_run_and_a_verdict(smoke_registry, catalog):
    path, output = smoke_registry
    db = Database(path)
    tier = TIERS.get("smoke")
    planned = plan_runs([catalog.innovations.get("gelu-to-swiglu")], tier, catalog.components,
                        tuned_rates(db, tier))
    assert db["runs"].count == len(planned)
    assert {r["run_id"] for r in db["runs"].rows} == {s.run_id for s in planned}
    row = next(db["runs"].rows_where("status = 'ok'"))
    assert row["final_loss"] > 0 and row["dataset_hash"] and row["torch_version"]
    assert 0 < row["unigram_loss"] < 5.6  # measured by the trainer (cegbench.learning)
    assert row["plugin"] == "cegbench.plugins.swiglu" and row["distribution"] == "cegbench"
    assert row["command"].startswith("cegbench run --tier smoke")
    [verdict] = db["verdicts"].rows
    assert verdict["label"] in ("scale-invariant", "scale-dependent", "inconclusive")
    assert len(json.loads(verdict["ceg"])) >= len(TIERS.get("smoke").budgets)
    assert db["fits"].count == 2
    assert "gelu-to-swiglu [smoke]:" in output


def test_rerun_resumes_without_redoing_anything(smoke_registry):
    path, _ = smoke_registry
    result = invoke("run", "--tier", "smoke", "--innovation", "gelu-to-swiglu",
                    "--registry", str(path), "--no-analyze")
    assert result.exit_code == 0
    assert "already recorded, 0 to run" in result.output


def test_show_prints_verdict_fit_and_ceg(smoke_registry):
    path, _ = smoke_registry
    result = invoke("show", "gelu-to-swiglu", "--registry", str(path))
    assert result.exit_code == 0
    for text in ("GeLU → SwiGLU", "tier smoke v2:", "Δα = α_modern − α_baseline",
                 "baseline: E =", "CEG(C), 95% CI:"):
        assert text in result.output
    if "label withheld" in result.output:  # e.g. a fit at a bound: nothing extrapolated
        assert "not shown (no extrapolation from this fit)" in result.output
        assert "CEG drift: " not in result.output
    else:
        for text in ("CEG drift: ", "per 10× compute", "(extrapolated)", "sensitivity ("):
            assert text in result.output


def test_table_prints_the_tiers_verdicts_as_markdown_and_counts_the_decided(smoke_registry):
    path, _ = smoke_registry
    result = invoke("table", "--tier", "smoke", "--registry", str(path))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("| innovation | label | CEG drift per 10× compute")
    [row] = [line for line in lines if line.startswith("| gelu-to-swiglu |")]
    verdict = next(Database(path)["verdicts"].rows)
    assert f"| gelu-to-swiglu | {verdict['label']}" in row and "Gundlach et al. 2025: CEG 1.17×" in row
    assert lines[-1].startswith(f"smoke v{TIERS.get('smoke').version}: 1 of the registry's ")


def test_table_of_a_tier_without_verdicts_says_what_to_run(smoke_registry):
    path, _ = smoke_registry
    result = CliRunner().invoke(cli, ["table", "--tier", "cpu", "--registry", str(path)])
    assert result.exit_code == 1
    assert f"no verdict on tier cpu v{CPU_VERSION}" in result.output
    assert "cegbench run --tier cpu" in result.output


@pytest.fixture(scope="module")
def planted_registry(tmp_path_factory):
    """Two parts and a bundle of planted runs on the cpu tier, analysed by the CLI."""
    from analysis_fixtures import add_planted_innovation, planted_innovation
    from cegbench.registry.opening import open_registry

    path = tmp_path_factory.mktemp("planted") / "registry.db"
    db, tier, rng = open_registry(path), TIERS.get("cpu"), np.random.default_rng(0)
    add_planted_innovation(db, planted_innovation("part-a"), tier, rng)
    add_planted_innovation(db, planted_innovation("part-b"), tier, rng, excess=(2.0, 1.9))
    bundle = planted_innovation("bundle", parts=("part-a", "part-b", "part-unrun"))
    add_planted_innovation(db, bundle, tier, rng, alphas=(0.15, 0.2), excess=(2.0, 1.7),
                           seconds_per_flop=(1e-9, 2e-9), n_failed=2)
    result = invoke("analyze", "--tier", "cpu", "--innovation", "bundle", "--innovation", "part-a",
                    "--innovation", "part-b", "--registry", str(path))
    assert result.exit_code == 0, result.output
    return path, result.output


def test_analyze_puts_parts_before_bundles(planted_registry):
    _, output = planted_registry
    order = [line.split(" [")[0] for line in output.splitlines()]
    assert order == ["part-a", "part-b", "bundle"]


def test_show_prints_every_part_of_a_verdict(planted_registry):
    path, _ = planted_registry
    output = invoke("show", "bundle", "--registry", str(path)).output
    tier = TIERS.get("cpu")
    top, bottom = f"C = {fmt_compute(max(tier.budgets))}: ", f"C = {fmt_compute(min(tier.budgets))}: "
    n_runs = 2 * len(tier.budgets) * 3 * len(tier.seeds)  # arms × budgets × ladder × seeds
    for text in (f"tier cpu v{CPU_VERSION}: scale-dependent (grows with scale)",
                 f"runs: {n_runs - 2} ok, 2 failed (left out); the intervals rest on 2 seeds per cell",
                 f"headline CEG at {fmt_compute(tier.headline_compute)} FLOPs: ",
                 "fits L*(C) = E + A·C^−α (law: shared E), 95% CI:",
                 "bracketed (parabola vertex)",
                 top, "(measured)", "C = 2e23: ", "(extrapolated)",
                 "CEG at target loss (reference-work style",
                 "wall-clock CEG(C) (CEG × baseline/modern seconds per FLOP)",
                 "sensitivity (", "drop smallest budget", "drop largest budget", "E fixed", "E per arm",
                 "composition at C = ", "part part-a: ", "part part-b: ",
                 "missing (no current verdict in this tier): part-unrun",
                 "warning: 2 failed run(s) left out of the analysis"):
        assert text in output, text
    # the modern arm is twice as slow per FLOP: its wall-clock gain is about half
    ceg = _number_after(output, "CEG(C), 95% CI:\n    " + bottom)
    wall = _number_after(output, "seconds per FLOP), 95% CI:\n    " + bottom)
    assert wall == pytest.approx(ceg / 2, rel=0.05)


def _number_after(text: str, prefix: str) -> float:
    return float(text.split(prefix, 1)[1].split("×", 1)[0])


def test_show_prints_a_decision_estimate_for_an_inconclusive_verdict(tmp_path):
    from analysis_fixtures import add_planted_innovation, planted_innovation
    from cegbench.registry.opening import open_registry

    path = tmp_path / "registry.db"
    db = open_registry(path)
    add_planted_innovation(db, planted_innovation("noisy"), TIERS.get("cpu"), np.random.default_rng(1),
                           noise=0.03)
    assert invoke("analyze", "--tier", "cpu", "--registry", str(path)).exit_code == 0
    output = invoke("show", "noisy", "--registry", str(path)).output
    assert f"tier cpu v{CPU_VERSION}: inconclusive" in output
    assert "  to decide: " in output and "simulations from the fitted laws and noise" in output


def test_analyze_and_site(smoke_registry, tmp_path):
    path, _ = smoke_registry
    result = invoke("analyze", "--registry", str(path))
    assert result.exit_code == 0 and "gelu-to-swiglu [smoke]:" in result.output
    out = tmp_path / "site"
    result = invoke("site", "--registry", str(path), "--out", str(out))
    assert result.exit_code == 0, result.output
    index = (out / "index.html").read_text()
    assert "GeLU → SwiGLU" in index
    assert (out / "innovation" / "gelu-to-swiglu.html").exists()


def test_list_and_plugins():
    result = invoke("list")
    assert result.exit_code == 0
    for name in ("gelu-to-swiglu", "layernorm-to-rmsnorm", "adam-to-adamw", "lstm-to-transformer"):
        assert name in result.output
    declared = json.loads(invoke("list", "--json").output)
    swiglu = next(d for d in declared if d["name"] == "gelu-to-swiglu")
    assert swiglu["baseline"]["activation"] == "gelu" and swiglu["modern"]["activation"] == "swiglu"
    assert json.loads(invoke("plugins").output) == []  # no third-party plugins here
    builtins = json.loads(invoke("plugins", "--all").output)
    swiglu_plugin = next(p for p in builtins if p["name"] == "cegbench.plugins.swiglu")
    assert swiglu_plugin["distribution"] == "cegbench" and swiglu_plugin["version"]
    assert swiglu_plugin["hooks"] == ["cegbench_register_innovations"]


@pytest.mark.parametrize("args, message", [
    (["run", "--tier", "smok"], "Unknown tier 'smok'. Did you mean: smoke?"),
    (["run", "--tier", "smoke", "--innovation", "gelu-to-swiglo"], "Did you mean: gelu-to-swiglu"),
    (["run", "--tier", "smoke", "--jobs", "0"], "Invalid value for '--jobs'"),
    (["run"], "Missing option '--tier'"),
    (["show", "nobody", "--registry", "/nonexistent/dir/r.db"], None),
    (["site", "--registry", "/no/such/registry.db"], "does not exist"),
])
def test_bad_arguments_exit_2_with_a_clear_message(args, message):
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2 or (message is None and result.exit_code != 0), result.output
    if message:
        assert message in result.output


def test_broken_plugin_file_is_named(tmp_path):
    plugin = tmp_path / "bad_plugin.py"
    plugin.write_text(
        "from cegbench import Innovation, Recipe, hookimpl\n"
        "@hookimpl\n"
        "def cegbench_register_innovations():\n"
        "    return [Innovation(name='x-y', title='t', category='architecture', year=2020,\n"
        "        paper='https://example.org', description='d', baseline=Recipe(), modern=Recipe())]\n"
    )
    result = CliRunner().invoke(cli, ["list", "--plugins", str(plugin)])
    assert result.exit_code == 1
    assert "plugin 'bad_plugin', innovation 'x-y'" in result.output
    assert "identical" in result.output


def cegbench(*args, env=None, **kwargs):
    return subprocess.run([sys.executable, "-m", "cegbench.cli.main", *args], capture_output=True,
                          text=True, env=env, **kwargs)


def test_ctrl_c_then_rerun_finishes_without_redoing_finished_runs(tmp_path):
    path = tmp_path / "r.db"
    plugin = Path(__file__).parent / "plugin_files" / "tiny_sweep.py"  # 8 short runs
    args = [sys.executable, "-m", "cegbench.cli.main", "run", "--tier", "smoke", "--innovation",
            "tiny-sweep", "--plugins", str(plugin), "--registry", str(path), "--no-analyze"]
    one_thread = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env=one_thread)
    deadline = time.time() + 300
    while time.time() < deadline:
        time.sleep(0.05)
        if path.exists() and "runs" in Database(path).table_names() and Database(path)["runs"].count >= 3:
            break
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 130, output
    assert "interrupted" in output and "run the same command again" in output
    before = {r["run_id"]: r["started_at"] for r in Database(path)["runs"].rows}
    assert 3 <= len(before)
    finished = subprocess.run(args, capture_output=True, text=True, timeout=600, env=one_thread)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert f"{len(before)} already recorded" in finished.stdout
    after = {r["run_id"]: r["started_at"] for r in Database(path)["runs"].rows}
    assert all(after[run_id] == started for run_id, started in before.items())
    assert len(after) == 8


def test_third_party_package_installed_with_pip_is_listed_and_runs(tmp_path):
    target = tmp_path / "site-packages"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(EXAMPLE_PLUGIN)],
        capture_output=True, text=True,
    )
    assert install.returncode == 0, install.stderr
    env = {**os.environ, "PYTHONPATH": str(target)}
    env.pop("CEGBENCH_DISABLE_PLUGIN_AUTOLOAD", None)
    listed = cegbench("list", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "gelu-to-geglu" in listed.stdout
    [plugin] = json.loads(cegbench("plugins", env=env).stdout)
    assert (plugin["name"], plugin["distribution"], plugin["version"]) == (
        "geglu", "cegbench-geglu", "0.1.0")
    assert plugin["components"] == ["activation:geglu"]
    registry = tmp_path / "r.db"
    ran = cegbench("run", "--tier", "smoke", "--innovation", "gelu-to-geglu",
                   "--registry", str(registry), "--jobs", "2", env=env, timeout=600)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    db = Database(registry)
    assert db["runs"].count > 0
    assert {r["status"] for r in db["runs"].rows} == {"ok"}, [r["error"] for r in db["runs"].rows]
    row = next(db["runs"].rows)
    assert (row["distribution"], row["plugin_version"]) == ("cegbench-geglu", "0.1.0")
    assert db["verdicts"].count == 1


def test_every_command_has_help_and_is_documented():
    """Each command says what it does in --help and is shown in the README or docs/."""
    root = Path(__file__).parent.parent
    documents = "\n".join(p.read_text() for p in [root / "README.md", *(root / "docs").glob("*.md")])
    assert len(cli.commands) >= 9
    for name, command in cli.commands.items():
        assert command.help and command.help.strip(), f"`cegbench {name}` has no help text"
        result = CliRunner().invoke(cli, [name, "--help"])
        first_words = " ".join(command.help.split()[:6])
        assert result.exit_code == 0 and first_words in " ".join(result.output.split())
        assert f"cegbench {name}" in documents, f"`cegbench {name}` is in neither README nor docs/"


def test_show_says_when_the_label_is_read_off_the_equal_loss_cegs(tmp_path):
    from site_fixtures import sample_registry

    db = sample_registry(tmp_path / "registry.db")
    db["verdicts"].update(("gelu-to-swiglu", "small", 2), {
        "label_basis": "equal-loss CEGs", "drift": 1.3, "drift_low": 1.1, "drift_high": 1.5,
        "loss_drift": 1.3, "loss_drift_low": 1.1, "loss_drift_high": 1.5,
        "withheld": json.dumps(["fit at a bound: shared E at its lower bound 0 (2e-10)"])})
    output = invoke("show", "gelu-to-swiglu", "--registry", str(tmp_path / "registry.db")).output
    section = output[output.index("tier small v2:"):]
    section = section.split("literature (what published work found")[0]  # the verdict, not the sources
    assert "CEG drift from equal-loss CEGs (model-free): 1.30× [1.10, 1.50] per 10× compute" in section
    assert ("fitted law not a result, so the label is read off the equal-loss CEGs and no extrapolated "
            "CEG is shown: fit at a bound: shared E at its lower bound 0 (2e-10)") in section
    assert "label withheld" not in section and "display only" not in section
