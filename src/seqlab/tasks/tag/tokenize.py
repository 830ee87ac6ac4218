"""Cutting raw text into tokens with their character offsets, for tagging free text.

Words keep inner hyphens and dots (``1996-08-22``, ``U.S``), an apostrophe suffix is a
token of its own (``Merkel 's``) and every other symbol stands alone, which is close to
how the CoNLL corpora are tokenized.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(r"\w+(?:[-.]\w+)*|'\w+|[^\w\s]")


@dataclass(frozen=True)
class Token:
    """A token and where it is in the text: ``text[start:end] == token.text``."""

    text: str
    start: int
    end: int


def tokenize(text: str) -> list[Token]:
    """The tokens of ``text`` with their offsets."""
    return [Token(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]
