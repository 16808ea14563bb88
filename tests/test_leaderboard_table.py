"""The leaderboard as a Markdown table (``cegbench table``): cells, counts, escaping."""

import json
from types import SimpleNamespace

from cegbench.analysis.analyze import ANOTHER_BOOTSTRAP_SEED
from cegbench.present.leaderboard_table import (
    COLUMNS,
    delta_alpha_cell,
    is_decided,
    label_cell,
    markdown_table,
    summary_line,
)

FINDING = {"source": "Gundlach et al. 2025", "ceg": 1.17, "label": "scale-invariant",
           "flops": 2.5e18, "scale": "their sweep", "url": "https://arxiv.org/abs/2511.00000"}


def verdict(name="gelu-to-swiglu", label="scale-invariant", *, direction=None, basis="fitted law",
            weakened=(), **extra):
    return {"innovation": name, "label": label, "direction": direction, "label_basis": basis,
            "weakened": json.dumps(list(weakened)), "fragile": 0, "withheld": "[]",
            "drift": 1.06, "drift_low": 0.944, "drift_high": 1.19,
            "delta_alpha": 0.0025, "delta_alpha_low": -0.0004, "delta_alpha_high": 0.0049,
            "ceg": json.dumps([
                {"compute": 2.5e18, "ceg": 1.2, "low": 1.1, "high": 1.3, "extrapolated": False},
                {"compute": 4e18, "ceg": 1.25, "low": 1.12, "high": 1.4, "extrapolated": False},
                {"compute": 1e21, "ceg": 1.5, "low": 0.2, "high": 40.0, "extrapolated": True}]),
            "ceg_at_loss": json.dumps([{"target_loss": 2.0391, "ceg": 1.13, "low": 0.916, "high": 1.39}]),
            **extra}


def innovation(name="gelu-to-swiglu", findings=(FINDING,)):
    return {"name": name, "literature": json.dumps(list(findings))}


def test_a_row_has_every_column_with_intervals_and_the_literature_beside_ours():
    table = markdown_table([innovation()], [verdict()])
    header, rule, row = table.splitlines()
    assert header == "| " + " | ".join(COLUMNS) + " |" and rule == "|" + "---|" * len(COLUMNS)
    cells = [c.strip() for c in row.strip("|").split(" | ")]
    assert cells == [
        "gelu-to-swiglu", "scale-invariant", "1.06× [0.94, 1.19]", "+0.0025 [−0.0004, +0.0049]",
        "1.25× [1.12, 1.40] at 4e18 FLOPs",  # the largest *measured* budget, not the extrapolation
        "1.13× [0.92, 1.39] at L = 2.039",
        "Gundlach et al. 2025: CEG 1.17×, scale-invariant (2.5e18 FLOPs)",
        "agrees",  # both invariant, and 1.17 lies in our [1.1, 1.3] at 2.5e18
    ]


def test_the_label_cell_says_what_the_label_rests_on_and_what_weakens_it():
    equal_loss = label_cell(verdict(basis="equal-loss CEGs", weakened=[ANOTHER_BOOTSTRAP_SEED]))
    assert equal_loss.startswith("scale-invariant; read off the equal-loss CEGs")
    assert "borderline: its bound is within the bootstrap's Monte-Carlo error" in equal_loss
    assert "weakens" not in equal_loss  # the Monte-Carlo check is said once, as borderline
    dependent = label_cell(verdict(label="scale-dependent", direction="shrinks with scale",
                                   weakened=["drop smallest budget"], fragile=1))
    assert dependent == ("scale-dependent (shrinks with scale); weakens to inconclusive with drop "
                         "smallest budget; fragile: a sensitivity refit flips it")
    withheld = label_cell(verdict(label="inconclusive", basis="none",
                                  withheld=json.dumps(["frontier not bracketed at 4e+12 FLOPs (baseline)"])))
    assert withheld == "inconclusive; withheld: frontier not bracketed at 4e+12 FLOPs (baseline)"


def test_a_delta_alpha_from_a_fit_at_a_bound_is_marked_no_result_and_never_prints_minus_zero():
    cell = delta_alpha_cell(verdict(basis="equal-loss CEGs", delta_alpha=-3e-9,
                                    delta_alpha_low=-0.0367, delta_alpha_high=4e-9))
    assert cell == "+0.0000 [−0.0367, +0.0000] (the law is no result)"
    assert delta_alpha_cell(verdict(delta_alpha=None)) == "—"


