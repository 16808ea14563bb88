"""Export, import and merging registries; hostile files change nothing."""

import json

import pytest
from click.testing import CliRunner

from cegbench.cli import cli
from cegbench.plan import spec_id
from cegbench.registry.db import innovation_row, open_registry, save_innovations, save_run
from cegbench.registry.exchange import (
    ImportRejected,
    expected_n_params,
    export_runs,
    import_runs,
)
from cegbench.registry.ingest import measurement_row
from cegbench.tiers import TIERS
from cegbench.train import RunResult
from plan_fixtures import plan_untuned

NAME = "gelu-to-swiglu"


@pytest.fixture(scope="module")
def declared(catalog):
    """The innovations rows of the built-in plugins."""
    return {name: innovation_row(catalog.innovations.get(name),
                                 catalog.plugin_info(catalog.innovations.get(name).plugin))
            for name in catalog.innovations}


@pytest.fixture(scope="module")
def rows(catalog, declared):
    """Ten runs rows of real smoke-tier specs with made-up results."""
    specs = plan_untuned([catalog.innovations.get(NAME)], TIERS.get("smoke"), catalog.components)
    made = []
    for k, spec in enumerate(specs[:10]):
        result = RunResult(
            spec.run_id, spec, status="ok", final_loss=3.0 + k / 7,
            n_params=expected_n_params(spec.to_dict(), catalog.components),
            flops_per_token=1e5 / 3, flops_per_token_analytic=1e5 / 3, tokens=512, steps=1,
            curve=[{"step": 1, "tokens": 512, "flops": 1.7e7, "loss": 3.0 + k / 7}],
            wall_time_s=0.25, dataset_hash="d1", started_at="2026-01-01T00:00:00+00:00",
            finished_at="2026-01-01T00:00:01+00:00",
            environment={"cegbench_version": "0.1.0", "git_commit": None,
                         "torch_version": "2.13.0", "python_version": "3.11.2",
                         "hardware": "Some CPU (2 threads)", "device": "cpu"})
        made.append(measurement_row(result, declared[NAME], "cegbench run --tier smoke"))
    return made


def registry(path, rows, declared):
    db = open_registry(path)
    save_innovations(db, [declared[NAME]])
    for row in rows:
        save_run(db, row)
    return db


def export(db, path, fmt="jsonl"):
    with open(path, "w", newline="") as out:
        export_runs(db, out, fmt)
    return path


def dump(db) -> dict:
    return {table: sorted(map(repr, db[table].rows)) for table in db.table_names()}


def test_run_id_is_the_hash_of_the_spec(rows, catalog):
    specs = plan_untuned([catalog.innovations.get(NAME)], TIERS.get("smoke"), catalog.components)
    assert spec_id(specs[0].to_dict()) == specs[0].run_id == rows[0]["run_id"]


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_export_import_roundtrip_is_exact_and_idempotent(tmp_path, rows, declared, fmt):
    source = registry(tmp_path / "a.db", rows, declared)
    exported = export(source, tmp_path / f"runs.{fmt}", fmt)
    target = open_registry(tmp_path / "b.db")
    report = import_runs(target, [exported], declared)
    assert (report.imported, report.unchanged, report.conflicts) == (10, 0, [])
    assert report.registered == [NAME]
    assert sorted(target["runs"].rows, key=str) == sorted(source["runs"].rows, key=str)
    again = import_runs(target, [exported], declared)
    assert (again.imported, again.unchanged, again.conflicts) == (0, 10, [])
    assert target["runs"].count == 10


def test_merging_two_registries_gives_their_union(tmp_path, rows, declared):
    alice = registry(tmp_path / "alice.db", rows[:6], declared)
    bob = registry(tmp_path / "bob.db", rows[4:], declared)
    files = [export(alice, tmp_path / "alice.jsonl"), export(bob, tmp_path / "bob.csv", "csv")]
    merged = open_registry(tmp_path / "merged.db")
    report = import_runs(merged, files, declared)
    assert (report.imported, report.unchanged) == (10, 2)  # runs 4 and 5 are in both
    assert sorted(r["run_id"] for r in merged["runs"].rows) == sorted(r["run_id"] for r in rows)
    assert import_runs(alice, files[1:], declared).imported == 4
    assert alice["runs"].count == 10


