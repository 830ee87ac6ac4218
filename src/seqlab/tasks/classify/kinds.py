"""Which class trains each ``model.kind`` and which loads each bundle format.

The classes are imported when used (the transformer is an extra, and the config checks
``model.kind`` against these names without loading torch).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from seqlab.registry import Registry


def _torch_classifier() -> Any:
    from seqlab.tasks.classify.classifier import TextClassifier

    return TextClassifier


def _linear_classifier() -> Any:
    from seqlab.tasks.classify.baselines.linear import LinearTextClassifier

    return LinearTextClassifier


def _ensemble_classifier() -> Any:
    from seqlab.tasks.classify.ensemble import EnsembleClassifier

    return EnsembleClassifier


def _transformer_classifier() -> Any:
    from seqlab.tasks.classify.baselines.transformer import TransformerClassifier

    return TransformerClassifier


# model.kind → the class that trains it (imported when used: the transformer is an extra)
ESTIMATORS: Registry[Callable[[], Any]] = Registry("model kind")
ESTIMATORS.register("ensemble")(_ensemble_classifier)
for _kind in ("recurrent", "averaged", "averaged-mlp"):
    ESTIMATORS.register(_kind)(_torch_classifier)
for _kind in ("tfidf", "bow"):
    ESTIMATORS.register(_kind)(_linear_classifier)
for _kind in ("minilm", "minilm-finetune"):
    ESTIMATORS.register(_kind)(_transformer_classifier)

# bundle format → the class that loads it
BUNDLES: dict[str, Callable[[], Any]] = {
    "seqlab.text_classifier": _torch_classifier,
    "seqlab.linear_classifier": _linear_classifier,
    "seqlab.ensemble_classifier": _ensemble_classifier,
    "seqlab.transformer_classifier": _transformer_classifier,
}
