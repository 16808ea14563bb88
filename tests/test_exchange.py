"""Export, import and merging registries; hostile files change nothing."""

import json

import pytest
from click.testing import CliRunner

from cegbench.cli.main import cli
from cegbench.plan.specs import spec_id
from cegbench.registry.db import innovation_row, save_innovations, save_run
from cegbench.registry.exchange import ImportRejected, export_runs, import_runs
from cegbench.registry.ingest import measurement_row
from cegbench.registry.opening import open_registry
from cegbench.registry.row_checks import expected_n_params
from cegbench.tiers import TIERS
from cegbench.train.trainer import RunResult
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
        assert export_runs(db, out, tier_name="cpu") == 0
        assert export_runs(db, out, tier_name="smoke", innovations=[NAME, "qk-norm"]) == 10
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


# -------------------------------------------------------------------------
# a run's spec is the tier's spec (issue 30)


def import_cli(tmp_path, lines, *extra):
    """Import ``lines`` (rows or raw text) into a fresh registry holding the innovation;
    returns (result, registry bytes before, registry path)."""
    target = tmp_path / "target.db"
    if not target.exists():
        db = open_registry(target)
        db.close()
    path = tmp_path / "in.jsonl"
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n"
                            for line in lines))
    before = target.read_bytes()
    result = CliRunner().invoke(cli, ["import", str(path), "--registry", str(target), *extra])
    assert "Traceback" not in result.output
    return result, before, target


def respec_only(row, **changes):
    """The row with its spec's fields changed (not its columns) and its run id recomputed."""
    return forged_text(row, json.dumps({**json.loads(row["spec"]), **changes}, sort_keys=True))


def recipe_changed(row, **changes):
    recipe = {**json.loads(row["spec"])["recipe"], **changes}
    return respec_only({**row, "recipe": None}, recipe={k: v for k, v in recipe.items()
                                                        if v is not None})


def forged_text(row, spec_text: str) -> dict:
    """The row with its spec replaced by ``spec_text``, its run id the hash of what it parses to."""
    spec = json.loads(spec_text)
    return {**row, "spec": spec_text, "run_id": spec_id(spec)}


@pytest.mark.parametrize("forge, message", [
    (lambda r: respec({**r, "final_loss": 1e300}, max_loss=1e308),
     "spec.max_loss: 1e+308 is not tier smoke v2's max_loss 8.0"),
    (lambda r: respec(r, eval_tokens=64), "spec.eval_tokens: 64 is not tier smoke v2's eval_tokens 2048"),
    (lambda r: respec(r, dataset="enwiki-sample"),
     "spec.dataset: 'enwiki-sample' is not tier smoke v2's dataset 'synthetic'"),
    (lambda r: forged_text(r, r["spec"].replace('"max_loss": 8.0', '"max_loss": NaN')),
     "spec: NaN is not a number"),
    (lambda r: forged_text(r, r["spec"].replace('"max_loss": 8.0', '"max_loss": Infinity')),
     "spec: Infinity is not a number"),
    (lambda r: forged_text(r, r["spec"].replace('"max_loss": 8.0', '"max_loss": 1e999')),
     "spec: 1e999 is not a finite number"),
    (lambda r: forged_text(r, r["spec"].replace('"max_loss": 8.0',
                                                '"max_loss": 8.0, "max_loss": 1e308')),
     "spec: key(s) 'max_loss' given twice"),
    (lambda r: forged_text(r, json.dumps({k: v for k, v in json.loads(r["spec"]).items()
                                          if k != "eval_points"})),
     "spec: missing field(s) eval_points"),
    (lambda r: respec(r, note="hi"), "spec: unknown field(s) 'note'"),
    (lambda r: recipe_changed(r, turbo=True), "spec.recipe: unknown field(s) 'turbo'"),
    (lambda r: recipe_changed(r, mlp=None), "spec.recipe: missing field(s) mlp"),
    (lambda r: recipe_changed(r, tied_embeddings=1), "spec.recipe: field 'tied_embeddings' must be bool"),
    (lambda r: recipe_changed(r, schedule="linear"),
     "spec.recipe: differs from the baseline recipe that gelu-to-swiglu's current declaration"),
    (lambda r: respec(r, budget=int(json.loads(r["spec"])["budget"])),
     "spec.budget: must be a JSON number with a decimal point or exponent"),
    (lambda r: respec_only(r, width=16.0), "spec.width: must be a JSON integer, got 16.0"),
    (lambda r: respec(r, tier_version=99), "tier_version: 99 is not a version of tier smoke"),
    (lambda r: {**r, "train_time_s": -5.0}, "train_time_s: -5.0 must not be negative"),
])
def test_a_forged_spec_is_refused_naming_the_field(tmp_path, rows, forge, message):
    """A spec is more than its hash: the tier's settings, strict JSON, every field and
    no other, the declared recipe (round 2's max_loss check was bypassed by forging the
    spec's own max_loss)."""
    forged = forge(rows[0])
    result, before, target = import_cli(tmp_path, [rows[1], forged])
    assert result.exit_code == 1, result.output
    assert "nothing imported" in result.output and f"in.jsonl:2: {message}" in result.output, \
        result.output
    assert target.read_bytes() == before


