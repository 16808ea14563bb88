"""Hostile plugins through the command line: every broken plugin is one clear line.

A ``--plugins`` file the user named is fatal (exit 1); the same plugin installed
as an entry point is reported and skipped while the built-ins keep working
(fatal under ``CEGBENCH_STRICT_PLUGINS=1``). Nothing prints a traceback.
"""

import dataclasses
import importlib.metadata
import json
import re
import textwrap
import types

import pytest
from click.testing import CliRunner

from cegbench.cli.main import cli

INNOVATION = '''
@hookimpl
def cegbench_register_innovations():
    return [Innovation(name="hostile-one", title="t", category="architecture", year=2020,
                       paper="https://example.org", description="d",
                       baseline=Recipe(), modern=Recipe({modern}))]
'''
HEADER = ("import math\nimport torch\nfrom cegbench import Component, Innovation, Recipe, hookimpl\n"
          "from cegbench.models.gpt import GPTFamily\n")


def component_plugin(declaration: str, modern: str = "activation='relu'") -> str:
    return HEADER + textwrap.dedent(f'''
    class Cube(torch.nn.Module):
        gated = False
        def forward(self, x):
            return x ** 3

    class NoGate(torch.nn.Module):
        def forward(self, x):
            return x

    class Opt:
        base_lr = 1e-3
        def build(self, model, lr):
            return torch.optim.SGD(model.parameters(), lr=lr)

    class NoRate:
        def build(self, model, lr):
            return torch.optim.SGD(model.parameters(), lr=lr)

    @hookimpl
    def cegbench_register_components():
        return [{declaration}]
    ''') + INNOVATION.format(modern=modern)


