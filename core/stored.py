"""JSON values the registry stores (a run's spec, a verdict's columns, an innovation's
literature and recipes), parsed with the row they came from named.

A registry edited by hand, or damaged in one value, then gives one line naming the
table, column and row (``StoredValueError``; the CLI prints it and exits 2) instead of a
traceback from deep inside whichever command read it first.
"""

from __future__ import annotations

import json


class StoredValueError(ValueError):
    """A value stored in the registry does not parse as what it must be; the message
    names the table, the column and the row."""


def load_json(text, where: str, default=None, kind: type | tuple[type, ...] | None = None):
    """``text`` parsed as JSON (NaN allowed: verdicts store it), ``default`` when it is
    empty or NULL. ``where`` names the value, e.g. "runs.spec of run 'abc'"; ``kind``:
    the type the value must have (list, dict …)."""
    if text is None or text == "":
        return default
    if not isinstance(text, str | bytes):
        raise StoredValueError(f"{where} must be JSON text, but it holds {type(text).__name__} "
                               f"{str(text)[:40]!r}")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise StoredValueError(f"{where} is not valid JSON ({error})") from None
    if kind is not None and not isinstance(value, kind):
        names = " or ".join(t.__name__ for t in (kind if isinstance(kind, tuple) else (kind,)))
        raise StoredValueError(f"{where} must be a JSON {_json_name(names)}, but it holds "
                               f"{_json_name(type(value).__name__)} {str(text)[:40]!r}")
    return value


def verdict_value(verdict: dict, column: str) -> str:
    """How a verdict's stored value is named in errors: "verdicts.warnings of 'x' on tier cpu v3"."""
    return (f"verdicts.{column} of {verdict.get('innovation')!r} on tier {verdict.get('tier')} "
            f"v{verdict.get('tier_version')}")


def _json_name(python: str) -> str:
    return python.replace("dict", "object").replace("str", "string")