def test_a_second_run_of_a_cell_is_a_conflict(tmp_path, rows):
    """One run per cell and seed: another learning rate for a recorded cell is refused
    (its eval_tokens, too, before: then it moved a frontier point while status said 24/24)."""
    result, _, target = import_cli(tmp_path, [rows[0]])
    assert result.exit_code == 0, result.output
    twin = respec({**rows[0], "learning_rate": None}, learning_rate=0.5)
    again = CliRunner().invoke(cli, ["import", str(tmp_path / "in.jsonl"), "--registry", str(target)])
    assert again.exit_code == 0  # the same run again: unchanged, not a conflict
    (tmp_path / "twin.jsonl").write_text(json.dumps(twin) + "\n" + json.dumps(rows[1]) + "\n")
    result = CliRunner().invoke(cli, ["import", str(tmp_path / "twin.jsonl"), "--registry", str(target)])
    assert result.exit_code == 1, result.output
    assert "imported 1 runs, 0 already recorded, 1 conflict(s)" in result.output
    assert (f"measures a cell already measured by run {rows[0]['run_id']}" in result.output
            and "one run per cell" in result.output)
    db = open_registry(target, readonly=True)
    assert {r["run_id"] for r in db["runs"].rows} == {rows[0]["run_id"], rows[1]["run_id"]}
    # two runs of one cell in one file: the first is kept
    (tmp_path / "one-file").mkdir()
    result, _, _ = import_cli(tmp_path / "one-file",
                              [rows[2], respec({**rows[2], "learning_rate": None}, learning_rate=0.5)])
    assert result.exit_code == 1 and "imported 1 runs, 0 already recorded, 1 conflict(s)" \
        in result.output, result.output


def test_a_csv_with_a_byte_order_mark_imports(tmp_path, rows, declared):
    """Excel's "CSV UTF-8" starts with a byte-order mark: read as the header it precedes."""
    source = registry(tmp_path / "a.db", rows[:3], declared)
    exported = export(source, tmp_path / "runs.csv", "csv")
    marked = tmp_path / "marked.csv"
    marked.write_bytes(b"\xef\xbb\xbf" + exported.read_bytes())
    result = CliRunner().invoke(cli, ["import", str(marked), "--registry", str(tmp_path / "b.db")])
    assert result.exit_code == 0, result.output
    assert "imported 3 runs" in result.output


def test_a_gz_with_a_damaged_deflate_block_is_one_line(tmp_path, rows, declared):
    import gzip

    good = gzip.compress("".join(json.dumps(r) + "\n" for r in rows).encode(), mtime=0)
    damaged = bytearray(good)
    middle = len(damaged) // 2
    damaged[middle:middle + 64] = b"\x00" * 64
    path = tmp_path / "runs.jsonl.gz"
    path.write_bytes(bytes(damaged))
    result = CliRunner().invoke(cli, ["import", str(path), "--registry", str(tmp_path / "r.db")])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and f"{path}: cannot read: " in result.output
    assert not (tmp_path / "r.db").exists()


def test_an_import_racing_a_run_sees_its_run_as_recorded(tmp_path, rows, declared, monkeypatch):
    """A `cegbench run` that records a run between the import's check and its write: the
    run is compared like any other (before: "UNIQUE constraint failed … restore it from a
    backup", exit 2, for a registry that was fine)."""
    import contextlib

    from cegbench.registry import exchange

    target = tmp_path / "r.db"
    registry(target, [], declared).close()
    real = exchange.write_transaction

    @contextlib.contextmanager
    def racing(db):
        other = open_registry(target)  # the other process records the run first
        save_run(other, rows[0])
        other.close()
        with real(db):
            yield

    monkeypatch.setattr(exchange, "write_transaction", racing)
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps(rows[0]) + "\n" + json.dumps(rows[1]) + "\n")
    result = CliRunner().invoke(cli, ["import", str(path), "--registry", str(target)])
    assert result.exit_code == 0, result.output
    assert "imported 1 runs, 1 already recorded, 0 conflict(s)" in result.output


FORMULAS = ["=HYPERLINK(\"http://evil.example\",\"x\")", "=cmd|' /C calc'!A0", "@SUM(1+1)*cmd",
            "+1+1", "-2+3", "\tTAB", "\rCR", "'=already quoted", "'plain quote", "plain"]


def test_csv_exports_defuse_formulas_and_import_reads_them_back(tmp_path, rows, declared):
    """OWASP's rule: a text cell a spreadsheet would run begins with an apostrophe in every
    CSV cegbench writes; numbers stay numbers; cegbench's import undoes it exactly."""
    import csv

    made = [{**row, "command": text, "hardware": text, "error": text}
            for row, text in zip(rows, FORMULAS)]
    source = registry(tmp_path / "a.db", made, declared)
    exported = export(source, tmp_path / "runs.csv", "csv")
    cells = list(csv.DictReader(exported.open(newline="")))
    for cell, text in zip(sorted(cells, key=lambda c: c["run_id"]),
                          [r["command"] for r in sorted(made, key=lambda r: r["run_id"])]):
        assert cell["command"][0] not in "=+-@\t\r", cell["command"]
        assert cell["command"] == (("'" + text) if text[0] in "=+-@\t\r'" else text)
        assert float(cell["final_loss"]) > 0 and not cell["final_loss"].startswith("'")
    target = open_registry(tmp_path / "b.db")
    assert import_runs(target, [exported], declared).imported == len(made)
    assert sorted(target["runs"].rows, key=str) == sorted(source["runs"].rows, key=str)
