"""Resume after an interruption ends exactly where an uninterrupted run ends."""

import numpy as np
import pytest

from seqlab.classifier import TextClassifier

from conftest import TINY


class StopAfter:
    """Callbacks that interrupt training like Ctrl-C in the middle of an epoch."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_train_start(self, *args):
        pass

    def on_batch_end(self, epoch, batch, loss):
        if epoch == self.epoch and batch == 1:
            raise KeyboardInterrupt

    def on_epoch_end(self, record):
        pass


def test_interrupted_run_resumes_to_the_same_result(tmp_path, toy_texts):
    texts, labels = toy_texts
    params = TINY | {"max_epochs": 6, "scheduler": "cosine"}
    straight = TextClassifier(**params).fit(texts, labels, checkpoint_dir=tmp_path / "a")

    interrupted = TextClassifier(**params)
    with pytest.raises(KeyboardInterrupt):
        interrupted.fit(texts, labels, checkpoint_dir=tmp_path / "b", callbacks=StopAfter(4))
    assert (tmp_path / "b" / "last.safetensors").exists()
    resumed = TextClassifier(**params).fit(texts, labels, checkpoint_dir=tmp_path / "b",
                                           resume=True)

    assert len(resumed.history_) == 6
    for a, b in zip(straight.history_, resumed.history_, strict=True):
        assert a["train_loss"] == pytest.approx(b["train_loss"], abs=1e-6)
        assert a["val_loss"] == pytest.approx(b["val_loss"], abs=1e-6)
    np.testing.assert_allclose(resumed.predict_proba(texts), straight.predict_proba(texts),
                               atol=1e-6)


def test_early_stopping_keeps_the_best_epoch(toy_texts):
    texts, labels = toy_texts
    clf = TextClassifier(**(TINY | {"max_epochs": 50, "patience": 2, "monitor": "loss",
                                    "lr": 0.05}))
    clf.fit(texts, labels, texts, labels)
    history = clf.history_
    best = min(history, key=lambda h: h["val_loss"])
    assert clf.best_epoch_ == best["epoch"]
    if clf.stopped_ == "early_stopping":
        assert len(history) == clf.best_epoch_ + 2
    # the model in memory is the best epoch's, not the last one's
    loss_now = clf.evaluate(texts, labels)
    assert loss_now["accuracy"] == pytest.approx(best["val_accuracy"])
