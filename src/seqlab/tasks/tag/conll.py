"""Reading tagged sentences: CoNLL column files and CoNLL-U.

CoNLL column files (the CoNLL-2000/2003 layout) hold one token per line, its columns
split by whitespace, with a blank line between sentences and ``-DOCSTART-`` lines
between documents. Any column can be the tag: an index (``0`` is the token, ``-1`` the
last column) or, for the four-column CoNLL-2003 layout, ``pos``, ``chunk`` or ``ner``.

CoNLL-U (Universal Dependencies) holds ten tab-separated columns; ``#`` lines are
comments, multi-word token ranges (``1-2``) and empty nodes (``1.1``) are skipped, and
the tag is ``upos`` (default), ``xpos``, ``deprel`` or an index.

A malformed line is an error that names the file and the line: a wrong column count,
a token without a tag, an empty tag.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from seqlab.data.text_file import read_text
from seqlab.errors import DataError
from seqlab.registry import Registry

DOCSTART = "-DOCSTART-"


@dataclass
class Sentence:
    """One sentence: its tokens, one tag per token, and the file line it starts on."""

    tokens: list[str]
    tags: list[str]
    line: int = 0


@dataclass
class TaggedData:
    """The sentences of one file and what reading it noticed."""

    sentences: list[Sentence]
    source: str
    notes: list[str] = field(default_factory=list)

    @property
    def token_count(self) -> int:
        return sum(len(s.tokens) for s in self.sentences)


@dataclass
class ColumnFormat:
    """How one file format is laid out."""

    names: dict[str, int]
    default: str
    read: Callable[[str, str, int], list[Sentence]]


FORMATS: Registry[ColumnFormat] = Registry("tagged-data format")


class _Sentences:
    """Collects token lines into sentences; ``close`` ends the open one."""

    def __init__(self) -> None:
        self.done: list[Sentence] = []
        self.open: Sentence | None = None

    def add(self, token: str, tag: str, line: int) -> None:
        if self.open is None:
            self.open = Sentence([], [], line)
        self.open.tokens.append(token)
        self.open.tags.append(tag)

    def close(self) -> list[Sentence]:
        if self.open is not None:
            self.done.append(self.open)
            self.open = None
        return self.done


def _column_index(column: str, names: dict[str, int], fmt: str) -> int:
    if column in names:
        return names[column]
    try:
        return int(column)
    except ValueError:
        raise DataError(f"unknown tag column {column!r} for {fmt} files; give one of "
                        f"{', '.join(names)} or a column number (-1: the last)") from None


def _bad(source: str, number: int, problem: str, fix: str) -> DataError:
    return DataError(f"{source}: line {number}: {problem}; {fix}")


def _read_conll(text: str, source: str, column: int) -> list[Sentence]:
    sentences = _Sentences()
    width, width_line = 0, 0
    for number, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts or parts[0] == DOCSTART:
            sentences.close()
            continue
        if len(parts) == 1:
            raise _bad(source, number, f"the token {parts[0][:40]!r} has no tag",
                       "each line needs the token and its tag, separated by a space or tab")
        if not width:
            width, width_line = len(parts), number
        elif len(parts) != width:
            raise _bad(source, number, f"{len(parts)} columns where line {width_line} has "
                       f"{width}", "every token line needs the same columns")
        if not -width <= column < width or column in (0, -width):
            raise _bad(source, number, f"tag column {column} does not exist or is the token "
                       f"itself ({width} columns)", f"choose a column from 1 to {width - 1}")
        sentences.add(parts[0], parts[column], number)
    return sentences.close()


def _read_conllu(text: str, source: str, column: int) -> list[Sentence]:
    sentences = _Sentences()
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            sentences.close()
            continue
        if line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 10:
            raise _bad(source, number, f"{len(parts)} tab-separated columns where CoNLL-U "
                       "has 10", "check that the columns are separated by tabs")
        if "-" in parts[0] or "." in parts[0]:
            continue  # multi-word token ranges and empty nodes carry no tag of their own
        tag = parts[column]
        if tag in ("", "_"):
            raise _bad(source, number, f"the token {parts[1][:40]!r} has no tag in column "
                       f"{column}", "choose another --tag-column")
        sentences.add(parts[1], tag, number)
    return sentences.close()


FORMATS.register("conll")(ColumnFormat({"ner": -1, "pos": 1, "chunk": 2, "last": -1},
                                       "last", _read_conll))
FORMATS.register("conllu")(ColumnFormat({"upos": 3, "xpos": 4, "deprel": 7}, "upos",
                                        _read_conllu))


def detect_format(path: str | Path) -> str:
    """``conllu`` for ``.conllu`` (and ``.conllu.gz``) files, else ``conll``."""
    name = Path(path).name.lower().removesuffix(".gz")
    return "conllu" if name.endswith(".conllu") else "conll"


def read_tagged(path: str | Path, fmt: str | None = None, column: str | None = None,
                encoding: str = "utf-8") -> TaggedData:
    """Read the sentences of a CoNLL or CoNLL-U file with the chosen tag column."""
    fmt = fmt or detect_format(path)
    layout = FORMATS.get(fmt)
    index = _column_index(column or layout.default, layout.names, fmt)
    text = read_text(path, encoding)
    sentences = layout.read(text, str(path), index)
    if not sentences:
        raise DataError(f"{path}: no tagged sentences found; a {fmt} file has one token per "
                        "line and a blank line between sentences")
    data = TaggedData(sentences, str(path))
    data.notes.append(f"{Path(path).name}: {len(sentences):,} sentences, "
                      f"{data.token_count:,} tokens")
    return data
