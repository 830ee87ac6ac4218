"""Multi-label estimators: the recurrent classifier with one sigmoid output per label,
and TF-IDF n-grams with one logistic regression per label (the baseline); the blend of
the two is :mod:`seqlab.tasks.multilabel.ensemble`.

Each learns from texts and label sets (``[["PER", "LOC"], [], ["ORG"]]``), give a
probability per label, and turn it into a set with a threshold per label chosen on
validation (:func:`~seqlab.tasks.multilabel.metrics.tune_thresholds`). The thresholds
are saved in the bundle with the weights.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from torch import nn

from seqlab.errors import ConfigError, DataError
from seqlab.tasks.classify.baselines.common import LabelledPredictions
from seqlab.tasks.classify.baselines.linear import LinearTextClassifier
from seqlab.tasks.classify.classifier import TextClassifier, split_validation
from seqlab.tasks.classify.network import predict_logits
from seqlab.tasks.multilabel.config import MultiLabelConfig
from seqlab.tasks.multilabel.labelsets import join_set, split_set
from seqlab.tasks.multilabel.metrics import indicator, multilabel_metrics, tune_thresholds
from seqlab.training.trainer import LOWER_IS_BETTER, TrainCallbacks

# the validation scores that may choose the epoch or C
MONITORS = ("micro_f1", "macro_f1", "subset_accuracy", "loss")


def sigmoid(scores: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-np.clip(scores, -60, 60)))).astype(np.float32)


def joined_sets(sets: Sequence[Any]) -> list[str]:
    """Each label set in canonical form; a bare string is one label."""
    if isinstance(sets, str):
        raise DataError("expected one label set per text, got a single string")
    return [join_set([s] if isinstance(s, str) else [str(v) for v in s]) for s in sets]


class LabelSets(LabelledPredictions):
    """What the multi-label estimators share: labels ↔ indicator matrices, thresholds,
    the predicted sets and the scores. ``labels`` given to the hooks are canonical sets
    (``"LOC|PER"``)."""

    thresholds_: np.ndarray

    def refitted(self, X: Sequence[str], y: Sequence[Any], **_: Any) -> Any:
        """Not available: a multi-label model's thresholds are tuned on the validation
        split, so it is not trained again on training + validation."""
        raise ConfigError(f"{type(self).__name__} is not trained again on training + "
                          "validation: its thresholds are tuned on validation")

    def learn_labels(self, labels: np.ndarray) -> np.ndarray:
        """Set ``classes_`` (every label seen in training, sorted); return the indicator."""
        self.classes_ = np.asarray(sorted({x for s in labels for x in split_set(str(s))}))
        if len(self.classes_) < 2:
            raise DataError(f"the training data has {len(self.classes_)} label(s) in all; a "
                            "multi-label model needs two or more (one label present or "
                            "absent is a yes/no task for seqlab train)")
        self.thresholds_ = np.full(len(self.classes_), 0.5, dtype=np.float32)
        return self.label_indices(labels, "training")

    def label_indices(self, labels: Sequence[Any], what: str) -> np.ndarray:
        """The ``[n, k]`` float indicator of canonical sets; unknown labels are an error."""
        sets = [split_set(str(s)) for s in labels]
        unknown = sorted({x for s in sets for x in s} - set(self.labels_))
        if unknown:
            raise DataError(f"the {what} data has labels the model does not know: "
                            f"{', '.join(unknown[:5])}. Known labels: {', '.join(self.labels_)}.")
        return indicator(sets, self.labels_).astype(np.float32)

    def _activate(self, logits: np.ndarray) -> np.ndarray:
        return sigmoid(logits)

    def decide(self, proba: np.ndarray) -> np.ndarray:
        """The ``[n, k]`` boolean decisions: each probability against its label's threshold."""
        return proba >= self.thresholds_[None, :]

    def predict(self, X: Sequence[str]) -> list[tuple[str, ...]]:  # type: ignore[override]
        """The label set of each text (possibly empty), labels in ``classes_`` order."""
        decided = self.decide(self.predict_proba(X))
        return [tuple(self.labels_[j] for j in np.flatnonzero(row)) for row in decided]

    def evaluate(self, X: Sequence[str], y: Sequence[Any]) -> dict[str, Any]:
        """Micro/macro F1, per-label scores, subset accuracy and Hamming loss on ``X, y``."""
        decided = self.decide(self.predict_proba(X))
        return multilabel_metrics(self.label_indices(joined_sets(y), "evaluation") > 0.5,
                                  decided, self.labels_)

    def score(self, X: Sequence[str], y: Sequence[Any], sample_weight: Any = None) -> float:
        """Micro-F1 (what ``GridSearchCV`` and ``cross_val_score`` maximise)."""
        return float(self.evaluate(X, y)["micro_f1"])

    def threshold_table(self) -> dict[str, float]:
        return {label: float(t) for label, t in zip(self.labels_, self.thresholds_,
                                                    strict=True)}

    def _tune(self, proba: np.ndarray, targets: np.ndarray) -> None:
        self.thresholds_ = tune_thresholds(proba, targets > 0.5)

    def _with_thresholds(self, meta: dict[str, Any]) -> dict[str, Any]:
        return meta | {"thresholds": [float(t) for t in self.thresholds_]}

    def _read_thresholds(self, meta: dict[str, Any]) -> None:
        thresholds = np.asarray(meta["thresholds"], dtype=np.float32)
        if thresholds.shape != (len(self.classes_),) or not ((thresholds > 0)
                                                             & (thresholds < 1)).all():
            raise ValueError(f"`thresholds` must be {len(self.classes_)} numbers in (0, 1)")
        self.thresholds_ = thresholds

    def to_bundle(self, metrics: dict[str, Any] | None = None
                  ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """The single-label estimator's bundle, with the thresholds in its header."""
        tensors, meta = super().to_bundle(metrics)  # type: ignore[safe-super]
        return tensors, self._with_thresholds(meta)

    @classmethod
    def restore(cls, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> Any:
        model = super().restore(tensors, meta)  # type: ignore[safe-super]
        model._read_thresholds(meta)
        return model


class MultiLabelClassifier(LabelSets, TextClassifier):
    """The recurrent text classifier with a sigmoid per label (binary cross-entropy),
    the epoch chosen on validation, then a threshold per label tuned on validation.

    >>> clf = MultiLabelClassifier(max_epochs=5).fit(texts, [["PER"], [], ["LOC", "ORG"]])
    >>> clf.predict(["Angela Merkel visited Paris"])
    [('LOC', 'PER')]
    """

    bundle_kind = "seqlab.multilabel_classifier"
    fitted_attribute = "module_"

    def fit(self, X: Sequence[str], y: Sequence[Any], X_val: Sequence[str] | None = None,
            y_val: Sequence[Any] | None = None, *, checkpoint_dir: str | Path | None = None,
            resume: bool = False, callbacks: TrainCallbacks | None = None
            ) -> MultiLabelClassifier:
        """Train on texts ``X`` and label sets ``y`` (lists of labels)."""
        super().fit(X, joined_sets(y), X_val, None if y_val is None else joined_sets(y_val),
                    checkpoint_dir=checkpoint_dir, resume=resume, callbacks=callbacks)
        return self

    def _criterion(self, targets: np.ndarray, class_weights: str) -> nn.Module:
        """Binary cross-entropy per label; ``balanced`` weighs each label's positives by
        its negatives-to-positives ratio (at most 10)."""
        if class_weights != "balanced":
            return nn.BCEWithLogitsLoss()
        positives = targets.sum(axis=0)
        ratio = np.clip((len(targets) - positives) / np.maximum(positives, 1), 1.0, 10.0)
        return nn.BCEWithLogitsLoss(pos_weight=torch.tensor(ratio, dtype=torch.float32))

    def _validation_scores(self, logits: np.ndarray, targets: np.ndarray) -> dict[str, float]:
        loss = float(nn.functional.binary_cross_entropy_with_logits(
            torch.from_numpy(logits), torch.from_numpy(targets)))
        m = multilabel_metrics(targets > 0.5, logits >= 0.0, self.labels_)  # p ≥ 0.5
        return {"loss": loss, "micro_f1": m["micro_f1"], "macro_f1": m["macro_f1"],
                "subset_accuracy": m["subset_accuracy"]}

    def _calibrate(self, val_seqs: list[np.ndarray], val_targets: np.ndarray) -> None:
        self._tune(sigmoid(predict_logits(self.module_, val_seqs)), val_targets)



class MultiLabelLinear(LabelSets, LinearTextClassifier):
    """TF-IDF word and character n-grams with one logistic regression per label; ``C``
    is chosen from ``grid`` by validation micro-F1 (at 0.5), then thresholds are tuned."""

    bundle_kind = "seqlab.multilabel_linear"
    fitted_attribute = "weight_"

    @classmethod
    def from_config(cls, config: MultiLabelConfig) -> MultiLabelLinear:  # type: ignore[override]
        linear = config.model.linear.model_dump() | {"classifier": "logreg"}
        return cls(kind="tfidf", **linear, preprocessing=config.preprocessing,
                   monitor="micro_f1", class_weights=config.training.class_weights,
                   validation_fraction=config.data.val_fraction, random_state=config.seed)

    def fit(self, X: Sequence[str], y: Sequence[Any], X_val: Sequence[str] | None = None,
            y_val: Sequence[Any] | None = None, *, checkpoint_dir: str | Path | None = None,
            resume: bool = False, callbacks: TrainCallbacks | None = None
            ) -> MultiLabelLinear:
        """Fit once per grid value on texts ``X`` and label sets ``y``; validation keeps
        the best. (``checkpoint_dir`` and ``resume`` are accepted and unused.)"""
        settings = self._settings()
        began = time.perf_counter()
        texts, labels, val_texts, val_labels = split_validation(
            X, joined_sets(y), X_val, None if y_val is None else joined_sets(y_val),
            self.validation_fraction, self.random_state)
        targets = self.learn_labels(labels) > 0.5
        val_targets = self.label_indices(val_labels, "validation") > 0.5
        train_x = self._fit_features(texts, settings.min_df)
        val_x = self._transform(val_texts)
        monitor = self.monitor
        if monitor not in MONITORS:
            raise ConfigError(f"MultiLabelLinear: monitor is one of {', '.join(MONITORS)}, "
                              f"got {monitor!r}")
        best: tuple[float, np.ndarray, np.ndarray] | None = None
        self.history_ = []
        if callbacks is not None:
            callbacks.on_train_start(len(settings.grid), 1, 1)
        for trial, c in enumerate(settings.grid, start=1):
            weight, bias = self._fit_labels(train_x, targets, c)
            proba = sigmoid(np.asarray(val_x @ weight.T) + bias)
            m = multilabel_metrics(val_targets, proba >= 0.5, self.labels_)
            loss = binary_cross_entropy(proba, val_targets)
            record = {"epoch": trial, "value": float(c),
                      "train_loss": binary_cross_entropy(
                          sigmoid(np.asarray(train_x @ weight.T) + bias), targets),
                      "val_loss": loss, "val_micro_f1": m["micro_f1"],
                      "val_macro_f1": m["macro_f1"], "val_subset_accuracy": m["subset_accuracy"]}
            self.history_.append(record)
            if callbacks is not None:
                callbacks.on_batch_end(trial, 0, record["train_loss"])
                callbacks.on_epoch_end(record)
            score = record[f"val_{monitor}"]
            sign = -1.0 if monitor in LOWER_IS_BETTER else 1.0
            if best is None or sign * score > sign * best[0]:
                best = (score, weight, bias)
                self.best_epoch_ = trial
        assert best is not None
        self.weight_, self.bias_ = best[1], best[2]
        self._tune(sigmoid(np.asarray(val_x @ self.weight_.T) + self.bias_), val_targets)
        self._fitted(len(texts), len(val_texts), "logreg", time.perf_counter() - began)
        return self

    def _fit_labels(self, x: Any, targets: np.ndarray, c: float
                    ) -> tuple[np.ndarray, np.ndarray]:
        """One logistic regression per label; a label every (or no) text has gets a
        constant score."""
        weight = np.zeros((targets.shape[1], x.shape[1]), dtype=np.float32)
        bias = np.zeros(targets.shape[1], dtype=np.float32)
        class_weight = "balanced" if self.class_weights == "balanced" else None
        for j in range(targets.shape[1]):
            column = targets[:, j]
            if column.all() or not column.any():
                bias[j] = 30.0 if column.all() else -30.0
                continue
            model = LogisticRegression(C=c, max_iter=2000, class_weight=class_weight,
                                       random_state=self.random_state).fit(x, column)
            weight[j], bias[j] = model.coef_[0], model.intercept_[0]
        return weight, bias

    def _proba(self, texts: list[str]) -> np.ndarray:
        return sigmoid(np.asarray(self._transform(texts) @ self.weight_.T) + self.bias_)


def binary_cross_entropy(proba: np.ndarray, truth: np.ndarray) -> float:
    """The mean binary cross-entropy of probabilities ``proba`` against ``truth``."""
    p = np.clip(proba.astype(np.float64), 1e-12, 1 - 1e-12)
    return float(-np.mean(np.where(truth, np.log(p), np.log(1 - p))))
