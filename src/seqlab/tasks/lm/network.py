"""The recurrent language model: token ids → logits of the next token at every position."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from seqlab.nn.encoder import RecurrentEncoder


class RecurrentLanguageModel(nn.Module):
    """Embedding → forward RNN/LSTM/GRU stack → linear layer over the vocabulary.

    ``forward(ids, state)`` takes ``[B, T]`` ids and the state the previous chunk of the
    stream ended with (None at a stream's start) and returns ``[B, T, vocab]`` logits and
    the new state. With ``tie_weights`` the output layer shares the embedding matrix
    (which needs ``embedding_dim == hidden_size``), a regulariser that also saves
    ``vocab × hidden`` parameters.
    """

    def __init__(self, vocab_size: int, embedding_dim: int = 128, hidden_size: int = 256,
                 cell: str = "lstm", num_layers: int = 2, dropout: float = 0.2,
                 tie_weights: bool = False) -> None:
        super().__init__()
        if tie_weights and embedding_dim != hidden_size:
            raise ValueError("tied weights need embedding_dim == hidden_size "
                             f"(got {embedding_dim} and {hidden_size})")
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.encoder = RecurrentEncoder(embedding_dim, hidden_size, cell, num_layers,
                                        bidirectional=False, dropout=dropout)
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(hidden_size, vocab_size)
        if tie_weights:
            self.output.weight = self.embedding.weight

    def forward(self, ids: torch.Tensor, state: list[Any] | None = None
                ) -> tuple[torch.Tensor, list[Any]]:
        x = self.dropout(self.embedding(ids))
        out, state = self.encoder.stream(x, state)
        return self.output(self.dropout(out)), state
