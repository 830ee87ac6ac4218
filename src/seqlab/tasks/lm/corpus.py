"""Reading a language model's text and holding out its end for validation (and test)."""

from __future__ import annotations

from dataclasses import dataclass, field

from seqlab.data.text_file import read_text
from seqlab.errors import DataError
from seqlab.tasks.lm.config import CorpusConfig
from seqlab.text.levels import LEVELS, NEWLINE


@dataclass
class Corpus:
    """Train, validation and (possibly empty) test tokens, in the text's order."""

    train: list[str]
    val: list[str]
    test: list[str]
    source: str
    notes: list[str] = field(default_factory=list)


def _cut(tokens: list[str], fraction: float, snap_to_lines: bool) -> int:
    """The index where the last ``fraction`` of ``tokens`` begins; with ``snap_to_lines``
    moved to just after the nearest earlier newline, so no line is split."""
    cut = round(len(tokens) * (1 - fraction))
    if snap_to_lines:
        for index in range(cut, 0, -1):
            if tokens[index - 1] == NEWLINE:
                return index
    return cut


def split_tokens(tokens: list[str], val_fraction: float, test_fraction: float,
                 snap_to_lines: bool) -> tuple[list[str], list[str], list[str]]:
    """train | validation | test, in order (a language model's future stays unseen)."""
    test_start = _cut(tokens, test_fraction, snap_to_lines) if test_fraction else len(tokens)
    rest = tokens[:test_start]
    val_share = val_fraction / (1 - test_fraction)
    val_start = _cut(rest, val_share, snap_to_lines)
    return rest[:val_start], rest[val_start:], tokens[test_start:]


def read_tokens(config: CorpusConfig) -> tuple[list[str], list[str]]:
    """The tokens of the file a corpus config names (normalised as it says), with notes."""
    if not config.path:
        raise DataError("no corpus: give a text file, e.g. seqlab lm train book.txt")
    text = read_text(config.path, config.encoding)
    if not text.strip():
        raise DataError(f"{config.path}: the corpus holds only white space; give a file with "
                        "text in it")
    notes = []
    if config.documents == "lines":
        lines = [line.strip() for line in text.splitlines()]
        kept = [line for line in lines if line]
        if len(kept) < len(lines):
            notes.append(f"{len(lines) - len(kept)} blank lines dropped")
        text = "".join(line + NEWLINE for line in kept)
    if config.lowercase:
        text = text.lower()
    tokens = LEVELS.get(config.level).split(text)
    if not tokens:
        raise DataError(f"{config.path}: the corpus is empty (no {config.level} tokens); "
                        "give a file with text in it")
    return tokens, notes


def read_corpus(config: CorpusConfig) -> Corpus:
    """Read, normalise, tokenize and split the corpus a config names."""
    tokens, notes = read_tokens(config)
    train, val, test = split_tokens(tokens, config.val_fraction, config.test_fraction,
                                    config.documents == "lines")
    if len(val) < 2 or len(train) < 2 or (config.test_fraction and len(test) < 2):
        raise DataError(f"{config.path}: {len(tokens)} {config.level} tokens are too few to "
                        "hold out validation (and test) text; give a longer corpus")
    notes.append(f"{len(tokens):,} {config.level} tokens: {len(train):,} train, "
                 f"{len(val):,} validation" + (f", {len(test):,} test" if test else ""))
    return Corpus(train, val, test, str(config.path), notes)
