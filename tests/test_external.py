"""Runs trained elsewhere (``cegbench import --external``): the format's checks, frontiers
read off final losses and checkpoint curves, the analysis options, external tiers in
``table``/``status``/``show``/``export``/``analyze``, and predictive validity.

The end-to-end tests import planted power laws at budgets and sizes no built-in tier
has (tests/external_fixtures.py), so their labels are known.
"""

from __future__ import annotations

import gzip
import json
import math

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sqlite_utils import Database

from cegbench.analysis import analyze_innovation
from cegbench.analysis.curves import (
    CHECKPOINT_BIAS,
    CURVE_READS,
    ONE_SEED_CAVEAT,
    CurveError,
    drop_unbracketed,
    loss_at,
    read_runs,
    snap_budgets,
    trim_ladders,
)
from cegbench.analysis.options import OptionError, check_options, within_window
from cegbench.cli.main import cli
from cegbench.present.validity_table import (
    CONFIRMED,
    CONTRADICTED,
    NO_CALL,
    NOT_BORNE_OUT,
    ceg_covered,
    outcome,
)
from cegbench.registry.external import FLOPS_FACTOR, MAX_LOSS, check_row
from cegbench.tiers import TIERS
from external_fixtures import BUDGETS, curve_rows, final_rows, write_csv


def invoke(*args, code=0):
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result


def table_row(output: str, name: str) -> list[str]:
    line = next(line for line in output.splitlines() if line.startswith(f"| {name} |"))
    return [cell.strip() for cell in line.strip("|").split(" | ")]


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """Two planted pairs (CEG growing 2× per 10× compute, and constant), two seeds, at
    budgets of 3e17–7.7e19 FLOPs and sizes of 12 M–3.2 G parameters, imported."""
    root = tmp_path_factory.mktemp("planted")
    rows = final_rows(innovation="planted-dependent", growth=2.0) + final_rows(
        innovation="planted-invariant", growth=1.0, rng_seed=3)
    write_csv(root / "runs.csv", rows)
    imported = invoke("import", "--external", root / "runs.csv", "--registry", root / "r.db")
    return root, imported


# -------------------------------------------------------------------------
# end to end


def test_planted_runs_go_through_import_and_table_to_their_planted_labels(planted):
    root, imported = planted
    assert "external tier(s): planted-ext v1" in imported.output
    assert "registered innovations: planted-dependent, planted-invariant" in imported.output
    assert "imported 200 rows, 0 already recorded, 0 conflict(s)" in imported.output
    assert not set(BUDGETS) & {b for name in TIERS for b in TIERS.get(name).budgets}
    table = invoke("table", "--tier", "planted-ext", "--registry", root / "r.db").output
    assert table_row(table, "planted-dependent")[1].startswith("scale-dependent (grows with scale)")
    drift = float(table_row(table, "planted-dependent")[2].split("×")[0])
    assert abs(drift - 2.0) < 0.15  # planted: 2× per 10× compute
    assert table_row(table, "planted-invariant")[1].startswith("scale-invariant")
    assert "planted-ext v1 (external): 2 of the registry's 2 innovations measured; 2 decided" in table


def test_an_external_file_given_to_from_is_imported_and_analysed(planted, tmp_path):
    root, _ = planted
    table = invoke("table", "--tier", "planted-ext", "--from", root / "runs.csv").output
    assert table_row(table, "planted-dependent")[1].startswith("scale-dependent (grows with scale)")


def test_a_single_seed_curve_file_gives_a_verdict_with_its_caveats(tmp_path):
    write_csv(tmp_path / "curves.csv", curve_rows())
    invoke("import", "--external", tmp_path / "curves.csv", "--registry", tmp_path / "r.db")
    verdict = next(Database(tmp_path / "r.db")["verdicts"].rows_where("tier = 'planted-curves'"))
    assert verdict["label"] == "scale-dependent" and verdict["direction"] == "grows with scale"
    warnings = json.loads(verdict["warnings"])
    assert CHECKPOINT_BIAS in warnings and ONE_SEED_CAVEAT in warnings
    assert json.loads(verdict["method"])["frontier_read"] == "isoflop"
    shown = invoke("show", "planted-curves-pair", "--registry", tmp_path / "r.db").output
    assert "frontier from checkpoint curves read at a grid of budgets" in shown


