"""``ensemble`` (the default ``model.kind``): the recurrent model and the TF-IDF baseline,
blended with a weight that validation sets.

Neither model wins everywhere. The recurrent model reads word order and wins on short
texts whose meaning hangs on it; the linear n-gram model reads every token of a long
document in seconds and wins where a few words decide. The blend keeps what each is good
at, and by construction it can fall back on either one alone:

1. both are trained on the same training split; validation picks the recurrent model's
   epoch and the linear model's ``C``, as when each is trained alone. The recurrent part
   is the mean of ``members`` models trained with the seeds ``seed, seed + 1, …``
   (``auto``: 5 below half a million training words, 3 below a million, else 1; see
   :mod:`seqlab.tasks.classify.auto`);
2. each one's probabilities are calibrated on validation by a temperature
   (``softmax(log p / T)``, ``T`` chosen by validation log loss), so that a confident model
   does not drown the other by its scale alone;
3. the blend ``w · p_recurrent + (1 − w) · p_linear`` takes the ``w`` in ``0, 0.05, …, 1``
   with the lowest validation log loss (a proper score: it rewards probabilities, not
   one lucky threshold). ``w = 0`` is the baseline alone, ``w = 1`` the recurrent model;
4. with ``refit: true`` (:meth:`EnsembleClassifier.refitted`), the parts in use are then
   trained again on training + validation with those choices (off by default:
   BENCHMARKS.md §25).

The test split plays no part: it is scored once, afterwards, for the blend and for both
parts (the report shows all three).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin

from seqlab.artifacts import prefixed, unprefixed
from seqlab.config import AUTO
from seqlab.engine.estimator import member_checkpoints
from seqlab.errors import ConfigError
from seqlab.evaluation.metrics import classification_metrics, log_loss
from seqlab.tasks.classify.auto import auto_members
from seqlab.tasks.classify.baselines.common import LabelledPredictions, as_texts, bundle_labels
from seqlab.tasks.classify.baselines.linear import LinearTextClassifier
from seqlab.tasks.classify.classifier import TextClassifier, split_validation
from seqlab.tasks.classify.config import RunConfig
from seqlab.text.preprocess import Pipeline
from seqlab.training.trainer import TrainCallbacks

BUNDLE_KIND = "seqlab.ensemble_classifier"
TEMPERATURES = np.exp(np.linspace(np.log(0.05), np.log(20.0), 81))
WEIGHTS = np.round(np.linspace(0.0, 1.0, 21), 2)
PARTS = ("recurrent", "linear")


def tempered(proba: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(log p / T)``: probabilities made sharper (T < 1) or flatter (T > 1)."""
    logits = np.log(np.clip(proba, 1e-12, None)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return exp / exp.sum(axis=1, keepdims=True)


def fit_temperature(proba: np.ndarray, targets: np.ndarray) -> float:
    """The temperature of :data:`TEMPERATURES` with the lowest log loss on ``targets``."""
    losses = [log_loss(tempered(proba, t), targets) for t in TEMPERATURES]
    return float(TEMPERATURES[int(np.argmin(losses))])


def blend(probas: Sequence[np.ndarray], temperatures: Sequence[float],
          weights: Sequence[float]) -> np.ndarray:
    """``Σ wᵢ · softmax(log pᵢ / Tᵢ)``: rows still sum to one when the weights do."""
    return sum(w * tempered(p, t) for p, t, w in zip(probas, temperatures, weights, strict=True))


def choose_weight(probas: Sequence[np.ndarray], temperatures: Sequence[float],
                  targets: np.ndarray) -> tuple[float, list[dict[str, float]]]:
    """The recurrent part's weight ``w`` (of :data:`WEIGHTS`) with the lowest log loss,
    and the loss at every ``w``; a tie goes to the smaller ``w`` (the simpler model)."""
    records = [{"weight": float(w),
                "val_loss": log_loss(blend(probas, temperatures, [w, 1.0 - w]), targets)}
               for w in WEIGHTS]
    best = min(records, key=lambda r: (round(r["val_loss"], 6), r["weight"]))
    return best["weight"], records


class LeadFacts:
    """What the workflows read of a classifier (preprocessing, token limit, the history
    of epochs), taken from ``lead_``: the first recurrent model."""

    lead_: TextClassifier

    @property
    def pipeline_(self) -> Pipeline:
        return self.lead_.pipeline_

    @property
    def max_length_(self) -> int:
        return self.lead_.max_length_

    @property
    def history_(self) -> list[dict[str, float]]:
        return self.lead_.history_

    @property
    def best_epoch_(self) -> int:
        return self.lead_.best_epoch_


class MemberAverage(LeadFacts, LabelledPredictions):
    """The recurrent part: the mean probability of recurrent models that differ only in
    their seed. One member is the recurrent model itself."""

    fitted_attribute = "members_"
    round_name = "epoch"

    def __init__(self, members: list[TextClassifier], validation: dict[str, float]) -> None:
        specs = {str(m.pipeline_.to_spec()) for m in members}
        if len(specs) != 1 or any(m.labels_ != members[0].labels_ for m in members):
            raise ValueError("the recurrent members differ in preprocessing or labels")
        self.members_ = members
        self.classes_ = members[0].classes_
        self.validation_ = validation  # the average's own validation metrics (val_…)

    @property
    def lead_(self) -> TextClassifier:
        return self.members_[0]

    @property
    def n_parameters_(self) -> int:
        return sum(m.n_parameters_ for m in self.members_)

    def best_validation(self) -> dict[str, float]:
        return self.validation_

    def describe(self) -> str:
        first = self.members_[0]
        if len(self.members_) == 1:
            return first.describe()
        seeds = ", ".join(str(m.random_state) for m in self.members_)
        return f"mean of {len(self.members_)} × {first.describe()} (seeds {seeds})"

    def _proba(self, texts: list[str]) -> np.ndarray:
        # every member's preprocessing
        return self.proba_of_tokens(self.lead_.pipeline_.process_many(texts))

    def proba_of_tokens(self, token_lists: Sequence[Sequence[str]]) -> np.ndarray:
        """The mean of the members' probabilities for texts already preprocessed."""
        return np.mean([m.proba_of_tokens(token_lists) for m in self.members_], axis=0)


def _scores(proba: np.ndarray, targets: np.ndarray, labels: list[str],
            loss: float | None = None) -> dict[str, float]:
    m = classification_metrics(targets, proba.argmax(1), labels)
    return {"loss": log_loss(proba, targets) if loss is None else loss,
            "accuracy": m["accuracy"], "macro_f1": m["macro_f1"],
            "weighted_f1": m["weighted_f1"]}


class EnsembleClassifier(LeadFacts, LabelledPredictions, ClassifierMixin, BaseEstimator):
    """The recurrent :class:`~seqlab.TextClassifier` and the TF-IDF
    :class:`~seqlab.tasks.classify.baselines.linear.LinearTextClassifier`, blended on validation.

    ``recurrent`` and ``linear`` are the parts' constructor arguments (their defaults when
    None); ``members`` recurrent models are averaged (``"auto"``: by corpus size)."""

    bundle_kind = BUNDLE_KIND

    round_name = "epoch"  # ``history_`` is the recurrent part's
    fitted_attribute = "weights_"

    def __init__(self, recurrent: dict[str, Any] | None = None,
                 linear: dict[str, Any] | None = None, members: int | str = "auto",
                 validation_fraction: float = 0.1, random_state: int = 13) -> None:
        self.recurrent = recurrent
        self.linear = linear
        self.members = members
        self.validation_fraction = validation_fraction
        self.random_state = random_state

    @classmethod
    def from_config(cls, config: RunConfig) -> EnsembleClassifier:
        """The ensemble a run config describes: ``model.*`` and ``training.*`` set the
        recurrent part, ``model.linear`` the TF-IDF one."""
        recurrent = TextClassifier.from_config(config).get_params()
        linear = LinearTextClassifier.from_config(config).get_params() | {"kind": "tfidf"}
        return cls(recurrent, linear, config.model.members, config.data.val_fraction,
                   config.seed)

    def _member(self, index: int) -> TextClassifier:
        params = dict(self.recurrent or {})
        params["random_state"] = params.get("random_state", self.random_state) + index
        return TextClassifier(**params)

    def _count_members(self, texts: list[str]) -> int:
        if self.members != AUTO:
            return int(self.members)
        count, why = auto_members(sum(len(t.split()) for t in texts))
        self.resolved_["model.members"] = {"value": count, "why": why}
        return count

    # ---- what the workflows read of a classifier ------------------------------------

    @property
    def lead_(self) -> TextClassifier:
        return self.recurrent_.lead_

    @property
    def components_(self) -> dict[str, Any]:
        """The fitted parts by name: ``recurrent`` and ``linear``."""
        self._check_fitted()
        return {"recurrent": self.recurrent_, "linear": self.linear_}

    def describe(self) -> str:
        """One line for reports: what the model is."""
        if not hasattr(self, "weights_"):
            return "ensemble of the recurrent model and the TF-IDF baseline (not fitted)"
        w_rec, w_lin = self.weights_
        return (f"ensemble: {w_rec:.2f} × recurrent ({self.recurrent_.describe()}) + "
                f"{w_lin:.2f} × {self.linear_.describe()}")

    # ---- fitting ---------------------------------------------------------------------

    def fit(self, X: Sequence[str], y: Sequence[Any], X_val: Sequence[str] | None = None,
            y_val: Sequence[Any] | None = None, *, checkpoint_dir: str | Path | None = None,
            resume: bool = False, callbacks: TrainCallbacks | None = None
            ) -> EnsembleClassifier:
        """Train both parts on ``X, y``, then set the blend on the validation data."""
        texts, labels, val_texts, val_labels = split_validation(
            X, y, X_val, y_val, self.validation_fraction, self.random_state)
        self.resolved_: dict[str, dict[str, Any]] = {}
        members = []
        for index in range(self._count_members(texts)):
            member = self._member(index)
            member.fit(texts, labels, val_texts, val_labels,
                       checkpoint_dir=member_checkpoints(checkpoint_dir, index),
                       resume=resume, callbacks=callbacks)
            members.append(member)
        linear = LinearTextClassifier(**(self.linear or {}))
        linear.fit(texts, labels, val_texts, val_labels)
        self.classes_ = members[0].classes_
        targets = self.label_indices(val_labels, "validation")
        member_mean = np.mean([m.predict_proba(val_texts) for m in members], axis=0)
        probas = [member_mean, linear.predict_proba(val_texts)]
        self.temperatures_ = [fit_temperature(p, targets) for p in probas]
        weight, self.weight_search_ = choose_weight(probas, self.temperatures_, targets)
        self.weights_ = [weight, 1.0 - weight]
        validation = {name: _scores(proba, targets, self.labels_,
                                    log_loss(tempered(proba, t), targets))
                      for name, proba, t in zip(PARTS, probas, self.temperatures_, strict=True)}
        validation["ensemble"] = _scores(blend(probas, self.temperatures_, self.weights_),
                                         targets, self.labels_)
        self.recurrent_ = MemberAverage(members, {f"val_{k}": v for k, v in
                                                  validation["recurrent"].items()})
        self.linear_ = linear
        self.n_parameters_ = self.recurrent_.n_parameters_ + linear.n_parameters_
        self.resolved_ |= members[0].resolved_
        seconds = sum(m.fit_info_["train_seconds"] for m in members)
        self.fit_info_ = members[0].fit_info_ | {
            "parameters": self.n_parameters_, "members": len(members),
            "resolved": self.resolved_,
            "train_seconds": seconds + linear.fit_info_["train_seconds"],
            "wall_seconds": sum(m.fit_info_["wall_seconds"] for m in members)
            + linear.fit_info_["wall_seconds"],
            "ensemble": {"weights": dict(zip(PARTS, self.weights_, strict=True)),
                         "temperatures": dict(zip(PARTS, self.temperatures_, strict=True)),
                         "validation": validation,
                         "linear_chosen": linear.fit_info_["chosen"],
                         "linear_seconds": linear.fit_info_["train_seconds"]},
        }
        return self

    def refitted(self, X: Sequence[str], y: Sequence[Any], *,
                 checkpoint_dir: str | Path | None = None, resume: bool = False,
                 callbacks: TrainCallbacks | None = None) -> EnsembleClassifier:
        """A copy whose parts are trained again on ``X, y`` (typically training +
        validation) with what validation chose: each member's epochs, the linear part's
        ``C``; a part whose weight is 0 stays as it is. The temperatures, the weights and
        the validation scores stay this one's."""
        self._check_fitted()
        texts, labels = as_texts(X), np.asarray(list(y))
        again, seconds = copy.copy(self), 0.0
        w_recurrent, w_linear = self.weights_
        if w_recurrent > 0:  # a part the blend does not use is not trained again
            members = [member.refitted(texts, labels, resume=resume, callbacks=callbacks,
                                       checkpoint_dir=member_checkpoints(checkpoint_dir, index))
                       for index, member in enumerate(self.recurrent_.members_)]
            seconds += sum(m.fit_info_["refit"]["seconds"] for m in members)
            again.recurrent_ = MemberAverage(members, self.recurrent_.validation_)
        if w_linear > 0:
            again.linear_ = self.linear_.refitted(texts, labels)
            seconds += again.linear_.fit_info_["refit"]["seconds"]
        again.fit_info_ = self.fit_info_ | {
            "train_seconds": self.fit_info_["train_seconds"] + seconds,
            "refit": {"texts": len(texts), "seconds": seconds}}
        return again

    def best_validation(self) -> dict[str, float]:
        """The blend's validation metrics, keyed like a history record (``val_macro_f1``)."""
        return {f"val_{k}": v for k, v in self.fit_info_["ensemble"]["validation"]["ensemble"]
                .items()}

    # ---- prediction --------------------------------------------------------------------

    def _proba(self, texts: list[str]) -> np.ndarray:
        # a part whose weight is 0 adds exactly nothing to the blend: it is not run
        return self._mix({name: part.predict_proba(texts)
                          for (name, part), w in zip(self.components_.items(), self.weights_,
                                                     strict=True) if w > 0})

    def proba_of_tokens(self, token_lists: Sequence[Sequence[str]]) -> np.ndarray:
        """The blend's probabilities for texts already preprocessed by ``pipeline_`` (both
        parts share it)."""
        self._check_fitted()
        if self.linear_.pipeline_.to_spec() != self.pipeline_.to_spec():
            raise ConfigError("this ensemble's parts preprocess differently, so they cannot "
                              "be given one token list; use predict_proba on texts")
        return self._mix({name: part.proba_of_tokens(token_lists)
                          for (name, part), w in zip(self.components_.items(), self.weights_,
                                                     strict=True) if w > 0})

    def _mix(self, probas: dict[str, np.ndarray]) -> np.ndarray:
        """The blend of the parts' probabilities (a part with weight 0 may be absent)."""
        used = [(probas[name], t, w) for name, t, w in
                zip(PARTS, self.temperatures_, self.weights_, strict=True) if w > 0]
        return blend([p for p, _, _ in used], [t for _, t, _ in used],
                     [w for _, _, w in used]).astype(np.float32)

    def evaluate_parts(self, X: Sequence[str], y: Sequence[Any]
                       ) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        """The ensemble's metrics (as :meth:`evaluate`) and each part's, from one
        prediction pass per part."""
        self._check_fitted()
        texts = as_texts(X)
        targets = self.label_indices(y, "evaluation")
        probas = {name: part.predict_proba(texts) for name, part in self.components_.items()}
        scored = {name: classification_metrics(targets, p.argmax(1), self.labels_)
                  for name, p in probas.items()}
        mixed = self._mix(probas) if texts else np.zeros((0, len(self.classes_)))
        return classification_metrics(targets, mixed.argmax(1), self.labels_), scored

    # ---- saving ------------------------------------------------------------------------

    def to_bundle(self, metrics: dict[str, Any] | None = None
                  ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """One bundle holding both parts (tensors under ``recurrent.``/``linear.``)."""
        tensors: dict[str, torch.Tensor] = {}
        parts: dict[str, Any] = {"recurrent": []}
        for index, member in enumerate(self.recurrent_.members_):
            member_tensors, meta = member.to_bundle()
            parts["recurrent"].append(meta)
            tensors |= prefixed(member_tensors, f"recurrent.{index}")
        linear_tensors, parts["linear"] = self.linear_.to_bundle()
        tensors |= prefixed(linear_tensors, "linear")
        meta = self.bundle_meta(metrics, params=self.get_params(), parts=parts,
                                weights=self.weights_, temperatures=self.temperatures_,
                                recurrent_validation=self.recurrent_.validation_)
        return tensors, meta

    @classmethod
    def restore(cls, tensors: dict[str, torch.Tensor], meta: dict[str, Any]
                ) -> EnsembleClassifier:
        clf = cls(**meta["params"])
        parts = meta["parts"]
        members = [TextClassifier.restore(unprefixed(tensors, f"recurrent.{i}"), member)
                   for i, member in enumerate(parts["recurrent"])]
        if not members:
            raise ValueError("an ensemble bundle holds at least one recurrent model")
        clf.recurrent_ = MemberAverage(members, dict(meta["recurrent_validation"]))
        clf.linear_ = LinearTextClassifier.restore(unprefixed(tensors, "linear"),
                                                   parts["linear"])
        clf.weights_ = [float(w) for w in meta["weights"]]
        clf.temperatures_ = [float(t) for t in meta["temperatures"]]
        clf.classes_ = bundle_labels(meta)
        if len(clf.weights_) != 2 or len(clf.temperatures_) != 2:
            raise ValueError("an ensemble bundle holds two weights and two temperatures")
        if clf.recurrent_.labels_ != clf.labels_ or clf.linear_.labels_ != clf.labels_:
            raise ValueError("the parts' labels differ from the ensemble's")
        clf.n_parameters_ = clf.recurrent_.n_parameters_ + clf.linear_.n_parameters_
        return clf
