"""Damaged and foreign registries through the command line: one line naming the file
and what to do, exit status 2, no traceback, and the file's bytes unchanged."""

import os
import sqlite3

import pytest
from click.testing import CliRunner

from cegbench import __version__
from cegbench.cli import cli
from cegbench.registry.db import open_registry


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
    "corrupt": (corrupt, "is damaged or unreadable (SQLite: "),
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