def test_same_run_with_other_results_is_a_conflict_and_never_overwritten(tmp_path, rows, declared):
    mine = registry(tmp_path / "mine.db", rows[:3], declared)
    theirs = registry(tmp_path / "theirs.db", [{**rows[0], "final_loss": 7.5}, *rows[1:5]],
                      declared)
    exported = export(theirs, tmp_path / "theirs.jsonl")
    report = import_runs(mine, [exported], declared)
    assert (report.imported, report.unchanged) == (2, 2)
    [conflict] = report.conflicts
    line = next(n for n, text in enumerate(exported.read_text().splitlines(), start=1)
                if json.loads(text)["run_id"] == rows[0]["run_id"])
    assert f"theirs.jsonl:{line}:" in conflict and rows[0]["run_id"] in conflict
    assert "final_loss" in conflict
    assert mine["runs"].get(rows[0]["run_id"])["final_loss"] == rows[0]["final_loss"]


def test_import_registers_innovations_from_the_plugins_only(tmp_path, rows, declared):
    source = registry(tmp_path / "a.db", rows[:1], declared)
    exported = export(source, tmp_path / "a.jsonl")
    target = open_registry(tmp_path / "b.db")
    with pytest.raises(ImportRejected, match="not a known innovation"):
        import_runs(target, [exported], {})  # neither registered nor declared
    assert target["runs"].count == 0 and target["innovations"].count == 0


def hostile_cases(row):
    """(name, file text, message naming line 2) for a file whose line 1 is a good row."""

    def changed(**changes):
        return json.dumps({**row, **changes})

    missing = {k: v for k, v in row.items() if k != "status"}
    sql = "x'); DROP TABLE runs; --"
    return [
        ("bad json", '{"run_id": "abc", ', "bad JSON"),
        ("not an object", "[1, 2, 3]", "one JSON object"),
        ("NaN", changed(final_loss=1.5).replace("1.5", "NaN"), "NaN is not a number"),
        ("infinity", changed(final_loss=1.5).replace("1.5", "1e999"), "not a finite number"),
        ("huge int", changed(width=10**30), "out of range"),
        ("negative", changed(budget=-1.0), "budget"),
        ("wrong type", changed(width="16"), "width: expected an integer"),
        ("bool", changed(seed=True), "seed: expected an integer"),
        ("missing", json.dumps(missing), "status: missing"),
        ("extra column", changed(comment="hi"), "unknown column(s) 'comment'"),
        ("sql innovation", changed(innovation=sql), "not a known innovation"),
        ("sql column", json.dumps({**row, sql: 1}), "unknown column"),
        ("unknown tier", changed(tier="huge"), "not a known tier"),
        ("bad status", changed(status="great"), "must be 'ok' or 'failed'"),
        ("tampered", changed(budget=row["budget"] * 2), "differs from the spec"),
        ("forged id", changed(run_id="0" * 20), "is not the hash of the row's spec"),
        ("bad json column", changed(curve="{oops"), "curve: not valid JSON"),
        ("deep json", "[" * 100_000 + "]" * 100_000, "bad JSON"),
    ]


def test_hostile_or_broken_files_change_nothing(tmp_path, rows, declared):
    db = registry(tmp_path / "r.db", rows[:2], declared)
    before = dump(db)
    fresh = rows[2]  # line 1 of every file: a good row not yet in the registry
    for name, bad_line, message in hostile_cases(fresh):
        path = tmp_path / "bad.jsonl"
        path.write_text(json.dumps(fresh) + "\n" + bad_line + "\n")
        with pytest.raises(ImportRejected) as error:
            import_runs(db, [path], declared)
            pytest.fail(f"{name}: imported")
        assert f"{path}:2: " in str(error.value) and message in str(error.value), name
        assert dump(db) == before, name
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ImportRejected, match="cannot read"):
        import_runs(db, [binary], declared)
    ragged = tmp_path / "ragged.csv"
    export(db, ragged, "csv")
    ragged.write_text(ragged.read_text() + "a,b\n")
    with pytest.raises(ImportRejected, match=r"ragged.csv:4: the number of fields"):
        import_runs(db, [ragged], declared)
    assert dump(db) == before


