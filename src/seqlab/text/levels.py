"""How text is cut into tokens and tokens are put back into text (language models and
sequence-to-sequence models share these levels).

Three levels, in a registry: ``char`` (every character, the newline included, is a
token), ``word`` (words, punctuation marks and newlines are tokens; spaces are implied and
restored when the tokens are joined) and ``spaced`` (as ``word``, with a mark on each
token a space came before, so the text comes back exactly). The newline is the end of a
line or document, so the levels can stop a completion at the end of a line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from seqlab.registry import Registry

NEWLINE = "\n"
_WORD = re.compile(r"\n|\w+(?:['’]\w+)*|[^\w\s]")
_NO_SPACE_BEFORE = set(".,;:!?)]}%'’\n")
_NO_SPACE_AFTER = set("([{\n")


@dataclass(frozen=True)
class Level:
    """A tokenization level: text → tokens, tokens → text, and what ends a word."""

    name: str

    def split(self, text: str) -> list[str]:
        raise NotImplementedError

    def join(self, tokens: list[str], after: str = "") -> str:
        """The text of ``tokens`` as it would follow ``after`` (the text so far)."""
        raise NotImplementedError

    def ends_word(self, token: str) -> bool:
        """Whether ``token`` ends the word being typed (a space, newline or mark)."""
        return not token or not (token[0].isalnum() or token[0] == "_")


LEVELS: Registry[Level] = Registry("token level")


class CharLevel(Level):
    def split(self, text: str) -> list[str]:
        return list(text)

    def join(self, tokens: list[str], after: str = "") -> str:
        return "".join(tokens)


class WordLevel(Level):
    def split(self, text: str) -> list[str]:
        return _WORD.findall(text)

    def join(self, tokens: list[str], after: str = "") -> str:
        out: list[str] = []
        previous = after[-1] if after else NEWLINE
        for token in tokens:
            glued = (previous in _NO_SPACE_AFTER or previous.isspace()
                     or token[0] in _NO_SPACE_BEFORE)
            out.append(token if glued else " " + token)
            previous = token[-1]
        return "".join(out)


class SpacedLevel(Level):
    """Words and marks as ``word``, each marked with ``▁`` where a space came before it
    (the text's start counts as one), so joining gives the text back exactly."""

    def split(self, text: str) -> list[str]:
        return [("▁" if start == 0 or text[start - 1].isspace() else "") + match.group()
                for match in _WORD.finditer(text) for start in [match.start()]]

    def join(self, tokens: list[str], after: str = "") -> str:
        return "".join(tokens).replace("▁", " ").removeprefix(" " if not after else "")


LEVELS.register("char")(CharLevel("char"))
LEVELS.register("word")(WordLevel("word"))
LEVELS.register("spaced")(SpacedLevel("spaced"))