def test_curves_can_be_read_as_their_lower_envelope(tmp_path):
    # one seed and one point per budget: no independent noise to read an interval off, so
    # the label is withheld (a law's residuals along the frontier are autocorrelated)
    write_csv(tmp_path / "curves.csv", curve_rows(tier="planted-envelope"))
    invoke("import", "--external", tmp_path / "curves.csv", "--read", "envelope",
           "--registry", tmp_path / "r.db")
    verdict = next(Database(tmp_path / "r.db")["verdicts"].rows)
    assert json.loads(verdict["method"])["frontier_read"] == "envelope"
    assert CHECKPOINT_BIAS in json.loads(verdict["warnings"])
    assert verdict["label"] == "inconclusive" and verdict["label_basis"] == "none"
    assert any(reason.startswith("one seed per cell and no ladder of 4 or more sizes")
               for reason in json.loads(verdict["withheld"]))
    frontier = json.loads(verdict["frontier"])
    assert all(p["single_size"] for p in frontier)  # one point per budget: nothing to bracket


def test_bad_external_rows_get_one_line_each_and_nothing_is_written(tmp_path):
    good = final_rows()[0]
    bad = [
        {**good, "loss": "nan"},  # line 2
        {**good, "params": -5},  # line 3
        {**good, "tier": "cpu"},  # line 4: a built-in tier
        {**good, "flops": good["flops"] * 1e6},  # line 5: FLOPs far from 6·N·D
        {**good, "arm": "treatment", "loss": 55.0},  # line 6: two problems, one line
        {**good, "seed": 7},  # line 7: fine
    ]
    write_csv(tmp_path / "bad.csv", bad)
    result = invoke("import", "--external", tmp_path / "bad.csv", "--registry", tmp_path / "r.db", code=1)
    lines = [line for line in result.output.splitlines() if line.startswith(str(tmp_path))]
    assert [line.split(":")[1] for line in lines] == ["2", "3", "4", "5", "6"]
    assert "loss: nan is not a finite number" in lines[0]
    assert "params: -5.0 must be positive" in lines[1]
    assert "'cpu' is a built-in tier" in lines[2]
    assert f"within {FLOPS_FACTOR:g}× of 6·N·D" in lines[3]
    assert "arm: 'treatment' must be one of baseline, modern" in lines[4] and "above 20 nats" in lines[4]
    assert "5 invalid external row(s), nothing imported" in result.output
    assert not (tmp_path / "r.db").exists()


def test_a_csv_with_a_wrong_header_is_one_line(tmp_path):
    (tmp_path / "x.csv").write_text("innovation,arm,tier,params,flops,los\na-b,baseline,t-x,1,2,3\n"
                                    "a-b,modern,t-x,1,2,3\n")
    result = invoke("import", "--external", tmp_path / "x.csv", "--registry", tmp_path / "r.db", code=1)
    assert f"{tmp_path / 'x.csv'}:1: the header lacks required column(s) loss; unknown column(s) 'los'" \
        in result.output
    assert "1 invalid external row(s)" in result.output


def test_rows_that_disagree_with_each_other_are_named(tmp_path):
    rows = curve_rows()[:3]
    rows[1] = {**rows[1], "flops": rows[0]["flops"] / 2}  # FLOPs falling along the run
    rows[2] = {**rows[2], "params": rows[2]["params"] * 2}  # the run changed size
    rows.append({**rows[0]})  # the same checkpoint twice
    write_csv(tmp_path / "c.csv", rows)
    output = invoke("import", "--external", tmp_path / "c.csv", "--registry", tmp_path / "r.db",
                    code=1).output
    assert f"c.csv:4: params {rows[2]['params']!r}" in output and "a run has one size" in output
    assert "c.csv:5: the same row as" in output and "c.csv:2" in output
    assert "a run's FLOPs grow with its steps" in output


