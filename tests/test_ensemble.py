"""The default model: the recurrent classifier and the TF-IDF baseline blended on
validation. The blend's arithmetic is checked against values worked out by hand; the
fitted model only for what always holds (weights sum to one, the blend equals its parts,
save → load is exact)."""

import numpy as np
import pytest

from seqlab.errors import BundleError
from seqlab.evaluation.metrics import log_loss
from seqlab.tasks.classify.auto import auto_members
from seqlab.tasks.classify.baselines.linear import LinearTextClassifier
from seqlab.tasks.classify.classifier import TextClassifier
from seqlab.tasks.classify.ensemble import (
    EnsembleClassifier,
    blend,
    choose_weight,
    fit_temperature,
    tempered,
)
from seqlab.tasks.classify.estimators import load_classifier

TINY_RECURRENT = {"embedding_dim": 8, "hidden_size": 8, "max_epochs": 2, "batch_size": 32,
                  "threads": 1}
TINY_LINEAR = {"min_df": 1, "grid": [1.0]}


def test_tempered_is_softmax_of_scaled_log_probabilities():
    proba = np.array([[0.7, 0.2, 0.1]])
    by_hand = proba ** 0.5 / (proba ** 0.5).sum()  # T = 2: p^(1/2), renormalised
    assert np.allclose(tempered(proba, 2.0), by_hand)
    assert np.allclose(tempered(proba, 1.0), proba)


def test_fit_temperature_undoes_overconfidence():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(20_000, 4))
    true = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    targets = np.array([rng.choice(4, p=p) for p in true])
    overconfident = tempered(true, 0.5)  # the truth sharpened: T = 2 undoes it
    assert fit_temperature(overconfident, targets) == pytest.approx(2.0, rel=0.1)


def test_blend_rows_sum_to_one_and_the_weight_goes_to_the_better_part():
    targets = np.array([0, 1, 2, 0])
    perfect = np.eye(3)[targets] * 0.98 + 0.01 / 1.5
    uniform = np.full((4, 3), 1 / 3)
    mixed = blend([perfect, uniform], [1.0, 1.0], [0.3, 0.7])
    assert np.allclose(mixed.sum(1), 1.0)
    assert choose_weight([perfect, uniform], [1.0, 1.0], targets)[0] == 1.0
    assert choose_weight([uniform, perfect], [1.0, 1.0], targets)[0] == 0.0
    weight, records = choose_weight([perfect, uniform], [1.0, 1.0], targets)
    by_hand = min(records, key=lambda r: r["val_loss"])["weight"]
    assert weight == by_hand and len(records) == 21
    assert log_loss(perfect, targets) < log_loss(uniform, targets)


def test_ties_go_to_the_baseline():
    targets = np.array([0, 1])
    same = np.array([[0.6, 0.4], [0.4, 0.6]])
    assert choose_weight([same, same], [1.0, 1.0], targets)[0] == 0.0


@pytest.fixture(scope="module")
def sample_data(sample):
    return sample.texts, sample.labels


@pytest.fixture(scope="module")
def fitted(sample_data):
    texts, labels = sample_data
    return EnsembleClassifier(TINY_RECURRENT, TINY_LINEAR, members=2).fit(texts, labels)


def test_the_ensemble_is_its_parts_blended(fitted, sample_data):
    texts = sample_data[0][:20]
    parts = fitted.components_
    assert isinstance(parts["linear"], LinearTextClassifier)
    members = parts["recurrent"].members_
    assert [type(m) for m in members] == [TextClassifier, TextClassifier]
    assert [m.random_state for m in members] == [13, 14]  # seed, seed + 1
    assert sum(fitted.weights_) == pytest.approx(1.0)
    mean = (members[0].predict_proba(texts) + members[1].predict_proba(texts)) / 2
    assert np.allclose(parts["recurrent"].predict_proba(texts), mean, atol=1e-6)
    by_hand = blend([mean, parts["linear"].predict_proba(texts)],
                    fitted.temperatures_, fitted.weights_)
    assert np.allclose(fitted.predict_proba(texts), by_hand, atol=1e-6)
    info = fitted.fit_info_["ensemble"]
    assert set(info["validation"]) == {"recurrent", "linear", "ensemble"}
    assert fitted.predict([]).shape == (0,)


