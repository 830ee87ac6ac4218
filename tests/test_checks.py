from collections import Counter

import pytest

from seqlab.data.checks import clean_labeled
from seqlab.data.readers import LabeledData
from seqlab.data.split import stratified_split
from seqlab.errors import DataError


def test_exact_duplicates_dropped_and_conflicts_reported():
    data = LabeledData(["a", "a", "b", "b", "c"], ["x", "x", "x", "y", "y"], "mem")
    cleaned, summary = clean_labeled(data)
    assert cleaned.texts == ["a", "b", "b", "c"]
    assert summary.duplicates_dropped == 1
    assert summary.conflicting_texts == 1
    assert summary.conflict_examples == [("b", ["x", "y"])]
    assert summary.class_counts == {"x": 2, "y": 2}


def test_single_class_is_an_error():
    with pytest.raises(DataError, match=r"at least\s+two classes"):
        clean_labeled(LabeledData(["a", "b"], ["x", "x"], "mem.csv"))


def test_stratified_split_keeps_proportions_and_is_reproducible():
    labels = ["a"] * 80 + ["b"] * 20
    train, val, test = stratified_split(labels, 0.1, 0.2, seed=3)
    assert sorted(train + val + test) == list(range(100))
    assert Counter(labels[i] for i in test) == {"a": 16, "b": 4}
    assert Counter(labels[i] for i in val) == {"a": 8, "b": 2}
    assert (train, val, test) == stratified_split(labels, 0.1, 0.2, seed=3)
    assert test != stratified_split(labels, 0.1, 0.2, seed=4)[2]


def test_a_rare_class_stays_in_train():
    labels = ["a"] * 50 + ["b"]
    train, _, _ = stratified_split(labels, 0.1, 0.1, seed=0)
    assert 50 in train