def test_a_file_mixing_final_losses_and_curves_in_one_tier_is_refused(tmp_path):
    rows = final_rows(tier="mixed")[:2] + curve_rows(tier="mixed", innovation="planted-pair")[:2]
    write_csv(tmp_path / "m.csv", rows)
    output = invoke("import", "--external", tmp_path / "m.csv", "--registry", tmp_path / "r.db",
                    code=1).output
    assert "a tier holds final losses or curves, not both" in output


def test_import_is_idempotent_and_a_changed_row_is_a_conflict(planted, tmp_path):
    root, _ = planted
    again = invoke("import", "--external", root / "runs.csv", "--registry", root / "r.db", "--no-analyze")
    assert "imported 0 rows, 200 already recorded, 0 conflict(s)" in again.output
    rows = final_rows(innovation="planted-dependent", growth=2.0)
    rows[0]["loss"] += 0.1
    write_csv(tmp_path / "changed.csv", rows)
    result = invoke("import", "--external", tmp_path / "changed.csv", "--registry", root / "r.db",
                    "--no-analyze", "--dry-run", code=1)
    assert "recorded with different loss; kept the recorded one" in result.output


def test_a_tier_registered_with_another_source_is_refused(planted, tmp_path):
    root, _ = planted
    rows = [{**r, "citation": "someone else"} for r in final_rows(innovation="planted-dependent")]
    write_csv(tmp_path / "other.csv", rows)
    output = invoke("import", "--external", tmp_path / "other.csv", "--registry", root / "r.db",
                    code=1).output
    assert "tier planted-ext v1 is registered with another citation" in output
    assert "a changed tier is a new tier_version" in output


def test_an_external_tier_exports_in_the_external_format_and_imports_back(planted, tmp_path):
    root, _ = planted
    invoke("export", "--tier", "planted-ext", "--registry", root / "r.db", "--out", tmp_path / "e.csv.gz")
    with gzip.open(tmp_path / "e.csv.gz", "rt") as handle:
        assert handle.readline().startswith("innovation,arm,tier,params,flops,loss")
    invoke("import", "--external", tmp_path / "e.csv.gz", "--registry", tmp_path / "copy.db", "--no-analyze")
    columns = "innovation, arm, seed, params, flops, tokens, loss"

    def rows(path):
        return sorted(Database(path).execute(f"select {columns} from external_runs").fetchall())

    assert rows(tmp_path / "copy.db") == rows(root / "r.db")
    whole = invoke("export", "--registry", root / "r.db", "--out", tmp_path / "all.jsonl")
    assert "not in it: external tier(s) planted-ext" in whole.output


def test_status_lists_an_external_tiers_rows(planted):
    root, _ = planted
    output = invoke("status", "--tier", "planted-ext", "--registry", root / "r.db").output
    assert "tier planted-ext v1 (external: runs trained elsewhere, read as final" in output
    assert "planted-dependent baseline: 50 rows, 50 runs, FLOPs 3e+17–7.68e+19" in output
    assert "2 seed(s)" in output
    assert "planted-ext" in invoke("status", "--registry", root / "r.db").output


