"""Putting a built site in its folder without destroying anything that is not the site's.

    publish(out_dir, render, force=…, inputs=…) ─▶ the files ``render`` wrote, now in ``out_dir``

``render`` builds the whole site into an empty staging folder beside ``out_dir`` (on the
same disk, so moving a file is a rename). Only then is it swapped in: into a new
``out_dir`` in one rename; into an existing one file by file, every page before
``index.html`` (each ``os.replace`` is atomic, so a reader, or a build stopped by Ctrl-C,
never sees the index link to a page not there yet), then the files the previous build
wrote and this one does not are removed, then the manifest is rewritten. The manifest,
``.cegbench-site.json``, lists the files a build wrote: the only files a later build
removes. A folder with other files in it and no manifest is not the site's: it is
refused unless ``force`` (then its own files are left alone). A folder built by a
cegbench before manifests existed is recognised by its layout (``index.html``, hashed
``static/app.*.css``, ``downloads/cegbench.db``), and only that layout's files count as
the site's. The site's inputs (the registry, exports) may not lie inside ``out_dir``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath

MANIFEST = ".cegbench-site.json"
WRITTEN_BY = "cegbench site"
INDEX = "index.html"


class SiteFolderError(Exception):
    """The output folder cannot take the site as asked; one line naming it and what to do."""


def publish(out_dir: Path, render: Callable[[Path], list[Path]], *, force: bool = False,
            inputs: Iterable[Path] = ()) -> list[Path]:
    """Render into a staging folder with ``render(folder) -> written files``, then swap the
    result into ``out_dir`` (see the module docstring); return the files as placed."""
    out_dir = Path(out_dir)
    previous = check_folder(out_dir, force=force, inputs=inputs)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.building-", dir=out_dir.parent))
    try:
        written = sorted({PurePosixPath(p.relative_to(staging).as_posix()) for p in render(staging)})
        if not out_dir.exists():
            _write_manifest(staging, written)
            staging.rename(out_dir)  # one rename: the whole site at once
        else:
            _swap_in(staging, out_dir, written, previous)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [out_dir / p for p in written]


def check_folder(out_dir: Path, *, force: bool = False,
                 inputs: Iterable[Path] = ()) -> list[PurePosixPath]:
    """The files an earlier build wrote in ``out_dir`` (``previous_files``), after checking
    that none of ``inputs`` lies inside it; raises ``SiteFolderError``."""
    _check_inputs(out_dir, inputs)
    return previous_files(out_dir, force)


def _check_inputs(out_dir: Path, inputs: Iterable[Path]) -> None:
    folder = Path(os.path.realpath(out_dir))
    for source in inputs:
        real = Path(os.path.realpath(source))
        if real == folder or folder in real.parents:
            raise SiteFolderError(
                f"--out {str(out_dir)!r} holds the site's input {str(source)!r} (symbolic links "
                "resolved); a build replaces that folder's files: keep the registry and exports "
                "outside it, or pass another --out")


def previous_files(out_dir: Path, force: bool) -> list[PurePosixPath]:
    """The files an earlier build wrote in ``out_dir`` (its manifest, or a pre-manifest
    build's layout); [] for a new or empty folder, or with ``force`` for a foreign one.
    Raises ``SiteFolderError`` for a folder that is not the site's (without ``force``)."""
    where = f"site folder {str(out_dir)!r}"
    if not out_dir.exists() and not out_dir.is_symlink():
        above = next((p for p in out_dir.parents if p.exists()), None)
        if above is not None and not above.is_dir():
            raise SiteFolderError(f"{where} cannot be made: {str(above)!r} on its path is a "
                                  "file, not a folder; pass another --out")
        return []
    if not out_dir.is_dir():
        raise SiteFolderError(f"{where} is not a folder; pass --out with a folder")
    manifest = out_dir / MANIFEST
    if manifest.is_file():
        return _read_manifest(manifest, where)
    legacy = _legacy_build(out_dir)
    if legacy is not None:
        return legacy
    if force or not any(out_dir.iterdir()):
        return []
    raise SiteFolderError(
        f"{where} is not empty and was not made by `cegbench site` (it has no {MANIFEST}); "
        "pass --force to write the site into it (its own files are left alone), or pass an "
        "empty or new --out")


def _read_manifest(manifest: Path, where: str) -> list[PurePosixPath]:
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
        files = [PurePosixPath(name) for name in data["files"]]
        if data.get("written_by") != WRITTEN_BY or not all(isinstance(n, str) for n in data["files"]):
            raise ValueError("not a cegbench site manifest")
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise SiteFolderError(f"{where}: its {MANIFEST} cannot be read ({error}); delete the "
                              "folder's old site, or pass an empty or new --out") from None
    for name in files:
        if name.is_absolute() or ".." in name.parts or not name.parts:
            raise SiteFolderError(f"{where}: its {MANIFEST} names {str(name)!r}, outside the "
                                  "folder; a site manifest names only the site's own files")
    return files


def _legacy_build(out_dir: Path) -> list[PurePosixPath] | None:
    """A site built before manifests: its layout's files, or None when it is not one."""
    if not ((out_dir / INDEX).is_file() and list((out_dir / "static").glob("app.*.css"))
            and (out_dir / "downloads" / "cegbench.db").is_file()):
        return None
    found = [out_dir / INDEX, *(out_dir / "static").glob("app.*"),
             *(out_dir / "innovation").glob("*.html"), *(out_dir / "downloads").glob("*")]
    return [PurePosixPath(p.relative_to(out_dir).as_posix()) for p in found
            if p.is_file() and not p.is_symlink()]


def _write_manifest(folder: Path, files: Iterable[PurePosixPath]) -> None:
    text = json.dumps({"written_by": WRITTEN_BY, "files": sorted(map(str, files))}, indent=1)
    partial = folder / f"{MANIFEST}.partial"
    partial.write_text(text + "\n", encoding="utf-8")
    os.replace(partial, folder / MANIFEST)


def _swap_in(staging: Path, out_dir: Path, written: list[PurePosixPath],
             previous: list[PurePosixPath]) -> None:
    for name in written:  # checked before anything moves: a folder where a file must go
        target = out_dir / name
        if target.is_dir() and not target.is_symlink():
            raise SiteFolderError(f"site folder {str(out_dir)!r}: {str(name)!r} is a folder of "
                                  "its own where the site writes a file; move it away")
    # the manifest first lists both builds' files, so a build stopped midway leaves every
    # file of either build known to the next one
    _write_manifest(out_dir, {*previous, *written})
    for name in sorted(written, key=lambda n: str(n) == INDEX):  # the index last
        target = out_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging / name, target)
    for name in set(previous) - set(written):
        old = out_dir / name
        if old.is_file() or old.is_symlink():
            old.unlink()
    _write_manifest(out_dir, written)
