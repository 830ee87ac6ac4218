"""``TextClassifier``: a recurrent text classifier with scikit-learn's estimator contract.

>>> clf = TextClassifier(cell="gru", max_epochs=5).fit(texts, labels)
>>> clf.predict(["i feel wonderful today"])
array(['joy'], dtype='<U8')
>>> clf.save("model.safetensors"); TextClassifier.load("model.safetensors")

Constructor arguments are hyper-parameters (so ``clone``, ``GridSearchCV`` and
``cross_val_score`` work); what ``fit`` learns ends in ``_``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import ValidationError
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from torch import nn

from seqlab.config import AUTO, EmbeddingConfig, TrainingConfig, describe_validation_error
from seqlab.data.split import stratified_split
from seqlab.errors import ConfigError, DataError
from seqlab.evaluation.metrics import classification_metrics
from seqlab.tasks.classify.auto import auto_max_length, auto_min_freq
from seqlab.tasks.classify.baselines.common import LabelledPredictions, as_texts, bundle_labels
from seqlab.tasks.classify.config import ModelConfig, RunConfig, VocabConfig
from seqlab.tasks.classify.network import (
    MODULES,
    balanced_class_weights,
    build_module,
    predict_logits,
    softmax,
)
from seqlab.text.batching import bucket_batches, pad_batch
from seqlab.text.preprocess import Pipeline
from seqlab.text.vocab import Vocab
from seqlab.training.distributed import refuse_changing_weights
from seqlab.training.precision import resolve_precision
from seqlab.training.trainer import TrainCallbacks, TrainingPlan, count_parameters
from seqlab.vectors.embedding import Coverage, start_matrix, train_embedding_in, vectors_for

BUNDLE_KIND = "seqlab.text_classifier"
_OTHER_ESTIMATORS = ("linear", "transformer", "members")  # other estimators' settings
_MODEL_KEYS = [k for k in ModelConfig.model_fields if k not in _OTHER_ESTIMATORS]
_TRAINING_KEYS = list(TrainingConfig.model_fields)


def split_validation(X: Sequence[str], y: Sequence[Any], X_val: Sequence[str] | None,
                     y_val: Sequence[Any] | None, fraction: float, seed: int
                     ) -> tuple[list[str], np.ndarray, list[str], np.ndarray]:
    """Training and validation texts and labels: ``X_val, y_val`` when given, else a
    stratified ``fraction`` of ``X, y``."""
    texts, labels = as_texts(X), np.asarray(list(y))
    if len(texts) != len(labels):
        raise DataError(f"X has {len(texts)} texts but y has {len(labels)} labels")
    if X_val is None:
        train_idx, val_idx, _ = stratified_split([str(v) for v in labels], fraction, 0.0, seed)
        val_texts, val_labels = [texts[i] for i in val_idx], labels[val_idx]
        texts, labels = [texts[i] for i in train_idx], labels[train_idx]
    else:
        if y_val is None:
            raise DataError("X_val was given without y_val")
        val_texts, val_labels = as_texts(X_val), np.asarray(list(y_val))
    if len(val_texts) == 0:
        raise DataError("no validation data: pass X_val/y_val or more training data")
    return texts, labels, val_texts, val_labels


class TextClassifier(LabelledPredictions, ClassifierMixin, BaseEstimator):
    """An RNN/LSTM/GRU text classifier (or an averaged-vector one, ``kind="averaged"`` or
    ``"averaged-mlp"``); see :mod:`seqlab.config` for each argument. ``embedding`` is an
    :class:`~seqlab.config.EmbeddingConfig` mapping, e.g. ``{"type": "word2vec"}``."""

    round_name = "epoch"  # what one row of ``history_`` is
    fitted_attribute = "module_"
    bundle_kind = BUNDLE_KIND

    def __init__(
        self,
        kind: str = "recurrent",
        cell: str = "lstm",
        embedding_dim: int = 128,
        hidden_size: int = 128,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.3,
        embedding_dropout: float = 0.2,
        pooling: str = "max",
        embedding: dict[str, Any] | None = None,
        preprocessing: str | list[Any] = "default",
        min_freq: int | str = "auto",
        max_vocab_size: int | None = None,
        max_length: int | str = "auto",
        optimizer: str = "adamw",
        lr: float = 2e-3,
        weight_decay: float = 0.01,
        scheduler: str = "none",
        average_epochs: int = 1,
        batch_size: int = 64,
        max_epochs: int = 15,
        patience: int = 3,
        monitor: str = "macro_f1",
        clip_grad_norm: float | None = 1.0,
        class_weights: str = "none",
        max_minutes: float | None = None,
        threads: int | None = None,
        precision: str = "auto",
        validation_fraction: float = 0.1,
        random_state: int = 13,
    ) -> None:
        self.kind = kind
        self.cell = cell
        self.embedding_dim = embedding_dim
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.dropout = dropout
        self.embedding_dropout = embedding_dropout
        self.pooling = pooling
        self.embedding = embedding
        self.preprocessing = preprocessing
        self.min_freq = min_freq
        self.max_vocab_size = max_vocab_size
        self.max_length = max_length
        self.optimizer = optimizer
        self.lr = lr
        self.weight_decay = weight_decay
        self.scheduler = scheduler
        self.average_epochs = average_epochs
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.monitor = monitor
        self.clip_grad_norm = clip_grad_norm
        self.class_weights = class_weights
        self.max_minutes = max_minutes
        self.threads = threads
        self.precision = precision
        self.validation_fraction = validation_fraction
        self.random_state = random_state

    # ---- configuration ------------------------------------------------------------------

    @classmethod
    def from_config(cls, config: RunConfig) -> TextClassifier:
        """The classifier a run config describes (for the default ``ensemble`` kind: its
        recurrent part)."""
        params = config.model.model_dump(exclude=set(_OTHER_ESTIMATORS)) | \
            config.training.model_dump()
        if params["kind"] == "ensemble":
            params["kind"] = "recurrent"
        if config.model.embedding == EmbeddingConfig():  # the estimator's default: None
            params["embedding"] = None
        return cls(
            **params,
            preprocessing=config.preprocessing,
            min_freq=config.vocab.min_freq,
            max_vocab_size=config.vocab.max_size,
            max_length=config.vocab.max_length,
            validation_fraction=config.data.val_fraction,
            random_state=config.seed,
        )

    def _configs(self) -> tuple[ModelConfig, TrainingConfig, VocabConfig]:
        params = self.get_params() | {"embedding": self.embedding or {}}
        if self.kind not in MODULES:
            raise ConfigError(f"TextClassifier: kind {self.kind!r} is not a torch model; it "
                              f"is one of {', '.join(MODULES.names())}")
        try:
            return (
                ModelConfig(**{k: params[k] for k in _MODEL_KEYS}),
                TrainingConfig(**{k: params[k] for k in _TRAINING_KEYS}),
                VocabConfig(min_freq=self.min_freq, max_size=self.max_vocab_size,
                            max_length=self.max_length),
            )
        except ValidationError as err:
            raise ConfigError(describe_validation_error(err, RunConfig, "TextClassifier")) \
                from None

    # ---- fitting ---------------------------------------------------------------------

    def fit(
        self,
        X: Sequence[str],
        y: Sequence[Any],
        X_val: Sequence[str] | None = None,
        y_val: Sequence[Any] | None = None,
        *,
        checkpoint_dir: str | Path | None = None,
        resume: bool = False,
        callbacks: TrainCallbacks | None = None,
        epochs: int | None = None,
    ) -> TextClassifier:
        """Train on ``X, y``; validation data picks the epoch (split off ``X`` if not given).
        With ``epochs``, train exactly that many on ``X, y`` and keep the last, with no
        validation data (what :meth:`refitted` does)."""
        model_cfg, train_cfg, vocab_cfg = self._configs()
        refuse_changing_weights(model_cfg.embedding.freeze_epochs)
        began = self.begin_fit(train_cfg.threads, self.random_state)
        if epochs is None:
            texts, labels, val_texts, val_labels = split_validation(
                X, y, X_val, y_val, self.validation_fraction, self.random_state)
        else:
            if X_val is not None:
                raise ConfigError("TextClassifier.fit: epochs trains without validation "
                                  "data; give X_val or epochs, not both")
            texts, labels, val_texts = as_texts(X), np.asarray(list(y)), []
            train_cfg = train_cfg.model_copy(update={"max_epochs": epochs,
                                                     "average_epochs": 1})
        self.learn_labels(labels)
        self.pipeline_ = Pipeline(self.preprocessing)
        train_tokens = self.pipeline_.process_many(texts)
        keep = [i for i, tokens in enumerate(train_tokens) if tokens]
        self.max_length_, self.min_freq_ = self._resolve(vocab_cfg, [len(train_tokens[i])
                                                                     for i in keep])
        self.vocab_ = Vocab.build((train_tokens[i] for i in keep), self.min_freq_,
                                  vocab_cfg.max_size)
        train_seqs = [self.vocab_.encode(train_tokens[i], self.max_length_) for i in keep]
        train_targets = self.label_indices(labels[keep], "training")
        if val_texts:
            val_seqs = self._encode(val_texts)
            val_targets = self.label_indices(val_labels, "validation")

        self.module_ = build_module(model_cfg, len(self.vocab_), len(self.classes_))
        self.coverage_ = self._start_embedding(model_cfg, [train_tokens[i] for i in keep])
        criterion = self._criterion(train_targets, train_cfg.class_weights)
        targets_t = torch.from_numpy(train_targets)
        seed = self.random_state
        embedding_weight = self.module_.embedding.weight
        embedding_cfg = model_cfg.embedding
        train_embedding_in(embedding_weight, embedding_cfg, 1)

        def batches(epoch: int):
            train_embedding_in(embedding_weight, embedding_cfg, epoch)
            for idx in bucket_batches([len(s) for s in train_seqs], train_cfg.batch_size,
                                      shuffle=True, seed=seed * 1000 + epoch):
                ids, lengths = pad_batch([train_seqs[i] for i in idx])
                yield ids, lengths, targets_t[idx]

        def loss_fn(model: nn.Module, batch: Any) -> torch.Tensor:
            ids, lengths, target = batch
            return criterion(model(ids, lengths), target)

        def validate(model: nn.Module) -> dict[str, float]:
            return self._validation_scores(predict_logits(model, val_seqs), val_targets)

        plan = TrainingPlan(batches, loss_fn, validate if val_texts else None,
                            -(-len(train_seqs) // train_cfg.batch_size), data_parallel=True)
        result = self.train_module(train_cfg, plan, checkpoint_dir=checkpoint_dir,
                                   resume=resume, callbacks=callbacks)
        if val_texts:
            self._calibrate(val_seqs, val_targets)
        facts = self.training_facts(result, began)
        self.n_parameters_ = facts["parameters"]
        train_tokens_total = sum(len(s) for s in train_seqs)
        self.fit_info_ = {
            "train_texts": len(texts),
            "train_texts_empty_dropped": len(texts) - len(keep),
            "val_texts": len(val_texts),
            "vocab_size": len(self.vocab_),
            **facts,
            "train_tokens": train_tokens_total,
            "train_tokens_per_second": (train_tokens_total * facts["epochs"] / result.seconds
                                        if result.seconds > 0 else 0.0),
            "embedding": (self.coverage_.to_dict() if self.coverage_ is not None
                          else {"source": "learned from scratch"}),
            "resolved": self.resolved_,
        }
        return self

    def refitted(self, X: Sequence[str], y: Sequence[Any], *,
                 checkpoint_dir: str | Path | None = None, resume: bool = False,
                 callbacks: TrainCallbacks | None = None) -> TextClassifier:
        """A new model trained on ``X, y`` (typically training + validation) with what
        validation chose for this one: its number of epochs and its vocabulary limits.
        It reads no validation data and keeps its last epoch; its ``history_`` and
        ``best_epoch_`` stay this one's (how the epochs were chosen)."""
        self._check_fitted()
        again = clone(self).set_params(max_length=self.max_length_, min_freq=self.min_freq_)
        again.fit(X, y, checkpoint_dir=checkpoint_dir, resume=resume, callbacks=callbacks,
                  epochs=max(self.best_epoch_, 1))
        again.history_, again.best_epoch_ = self.history_, self.best_epoch_
        again.resolved_ = self.resolved_
        own = again.fit_info_
        again.fit_info_ = self.fit_info_ | {
            key: own[key] for key in ("vocab_size", "parameters", "embedding")} | {
            "train_seconds": self.fit_info_["train_seconds"] + own["train_seconds"],
            "refit": {"texts": own["train_texts"], "epochs": own["epochs"],
                      "seconds": own["train_seconds"]}}
        return again

    # ---- what a multi-label subclass changes ------------------------------------------

    def _criterion(self, targets: np.ndarray, class_weights: str) -> nn.Module:
        """The training loss: cross-entropy, class-weighted for ``balanced``."""
        weights = (balanced_class_weights(targets, len(self.classes_))
                   if class_weights == "balanced" else None)
        return nn.CrossEntropyLoss(weight=weights)

    def _validation_scores(self, logits: np.ndarray, targets: np.ndarray) -> dict[str, float]:
        """The validation record of one epoch."""
        loss = float(nn.functional.cross_entropy(torch.from_numpy(logits),
                                                 torch.from_numpy(targets)))
        m = classification_metrics(targets, logits.argmax(1), self.labels_)
        return {"loss": loss, "accuracy": m["accuracy"], "macro_f1": m["macro_f1"],
                "weighted_f1": m["weighted_f1"]}

    def _activate(self, logits: np.ndarray) -> np.ndarray:
        """Logits → probabilities: softmax over the classes."""
        return softmax(logits)

    def _calibrate(self, val_seqs: list[np.ndarray], val_targets: np.ndarray) -> None:
        """After training, with the chosen weights: nothing to do for one label per text."""

    def _resolve(self, vocab_cfg: VocabConfig, lengths: list[int]) -> tuple[int, int]:
        """``max_length`` and ``min_freq``, the ``auto`` ones chosen from the training
        texts; ``resolved_`` keeps each automatic choice with its reason."""
        self.resolved_: dict[str, dict[str, Any]] = {}
        max_length, min_freq = vocab_cfg.max_length, vocab_cfg.min_freq
        if max_length == AUTO:
            max_length, why = auto_max_length(lengths)
            self.resolved_["vocab.max_length"] = {"value": max_length, "why": why}
        if min_freq == AUTO:
            min_freq, why = auto_min_freq(sum(lengths))
            self.resolved_["vocab.min_freq"] = {"value": min_freq, "why": why}
        return int(max_length), int(min_freq)

    def _start_embedding(self, model_cfg: ModelConfig,
                         train_tokens: list[list[str]]) -> Coverage | None:
        """Copy Word2Vec/FastText/pretrained vectors into the embedding layer."""
        config = model_cfg.embedding
        if config.type == "learned":
            return None
        vectors, source = vectors_for(config, train_tokens, self.vocab_.itos,
                                      model_cfg.embedding_dim, self.random_state)
        matrix, coverage = start_matrix(self.vocab_, vectors, train_tokens, source,
                                        self.random_state)
        with torch.no_grad():
            self.module_.embedding.weight.copy_(torch.from_numpy(matrix))
        return coverage

    def describe(self) -> str:
        """One line for reports: what the model is."""
        model_cfg = self._configs()[0]
        m, emb = model_cfg, model_cfg.embedding
        shape = "" if m.kind == "recurrent" else "averaged vectors → "
        network = (f"MLP × {m.hidden_size}" if m.kind == "averaged-mlp" else
                   f"{'bidirectional ' if m.bidirectional else ''}{m.cell.upper()}, "
                   f"{m.num_layers} layer(s) × {m.hidden_size}")
        pooling = f", {m.pooling} pooling" if m.kind == "recurrent" else ""
        vectors = "learned" if emb.type == "learned" else f"{emb.type} ({emb.update})"
        return (f"{shape}{network}{pooling}, embeddings {m.embedding_dim} {vectors}, "
                f"{getattr(self, 'n_parameters_', 0):,} trained parameters")

    def _encode(self, texts: Sequence[str]) -> list[np.ndarray]:
        return self._encode_tokens(self.pipeline_.process_many(texts))

    def _encode_tokens(self, token_lists: Sequence[Sequence[str]]) -> list[np.ndarray]:
        max_length = self.max_length_
        return [self.vocab_.encode(tokens, max_length) for tokens in token_lists]

    # ---- prediction ---------------------------------------------------------------------

    def _proba(self, texts: list[str]) -> np.ndarray:
        return self.proba_of_tokens(self.pipeline_.process_many(texts))

    def proba_of_tokens(self, token_lists: Sequence[Sequence[str]]) -> np.ndarray:
        """Class probabilities of texts already preprocessed by ``pipeline_`` (models that
        share a pipeline, such as an ensemble's members, preprocess once)."""
        self._check_fitted()
        if not token_lists:
            return np.zeros((0, len(self.classes_)), dtype=np.float32)
        return self._activate(predict_logits(self.module_, self._encode_tokens(token_lists),
                                             precision=resolve_precision(self.precision)))

    # ---- saving ---------------------------------------------------------------------

    def to_bundle(self, metrics: dict[str, Any] | None = None
                  ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """The tensors and JSON header of this model's bundle (see :meth:`save`)."""
        self._check_fitted()
        meta = self.bundle_meta(metrics, params=self.get_params(),
                                preprocessing=self.pipeline_.to_spec(),
                                vocab=self.vocab_.to_dict())
        return dict(self.module_.state_dict()), meta

    @classmethod
    def restore(cls, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> TextClassifier:
        clf = cls(**meta["params"])
        model_cfg, _, _ = clf._configs()
        clf.pipeline_ = Pipeline(meta["preprocessing"])
        clf.vocab_ = Vocab.from_dict(meta["vocab"])
        rows = tensors["embedding.weight"].shape[0]
        if len(clf.vocab_) != rows:  # checked before a module of that size is built
            raise ValueError(f"a vocabulary of {len(clf.vocab_):,} words for an embedding "
                             f"of {rows:,} rows")
        clf.classes_ = bundle_labels(meta)
        clf.module_ = build_module(model_cfg, len(clf.vocab_), len(clf.classes_))
        clf.module_.load_state_dict(tensors)
        clf.fit_info_ = meta.get("fit_info", {})
        resolved = clf.fit_info_.get("resolved", {})
        clf.max_length_ = int(resolved.get("vocab.max_length", {}).get("value",
                                                                       clf.max_length))
        clf.min_freq_ = int(resolved.get("vocab.min_freq", {}).get("value", clf.min_freq))
        clf.module_.eval()
        clf.n_parameters_ = count_parameters(clf.module_)
        return clf
