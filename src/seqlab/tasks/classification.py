"""Text classification: embeddings → recurrent encoder → pooling → linear layer."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from seqlab.config import ModelConfig
from seqlab.nn.encoder import RecurrentEncoder
from seqlab.nn.pooling import make_pooling
from seqlab.text.batching import iterate_batches
from seqlab.text.vocab import PAD_ID


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


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def predict_logits(model: nn.Module, sequences: Sequence[np.ndarray],
                   batch_size: int = 256) -> np.ndarray:
    """Logits for every sequence, in input order, computed in length-sorted batches."""
    model.eval()
    out: np.ndarray | None = None
    with torch.inference_mode():
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
