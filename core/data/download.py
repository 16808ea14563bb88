"""Downloading a file once: resumable, size- and sha256-checked, with a progress bar.

``fetch(url, dest)`` writes ``dest.partial`` and renames it to ``dest`` only when its
size and sha256 match what the server advertises (Hugging Face sends a file's LFS
sha256 and size as ``X-Linked-Etag`` / ``X-Linked-Size`` on ``resolve`` URLs) or what
the caller pins. An interrupted download resumes from the partial file with an HTTP
``Range`` request. ``file://`` URLs are copied the same way (the offline tests use
them, and a mirror on a shared filesystem can too).

Any network failure is a ``DownloadError`` with a one-line reason; the first request
uses a short timeout, so a machine without network access fails at once.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from tqdm import tqdm

CHUNK = 1 << 20
CONNECT_TIMEOUT_S = 10
READ_TIMEOUT_S = 60


class DownloadError(Exception):
    """A file could not be fetched or did not match its checksum."""


@dataclass
class Remote:
    """What the server says about a file before we fetch it."""

    size: int | None
    sha256: str | None
    revision: str | None  # Hugging Face's X-Repo-Commit, when sent


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the 302 itself carries Hugging Face's X-Linked-* headers


def describe(url: str) -> Remote:
    """Size, sha256 and revision of a remote file, from a HEAD request (no redirects)."""
    if urlparse(url).scheme == "file":
        path = Path(urllib.request.url2pathname(urlparse(url).path))
        if not path.is_file():
            raise DownloadError(f"{url}: no such file")
        return Remote(path.stat().st_size, None, None)
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        response = opener.open(urllib.request.Request(url, method="HEAD"),
                               timeout=CONNECT_TIMEOUT_S)
        headers = response.headers
    except urllib.error.HTTPError as error:
        if error.code not in (301, 302, 303, 307, 308):
            raise DownloadError(f"{url}: HTTP {error.code} {error.reason}") from None
        headers = error.headers
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise DownloadError(f"cannot reach {urlparse(url).netloc}: {reason}") from None
    etag = (headers.get("X-Linked-Etag") or "").strip('"')
    size = headers.get("X-Linked-Size") or headers.get("Content-Length")
    return Remote(int(size) if size else None,
                  etag if len(etag) == 64 else None,  # an LFS etag is the sha256
                  headers.get("X-Repo-Commit"))


def fetch(url: str, dest, *, sha256: str | None = None, size: int | None = None,
          progress: bool = True) -> Path:
    """``dest``, downloaded from ``url`` unless already there; resumes a partial download.

    The file is checked against ``sha256``/``size`` when given, else against what the
    server advertises; a mismatch deletes the partial file and raises.
    """
    dest = Path(dest)
    if dest.is_file():
        return dest
    remote = describe(url)
    sha256 = sha256 or remote.sha256
    size = size or remote.size
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    offset = partial.stat().st_size if partial.is_file() else 0
    if size is not None and offset > size:
        partial.unlink()
        offset = 0
    if size is None or offset < size:
        _download(url, partial, offset, size, progress, dest.name)
    actual_size = partial.stat().st_size
    if size is not None and actual_size != size:
        raise DownloadError(f"{url}: got {actual_size} bytes, expected {size}; run the "
                            "command again to resume")
    if sha256 is not None:
        digest = file_sha256(partial)
        if digest != sha256:
            partial.unlink()
            raise DownloadError(f"{url}: sha256 {digest} differs from the expected {sha256}; "
                                "the partial file was deleted, run the command again")
    os.replace(partial, dest)
    return dest


def _download(url, partial: Path, offset: int, size: int | None, progress: bool, label: str):
    scheme = urlparse(url).scheme
    try:
        if scheme == "file":
            source = open(urllib.request.url2pathname(urlparse(url).path), "rb")
            source.seek(offset)
            resumed = True
        else:
            request = urllib.request.Request(url)
            if offset:
                request.add_header("Range", f"bytes={offset}-")
            source = urllib.request.urlopen(request, timeout=READ_TIMEOUT_S)
            resumed = getattr(source, "status", 200) == 206
        with source, open(partial, "ab" if resumed else "wb") as out, tqdm(
                total=size, initial=offset if resumed else 0, unit="B", unit_scale=True,
                desc=label, disable=not progress, mininterval=1) as bar:
            while block := source.read(CHUNK):
                out.write(block)
                bar.update(len(block))
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise DownloadError(f"{url}: download interrupted ({reason}); run the command again "
                            "to resume") from None


def file_sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(CHUNK * 16):
            digest.update(block)
    return digest.hexdigest()

