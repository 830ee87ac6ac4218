"""Resume after an interruption ends exactly where an uninterrupted run ends."""

import numpy as np
import pytest

from seqlab.tasks.classify.classifier import TextClassifier

from conftest import TINY, StopAfter


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


def test_without_validation_every_epoch_runs_and_the_last_is_kept():
    import torch
    from torch import nn

    from seqlab.config import TrainingConfig
    from seqlab.training.trainer import Trainer, TrainingPlan

    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    x, y = torch.randn(32, 3), torch.randn(32, 1)
    plan = TrainingPlan(lambda epoch: [(x, y)],
                        lambda m, batch: nn.functional.mse_loss(m(batch[0]), batch[1]), None)
    trainer = Trainer(model, TrainingConfig(max_epochs=5, patience=1, lr=0.1), plan)
    result = trainer.fit()
    assert [h["epoch"] for h in result.history] == [1, 2, 3, 4, 5]
    assert result.best_epoch == 5 and result.stopped == "max_epochs"
    assert not any(key.startswith("val_") for key in result.history[-1])
    final_loss = float(nn.functional.mse_loss(model(x), y).detach())
    assert final_loss < result.history[0]["train_loss"]
