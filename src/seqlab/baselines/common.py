"""What the baseline estimators share: labels ↔ indices, ``predict`` and ``evaluate``
from ``predict_proba``, and the label checks with their messages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from seqlab.errors import DataError
from seqlab.evaluation.metrics import classification_metrics


class LabelledPredictions:
    """A mixin for estimators that set ``classes_`` in ``fit`` and define ``predict_proba``."""

    classes_: np.ndarray

    def predict_proba(self, X: Sequence[str]) -> np.ndarray:
        raise NotImplementedError

    @property
    def labels_(self) -> list[str]:
        return [str(c) for c in self.classes_]

    def learn_labels(self, labels: np.ndarray) -> np.ndarray:
        """Set ``classes_`` from the training labels; return their indices."""
        self.classes_ = np.unique(labels)
        if len(self.classes_) < 2:
            raise DataError("the training data has a single class; a classifier needs two")
        return self.label_indices(labels, "training")

    def label_indices(self, labels: Sequence[Any], what: str) -> np.ndarray:
        """The index of each label in ``classes_``; unknown labels are a DataError."""
        index = {label: i for i, label in enumerate(self.labels_)}
        values = [str(v) for v in labels]
        unknown = sorted(set(values) - set(index))
        if unknown:
            raise DataError(f"the {what} data has labels the model does not know: "
                            f"{', '.join(unknown[:5])}. Known labels: {', '.join(index)}.")
        return np.fromiter((index[v] for v in values), dtype=np.int64, count=len(values))

    def predict(self, X: Sequence[str]) -> np.ndarray:
        """The most probable label per text."""
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)] if len(proba) else self.classes_[:0]

    def evaluate(self, X: Sequence[str], y: Sequence[Any]) -> dict[str, Any]:
        """Accuracy, P/R/F1 (macro, weighted, per class) and the confusion matrix."""
        predicted = self.predict_proba(X).argmax(axis=1)  # first: it checks fit was done
        targets = self.label_indices(y, "evaluation")
        return classification_metrics(targets, predicted, self.labels_)
