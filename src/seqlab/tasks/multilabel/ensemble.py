"""``ensemble`` (the default ``model.kind`` of ``seqlab multilabel``): the recurrent models
and the TF-IDF baseline, blended per text and label with a weight validation sets.

It follows the single-label ensemble's rule (:mod:`seqlab.tasks.classify.ensemble`),
with sigmoid outputs in place of softmax ones:

1. both parts train on the same split, validation choosing the recurrent epoch and the
   linear ``C``; the recurrent part is the mean of ``members`` models trained with the
   seeds ``seed, seed + 1, …`` (``auto``: by corpus size, as the classifier's);
2. each part's probabilities are calibrated on validation by a temperature on the logit
   (``sigmoid(logit p / T)``, ``T`` by validation binary cross-entropy);
3. ``w · p_recurrent + (1 − w) · p_linear`` takes the ``w`` in ``0, 0.05, …, 1`` with the
   lowest validation binary cross-entropy (a tie goes to the smaller ``w``);
4. then one threshold per label is tuned on the blend's validation probabilities.

The test split plays no part; the report scores the blend and both parts on it once.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator

from seqlab.artifacts import prefixed, unprefixed
from seqlab.config import AUTO
from seqlab.tasks.classify.auto import auto_members
from seqlab.tasks.classify.classifier import split_validation
from seqlab.tasks.classify.ensemble import TEMPERATURES, WEIGHTS, LeadFacts
from seqlab.tasks.multilabel.config import MultiLabelConfig
from seqlab.tasks.multilabel.labelsets import split_set
from seqlab.tasks.multilabel.metrics import multilabel_metrics, tune_thresholds
from seqlab.tasks.multilabel.model import (
    LabelSets,
    MultiLabelClassifier,
    MultiLabelLinear,
    binary_cross_entropy,
    joined_sets,
    sigmoid,
)
from seqlab.training.trainer import TrainCallbacks


def tempered(proba: np.ndarray, temperature: float) -> np.ndarray:
    """``sigmoid(logit p / T)``: probabilities made sharper (T < 1) or flatter (T > 1)."""
    p = np.clip(proba.astype(np.float64), 1e-7, 1 - 1e-7)
    return sigmoid(np.log(p / (1 - p)) / temperature)


def fit_temperature(proba: np.ndarray, truth: np.ndarray) -> float:
    """The temperature of the grid with the lowest binary cross-entropy on ``truth``."""
    losses = [binary_cross_entropy(tempered(proba, t), truth) for t in TEMPERATURES]
    return float(TEMPERATURES[int(np.argmin(losses))])


class MultiLabelEnsemble(LeadFacts, LabelSets, BaseEstimator):
    """The blend of :class:`MultiLabelClassifier` members and :class:`MultiLabelLinear`."""

    bundle_kind = "seqlab.multilabel_ensemble"
    fitted_attribute = "linear_"
    round_name = "epoch"

    def __init__(self, recurrent: dict[str, Any] | None = None,
                 linear: dict[str, Any] | None = None, members: int | str = AUTO,
                 random_state: int = 13) -> None:
        self.recurrent = recurrent
        self.linear = linear
        self.members = members
        self.random_state = random_state

    @classmethod
    def from_config(cls, config: MultiLabelConfig) -> MultiLabelEnsemble:
        return cls(MultiLabelClassifier.from_config(config).get_params(),
                   MultiLabelLinear.from_config(config).get_params(), config.model.members,
                   config.seed)

    # ---- what the workflow reads (pipeline_, history_ …): the first recurrent model's --

    @property
    def lead_(self) -> MultiLabelClassifier:
        return self.members_[0]

    @property
    def n_parameters_(self) -> int:
        return sum(m.n_parameters_ for m in self.members_) + self.linear_.n_parameters_

    def describe(self) -> str:
        return (f"blend of {len(self.members_)} × ({self.lead_.describe()}) and "
                f"{self.linear_.describe()}; recurrent weight {self.weight_:.2f}")

    # ---- fitting -----------------------------------------------------------------------

    def fit(self, X: Sequence[str], y: Sequence[Any], X_val: Sequence[str] | None = None,
            y_val: Sequence[Any] | None = None, *, checkpoint_dir: str | Path | None = None,
            resume: bool = False, callbacks: TrainCallbacks | None = None
            ) -> MultiLabelEnsemble:
        """Train both parts on texts ``X`` and label sets ``y``; validation sets the blend."""
        began = time.perf_counter()
        texts, labels, val_texts, val_labels = split_validation(
            X, joined_sets(y), X_val, None if y_val is None else joined_sets(y_val),
            0.1 if self.recurrent is None else self.recurrent.get("validation_fraction", 0.1),
            self.random_state)
        train_sets = [split_set(s) for s in labels]
        val_sets = [split_set(s) for s in val_labels]
        resolved: dict[str, dict[str, Any]] = {}
        count = self.members
        if count == AUTO:
            count, why = auto_members(sum(len(t.split()) for t in texts))
            resolved["model.members"] = {"value": count, "why": why}
        self.members_ = []
        for index in range(int(count)):
            params = dict(self.recurrent or {})
            params["random_state"] = params.get("random_state", self.random_state) + index
            folder = None if checkpoint_dir is None else Path(checkpoint_dir) / f"member{index}"
            self.members_.append(MultiLabelClassifier(**params).fit(
                texts, train_sets, val_texts, val_sets, checkpoint_dir=folder, resume=resume,
                callbacks=callbacks))
        self.linear_ = MultiLabelLinear(**(self.linear or {})).fit(
            texts, train_sets, val_texts, val_sets)
        self.classes_ = self.lead_.classes_
        truth = self.label_indices(val_labels, "validation") > 0.5
        parts = self.part_probabilities(val_texts)
        self.temperatures_ = {name: fit_temperature(p, truth) for name, p in parts.items()}
        losses = {float(w): binary_cross_entropy(self._mix(parts, float(w)), truth)
                  for w in WEIGHTS}
        self.weight_ = min(losses, key=lambda w: (round(losses[w], 6), w))
        self._tune(self._mix(parts, self.weight_), truth)
        self.fit_info_ = {
            **self.lead_.fit_info_, "resolved": {**self.lead_.fit_info_.get("resolved", {}),
                                                 **resolved},
            "members": int(count), "recurrent_weight": self.weight_,
            "temperatures": self.temperatures_, "weight_losses": losses,
            "parameters": self.n_parameters_,
            "train_seconds": time.perf_counter() - began,
            "linear_train_seconds": self.linear_.fit_info_["train_seconds"],
        }
        return self

    # ---- prediction --------------------------------------------------------------------

    def part_probabilities(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Each part's probabilities ``[n, k]``: the recurrent members' mean, the linear's."""
        tokens = self.lead_.pipeline_.process_many(list(texts))
        recurrent = np.mean([m.proba_of_tokens(tokens) for m in self.members_], axis=0)
        return {"recurrent": recurrent, "linear": self.linear_.predict_proba(texts)}

    def _mix(self, parts: dict[str, np.ndarray], weight: float) -> np.ndarray:
        t = self.temperatures_
        return (weight * tempered(parts["recurrent"], t["recurrent"])
                + (1.0 - weight) * tempered(parts["linear"], t["linear"]))

    def _blend(self, parts: dict[str, np.ndarray]) -> np.ndarray:
        return self._mix(parts, self.weight_).astype(np.float32)

    def _proba(self, texts: list[str]) -> np.ndarray:
        return self._blend(self.part_probabilities(texts))

    def evaluate_parts(self, splits: dict[str, tuple[Sequence[str], Sequence[Any]]]
                       ) -> dict[str, dict[str, dict[str, Any]]]:
        """The scores of the blend (``model``), of the recurrent part alone (its own
        thresholds tuned on the ``val`` split) and of the linear part (its thresholds)
        on each named split of ``(texts, label sets)``; each part predicts each split
        once."""
        truth = {name: self.label_indices(joined_sets(sets), name) > 0.5
                 for name, (_, sets) in splits.items()}
        parts = {name: self.part_probabilities(texts) for name, (texts, _) in splits.items()}
        alone = tune_thresholds(parts["val"]["recurrent"], truth["val"])
        rules = {"model": lambda p: self.decide(self._blend(p)),
                 "recurrent": lambda p: p["recurrent"] >= alone,
                 "linear": lambda p: self.linear_.decide(p["linear"])}
        return {who: {name: multilabel_metrics(truth[name], decide(parts[name]), self.labels_)
                      for name in splits}
                for who, decide in rules.items()}

    # ---- saving ------------------------------------------------------------------------

    def to_bundle(self, metrics: dict[str, Any] | None = None
                  ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        self._check_fitted()
        tensors: dict[str, torch.Tensor] = {}
        member_metas = []
        for index, member in enumerate(self.members_):
            member_tensors, member_meta = member.to_bundle()
            tensors |= prefixed(member_tensors, f"recurrent.{index}")
            member_metas.append(member_meta)
        linear_tensors, linear_meta = self.linear_.to_bundle()
        tensors |= prefixed(linear_tensors, "linear")
        meta = self._with_thresholds(self.bundle_meta(
            metrics, params=self.get_params(), members=member_metas, linear=linear_meta,
            weight=self.weight_, temperatures=self.temperatures_))
        return tensors, meta

    @classmethod
    def restore(cls, tensors: dict[str, torch.Tensor], meta: dict[str, Any]
                ) -> MultiLabelEnsemble:
        clf = cls(**meta["params"])
        clf.members_ = [MultiLabelClassifier.restore(unprefixed(tensors, f"recurrent.{i}"), m)
                        for i, m in enumerate(meta["members"])]
        clf.linear_ = MultiLabelLinear.restore(unprefixed(tensors, "linear"), meta["linear"])
        clf.classes_ = clf.lead_.classes_
        clf.weight_ = float(meta["weight"])
        clf.temperatures_ = {k: float(v) for k, v in meta["temperatures"].items()}
        clf._read_thresholds(meta)
        return clf
