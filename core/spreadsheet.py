"""Cells of the CSV files cegbench writes, made safe to open in a spreadsheet.

A text cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
a formula to Excel, LibreOffice and Google Sheets (``=HYPERLINK(…)``, ``=cmd|' /C calc'!A0``,
``@SUM(…)``): opened, it runs. Following OWASP's rule ("CSV injection"), such a cell is
written with a leading apostrophe, which spreadsheets show as text. Numbers stay
numbers (``-1.5`` is a number, not text). A text cell that already begins with an
apostrophe gets one more, so ``restore`` undoes ``defuse`` exactly and cegbench's own
import reads its exports back unchanged (docs/import-format.md).

Rows end in CRLF (RFC 4180), so that a text cell holding a lone carriage return is
quoted: with "\n" line ends Python's writer leaves it bare and a reader splits the row.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def defuse(value):
    """``value`` as a CSV cell: text that a spreadsheet would run gets a leading ``'``."""
    if isinstance(value, str) and value.startswith((*FORMULA_STARTS, QUOTE)):
        return QUOTE + value
    return value


def restore(text: str) -> str:
    """The text ``defuse`` was given: one leading ``'`` dropped where ``defuse`` added it."""
    if text.startswith(QUOTE) and text[1:].startswith((*FORMULA_STARTS, QUOTE)):
        return text[1:]
    return text


def write_csv(out, columns: list[str], rows: Iterable[dict]) -> int:
    """A header of ``columns``, then one line per row (None: an empty cell), every cell
    through ``defuse``; returns how many rows."""
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\r\n")
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow({name: defuse(value) for name, value in row.items()})
        count += 1
    return count
