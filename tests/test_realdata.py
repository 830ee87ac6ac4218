"""Real data (../shared/data/emotion): a short run of the default model must clearly learn.

Skipped, with the reason printed, where the shared data is absent.
"""

import pytest

from seqlab.data import clean_labeled, read_labeled
from seqlab.tasks.classify.classifier import TextClassifier

from conftest import emotion_dir

pytestmark = pytest.mark.realdata


def test_emotion_files_read_as_documented():
    folder = emotion_dir()
    train = read_labeled(folder / "train.txt")
    assert len(train) == 16_000 and len(set(train.labels)) == 6
    _, summary = clean_labeled(train)
    assert summary.duplicates_dropped == 1 and summary.conflicting_texts == 30


def test_the_emotion_csv_layouts_read_like_the_text_file(tmp_path):
    """The same data as Kaggle-style `id,sentence,emotion` and HF-style integer labels."""
    import pandas as pd

    original = read_labeled(emotion_dir() / "val.txt")
    names = ["sadness", "joy", "love", "anger", "fear", "surprise"]
    kaggle = tmp_path / "emotions.csv"
    pd.DataFrame({"id": range(len(original)), "sentence": original.texts,
                  "emotion": original.labels}).to_csv(kaggle, index=False)
    integer = tmp_path / "hf.csv"
    pd.DataFrame({"text": original.texts,
                  "label": [names.index(label) for label in original.labels]}).to_csv(
        integer, index=False)
    for data in (read_labeled(kaggle), read_labeled(integer, label_names=names)):
        assert data.texts == original.texts and data.labels == original.labels


def test_short_run_of_the_default_model_is_far_above_baselines():
    folder = emotion_dir()
    train, val, test = (read_labeled(folder / f"{s}.txt") for s in ("train", "val", "test"))
    clf = TextClassifier(max_epochs=3)
    clf.fit(train.texts, train.labels, val.texts, val.labels)
    metrics = clf.evaluate(test.texts, test.labels)
    majority_accuracy = max(test.labels.count(c) for c in set(test.labels)) / len(test)
    # A majority-class model scores 0.35 accuracy / 0.09 macro-F1 here, and the
    # averaged-word2vec tutorial model 0.35-0.56 accuracy; three epochs of a sequence
    # model must be far beyond both.
    assert majority_accuracy < 0.36
    assert metrics["accuracy"] > 0.85, metrics["accuracy"]
    assert metrics["macro_f1"] > 0.78, metrics["macro_f1"]


def test_word2vec_on_the_emotion_tweets_puts_emotion_words_together():
    from seqlab.text.preprocess import Pipeline
    from seqlab.vectors.training import train_vectors

    train = read_labeled(emotion_dir() / "train.txt")
    tokens = Pipeline("default").process_many(train.texts)
    vectors = train_vectors(tokens, "word2vec", dim=100, window=5, min_count=2, epochs=10)
    near_happy = {word for word, _ in vectors.neighbors("happy", 10)}
    positive = {"excited", "thrilled", "glad", "cheerful", "joyful", "pleased", "delighted",
                "grateful", "thankful", "content", "blessed", "proud"}
    assert len(near_happy & positive) >= 3, near_happy
    assert not near_happy & {"angry", "furious", "scared", "terrified"}, near_happy
