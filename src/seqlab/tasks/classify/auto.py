"""Data-aware settings: where no fixed number fits every dataset, ``"auto"`` chooses it
from the training split, and the run states the choice and the reason.

- ``vocab.max_length``: the 99th percentile of the training texts' token counts, rounded
  up to a multiple of 8, within 200 … 2,000. Short texts (tweets, questions, sentences)
  are never cut, and long documents are read whole but for the longest 1 %. Batches hold
  texts of similar lengths, so the time per epoch grows with the number of tokens read,
  not with the longest text (``benchmarks/long_documents.py``).
- ``vocab.min_freq``: 1 below half a million training tokens, else 2. Words seen once in
  a large corpus are mostly typos and names, and they make up half its vocabulary.
- ``model.members`` (the ensemble's recurrent models, averaged): 5 below half a million
  training words, 3 below a million, else 1. Averaging seeds removes part of one model's
  variance, and each member costs one more training, which small corpora can afford (a
  member of half a million words trains in about a minute on two cores). Five against
  three was chosen on validation (BENCHMARKS.md §25).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

LENGTH_QUANTILE = 0.99
MIN_LENGTH, MAX_LENGTH = 200, 2_000
LARGE_CORPUS_TOKENS = 500_000
MEMBER_COUNTS = ((500_000, 5), (1_000_000, 3))  # (fewer training words than, members)


def auto_max_length(lengths: Sequence[int]) -> tuple[int, str]:
    """The token limit for texts of these lengths, and why."""
    ordered = sorted(lengths)
    if not ordered:
        return MIN_LENGTH, "no training texts"
    at = ordered[min(len(ordered) - 1, math.ceil(LENGTH_QUANTILE * len(ordered)) - 1)]
    value = min(MAX_LENGTH, max(MIN_LENGTH, 8 * math.ceil(at / 8)))
    cut = sum(n > value for n in ordered)
    return value, (f"99% of the training texts have at most {at} tokens (range kept to "
                   f"{MIN_LENGTH}…{MAX_LENGTH}); {cut} of {len(ordered)} are cut")


def auto_min_freq(total_tokens: int) -> tuple[int, str]:
    """The minimum count of a vocabulary word for a corpus of this size, and why."""
    if total_tokens < LARGE_CORPUS_TOKENS:
        return 1, f"{total_tokens:,} training tokens: every word is kept"
    return 2, (f"{total_tokens:,} training tokens (≥ {LARGE_CORPUS_TOKENS:,}): words seen "
               "once are read as unknown")


def auto_members(total_words: int) -> tuple[int, str]:
    """How many recurrent models the ensemble averages for a corpus this size, and why."""
    for below, count in MEMBER_COUNTS:
        if total_words < below:
            return count, (f"{total_words:,} training words (< {below:,}): {count} seeds "
                           "averaged")
    return 1, f"{total_words:,} training words: one recurrent model"