def test_analysis_options_are_applied_and_recorded(planted):
    root, _ = planted
    invoke("analyze", "--tier", "planted-ext", "--innovation", "planted-dependent", "--registry",
           root / "r.db", "--fixed-E", "1.7", "--target-loss", "2.8", "--fit-window", "1e18", "1e20")
    verdict = next(Database(root / "r.db")["verdicts"].rows_where("innovation = 'planted-dependent'"))
    method = json.loads(verdict["method"])
    assert method["fixed_E"] == 1.7 and method["target_loss"] == 2.8 and method["fit_window"] == [1e18, 1e20]
    assert [p["target_loss"] for p in json.loads(verdict["ceg_at_loss"])] == [2.8]
    assert {p["budget"] for p in json.loads(verdict["frontier"])} == set(BUDGETS[1:])
    fits = list(Database(root / "r.db")["fits"].rows_where("innovation = 'planted-dependent'"))
    assert {f["E"] for f in fits} == {1.7}
    assert "options: fixed_E = 1.7, target_loss = 2.8, fit_window = [1e+18, 1e+20]" in invoke(
        "show", "planted-dependent", "--registry", root / "r.db").output
    above = invoke("analyze", "--tier", "planted-ext", "--registry", root / "r.db", "--fixed-E", "9",
                   code=1).output
    assert "fixed E = 9 is not below the smallest frontier loss" in above
    invoke("analyze", "--tier", "planted-ext", "--innovation", "planted-dependent", "--registry", root / "r.db")


def test_options_only_go_with_external_and_an_unknown_tier_names_both_kinds(planted, tmp_path):
    root, _ = planted
    output = invoke("import", root / "runs.csv", "--margin", "2", "--registry", tmp_path / "x.db", code=2).output
    assert "--margin: only with --external" in output
    output = invoke("table", "--tier", "nowhere", "--registry", root / "r.db", code=2).output
    assert f"built-in tiers are {', '.join(TIERS)}; external tiers in this registry: planted-ext" in output


def test_every_frontier_read_a_tier_may_have_is_one_the_analysis_reads_and_describes():
    from cegbench import tiers
    from cegbench.analysis.curves import READS

    assert set(READS) == set(tiers.FRONTIER_READS) and set(CURVE_READS) < set(READS)


# -------------------------------------------------------------------------
# one row


ROW = {"innovation": "a-to-b", "arm": "baseline", "tier": "mine", "params": "1e8", "flops": "6e17",
       "loss": "3.1", "tokens": "1e9"}


def test_a_good_row_is_typed_and_version_one_by_default():
    row, errors = check_row(ROW)
    assert errors == [] and row["params"] == 1e8 and row["tier_version"] == 1 and row["run"] is None


@pytest.mark.parametrize("change, message", [
    ({"loss": str(MAX_LOSS + 1)}, "not a per-token cross-entropy"),
    ({"loss": "0"}, "must be positive"),
    ({"tokens": "1e6"}, "FLOPs must be within 10× of 6·N·D"),
    ({"run": "r1"}, "a checkpoint row gives both"),
    ({"step": "1.5", "run": "r"}, "expected a whole number"),
    ({"innovation": "A B"}, "is not a slug"),
    ({"tier": "gpu"}, "is a built-in tier"),
    ({"colour": "red"}, "unknown column(s) 'colour'"),
    ({"literature": '[{"source": "x"}]'}, "literature: finding 0"),
])
def test_a_bad_row_says_what_is_wrong(change, message):
    _, errors = check_row({**ROW, **change})
    assert any(message in error for error in errors), errors


# -------------------------------------------------------------------------
# reading frontiers (analysis/curves.py)


def test_budgets_within_two_percent_are_one():
    snapped = snap_budgets(pd.Series([1e17, 1.01e17, 1.019e17, 2e17, 2.03e17]))
    assert list(snapped) == [1e17, 1e17, 1e17, 2e17, 2e17]


def test_a_curve_is_read_log_log_between_checkpoints_and_never_beyond():
    flops, loss = np.array([1e16, 1e18]), np.array([4.0, 1.0])
    assert loss_at(flops, loss, 1e17) == pytest.approx(2.0)  # halfway in log C, halfway in log L
    assert math.isnan(loss_at(flops, loss, 2e18)) and math.isnan(loss_at(flops, loss, 5e15))


