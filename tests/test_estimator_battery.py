"""One battery of checks run over every estimator seqlab trains (as scikit-learn's
``check_estimator`` and Flair's ``BaseModelTest`` do): a tiny fit lowers the loss, save →
load predicts the same, a damaged bundle and an unfitted model each give one clear error,
empty and very long inputs are answered, and a resumed run equals an uninterrupted one.

Each case says how to fit its estimator on tiny data and how to ask it something; the
checks are the same for all. Only facts that hold on any machine are asserted: the
round trips are exact, the loss check compares a run with itself."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from seqlab.config import apply_overrides
from seqlab.engine.estimator import Estimator
from seqlab.errors import BundleError, DataError, NotFittedError
from seqlab.tasks.classify.baselines.linear import LinearTextClassifier
from seqlab.tasks.classify.classifier import TextClassifier
from seqlab.tasks.classify.config import RunConfig
from seqlab.tasks.classify.ensemble import EnsembleClassifier
from seqlab.tasks.forecast.config import ForecastConfig
from seqlab.tasks.forecast.forecaster import Forecaster
from seqlab.tasks.forecast.series import Series
from seqlab.tasks.lm.config import LMConfig
from seqlab.tasks.lm.corpus import Corpus
from seqlab.tasks.lm.model import LanguageModel
from seqlab.tasks.multilabel.config import MultiLabelConfig
from seqlab.tasks.multilabel.ensemble import MultiLabelEnsemble
from seqlab.tasks.multilabel.model import MultiLabelClassifier, MultiLabelLinear
from seqlab.tasks.seq2seq.config import Seq2SeqConfig
from seqlab.tasks.seq2seq.model import Seq2Seq
from seqlab.tasks.seq2seq.pairs import Pairs
from seqlab.tasks.tag.config import TagConfig
from seqlab.tasks.tag.conll import Sentence
from seqlab.tasks.tag.tagger import Tagger

from conftest import StopAfter

GOOD = ["i love this", "what a great day", "so happy now", "great and lovely", "i am happy"]
BAD = ["i hate this", "what an awful day", "so sad now", "awful and horrid", "i am sad"]
TEXTS, LABELS = (GOOD + BAD) * 3, (["pos"] * 5 + ["neg"] * 5) * 3
LONG_TEXT = "great " * 40_000


@dataclass
class Case:
    """How to build, fit and query one estimator."""

    name: str
    make: Callable[[], Estimator]
    fit: Callable[..., Any]  # fit(estimator, **fit_options) on the tiny data
    ask: Callable[[Any], Any]  # a fixed question, answered as numbers or strings
    empty: Callable[[Any], Any]  # an empty question: an empty answer, or one DataError
    long: Callable[[Any], Any]  # the answer to a very long question
    epochs: bool = True  # trained by epochs (so it has a loss curve and resumes)


def classifier_case(name: str, make: Callable[[], Estimator], epochs: bool = True) -> Case:
    return Case(name, make,
                lambda est, **kw: est.fit(TEXTS, LABELS, TEXTS[:10], LABELS[:10], **kw),
                lambda est: est.predict_proba(["a great day", "an awful mess"]),
                lambda est: est.predict_proba([]),
                lambda est: est.predict_proba([LONG_TEXT]), epochs)


# texts with any number of labels: a name → PER, a city → LOC
SETS_TEXTS = ["anna went home", "to rome today", "anna saw rome", "a quiet day",
              "bob in paris", "bob stayed in", "paris with anna", "nothing new"] * 3
SETS = [["PER"], ["LOC"], ["LOC", "PER"], [], ["LOC", "PER"], ["PER"], ["LOC", "PER"], []] * 3


def multilabel_case(name: str, make: Callable[[], Estimator], epochs: bool = True) -> Case:
    return Case(name, make,
                lambda est, **kw: est.fit(SETS_TEXTS, SETS, SETS_TEXTS[:8], SETS[:8], **kw),
                lambda est: {"proba": est.predict_proba(["anna in rome", "a day"]),
                             "sets": [list(s) for s in est.predict(["anna in rome"])]},
                lambda est: est.predict_proba([]),
                lambda est: est.predict_proba([LONG_TEXT]), epochs)


def tagger_case(extra: dict[str, Any] | None = None) -> Case:
    words = ["Anna", "lives", "in", "Paris", "and", "Bob", "in", "Rome"]
    tags = ["B-PER", "O", "O", "B-LOC", "O", "B-PER", "O", "B-LOC"]
    sentences = [Sentence(words, tags)] * 12
    config = apply_overrides(TagConfig(), {
        "model.hidden_size": 16, "model.embedding_dim": 8, "model.chars": False,
        "training.max_epochs": 4, "training.patience": 10, "training.lr": 0.02,
        "training.threads": 1, "training.batch_size": 4, **(extra or {})})
    return Case("tagger", lambda: Tagger(config),
                lambda est, **kw: est.fit(sentences, sentences[:2], **kw),
                lambda est: est.predict([words]),
                lambda est: est.predict([]),
                lambda est: est.predict([words * 500]))


def lm_case(extra: dict[str, Any] | None = None) -> Case:
    tokens = list("abcdefgh " * 60)
    corpus = Corpus(tokens[:480], tokens[480:], [], "memory")
    config = apply_overrides(LMConfig(), {
        "model.hidden_size": 16, "model.embedding_dim": 8, "model.num_layers": 1,
        "model.dropout": 0.0, "training.max_epochs": 4, "training.patience": 10,
        "training.lr": 0.02, "training.threads": 1, "training.batch_size": 4, "bptt": 16,
        **(extra or {})})
    return Case("language model", lambda: LanguageModel(config),
                lambda est, **kw: est.fit(corpus, **kw),
                lambda est: est.score("abcdefgh abc"),
                lambda est: est.score(""),
                lambda est: est.score("abcdefgh " * 2_000))


def forecaster_case(extra: dict[str, Any] | None = None) -> Case:
    steps = np.arange(72)
    values = 20 + 0.5 * steps + 3 * np.sin(2 * np.pi * steps / 12)  # a trend to learn

    def series(points: np.ndarray) -> Series:
        return Series(pd.DataFrame({"y": points}), "y", None, 12, "memory")

    config = apply_overrides(ForecastConfig(), {
        "model.hidden_size": 8, "window.lookback": 12, "window.horizon": 3,
        "window.folds": 2, "training.max_epochs": 6, "training.patience": 10,
        "training.lr": 0.01, "refit": False, **(extra or {})})
    return Case("forecaster", lambda: Forecaster(config),
                lambda est, **kw: est.fit(series(values), **kw),
                lambda est: est.forecast(series(values))["forecast"],
                lambda est: est.forecast(series(values[:3])),
                lambda est: est.forecast(series(np.tile(values, 100)))["forecast"])


def seq2seq_case(extra: dict[str, Any] | None = None) -> Case:
    sources = ["a b c", "b c d", "c d a", "d a b", "a c", "b d"] * 6
    pairs = Pairs(sources, [" ".join(reversed(s.split())) for s in sources], "memory")
    config = apply_overrides(Seq2SeqConfig(), {
        "model.hidden_size": 16, "model.embedding_dim": 8, "model.dropout": 0.0,
        "training.max_epochs": 4, "training.patience": 10, "training.lr": 0.01,
        "training.threads": 1, "training.batch_size": 8, "decode.beam_width": 2,
        **(extra or {})})
    return Case("seq2seq", lambda: Seq2Seq(config),
                lambda est, **kw: est.fit(pairs, pairs, **kw),
                lambda est: [o.score for o in est.translate_n_best(["a b c"], n_best=2)[0]],
                lambda est: est.translate([]),
                lambda est: [o.score for o in est.translate_n_best(["a b " * 3_000])[0]])


CASES = [
    classifier_case("recurrent classifier", lambda: TextClassifier(
        embedding_dim=8, hidden_size=8, max_epochs=4, patience=10, lr=0.02, threads=1,
        batch_size=8, max_length=20, min_freq=1)),
    classifier_case("linear classifier", lambda: LinearTextClassifier(min_df=1),
                    epochs=False),
    classifier_case("ensemble", lambda: EnsembleClassifier.from_config(RunConfig.model_validate(
        {"model": {"members": 1, "embedding_dim": 8, "hidden_size": 8,
                   "linear": {"min_df": 1}},
         "training": {"max_epochs": 3, "threads": 1, "batch_size": 8},
         "vocab": {"max_length": 20, "min_freq": 1}})), epochs=False),
    multilabel_case("multi-label recurrent", lambda: MultiLabelClassifier(
        embedding_dim=8, hidden_size=8, max_epochs=4, patience=10, lr=0.02, threads=1,
        batch_size=8, max_length=20, min_freq=1)),
    multilabel_case("multi-label linear", lambda: MultiLabelLinear(min_df=1), epochs=False),
    multilabel_case("multi-label ensemble", lambda: MultiLabelEnsemble.from_config(
        MultiLabelConfig.model_validate(
            {"model": {"members": 1, "embedding_dim": 8, "hidden_size": 8,
                       "linear": {"min_df": 1}},
             "training": {"max_epochs": 3, "threads": 1, "batch_size": 8},
             "vocab": {"max_length": 20, "min_freq": 1}})), epochs=False),
    tagger_case(), lm_case(), forecaster_case(), seq2seq_case(),
]


@pytest.fixture(scope="module", params=CASES, ids=[case.name for case in CASES])
def fitted(request: pytest.FixtureRequest) -> tuple[Case, Estimator]:
    case = request.param
    estimator = case.make()
    case.fit(estimator)
    return case, estimator


def same(a: Any, b: Any, tolerance: float = 0.0) -> bool:
    """Equal answers: the same strings, numbers within ``tolerance`` (relative)."""
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k], tolerance) for k in a)
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype.kind in "fc":
        return a.shape == b.shape and np.allclose(a, b, rtol=tolerance, atol=tolerance)
    return np.array_equal(a, b)


def test_a_tiny_fit_lowers_the_training_loss(fitted):
    case, estimator = fitted
    if not case.epochs:
        pytest.skip(f"the {case.name} is not trained by epochs")
    losses = [record["train_loss"] for record in estimator.history_]
    assert min(losses[1:]) < losses[0]


def test_save_then_load_predicts_the_same(fitted, tmp_path):
    case, estimator = fitted
    loaded = type(estimator).load(estimator.save(tmp_path / "model.safetensors"))
    assert same(case.ask(loaded), case.ask(estimator))


def test_a_damaged_bundle_and_an_unfitted_model_each_give_one_clear_error(fitted, tmp_path):
    case, estimator = fitted
    path = estimator.save(tmp_path / "model.safetensors")
    damaged = tmp_path / "damaged.safetensors"
    damaged.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.raises(BundleError, match="damaged"):
        type(estimator).load(damaged)
    with pytest.raises(NotFittedError, match="not fitted yet"):
        case.ask(case.make())


def test_empty_and_very_long_inputs_are_answered(fitted):
    case, estimator = fitted
    try:
        empty = case.empty(estimator)
    except DataError as err:  # nothing to score or forecast from: said in one message
        assert len(str(err).splitlines()) == 1
    else:
        assert len(empty) == 0
    long = case.long(estimator)
    values = np.asarray(list(long.values()) if isinstance(long, dict) else long,
                        dtype=object if isinstance(long, list) else float)
    assert len(values) > 0
    if values.dtype == float:
        assert np.isfinite(values).all()


def test_a_resumed_fit_equals_an_uninterrupted_one(fitted, tmp_path: Path):
    case, _ = fitted
    if not case.epochs:
        pytest.skip(f"the {case.name} has no epochs to resume")
    assert_resumes_to_the_same_model(case, tmp_path)


@pytest.mark.parametrize("make_case", [lm_case, forecaster_case, seq2seq_case],
                         ids=["language model", "forecaster", "seq2seq"])
def test_every_task_averages_its_best_epochs_and_resumes_to_the_same_model(make_case,
                                                                          tmp_path: Path):
    # the tagger averages by default, so the battery's resume check covers it
    case = make_case({"training.average_epochs": 2})
    estimator = case.make()
    case.fit(estimator)
    epochs = [h["epoch"] for h in estimator.history_]
    assert set(estimator.fit_info_.get("averaged", [])) <= set(epochs)
    loaded = type(estimator).load(estimator.save(tmp_path / "model.safetensors"))
    assert same(case.ask(loaded), case.ask(estimator))
    assert_resumes_to_the_same_model(case, tmp_path)


def assert_resumes_to_the_same_model(case: Case, tmp_path: Path) -> None:
    """Fit straight, and fit again interrupted in epoch 3 and resumed: the same epochs and
    the same answers."""
    straight = case.make()
    case.fit(straight, checkpoint_dir=tmp_path / "straight")
    interrupted = case.make()
    with pytest.raises(KeyboardInterrupt):
        case.fit(interrupted, checkpoint_dir=tmp_path / "cut", callbacks=StopAfter(3))
    resumed = case.make()
    case.fit(resumed, checkpoint_dir=tmp_path / "cut", resume=True)
    assert [h["epoch"] for h in resumed.history_] == [h["epoch"] for h in straight.history_]
    # the same epochs from the same state; kernels may round differently once resumed
    assert same(case.ask(resumed), case.ask(straight), tolerance=1e-4)


@pytest.mark.parametrize("make_case", [tagger_case, lm_case, forecaster_case, seq2seq_case],
                         ids=["tagger", "language model", "forecaster", "seq2seq"])
def test_every_task_trains_in_bfloat16_and_keeps_float32_weights(make_case):
    import torch

    extra = {"training.precision": "bfloat16", "training.max_epochs": 2}
    if make_case is tagger_case:
        extra["model.chars"] = True  # the character encoder writes into a float32 buffer
    case = make_case(extra)
    estimator = case.make()
    case.fit(estimator)
    assert all(np.isfinite(record["train_loss"]) for record in estimator.history_)
    assert all(t.dtype == torch.float32 for t in estimator.module_.state_dict().values()
               if t.is_floating_point())
    assert case.ask(estimator) is not None
