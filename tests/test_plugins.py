"""Plugin loading and the validation of every declaration."""

import importlib.metadata
import textwrap

import pytest

from cegbench import hookspecs
from cegbench.catalog.plugin_manager import DEFAULT_PLUGINS, load_catalog
from cegbench.catalog.sources import PluginError

BUILTIN_INNOVATIONS = {"gelu-to-swiglu", "layernorm-to-rmsnorm", "adam-to-adamw", "lstm-to-transformer"}

GOOD_PLUGIN = '''
from cegbench import Innovation, Recipe, hookimpl

@hookimpl
def cegbench_register_innovations():
    return [Innovation(
        name="relu-to-gelu-local", title="ReLU → GeLU", category="architecture", year=2016,
        paper="https://arxiv.org/abs/1606.08415", description="A test innovation.",
        baseline=Recipe(activation="relu"), modern=Recipe(activation="gelu"))]
'''


def write_plugin(tmp_path, source, name="my_plugin.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return str(path)


def broken_innovation(**changes):
    fields = dict(
        name="'broken-one'", title="'t'", category="'architecture'", year="2020",
        paper="'https://example.org'", description="'d'",
        baseline="Recipe(activation='relu')", modern="Recipe(activation='gelu')",
    )
    fields.update(changes)
    args = ", ".join(f"{k}={v}" for k, v in fields.items())
    return f'''
from cegbench import Innovation, Recipe, hookimpl

@hookimpl
def cegbench_register_innovations():
    return [Innovation({args})]
'''


def test_builtins_load_as_plugins(catalog):
    names = {p.name for p in catalog.plugins if p.builtin}
    assert names == set(DEFAULT_PLUGINS)
    assert BUILTIN_INNOVATIONS <= set(catalog.innovations)
    swiglu = catalog.innovations.get("gelu-to-swiglu")
    assert swiglu.plugin == "cegbench.plugins.swiglu"
    assert catalog.plugin_info("cegbench.plugins.swiglu").innovations == ["gelu-to-swiglu"]
    assert not catalog.problems


def test_hook_cegbench_register_innovations(tmp_path):
    catalog = load_catalog([write_plugin(tmp_path, GOOD_PLUGIN)])
    innovation = catalog.innovations.get("relu-to-gelu-local")
    assert innovation.plugin == "my_plugin"
    info = catalog.plugin_info("my_plugin")
    assert info.builtin is False and info.innovations == ["relu-to-gelu-local"]
    assert info.hooks == ["cegbench_register_innovations"]


def test_hook_cegbench_register_components(tmp_path):
    source = '''
    import torch
    from cegbench import Component, Innovation, Recipe, hookimpl

    class Cube(torch.nn.Module):
        gated = False
        def forward(self, x):
            return x ** 3

    @hookimpl
    def cegbench_register_components():
        return [Component("activation", "cube", Cube, "x³")]

    @hookimpl
    def cegbench_register_innovations():
        return [Innovation(name="gelu-to-cube", title="t", category="architecture", year=2024,
                           paper="https://example.org", description="d",
                           baseline=Recipe(), modern=Recipe(activation="cube"))]
    '''
    catalog = load_catalog([write_plugin(tmp_path, source)])
    assert catalog.components.get("activation", "cube").__name__ == "Cube"
    assert catalog.plugin_info("my_plugin").components == ["activation:cube"]
    assert "gelu-to-cube" in catalog.innovations


@pytest.mark.parametrize(
    "changes, expected",
    [
        ({"modern": "Recipe(activation='relu')"}, "fields 'baseline' and 'modern' are identical"),
        ({"modern": "Recipe(activation='swiglo')"}, "field 'activation': Unknown activation 'swiglo'. Did you mean: swiglu?"),
        ({"year": "'2020'"}, "field 'year' must be int, got str '2020'"),
        ({"category": "'magic'"}, "field 'category' must be one of"),
        ({"name": "'Not A Slug'"}, "field 'name' must be a slug"),
        ({"paper": "'arxiv 1234'"}, "field 'paper' must be an http(s) URL"),
        ({"description": "'   '"}, "field 'description' is empty"),
        ({"baseline": "dict(activation='relu')"}, "arm 'baseline' must be a cegbench.Recipe"),
        ({"modern": "Recipe(norm_placement='middle')"}, "field 'norm_placement' must be one of"),
        ({"modern": "Recipe(tied_embeddings='no')"}, "field 'tied_embeddings' must be bool"),
        ({"modern": "Recipe(attention='gqa4')"}, "field 'attention' must be one of ('mha', 'gqa', 'mqa')"),
        ({"modern": "Recipe(mlp='sparse')"}, "field 'mlp' must be one of ('dense', 'moe')"),
        ({"modern": "Recipe(qk_norm=1)"}, "field 'qk_norm' must be bool"),
        ({"modern": "Recipe(attention_kernel='flash')"},
         "field 'attention_kernel': Unknown attention_kernel 'flash'"),
    ],
)
def test_invalid_declarations_name_plugin_and_field(tmp_path, changes, expected):
    path = write_plugin(tmp_path, broken_innovation(**changes))
    with pytest.raises(PluginError) as error:
        load_catalog([path])
    assert "plugin 'my_plugin'" in str(error.value)
    assert expected in str(error.value)


def test_duplicate_innovation_names_both_plugins(tmp_path):
    source = GOOD_PLUGIN.replace("relu-to-gelu-local", "gelu-to-swiglu")
    with pytest.raises(PluginError, match="registered twice: by plugin 'cegbench.plugins.swiglu' and by plugin 'my_plugin'"):
        load_catalog([write_plugin(tmp_path, source)])


def test_hook_must_return_declarations(tmp_path):
    source = '''
    from cegbench import hookimpl
    @hookimpl
    def cegbench_register_innovations():
        return ["not an innovation"]
    '''
    with pytest.raises(PluginError, match="plugin 'my_plugin': cegbench_register_innovations must return cegbench.Innovation objects, got str"):
        load_catalog([write_plugin(tmp_path, source)])


def test_unknown_hook_is_rejected(tmp_path):
    source = '''
    from cegbench import hookimpl
    @hookimpl
    def cegbench_register_innovatons():
        return []
    '''
    with pytest.raises(Exception, match="cegbench_register_innovatons"):
        load_catalog([write_plugin(tmp_path, source)])


def test_plugin_file_that_fails_to_import(tmp_path):
    path = write_plugin(tmp_path, "import not_a_module_anywhere\n")
    with pytest.raises(PluginError, match="Error importing plugin file .*my_plugin.py.*ModuleNotFoundError"):
        load_catalog([path])
    with pytest.raises(PluginError, match="does not exist"):
        load_catalog([str(tmp_path / "missing.py")])


class FakeDistribution:
    name = "cegbench-broken"
    version = "9.9"


class FakeEntryPoint:
    """Stands in for an installed package's entry point."""

    def __init__(self, name, value, loader):
        self.name, self.value, self.dist, self._loader = name, value, FakeDistribution(), loader

    def load(self):
        return self._loader()


def fake_entry_points(monkeypatch, *entry_points):
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: list(entry_points))


