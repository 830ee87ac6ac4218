"""The encoder–decoder: the shared recurrent encoder reads the source, a recurrent decoder
writes the target one token at a time, looking back at the source through attention.

Attention scores every source position against the decoder's state: ``additive``
(Bahdanau: ``v·tanh(W q + U k)``), ``dot`` (Luong: ``q·k``) or ``general`` (Luong:
``q·W k``); padded positions never receive weight. The context and the decoder state
make the attentional vector (``tanh(W [c; h])``) that predicts the next token and is fed
back with the next input (input feeding). With ``none`` the decoder reads only its state,
started from the encoder's summary: the ablation that shows what attention is worth.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from seqlab.nn.encoder import RecurrentEncoder
from seqlab.tasks.seq2seq.config import Seq2SeqModelConfig
from seqlab.text.vocab import PAD_ID


class Attention(nn.Module):
    """Weights over the source positions for a decoder state, and their context."""

    def __init__(self, kind: str, query_size: int, key_size: int) -> None:
        super().__init__()
        self.kind = kind
        if kind == "additive":
            self.query = nn.Linear(query_size, query_size, bias=False)
            self.key = nn.Linear(key_size, query_size)
            self.score = nn.Linear(query_size, 1, bias=False)
        else:  # dot and general compare the state with keys brought to its size
            self.key = nn.Linear(key_size, query_size, bias=kind == "general")

    def forward(self, query: torch.Tensor, keys: torch.Tensor, mask: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """``query [B, H]``, ``keys [B, T, K]``, ``mask [B, T]`` → context ``[B, K]`` and
        weights ``[B, T]``."""
        if self.kind == "additive":
            scores = self.score(torch.tanh(self.query(query).unsqueeze(1)
                                           + self.key(keys))).squeeze(-1)
        else:
            scores = torch.bmm(self.key(keys), query.unsqueeze(-1)).squeeze(-1)
        weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
        return torch.bmm(weights.unsqueeze(1), keys).squeeze(1), weights


@dataclass
class Memory:
    """What the decoder reads of the encoded source: states ``[B, T, K]`` and their mask."""

    states: torch.Tensor
    mask: torch.Tensor

    def rows(self, index: torch.Tensor) -> Memory:
        """The memory of the rows ``index`` (beams that survive a step)."""
        return Memory(self.states[index], self.mask[index])


class EncoderDecoder(nn.Module):
    """Source ids → memory and the decoder's first state; one decoder step at a time."""

    def __init__(self, config: Seq2SeqModelConfig, source_vocab: int, target_vocab: int
                 ) -> None:
        super().__init__()
        m = config
        self.attention_kind = m.attention
        self.source_embedding = nn.Embedding(source_vocab, m.embedding_dim, padding_idx=PAD_ID)
        self.target_embedding = nn.Embedding(target_vocab, m.embedding_dim, padding_idx=PAD_ID)
        self.dropout = nn.Dropout(m.dropout)
        self.encoder = RecurrentEncoder(m.embedding_dim, m.hidden_size, m.cell, m.num_layers,
                                        m.bidirectional, m.dropout)
        feed = m.hidden_size if m.attention != "none" else 0
        self.decoder = RecurrentEncoder(m.embedding_dim + feed, m.hidden_size, m.cell,
                                        m.num_layers, bidirectional=False, dropout=m.dropout)
        self.bridge = nn.Linear(self.encoder.output_size, m.hidden_size * m.num_layers)
        self.lstm = m.cell == "lstm"
        self.layers, self.hidden_size = m.num_layers, m.hidden_size
        if m.attention != "none":
            self.attention = Attention(m.attention, m.hidden_size, self.encoder.output_size)
            self.combine = nn.Linear(m.hidden_size + self.encoder.output_size, m.hidden_size)
        self.output = nn.Linear(m.hidden_size, target_vocab)
        if m.tie_embeddings:
            self.output.weight = self.target_embedding.weight

    def encode(self, ids: torch.Tensor, lengths: torch.Tensor) -> tuple[Memory, Any]:
        """The memory of ``ids [B, S]`` and the decoder's first state (from the summary)."""
        out = self.encoder(self.dropout(self.source_embedding(ids)), lengths)
        start = torch.tanh(self.bridge(out.last))  # [B, layers * H]
        hidden = start.view(-1, self.layers, self.hidden_size).transpose(0, 1).contiguous()
        state = [(h.unsqueeze(0), torch.zeros_like(h).unsqueeze(0)) if self.lstm
                 else h.unsqueeze(0) for h in hidden]
        feed = hidden.new_zeros((ids.size(0), self.hidden_size))
        return Memory(out.states, out.mask), (state, feed)

    def step(self, tokens: torch.Tensor, carried: Any, memory: Memory
             ) -> tuple[torch.Tensor, Any, torch.Tensor | None]:
        """One decoder step: the previous tokens ``[B]`` and the carried state → logits
        ``[B, V]`` of the next token, the new state, and the attention weights ``[B, S]``."""
        state, feed = carried
        x = self.dropout(self.target_embedding(tokens))
        if self.attention_kind != "none":
            x = torch.cat([x, feed], dim=-1)
        out, state = self.decoder.stream(x.unsqueeze(1), state)
        hidden, weights = out.squeeze(1), None
        if self.attention_kind != "none":
            context, weights = self.attention(hidden, memory.states, memory.mask)
            hidden = torch.tanh(self.combine(torch.cat([hidden, context], dim=-1)))
        return self.output(self.dropout(hidden)), (state, hidden), weights

    def forward(self, source: torch.Tensor, lengths: torch.Tensor, target_in: torch.Tensor
                ) -> torch.Tensor:
        """Teacher forcing: logits ``[B, T, V]`` for every target position."""
        memory, carried = self.encode(source, lengths)
        logits = []
        for t in range(target_in.size(1)):
            step_logits, carried, _ = self.step(target_in[:, t], carried, memory)
            logits.append(step_logits)
        return torch.stack(logits, dim=1)

    @staticmethod
    def select(carried: Any, index: torch.Tensor) -> Any:
        """The carried decoder state of the rows ``index``."""
        return select_state(carried, index)


def select_state(carried: Any, index: torch.Tensor) -> Any:
    """The carried decoder state of the rows ``index`` (beams that survive a step)."""
    state, feed = carried
    picked = [tuple(t[:, index] for t in s) if isinstance(s, tuple) else s[:, index]
              for s in state]
    return picked, feed[index]
