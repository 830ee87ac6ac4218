"""Several encoder–decoders read as one network, for decoding.

Each member encodes the source and steps its own decoder; the next token's distribution
is the mean of the members' distributions (a mixture, the usual way to ensemble
translation models), returned as its log, so greedy and beam search read the ensemble as
they read one model. The members share the vocabularies, not their shapes: a one-layer
and a two-layer model combine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from seqlab.tasks.seq2seq.network import EncoderDecoder, Memory


@dataclass
class EnsembleMemory:
    """Each member's memory of the same sources."""

    members: list[Memory]

    def rows(self, index: torch.Tensor) -> EnsembleMemory:
        """The memories of the rows ``index`` (beams that survive a step)."""
        return EnsembleMemory([m.rows(index) for m in self.members])


class Ensemble(nn.Module):
    """Encoder–decoders of one pair of vocabularies, with ``EncoderDecoder``'s decoding
    interface (``encode``, ``step``, ``select``); for inference only."""

    def __init__(self, members: list[EncoderDecoder]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)

    def encode(self, ids: torch.Tensor, lengths: torch.Tensor
               ) -> tuple[EnsembleMemory, list[Any]]:
        """Every member's memory of ``ids [B, S]`` and its decoder's first state."""
        encoded = [member.encode(ids, lengths) for member in self.members]
        return EnsembleMemory([memory for memory, _ in encoded]), [s for _, s in encoded]

    def step(self, tokens: torch.Tensor, carried: list[Any], memory: EnsembleMemory
             ) -> tuple[torch.Tensor, list[Any], torch.Tensor | None]:
        """One step of every member: the log of the mean of their next-token
        distributions ``[B, V]``, their new states, and the mean of their attention
        weights ``[B, S]`` (None where a member has no attention)."""
        outputs = [member.step(tokens, state, own)
                   for member, state, own in zip(self.members, carried, memory.members,
                                                 strict=True)]
        log_probs = torch.stack([torch.log_softmax(logits.float(), dim=-1)
                                 for logits, _, _ in outputs])
        mixed = torch.logsumexp(log_probs, dim=0) - math.log(len(outputs))
        weights = [w for _, _, w in outputs]
        mean_weights = None if any(w is None for w in weights) \
            else torch.stack(weights).mean(dim=0)
        return mixed, [state for _, state, _ in outputs], mean_weights

    def select(self, carried: list[Any], index: torch.Tensor) -> list[Any]:
        """Every member's carried state of the rows ``index``."""
        return [member.select(state, index)
                for member, state in zip(self.members, carried, strict=True)]
