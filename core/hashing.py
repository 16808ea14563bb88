"""Content hashes: the ids of runs, recipes and declarations.

A hash is the sha256 of the data as canonical JSON (keys sorted), cut to ``length``
hex digits. Changing how it is computed changes every id in every registry.
"""

from __future__ import annotations

import hashlib
import json


def content_hash(data, length: int) -> str:
    """The first ``length`` hex digits of sha256 over ``data`` as JSON with sorted keys
    (values JSON cannot hold are written as their ``str``)."""
    blob = json.dumps(data, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:length]