def test_save_load_is_exact_and_one_file(fitted, sample_data, tmp_path):
    texts = [*sample_data[0][:30], "", "x " * 5000]
    path = fitted.save(tmp_path / "m.safetensors", metrics={"test": {"accuracy": 0.5}})
    back = load_classifier(path)
    assert isinstance(back, EnsembleClassifier)
    assert np.array_equal(back.predict_proba(texts), fitted.predict_proba(texts))
    assert back.metrics_ == {"test": {"accuracy": 0.5}}
    assert "ensemble" in back.describe() and back.labels_ == fitted.labels_


def test_a_damaged_ensemble_bundle_is_one_clear_error(fitted, tmp_path):
    from seqlab.artifacts import load_tensors, save_tensors

    path = fitted.save(tmp_path / "m.safetensors")
    tensors, meta = load_tensors(path, "seqlab.ensemble_classifier")
    del meta["parts"]["linear"]
    meta.pop("format"), meta.pop("format_version")
    save_tensors(tmp_path / "bad.safetensors", tensors, meta, "seqlab.ensemble_classifier")
    with pytest.raises(BundleError, match="damaged or incomplete"):
        load_classifier(tmp_path / "bad.safetensors")


def test_unfitted_ensemble_refuses_to_predict():
    from seqlab.errors import NotFittedError

    with pytest.raises(NotFittedError):
        EnsembleClassifier().predict(["hello"])


def test_auto_members_follow_the_corpus_size(sample):
    clf = EnsembleClassifier(TINY_RECURRENT | {"max_epochs": 1}, TINY_LINEAR)
    clf.fit(sample.texts, sample.labels)
    assert len(clf.components_["recurrent"].members_) == 5  # a small corpus
    assert clf.fit_info_["resolved"]["model.members"]["value"] == 5


@pytest.mark.parametrize(("words", "members"), [(0, 5), (499_999, 5), (500_000, 3),
                                                (999_999, 3), (1_000_000, 1)])
def test_fewer_members_as_the_corpus_grows(words, members):
    count, why = auto_members(words)
    assert count == members and f"{words:,} training words" in why


def test_a_part_with_no_weight_is_not_run(fitted, sample_data, monkeypatch):
    texts = sample_data[0][:10]
    expected = blend([fitted.recurrent_.predict_proba(texts)], [fitted.temperatures_[0]], [1.0])
    monkeypatch.setattr(fitted, "weights_", [1.0, 0.0])
    monkeypatch.setattr(fitted.linear_, "predict_proba", lambda _: 1 / 0)  # must not be called
    assert np.allclose(fitted.predict_proba(texts), expected, atol=1e-6)


def test_evaluate_parts_equals_evaluating_each_alone(fitted, sample_data):
    texts, labels = sample_data[0][:40], sample_data[1][:40]
    whole, parts = fitted.evaluate_parts(texts, labels)
    assert whole == fitted.evaluate(texts, labels)
    for name, part in fitted.components_.items():
        assert parts[name] == part.evaluate(texts, labels)


# ---- refit: the parts trained again on training + validation ---------------------------


@pytest.fixture(scope="module")
def split_sample(sample_data):
    texts, labels = list(sample_data[0]), list(sample_data[1])
    train = [i for i in range(len(texts)) if i % 5]
    val = [i for i in range(len(texts)) if not i % 5]
    return ([texts[i] for i in train], [labels[i] for i in train],
            [texts[i] for i in val], [labels[i] for i in val])