def ladder(losses, budget=1e18, arm="baseline"):
    return pd.DataFrame({"arm": arm, "budget": budget, "n_params": [1e6 * 2**k for k in range(len(losses))],
                         "seed": 0, "final_loss": losses})


def test_a_long_ladder_keeps_its_best_size_and_two_either_side():
    runs = trim_ladders(ladder([5.0, 4.0, 3.5, 3.2, 3.1, 3.15, 3.3, 3.6, 4.2]))
    assert list(runs["final_loss"]) == [3.5, 3.2, 3.1, 3.15, 3.3]
    edge = trim_ladders(ladder([3.0, 3.1, 3.3, 3.6, 4.0, 4.5, 5.0]))
    assert list(edge["final_loss"]) == [3.0, 3.1, 3.3]  # best at the edge stays there


def test_an_unbracketed_ladder_is_left_out_with_a_warning():
    runs = pd.concat([ladder([3.4, 3.2, 3.3]), ladder([3.0, 3.1, 3.3], budget=2e18)])
    kept, warnings = drop_unbracketed(runs)
    assert set(kept["budget"]) == {1e18}
    assert warnings == [("baseline: the ladders at 2e+18 FLOPs do not bracket their optimum and are left "
                        "out (an external file's ladders cannot be widened)")]


def test_curves_enter_a_budget_only_where_three_sizes_of_each_arm_reach_it():
    rows = pd.DataFrame([{"arm": arm, "run": f"{arm}{n}", "step": s, "seed": 0, "params": n,
                          "flops": 6 * n * 1e6 * 10**s, "loss": 5.0 - s / 10}
                         for arm in ("baseline", "modern") for n in (1e6, 2e6) for s in range(4)])
    with pytest.raises(CurveError, match="3 sizes of each arm"):
        read_runs(rows, "isoflop")


def test_the_envelope_is_the_lowest_curve_at_each_budget():
    rows = pd.DataFrame([{"arm": arm, "run": f"{arm}{n}", "step": s, "seed": 0, "params": n,
                          "flops": 10.0 ** (16 + s), "loss": loss}
                         for arm in ("baseline", "modern")
                         for n, losses in ((1e6, (5.0, 4.0, 3.9)), (2e6, (5.5, 3.8, 3.0)), (4e6, (6, 4.5, 3.2)))
                         for s, loss in enumerate(losses)])
    runs = read_runs(rows, "envelope")
    at = runs[(runs["arm"] == "baseline")].set_index("budget")
    assert at.loc[1e17, "final_loss"] == pytest.approx(3.8) and at.loc[1e17, "n_params"] == 2e6
    assert at.loc[1e18, "final_loss"] == pytest.approx(3.0)


# -------------------------------------------------------------------------
# options and validity rules


def test_options_are_checked_and_the_window_leaves_runs_out():
    with pytest.raises(OptionError, match="fit_window"):
        check_options(fit_window=(2e18, 1e18))
    with pytest.raises(OptionError, match="needs shared_E"):
        check_options(fixed_E=1.0, shared_E=False)
    runs = pd.concat([ladder([3.4, 3.2, 3.3], budget=b) for b in (1e17, 1e18, 1e19)])
    kept, note = within_window(runs, (5e17, 2e19))
    assert set(kept["budget"]) == {1e18, 1e19} and note.endswith("3 run(s) at budgets outside it left out")


def test_a_target_loss_no_frontier_reaches_is_a_warning(planted):
    from cegbench.registry.external_tiers import external_rows, get_external_tier
    from cegbench.registry.opening import open_registry

    root, _ = planted
    db = open_registry(root / "r.db", readonly=True)
    rows = external_rows(db, "planted-invariant", get_external_tier(db, "planted-ext", 1))
    runs = read_runs(rows, "final")
    result = analyze_innovation(runs, margin=1.25, n_boot=20, target_loss=1.0, check_sensitivity=False)
    assert result.ceg_at_loss == () and any("no CEG at target loss 1" in w for w in result.warnings)


