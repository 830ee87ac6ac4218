"""One recurrent encoder for RNN, LSTM and GRU cells.

Sequences are right-padded and run through the dense (oneDNN) kernels, which on CPU are
faster than ``pack_padded_sequence``. Padding never reaches a real position:

* the forward direction reads left to right, so pads (at the end) come after every real
  token and cannot change its state;
* the backward direction reads each sequence reversed *within its own length*, so its
  pads also come last.

Each layer therefore holds one single-layer cell per direction, built by the factory
:data:`seqlab.nn.catalog.CELLS` names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from seqlab.nn.catalog import CELLS


@dataclass
class EncoderOutput:
    """States per position ``[B, T, D]``, the mask of real positions ``[B, T]`` and the
    summary ``[B, D]``: the forward state at the last real token joined with the
    backward state at the first."""

    states: torch.Tensor
    mask: torch.Tensor
    last: torch.Tensor


def reverse_within_lengths(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each sequence's first ``length`` steps, leaving the padding in place."""
    steps = torch.arange(x.size(1), device=x.device).unsqueeze(0)
    lengths = lengths.unsqueeze(1)
    index = torch.where(steps < lengths, lengths - 1 - steps, steps)
    rows = torch.arange(x.size(0), device=x.device).unsqueeze(1)
    return x[rows, index]


class RecurrentEncoder(nn.Module):
    """Stacked, optionally bidirectional RNN/LSTM/GRU over right-padded batches."""

    def __init__(self, input_size: int, hidden_size: int, cell: str = "lstm",
                 num_layers: int = 1, bidirectional: bool = True, dropout: float = 0.0) -> None:
        super().__init__()
        make = CELLS.get(cell)
        self.hidden_size = hidden_size
        self.num_directions = 2 if bidirectional else 1
        self.output_size = hidden_size * self.num_directions
        self.forward_cells = nn.ModuleList()
        self.backward_cells = nn.ModuleList()
        size = input_size
        for _ in range(num_layers):
            self.forward_cells.append(make(size, hidden_size))
            if bidirectional:
                self.backward_cells.append(make(size, hidden_size))
            size = self.output_size
        self.between_layers = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> EncoderOutput:
        batch = torch.arange(x.size(0), device=x.device)
        mask = torch.arange(x.size(1), device=x.device).unsqueeze(0) < lengths.unsqueeze(1)
        for layer, forward_cell in enumerate(self.forward_cells):
            if layer > 0:
                x = self.between_layers(x)
            out, _ = forward_cell(x)
            if self.backward_cells:
                reversed_out, _ = self.backward_cells[layer](reverse_within_lengths(x, lengths))
                out = torch.cat([out, reverse_within_lengths(reversed_out, lengths)], dim=-1)
            x = out
        last = x[batch, lengths - 1, : self.hidden_size]
        if self.backward_cells:
            last = torch.cat([last, x[:, 0, self.hidden_size :]], dim=-1)
        return EncoderOutput(states=x, mask=mask, last=last)

    def stream(self, x: torch.Tensor, state: list[Any] | None = None
               ) -> tuple[torch.Tensor, list[Any]]:
        """Run a forward-only encoder over ``[B, T, input]`` from ``state`` (one entry per
        layer, as the cell returns it; None: zeros) and return the outputs ``[B, T, D]``
        with the state after the last step, so the next chunk of a long stream continues
        where this one stopped (truncated backpropagation through time)."""
        if self.backward_cells:
            raise ValueError("a bidirectional encoder cannot carry its state forward")
        new_state = []
        for layer, cell in enumerate(self.forward_cells):
            if layer > 0:
                x = self.between_layers(x)
            x, layer_state = cell(x, None if state is None else state[layer])
            new_state.append(layer_state)
        return x, new_state


def detach_state(state: list[Any]) -> list[Any]:
    """The state cut from the graph that made it (LSTM states are ``(h, c)`` pairs)."""
    return [tuple(t.detach() for t in s) if isinstance(s, tuple) else s.detach()
            for s in state]
