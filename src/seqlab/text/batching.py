"""Batches of similar length, so padding (and CPU time spent on it) stays small."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

from seqlab.text.vocab import PAD_ID

if TYPE_CHECKING:
    import torch


def bucket_batches(lengths: Sequence[int], batch_size: int, shuffle: bool,
                   seed: int = 0) -> list[np.ndarray]:
    """Index batches whose members have similar lengths.

    Without ``shuffle`` the order is by length (for prediction). With it, the data is
    shuffled, cut into pools of 50 batches, each pool sorted by length and cut into
    batches, and the batches shuffled: random, but with little padding. The same
    ``seed`` gives the same batches.
    """
    lengths = np.asarray(lengths)
    if not shuffle:
        order = np.argsort(lengths, kind="stable")
        return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(lengths))
    pool = batch_size * 50
    batches = []
    for start in range(0, len(order), pool):
        chunk = order[start : start + pool]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def pad_ids(sequences: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad id arrays into a ``[batch, time]`` array; also return the lengths."""
    lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
    ids = np.full((len(sequences), int(lengths.max())), PAD_ID, dtype=np.int64)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = seq
    return ids, lengths


def pad_batch(sequences: Sequence[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`pad_ids` as torch tensors."""
    import torch

    ids, lengths = pad_ids(sequences)
    return torch.from_numpy(ids), torch.from_numpy(lengths)


def iterate_batches(sequences: Sequence[np.ndarray], batch_size: int, shuffle: bool,
                    seed: int = 0) -> Iterator[tuple[np.ndarray, torch.Tensor, torch.Tensor]]:
    """Yield ``(indices, ids, lengths)`` for bucketed batches of ``sequences``."""
    for idx in bucket_batches([len(s) for s in sequences], batch_size, shuffle, seed):
        ids, lengths = pad_batch([sequences[i] for i in idx])
        yield idx, ids, lengths
