"""Literature beside measurement, and no absurd numbers:
``Innovation.literature`` (validated, never hashed, stored by migration m008), the
agreement rule, "unbounded" extrapolated CEGs, and how the site and ``show`` show both."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest
from click.testing import CliRunner

from cegbench import Finding, Innovation, Recipe
from cegbench import literature as lit
from cegbench.bounds import unbounded_reason
from cegbench.catalog.plugin_manager import load_catalog
from cegbench.cli.main import cli
from cegbench.innovations import DeclarationError, validate_innovation
from cegbench.registry.db import innovation_row, save_innovations
from cegbench.registry.migrations import migrations
from cegbench.registry.opening import open_registry
from cegbench.site.render import build_site
from site_fixtures import BUDGETS, PLUGIN, add_runs, add_verdict

GUNDLACH = "https://arxiv.org/abs/2511.21622"
SANDERSON = "https://arxiv.org/abs/2505.04075"


def finding(**changes) -> Finding:
    base = Finding(source="Gundlach et al. 2025", url=GUNDLACH, scale="3.6 M parameters, C4",
                   ceg=1.26, params=3.6e6)
    return dataclasses.replace(base, **changes)


def innovation(*findings, name="learned-to-rope") -> Innovation:
    return Innovation(name=name, title="Learned positions → RoPE", category="architecture",
                      year=2021, paper="https://arxiv.org/abs/2104.09864", description="Rotary.",
                      baseline=Recipe(position="learned"), modern=Recipe(position="rotary"),
                      expected="scale-invariant", literature=tuple(findings))


# -------------------------------------------------------------------------
# the declaration


@pytest.mark.parametrize("bad, field", [
    (finding(ceg=-1.0), "'ceg'"),
    (finding(ceg=(2.0, 1.0)), "'ceg'"),
    (finding(ceg="1.2"), "'ceg'"),
    (finding(flops=float("nan")), "'flops'"),
    (finding(params=0), "'params'"),
    (finding(label="invariant"), "'label'"),
    (finding(url="arxiv.org/abs/1"), "'url'"),
    (finding(source=" "), "'source'"),
    (finding(scale=""), "'scale'"),
    (finding(note=None), "'note'"),
    ({"source": "a dict"}, "cegbench.Finding"),
])
def test_a_bad_finding_is_rejected_naming_plugin_innovation_and_field(bad, field):
    with pytest.raises(DeclarationError) as error:
        validate_innovation("my-plugin", innovation(finding(), bad))
    message = str(error.value)
    assert "plugin 'my-plugin', innovation 'learned-to-rope'" in message
    assert "field 'literature'[1]" in message and field in message


def test_literature_must_be_a_tuple():
    bad = dataclasses.replace(innovation(), literature=[finding()])
    with pytest.raises(DeclarationError, match="field 'literature' must be tuple"):
        validate_innovation("my-plugin", bad)


def test_a_good_finding_passes_with_a_range_and_no_scale_numbers():
    validate_innovation("p", innovation(finding(ceg=(1.0, 9.8), flops=(3e18, 2.3e23), params=None,
                                                label="scale-dependent"),
                                        finding(ceg=None, params=None)))


def test_literature_never_enters_the_declaration_hash():
    catalog = load_catalog([])
    cited = 0
    for name in catalog.innovations:
        declared = catalog.innovations.get(name)
        bare = dataclasses.replace(declared, literature=())
        assert declared.declaration_hash() == bare.declaration_hash(), name
        cited += bool(declared.literature)
    assert cited >= 14  # every built-in the reference results cover
    assert innovation(finding()).declaration_hash() == innovation().declaration_hash()


# the built-ins' findings, as REFERENCE_RESULTS.md gives them: (source url, CEG, class)
EXPECTED = {
    "adam-to-adamw": [(GUNDLACH, 1.00, None)],
    "inverse-sqrt-to-cosine": [(GUNDLACH, 1.04, None)],
    "linear-to-cosine": [(GUNDLACH, 1.04, None)],
    "layernorm-to-rmsnorm": [(GUNDLACH, 1.09, None)],
    "gelu-to-swiglu": [(GUNDLACH, 1.17, None)],
    "relu-to-gelu": [(GUNDLACH, 0.96, None)],
    "learned-to-rope": [(GUNDLACH, 1.26, None), (SANDERSON, 1.87, None), (SANDERSON, 1.35, None)],
    "sinusoidal-to-rope": [(GUNDLACH, 1.44, None)],
    "sgd-to-adam": [(GUNDLACH, 1.67, None)],
    "post-norm-to-pre-norm": [(GUNDLACH, 1.87, None)],
    "lstm-to-transformer": [(GUNDLACH, 6.28, "scale-dependent"),
                            (GUNDLACH, (6.0, 47.0), "scale-dependent")],
    "transformer-2017-to-modern": [(GUNDLACH, 1.33, "scale-invariant")],
    "plain-to-flash-attention": [(SANDERSON, 1.06, None), (SANDERSON, 1.00, None)],
    "mha-to-mqa": [(SANDERSON, 0.67, None), (SANDERSON, 0.93, None)],
    "kaplan-to-chinchilla-allocation": [(GUNDLACH, (1.0, 9.8), "scale-dependent")],
}


def test_built_in_findings_match_the_reference_results():
    catalog = load_catalog([])
    for name in catalog.innovations:
        found = [(f.url, f.ceg, f.label) for f in catalog.innovations.get(name).literature]
        assert found == EXPECTED.get(name, []), name
        for f in catalog.innovations.get(name).literature:
            assert f.flops or f.params, f"{name}: {f.source} states no scale in numbers"


# -------------------------------------------------------------------------
# the agreement rule


def verdict(label="scale-invariant", points=None, n_params=(4e5, 6.9e5, 1.26e6)) -> dict:
    points = points or [{"compute": c, "ceg": 1.3, "low": 1.1, "high": 1.5, "extrapolated": False}
                        for c in BUDGETS]
    frontier = [{"arm": "modern", "budget": c, "n_params_opt": n} for c, n in zip(BUDGETS, n_params)]
    return {"label": label, "ceg": json.dumps(points), "frontier": json.dumps(frontier)}


def answer(f: Finding, v: dict | None) -> lit.Agreement:
    return lit.agreement(dataclasses.asdict(f), v)


def test_class_agrees_or_disagrees_only_when_both_are_decided_at_a_comparable_scale():
    near = {"params": None, "flops": 2e13, "ceg": None}  # within 10x of our 1e13 budget
    assert answer(finding(label="scale-invariant", **near), verdict()).answer == lit.AGREES
    a = answer(finding(label="scale-dependent", **near), verdict())
    assert a.answer == lit.DISAGREES and "ours scale-invariant, the source's scale-dependent" in a.reason
    a = answer(finding(label="scale-dependent", **near), verdict(label="inconclusive"))
    assert a.answer == lit.CANNOT_TELL and "ours is inconclusive" in a.reason
    a = answer(finding(label=None, **near), verdict())
    assert a.answer == lit.CANNOT_TELL and "the source assigned none" in a.reason
    assert answer(finding(label="scale-invariant"), None).answer == lit.CANNOT_TELL


def test_a_finding_at_another_scale_is_never_compared():
    """kaplan-to-chinchilla read "disagrees": ours at 1.6e12 FLOPs against an analytic class
    at 3e18–2.3e23. A class or CEG from another scale says nothing about ours."""
    far = finding(label="scale-dependent", params=None, flops=(3e18, 2.3e23), ceg=(1.0, 9.8))
    a = answer(far, verdict())
    assert (a.answer, a.class_check, a.ceg_check) == (lit.DIFFERENT_SCALE,) * 3
    assert a.reason == ("different scale (ours 1e12–1e13 FLOPs, theirs 3e18–2.3e23 FLOPs; "
                        "more than 10× apart)")
    by_params = answer(finding(params=1.1e8, label="scale-invariant"), verdict())
    assert by_params.answer == lit.DIFFERENT_SCALE
    assert "ours 400k–1.26M parameters, theirs 110M parameters" in by_params.reason
    # no scale in numbers, or no measured CEG of ours: nothing to compare the classes at
    unscaled = answer(finding(params=None, label="scale-invariant", ceg=None), verdict())
    assert unscaled.answer == lit.CANNOT_TELL and "states no FLOPs or parameters" in unscaled.reason
    nothing = [{"compute": 1e13, "ceg": float("nan"), "low": None, "high": None, "extrapolated": False}]
    a = answer(finding(label="scale-invariant"), verdict(points=nothing))
    assert a.answer == lit.CANNOT_TELL and "class: no measured CEG of ours" in a.reason


def test_ceg_agrees_when_the_source_lies_in_our_interval_at_a_comparable_scale():
    # by parameters: 3.6e6 is within 10x of our compute-optimal 1.26e6 at C = 1e13
    a = answer(finding(ceg=1.26), verdict(label="inconclusive"))
    assert a.answer == lit.AGREES and a.ceg_check == lit.AGREES
    assert "lies in ours [1.10, 1.50] at C = 1e13" in a.reason
    a = answer(finding(ceg=1.87), verdict(label="inconclusive"))
    assert a.answer == lit.DISAGREES and "outside ours" in a.reason
    # a range overlapping the interval agrees
    assert answer(finding(ceg=(1.45, 2.0)), verdict()).ceg_check == lit.AGREES
    # by FLOPs: the measured point nearest the source's compute, within 10x
    by_flops = answer(finding(params=None, flops=2e13, ceg=1.4), verdict())
    assert by_flops.ceg_check == lit.AGREES and "at C = 1e13" in by_flops.reason
    far = answer(finding(params=None, flops=2.5e18, ceg=1.4), verdict())
    assert far.answer == lit.DIFFERENT_SCALE and "different scale" in far.reason


def test_extrapolated_points_and_missing_intervals_never_decide_the_ceg():
    points = [{"compute": 1e13, "ceg": 1.3, "low": None, "high": None, "extrapolated": False},
              {"compute": 1e15, "ceg": 1.3, "low": 1.0, "high": 2.0, "extrapolated": True}]
    a = answer(finding(params=None, flops=5e13), verdict(label="inconclusive", points=points))
    assert a.answer == lit.CANNOT_TELL and "has no interval" in a.reason
    assert answer(finding(ceg=None), verdict()).ceg_check == lit.CANNOT_TELL


def test_one_disagreeing_check_outweighs_an_agreeing_one():
    a = answer(finding(ceg=1.26, label="scale-dependent"), verdict())
    assert (a.class_check, a.ceg_check, a.answer) == (lit.DISAGREES, lit.AGREES, lit.DISAGREES)


# -------------------------------------------------------------------------
# unbounded CEGs


@pytest.mark.parametrize("point, unbounded", [
    ({"compute": 1e21, "ceg": 1.11e25, "low": 0.5, "high": 3e40, "extrapolated": True}, True),
    ({"compute": 1e21, "ceg": 3.0, "low": 0.2, "high": 2.1, "extrapolated": True}, True),
    ({"compute": 1e21, "ceg": 3.0, "low": 0.0, "high": 4.0, "extrapolated": True}, True),
    ({"compute": 1e21, "ceg": 3.0, "low": 1.0, "high": 10.0, "extrapolated": True}, False),
    ({"compute": 1e21, "ceg": 3.0, "low": float("nan"), "high": float("nan"), "extrapolated": True}, False),
    ({"compute": 1e13, "ceg": 3.0, "low": 0.01, "high": 900.0, "extrapolated": False}, False),
])
def test_an_extrapolated_interval_wider_than_ten_times_is_unbounded(point, unbounded):
    reason = unbounded_reason(point)
    assert bool(reason) is unbounded
    if reason:
        assert "extrapolated to 1e21 FLOPs" in reason


ABSURD = {"compute": 1e21, "ceg": 1.11e25, "low": 0.5, "high": 3e40, "extrapolated": True}


@pytest.fixture
def registry_with_literature(tmp_path):
    """lstm-to-transformer with two findings, a scale-dependent verdict and an absurd
    extrapolated CEG; gelu-to-swiglu registered with a finding and no runs."""
    db = open_registry(tmp_path / "registry.db")
    lstm = dataclasses.replace(innovation(
        finding(ceg=6.28, label="scale-dependent", params=3.6e6),
        finding(ceg=(6.0, 47.0), flops=(1e15, 1e17), params=None, label="scale-dependent",
                scale="scaling fits, 1e16–5e17 FLOPs", note="CEG ∝ C^0.45"),
        name="lstm-to-transformer"), title="LSTM → Transformer",
        baseline=Recipe(family="lstm"), modern=Recipe(family="gpt"))
    swiglu = dataclasses.replace(innovation(finding(ceg=1.17), name="gelu-to-swiglu"),
                                 title="GeLU → SwiGLU")
    save_innovations(db, [innovation_row(i, PLUGIN) for i in (lstm, swiglu)])
    frontier = add_runs(db, "lstm-to-transformer", "smoke", 1)
    add_verdict(db, "lstm-to-transformer", "smoke", 1, frontier, label="scale-dependent",
                direction="grows with scale")
    points = json.loads(db["verdicts"].get(("lstm-to-transformer", "smoke", 1))["ceg"])
    points[-1] = ABSURD
    db["verdicts"].update(("lstm-to-transformer", "smoke", 1), {"ceg": json.dumps(points)})
    yield db, tmp_path
    db.close()


def test_migration_m008_stores_literature_in_the_innovations_row(registry_with_literature):
    db, _ = registry_with_literature
    assert "m008_literature" in {m.name for m in migrations.applied(db)}
    assert "literature" in db["innovations"].columns_dict
    stored = lit.from_json(db["innovations"].get("lstm-to-transformer")["literature"])
    assert [f["ceg"] for f in stored] == [6.28, [6.0, 47.0]]
    assert stored[1]["note"] == "CEG ∝ C^0.45"


def test_site_shows_literature_agreement_and_unbounded(registry_with_literature):
    db, tmp_path = registry_with_literature
    build_site(db, tmp_path / "site")
    index = (tmp_path / "site" / "index.html").read_text()
    row = re.search(r'<tr data-name="lstm-to-transformer".*?</tr>', index, re.DOTALL).group(0)
    assert "1.11e+25" not in index  # the absurd extrapolation is nowhere, not even as a number
    # the ablation's 6.28x lies outside our 21.4x [19.2, 23.5] at the comparable 1e13 budget
    # (compute-optimal 1.26e6 parameters against its 3.6e6): disagrees, though both classes
    # agree; the scaling fit's 1e15-1e17 FLOPs are 100x beyond ours: not compared at all
    assert re.search(r'badge-disagrees" title="class: both scale-dependent; CEG: the source&#39;s '
                     r'6.28× lies outside ours \[19.2, 23.5\] at C = 1e13">disagrees</span>', row)
    assert re.search(r'badge-different-scale" title="different scale \(ours 1e12–1e13 FLOPs, '
                     r'theirs 1e15–1e17 FLOPs', row)
    assert "Gundlach et al. 2025</a> 6.28×" in row and "Gundlach et al. 2025</a> 6.00–47.0×" in row
    assert 'href="https://arxiv.org/abs/2511.21622"' in row
    pending = re.search(r'<tr data-name="gelu-to-swiglu".*?</tr>', index, re.DOTALL).group(0)
    assert "badge-cannot-tell" in pending and "no verdict of ours yet" in pending
    page = (tmp_path / "site" / "innovation" / "lstm-to-transformer.html").read_text()
    assert "scaling fits, 1e16–5e17 FLOPs" in page and "at 3.6M parameters" in page
    assert "Against the literature" in page and "class: both scale-dependent" in page
    assert "1.11e+25" not in page and '<span class="unbounded"' in page
    swiglu = (tmp_path / "site" / "innovation" / "gelu-to-swiglu.html").read_text()
    assert "<h2>Literature</h2>" in swiglu and "no verdict of ours yet" in swiglu  # no runs yet


def test_show_prints_literature_agreement_and_unbounded(registry_with_literature):
    db, tmp_path = registry_with_literature
    result = CliRunner().invoke(cli, ["show", "lstm-to-transformer", "--registry",
                                      str(tmp_path / "registry.db")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out = result.output
    assert ("C = 1e21: unbounded  (extrapolated) because it is extrapolated to 1e21 FLOPs, "
            "beyond the measured budgets: its 95 % interval [0.50, 3e+40] spans 40.8 orders of "
            "magnitude (more than one)") in out and "1.11e+25" not in out
    assert "literature (what published work found; display only):" in out
    assert "Gundlach et al. 2025: CEG 6.28×, scale-dependent (3.6M parameters) — ours disagrees" in out
    assert ("CEG 6.00–47.0×, scale-dependent (1e15–1e17 FLOPs) — measured at a different scale "
            "from ours") in out
    assert "different scale (ours 1e12–1e13 FLOPs, theirs 1e15–1e17 FLOPs" in out
    assert "class: both scale-dependent" in out and "note: CEG ∝ C^0.45" in out
    pending = CliRunner().invoke(cli, ["show", "gelu-to-swiglu", "--registry",
                                       str(tmp_path / "registry.db")], catch_exceptions=False)
    assert "no verdict yet" in pending.output and "ours cannot tell yet" in pending.output