def test_sql_looking_text_is_stored_as_text(tmp_path, rows, declared):
    db = registry(tmp_path / "r.db", [], declared)
    row = {**rows[0], "command": "'; DROP TABLE runs; --", "error": None}
    path = tmp_path / "runs.jsonl"
    path.write_text(json.dumps(row) + "\n")
    assert import_runs(db, [path], declared).imported == 1
    assert db["runs"].get(row["run_id"])["command"] == "'; DROP TABLE runs; --"
    assert {"runs", "innovations"} <= set(db.table_names())


def test_cli_export_and_import(tmp_path, rows, declared):
    source = tmp_path / "a.db"
    registry(source, rows, declared).close()
    out = tmp_path / "runs.csv"
    runner = CliRunner()
    result = runner.invoke(cli, ["export", "--registry", str(source), "--out", str(out),
                                 "--tier", "smoke", "--innovation", NAME])
    assert result.exit_code == 0, result.output
    assert out.read_text().count("\n") == 11  # header + 10 rows

    target = tmp_path / "b.db"
    result = runner.invoke(cli, ["import", str(out), "--registry", str(target)])
    assert result.exit_code == 0, result.output
    assert f"registered innovations: {NAME}" in result.output
    assert "imported 10 runs, 0 already recorded, 0 conflict(s)" in result.output

    changed = tmp_path / "changed.jsonl"
    changed.write_text(json.dumps({**rows[0], "steps": 2}) + "\n")
    result = runner.invoke(cli, ["import", str(changed), "--registry", str(target)])
    assert result.exit_code == 1
    assert "1 conflict(s)" in result.output and "conflict: " in result.output

    broken = tmp_path / "broken.jsonl"
    broken.write_text("not json\n")
    fresh = tmp_path / "fresh.db"
    result = runner.invoke(cli, ["import", str(broken), "--registry", str(fresh)])
    assert result.exit_code == 1 and f"{broken}:1: bad JSON" in result.output
    assert not fresh.exists()  # a rejected import leaves no empty registry behind


def test_export_selects_by_tier_and_innovation(tmp_path, rows, declared):
    db = registry(tmp_path / "a.db", rows, declared)
    with open(tmp_path / "x.jsonl", "w") as out:
        assert export_runs(db, out, tier="cpu") == 0
        assert export_runs(db, out, tier="smoke", innovations=[NAME, "qk-norm"]) == 10
        assert export_runs(db, out, innovations=["qk-norm"]) == 0


def respec(row, **changes):
    """The row with spec fields changed and its run id recomputed, so only the sense fails."""
    spec = {**json.loads(row["spec"]), **changes}
    return {**row, **{k: v for k, v in changes.items() if k in row}, "spec": json.dumps(spec),
            "run_id": spec_id(spec)}


@pytest.mark.parametrize("change, message", [
    (lambda r: {**r, "final_loss": 1e308},
     "final_loss: 1e+308 is above the spec's max_loss 8.0; training records such a run as failed"),
    (lambda r: {**r, "curve": '[{"step": 1, "tokens": 512, "flops": 1.7e7, "loss": NaN}]'},
     "curve: NaN is not a number"),
    (lambda r: {**r, "curve": '[{"step": 1, "loss": 50.0}]'},
     "curve: point 0 has loss 50.0, above the spec's max_loss 8.0"),
    (lambda r: {**r, "curve": '[{"step": 1, "loss": "low"}]'}, "curve: point 0 needs a number 'loss'"),
    (lambda r: {**r, "started_at": "yesterday"}, "started_at: 'yesterday' is not an ISO 8601 timestamp"),
    (lambda r: {**r, "finished_at": "2025-01-01T00:00:00+00:00"}, "finished_at: before started_at"),
    (lambda r: {**r, "n_params": 5}, "n_params: 5 is not the"),
    (lambda r: respec(r, budget=3e8), "budget: 3e+08 is not one of tier smoke v2's budgets"),
    (lambda r: respec(r, width=24), "width: 24 is not one of tier smoke v2's widths"),
])
def test_import_applies_the_checks_training_applies(tmp_path, rows, declared, change, message):
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(json.dumps(change(row) if k == 0 else row)
                              for k, row in enumerate(rows[:3])) + "\n")
    registry(tmp_path / "target.db", [], declared).close()
    before = (tmp_path / "target.db").read_bytes()
    result = CliRunner().invoke(cli, ["import", str(path), "--registry", str(tmp_path / "target.db")])
    assert result.exit_code == 1 and "nothing imported" in result.output, result.output
    assert f"bad.jsonl:1: {message}" in result.output, result.output
    assert (tmp_path / "target.db").read_bytes() == before