HOSTILE = {
    "hook raises": (HEADER + '''
@hookimpl
def cegbench_register_innovations():
    raise KeyError("no such thing")
''', "plugin 'hostile': cegbench_register_innovations() raised KeyError"),
    "missing Innovation field": (HEADER + '''
@hookimpl
def cegbench_register_innovations():
    return [Innovation(name="x-y", title="t", category="architecture", year=2020,
                       paper="https://example.org", baseline=Recipe(),
                       modern=Recipe(norm="rmsnorm"))]
''', "cegbench_register_innovations() raised TypeError"),
    "misspelled hook": (HEADER + '''
@hookimpl
def cegbench_register_inovations():
    return []
''', "function 'cegbench_register_inovations' is marked @hookimpl but is not a cegbench "
     "hook; did you mean 'cegbench_register_innovations'?"),
    "hook with an argument": (HEADER + '''
@hookimpl
def cegbench_register_innovations(config):
    return []
''', "plugin 'hostile'"),
    "returns a dict": (HEADER + '''
@hookimpl
def cegbench_register_components():
    return {"a": 1}
''', "cegbench_register_components() must return a list, got dict"),
    "optimizer without base_lr": (
        component_plugin('Component("optimizer", "norate", NoRate())', "optimizer='norate'"),
        "plugin 'hostile', component 'norate' (optimizer): field 'implementation': an "
        "optimizer needs 'base_lr'"),
    "optimizer class instead of object": (
        component_plugin('Component("optimizer", "opt", Opt)', "optimizer='opt'"),
        "an optimizer must be an object (an instance), got the class Opt; register Opt()"),
    "optimizer with a string base_lr": (
        component_plugin('Component("optimizer", "opt", type("O", (Opt,), {"base_lr": "1e-3"})())'),
        "an optimizer's 'base_lr' must be a positive finite number, got '1e-3'"),
    "activation without gated": (
        component_plugin('Component("activation", "nogate", NoGate)', "activation='nogate'"),
        "component 'nogate' (activation): field 'implementation': an activation class needs a "
        "class attribute 'gated'"),
    "activation instance instead of class": (
        component_plugin('Component("activation", "cube", Cube())', "activation='cube'"),
        "an activation must be an nn.Module class (the model builds instances), got the Cube "
        "object"),
    "norm without dim": (
        component_plugin('Component("norm", "bad-norm", Cube)', "norm='bad-norm'"),
        "a norm class must take (dim) when built, but Cube defines no __init__, so it takes no "
        "arguments"),
    "position with the wrong constructor": (
        component_plugin('''Component("position", "pos", type("P", (torch.nn.Module,), {
            "__init__": lambda self, n_embd: None, "embed": None, "rotate": None}))'''),
        "a position class must accept (n_embd, n_head, context), but its signature is"),
    "schedule returning NaN": (
        component_plugin('Component("schedule", "nan", lambda progress: math.nan)'),
        "a schedule must return a finite multiplier >= 0, but at progress 0.0 it returned nan"),
    "schedule that raises": (
        component_plugin('Component("schedule", "boom", lambda progress: 1 / 0)'),
        "the schedule raised ZeroDivisionError at progress 0.0"),
    "family that is no ModelFamily": (
        component_plugin('Component("family", "fam", object())'),
        "a family must be a cegbench.models.ModelFamily object"),
    "family class instead of object": (
        component_plugin('Component("family", "fam", Opt)'),
        "a family must be a cegbench.models.ModelFamily object, got the class Opt; register Opt()"),
    "allocation with the wrong arguments": (
        component_plugin('Component("allocation", "alloc", lambda budget: [16])'),
        "an allocation must accept (budget, tier, family, recipe, vocab_size, components)"),
    "component name with a space": (
        component_plugin('Component("activation", "my cube", Cube)'),
        "component 'my cube': field 'name' must be 1-63 lowercase letters"),
    "component name with markup": (
        component_plugin('Component("activation", "<b>cube</b>", Cube)'),
        "field 'name' must be 1-63 lowercase letters"),
    "unknown component kind": (
        component_plugin('Component("optimiser", "opt", Opt())'),
        "field 'kind' must be one of"),
    "component clashes with a built-in": (
        component_plugin('Component("activation", "relu", Cube)'),
        "activation 'relu' is registered twice: by plugin 'cegbench.models.layers' and by "
        "plugin 'hostile'; kept the one from plugin 'cegbench.models.layers'"),
    "unknown bundle part": (HEADER + '''
@hookimpl
def cegbench_register_innovations():
    return [Innovation(name="bundle-x", title="t", category="architecture", year=2020,
                       paper="https://example.org", description="d", parts=("gelu-to-swiglo",),
                       baseline=Recipe(), modern=Recipe(activation="swiglu"))]
''', "innovation 'bundle-x': field 'parts': Unknown innovation 'gelu-to-swiglo'. Did you mean: "
     "gelu-to-swiglu"),
    "innovation clashes with a built-in": (HEADER + '''
@hookimpl
def cegbench_register_innovations():
    return [Innovation(name="gelu-to-swiglu", title="t", category="architecture", year=2020,
                       paper="https://example.org", description="d",
                       baseline=Recipe(), modern=Recipe(activation="relu"))]
''', "innovation 'gelu-to-swiglu' is registered twice: by plugin 'cegbench.plugins.swiglu' and "
     "by plugin 'hostile'; kept the one from plugin 'cegbench.plugins.swiglu'"),
    "literature number beyond float range": (HEADER + '''
from cegbench.literature import Finding

@hookimpl
def cegbench_register_innovations():
    return [Innovation(name="hostile-one", title="t", category="architecture", year=2020,
                       paper="https://example.org", description="d", baseline=Recipe(),
                       modern=Recipe(activation="relu"),
                       literature=(Finding("S", "https://example.org", "big", ceg=10**400),))]
''', "innovation 'hostile-one': field 'literature'[0]: field 'ceg' must be None, a positive "
     "number"),
    "title with a lone surrogate": (HEADER + '''
@hookimpl
def cegbench_register_innovations():
    return [Innovation(name="hostile-one", title="GeLU \\ud800 ReLU", category="architecture",
                       year=2020, paper="https://example.org", description="d",
                       baseline=Recipe(), modern=Recipe(activation="relu"))]
''', "innovation 'hostile-one': field 'title' holds '\\ud800' at position 5, a lone surrogate"),
    "literature source with a lone surrogate": (HEADER + '''
from cegbench.literature import Finding

@hookimpl
def cegbench_register_innovations():
    return [Innovation(name="hostile-one", title="t", category="architecture", year=2020,
                       paper="https://example.org", description="d", baseline=Recipe(),
                       modern=Recipe(activation="relu"),
                       literature=(Finding("S\\udfff", "https://example.org", "s"),))]
''', "field 'literature'[0]: field 'source' holds '\\udfff' at position 1, a lone surrogate"),
    "optimizer base_lr beyond float range": (
        component_plugin('Component("optimizer", "opt", type("O", (Opt,), {"base_lr": 10**400})())',
                         "optimizer='opt'"),
        "an optimizer's 'base_lr' must be a positive finite number"),
    "schedule beyond float range": (
        component_plugin('Component("schedule", "huge", lambda progress: 10**400)', "schedule='huge'"),
        "a schedule must return a finite multiplier >= 0, but at progress 0.0 it returned 1000"),
    "family whose FLOPs formula returns 0": (
        component_plugin('Component("family", "zero", type("Z", (GPTFamily,), {'
                         '"flops_per_token": lambda self, *args: 0})())', "family='zero'"),
        "plugin 'hostile', component 'zero' (family): field 'implementation': flops_per_token() "
        "must return a finite number > 0, but at width 16 it returned 0 (innovation "
        "'hostile-one', arm 'modern', tier "),
    "family whose parameter count is not an integer": (
        component_plugin('Component("family", "half", type("H", (GPTFamily,), {'
                         '"n_params": lambda self, *args: 0.5})())', "family='half'"),
        "n_params() must return an integer >= 1, but at width 16 it returned 0.5"),
    "import fails": ("import not_a_module_anywhere\n", "ModuleNotFoundError"),
    "syntax error": ("def (:\n", "SyntaxError"),
    "exits at import": ("raise SystemExit(3)\n", "SystemExit"),
}


