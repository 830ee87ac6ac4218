"""Every text classifier seqlab trains, behind one contract, picked by ``model.kind``.

``train``, ``evaluate``, ``predict``, ``serve`` and ``compare`` work with any of them:

| ``model.kind``                                | estimator                     |
|-----------------------------------------------|-------------------------------|
| ``ensemble`` (the default)                    | ``EnsembleClassifier`` (the next two, blended) |
| ``recurrent``, ``averaged``, ``averaged-mlp`` | ``seqlab.TextClassifier``     |
| ``tfidf``, ``bow``                            | ``LinearTextClassifier``      |
| ``minilm``, ``minilm-finetune``               | ``TransformerClassifier`` (extra) |

A saved bundle names its format in its header; :func:`load_classifier` reads that and
calls the matching class's ``load``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from seqlab.artifacts import bundle_kind
from seqlab.engine.estimator import kept_validation
from seqlab.errors import BundleError
from seqlab.tasks.classify.config import RunConfig
from seqlab.tasks.classify.kinds import BUNDLES, ESTIMATORS
from seqlab.text.preprocess import Pipeline
from seqlab.training.trainer import TrainCallbacks


class Classifier(Protocol):
    """What the workflows need of a fitted text classifier."""

    classes_: np.ndarray
    pipeline_: Pipeline
    history_: list[dict[str, float]]
    best_epoch_: int
    fit_info_: dict[str, Any]
    n_parameters_: int
    metrics_: dict[str, Any]
    round_name: str  # what one row of ``history_`` is: "epoch", "grid value"

    @property
    def labels_(self) -> list[str]: ...

    def fit(self, X: Sequence[str], y: Sequence[Any], X_val: Sequence[str] | None = None,
            y_val: Sequence[Any] | None = None, *, checkpoint_dir: str | Path | None = None,
            resume: bool = False, callbacks: TrainCallbacks | None = None) -> Any: ...

    def predict_proba(self, X: Sequence[str]) -> np.ndarray: ...

    def evaluate(self, X: Sequence[str], y: Sequence[Any]) -> dict[str, Any]: ...

    def save(self, path: str | Path, metrics: dict[str, Any] | None = None) -> Path: ...

    def describe(self) -> str: ...

    def get_params(self, deep: bool = True) -> dict[str, Any]: ...


def classifier_for(config: RunConfig) -> Classifier:
    """The unfitted estimator ``config.model.kind`` names, set up from ``config``."""
    return ESTIMATORS.get(config.model.kind)().from_config(config)


def best_validation(clf: Classifier) -> dict[str, float]:
    """The validation metrics of the model as fitted (``val_macro_f1``, …): an ensemble's
    blend, else those of the weights kept (the chosen epoch's or grid value's, or the mean
    of the best epochs')."""
    own = getattr(clf, "best_validation", None)
    if own is not None:
        return own()
    return kept_validation(clf)


def load_classifier(path: str | Path) -> Classifier:
    """Load any saved text classifier (a bundle or a run folder), by its bundle format."""
    kind = bundle_kind(path)
    if kind is not None and kind not in BUNDLES:
        raise BundleError(f"{path}: holds a {kind!r}, not a text classifier; the task's own "
                          "commands load it (seqlab forecast/lm/tag …)")
    return BUNDLES[kind or "seqlab.text_classifier"]().load(path)