def test_borderline_and_inconclusive_labels_are_not_counted_as_decided():
    rows = [verdict("a"), verdict("b", "scale-dependent", direction="grows with scale"),
            verdict("c", weakened=[ANOTHER_BOOTSTRAP_SEED]), verdict("d", "inconclusive"),
            verdict("e", "scale-dependent", weakened=["drop smallest budget"])]
    assert [is_decided(v) for v in rows] == [True, True, False, False, True]
    assert summary_line("cpu v3", rows, 21) == (
        "cpu v3: 5 of the registry's 21 innovations measured; 3 decided (2 scale-dependent, "
        "1 scale-invariant), 1 borderline, 1 inconclusive, 0 withheld.")
    waiting = verdict("f", "inconclusive", basis=None, warnings=json.dumps(
        ["cannot analyse yet: arm 'baseline' has runs at only 2 budget(s) (2.5e+11, 6.3e+11 FLOPs)"]))
    assert label_cell(waiting) == ("inconclusive; cannot analyse yet: arm 'baseline' has runs at "
                                   "only 2 budget(s) (2.5e+11, 6.3e+11 FLOPs)")
    assert summary_line("cpu v3", [*rows, waiting], 21).endswith(
        "1 borderline, 1 inconclusive, 0 withheld; 1 with too few runs to analyse yet.")


def test_a_label_that_rests_on_one_budget_or_is_withheld_is_not_decided():
    one_budget = verdict("a", "scale-dependent", direction="grows with scale",
                         rests_on=json.dumps(["the 4e+12 FLOPs budget"]))
    assert not is_decided(one_budget)
    assert label_cell(one_budget) == ("scale-dependent (grows with scale); rests on one budget: "
                                      "without the 4e+12 FLOPs budget its estimate crosses to the "
                                      "other side")
    withheld = verdict("b", "inconclusive", basis="none", withheld=json.dumps(["frontier not bracketed"]))
    assert summary_line("cpu v3", [verdict("c"), one_budget, withheld], 3) == (
        "cpu v3: 3 of the registry's 3 innovations measured; 1 decided (1 scale-invariant), "
        "0 borderline, 1 resting on one budget, 0 inconclusive, 1 withheld.")


def test_rows_follow_innovation_order_and_pipes_in_text_are_escaped():
    odd = dict(FINDING, source="Smith | Jones 2024")
    table = markdown_table([innovation("b-to-c", [odd]), innovation("a-to-b", [])],
                           [verdict("b-to-c"), verdict("a-to-b")])
    rows = table.splitlines()[2:]
    assert rows[0].startswith("| a-to-b |") and rows[0].endswith("| none declared | — |")
    assert "Smith \\| Jones 2024" in rows[1]
    assert all(row.count(" | ") == len(COLUMNS) - 1 for row in rows)


def test_a_line_break_backslash_or_markup_in_a_source_never_splits_a_row(tmp_path, catalog):
    """Through `cegbench table`: before, a newline in a literature source ended the row
    and a backslash before a "|" undid its escape."""
    import re

    from click.testing import CliRunner

    from cegbench.cli.main import cli
    from cegbench.registry.db import innovation_row, save_innovations, save_verdict
    from cegbench.registry.opening import open_registry

    source = "Smith\nJones \\| 2024 <script>x</script> [a](javascript:b)"
    db = open_registry(tmp_path / "r.db")
    swiglu = catalog.innovations.get("gelu-to-swiglu")
    row = innovation_row(swiglu, catalog.plugin_info(swiglu.plugin))
    save_innovations(db, [{**row, "literature": json.dumps([dict(FINDING, source=source)])}])
    save_verdict(db, innovation="gelu-to-swiglu", tier=SimpleNamespace(name="smoke", version=2), fits=[], verdict=dict(
        label="inconclusive", margin=2.0, n_runs=0, n_failed=0,
        declaration_hash=swiglu.declaration_hash(), ceg=[], frontier=[], warnings=[]))
    db.close()
    result = CliRunner().invoke(cli, ["table", "--tier", "smoke", "--registry", str(tmp_path / "r.db")])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    row = next(line for line in lines if line.startswith("| gelu-to-swiglu"))
    assert len(lines) == 5  # header, rule, the row, a blank line, the summary
    assert len(re.findall(r"(?<!\\)\|", row.replace("\\\\", ""))) == len(COLUMNS) + 1
    assert "Smith Jones \\\\\\| 2024 \\<script\\>x\\</script\\> \\[a\\](javascript:b)" in row
