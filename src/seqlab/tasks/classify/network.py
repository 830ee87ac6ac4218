"""Text classification modules: token ids ``[B, T]`` and lengths ``[B]`` → logits ``[B, C]``.

``recurrent`` reads the words in order (embeddings → recurrent encoder → pooling →
linear layer). The two ``averaged`` models see only the mean of the word vectors, so
what the recurrent model gains over them is what word order is worth:
``averaged`` feeds that mean to the recurrent encoder as a one-step sequence (the set-up
of the common tutorial), ``averaged-mlp`` to a one-hidden-layer network.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from seqlab.nn.encoder import RecurrentEncoder
from seqlab.nn.pooling import make_pooling
from seqlab.registry import Registry
from seqlab.tasks.classify.config import ModelConfig
from seqlab.text.batching import iterate_batches
from seqlab.text.vocab import PAD_ID
from seqlab.training.precision import compute_in

MODULES: Registry[type[nn.Module]] = Registry("classifier module")


@MODULES.register("recurrent")
class SequenceClassifier(nn.Module):
    """Token ids ``[B, T]`` and lengths ``[B]`` → class logits ``[B, C]``."""

    def __init__(self, config: ModelConfig, vocab_size: int, num_classes: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, config.embedding_dim, padding_idx=PAD_ID)
        self.embedding_dropout = nn.Dropout(config.embedding_dropout)
        self.encoder = RecurrentEncoder(
            config.embedding_dim, config.hidden_size, config.cell, config.num_layers,
            config.bidirectional, config.dropout,
        )
        self.pooling = make_pooling(config.pooling, self.encoder.output_size)
        self.output_dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(self.encoder.output_size, num_classes)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        x = self.embedding_dropout(self.embedding(ids))
        pooled = self.pooling(self.encoder(x, lengths))
        return self.head(self.output_dropout(pooled))


class _Standardise(nn.BatchNorm1d):
    """Batch normalisation that falls back on its running statistics for a batch of one
    (which has no spread to normalise by)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and x.size(0) == 1:
            return nn.functional.batch_norm(x, self.running_mean, self.running_var,
                                            self.weight, self.bias, False, 0.0, self.eps)
        return super().forward(x)


class _AveragedVectors(nn.Module):
    """The shared first half of the averaged models: the mean embedding of real tokens,
    standardised per feature (batch normalisation, as a StandardScaler would): averages of
    Word2Vec vectors are small and alike, and unscaled they barely train."""

    def __init__(self, config: ModelConfig, vocab_size: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, config.embedding_dim, padding_idx=PAD_ID)
        self.embedding_dropout = nn.Dropout(config.embedding_dropout)
        self.standardise = _Standardise(config.embedding_dim)

    def mean_vector(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        x = self.embedding_dropout(self.embedding(ids))  # pads embed to zero
        mean = x.sum(dim=1) / lengths.clamp(min=1).unsqueeze(1).to(x.dtype)
        return self.standardise(mean)


@MODULES.register("averaged")
class AveragedRecurrent(_AveragedVectors):
    """Mean word vector → the recurrent encoder as a length-1 sequence → linear layer."""

    def __init__(self, config: ModelConfig, vocab_size: int, num_classes: int) -> None:
        super().__init__(config, vocab_size)
        self.encoder = RecurrentEncoder(
            config.embedding_dim, config.hidden_size, config.cell, config.num_layers,
            config.bidirectional, config.dropout,
        )
        self.output_dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(self.encoder.output_size, num_classes)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        mean = self.mean_vector(ids, lengths).unsqueeze(1)
        one_step = torch.ones_like(lengths)
        return self.head(self.output_dropout(self.encoder(mean, one_step).last))


@MODULES.register("averaged-mlp")
class AveragedMLP(_AveragedVectors):
    """Mean word vector → ``hidden_size`` ReLU units → linear layer."""

    def __init__(self, config: ModelConfig, vocab_size: int, num_classes: int) -> None:
        super().__init__(config, vocab_size)
        self.hidden = nn.Sequential(
            nn.Linear(config.embedding_dim, config.hidden_size), nn.ReLU(),
            nn.Dropout(config.dropout),
        )
        self.head = nn.Linear(config.hidden_size, num_classes)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.head(self.hidden(self.mean_vector(ids, lengths)))


def build_module(config: ModelConfig, vocab_size: int, num_classes: int) -> nn.Module:
    """The torch module ``config.kind`` names."""
    return MODULES.get(config.kind)(config, vocab_size, num_classes)


def predict_logits(model: nn.Module, sequences: Sequence[np.ndarray],
                   batch_size: int = 256, precision: str | None = None) -> np.ndarray:
    """Float32 logits for every sequence, in input order, computed in length-sorted
    batches, the matrix products in ``precision`` (see :mod:`seqlab.training.precision`;
    None: as the caller's block computes)."""
    model.eval()
    out: np.ndarray | None = None
    with torch.inference_mode(), compute_in(precision):
        for idx, ids, lengths in iterate_batches(sequences, batch_size, shuffle=False):
            logits = model(ids, lengths).float().numpy()
            if out is None:
                out = np.empty((len(sequences), logits.shape[1]), dtype=np.float32)
            out[idx] = logits
    assert out is not None, "predict_logits needs at least one sequence"
    return out


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def balanced_class_weights(targets: np.ndarray, num_classes: int) -> torch.Tensor:
    """``n / (k · count_c)`` per class, as scikit-learn's ``balanced``; unseen classes get 1."""
    counts = np.bincount(targets, minlength=num_classes).astype(np.float64)
    weights = np.where(counts > 0, len(targets) / (num_classes * np.maximum(counts, 1)), 1.0)
    return torch.tensor(weights, dtype=torch.float32)
