"""The baselines: TF-IDF/bag-of-words linear models through the same estimator contract,
run folder and commands as the recurrent models, saved and loaded without pickle."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from typer.testing import CliRunner

from seqlab.cli.main import app
from seqlab.errors import BundleError, DataError
from seqlab.tasks.classify.baselines.linear import LinearTextClassifier
from seqlab.tasks.classify.config import RunConfig
from seqlab.tasks.classify.estimators import BUNDLES, ESTIMATORS, classifier_for, load_classifier

from conftest import SAMPLE

FAST = dict(grid=[0.3, 3.0])


def no_unpickling(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a model load tried to unpickle")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)


@pytest.mark.parametrize("kind, classifier, features", [
    ("tfidf", "nblogreg", "word+char"),
    ("tfidf", "logreg", "word"),
    ("tfidf", "svm", "word"),
    ("bow", "nb", "char"),
])
def test_linear_baselines_learn_and_load_without_pickle(tmp_path, monkeypatch, sample, kind,
                                                        classifier, features):
    clf = LinearTextClassifier(kind=kind, classifier=classifier, features=features, min_df=1,
                               **FAST)
    clf.fit(sample.texts, sample.labels)
    # on its own training data it beats answering the most frequent label
    majority = max(sample.labels.count(label) for label in set(sample.labels)) / len(sample)
    assert clf.evaluate(sample.texts, sample.labels)["accuracy"] > majority
    proba = clf.predict_proba(sample.texts[:40])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    path = clf.save(tmp_path / "m.safetensors")
    no_unpickling(monkeypatch)
    back = load_classifier(path)
    assert isinstance(back, LinearTextClassifier)
    np.testing.assert_allclose(back.predict_proba(sample.texts[:40]), proba, rtol=1e-5,
                               atol=1e-6)
    assert list(back.predict(["i feel so happy"])) == list(clf.predict(["i feel so happy"]))


@pytest.mark.parametrize("classes", [6, 2])
def test_logistic_regression_probabilities_match_scikit_learn(sample, toy_texts, classes):
    from sklearn.linear_model import LogisticRegression

    texts, labels = (sample.texts, sample.labels) if classes == 6 else toy_texts
    labels = np.asarray(labels)
    clf = LinearTextClassifier(classifier="logreg", features="word", grid=[1.0], min_df=1).fit(
        texts[0::2], labels[0::2], texts[1::2], labels[1::2])
    reference = LogisticRegression(C=1.0, max_iter=2000, random_state=13)
    reference.fit(clf._transform(texts[0::2]), labels[0::2])
    assert len(clf.classes_) == classes
    np.testing.assert_allclose(clf.predict_proba(texts[1::2]),
                               reference.predict_proba(clf._transform(texts[1::2])),
                               rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("classes", [6, 2])
def test_nb_logistic_regression_is_scikit_learn_on_the_ratio_scaled_features(sample, toy_texts,
                                                                             classes):
    """Oracle: the ratios counted by brute force over dense rows, then one scikit-learn
    logistic regression per class (one for two classes) on the scaled features."""
    from scipy.special import softmax
    from sklearn.linear_model import LogisticRegression

    texts, labels = (sample.texts, sample.labels) if classes == 6 else toy_texts
    clf = LinearTextClassifier(features="word", grid=[2.0], min_df=1).fit(
        texts[0::2], labels[0::2], texts[1::2], labels[1::2])
    assert clf.classifier == "nblogreg"
    x = clf._transform(texts[0::2]).toarray()
    y = np.asarray(clf.label_indices(labels[0::2], "train"))
    held_out = clf._transform(texts[1::2]).toarray()
    scores = []
    for label in range(classes) if classes > 2 else [1]:
        inside = x[y == label].sum(axis=0) + 1.0
        outside = x[y != label].sum(axis=0) + 1.0
        ratio = np.log(inside / inside.sum()) - np.log(outside / outside.sum())
        model = LogisticRegression(C=2.0, max_iter=2000, random_state=13)
        model.fit(x * ratio, (y == label).astype(int))
        scores.append(model.decision_function(held_out * ratio))
    if classes == 2:
        scores.insert(0, np.zeros_like(scores[0]))
    np.testing.assert_allclose(clf.predict_proba(texts[1::2]),
                               softmax(np.column_stack(scores), axis=1), rtol=1e-3, atol=1e-4)


def test_validation_picks_the_grid_value(sample):
    clf = LinearTextClassifier(features="word", grid=[0.001, 10.0], min_df=1)
    clf.fit(sample.texts, sample.labels)
    scores = [h["val_macro_f1"] for h in clf.history_]
    assert [h["value"] for h in clf.history_] == [0.001, 10.0]
    assert clf.best_epoch_ == int(np.argmax(scores)) + 1
    assert clf.fit_info_["chosen"]["value"] == clf.history_[clf.best_epoch_ - 1]["value"]


def test_a_damaged_linear_bundle_is_a_bundle_error(tmp_path, sample):
    from seqlab.artifacts import load_tensors, save_tensors

    path = LinearTextClassifier(features="word", **FAST).fit(
        sample.texts, sample.labels).save(tmp_path / "m.safetensors")
    tensors, meta = load_tensors(path, "seqlab.linear_classifier")
    tensors["weight"] = tensors["weight"][:, :5]
    meta.pop("format"), meta.pop("format_version")
    save_tensors(path, tensors, meta, "seqlab.linear_classifier")
    with pytest.raises(BundleError, match="damaged or incomplete"):
        load_classifier(path)


def test_one_class_and_no_features_are_clear_errors():
    with pytest.raises(DataError, match="single class"):
        LinearTextClassifier().fit(["a b", "c d", "e f"] * 4, ["x"] * 12)
    with pytest.raises(DataError, match="min_df"):
        LinearTextClassifier(features="word", min_df=50).fit(
            ["a b", "c d", "e f", "g h"] * 5, ["x", "y"] * 10)


def test_every_model_kind_has_an_estimator_and_every_bundle_a_loader():
    from seqlab.engine.task import get_task

    for kind in ESTIMATORS.names():  # the config accepts exactly the registered kinds
        assert RunConfig.model_validate({"model": {"kind": kind}}).model.kind == kind
    with pytest.raises(ValueError, match="ensemble"):
        RunConfig.model_validate({"model": {"kind": "forest"}})
    assert set(get_task("classify").bundle_kinds) == set(BUNDLES)
    assert "seqlab.text_classifier" in BUNDLES and "seqlab.linear_classifier" in BUNDLES
    config = RunConfig.model_validate({"model": {"kind": "bow", "linear": {"classifier": "nb"}}})
    clf = classifier_for(config)
    assert isinstance(clf, LinearTextClassifier)
    assert (clf.kind, clf.classifier) == ("bow", "nb")


def test_train_evaluate_predict_and_info_commands_with_a_baseline(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["train", str(SAMPLE), "--kind", "tfidf", "--output-dir",
                                 str(tmp_path), "--name", "lin", "--quiet"])
    assert result.exit_code == 0, result.output
    run = tmp_path / "lin"
    for name in ("model.safetensors", "metrics.json", "report.html", "history.csv",
                 "confusion_matrix.png"):
        assert (run / name).exists(), name
    report = (run / "report.md").read_text(encoding="utf-8")
    assert "TFIDF word+char n-grams + nblogreg" in report
    assert "macro_f1 chose grid value" in report
    result = runner.invoke(app, ["predict", str(run), "i am so happy today"])
    assert result.exit_code == 0, result.output
    assert "sadness" in result.output  # the probability table has a column per label
    result = runner.invoke(app, ["evaluate", str(run), str(SAMPLE), "--out",
                                 str(tmp_path / "ev")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "ev" / "metrics.json").exists()
    result = runner.invoke(app, ["info", str(run)])
    assert result.exit_code == 0 and "TFIDF" in result.output


def test_compare_puts_recurrent_and_baseline_kinds_in_one_leaderboard(tmp_path):
    import pandas as pd

    result = CliRunner().invoke(app, [
        "compare", "--data", str(SAMPLE), "--grid", "model.kind=averaged-mlp,tfidf,bow",
        "--seeds", "1", "--set", "training.max_epochs=2", "--set", "model.embedding_dim=8",
        "--set", "model.hidden_size=8", "--set", "training.threads=1",
        "--output-dir", str(tmp_path), "--name", "kinds"])
    assert result.exit_code == 0, result.output
    board = pd.read_csv(tmp_path / "kinds" / "leaderboard.csv")
    assert sorted(board["config"]) == ["kind-averaged-mlp", "kind-bow", "kind-tfidf"]
    assert (tmp_path / "kinds" / "best_model.safetensors").exists()


def test_a_baseline_is_served_like_a_recurrent_model(tmp_path, sample):
    from fastapi.testclient import TestClient

    from seqlab.serving.app import ServeSettings, app_for

    clf = LinearTextClassifier(kind="bow", classifier="nb", **FAST).fit(sample.texts,
                                                                       sample.labels)
    path = clf.save(tmp_path / "m.safetensors")
    client = TestClient(app_for(ServeSettings(model=str(path))))
    assert client.get("/model").json()["labels"] == clf.labels_
    answer = client.post("/predict", json={"texts": ["i feel so happy", "i am scared"]})
    assert answer.status_code == 200, answer.text
    predicted = [row["label"] for row in answer.json()["predictions"]]
    assert predicted == list(clf.predict(["i feel so happy", "i am scared"]))