def test_empty_import_is_an_error(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("\n")
    result = CliRunner().invoke(cli, ["import", str(path), "--registry", str(tmp_path / "r.db")])
    assert result.exit_code == 1
    assert "nothing to import (empty input)" in result.output and "no runs in it" in result.output
    assert not (tmp_path / "r.db").exists()


def test_rows_of_another_declaration_import_with_a_warning(tmp_path, rows, declared):
    other = respec(rows[0], declaration_hash="0123456789abcdef")
    path = tmp_path / "other.jsonl"
    path.write_text(json.dumps(other) + "\n" + json.dumps(rows[1]) + "\n")
    result = CliRunner().invoke(cli, ["import", str(path), "--registry", str(tmp_path / "r.db")])
    assert result.exit_code == 0, result.output
    assert "imported 2 runs" in result.output
    assert (f"warning: 1 run(s) of {NAME} have declaration hash '0123456789abcdef', not its "
            f"current '{declared[NAME]['declaration_hash']}': imported, but never fitted") in result.output


def test_dry_run_writes_nothing(tmp_path, rows, declared):
    path = tmp_path / "runs.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows[:4]))
    result = CliRunner().invoke(cli, ["import", str(path), "--dry-run",
                                      "--registry", str(tmp_path / "new.db")])
    assert result.exit_code == 0, result.output
    assert "dry run, nothing written: would be imported 4 runs" in result.output
    assert not (tmp_path / "new.db").exists()
    registry(tmp_path / "old.db", rows[:2], declared).close()
    before = (tmp_path / "old.db").read_bytes()
    result = CliRunner().invoke(cli, ["import", str(path), "--dry-run",
                                      "--registry", str(tmp_path / "old.db")])
    assert "would be imported 2 runs, 2 already recorded" in result.output, result.output
    assert (tmp_path / "old.db").read_bytes() == before


def test_plan_shows_what_a_row_must_agree_with(rows, declared):
    result = CliRunner().invoke(cli, ["plan", "--tier", "smoke", "--innovation", NAME, "--json"])
    assert result.exit_code == 0, result.output
    cells = [json.loads(line) for line in result.output.splitlines()]
    assert {c["declaration_hash"] for c in cells} == {declared[NAME]["declaration_hash"]}
    for row in rows:
        assert any((c["arm"], c["budget"], c["width"], c["seed"], c["n_params"])
                   == (row["arm"], row["budget"], row["width"], row["seed"], row["n_params"])
                   for c in cells)
    text = CliRunner().invoke(cli, ["plan", "--tier", "smoke", "--innovation", NAME]).output
    assert text.startswith(f"{NAME}  declaration_hash {declared[NAME]['declaration_hash']}")


def test_import_format_docs_worked_run_id():
    import re
    from pathlib import Path

    docs = (Path(__file__).parent.parent / "docs" / "import-format.md").read_text()
    spec_text = re.search(r"```json\n(.*?)\n```", docs, re.DOTALL)[1]
    spec = json.loads(spec_text)
    assert json.dumps(spec, sort_keys=True) == spec_text
    assert f"`{spec_id(spec)}`" in docs
