"""``training.average_epochs``: the mean of the best epochs' weights, kept only when it
scores better on validation than the best epoch alone."""

import numpy as np
import pytest
import torch
from torch import nn

from seqlab.config import TrainingConfig
from seqlab.tasks.classify.classifier import TextClassifier
from seqlab.training.trainer import Trainer, TrainingPlan

from conftest import TINY, StopAfter


class Snapshots:
    """Callbacks that copy the model's weights at the end of every epoch."""

    def __init__(self, model: nn.Module) -> None:
        self.model, self.weights = model, {}

    def on_train_start(self, *args):
        pass

    def on_batch_end(self, epoch, batch, loss):
        pass

    def on_epoch_end(self, record):
        self.weights[record["epoch"]] = {k: v.clone() for k, v in
                                         self.model.state_dict().items()}


def _fit(scores: list[float], average: int, monitor: str = "accuracy"):
    """A linear model trained for len(scores) - 1 epochs whose validation says ``scores``
    in turn (the last one is what the averaged weights are told they score)."""
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    x, y = torch.randn(32, 3), torch.randn(32, 1)
    told = iter(scores)
    plan = TrainingPlan(lambda epoch: [(x, y)],
                        lambda m, batch: nn.functional.mse_loss(m(batch[0]), batch[1]),
                        lambda m: {monitor: next(told)})
    config = TrainingConfig(max_epochs=len(scores) - 1, patience=10, lr=0.1,
                            average_epochs=average, monitor=monitor)
    snapshots = Snapshots(model)
    result = Trainer(model, config, plan, callbacks=snapshots).fit()
    return model, result, snapshots.weights


def _mean(states: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    return {key: sum(state[key] for state in states) / len(states) for key in states[0]}


def _assert_weights(model: nn.Module, expected: dict[str, torch.Tensor]) -> None:
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, expected[key])


def test_the_mean_of_the_best_epochs_is_kept_when_it_scores_higher():
    # epochs 2, 4 and 5 score best; their mean is told 0.9, above epoch 4's 0.8
    model, result, weights = _fit([0.1, 0.6, 0.3, 0.8, 0.7, 0.9], average=3)
    _assert_weights(model, _mean([weights[2], weights[4], weights[5]]))
    assert result.averaged == [2, 4, 5]
    assert result.best_epoch == 4 and result.best_score == pytest.approx(0.9)


def test_the_best_epoch_is_kept_when_the_mean_scores_no_higher():
    model, result, weights = _fit([0.1, 0.6, 0.3, 0.8, 0.7, 0.8], average=3)
    _assert_weights(model, weights[4])
    assert result.averaged == [] and result.best_score == pytest.approx(0.8)


def test_a_lower_is_better_monitor_averages_the_lowest():
    # loss: epochs 1 and 3 are the two lowest; their mean is told 0.1
    model, result, weights = _fit([0.5, 0.9, 0.4, 0.8, 0.1], average=2, monitor="loss")
    _assert_weights(model, _mean([weights[1], weights[3]]))
    assert result.averaged == [1, 3]


def test_average_one_keeps_the_best_epoch():
    model, result, weights = _fit([0.1, 0.6, 0.3], average=1)
    _assert_weights(model, weights[2])
    assert result.averaged == []


def test_an_interrupted_run_with_averaging_resumes_to_the_same_weights(tmp_path, toy_texts):
    texts, labels = toy_texts
    params = TINY | {"max_epochs": 6, "average_epochs": 3}
    straight = TextClassifier(**params).fit(texts, labels, checkpoint_dir=tmp_path / "a")
    interrupted = TextClassifier(**params)
    with pytest.raises(KeyboardInterrupt):
        interrupted.fit(texts, labels, checkpoint_dir=tmp_path / "b", callbacks=StopAfter(5))
    resumed = TextClassifier(**params).fit(texts, labels, checkpoint_dir=tmp_path / "b",
                                           resume=True)
    np.testing.assert_allclose(resumed.predict_proba(texts), straight.predict_proba(texts),
                               atol=1e-6)


def test_the_report_and_the_scores_name_the_weights_kept():
    from types import SimpleNamespace

    from seqlab.engine.estimator import kept_validation, kept_weights

    history = [{"epoch": 1, "val_f1": 0.5, "train_loss": 1.0},
               {"epoch": 2, "val_f1": 0.7, "train_loss": 0.8}]
    best = SimpleNamespace(history_=history, best_epoch_=2,
                           fit_info_={"best_epoch": 2})
    assert kept_weights(best.fit_info_) == "epoch 2"
    assert kept_weights(best.fit_info_, "grid value") == "grid value 2"
    assert kept_validation(best) == {"val_f1": 0.7}
    averaged = SimpleNamespace(history_=history, best_epoch_=2, fit_info_={
        "best_epoch": 2, "averaged": [1, 2, 4], "averaged_validation": {"val_f1": 0.75}})
    assert kept_weights(averaged.fit_info_) == "the mean of epochs 1, 2 and 4"
    assert kept_validation(averaged) == {"val_f1": 0.75}
