"""Forecasting as a :class:`~seqlab.engine.task.Task`: the next ``horizon`` values."""

from __future__ import annotations

from typing import Any, ClassVar

from seqlab.engine.task import TASKS, Metric, SearchSpace, TaskBase, TrialResult
from seqlab.tasks.forecast.config import ForecastConfig


class ForecastTask(TaskBase):
    """A series with a time column: ranked by validation MASE (lower is better)."""

    name = "forecast"
    workflow = "seqlab.tasks.forecast.workflow:train_forecast"
    routes = "seqlab.tasks.forecast.routes"
    data_key = "data.path"
    title = "forecasting"
    config_class = ForecastConfig
    bundle_kinds = ("seqlab-forecaster",)
    metrics = (Metric("mase", False), Metric("mae", False))
    test_metrics = ("mase", "smape", "mae")
    space: ClassVar[SearchSpace] = {
        "model.hidden_size": {"type": "int", "low": 16, "high": 128, "log": True},
        "model.num_layers": {"type": "int", "low": 1, "high": 2},
        "model.dropout": {"type": "float", "low": 0.0, "high": 0.3},
        "training.lr": {"type": "float", "low": 1e-3, "high": 1e-2, "log": True},
    }

    def trial_data(self, config: ForecastConfig) -> Any:
        from seqlab.tasks.forecast.workflow import load_panel

        return load_panel(config)

    def fit_trial(self, config: ForecastConfig, data: Any,
                  callbacks: Any = None) -> TrialResult:
        from seqlab.tasks.forecast.forecaster import Forecaster

        # validation is scored before the refit, so a trial skips it
        forecaster = Forecaster(config.model_copy(update={"refit": False}))
        forecaster.fit(data, callbacks=callbacks)
        # the chosen model's validation scores (an ensemble, or a baseline)
        return TrialResult(forecaster.validation_[forecaster.chosen_],
                           forecaster.best_epoch_, forecaster.fit_info_["train_seconds"])


TASKS.register("forecast")(ForecastTask())
