"""``tfidf`` and ``bow`` baselines: word and character n-grams with a linear classifier.

The features come from the same preprocessing as the recurrent models (word n-grams of
the tokens, character n-grams within the tokens), weighted by TF-IDF (``tfidf``) or
counted (``bow``). The classifier is fitted once per value of ``grid`` (``C``, or
``alpha`` for naive Bayes) and validation keeps the best, as epochs are picked for the
recurrent models. The classifiers:

- ``nblogreg`` (the default): logistic regression on features scaled by their naive Bayes
  log-count ratios, one class against the rest (the idea of Wang & Manning's NBSVM, 2012,
  with logistic regression in place of the SVM). The ratio tells the model, before it
  sees a single weight, which n-grams lean to which class; on every set of the suite its
  validation score is at least plain logistic regression's (BENCHMARKS.md §20);
- ``logreg``: multinomial logistic regression on the features as they are;
- ``svm``: a linear SVM, one class against the rest;
- ``nb``: multinomial naive Bayes.

The bundle holds what was learned as arrays (the n-gram lists, IDF weights, the weight
matrix and bias) in safetensors with a JSON header, so loading never unpickles. Every
classifier predicts with ``softmax(X · Wᵀ + b)``: for logistic regression that is its
probability, for naive Bayes its posterior, for the SVM and the one-against-the-rest
``nblogreg`` a score (not calibrated; the ensemble calibrates it on validation). The
naive Bayes ratios fold into ``W``, so ``nblogreg`` saves and predicts as the others do.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import MultinomialNB
from sklearn.svm import LinearSVC

from seqlab.errors import ConfigError, DataError
from seqlab.evaluation.metrics import classification_metrics, log_loss
from seqlab.registry import Registry
from seqlab.tasks.classify.baselines.common import LabelledPredictions, as_texts, bundle_labels
from seqlab.tasks.classify.classifier import split_validation
from seqlab.tasks.classify.config import LinearConfig, RunConfig
from seqlab.tasks.classify.network import softmax
from seqlab.text.preprocess import Pipeline
from seqlab.training.trainer import LOWER_IS_BETTER, TrainCallbacks

BUNDLE_KIND = "seqlab.linear_classifier"
_LINEAR_KEYS = list(LinearConfig.model_fields)

# classifier name → factory(value, class_weight, seed) → an unfitted scikit-learn model
CLASSIFIERS: Registry[Callable[[float, str | None, int], Any]] = Registry("linear classifier")


@CLASSIFIERS.register("logreg")
def _logreg(c: float, class_weight: str | None, seed: int) -> Any:
    return LogisticRegression(C=c, max_iter=2000, class_weight=class_weight, random_state=seed)


class NBLogisticRegression:
    """Logistic regression, one class against the rest, on features multiplied by their
    naive Bayes log-count ratio ``r = log((p / |p|₁) / (q / |q|₁))``, where ``p`` and ``q``
    are the feature sums over the class's and the other classes' training rows plus
    ``alpha``. ``coef_`` holds ``r ⊙ w``, so that ``X · coef_ᵀ + intercept_`` is the
    score of the unscaled features; two classes give one row, for the second class."""

    def __init__(self, c: float, class_weight: str | None, seed: int, alpha: float = 1.0
                 ) -> None:
        self.c, self.class_weight, self.seed, self.alpha = c, class_weight, seed, alpha

    def fit(self, x: sp.csr_matrix, y: np.ndarray) -> NBLogisticRegression:
        classes = np.unique(y)
        coefs, intercepts = [], []
        for label in classes[1:] if len(classes) == 2 else classes:
            ratio = log_count_ratio(x, y == label, self.alpha)
            model = LogisticRegression(C=self.c, max_iter=2000, class_weight=self.class_weight,
                                       random_state=self.seed)
            model.fit(x @ sp.diags(ratio), (y == label).astype(int))
            coefs.append(model.coef_[0] * ratio)
            intercepts.append(model.intercept_[0])
        self.coef_, self.intercept_ = np.vstack(coefs), np.array(intercepts)
        return self


def log_count_ratio(x: sp.csr_matrix, in_class: np.ndarray, alpha: float) -> np.ndarray:
    """Per feature, ``log`` of its smoothed share of the feature mass in the rows of
    ``in_class`` over its share in the other rows: positive where it leans to the class."""
    inside = np.asarray(x[in_class].sum(axis=0)).ravel() + alpha
    outside = np.asarray(x[~in_class].sum(axis=0)).ravel() + alpha
    return np.log(inside / inside.sum()) - np.log(outside / outside.sum())


@CLASSIFIERS.register("nblogreg")
def _nb_logreg(c: float, class_weight: str | None, seed: int) -> Any:
    return NBLogisticRegression(c, class_weight, seed)


@CLASSIFIERS.register("svm")
def _svm(c: float, class_weight: str | None, seed: int) -> Any:
    return LinearSVC(C=c, class_weight=class_weight, random_state=seed)


@CLASSIFIERS.register("nb")
def _naive_bayes(alpha: float, class_weight: str | None, seed: int) -> Any:
    return MultinomialNB(alpha=alpha)


def _weights(model: Any) -> tuple[np.ndarray, np.ndarray]:
    """``W [k, F]`` and ``b [k]`` such that ``softmax(X · Wᵀ + b)`` is the prediction."""
    if isinstance(model, MultinomialNB):
        return model.feature_log_prob_, model.class_log_prior_
    coef, intercept = model.coef_, np.atleast_1d(model.intercept_)
    if coef.shape[0] == 1:  # two classes: one score s, i.e. softmax([0, s]) = sigmoid(s)
        coef = np.vstack([np.zeros_like(coef), coef])
        intercept = np.array([0.0, intercept[0]])
    return coef, intercept


def _log_loss(x: Any, targets: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> float:
    return log_loss(softmax(np.asarray(x @ weight.T) + bias), targets)


@dataclass
class GridResult:
    """The weights of the best grid value, its 1-based index and one record per value."""

    weight: np.ndarray
    bias: np.ndarray
    best: int
    history: list[dict[str, float]]


def fit_grid(train_x: Any, targets: np.ndarray, val_x: Any, val_targets: np.ndarray,
             classifier: str, grid: Sequence[float], class_weights: str, seed: int,
             monitor: str, labels: list[str], callbacks: TrainCallbacks | None = None
             ) -> GridResult:
    """Fit ``classifier`` once per grid value on features ``train_x``; keep the value with
    the best validation ``monitor``. Each value is reported to ``callbacks`` as an epoch."""
    make = CLASSIFIERS.get(classifier)
    class_weight = "balanced" if class_weights == "balanced" else None
    lower_better = monitor in LOWER_IS_BETTER
    result: GridResult | None = None
    best_score = 0.0
    history: list[dict[str, float]] = []
    if callbacks is not None:
        callbacks.on_train_start(len(grid), 1, 1)
    for trial, value in enumerate(grid, start=1):
        weight, bias = _weights(make(value, class_weight, seed).fit(train_x, targets))
        m = classification_metrics(val_targets, (np.asarray(val_x @ weight.T) + bias).argmax(1),
                                   labels)
        record = {"epoch": trial, "value": float(value),
                  "train_loss": _log_loss(train_x, targets, weight, bias),
                  "val_loss": _log_loss(val_x, val_targets, weight, bias),
                  "val_accuracy": m["accuracy"], "val_macro_f1": m["macro_f1"],
                  "val_weighted_f1": m["weighted_f1"]}
        history.append(record)
        if callbacks is not None:
            callbacks.on_batch_end(trial, 0, record["train_loss"])
            callbacks.on_epoch_end(record)
        score = record[f"val_{monitor}"]
        if result is None or (score < best_score if lower_better else score > best_score):
            best_score = score
            result = GridResult(weight.astype(np.float32), bias.astype(np.float32), trial, [])
    assert result is not None
    result.history = history
    return result


class LinearTextClassifier(LabelledPredictions, ClassifierMixin, BaseEstimator):
    """TF-IDF (``kind="tfidf"``) or count (``"bow"``) n-grams with a linear classifier."""

    bundle_kind = BUNDLE_KIND

    round_name = "grid value"  # one row of ``history_`` per value of ``grid``
    fitted_attribute = "weight_"

    def __init__(
        self,
        kind: str = "tfidf",
        classifier: str = "nblogreg",
        features: str = "word+char",
        word_ngrams: int = 2,
        char_ngrams: tuple[int, int] = (2, 5),
        max_features: int = 200_000,
        min_df: int = 2,
        grid: Sequence[float] = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0),
        preprocessing: str | list[Any] = "default",
        monitor: str = "macro_f1",
        class_weights: str = "none",
        validation_fraction: float = 0.1,
        random_state: int = 13,
    ) -> None:
        self.kind = kind
        self.classifier = classifier
        self.features = features
        self.word_ngrams = word_ngrams
        self.char_ngrams = char_ngrams
        self.max_features = max_features
        self.min_df = min_df
        self.grid = grid
        self.preprocessing = preprocessing
        self.monitor = monitor
        self.class_weights = class_weights
        self.validation_fraction = validation_fraction
        self.random_state = random_state

    @classmethod
    def from_config(cls, config: RunConfig) -> LinearTextClassifier:
        """The baseline a run config describes (``model.kind`` and ``model.linear``)."""
        linear = config.model.linear.model_dump()
        return cls(kind=config.model.kind, **linear, preprocessing=config.preprocessing,
                   monitor=config.training.monitor,
                   class_weights=config.training.class_weights,
                   validation_fraction=config.data.val_fraction, random_state=config.seed)

    def _settings(self) -> LinearConfig:
        if self.kind not in ("tfidf", "bow"):
            raise ConfigError(f"LinearTextClassifier: kind is tfidf or bow, got {self.kind!r}")
        params = self.get_params()
        try:
            return LinearConfig(**{k: params[k] for k in _LINEAR_KEYS})
        except ValueError as err:
            raise ConfigError(f"LinearTextClassifier: {err}") from None

    def describe(self) -> str:
        """One line for reports: what the model is."""
        return (f"{self.kind.upper()} {self.features} n-grams + {self.classifier}, "
                f"{getattr(self, 'n_parameters_', 0):,} weights")

    # ---- features ----------------------------------------------------------------------

    def _vectorizers(self, vocabularies: dict[str, list[str]] | None = None
                     ) -> dict[str, CountVectorizer]:
        make = TfidfVectorizer if self.kind == "tfidf" else CountVectorizer
        common: dict[str, Any] = {"lowercase": False, "dtype": np.float32}
        if self.kind == "tfidf":
            common["sublinear_tf"] = True
        if vocabularies is None:
            common |= {"min_df": self.min_df, "max_features": self.max_features}
        made: dict[str, CountVectorizer] = {}
        if self.features in ("word", "word+char"):
            made["word"] = make(tokenizer=str.split, token_pattern=None,
                                ngram_range=(1, self.word_ngrams), **common)
        if self.features in ("char", "word+char"):
            made["char"] = make(analyzer="char_wb", ngram_range=tuple(self.char_ngrams),
                                **common)
        if vocabularies is not None:
            for name, vectorizer in made.items():
                vectorizer.set_params(vocabulary=vocabularies[name])
        return made

    def _joined(self, texts: Sequence[str]) -> list[str]:
        return [" ".join(tokens) for tokens in self.pipeline_.process_many(texts)]

    def _transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        return self.features_of_tokens(self.pipeline_.process_many(texts))

    def features_of_tokens(self, token_lists: Sequence[Sequence[str]]) -> sp.csr_matrix:
        """The feature rows ``[n, F]`` of texts already preprocessed by ``pipeline_``."""
        docs = [" ".join(tokens) for tokens in token_lists]
        return sp.hstack([v.transform(docs) for v in self.vectorizers_.values()], format="csr")

    # ---- fitting -----------------------------------------------------------------------

    def fit(self, X: Sequence[str], y: Sequence[Any], X_val: Sequence[str] | None = None,
            y_val: Sequence[Any] | None = None, *, checkpoint_dir: str | Path | None = None,
            resume: bool = False, callbacks: TrainCallbacks | None = None
            ) -> LinearTextClassifier:
        """Fit once per grid value on ``X, y``; validation keeps the best.

        ``checkpoint_dir`` and ``resume`` are accepted for the common contract; a linear
        model fits in seconds, so there is nothing to resume.
        """
        settings = self._settings()
        began = time.perf_counter()
        texts, labels, val_texts, val_labels = split_validation(
            X, y, X_val, y_val, self.validation_fraction, self.random_state)
        targets = self.learn_labels(labels)
        val_targets = self.label_indices(val_labels, "validation")

        train_x = self._fit_features(texts, settings.min_df)
        val_x = self._transform(val_texts)
        grid = fit_grid(train_x, targets, val_x, val_targets, settings.classifier,
                        settings.grid, self.class_weights, self.random_state, self.monitor,
                        self.labels_, callbacks)
        self.history_, self.best_epoch_ = grid.history, grid.best
        self.weight_, self.bias_ = grid.weight, grid.bias
        self._fitted(len(texts), len(val_texts), settings.classifier,
                     time.perf_counter() - began)
        return self

    def refitted(self, X: Sequence[str], y: Sequence[Any], **_: Any) -> LinearTextClassifier:
        """A new model fitted on ``X, y`` (typically training + validation) with the grid
        value validation chose for this one; its history is this one's."""
        self._check_fitted()
        settings = self._settings()
        began = time.perf_counter()
        again = clone(self)
        texts = as_texts(X)
        targets = again.learn_labels(np.asarray(list(y)))
        train_x = again._fit_features(texts, settings.min_df)
        class_weight = "balanced" if self.class_weights == "balanced" else None
        model = CLASSIFIERS.get(settings.classifier)(self.fit_info_["chosen"]["value"],
                                                     class_weight, self.random_state)
        weight, bias = _weights(model.fit(train_x, targets))
        again.weight_, again.bias_ = weight.astype(np.float32), bias.astype(np.float32)
        again.history_, again.best_epoch_ = self.history_, self.best_epoch_
        seconds = time.perf_counter() - began
        again._fitted(len(texts), 0, settings.classifier, seconds)
        again.fit_info_ = self.fit_info_ | {
            "vocab_size": again.fit_info_["vocab_size"],
            "parameters": again.fit_info_["parameters"],
            "train_seconds": self.fit_info_["train_seconds"] + seconds,
            "refit": {"texts": len(texts), "seconds": seconds}}
        return again

    def _fit_features(self, texts: Sequence[str], min_df: int) -> sp.csr_matrix:
        """Fit the pipeline and vectorizers on ``texts``; their feature rows."""
        self.pipeline_ = Pipeline(self.preprocessing)
        docs = self._joined(texts)
        self.vectorizers_ = self._vectorizers()
        try:
            return sp.hstack([v.fit_transform(docs) for v in self.vectorizers_.values()],
                             format="csr")
        except ValueError as err:  # "empty vocabulary; perhaps the documents only…"
            raise DataError(f"no n-gram occurs in {min_df} training texts ({err}); "
                            "lower model.linear.min_df or check the text column") from None

    def _fitted(self, train_texts: int, val_texts: int, classifier: str,
                seconds: float) -> None:
        """Record the fit, once ``weight_``, ``bias_``, ``history_`` and ``best_epoch_``
        are set."""
        self.n_parameters_ = int(self.weight_.size + self.bias_.size)
        self.stopped_ = "grid"
        self.fit_info_ = {
            "train_texts": train_texts, "train_texts_empty_dropped": 0,
            "val_texts": val_texts,
            "vocab_size": sum(len(v.vocabulary_) for v in self.vectorizers_.values()),
            "parameters": self.n_parameters_, "epochs": len(self.history_),
            "best_epoch": self.best_epoch_, "stopped": self.stopped_,
            "chosen": {"classifier": classifier,
                       "value": self.history_[self.best_epoch_ - 1]["value"]},
            "train_seconds": seconds, "wall_seconds": seconds,
            "train_tokens_per_second": 0.0,
        }

    # ---- prediction --------------------------------------------------------------------

    def _proba(self, texts: list[str]) -> np.ndarray:
        """Class scores that sum to 1 (see the module docstring for what they mean)."""
        return self.proba_of_tokens(self.pipeline_.process_many(texts))

    def proba_of_tokens(self, token_lists: Sequence[Sequence[str]]) -> np.ndarray:
        """Class scores of texts already preprocessed by ``pipeline_``."""
        self._check_fitted()
        scores = np.asarray(self.features_of_tokens(token_lists) @ self.weight_.T) + self.bias_
        return softmax(scores.astype(np.float32))

    # ---- saving ------------------------------------------------------------------------

    def to_bundle(self, metrics: dict[str, Any] | None = None
                  ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """The arrays and JSON header of this model's bundle (see :meth:`save`)."""
        self._check_fitted()
        tensors = {"weight": torch.from_numpy(self.weight_),
                   "bias": torch.from_numpy(self.bias_)}
        vocabularies: dict[str, list[str]] = {}
        for name, vectorizer in self.vectorizers_.items():
            vocabularies[name] = vectorizer.get_feature_names_out().tolist()
            if isinstance(vectorizer, TfidfVectorizer):
                tensors[f"idf.{name}"] = torch.from_numpy(vectorizer.idf_.astype(np.float32))
        meta = self.bundle_meta(metrics, params=self.get_params(),
                                preprocessing=self.pipeline_.to_spec(),
                                vocabularies=vocabularies)
        return tensors, meta

    @classmethod
    def restore(cls, tensors: dict[str, torch.Tensor], meta: dict[str, Any]
                ) -> LinearTextClassifier:
        params = meta["params"] | {"char_ngrams": tuple(meta["params"]["char_ngrams"])}
        clf = cls(**params)
        clf.pipeline_ = Pipeline(meta["preprocessing"])
        clf.classes_ = bundle_labels(meta)
        clf.vectorizers_ = clf._vectorizers(meta["vocabularies"])
        for name, vectorizer in clf.vectorizers_.items():
            if isinstance(vectorizer, TfidfVectorizer):
                vectorizer.idf_ = tensors[f"idf.{name}"].numpy().astype(np.float64)
        clf.weight_ = tensors["weight"].numpy()
        clf.bias_ = tensors["bias"].numpy()
        width = sum(len(v) for v in meta["vocabularies"].values())
        if clf.weight_.shape != (len(clf.classes_), width):
            raise ValueError(f"weights of shape {tuple(clf.weight_.shape)} for "
                             f"{len(clf.classes_)} labels and {width} features")
        clf.n_parameters_ = int(clf.weight_.size + clf.bias_.size)
        clf.history_ = []
        return clf
