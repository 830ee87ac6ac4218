"""Where each token of a preprocessed text came from: character spans in the original.

A :class:`~seqlab.text.preprocess.Pipeline` rewrites the text before it splits it (lower
case, HTML and web addresses removed, emoji named, contractions expanded), so its tokens
are not substrings of the input. :func:`token_spans` finds, for every token the pipeline
makes of a text, the stretch of the original text it came from: "don't" gives the tokens
``do`` and ``not``, both with the span of "don't"; an emoji gives its name with the
emoji's span; a removed web address gives no token at all.

It cuts the original into pieces that preprocessing never joins (HTML tags, web
addresses, entities, mentions and hashtags, numbers, words, single other characters),
runs the pipeline on each piece alone and keeps the result only if the tokens, put
together, are exactly the tokens of the whole text. Where a pipeline joins across those
pieces, the pieces between spaces are tried, and failing that each token is looked up in
the text in order (a token not found there has no span).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from seqlab.text.preprocess import Pipeline

_FINE = re.compile(
    r"<[^>]{0,200}>"                       # an HTML tag
    r"|(?:https?://|www\.)\S+"             # a web address
    r"|&#?\w+;"                            # an HTML entity
    r"|(?<!\w)[@#]\w+"                     # a mention or a hashtag
    r"|[+-]?\d+(?:[.,]\d+)+"               # a number with a decimal or thousands mark
    r"|\w+(?:['\u2019\u2018`]\w+)*"        # a word, with its inner apostrophes
    r"|\S",                                # any other character
    re.IGNORECASE,
)
_COARSE = re.compile(r"<[^>]{0,200}>|[^\s<]+|<")


@dataclass(frozen=True)
class Span:
    """One token and the characters ``text[start:end]`` of the original it came from
    (``start`` and ``end`` are None when it could not be placed)."""

    token: str
    start: int | None
    end: int | None


def _by_pieces(pipeline: Pipeline, text: str, pattern: re.Pattern[str]) -> list[Span]:
    spans: list[Span] = []
    for match in pattern.finditer(text):
        spans += [Span(token, match.start(), match.end()) for token in pipeline(match.group())]
    return spans


def _by_search(text: str, tokens: Sequence[str]) -> list[Span]:
    lowered = text.lower()
    cursor = 0
    spans = []
    for token in tokens:
        found = lowered.find(token.lower(), cursor)
        if found < 0 or len(lowered) != len(text):  # lower() changed the offsets
            spans.append(Span(token, None, None))
            continue
        spans.append(Span(token, found, found + len(token)))
        cursor = found + len(token)
    return spans


def token_spans(pipeline: Pipeline, text: str) -> list[Span]:
    """``pipeline(text)``, token by token, each with its span in ``text``."""
    tokens = pipeline(text)
    for pattern in (_FINE, _COARSE):
        spans = _by_pieces(pipeline, text, pattern)
        if [s.token for s in spans] == tokens:
            return spans
    return _by_search(text, tokens)
