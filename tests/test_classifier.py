"""One shared model test, run for every cell and pooling (Flair-style)."""

import numpy as np
import pytest
from sklearn.model_selection import cross_val_score

from seqlab.errors import BundleError, DataError
from seqlab.nn.catalog import CELLS, POOLINGS
from seqlab.tasks.classify.classifier import TextClassifier

from conftest import TINY


@pytest.mark.parametrize("cell", CELLS.names())
@pytest.mark.parametrize("pooling", POOLINGS.names())
def test_model_learns_saves_loads_and_predicts_edge_inputs(tmp_path, toy_texts, cell, pooling):
    texts, labels = toy_texts
    clf = TextClassifier(cell=cell, pooling=pooling, **(TINY | {"max_epochs": 8}))
    clf.fit(texts, labels, texts, labels)
    losses = [h["train_loss"] for h in clf.history_]
    assert losses[-1] < losses[0] * 0.7, losses
    assert clf.score(texts, labels) >= 0.9

    path = clf.save(tmp_path / "m.safetensors")
    loaded = TextClassifier.load(path)
    probe = [*texts[:5], "", "unseen words only", "great " * 5000]
    np.testing.assert_allclose(loaded.predict_proba(probe), clf.predict_proba(probe), atol=1e-6)
    assert list(loaded.predict(probe)) == list(clf.predict(probe))
    proba = loaded.predict_proba(probe)
    assert proba.shape == (len(probe), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)


def test_same_seed_same_model_other_seed_other_model(toy_texts):
    texts, labels = toy_texts
    a = TextClassifier(**TINY, random_state=5).fit(texts, labels)
    b = TextClassifier(**TINY, random_state=5).fit(texts, labels)
    c = TextClassifier(**TINY, random_state=6).fit(texts, labels)
    def without_time(history):
        return [{k: v for k, v in h.items() if k != "seconds"} for h in history]

    assert without_time(a.history_) == without_time(b.history_)
    np.testing.assert_array_equal(a.predict_proba(texts), b.predict_proba(texts))
    assert not np.array_equal(a.predict_proba(texts), c.predict_proba(texts))


def test_works_inside_cross_val_score(toy_texts):
    texts, labels = toy_texts
    scores = cross_val_score(TextClassifier(**TINY), np.array(texts), np.array(labels), cv=3)
    assert len(scores) == 3 and all(0.0 <= s <= 1.0 for s in scores)


def test_numpy_inputs_and_validation_arrays(toy_texts):
    texts, labels = (np.array(v) for v in toy_texts)
    clf = TextClassifier(**TINY).fit(texts, labels, texts[:6], labels[:6])
    assert clf.predict(texts[:3]).shape == (3,)
    with pytest.raises(DataError, match="without y_val"):
        TextClassifier(**TINY).fit(texts, labels, texts[:6])


def test_integer_labels_come_back_as_integers(toy_texts):
    texts, labels = toy_texts
    y = np.array([1 if label == "pos" else 0 for label in labels])
    clf = TextClassifier(**TINY).fit(texts, y)
    assert clf.predict(texts[:2]).dtype.kind == "i"


def test_class_weights_and_time_budget_options(toy_texts):
    texts, labels = toy_texts
    clf = TextClassifier(**(TINY | {"class_weights": "balanced"})).fit(texts, labels)
    assert clf.fit_info_["epochs"] == TINY["max_epochs"]
    budget = TextClassifier(**(TINY | {"max_epochs": 1000, "max_minutes": 1e-4}))
    budget.fit(texts, labels)
    assert budget.stopped_ == "time_budget" and len(budget.history_) < 1000


def test_bad_inputs(tmp_path, toy_texts):
    texts, labels = toy_texts
    with pytest.raises(DataError, match="single class"):
        TextClassifier(**TINY).fit(texts, ["pos"] * len(texts), texts[:2], ["pos", "pos"])
    with pytest.raises(DataError, match="labels the model does not know: meh"):
        TextClassifier(**TINY).fit(texts, labels, texts[:1], ["meh"])
    with pytest.raises(DataError, match="single string"):
        TextClassifier(**TINY).fit("one text", ["pos"])
    clf = TextClassifier(**TINY).fit(texts, labels)
    with pytest.raises(DataError, match=r"does not know: \?\?\?"):
        clf.evaluate(texts[:1], ["???"])
    with pytest.raises(BundleError):
        TextClassifier.load(tmp_path / "missing.safetensors")
