"""What every text classifier shares (the recurrent one and the baselines): labels ↔
indices with their checks, ``predict_proba``'s checks, ``predict`` and ``evaluate``, and
the JSON header of a bundle."""

from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import numpy as np

from seqlab.engine.estimator import Estimator
from seqlab.errors import DataError
from seqlab.evaluation.metrics import classification_metrics


def seqlab_version() -> str:
    """The installed seqlab version (written into every bundle)."""
    try:
        return version("seqlab")
    except PackageNotFoundError:
        return "unknown"


# The hard cap on one text: every classifier reads at most this many characters of it, so
# that a 10 MB text costs bounded time and memory (the run counts the texts cut here).
TEXT_CHAR_LIMIT = 100_000


def as_texts(X: Any) -> list[str]:
    """``X`` as a list of strings (None → ""), each cut at :data:`TEXT_CHAR_LIMIT`
    characters; a bare string is refused."""
    if isinstance(X, str):
        raise DataError("expected a list of texts, got a single string; wrap it in a list")
    return ["" if x is None else str(x)[:TEXT_CHAR_LIMIT] for x in X]


def bundle_labels(meta: dict[str, Any]) -> np.ndarray:
    """The ``labels`` of a bundle's header, checked: a list of two or more names."""
    labels = meta["labels"]
    if not (isinstance(labels, list) and len(labels) >= 2
            and all(isinstance(label, str) for label in labels)):
        raise ValueError(f"`labels` must be a list of two or more names, found "
                         f"{str(labels)[:60]!r}")
    return np.asarray(labels)


class LabelledPredictions(Estimator):
    """The base of estimators that set ``classes_`` in ``fit`` and compute class
    probabilities in ``_proba(texts)``; ``fitted_attribute`` is set by ``fit`` and ``load``."""

    classes_: np.ndarray
    fitted_attribute = "classes_"

    def _proba(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def predict_proba(self, X: Sequence[str]) -> np.ndarray:
        """Class probabilities ``[n, k]`` in the order of ``classes_``."""
        self._check_fitted()
        texts = as_texts(X)
        if not texts:
            return np.zeros((0, len(self.classes_)), dtype=np.float32)
        return self._proba(texts)

    def bundle_meta(self, metrics: dict[str, Any] | None, **extra: Any) -> dict[str, Any]:
        """The JSON header every classifier bundle holds, plus ``extra`` (params etc.)."""
        return {"seqlab_version": seqlab_version(), "labels": self.labels_,
                "fit_info": getattr(self, "fit_info_", {}), "metrics": metrics or {}, **extra}

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
