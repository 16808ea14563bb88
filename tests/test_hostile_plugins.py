"""Hostile plugins through the command line: every broken plugin is one clear line.

A ``--plugins`` file the user named is fatal (exit 1); the same plugin installed
as an entry point is reported and skipped while the built-ins keep working
(fatal under ``CEGBENCH_STRICT_PLUGINS=1``). Nothing prints a traceback.
"""

import importlib.metadata
import textwrap
import types

import pytest
from click.testing import CliRunner

from cegbench.cli import cli

INNOVATION = '''
@hookimpl
def cegbench_register_innovations():
    return [Innovation(name="hostile-one", title="t", category="architecture", year=2020,
                       paper="https://example.org", description="d",
                       baseline=Recipe(), modern=Recipe({modern}))]
'''
HEADER = "import math\nimport torch\nfrom cegbench import Component, Innovation, Recipe, hookimpl\n"


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
