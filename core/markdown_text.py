"""Plugin and registry text made inert in the Markdown cegbench writes (``cegbench list
--markdown``, ``cegbench table``): one line, no raw HTML, no links of its own.

A title, a description or a literature source is text, never markup: a line break in it
would end a table row (or start a block), ``<script>`` or ``<img onerror>`` would reach a
renderer as HTML, and ``[x](javascript:…)`` or ``<javascript:…>`` would be a link. So line
breaks become spaces and the characters that make HTML, links and images (``< > [ ]``,
and the backslash, so that a text's own backslash cannot undo an escape) are escaped with
a backslash, which CommonMark and GitHub render as the character itself. A table cell's
``|`` is the caller's to escape, after this. URLs keep their characters except those
that would end or break a link destination, which are percent-encoded.
"""

from __future__ import annotations

import re
from urllib.parse import quote

_BREAKS = re.compile(r"\s*[\r\n\v\f\x85\u2028\u2029]+\s*")
_ACTIVE = re.compile(r"([\\<>\[\]])")
# what a URL may keep as it is: RFC 3986's reserved and unreserved characters, and "%"
_URL_SAFE = "!#$%&'()*+,/:;=?@[]~"


def inline(text) -> str:
    """``text`` as one line of Markdown that renders as exactly that text."""
    return _ACTIVE.sub(r"\\\1", _BREAKS.sub(" ", str(text)))


def link_target(url: str) -> str:
    """``url`` with every character that could end or break a link destination (spaces,
    ``<``, ``>``, quotes, backslashes, control and non-ASCII characters) percent-encoded."""
    return quote(url, safe=_URL_SAFE)