def crash():
    raise RuntimeError("boom at import")


def test_entry_point_that_fails_to_import_is_reported_and_skipped(monkeypatch):
    fake_entry_points(monkeypatch, FakeEntryPoint("broken", "broken_pkg", crash))
    catalog = load_catalog(autoload=True)
    assert BUILTIN_INNOVATIONS <= set(catalog.innovations)
    [problem] = catalog.problems
    assert "Error importing plugin 'broken' from distribution 'cegbench-broken'" in problem
    assert "RuntimeError: boom at import" in problem


def test_strict_plugins_makes_a_broken_plugin_fatal(monkeypatch):
    fake_entry_points(monkeypatch, FakeEntryPoint("broken", "broken_pkg", crash))
    monkeypatch.setenv("CEGBENCH_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError, match="boom at import"):
        load_catalog(autoload=True)


def test_entry_point_with_invalid_declaration_is_skipped(monkeypatch, tmp_path):
    import types

    module = types.ModuleType("bad_decl")
    exec(broken_innovation(year="1066"), module.__dict__)
    fake_entry_points(monkeypatch, FakeEntryPoint("bad", "bad_decl", lambda: module))
    catalog = load_catalog(autoload=True)
    assert "broken-one" not in catalog.innovations
    [problem] = catalog.problems
    assert "plugin 'bad', innovation 'broken-one': field 'year' out of range: 1066" in problem
    assert "plugin 'bad' from distribution 'cegbench-broken' 9.9 skipped" in problem
    assert "bad" not in {p.name for p in catalog.plugins}  # skipped whole


def test_allow_list_and_disable(monkeypatch):
    fake_entry_points(monkeypatch, FakeEntryPoint("broken", "broken_pkg", crash))
    monkeypatch.setenv("CEGBENCH_LOAD_PLUGINS", "something-else")
    assert load_catalog(autoload=True).problems == []
    monkeypatch.delenv("CEGBENCH_LOAD_PLUGINS")
    monkeypatch.setenv("CEGBENCH_DISABLE_PLUGIN_AUTOLOAD", "1")
    assert load_catalog().problems == []


def test_every_hook_is_documented_and_tested():
    from pathlib import Path

    docs = (Path(__file__).parent.parent / "docs" / "plugins.md").read_text()
    tests = Path(__file__).read_text()
    hooks = [f for name, f in vars(hookspecs).items() if name.startswith("cegbench_") and callable(f)]
    assert len(hooks) >= 2
    for hook in hooks:
        assert f"{hook.__name__}()" in docs, f"{hook.__name__} is not documented in docs/plugins.md"
        assert f"def test_hook_{hook.__name__}(" in tests
        assert hook.__doc__ and ":return:" in hook.__doc__


@pytest.mark.parametrize("section, component", [
    ("## Worked example: a new optimizer", ("optimizer", "lion")),
    ("## Worked example: a new model family", ("family", "window-mlp")),
])
def test_docs_worked_examples_load_and_keep_their_contract(tmp_path, section, component):
    import re
    from pathlib import Path

    from cegbench.data.names import VOCAB_SIZE
    from cegbench.innovations import Recipe

    docs = (Path(__file__).parent.parent / "docs" / "plugins.md").read_text()
    text = docs[docs.index(section):]
    code = re.search(r"```python\n(.*?)```", text, re.DOTALL)[1]
    catalog = load_catalog([write_plugin(tmp_path, code, name="worked_example.py")])
    implementation = catalog.components.get(*component)
    if component[0] == "family":
        recipe = Recipe(family="window-mlp")
        model = implementation.build(recipe, 16, VOCAB_SIZE, 32, catalog.components)
        assert implementation.n_params(recipe, 16, VOCAB_SIZE, 32) == sum(
            p.numel() for p in model.parameters())
        from cegbench.train.trainer import measured_flops

        measured_flops(implementation, recipe, 16, VOCAB_SIZE, 32, catalog.components)  # within 10 %
    else:
        import torch

        model = torch.nn.Linear(4, 4)
        optimizer = implementation.build(model, 1e-3)
        model(torch.ones(2, 4)).sum().backward()
        optimizer.step()