def test_a_refitted_member_trains_its_chosen_epochs_on_every_text(split_sample):
    texts, labels, val_texts, val_labels = split_sample
    member = TextClassifier(**TINY_RECURRENT | {"max_epochs": 3, "min_freq": 1})
    member.fit(texts, labels, val_texts, val_labels)
    unseen = {w for t in val_texts for w in t.lower().split()} - \
        {w for t in texts for w in t.lower().split()}
    again = member.refitted(texts + val_texts, labels + val_labels)
    refit = again.fit_info_["refit"]
    assert refit["epochs"] == member.best_epoch_  # exactly the chosen count
    assert refit["texts"] == len(texts) + len(val_texts)
    assert again.history_ == member.history_  # how the epochs were chosen
    assert again.max_length_ == member.max_length_ and again.min_freq_ == member.min_freq_
    # the validation texts' own words are now in the vocabulary, and only there
    known = set(again.vocab_.itos) - set(member.vocab_.itos)
    assert known and known <= unseen
    assert again.labels_ == member.labels_


def test_epochs_and_validation_data_are_not_given_together(split_sample):
    texts, labels, val_texts, val_labels = split_sample
    from seqlab.errors import ConfigError

    with pytest.raises(ConfigError, match="epochs"):
        TextClassifier(**TINY_RECURRENT).fit(texts, labels, val_texts, val_labels, epochs=1)


def test_a_refitted_linear_part_is_its_chosen_c_fitted_on_every_text(split_sample):
    texts, labels, val_texts, val_labels = split_sample
    linear = LinearTextClassifier(min_df=1, grid=[0.3, 3.0, 30.0])
    linear.fit(texts, labels, val_texts, val_labels)
    chosen = linear.fit_info_["chosen"]["value"]
    again = linear.refitted(texts + val_texts, labels + val_labels)
    # the oracle: a one-value grid fitted on every text (the validation data it is given
    # plays no part in a grid of one)
    direct = LinearTextClassifier(min_df=1, grid=[chosen]).fit(
        texts + val_texts, labels + val_labels, val_texts, val_labels)
    assert np.allclose(again.weight_, direct.weight_) and np.allclose(again.bias_,
                                                                       direct.bias_)
    assert again.history_ == linear.history_
    assert again.fit_info_["refit"]["texts"] == len(texts) + len(val_texts)


def test_a_refitted_ensemble_is_its_parts_trained_again(split_sample, tmp_path):
    texts, labels, val_texts, val_labels = split_sample
    validated = EnsembleClassifier(TINY_RECURRENT, TINY_LINEAR, members=2).fit(
        texts, labels, val_texts, val_labels)
    validated.weights_ = [0.6, 0.4]  # both parts in use, whatever the tiny fit chose
    every_text, every_label = texts + val_texts, labels + val_labels
    refit = validated.refitted(every_text, every_label)
    probe = val_texts[:20]
    # the oracle: each part trained again alone, blended with the validated settings
    members = [m.refitted(every_text, every_label) for m in validated.recurrent_.members_]
    linear = validated.linear_.refitted(every_text, every_label)
    mean = np.mean([m.predict_proba(probe) for m in members], axis=0)
    by_hand = blend([mean, linear.predict_proba(probe)], validated.temperatures_,
                    validated.weights_)
    assert np.allclose(refit.predict_proba(probe), by_hand, atol=1e-6)
    # what validation chose is kept: weights, temperatures, the validation scores
    assert refit.weights_ == validated.weights_
    assert refit.temperatures_ == validated.temperatures_
    assert refit.best_validation() == validated.best_validation()
    assert refit.fit_info_["refit"]["texts"] == len(every_text)
    assert "refit" not in validated.fit_info_
    back = load_classifier(refit.save(tmp_path / "refit.safetensors"))
    assert np.array_equal(back.predict_proba(probe), refit.predict_proba(probe))


def test_a_part_with_no_weight_is_not_trained_again(fitted, sample_data, monkeypatch):
    texts, labels = sample_data
    monkeypatch.setattr(fitted, "weights_", [0.0, 1.0])
    again = fitted.refitted(texts[:60], labels[:60])
    assert again.recurrent_ is fitted.recurrent_
    assert again.linear_ is not fitted.linear_
    assert again.linear_.fit_info_["refit"]["texts"] == 60
