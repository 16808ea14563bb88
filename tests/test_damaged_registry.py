"""Damaged and foreign registries through the command line: one line naming the file
and what to do, exit status 2, no traceback, and the file's bytes unchanged."""

import os
import shutil
import sqlite3
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from cegbench import __version__
from cegbench.cli.main import cli
from cegbench.registry.opening import open_registry


def make_registry(path):
    open_registry(path).close()
    return path


def text_file(path):
    path.write_text("name,loss\nalice,3.2\n")


def empty_file(path):
    path.write_bytes(b"")


def truncated(path):
    make_registry(path)
    data = path.read_bytes()
    path.write_bytes(data[: 2 * 4096])


def corrupt(path):
    make_registry(path)
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xde\xad\xbe\xef" * ((4096 - 100) // 4)
    path.write_bytes(bytes(data))


def foreign(path):
    connection = sqlite3.connect(path)
    connection.execute("create table runs (id integer primary key, km real)")
    connection.execute("create table users (name text)")
    connection.commit()
    connection.close()


def empty_sqlite(path):
    connection = sqlite3.connect(path)
    connection.execute("vacuum")
    connection.close()
    assert path.stat().st_size == 0 or path.read_bytes()[:6] == b"SQLite"


def folder(path):
    path.mkdir()


DAMAGED = {
    "text file": (text_file, "is not a cegbench registry (not an SQLite database"),
    "0-byte file": (empty_file, "is an empty file (0 bytes), not a registry"),
    "truncated": (truncated, "is damaged (truncated: 8192 bytes"),
    "corrupt": (corrupt, "is damaged (PRAGMA integrity_check: SQLite cannot read it: "),
    "foreign SQLite with a runs table": (
        foreign, "is an SQLite database of another application (tables: runs, users), not a "
                 "cegbench registry"),
    "folder": (folder, "is a folder, not a file"),
}
READING = {
    "show": ["show", "gelu-to-swiglu"],
    "status": ["status", "--tier", "smoke"],
    "export": ["export"],
    "site": ["site", "--out", "{tmp}/site"],
    "analyze": ["analyze"],
}


def snapshot(path):
    if path.is_dir():
        return sorted(p.name for p in path.iterdir())
    siblings = sorted(p.name for p in path.parent.iterdir())
    return path.read_bytes(), siblings


def assert_one_line_exit_2(result, path, expected):
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith(f"Error: registry '{path}'") and expected in lines[0], lines[0]


@pytest.mark.parametrize("command", list(READING))
@pytest.mark.parametrize("case", list(DAMAGED))
def test_damaged_registry_read(tmp_path, case, command):
    path = tmp_path / "r.db"
    DAMAGED[case][0](path)
    before = snapshot(path)
    args = [a.replace("{tmp}", str(tmp_path)) for a in READING[command]]
    result = CliRunner().invoke(cli, [*args, "--registry", str(path)])
    assert_one_line_exit_2(result, path, DAMAGED[case][1])
    assert snapshot(path) == before


@pytest.mark.parametrize("case", [c for c in DAMAGED if c != "0-byte file"])
def test_damaged_registry_write(tmp_path, case):
    path = tmp_path / "r.db"
    DAMAGED[case][0](path)
    before = snapshot(path)
    result = CliRunner().invoke(cli, ["run", "--tier", "smoke", "--innovation", "gelu-to-swiglu",
                                      "--registry", str(path)])
    assert_one_line_exit_2(result, path, DAMAGED[case][1])
    assert snapshot(path) == before


def test_empty_sqlite_file_is_no_registry_to_read(tmp_path):
    path = tmp_path / "r.db"
    sqlite3.connect(path).execute("create table t (x)").connection.execute("drop table t")
    before = snapshot(path)
    result = CliRunner().invoke(cli, ["export", "--registry", str(path)])
    assert_one_line_exit_2(result, path, "is an empty SQLite database, not a registry yet")
    assert snapshot(path) == before


def test_reading_commands_write_nothing(tmp_path):
    (tmp_path / "registry").mkdir()
    path = make_registry(tmp_path / "registry" / "r.db")
    before = snapshot(path)
    for args in (["export"], ["status", "--tier", "smoke"], ["site", "--out", str(tmp_path / "s")]):
        result = CliRunner().invoke(cli, [*args, "--registry", str(path)])
        assert result.exit_code == 0, result.output
        assert snapshot(path) == before


