"""The recurrent tagger: one tag score vector per token, with an optional CRF on top.

Each token is read as its word embedding, joined with a character encoding (a BiLSTM
over the word's characters, its last forward and first backward states, as in Lample
et al. 2016; or a convolution over them, max-pooled, as in Ma & Hovy 2016) and a small
casing embedding; a (bi)directional RNN/LSTM/GRU stack reads the sentence and a linear
layer scores every tag at every token. With a CRF the tags are chosen jointly (Viterbi)
and trained by the sentence's likelihood; without one, each token takes its best tag.
Several such taggers trained with different seeds are read as one (:class:`TaggerMean`):
their tag scores and CRF scores averaged.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from seqlab.nn.crf import CRF
from seqlab.nn.encoder import RecurrentEncoder
from seqlab.registry import Registry

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
    """Each word's characters → one vector of ``output_size`` per word (zeros at padding).

    Subclasses encode the ``[N, C]`` character ids of the ``N`` real words, ``lengths``
    characters each, in :meth:`encode_words`."""

    output_size: int

    def __init__(self, char_vocab_size: int, char_dim: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(char_vocab_size, char_dim, padding_idx=0)

    def encode_words(self, words: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, chars: torch.Tensor, char_lengths: torch.Tensor, mask: torch.Tensor
                ) -> torch.Tensor:
        out = chars.new_zeros((*mask.shape, self.output_size), dtype=torch.float)
        words, lengths = chars[mask], char_lengths[mask]
        if len(words):
            out[mask] = self.encode_words(words, lengths.clamp(min=1)).to(out.dtype)
        return out  # (the states may be bfloat16 under autocast)


# name → the CharEncoder class, made with (char_vocab_size, char_dim, hidden)
CHAR_ENCODERS: Registry[type[CharEncoder]] = Registry("character encoder")


@CHAR_ENCODERS.register("lstm")
class CharLSTM(CharEncoder):
    """A BiLSTM of ``hidden`` units each way: its last forward and first backward states."""

    def __init__(self, char_vocab_size: int, char_dim: int, hidden: int) -> None:
        super().__init__(char_vocab_size, char_dim)
        self.encoder = RecurrentEncoder(char_dim, hidden, "lstm", 1, bidirectional=True)
        self.output_size = self.encoder.output_size

    def encode_words(self, words: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.encoder(self.embedding(words), lengths).last


@CHAR_ENCODERS.register("cnn")
class CharCNN(CharEncoder):
    """``2 × hidden`` filters over windows of 3 characters (the word padded by one on each
    side), max-pooled over the word's positions: the same width as the BiLSTM's output."""

    WIDTH = 3

    def __init__(self, char_vocab_size: int, char_dim: int, hidden: int) -> None:
        super().__init__(char_vocab_size, char_dim)
        self.conv = nn.Conv1d(char_dim, 2 * hidden, self.WIDTH, padding=self.WIDTH // 2)
        self.output_size = 2 * hidden

    def encode_words(self, words: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        # the padding ids embed to zeros, as the convolution's own padding does
        states = self.conv(self.embedding(words).transpose(1, 2))  # [N, filters, C]
        beyond = torch.arange(words.size(1), device=words.device) >= lengths.unsqueeze(1)
        return states.masked_fill(beyond.unsqueeze(1), float("-inf")).max(dim=2).values


class TagScorer(nn.Module):
    """A network the tagger reads: tag scores per token (:meth:`emissions`), the CRF over
    them (``crf``, None for a softmax per token) and the layers that read the inputs
    (:meth:`input_layers`: what integrated gradients attribute to)."""

    crf: CRF | None

    def emissions(self, batch: TaggerBatch) -> torch.Tensor:
        """Tag scores ``[B, T, tags]`` before the CRF."""
        raise NotImplementedError

    def input_layers(self) -> list[nn.Module]:
        """The layers whose outputs, together, carry everything the network reads."""
        raise NotImplementedError

    def decode(self, batch: TaggerBatch) -> list[list[int]]:
        """The best tag ids of each sentence, as many as it has tokens."""
        scores, mask = self.emissions(batch), batch.mask
        if self.crf is not None:
            return self.crf.decode(scores, mask)
        best = scores.argmax(-1).tolist()
        return [row[:n] for row, n in zip(best, batch.lengths.tolist(), strict=True)]


class RecurrentTagger(TagScorer):
    """Word (+ characters, + casing) → recurrent encoder → tag scores (→ CRF)."""

    def __init__(self, vocab_size: int, num_tags: int, *, embedding_dim: int = 100,
                 hidden_size: int = 128, cell: str = "lstm", num_layers: int = 1,
                 bidirectional: bool = True, dropout: float = 0.5, char_vocab_size: int = 0,
                 char_dim: int = 25, char_hidden: int = 25, char_encoder: str = "lstm",
                 casing: bool = True,
                 crf: bool = True, allowed: Sequence[Sequence[bool]] | None = None,
                 allowed_start: Sequence[bool] | None = None,
                 allowed_end: Sequence[bool] | None = None) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
        size = embedding_dim
        self.chars = CHAR_ENCODERS.get(char_encoder)(char_vocab_size, char_dim, char_hidden) \
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
        parts = [self.embedding(batch.words)]
        if self.chars is not None:
            parts.append(self.chars(batch.chars, batch.char_lengths, batch.mask))
        if self.casing is not None:
            parts.append(self.casing(batch.casings))
        x = self.dropout(torch.cat(parts, dim=-1))
        states = self.encoder(x, batch.lengths).states
        return self.output(self.dropout(states))

    def input_layers(self) -> list[nn.Module]:
        return [m for m in (self.embedding, self.chars, self.casing) if m is not None]

    def loss(self, batch: TaggerBatch) -> torch.Tensor:
        """The CRF's negative log-likelihood, or the mean token cross-entropy."""
        assert batch.tags is not None
        scores, mask = self.emissions(batch), batch.mask
        if self.crf is not None:
            return self.crf.neg_log_likelihood(scores, batch.tags, mask)
        return nn.functional.cross_entropy(scores[mask], batch.tags[mask])


class TaggerMean(TagScorer):
    """Taggers over the same vocabularies and tags, read as one: the mean of their tag
    scores, under a CRF whose transition, start and end scores are the mean of theirs.
    A path's score is then the mean of the members' scores, so the CRF's distribution is
    their normalised geometric mean (a product of experts)."""

    def __init__(self, members: Sequence[RecurrentTagger]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)
        crfs = [m.crf for m in members if m.crf is not None]
        self.crf = _mean_crf(crfs) if crfs else None

    def emissions(self, batch: TaggerBatch) -> torch.Tensor:
        return torch.stack([m.emissions(batch) for m in self.members]).mean(0)

    def input_layers(self) -> list[nn.Module]:
        return [layer for m in self.members for layer in m.input_layers()]


def _mean_crf(crfs: Sequence[CRF]) -> CRF:
    """A CRF (not trained further) whose scores are the mean of ``crfs``' scores."""
    mean = copy.deepcopy(crfs[0])
    with torch.no_grad():
        for name, param in mean.named_parameters():
            param.copy_(torch.stack([c.get_parameter(name) for c in crfs]).mean(0))
    return mean.requires_grad_(False)
