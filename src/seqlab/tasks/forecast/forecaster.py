"""``Forecaster``: fit recurrent and hybrid forecasters on a series, choose among them and
the statistical baselines on validation, forecast, save and load.

Training windows come from the training part only. The validation part picks each
network's epoch (by MAE), gives the prediction intervals (quantiles of the validation
errors) and, with ``model.kind: auto``, chooses the model that forecasts: the recurrent
network, the hybrid, or a baseline, by MAE at the validation origins. Each kind is an
ensemble of ``model.members`` networks trained with different seeds and averaged. With
``refit`` the networks are then trained again on training + validation for their chosen
number of epochs, inside the same ``training.max_minutes``. The test part is never read.
The bundle is one safetensors file: weights, framing state and settings.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from seqlab.artifacts import prefixed, unprefixed
from seqlab.engine.estimator import Estimator
from seqlab.errors import ConfigError, DataError
from seqlab.tasks.forecast.auto import Choice, resolve
from seqlab.tasks.forecast.baselines import run_baseline
from seqlab.tasks.forecast.config import ForecastConfig
from seqlab.tasks.forecast.framing import FRAMINGS, Framing
from seqlab.tasks.forecast.intervals import Bounds, bounds, fit_intervals
from seqlab.tasks.forecast.metrics import mase_scale
from seqlab.tasks.forecast.network import SequenceForecaster
from seqlab.tasks.forecast.series import Series
from seqlab.tasks.forecast.windows import SplitPlan
from seqlab.training.trainer import TrainCallbacks, TrainingPlan, TrainResult, set_seed

BUNDLE_KIND = "seqlab-forecaster"


class Budget:
    """``training.max_minutes`` over the whole fit: every network, refits included."""

    REFIT_SHARE = 0.5  # of the budget, kept for the refits

    def __init__(self, minutes: float | None) -> None:
        self.total = None if minutes is None else 60 * minutes
        self.end = None if minutes is None else time.perf_counter() + 60 * minutes

    def left(self) -> float:
        """Seconds left (infinite without a budget)."""
        return float("inf") if self.end is None else self.end - time.perf_counter()

    def share(self, trainings: int) -> float | None:
        """Minutes for the next of ``trainings`` validated trainings still to run (None: no
        limit); half the budget is kept for the refits."""
        if self.total is None:
            return None
        spare = self.left() - self.REFIT_SHARE * self.total
        return max(spare / max(trainings, 1), 1.0) / 60


class Forecaster(Estimator):
    """Recurrent and hybrid network ensembles, the model validation chose, its interval
    widths, and the series' columns and frequency."""

    bundle_kind = BUNDLE_KIND
    fitted_attribute = "networks_"

    def __init__(self, config: ForecastConfig | None = None) -> None:
        self.config = config or ForecastConfig()
        self.resolved_: dict[str, Choice] = {}

    # ---- data -----------------------------------------------------------------------

    def plan(self, series: Series) -> SplitPlan:
        """The split for ``series``; window keys left at auto are chosen for it first."""
        config, choices = resolve(self.config, len(series), series.freq, series.season)
        if choices:
            self.config, self.resolved_ = config, {**self.resolved_, **choices}
        w = self.config.window
        return SplitPlan(len(series), int(w.lookback), int(w.horizon), int(w.folds), w.step,
                         int(w.stride)).check(series.source)

    def _to_model_units(self, series: Series) -> np.ndarray:
        values = series.values.astype(np.float64)
        if self.config.model.target_transform == "log":
            if (values[:, 0] <= 0).any():
                row = int(np.flatnonzero(values[:, 0] <= 0)[0])
                raise DataError(f"{series.source}: target_transform log needs positive values; "
                                f"point {row} is {values[row, 0]}. Use target_transform none.")
            values[:, 0] = np.log(values[:, 0])
        return values

    def _from_model_units(self, values: np.ndarray) -> np.ndarray:
        return np.exp(values) if self.config.model.target_transform == "log" else values

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

    def _build(self, kind: str, num_features: int, season: int) -> SequenceForecaster:
        m, w = self.config.model, self.config.window
        level = FRAMINGS.get(kind).level or m.level
        if level == "auto":
            level = "seasonal" if 1 < season <= int(w.lookback) else "last"
        if level == "seasonal" and season > int(w.lookback):
            raise ConfigError(f"model.level seasonal reads one season ({season} steps) back; "
                              f"set window.lookback to at least {season}")
        return SequenceForecaster(num_features, int(w.horizon), m.cell, m.hidden_size,
                                  m.num_layers, m.dropout, level, season)

    def name_of(self, kind: str) -> str:
        """The leaderboard's name for a network kind: the cell (``lstm``), or
        ``hybrid-lstm``."""
        cell = self.config.model.cell
        return cell if kind == "recurrent" else f"{kind}-{cell}"

    @property
    def kinds(self) -> list[str]:
        """The network kinds this forecaster trains."""
        kind = self.config.model.kind
        return FRAMINGS.names() if kind == "auto" else [kind]

    # ---- fitting --------------------------------------------------------------------

    def fit(self, series: Series, *, checkpoint_dir: str | Path | None = None,
            resume: bool = False, callbacks: TrainCallbacks | None = None) -> Forecaster:
        """Train every network on the training part; the validation part picks the epochs,
        sets the interval widths and chooses the model. With ``refit`` the networks are
        then trained afresh on training + validation for their chosen epochs. The test
        part is never read."""
        began = self.begin_fit(self.config.training.threads, self.config.seed)
        plan = self.plan(series)
        values = self._to_model_units(series)
        self.season_ = series.season
        self.columns_, self.target_, self.freq_ = series.columns, series.target, series.freq
        y = series.y
        self.mase_scale_ = mase_scale(y[:plan.val_start], series.season)
        budget = Budget(self.config.training.max_minutes)
        checkpoints = Path(checkpoint_dir) if checkpoint_dir else None
        members = int(self.config.model.members)
        self.framings_: dict[str, Framing] = {}
        self.networks_: dict[str, list[nn.Module]] = {}
        records: dict[str, list[tuple[TrainResult, tuple[Any, int, str]]]] = {}
        left = len(self.kinds) * members
        for kind in self.kinds:
            framing = FRAMINGS.get(kind)()
            framing.fit(values, plan.val_start, series.season, plan.horizon)
            self.framings_[kind], self.networks_[kind], records[kind] = framing, [], []
            for member in range(members):
                result = self._train(kind, values, plan.train_origins, plan.val_origins,
                                     self.config.seed + member,
                                     _member_dir(checkpoints, kind, member), resume,
                                     callbacks if left == len(self.kinds) * members else None,
                                     budget.share(left))
                left -= 1
                self.networks_[kind].append(self.module_)
                records[kind].append((result, (self.history_, self.best_epoch_,
                                               self.stopped_)))
        self._validate(series, values, plan)
        refitted = self._refit(series, values, plan, records, checkpoints, resume, budget) \
            if self.config.refit else {}
        # the history and epoch shown are the validated run's of the chosen (or first) kind
        first = next((k for k in self.networks_ if self.name_of(k) == self.chosen_),
                     self.kinds[0])
        result, (self.history_, self.best_epoch_, self.stopped_) = records[first][0]
        seconds = sum(r.seconds for runs in records.values() for r, _ in runs)
        self.module_ = self.networks_[first][0]
        self.fit_info_ = {
            "train_windows": len(plan.train_origins), "val_windows": len(plan.val_origins),
            "final_windows": len(plan.refit_origins if refitted else plan.train_origins),
            "refit": self.config.refit, "refitted": refitted, "members": members,
            "kinds": self.kinds, "framings": {k: f.describe()
                                              for k, f in self.framings_.items()},
            "train_points": plan.val_start, **self.training_facts(result, began),
            "train_seconds": seconds + sum(refitted.values()),
            "resolved": self.resolved_,
        }
        return self

    def _train(self, kind: str, values: np.ndarray, train_origins: list[int],
               val_origins: list[int], seed: int, checkpoint_dir: Path | None, resume: bool,
               callbacks: TrainCallbacks | None, minutes: float | None,
               epochs: int | None = None) -> TrainResult:
        """Train one network of ``kind`` from ``seed``; with ``epochs`` set, run exactly
        that many and keep the last (the refit), else stop early on validation MAE."""
        set_seed(seed)
        framing, w = self.framings_[kind], self.config.window
        lookback, horizon = int(w.lookback), int(w.horizon)
        x_train = torch.from_numpy(framing.inputs(values, train_origins, lookback))
        y_train = torch.from_numpy(framing.targets(values, train_origins, horizon))
        x_val = framing.inputs(values, val_origins, lookback)
        y_val = framing.targets(values, val_origins, horizon)
        truth = self._from_model_units(np.stack([values[o:o + horizon, 0] for o in val_origins])) \
            if val_origins else np.zeros((0, horizon))
        self.module_ = self._build(kind, values.shape[1], self.season_)
        train_cfg = self.config.training.model_copy(update={"max_minutes": minutes})
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
            restored = self._from_model_units(
                framing.restore_units(predicted.numpy(), values, val_origins))
            mae = float(np.abs(restored - truth).mean())
            return {"loss": float(nn.functional.mse_loss(predicted, torch.from_numpy(y_val))),
                    "mae": mae, "mase": mae / self.mase_scale_}

        if epochs is not None:  # the refit: no validation, the trainer keeps the last epoch
            train_cfg = train_cfg.model_copy(update={"max_epochs": epochs})
        plan = TrainingPlan(batches, loss_fn, validate if epochs is None else None,
                            -(-len(x_train) // batch_size))
        return self.train_module(train_cfg, plan, checkpoint_dir=checkpoint_dir,
                                 resume=resume, callbacks=callbacks,
                                 monitor=train_cfg.monitor)

    def _validate(self, series: Series, values: np.ndarray, plan: SplitPlan) -> None:
        """Score every candidate at the validation origins, set the interval widths, and
        choose the model (``model.kind`` auto: the lowest validation MAE). A network's
        intervals come from its errors at every validation origin, a baseline's from its
        errors at the validation fold origins."""
        y, horizon = series.y, plan.horizon
        folds = plan.val_fold_origins
        actual = np.stack([y[o:o + horizon] for o in folds])
        self.validation_: dict[str, dict[str, float]] = {}
        self.intervals_: dict[str, dict[str, Any]] = {}
        levels = self.config.intervals
        truth = np.stack([y[o:o + horizon] for o in plan.val_origins])
        for kind in self.networks_:
            name = self.name_of(kind)
            point = self._network_forecasts(kind, values, plan.val_origins)
            self.intervals_[name] = fit_intervals(truth, point, levels)
            self.validation_[name] = self._scores(
                actual, self._network_forecasts(kind, values, folds))
        if self.config.model.kind == "auto":
            for baseline in self.config.baselines:
                point = np.stack([run_baseline(baseline, y[:o], horizon, series.season)[0]
                                  for o in folds])
                self.intervals_[baseline] = fit_intervals(actual, point, levels)
                self.validation_[baseline] = self._scores(actual, point)
        self.chosen_ = min(self.validation_, key=lambda n: self.validation_[n]["mae"])

    def interval_bounds(self, name: str, point: np.ndarray) -> Bounds:
        """``{"0.8": (lower, upper), …}`` around the ``point`` forecasts of model ``name``
        (empty where the model was not scored on validation)."""
        entry = self.intervals_.get(name)
        return bounds(entry, point) if entry else {}

    def _scores(self, actual: np.ndarray, point: np.ndarray) -> dict[str, float]:
        mae = float(np.abs(actual - point).mean())
        return {"mae": mae, "mase": mae / self.mase_scale_}

    def _refit(self, series: Series, values: np.ndarray, plan: SplitPlan,
               records: dict[str, list[tuple[TrainResult, Any]]], checkpoints: Path | None,
               resume: bool, budget: Budget) -> dict[str, float]:
        """Train each kind's networks again on training + validation for their chosen
        epochs, where the budget allows the whole kind; return the seconds per kind."""
        seconds: dict[str, float] = {}
        ratio = len(plan.refit_origins) / max(len(plan.train_origins), 1)
        for kind, runs in records.items():
            needed = sum(r.seconds / max(len(r.history), 1) * max(r.best_epoch, 1) * ratio
                         for r, _ in runs)
            if needed > budget.left():
                continue  # the validated networks stay
            self.framings_[kind].fit(values, plan.test_start, series.season, plan.horizon)
            networks, spent = [], 0.0
            for member, (result, _) in enumerate(runs):
                again = self._train(kind, values, plan.refit_origins, [],
                                    self.config.seed + member,
                                    _member_dir(checkpoints, kind, member, "refit"), resume,
                                    None, None, epochs=max(result.best_epoch, 1))
                networks.append(self.module_)
                spent += again.seconds
            self.networks_[kind], seconds[kind] = networks, spent
        return seconds

    # ---- forecasting ------------------------------------------------------------------

    def _network_forecasts(self, kind: str, values: np.ndarray,
                           origins: list[int]) -> np.ndarray:
        """The ensemble's mean forecast ``[len(origins), horizon]`` in the target's units."""
        framing = self.framings_[kind]
        x = torch.from_numpy(framing.inputs(values, origins, int(self.config.window.lookback)))
        total = np.zeros((len(origins), self.horizon))
        with torch.inference_mode():
            for network in self.networks_[kind]:
                out = network(x.float()).numpy()
                total += self._from_model_units(framing.restore_units(out, values, origins))
        return total / len(self.networks_[kind])

    @property
    def names(self) -> list[str]:
        """The leaderboard names of the networks this forecaster holds."""
        return [self.name_of(kind) for kind in self.networks_]

    def forecast_at(self, series: Series, origins: list[int],
                    name: str | None = None) -> np.ndarray:
        """``[len(origins), horizon]`` forecasts of model ``name`` (default: the chosen
        one), each from the points before its origin (in the target's units)."""
        self._check_fitted()
        self._check_columns(series)
        name = name or self.chosen_
        need = self.min_history(name)
        if min(origins) < need:
            raise DataError(f"{series.source}: a forecast needs {need} past points; "
                            f"the series has {min(origins)} before the origin")
        kinds = {self.name_of(kind): kind for kind in self.networks_}
        if name not in kinds:
            y = series.y
            return np.stack([run_baseline(name, y[:o], self.horizon, self.season_)[0]
                             for o in origins])
        return self._network_forecasts(kinds[name], self._to_model_units(series), origins)

    def min_history(self, name: str | None = None) -> int:
        """The fewest past points model ``name`` (default: the chosen one) forecasts
        from: the lookback, and for the hybrid the two seasons its smoothing starts from."""
        need = int(self.config.window.lookback)
        kind = {self.name_of(k): k for k in self.networks_}.get(name or self.chosen_)
        return max(need, self.framings_[kind].min_history) if kind else need

    @property
    def horizon(self) -> int:
        return int(self.config.window.horizon)

    def forecast(self, series: Series) -> dict[str, np.ndarray]:
        """The next ``horizon`` values after the series ends, from the chosen model, with
        interval bounds: ``{"forecast": …, "lower_80": …, "upper_80": …, …}``."""
        point = self.forecast_at(series, [len(series)])
        out = {"forecast": point[0]}
        with np.errstate(over="ignore", invalid="ignore"):
            around = self.interval_bounds(self.chosen_, point)
        for level, (low, high) in around.items():
            pct = round(float(level) * 100)
            out[f"lower_{pct}"], out[f"upper_{pct}"] = low[0], high[0]
        if not all(np.isfinite(values).all() for values in out.values()):
            raise DataError(f"{series.source}: the forecast overflows (values too large for "
                            "the model's scale, the largest is "
                            f"{np.abs(series.frame.to_numpy(dtype=float)).max():.3g}); send "
                            "values in the range the model was trained on")
        return out

    # ---- bundle -----------------------------------------------------------------------

    def to_bundle(self, metrics: dict[str, Any] | None = None
                  ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Every network's weights and framing state; the rest in the JSON header."""
        tensors: dict[str, torch.Tensor] = {}
        framings = {}
        for kind, networks in self.networks_.items():
            state, framings[kind] = self.framings_[kind].state()
            tensors |= prefixed(state, kind)
            for member, network in enumerate(networks):
                tensors |= prefixed(network.state_dict(), f"{kind}.{member}")
        meta = {"config": self.config.model_dump(mode="json"), "columns": self.columns_,
                "target": self.target_, "freq": self.freq_, "season": self.season_,
                "kinds": list(self.networks_), "framings": framings,
                "members": {k: len(v) for k, v in self.networks_.items()},
                "chosen": self.chosen_, "validation": self.validation_,
                "intervals": self.intervals_, "fit_info": self.fit_info_,
                "metrics": metrics or {}}
        return tensors, meta

    @classmethod
    def restore(cls, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> Forecaster:
        self = cls(ForecastConfig.model_validate(meta["config"]))
        self.columns_, self.target_ = meta["columns"], meta["target"]
        self.freq_, self.season_ = meta["freq"], meta["season"]
        self.chosen_, self.validation_ = meta["chosen"], meta["validation"]
        self.intervals_ = meta["intervals"]
        self.framings_, self.networks_ = {}, {}
        for kind in meta["kinds"]:
            framing = FRAMINGS.get(kind)()
            framing.load_state(unprefixed(tensors, kind), meta["framings"][kind])
            self.framings_[kind], self.networks_[kind] = framing, []
            for member in range(int(meta["members"][kind])):
                network = self._build(kind, len(self.columns_), self.season_)
                network.load_state_dict(unprefixed(tensors, f"{kind}.{member}"))
                self.networks_[kind].append(network.eval())
        if self.chosen_ not in self.intervals_:
            raise ValueError(f"the chosen model {self.chosen_!r} has no intervals")
        self.module_ = next(iter(self.networks_.values()))[0]
        return self


def _member_dir(checkpoints: Path | None, kind: str, member: int,
                stage: str = "") -> Path | None:
    """Where one network's checkpoints go: ``checkpoints/<kind>-<member>[/refit]``."""
    if checkpoints is None:
        return None
    folder = checkpoints / f"{kind}-{member}"
    return folder / stage if stage else folder