def test_read_only_registry_is_refused_for_writing(tmp_path, monkeypatch):
    path = make_registry(tmp_path / "r.db")
    before = snapshot(path)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: not mode & os.W_OK and real_access(p, mode))
    result = CliRunner().invoke(cli, ["analyze", "--registry", str(path)])
    assert_one_line_exit_2(result, path, "is read-only (the file or its folder)")
    assert snapshot(path) == before
    assert CliRunner().invoke(cli, ["export", "--registry", str(path)]).exit_code == 0


def test_registry_in_a_read_only_folder_cannot_be_created(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "access", lambda p, mode: False)
    result = CliRunner().invoke(cli, ["run", "--tier", "smoke", "--innovation", "gelu-to-swiglu",
                                      "--registry", str(tmp_path / "r.db")])
    assert_one_line_exit_2(result, tmp_path / "r.db", "cannot be created: folder")
    assert list(tmp_path.iterdir()) == []


def newer_registry(path):
    db = open_registry(path)
    db["_sqlite_migrations"].insert({"migration_set": "cegbench", "name": "m099_from_the_future",
                                     "applied_at": "2030-01-01"})
    db["cegbench_versions"].insert({"version": "9.1.0", "first_written_at": "2030-01-01"})
    db.close()
    return path


@pytest.mark.parametrize("args", [
    ["run", "--tier", "smoke", "--innovation", "gelu-to-swiglu"],
    ["analyze"],
    ["import", "{tmp}/rows.jsonl"],
])
def test_newer_registry_is_refused_for_writing(tmp_path, args):
    path = newer_registry(tmp_path / "r.db")
    (tmp_path / "rows.jsonl").write_text("{}\n")
    before = snapshot(path)
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    result = CliRunner().invoke(cli, [*args, "--registry", str(path)])
    assert_one_line_exit_2(result, path, "was written by cegbench 9.1.0")
    assert f"this cegbench {__version__} does not know" in result.output
    assert "m099_from_the_future" in result.output
    assert snapshot(path) == before


def test_newer_registry_can_still_be_read(tmp_path):
    path = newer_registry(tmp_path / "r.db")
    before = snapshot(path)
    result = CliRunner().invoke(cli, ["export", "--registry", str(path)])
    assert result.exit_code == 0, result.output
    assert snapshot(path) == before


def test_zero_byte_file_becomes_a_registry_only_when_writing(tmp_path):
    path = tmp_path / "r.db"
    path.write_bytes(b"")
    db = open_registry(path)  # a writing open initialises it
    assert "runs" in db.table_names()


# -------------------------------------------------------------------------
# faults told apart (issue 30): full, read-only, busy, locked, damaged by integrity_check


def sqlite_error(message, code):
    error = sqlite3.OperationalError(message)
    error.sqlite_errorcode = code
    return error


@pytest.fixture
def rows_file(tmp_path, catalog):
    """A registry holding nothing yet, and an export of one valid smoke run to import."""
    from cegbench.registry.db import innovation_row, save_innovations, save_run
    from cegbench.registry.ingest import measurement_row
    from cegbench.registry.row_checks import expected_n_params
    from cegbench.tiers import TIERS
    from cegbench.train.trainer import RunResult
    from plan_fixtures import plan_untuned

    swiglu = catalog.innovations.get("gelu-to-swiglu")
    declared = innovation_row(swiglu, catalog.plugin_info(swiglu.plugin))
    spec = plan_untuned([swiglu], TIERS.get("smoke"), catalog.components)[0]
    result = RunResult(spec.run_id, spec, status="ok", final_loss=3.0,
                       n_params=expected_n_params(spec.to_dict(), catalog.components),
                       flops_per_token=1e5, tokens=512, steps=1,
                       curve=[{"step": 1, "tokens": 512, "flops": 5e7, "loss": 3.0}],
                       started_at="2026-01-01T00:00:00+00:00", finished_at="2026-01-01T00:00:01+00:00")
    source = open_registry(tmp_path / "source.db")
    save_innovations(source, [declared])
    save_run(source, measurement_row(result, declared, "test"))
    CliRunner().invoke(cli, ["export", "--registry", str(tmp_path / "source.db"),
                             "--out", str(tmp_path / "runs.jsonl")])
    source.close()
    make_registry(tmp_path / "r.db")
    return tmp_path / "runs.jsonl"


