"""The multi-label estimators by ``model.kind``, and loading any of their bundles."""

from __future__ import annotations

from pathlib import Path

from seqlab.artifacts import bundle_kind
from seqlab.errors import BundleError
from seqlab.tasks.multilabel.config import MultiLabelConfig
from seqlab.tasks.multilabel.ensemble import MultiLabelEnsemble
from seqlab.tasks.multilabel.model import LabelSets, MultiLabelClassifier, MultiLabelLinear

MULTILABEL_ESTIMATORS: dict[str, type[LabelSets]] = {
    "ensemble": MultiLabelEnsemble, "recurrent": MultiLabelClassifier,
    "tfidf": MultiLabelLinear}


def multilabel_for(config: MultiLabelConfig) -> LabelSets:
    """The unfitted estimator ``config.model.kind`` names."""
    return MULTILABEL_ESTIMATORS[config.model.kind].from_config(config)  # type: ignore[attr-defined]


def load_multilabel(path: str | Path) -> LabelSets:
    """A saved multi-label model of any kind (a bundle or its run folder)."""
    kind = bundle_kind(path)
    for estimator in MULTILABEL_ESTIMATORS.values():
        if kind in (estimator.bundle_kind, None):
            return estimator.load(path)  # for None: the loader names the damage
    raise BundleError(f"{path}: holds a {kind!r}, not a multi-label model; the task's own "
                      "commands load it")
