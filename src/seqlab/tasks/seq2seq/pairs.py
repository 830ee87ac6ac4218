"""Reading parallel text: two line-aligned files, or one table of source and target."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from seqlab.data.readers import pick_column, read_table
from seqlab.data.text_file import read_text
from seqlab.errors import DataError
from seqlab.tasks.seq2seq.config import PairsConfig, Seq2SeqConfig

LINE_TABLES = (".txt", ".txt.gz")  # `source<TAB>target` lines


@dataclass
class Pairs:
    """Source and target texts, pair by pair, and what reading them found."""

    sources: list[str]
    targets: list[str]
    origin: str
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.sources)

    def subset(self, index: list[int]) -> Pairs:
        return Pairs([self.sources[i] for i in index], [self.targets[i] for i in index],
                     self.origin)

    def by_source(self) -> tuple[list[str], list[list[str]]]:
        """Each distinct source once, in the order first seen, with all its targets: the
        references its output is scored against (a word's pronunciations, a sentence's
        translations)."""
        grouped: dict[str, list[str]] = {}
        for source, target in zip(self.sources, self.targets, strict=True):
            grouped.setdefault(source, []).append(target)
        return list(grouped), list(grouped.values())


def _lines(path: str, encoding: str) -> list[str]:
    return read_text(path, encoding).splitlines()


def read_pairs(path: str, target_path: str | None, config: PairsConfig) -> Pairs:
    """The pairs of two line-aligned files (``path`` and ``target_path``) or of one table;
    pairs with an empty side are left out and counted."""
    if target_path:
        sources, targets = _lines(path, config.encoding), _lines(target_path, config.encoding)
        if len(sources) != len(targets):
            raise DataError(f"{path} has {len(sources):,} lines and {target_path} has "
                            f"{len(targets):,}; line-aligned files need the same count")
        origin = f"{path} + {target_path}"
    elif path.endswith(LINE_TABLES):
        rows = [line.split("\t") for line in _lines(path, config.encoding) if line.strip()]
        bad = next((i for i, row in enumerate(rows) if len(row) != 2), None)
        if bad is not None:
            raise DataError(f"{path}, line {bad + 1}: write `source<TAB>target`, one pair a "
                            "line (or give the target file with --target)")
        sources, targets, origin = [r[0] for r in rows], [r[1] for r in rows], path
    else:
        frame = read_table(path, encoding=config.encoding)
        source = pick_column(frame, config.source_column, ("source", "src", "input"),
                             "source", Path(path))
        target = pick_column(frame, config.target_column, ("target", "tgt", "output"),
                             "target", Path(path))
        sources = ["" if v != v else str(v) for v in frame[source].tolist()]
        targets = ["" if v != v else str(v) for v in frame[target].tolist()]
        origin = path
    kept = [i for i, (s, t) in enumerate(zip(sources, targets, strict=True))
            if s.strip() and t.strip()]
    notes = [f"{len(sources) - len(kept):,} pairs with an empty side left out"] \
        if len(kept) < len(sources) else []
    if not kept:
        raise DataError(f"{origin}: no pair with text on both sides")
    return Pairs([sources[i].strip() for i in kept], [targets[i].strip() for i in kept],
                 origin, notes)


def _shuffled_by_source(pairs: Pairs, seed: int) -> list[int]:
    """The pairs shuffled with ``seed``, each source's pairs together (where the first of
    them fell), so a held-out source never has a pair left in training. Pairs whose
    sources are all distinct come out in the plain shuffle's order."""
    order = list(range(len(pairs)))
    random.Random(seed).shuffle(order)
    first: dict[str, int] = {}
    for rank, i in enumerate(order):
        first.setdefault(pairs.sources[i], rank)
    return sorted(order, key=lambda i: first[pairs.sources[i]])


def _group_end(pairs: Pairs, order: list[int], cut: int) -> int:
    """``cut`` moved forward past the rest of the source it falls inside."""
    while 0 < cut < len(order) and pairs.sources[order[cut]] == pairs.sources[order[cut - 1]]:
        cut += 1
    return cut


@dataclass
class PairSplits:
    train: Pairs
    val: Pairs
    test: Pairs | None
    notes: list[str]


def load_pair_splits(config: Seq2SeqConfig) -> PairSplits:
    """The training, validation and (optional) test pairs a config names; missing parts
    are split off the training pairs with the split seed (the run's seed by default)."""
    d = config.data
    if not d.train:
        raise DataError("no training pairs: give a table, or a source file with --target, "
                        "e.g. seqlab seq2seq train train.de --target train.en")
    train = read_pairs(d.train, d.train_target, d)
    notes = list(train.notes)
    val = read_pairs(d.val, d.val_target, d) if d.val else None
    test = read_pairs(d.test, d.test_target, d) if d.test else None
    seed = config.seed if d.split_seed is None else d.split_seed
    order = _shuffled_by_source(train, seed)
    val_cut = 0 if val else _group_end(train, order, max(1, round(len(order)
                                                                   * d.val_fraction)))
    test_cut = val_cut if test or not d.test_fraction else _group_end(
        train, order, val_cut + max(1, round(len(order) * d.test_fraction)))
    cuts = {"val": val_cut, "test": test_cut - val_cut}
    if len(order) - cuts["val"] - cuts["test"] < 1:
        raise DataError(f"{train.origin}: {len(train)} pairs are too few to hold out "
                        "validation; give more, or a validation file")
    if val is None:
        val = train.subset(order[:cuts["val"]])
        notes.append(f"validation: {len(val):,} pairs held out of the training data "
                     f"(seed {seed})")
    if test is None and cuts["test"]:
        test = train.subset(order[cuts["val"]:cuts["val"] + cuts["test"]])
        notes.append(f"test: {len(test):,} pairs held out of the training data")
    held = set(order[:cuts["val"] + cuts["test"]])
    train = train.subset([i for i in range(len(train)) if i not in held]) if held else train
    for part, pairs in (("val", val), ("test", test)):
        notes += [f"{part}: {note}" for note in (pairs.notes if pairs else [])]
    return PairSplits(train, val, test, notes)
