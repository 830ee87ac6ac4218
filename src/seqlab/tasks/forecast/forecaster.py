"""``Forecaster``: fit a recurrent forecaster on a series, forecast, save and load.

Training windows come from the training part only; validation windows pick the epoch
(by MAE) and give the prediction intervals: for each step ahead, the quantiles of the
validation errors. The bundle is one safetensors file: weights, scaler and settings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from seqlab.artifacts import prefixed, unprefixed
from seqlab.engine.estimator import Estimator
from seqlab.errors import ConfigError, DataError
from seqlab.tasks.forecast.config import ForecastConfig
from seqlab.tasks.forecast.metrics import mase_scale
from seqlab.tasks.forecast.network import SequenceForecaster
from seqlab.tasks.forecast.series import Series
from seqlab.tasks.forecast.windows import Scaler, SplitPlan, make_inputs, make_windows
from seqlab.training.trainer import TrainCallbacks, TrainingPlan, TrainResult, set_seed

BUNDLE_KIND = "seqlab-forecaster"


class Forecaster(Estimator):
    """A recurrent forecaster with its scaler, split plan and interval widths."""

    bundle_kind = BUNDLE_KIND

    def __init__(self, config: ForecastConfig | None = None) -> None:
        self.config = config or ForecastConfig()

    # ---- data -----------------------------------------------------------------------

    def plan(self, series: Series) -> SplitPlan:
        w = self.config.window
        return SplitPlan(len(series), w.lookback, w.horizon, w.folds, w.step,
                         w.stride).check(series.source)

    def _to_model_units(self, series: Series) -> np.ndarray:
        values = series.values.astype(np.float64)
        if self.config.model.target_transform == "log":
            if (values[:, 0] <= 0).any():
                row = int(np.flatnonzero(values[:, 0] <= 0)[0])
                raise DataError(f"{series.source}: target_transform log needs positive values; "
                                f"point {row} is {values[row, 0]}. Use target_transform none.")
            values[:, 0] = np.log(values[:, 0])
        return values.astype(np.float32)

    def _from_model_units(self, scaled: np.ndarray) -> np.ndarray:
        values = self.scaler_.inverse_target(scaled.astype(np.float64))
        if self.config.model.target_transform == "log":
            values = np.exp(values)
        return values

    def align(self, series: Series) -> Series:
        """The series with the model's columns: one-hot levels it lacks are zero, levels
        the model never saw are dropped; any other difference is an error."""
        self._check_fitted()
        missing = [c for c in self.columns_ if c not in series.columns]
        extra = [c for c in series.columns if c not in self.columns_]
        if any("=" not in c for c in missing + extra):
            self._check_columns(series)
        frame = series.frame.reindex(columns=self.columns_, fill_value=0.0)
        return Series(frame, series.target, series.freq, series.season, series.source,
                      series.notes)

    def _check_columns(self, series: Series) -> None:
        if series.columns != self.columns_:
            raise DataError(f"{series.source}: the model reads columns {self.columns_}, the "
                            f"data has {series.columns}; give the same target and covariates")

    def _build(self, num_features: int, season: int) -> SequenceForecaster:
        m, w = self.config.model, self.config.window
        level = m.level
        if level == "auto":
            level = "seasonal" if 1 < season <= w.lookback else "last"
        if level == "seasonal" and season > w.lookback:
            raise ConfigError(f"model.level seasonal reads one season ({season} steps) back; "
                              f"set window.lookback to at least {season}")
        return SequenceForecaster(num_features, w.horizon, m.cell, m.hidden_size, m.num_layers,
                                  m.dropout, level, season)

    # ---- fitting --------------------------------------------------------------------

    def fit(self, series: Series, *, checkpoint_dir: str | Path | None = None,
            resume: bool = False, callbacks: TrainCallbacks | None = None) -> Forecaster:
        """Train on the training part; the validation part picks the epoch and sets the
        interval widths. With ``refit`` the model is then trained afresh on training +
        validation for that many epochs. The test part is never read."""
        began = self.begin_fit(self.config.training.threads, self.config.seed)
        plan = self.plan(series)
        values = self._to_model_units(series)
        self.season_ = series.season
        checkpoints = Path(checkpoint_dir) if checkpoint_dir else None
        target = series.frame[series.target].to_numpy(dtype=np.float64)
        self.mase_scale_ = mase_scale(target[:plan.val_start], series.season)
        result, x_val, y_val = self._train(values, plan.val_start, plan.train_origins,
                                           plan.val_origins, checkpoints, resume, callbacks)
        chosen = self.history_, self.best_epoch_, self.stopped_
        self.intervals_ = self._interval_widths(x_val, y_val)
        seconds, windows = result.seconds, len(plan.train_origins)
        if self.config.refit:
            again, _, _ = self._train(values, plan.test_start, plan.refit_origins, [],
                                      checkpoints / "refit" if checkpoints else None, resume,
                                      None, epochs=max(result.best_epoch, 1))
            seconds, windows = seconds + again.seconds, len(plan.refit_origins)
        # the history and epoch are the validated run's, whatever the refit recorded
        self.history_, self.best_epoch_, self.stopped_ = chosen
        self.columns_, self.target_, self.freq_ = series.columns, series.target, series.freq
        self.fit_info_ = {
            "train_windows": len(plan.train_origins), "val_windows": len(x_val),
            "final_windows": windows, "refit": self.config.refit,
            "train_points": plan.val_start, **self.training_facts(result, began),
            "train_seconds": seconds,
        }
        return self

    def _train(self, values: np.ndarray, fit_end: int, train_origins: list[int],
               val_origins: list[int], checkpoint_dir: Path | None, resume: bool,
               callbacks: TrainCallbacks | None, epochs: int | None = None
               ) -> tuple[TrainResult, np.ndarray, np.ndarray]:
        """Scale on ``values[:fit_end]`` and train; with ``epochs`` set, run exactly that
        many and keep the last (the refit), else stop early on validation MAE."""
        set_seed(self.config.seed)
        self.scaler_ = Scaler.fit(values[:fit_end])
        scaled = self.scaler_.transform(values)
        w = self.config.window
        x_train, y_train = (torch.from_numpy(a) for a in
                            make_windows(scaled, train_origins, w.lookback, w.horizon))
        x_val, y_val = make_windows(scaled, val_origins, w.lookback, w.horizon)
        truth = self._from_model_units(y_val)
        self.module_ = self._build(values.shape[1], self.season_)
        seed, train_cfg = self.config.seed, self.config.training
        batch_size = train_cfg.batch_size

        def batches(epoch: int):
            order = torch.randperm(len(x_train),
                                   generator=torch.Generator().manual_seed(seed * 1000 + epoch))
            for start in range(0, len(order), batch_size):
                idx = order[start:start + batch_size]
                yield x_train[idx], y_train[idx]

        def loss_fn(model: nn.Module, batch: Any) -> torch.Tensor:
            x, y = batch
            return nn.functional.mse_loss(model(x), y)

        def validate(model: nn.Module) -> dict[str, float]:
            predicted = model(torch.from_numpy(x_val))
            mae = float(np.abs(self._from_model_units(predicted.numpy()) - truth).mean())
            return {"loss": float(nn.functional.mse_loss(predicted, torch.from_numpy(y_val))),
                    "mae": mae, "mase": mae / self.mase_scale_}

        if epochs is not None:  # the refit: no validation, the trainer keeps the last epoch
            train_cfg = train_cfg.model_copy(update={"max_epochs": epochs})
        plan = TrainingPlan(batches, loss_fn, validate if epochs is None else None,
                            -(-len(x_train) // batch_size))
        result = self.train_module(train_cfg, plan, checkpoint_dir=checkpoint_dir,
                                   resume=resume, callbacks=callbacks,
                                   monitor=train_cfg.monitor)
        return result, x_val, y_val

    def _interval_widths(self, x_val: np.ndarray,
                         y_val: np.ndarray) -> dict[str, list[list[float]]]:
        errors = self._from_model_units(y_val) - self._from_model_units(self._run(x_val))
        out = {}
        for level in self.config.intervals:
            low, high = np.quantile(errors, [(1 - level) / 2, (1 + level) / 2], axis=0)
            out[f"{level:g}"] = [low.tolist(), high.tolist()]
        return out

    # ---- forecasting ------------------------------------------------------------------

    def _run(self, x: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return self.module_(torch.from_numpy(x.astype(np.float32))).numpy()

    def forecast_at(self, series: Series, origins: list[int]) -> np.ndarray:
        """``[len(origins), horizon]`` forecasts, each from the ``lookback`` points before
        its origin (in the target's units)."""
        self._check_fitted()
        self._check_columns(series)
        lookback = self.config.window.lookback
        if min(origins) < lookback:
            raise DataError(f"{series.source}: a forecast needs {lookback} past points; "
                            f"the series has {min(origins)} before the origin")
        scaled = self.scaler_.transform(self._to_model_units(series))
        return self._from_model_units(self._run(make_inputs(scaled, origins, lookback)))

    @property
    def horizon(self) -> int:
        return self.config.window.horizon

    def forecast(self, series: Series) -> dict[str, np.ndarray]:
        """The next ``horizon`` values after the series ends, with interval bounds:
        ``{"forecast": …, "lower_80": …, "upper_80": …, …}``."""
        point = self.forecast_at(series, [len(series)])[0]
        out = {"forecast": point}
        for level, (low, high) in self.intervals_.items():
            pct = round(float(level) * 100)
            out[f"lower_{pct}"] = point + np.asarray(low)
            out[f"upper_{pct}"] = point + np.asarray(high)
        if not all(np.isfinite(values).all() for values in out.values()):
            raise DataError(f"{series.source}: the forecast overflows (values too large for "
                            "the model's scale, the largest is "
                            f"{np.abs(series.frame.to_numpy(dtype=float)).max():.3g}); send "
                            "values in the range the model was trained on")
        return out

    # ---- bundle -----------------------------------------------------------------------

    def to_bundle(self, metrics: dict[str, Any] | None = None
                  ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Weights and scaler; columns, intervals and settings in the JSON header."""
        tensors = prefixed(self.module_.state_dict())
        tensors |= {"scaler.mean": torch.from_numpy(self.scaler_.mean),
                    "scaler.scale": torch.from_numpy(self.scaler_.scale)}
        meta = {"config": self.config.model_dump(mode="json"), "columns": self.columns_,
                "target": self.target_, "freq": self.freq_, "season": self.season_,
                "intervals": self.intervals_, "fit_info": self.fit_info_,
                "metrics": metrics or {}}
        return tensors, meta

    @classmethod
    def restore(cls, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> Forecaster:
        self = cls(ForecastConfig.model_validate(meta["config"]))
        self.columns_, self.target_ = meta["columns"], meta["target"]
        self.freq_, self.season_ = meta["freq"], meta["season"]
        self.intervals_ = meta["intervals"]
        self.scaler_ = Scaler(tensors["scaler.mean"].numpy(), tensors["scaler.scale"].numpy())
        self.module_ = self._build(len(self.columns_), self.season_)
        self.module_.load_state_dict(unprefixed(tensors))
        self.module_.eval()
        return self
