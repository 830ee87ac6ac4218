"""Vocabulary: tokens to ids, built from training data only."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from seqlab.errors import DataError

PAD = "<pad>"
UNK = "<unk>"
PAD_ID = 0
UNK_ID = 1


class Vocab:
    """Token ↔ id mapping with ``<pad>`` = 0 and ``<unk>`` = 1.

    Build it with :meth:`build` from the training tokens; tokens are ordered by
    frequency, ties alphabetically, so the same data gives the same ids.
    """

    def __init__(self, tokens: Sequence[str]) -> None:
        if list(tokens[:2]) != [PAD, UNK]:
            raise ValueError("a vocabulary starts with <pad> and <unk>")
        self.itos: list[str] = list(tokens)
        self.stoi: dict[str, int] = {t: i for i, t in enumerate(self.itos)}

    @classmethod
    def build(cls, token_lists: Iterable[Sequence[str]], min_freq: int = 1,
              max_size: int | None = None) -> Vocab:
        """Count tokens and keep those seen ``min_freq`` times, the ``max_size`` most common."""
        counts = Counter(t for tokens in token_lists for t in tokens)
        kept = sorted((t for t, c in counts.items() if c >= min_freq),
                      key=lambda t: (-counts[t], t))
        if max_size is not None:
            kept = kept[:max_size]
        if not kept:
            raise DataError(
                "the vocabulary is empty: no token occurs often enough in the training data "
                f"(min_freq={min_freq}). Lower vocab.min_freq or check the text column."
            )
        return cls([PAD, UNK, *kept])

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, tokens: Sequence[str], max_length: int | None = None) -> np.ndarray:
        """Token ids, cut to ``max_length``; an empty token list becomes one ``<unk>``."""
        ids = [self.stoi.get(t, UNK_ID) for t in tokens[:max_length]] or [UNK_ID]
        return np.asarray(ids, dtype=np.int64)

    def to_dict(self) -> dict[str, Any]:
        return {"tokens": self.itos}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Vocab:
        return cls(data["tokens"])
