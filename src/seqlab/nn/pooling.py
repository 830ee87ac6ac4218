"""Poolings turn per-position states into one vector, never reading padding.

Each is built by name through :data:`seqlab.nn.catalog.POOLINGS`; its ``forward`` takes
an :class:`~seqlab.nn.encoder.EncoderOutput`.
"""

from __future__ import annotations

import torch
from torch import nn

from seqlab.nn.catalog import POOLINGS
from seqlab.nn.encoder import EncoderOutput


class LastPooling(nn.Module):
    """The final forward state (and, bidirectional, the first backward state)."""

    def __init__(self, size: int) -> None:
        super().__init__()

    def forward(self, out: EncoderOutput) -> torch.Tensor:
        return out.last


class MeanPooling(nn.Module):
    """The mean of the states at real positions."""

    def __init__(self, size: int) -> None:
        super().__init__()

    def forward(self, out: EncoderOutput) -> torch.Tensor:
        mask = out.mask.unsqueeze(-1).to(out.states.dtype)
        return (out.states * mask).sum(1) / mask.sum(1).clamp(min=1.0)


class MaxPooling(nn.Module):
    """The element-wise maximum over real positions."""

    def __init__(self, size: int) -> None:
        super().__init__()

    def forward(self, out: EncoderOutput) -> torch.Tensor:
        masked = out.states.masked_fill(~out.mask.unsqueeze(-1), float("-inf"))
        return masked.max(dim=1).values


class AttentionPooling(nn.Module):
    """A learned weighted mean: a score per position, softmax over real positions."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.score = nn.Sequential(nn.Linear(size, size), nn.Tanh(), nn.Linear(size, 1))

    def forward(self, out: EncoderOutput) -> torch.Tensor:
        scores = self.score(out.states).squeeze(-1).masked_fill(~out.mask, float("-inf"))
        weights = torch.softmax(scores, dim=1).unsqueeze(-1)
        return (out.states * weights).sum(1)


def make_pooling(name: str, size: int) -> nn.Module:
    """Build the pooling registered as ``name`` for states of ``size``."""
    return POOLINGS.get(name)(size)