def verdict(label, direction=None, ceg=None):
    return {"label": label, "direction": direction, "ceg_top": ceg}


def test_outcomes_of_the_small_scale_label():
    grows = ("scale-dependent", "grows with scale")
    assert outcome(verdict(*grows), verdict(*grows)) == CONFIRMED
    assert outcome(verdict(*grows), verdict("scale-dependent", "shrinks with scale")) == CONTRADICTED
    assert outcome(verdict(*grows), verdict("inconclusive")) == NOT_BORNE_OUT
    assert outcome(verdict("inconclusive"), verdict(*grows)) == NO_CALL
    small = verdict("inconclusive", ceg={"ceg": 2.0, "low": 1.5, "high": 3.0})
    assert ceg_covered(small, verdict("x", ceg={"ceg": 2.9})) is True
    assert ceg_covered(small, verdict("x", ceg={"ceg": 3.1})) is False
    assert ceg_covered(verdict("x"), verdict("x", ceg={"ceg": 3.1})) is None


def test_a_curve_tier_spanning_three_decades_gets_its_validity_table(tmp_path):
    write_csv(tmp_path / "curves.csv", curve_rows())
    invoke("import", "--external", tmp_path / "curves.csv", "--registry", tmp_path / "r.db")
    output = invoke("validity", "--tier", "planted-curves", "--registry", tmp_path / "r.db").output
    row = table_row(output, "planted-curves-pair")
    assert row[2] == "scale-dependent (grows with scale)" and row[8] == "confirmed" and row[9] == "yes"
    assert "1 of its 1 pairs span ≥ 1.5 decades; the lowest decade's label was confirmed in 1" in output


def test_the_worked_example_in_the_docs_imports_to_a_verdict(tmp_path):
    """docs/external-runs.md's example, pasted as a user would."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "external-runs.md").read_text()
    example = re.search(r"Paste it into `my-runs.csv`:\n\n```csv\n(.*?)```", text, re.DOTALL).group(1)
    (tmp_path / "my-runs.csv").write_text(example)
    invoke("import", "--external", tmp_path / "my-runs.csv", "--registry", tmp_path / "mine.db")
    table = invoke("table", "--tier", "my-tier", "--registry", tmp_path / "mine.db").output
    assert table_row(table, "my-idea")[1] != "—"


def test_a_plugins_innovation_is_registered_from_its_declaration_and_jsonl_gz_reads(tmp_path):
    rows = final_rows(tier="swiglu-elsewhere", innovation="gelu-to-swiglu")
    rows[0]["literature"] = [{"source": "Someone 2025", "url": "https://example.org/x", "scale": "big"}]
    for row in rows[1:]:
        row["literature"] = rows[0]["literature"]
    with gzip.open(tmp_path / "runs.jsonl.gz", "wt") as handle:
        handle.writelines(json.dumps(row) + "\n" for row in rows)
    dry = invoke("import", "--external", tmp_path / "runs.jsonl.gz", "--dry-run", "--registry", tmp_path / "r.db")
    assert "dry run, nothing written: would be imported 100 rows" in dry.output
    assert not (tmp_path / "r.db").exists()
    invoke("import", "--external", tmp_path / "runs.jsonl.gz", "--registry", tmp_path / "r.db")
    db = Database(tmp_path / "r.db")
    row = db["innovations"].get("gelu-to-swiglu")
    assert row["title"] == "GeLU → SwiGLU" and row["plugin"]  # the plugin's declaration wins
    table = invoke("table", "--tier", "swiglu-elsewhere", "--registry", tmp_path / "r.db").output
    assert table_row(table, "gelu-to-swiglu")[1].startswith("scale-dependent (grows with scale)")