def failing_write(monkeypatch, error):
    """Every write transaction of an import fails with ``error``, as SQLite would."""
    import contextlib

    from cegbench.registry import exchange

    @contextlib.contextmanager
    def fails(db):
        raise error
        yield  # pragma: no cover

    monkeypatch.setattr(exchange, "write_transaction", fails)


@pytest.mark.parametrize("error, expected", [
    (sqlite_error("database or disk is full", 13), "the disk is full (SQLite: database or disk is full); "
                                                    "no run is lost"),
    (sqlite_error("attempt to write a readonly database", 8), "is read-only (SQLite: attempt to write a "
                                                             "readonly database)"),
    (sqlite_error("database table is locked", 6), "is locked: its lock cannot be taken"),
    (sqlite_error("disk I/O error", 10), "PRAGMA integrity_check finds the registry intact, so it is "
                                         "not damaged"),
])
def test_write_faults_are_told_apart(tmp_path, rows_file, monkeypatch, error, expected):
    """Before: each was "SQLite error: …; if the registry is damaged, restore it from a
    backup" (and a full disk was "damaged" on every later command)."""
    path = tmp_path / "r.db"
    before = path.read_bytes()
    failing_write(monkeypatch, error)
    result = CliRunner().invoke(cli, ["import", str(rows_file), "--registry", str(path)])
    assert_one_line_exit_2(result, path, expected)
    assert "backup" not in result.output
    assert path.read_bytes() == before
    assert open_registry(path, readonly=True)["runs"].count == 0


def test_a_busy_registry_says_so(tmp_path, rows_file, monkeypatch):
    """Another process holds the write lock past the busy timeout (a real lock)."""
    from cegbench.registry import connect

    path = tmp_path / "r.db"
    monkeypatch.setattr(connect, "BUSY_TIMEOUT_MS", 200)
    holder = sqlite3.connect(path)
    holder.execute("BEGIN IMMEDIATE")
    try:
        result = CliRunner().invoke(cli, ["import", str(rows_file), "--registry", str(path)])
    finally:
        holder.rollback()
        holder.close()
    assert_one_line_exit_2(result, path, "is busy: another process (a `cegbench run`?) kept it "
                                         "locked for longer than the 0 s this command waits")
    assert "backup" not in result.output


def test_a_full_disk_is_no_broken_registry_to_readers(tmp_path, monkeypatch):
    """A read that cannot open its connection on a full disk (e.g. no room for the -shm
    file) says the disk is full, not "damaged, restore it from a backup"."""
    from cegbench.registry import connect, faults

    path = make_registry(tmp_path / "r.db")
    before = snapshot(path)

    def no_room(path):
        raise sqlite_error("disk I/O error", 10)

    monkeypatch.setattr(connect, "read_only_connection", no_room)
    monkeypatch.setattr(faults.shutil, "disk_usage",
                        lambda folder: shutil._ntuple_diskusage(100, 100, 0))
    for args in (["show", "gelu-to-swiglu"], ["export"], ["status", "--tier", "smoke"]):
        result = CliRunner().invoke(cli, [*args, "--registry", str(path)])
        assert_one_line_exit_2(result, path, "the disk is full (SQLite: disk I/O error)")
        assert " is damaged" not in result.output and "backup" not in result.output
    assert snapshot(path) == before


def test_a_symlink_loop_is_named(tmp_path):
    path = tmp_path / "loop.db"
    path.symlink_to(path)
    result = CliRunner().invoke(cli, ["export", "--registry", str(path)])
    assert_one_line_exit_2(result, path, "is a symbolic link loop")


def test_a_rejected_import_leaves_a_dangling_symlink_as_it_was(tmp_path):
    """Before: the link was deleted and a new file was left at its target."""
    link, target = tmp_path / "link.db", tmp_path / "elsewhere" / "r.db"
    target.parent.mkdir()
    link.symlink_to(target)
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n")
    result = CliRunner().invoke(cli, ["import", str(bad), "--registry", str(link)])
    assert result.exit_code == 1 and "bad JSON" in result.output, result.output
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert list(target.parent.iterdir()) == []
    reading = CliRunner().invoke(cli, ["export", "--registry", str(link)])
    assert_one_line_exit_2(reading, link, f"is a symbolic link to '{target}', which does not exist")