def invoke(*args):
    return CliRunner().invoke(cli, list(args))


def assert_one_line(result, exit_code, expected):
    assert result.exit_code == exit_code, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    errors = [line for line in result.output.splitlines() if line.startswith(("Error", "warning"))]
    assert any(expected in line for line in errors), result.output


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_plugin_file_is_one_line_and_exit_1(tmp_path, case):
    source, expected = HOSTILE[case]
    path = tmp_path / "hostile.py"
    path.write_text(source)
    result = invoke("list", "--plugins", str(path))
    assert_one_line(result, 1, expected)
    assert len(result.output.strip().splitlines()) == 1, result.output


class Dist:
    name = "cegbench-hostile"
    version = "6.6"


class EntryPoint:
    def __init__(self, name, module):
        self.name, self.value, self.dist, self._module = name, f"{name}_pkg", Dist(), module

    def load(self):
        return self._module


def install(monkeypatch, source, name="hostile"):
    module = types.ModuleType(name)
    exec(compile(source, f"<{name}>", "exec"), module.__dict__)
    monkeypatch.setattr(importlib.metadata, "entry_points",
                        lambda group: [EntryPoint(name, module)])
    monkeypatch.setenv("CEGBENCH_DISABLE_PLUGIN_AUTOLOAD", "0")


@pytest.mark.parametrize("case", [c for c in HOSTILE if c not in
                                  ("import fails", "syntax error", "exits at import")])
