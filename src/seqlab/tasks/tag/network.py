"""The recurrent tagger: one tag score vector per token, with an optional CRF on top.

Each token is read as its word embedding, joined with a character encoding (a BiLSTM
over the word's characters: the last forward and first backward states) and a small
casing embedding; a (bi)directional RNN/LSTM/GRU stack reads the sentence and a linear
layer scores every tag at every token. With a CRF the tags are chosen jointly (Viterbi)
and trained by the sentence's likelihood; without one, each token takes its best tag.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from seqlab.nn.crf import CRF
from seqlab.nn.encoder import RecurrentEncoder

CASINGS = ("pad", "lower", "title", "upper", "digits", "mixed", "other")


def casing(word: str) -> int:
    """Index in :data:`CASINGS` of a word's shape."""
    if word.isdigit():
        return 4
    if not any(c.isalpha() for c in word):
        return 6
    if word.islower():
        return 1
    if word.isupper():
        return 3
    if word[:1].isupper() and word[1:].islower():
        return 2
    return 5


@dataclass
class TaggerBatch:
    """Padded inputs of a batch of sentences: word ids ``[B, T]``, lengths ``[B]``, casing
    ids ``[B, T]``, character ids ``[B, T, C]`` with word lengths ``[B, T]`` (empty when
    the model reads no characters), and gold tag ids ``[B, T]`` when known."""

    words: torch.Tensor
    lengths: torch.Tensor
    casings: torch.Tensor
    chars: torch.Tensor
    char_lengths: torch.Tensor
    tags: torch.Tensor | None = None

    @property
    def mask(self) -> torch.Tensor:
        steps = torch.arange(self.words.size(1)).unsqueeze(0)
        return steps < self.lengths.unsqueeze(1)


class CharEncoder(nn.Module):
    """Each word's characters → the BiLSTM's last forward and first backward states."""

    def __init__(self, char_vocab_size: int, char_dim: int, hidden: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(char_vocab_size, char_dim, padding_idx=0)
        self.encoder = RecurrentEncoder(char_dim, hidden, "lstm", 1, bidirectional=True)
        self.output_size = self.encoder.output_size

    def forward(self, chars: torch.Tensor, char_lengths: torch.Tensor, mask: torch.Tensor
                ) -> torch.Tensor:
        out = chars.new_zeros((*mask.shape, self.output_size), dtype=torch.float)
        words, lengths = chars[mask], char_lengths[mask]
        if len(words):
            encoded = self.encoder(self.embedding(words), lengths.clamp(min=1)).last
            out[mask] = encoded.to(out.dtype)  # bfloat16 under autocast
        return out


class RecurrentTagger(nn.Module):
    """Word (+ characters, + casing) → recurrent encoder → tag scores (→ CRF)."""

    def __init__(self, vocab_size: int, num_tags: int, *, embedding_dim: int = 100,
                 hidden_size: int = 128, cell: str = "lstm", num_layers: int = 1,
                 bidirectional: bool = True, dropout: float = 0.5, char_vocab_size: int = 0,
                 char_dim: int = 25, char_hidden: int = 25, casing: bool = True,
                 crf: bool = True, allowed: Sequence[Sequence[bool]] | None = None,
                 allowed_start: Sequence[bool] | None = None,
                 allowed_end: Sequence[bool] | None = None) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
        size = embedding_dim
        self.chars = CharEncoder(char_vocab_size, char_dim, char_hidden) \
            if char_vocab_size else None
        if self.chars is not None:
            size += self.chars.output_size
        self.casing = nn.Embedding(len(CASINGS), 4, padding_idx=0) if casing else None
        if self.casing is not None:
            size += 4
        self.dropout = nn.Dropout(dropout)
        self.encoder = RecurrentEncoder(size, hidden_size, cell, num_layers, bidirectional,
                                        dropout)
        self.output = nn.Linear(self.encoder.output_size, num_tags)
        self.crf = CRF(num_tags, allowed, allowed_start, allowed_end) if crf else None

    def emissions(self, batch: TaggerBatch) -> torch.Tensor:
        """Tag scores ``[B, T, tags]`` before the CRF."""
        parts = [self.embedding(batch.words)]
        if self.chars is not None:
            parts.append(self.chars(batch.chars, batch.char_lengths, batch.mask))
        if self.casing is not None:
            parts.append(self.casing(batch.casings))
        x = self.dropout(torch.cat(parts, dim=-1))
        states = self.encoder(x, batch.lengths).states
        return self.output(self.dropout(states))

    def loss(self, batch: TaggerBatch) -> torch.Tensor:
        """The CRF's negative log-likelihood, or the mean token cross-entropy."""
        assert batch.tags is not None
        scores, mask = self.emissions(batch), batch.mask
        if self.crf is not None:
            return self.crf.neg_log_likelihood(scores, batch.tags, mask)
        return nn.functional.cross_entropy(scores[mask], batch.tags[mask])

    def decode(self, batch: TaggerBatch) -> list[list[int]]:
        """The best tag ids of each sentence, as many as it has tokens."""
        scores, mask = self.emissions(batch), batch.mask
        if self.crf is not None:
            return self.crf.decode(scores, mask)
        best = scores.argmax(-1).tolist()
        return [row[:n] for row, n in zip(best, batch.lengths.tolist(), strict=True)]