def test_a_fifo_as_registry_does_not_hang(tmp_path):
    """Opening a FIFO blocks until a writer comes: the command must refuse it instead."""
    import threading

    fifo = tmp_path / "pipe.db"
    os.mkfifo(fifo)
    outcome = {}
    thread = threading.Thread(target=lambda: outcome.update(
        result=CliRunner().invoke(cli, ["export", "--registry", str(fifo)])), daemon=True)
    thread.start()
    thread.join(timeout=30)
    if thread.is_alive():  # unblock the hung reader so the test process can end
        with open(fifo, "wb"):
            pass
        pytest.fail("cegbench hangs on a FIFO given as --registry")
    assert_one_line_exit_2(outcome["result"], fifo, "is not a regular file but a FIFO (named pipe)")


def test_a_registry_behind_an_unsearchable_folder_is_one_line(tmp_path, monkeypatch):
    """A folder without search permission (chmod 000) makes stat() fail with EACCES. Tests
    run as root, whom chmod does not stop, so the error is raised by a stand-in stat."""
    import errno

    path = tmp_path / "locked-away" / "r.db"
    real_stat = os.stat

    def denied(target, *args, **kwargs):
        if str(target).startswith(str(path.parent)):
            raise PermissionError(errno.EACCES, "Permission denied", str(target))
        return real_stat(target, *args, **kwargs)

    monkeypatch.setattr(os, "stat", denied)
    result = CliRunner().invoke(cli, ["export", "--registry", str(path)])
    assert_one_line_exit_2(result, path, "cannot be reached (Permission denied): check the "
                                         "permissions of the folders on its path")


def test_export_to_a_full_or_read_only_disk_is_one_line(tmp_path, monkeypatch):
    import errno

    from cegbench.registry import exchange

    path = make_registry(tmp_path / "r.db")
    out = tmp_path / "runs.jsonl"

    def full(target, mode="r", *, gz=None):
        raise OSError(errno.ENOSPC, "No space left on device", str(target))

    with monkeypatch.context() as patch:
        patch.setattr(exchange, "open_text", full)
        result = CliRunner().invoke(cli, ["export", "--registry", str(path), "--out", str(out)])
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.output.strip() == (f"Error: cannot use '{out}.partial': No space left on "
                                     "device; the disk is full: free some space and run the "
                                     "command again")
    assert not out.exists()
    # a real one: a path under a file, not a folder
    (tmp_path / "a-file").write_text("x")
    result = CliRunner().invoke(cli, ["export", "--registry", str(path),
                                      "--out", str(tmp_path / "a-file" / "runs.jsonl")])
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert "Not a directory" in result.output and len(result.output.strip().splitlines()) == 1


# -------------------------------------------------------------------------
# one corrupt JSON value: one line naming table, column and row (issue 30)


@pytest.fixture
def with_verdict(tmp_path, catalog):
    """A registry with gelu-to-swiglu registered and a smoke verdict stored."""
    from cegbench.registry.db import innovation_row, save_innovations, save_verdict

    path = tmp_path / "r.db"
    db = open_registry(path)
    swiglu = catalog.innovations.get("gelu-to-swiglu")
    save_innovations(db, [innovation_row(swiglu, catalog.plugin_info(swiglu.plugin))])
    save_verdict(db, innovation="gelu-to-swiglu", tier=SimpleNamespace(name="smoke", version=2), fits=[], verdict=dict(
        label="inconclusive", margin=2.0, n_runs=0, n_failed=0,
        declaration_hash=swiglu.declaration_hash(), ceg=[], frontier=[], warnings=[]))
    db.close()
    return path


def corrupt_value(path, table, column, value):
    connection = sqlite3.connect(path)
    connection.execute(f"update [{table}] set [{column}] = ?", [value])
    connection.commit()
    connection.close()