def test_hostile_entry_point_is_reported_and_skipped(monkeypatch, case):
    source, expected = HOSTILE[case]
    install(monkeypatch, source)
    result = invoke("list")
    assert_one_line(result, 0, expected)
    warning = next(line for line in result.output.splitlines() if expected in line)
    assert warning.endswith("plugin 'hostile' from distribution 'cegbench-hostile' 6.6 skipped")
    assert "gelu-to-swiglu" in result.output  # the built-ins keep working
    listed = [line.split()[0] for line in result.output.splitlines()
              if line and not line.startswith("warning")]
    assert "hostile-one" not in listed and "bundle-x" not in listed

    monkeypatch.setenv("CEGBENCH_STRICT_PLUGINS", "1")
    strict = invoke("list")
    assert_one_line(strict, 1, expected)
    assert "skipped" not in strict.output and "CEGBENCH_STRICT_PLUGINS=1" in strict.output


def test_a_skipped_plugin_takes_its_components_along(monkeypatch, tmp_path):
    """An entry point whose innovation is broken is skipped whole: its component too."""
    install(monkeypatch, component_plugin('Component("activation", "cube", Cube)',
                                          "activation='cube', norm_placement='middle'"))
    result = invoke("plugins", "--all")
    assert result.exit_code == 0
    assert '"hostile"' not in result.output and "activation:cube" not in result.output


def test_skipped_innovation_cannot_be_run(monkeypatch, tmp_path):
    install(monkeypatch, HOSTILE["hook raises"][0])
    result = invoke("run", "--tier", "smoke", "--innovation", "hostile-one",
                    "--registry", str(tmp_path / "r.db"))
    assert result.exit_code == 2 and "Unknown innovation 'hostile-one'" in result.output
    assert not (tmp_path / "r.db").exists()


