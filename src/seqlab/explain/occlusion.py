"""Occlusion by deletion, for any model: how much the explained output falls when a
token (or a window of tokens) is left out of the input.

The model is seen only through ``proba(kept)``: the outputs ``[n, k]`` for variants of
one input, each variant given as the positions of the tokens it keeps. The same function
serves the deletion curves of ``benchmarks/explain_faithfulness.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

KeptProba = Callable[[Sequence[Sequence[int]]], np.ndarray]


def occlusion(proba: KeptProba, n_tokens: int, target: int, window: int = 1
              ) -> tuple[np.ndarray, float]:
    """Per token, the mean fall of ``proba(...)[target]`` over the windows of ``window``
    consecutive tokens that leave it out; and the output for the whole input."""
    window = max(1, min(window, n_tokens))
    starts = range(n_tokens - window + 1)
    variants = [[i for i in range(n_tokens) if not start <= i < start + window]
                for start in starts]
    out = proba([list(range(n_tokens)), *variants])[:, target]
    full, falls = float(out[0]), float(out[0]) - out[1:]
    total = np.zeros(n_tokens)
    covered = np.zeros(n_tokens)
    for start, fall in zip(starts, falls, strict=True):
        total[start:start + window] += fall
        covered[start:start + window] += 1
    return total / np.maximum(covered, 1), full