@pytest.mark.parametrize("table, column, commands, expected", [
    ("verdicts", "ceg", (["show", "gelu-to-swiglu"], ["table", "--tier", "smoke"], ["site"]),
     "verdicts.ceg of 'gelu-to-swiglu' on tier smoke v2 is not valid JSON"),
    ("verdicts", "warnings", (["show", "gelu-to-swiglu"], ["table", "--tier", "smoke"]),
     "verdicts.warnings of 'gelu-to-swiglu' on tier smoke v2 is not valid JSON"),
    ("innovations", "literature", (["show", "gelu-to-swiglu"], ["table", "--tier", "smoke"], ["site"]),
     "is not valid JSON"),
])
def test_a_corrupt_json_value_is_one_line(tmp_path, with_verdict, table, column, commands, expected):
    corrupt_value(with_verdict, table, column, '[{"compute": 1e12,')
    for args in commands:
        args = [*args, "--out", str(tmp_path / "site")] if args == ["site"] else args
        before = snapshot(with_verdict)
        result = CliRunner().invoke(cli, [*args, "--registry", str(with_verdict)])
        assert_one_line_exit_2(result, with_verdict, expected)
        assert "fix or delete that row" in result.output
        assert snapshot(with_verdict) == before
    if commands[0][0] == "show":  # show and table name the innovation's literature exactly
        result = CliRunner().invoke(cli, ["show", "gelu-to-swiglu", "--registry", str(with_verdict)])
        assert f"{table}.{column}" in result.output


@pytest.mark.parametrize("spec, expected", [
    ('{"recipe": {"family": "gpt"', "runs.spec of run 'damaged-run' is not valid JSON"),
    ('{"recipe": {"family": "gpt", "turbo": true}, "width": 16}',
     "runs.spec of run 'damaged-run' is not a run spec (TypeError: "),
])
def test_a_corrupt_run_spec_is_one_line_for_run(tmp_path, with_verdict, catalog, monkeypatch,
                                                 spec, expected):
    """Before: every `cegbench run` on the registry crashed with a traceback, whatever the
    innovation (the spec is read to find trainings to share)."""
    from cegbench.plan.specs import TunedRate
    from cegbench.registry.db import save_run
    from cegbench.sweep import run as sweep

    db = open_registry(with_verdict)
    save_run(db, {"run_id": "damaged-run", "innovation": "gelu-to-swiglu", "arm": "baseline",
                  "tier": "smoke", "tier_version": 2, "budget": 2.5e8, "width": 16, "seed": 0,
                  "status": "ok", "final_loss": 3.0, "declaration_hash": "x",
                  "spec": spec})
    db.close()
    swiglu = catalog.innovations.get("gelu-to-swiglu")
    monkeypatch.setattr(sweep, "tune_learning_rates", lambda *args, **kwargs: {
        swiglu.baseline: TunedRate(0.004, 32), swiglu.modern: TunedRate(0.004, 32)})
    result = CliRunner().invoke(cli, ["run", "--tier", "smoke", "--innovation", "gelu-to-swiglu",
                                      "--jobs", "1", "--device", "cpu", "--registry", str(with_verdict)])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    error = next(line for line in result.output.splitlines() if line.startswith("Error"))
    assert expected in error and "fix or delete that row" in error, error
    assert open_registry(with_verdict, readonly=True)["runs"].count == 1  # nothing trained


def test_site_on_a_full_disk_or_under_a_file_is_one_line(tmp_path, monkeypatch):
    import errno

    from cegbench.site import render

    path = make_registry(tmp_path / "r.db")
    out = tmp_path / "site"
    assert CliRunner().invoke(cli, ["site", "--registry", str(path), "--out", str(out)]).exit_code == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def full(env, template, context, target):
        raise OSError(errno.ENOSPC, "No space left on device", str(target))

    monkeypatch.setattr(render, "_write", full)
    result = CliRunner().invoke(cli, ["site", "--registry", str(path), "--out", str(out)])
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert len(result.output.strip().splitlines()) == 1
    assert "No space left on device; the disk is full" in result.output
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    monkeypatch.undo()
    (tmp_path / "a-file").write_text("x")
    result = CliRunner().invoke(cli, ["site", "--registry", str(path),
                                      "--out", str(tmp_path / "a-file" / "site")])
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert "on its path is a file, not a folder" in result.output
    assert len(result.output.strip().splitlines()) == 1