def test_plugins_file_that_is_not_python(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("remember the milk\n")
    result = invoke("list", "--plugins", str(notes))
    assert_one_line(result, 1, "is not a Python file: --plugins takes a path ending in .py")


def test_same_plugin_file_twice_loads_once(tmp_path):
    path = tmp_path / "cube.py"
    path.write_text(component_plugin('Component("activation", "cube", Cube)', "activation='cube'"))
    result = invoke("list", "--plugins", str(path), "--plugins", str(path))
    assert result.exit_code == 0, result.output
    assert result.output.count("hostile-one") == 1


def test_two_plugin_files_with_one_name(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for folder in ("a", "b"):
        (tmp_path / folder / "same.py").write_text("x = 1\n")
    result = invoke("list", "--plugins", str(tmp_path / "a" / "same.py"),
                    "--plugins", str(tmp_path / "b" / "same.py"))
    assert_one_line(result, 1, "plugin 'same'")
    assert "is loaded twice" in result.output and "pluggy" not in result.output


def test_hook_without_hookimpl_is_warned_about(tmp_path):
    path = tmp_path / "unmarked.py"
    unmarked = INNOVATION.format(modern="activation='relu'").replace("@hookimpl\n", "")
    path.write_text(HEADER + unmarked)
    result = invoke("list", "--plugins", str(path))
    assert result.exit_code == 0
    assert ("warning: plugin 'unmarked' (" in result.output
            and "function 'cegbench_register_innovations' looks like the hook "
                "'cegbench_register_innovations' but is not marked @hookimpl" in result.output)


# -------------------------------------------------------------------------
# what plugins return while training (issue 30)

TRAINING = HEADER + '''
class Wrapped(torch.nn.Module):
    """The gpt model, its loss shifted below zero in training or in evaluation."""
    def __init__(self, inner, when):
        super().__init__()
        self.inner, self.when = inner, when
    def forward(self, idx, targets=None):
        logits, loss = self.inner(idx, targets)
        shift = (self.when == "training") == self.training
        return logits, (loss - 100.0 if loss is not None and shift else loss)

class NegativeTraining(GPTFamily):
    def build(self, *args):
        return Wrapped(super().build(*args), "training")

class NegativeHeldOut(GPTFamily):
    def build(self, *args):
        return Wrapped(super().build(*args), "held-out")

class OffByOne(GPTFamily):
    def n_params(self, *args):
        return super().n_params(*args) + 1

def negative_mid_run(progress):
    """Fine at 0, 0.5 and 1 (where it is checked at load), negative in between."""
    return -0.5 if 0.6 < progress < 0.9 else 1.0

@hookimpl
def cegbench_register_components():
    return [Component("schedule", "negative-mid-run", negative_mid_run),
            Component("schedule", "nan-late", lambda p: math.nan if 0.7 < p < 0.9 else 1.0),
            Component("family", "negative-training", NegativeTraining()),
            Component("family", "negative-held-out", NegativeHeldOut()),
            Component("family", "off-by-one", OffByOne())]

@hookimpl
def cegbench_register_innovations():
    return [Innovation(name="late-negative", title="t", category="schedule", year=2020,
                       paper="https://example.org", description="d",
                       baseline=Recipe(), modern=Recipe(schedule="negative-mid-run"))]
'''


@pytest.fixture(scope="module")
def training_catalog(tmp_path_factory):
    from cegbench.catalog.plugin_manager import load_catalog

    path = tmp_path_factory.mktemp("plugin") / "training_faults.py"
    path.write_text(TRAINING)
    return load_catalog([path]), path


@pytest.mark.parametrize("field, value, expected", [
    ("schedule", "negative-mid-run", "schedule 'negative-mid-run' returned -0.5 at progress 0.7 "
                                     "(step 7 of 10): negative"),
    ("schedule", "nan-late", "schedule 'nan-late' returned nan at progress 0.8 (step 8 of 10): not "
                             "a finite number"),
    ("family", "negative-training", "family 'negative-training' returned a negative training loss"),
    ("family", "negative-held-out", "family 'negative-held-out' returned a negative held-out loss"),
    ("family", "off-by-one", "family 'off-by-one': n_params() gives 7777 parameters at width 16, "
                             "but the model its build() makes has 7776"),
])
def test_what_a_plugin_returns_in_training_is_checked(training_catalog, one_thread, field, value,
                                                       expected):
    """Before: a schedule negative after its load-time checks trained 22 of 24 runs "ok" by
    gradient ascent; a negative held-out loss was recorded ok; an n_params off by one made
    every run unimportable."""
    from cegbench.innovations import Recipe
    from cegbench.plan.specs import TrainSpec
    from cegbench.tiers import TIERS
    from cegbench.train.trainer import run

    catalog, _ = training_catalog
    spec = TrainSpec.for_tier(TIERS.get("smoke"), recipe=Recipe(**{field: value}), budget=2.5e8,
                              width=16, seed=0, learning_rate=0.004)
    result = run(spec, catalog.components)
    assert result.status == "failed" and expected in result.error, result.error
    assert not result.error.startswith("diverged")


def test_a_schedule_negative_mid_run_fails_the_cli_run(training_catalog, tmp_path):
    _, path = training_catalog
    result = invoke("run", "--tier", "smoke", "--innovation", "late-negative", "--plugins", str(path),
                    "--jobs", "1", "--device", "cpu", "--no-analyze",
                    "--registry", str(tmp_path / "r.db"))
    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    failed = [line for line in result.output.splitlines() if "failed: " in line]
    assert failed and all("late-negative modern" in line and "schedule 'negative-mid-run' "
                          "returned -0.5 at progress" in line for line in failed), result.output
    from cegbench.registry.opening import open_registry

    runs = list(open_registry(tmp_path / "r.db", readonly=True)["runs"].rows)
    bad = [r for r in runs if r["status"] == "failed"]
    assert len(bad) == len(failed) and all(r["arm"] == "modern" for r in bad)
    # the runs the schedule let through never stepped where it is negative
    assert all(r["status"] == "ok" for r in runs if r["arm"] == "baseline")


# -------------------------------------------------------------------------
# output that plugins cannot break (issue 30)

CHATTY = HEADER + '''
print("hello from the plugin's import")

class Chatty(GPTFamily):
    def n_params(self, *args):
        print("counting parameters")
        return super().n_params(*args)

@hookimpl
def cegbench_register_components():
    print("registering components")
    return [Component("family", "chatty", Chatty())]

@hookimpl
def cegbench_register_innovations():
    print("registering innovations")
    return [Innovation(name="hostile-one", title="t", category="architecture", year=2020,
                       paper="https://example.org", description="d",
                       baseline=Recipe(), modern=Recipe(family="chatty", activation="relu"))]
'''


@pytest.mark.parametrize("args", [["list", "--json"], ["plugins"],
                                  ["plan", "--tier", "smoke", "--innovation", "hostile-one", "--json"]])
def test_a_plugin_that_prints_cannot_break_json_output(tmp_path, args):
    path = tmp_path / "chatty.py"
    path.write_text(CHATTY)
    result = invoke(*args, "--plugins", str(path))
    assert result.exit_code == 0, result.output
    if args[0] == "plan":
        cells = [json.loads(line) for line in result.stdout.splitlines()]
        assert cells and all(c["innovation"] == "hostile-one" for c in cells)
    else:
        json.loads(result.stdout)
    assert "hello from the plugin's import" in result.stderr


def test_a_plugin_slow_to_import_is_named(tmp_path, monkeypatch):
    path = tmp_path / "sleepy.py"
    path.write_text("import time\ntime.sleep(1.5)\n")
    monkeypatch.setenv("CEGBENCH_PLUGIN_SLOW_S", "0.2")
    result = invoke("list", "--plugins", str(path))
    assert result.exit_code == 0, result.output
    assert (f"cegbench: still loading plugin file '{path}' after 0.2 s; if it hangs, press "
            "Ctrl-C and leave it out") in result.stderr
    monkeypatch.setenv("CEGBENCH_PLUGIN_SLOW_S", "30")
    assert "still loading" not in invoke("list", "--plugins", str(path)).stderr


def test_an_installed_plugin_slow_to_import_is_named(monkeypatch):
    import time

    class Slow(EntryPoint):
        def load(self):
            time.sleep(1.0)
            return super().load()

    module = types.ModuleType("sleepy")
    monkeypatch.setattr(importlib.metadata, "entry_points",
                        lambda group: [Slow("sleepy", module)])
    monkeypatch.setenv("CEGBENCH_DISABLE_PLUGIN_AUTOLOAD", "0")
    monkeypatch.setenv("CEGBENCH_PLUGIN_SLOW_S", "0.2")
    result = invoke("list")
    assert result.exit_code == 0, result.output
    assert ("still loading plugin 'sleepy' (sleepy = sleepy_pkg, distribution "
            "'cegbench-hostile') after 0.2 s") in result.stderr


TRICKY = HEADER + '''
@hookimpl
def cegbench_register_innovations():
    return [Innovation(name="hostile-one", title="\\x1b[2J\\x1b]0;pwned\\x07Fake\\rtitle\\u202e",
                       category="architecture", year=2020, paper="https://example.org/a b<x>",
                       description="one\\n# heading <script>alert(1)</script> "
                                   "[click](javascript:alert(1)) <javascript:alert(2)> "
                                   "![img](https://evil.example/x.png)",
                       baseline=Recipe(), modern=Recipe(activation="relu"))]
'''


def test_control_codes_from_a_plugin_never_reach_the_terminal(tmp_path):
    path = tmp_path / "tricky.py"
    path.write_text(TRICKY)
    result = invoke("list", "--plugins", str(path))
    assert result.exit_code == 0, result.output
    line = next(line for line in result.stdout.splitlines() if line.startswith("hostile-one"))
    assert "\\x1b[2J\\x1b]0;pwned\\x07Fake\\rtitle\\u202e" in line
    assert not re.search("[\x00-\x09\x0b-\x1f\x7f\u202e]", result.stdout)


def test_list_markdown_passes_no_html_or_links_of_a_plugin(tmp_path):
    path = tmp_path / "tricky.py"
    path.write_text(TRICKY)
    result = invoke("list", "--markdown", "--plugins", str(path))
    assert result.exit_code == 0, result.output
    page = result.stdout
    assert "<script>" not in page and "\n# heading" not in page
    for link in (r"\]\(javascript:", r"<javascript:", r"!\[img\]\("):  # only escaped ones
        assert not re.search(r"(?<!\\)" + link, page), link
    assert "\\<script\\>alert(1)\\</script\\>" in page and "\\[click\\](javascript:alert(1))" in page
    assert "<https://example.org/a%20b%3Cx%3E>" in page
    row = next(line for line in page.splitlines() if line.startswith("| [") and "hostile-one" in line)
    assert len(re.findall(r"(?<!\\)\|", row)) == 8  # 7 cells: no cell split


def test_show_and_status_escape_registry_text(tmp_path, catalog):
    from cegbench.registry.db import innovation_row, save_innovations, save_run
    from cegbench.registry.opening import open_registry

    db = open_registry(tmp_path / "r.db")
    swiglu = catalog.innovations.get("gelu-to-swiglu")
    row = innovation_row(swiglu, catalog.plugin_info(swiglu.plugin))
    save_innovations(db, [{**row, "title": "\x1b[31mRed\x1b[0m\rOver"},
                          {**row, "name": "gone\x1b[2J", "plugin": "gone"}])
    save_run(db, {"run_id": "r1", "innovation": "gone\x1b[2J", "arm": "baseline", "tier": "smoke",
                  "tier_version": 2, "budget": 2.5e8, "width": 16, "seed": 0, "status": "ok",
                  "final_loss": 3.0, "declaration_hash": "x"})
    db.close()
    shown = invoke("show", "gelu-to-swiglu", "--registry", str(tmp_path / "r.db"))
    assert shown.exit_code == 0 and "\\x1b[31mRed\\x1b[0m\\rOver" in shown.stdout, shown.output
    status = invoke("status", "--tier", "smoke", "--registry", str(tmp_path / "r.db"))
    assert status.exit_code == 0 and "gone\\x1b[2J  not loaded" in status.stdout, status.output
    for result in (shown, status):
        assert "\x1b" not in result.output and "\r" not in result.output


def test_a_negative_loss_read_back_every_k_steps_is_the_same_failure(training_catalog, one_thread):
    """The GPU path's sync-free check (bad steps kept on the device, read back every k
    steps) names the family's negative loss exactly as the per-step check does."""
    from cegbench.innovations import Recipe
    from cegbench.plan.specs import TrainSpec
    from cegbench.tiers import TIERS
    from cegbench.train.trainer import CUDA_CHECK_EVERY, DeviceSettings, run

    catalog, _ = training_catalog
    spec = TrainSpec.for_tier(TIERS.get("smoke"), recipe=Recipe(family="negative-training"),
                              budget=2.5e8, width=16, seed=0, learning_rate=0.004)
    lazy = run(spec, catalog.components, settings=DeviceSettings("cpu", None, CUDA_CHECK_EVERY))
    every = run(spec, catalog.components)
    assert lazy.status == every.status == "failed" and lazy.error == every.error
    assert lazy.error.startswith("family 'negative-training' returned a negative training loss")
    from cegbench.train.pack import run_pack

    packed = run_pack([spec, dataclasses.replace(spec, seed=1)], catalog.components)
    assert [r.status for r in packed] == ["failed", "failed"]
    assert all(r.error.startswith("family 'negative-training' returned a negative training loss")
               for r in packed), [r.error for r in packed]
