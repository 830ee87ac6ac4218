"""``Forecaster``: fit recurrent and hybrid forecasters on one series or many, choose
among them and the statistical baselines on validation, forecast, save and load.

Training windows come from the training part only. The validation part picks each
network's epoch (by ``training.monitor``, MASE by default), gives the prediction
intervals (quantiles of the validation errors) and, with ``model.kind: auto``, chooses the
model that forecasts: the recurrent network, the hybrid, or a baseline, by MASE at the
validation fold origins. Each kind is an
ensemble of ``model.members`` networks trained with different seeds and averaged. With
``refit`` the networks are then trained again on training + validation for their chosen
number of epochs, inside the same ``training.max_minutes``. The test part is never read.

Given several series (a :data:`~seqlab.tasks.forecast.series.Panel`) one global model is
trained over all of them: each series is framed on its own (its scaler, its smoothing),
the windows of all series train the same networks, and scores are the mean over series
of each series' MASE. Such a model forecasts any of its series, and a new one of the
same kind from its history alone (framed on that history). The bundle is one
safetensors file: weights, framing states and settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from seqlab.artifacts import prefixed, unprefixed
from seqlab.engine.estimator import Estimator
from seqlab.errors import ConfigError, DataError
from seqlab.tasks.forecast.auto import Choice, resolve
from seqlab.tasks.forecast.baselines import baseline_forecasts
from seqlab.tasks.forecast.budget import Budget
from seqlab.tasks.forecast.config import ForecastConfig
from seqlab.tasks.forecast.framing import FRAMINGS, Framing
from seqlab.tasks.forecast.intervals import Bounds, bounds, fit_intervals
from seqlab.tasks.forecast.metrics import mase_scale
from seqlab.tasks.forecast.network import SequenceForecaster
from seqlab.tasks.forecast.series import Panel, Series
from seqlab.tasks.forecast.windows import SplitPlan, make_targets
from seqlab.training.trainer import TrainCallbacks, TrainingPlan, TrainResult, set_seed

BUNDLE_KIND = "seqlab-forecaster"
Framed = tuple[Framing, np.ndarray, list[int]]  # a framing, the values it frames, origins


class Forecaster(Estimator):
    """Recurrent and hybrid network ensembles, each series' framings, the model validation
    chose, its intervals, and the series' columns and frequency."""

    bundle_kind = BUNDLE_KIND
    fitted_attribute = "networks_"

    def __init__(self, config: ForecastConfig | None = None) -> None:
        self.config = config or ForecastConfig()
        self.resolved_: dict[str, Choice] = {}

    # ---- data -----------------------------------------------------------------------

    def plans(self, data: Series | Panel) -> dict[str, SplitPlan]:
        """Each series' split; window keys left at auto are chosen first, for the shortest
        series (one model reads one window shape)."""
        panel = as_panel(data)
        shortest = min(panel.values(), key=len)
        config, choices = resolve(self.config, len(shortest), shortest.freq,
                                  shortest.season)
        if choices:
            self.config, self.resolved_ = config, {**self.resolved_, **choices}
        w = self.config.window
        return {sid: SplitPlan(len(series), int(w.lookback), int(w.horizon), int(w.folds),
                               w.step, int(w.stride)).check(series.source)
                for sid, series in panel.items()}

    def plan(self, series: Series) -> SplitPlan:
        """The split of one series (see :meth:`plans`)."""
        return next(iter(self.plans(series).values()))

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

    def member_lookback(self, member: int) -> int:
        """The past steps member ``member`` of each ensemble reads: the lookback times
        ``model.lookback_factors[member mod their count]``."""
        factors = self.config.model.lookback_factors
        return max(1, round(int(self.config.window.lookback) * factors[member % len(factors)]))

    def _build(self, kind: str, num_features: int, season: int,
               member: int = 0) -> SequenceForecaster:
        m, w = self.config.model, self.config.window
        lookback = self.member_lookback(member)
        level = FRAMINGS.get(kind).level or m.level
        if level == "auto":
            level = "seasonal" if 1 < season <= lookback else "last"
        if level == "seasonal" and season > lookback:
            raise ConfigError(f"model.level seasonal reads one season ({season} steps) back; "
                              f"set window.lookback to at least {season} (member {member} "
                              f"reads {lookback})")
        return SequenceForecaster(num_features, int(w.horizon), m.cell, m.hidden_size,
                                  m.num_layers, m.dropout, level, season,
                                  len(self.quantiles))

    @property
    def quantiles(self) -> list[float]:
        """What the networks forecast: the point (``mse``), or the median and each
        interval's lower and upper quantiles (``pinball``)."""
        if self.config.model.loss != "pinball":
            return [0.5]
        return [0.5, *(q for level in self.config.intervals
                       for q in ((1 - level) / 2, (1 + level) / 2))]

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

    @property
    def names(self) -> list[str]:
        """The leaderboard names of the networks this forecaster holds."""
        return [self.name_of(kind) for kind in self.networks_]

    def _kind_named(self, name: str) -> str | None:
        return next((kind for kind in self.networks_ if self.name_of(kind) == name), None)

    @property
    def horizon(self) -> int:
        return int(self.config.window.horizon)

    # ---- fitting --------------------------------------------------------------------

    def fit(self, data: Series | Panel, *, checkpoint_dir: str | Path | None = None,
            resume: bool = False, callbacks: TrainCallbacks | None = None) -> Forecaster:
        """Train every network on the training parts; the validation parts pick the
        epochs, set the intervals and choose the model. With ``refit`` the networks are
        then trained afresh on training + validation for their chosen epochs. The test
        parts are never read."""
        began = self.begin_fit(self.config.training.threads, self.config.seed)
        panel = as_panel(data)
        plans = self.plans(panel)
        first = next(iter(panel.values()))
        self.series_ids_ = list(panel)
        self.season_ = first.season
        self.columns_, self.target_, self.freq_ = first.columns, first.target, first.freq
        values = {sid: self._to_model_units(series) for sid, series in panel.items()}
        self.mase_scales_ = {sid: mase_scale(series.y[:plans[sid].val_start], series.season)
                             for sid, series in panel.items()}
        budget = Budget(self.config.training.max_minutes)
        checkpoints = Path(checkpoint_dir) if checkpoint_dir else None
        members = int(self.config.model.members)
        self.framings_: dict[str, dict[str, Framing]] = {}
        self.networks_: dict[str, list[nn.Module]] = {}
        records: dict[str, list[tuple[TrainResult, tuple[Any, int, str]]]] = {}
        left = len(self.kinds) * members  # trainings still to run, for the budget
        for kind in self.kinds:
            self.framings_[kind] = {}
            for sid, plan in plans.items():
                framing = FRAMINGS.get(kind)()
                framing.fit(values[sid], plan.val_start, self.season_, plan.horizon)
                self.framings_[kind][sid] = framing
            self.networks_[kind], records[kind] = [], []
            train = {sid: plan.train_origins for sid, plan in plans.items()}
            val = {sid: plan.val_origins for sid, plan in plans.items()}
            for member in range(members):
                result = self._train(kind, values, train, val, member,
                                     _member_dir(checkpoints, kind, member), resume,
                                     callbacks if (kind, member) == (self.kinds[0], 0) else None,
                                     budget.share(left))
                left -= 1
                self.networks_[kind].append(self.module_)
                records[kind].append((result, (self.history_, self.best_epoch_,
                                               self.stopped_)))
        self._validate(panel, values, plans)
        refitted = self._refit(values, plans, records, checkpoints, resume, budget) \
            if self.config.refit else {}
        # the history and epoch shown are the validated run's of the chosen (or first) kind
        shown = self._kind_named(self.chosen_) or self.kinds[0]
        result, (self.history_, self.best_epoch_, self.stopped_) = records[shown][0]
        self.module_ = self.networks_[shown][0]
        windows = {key: sum(len(getattr(plan, key)) for plan in plans.values())
                   for key in ("train_origins", "val_origins", "refit_origins")}
        self.fit_info_ = {
            "series": len(panel), "train_windows": windows["train_origins"],
            "val_windows": windows["val_origins"],
            "final_windows": windows["refit_origins" if refitted else "train_origins"],
            "refit": self.config.refit, "refitted": refitted, "members": members,
            "kinds": self.kinds,
            "framings": {k: f[self.series_ids_[0]].describe()
                         for k, f in self.framings_.items()},
            "train_points": sum(plan.val_start for plan in plans.values()),
            **self.training_facts(result, began),
            "train_seconds": sum(r.seconds for runs in records.values() for r, _ in runs)
            + sum(refitted.values()),
            "resolved": self.resolved_,
        }
        return self

    def _windows(self, kind: str, values: dict[str, np.ndarray],
                 origins: dict[str, list[int]], lookback: int
                 ) -> tuple[np.ndarray, np.ndarray]:
        """Every series' windows at its ``origins``, stacked: inputs of ``lookback`` steps
        and targets (in the network's units, each series framed by its own framing)."""
        xs, ys = [], []
        for sid, at in origins.items():
            framing = self.framings_[kind][sid]
            xs.append(framing.inputs(values[sid], at, lookback))
            ys.append(framing.targets(values[sid], at, self.horizon))
        return np.concatenate(xs), np.concatenate(ys)

    def _restored(self, kind: str, out: np.ndarray, values: dict[str, np.ndarray],
                  origins: dict[str, list[int]]) -> dict[str, np.ndarray]:
        """Stacked network outputs back in each series' target units."""
        restored, start = {}, 0
        for sid, at in origins.items():
            part = out[start:start + len(at)]
            start += len(at)
            restored[sid] = self._from_model_units(
                self.framings_[kind][sid].restore_units(part, values[sid], at))
        return restored

    def _train(self, kind: str, values: dict[str, np.ndarray],
               train_origins: dict[str, list[int]], val_origins: dict[str, list[int]],
               member: int, checkpoint_dir: Path | None, resume: bool,
               callbacks: TrainCallbacks | None, minutes: float | None,
               epochs: int | None = None) -> TrainResult:
        """Train ensemble member ``member`` of ``kind`` (its seed and lookback) on every
        series' windows; with
        ``epochs`` set, run exactly that many and keep the last (the refit), else stop
        early on the validation metric (MAE, MASE: the mean over series)."""
        seed, lookback = self.config.seed + member, self.member_lookback(member)
        set_seed(seed)
        horizon = self.horizon
        x_train, y_train = (torch.from_numpy(a) for a in
                            self._windows(kind, values, train_origins, lookback))
        validating = epochs is None
        if validating:
            x_val, y_val = self._windows(kind, values, val_origins, lookback)
            truth = {sid: self._from_model_units(make_targets(values[sid], at, horizon))
                     for sid, at in val_origins.items()}
        self.module_ = self._build(kind, next(iter(values.values())).shape[1], self.season_,
                                   member)
        train_cfg = self.config.training.model_copy(update={"max_minutes": minutes})
        batch_size = train_cfg.batch_size

        def batches(epoch: int):
            order = torch.randperm(len(x_train),
                                   generator=torch.Generator().manual_seed(seed * 1000 + epoch))
            for start in range(0, len(order), batch_size):
                idx = order[start:start + batch_size]
                yield x_train[idx], y_train[idx]

        taus = torch.tensor(self.quantiles).view(1, -1, 1)

        def loss_of(predicted: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            if predicted.dim() == 2:
                return nn.functional.mse_loss(predicted, y)
            gap = y.unsqueeze(1) - predicted  # the pinball loss of every quantile
            return torch.maximum(taus * gap, (taus - 1) * gap).mean()

        def loss_fn(model: nn.Module, batch: Any) -> torch.Tensor:
            x, y = batch
            return loss_of(model(x), y)

        def validate(model: nn.Module) -> dict[str, float]:
            predicted = model(torch.from_numpy(x_val))
            point = predicted if predicted.dim() == 2 else predicted[:, 0]
            restored = self._restored(kind, point.numpy(), values, val_origins)
            errors = {sid: float(np.abs(restored[sid] - truth[sid]).mean())
                      for sid in restored}
            return {"loss": float(loss_of(predicted, torch.from_numpy(y_val))),
                    "mae": float(np.mean(list(errors.values()))),
                    "mase": float(np.mean([e / self.mase_scales_[sid]
                                           for sid, e in errors.items()]))}

        if not validating:  # the refit: no validation, the trainer keeps the last epoch
            train_cfg = train_cfg.model_copy(update={"max_epochs": epochs})
        plan = TrainingPlan(batches, loss_fn, validate if validating else None,
                            -(-len(x_train) // batch_size), data_parallel=True)
        return self.train_module(train_cfg, plan, checkpoint_dir=checkpoint_dir,
                                 resume=resume, callbacks=callbacks,
                                 monitor=train_cfg.monitor)

    def _validate(self, panel: Panel, values: dict[str, np.ndarray],
                  plans: dict[str, SplitPlan]) -> None:
        """Score every candidate at the validation fold origins, set the intervals, and
        choose the model (``model.kind`` auto: the lowest mean validation MASE over the
        series). A network's intervals come from its errors at every validation origin
        (the fold origins are among them), a baseline's from its errors at the folds."""
        horizon = self.horizon
        # name -> series -> (actual, forecasts, the rows at the fold origins)
        candidates: dict[str, dict[str, tuple[np.ndarray, np.ndarray, Any]]] = {}
        for sid, series in panel.items():
            plan = plans[sid]
            truth = make_targets(series.y, plan.val_origins, horizon)
            at_folds = np.asarray(plan.val_fold_origins) - plan.val_origins[0]
            for kind in self.networks_:
                point = self._network_forecasts(kind, self.framings_[kind][sid], values[sid],
                                                plan.val_origins)
                candidates.setdefault(self.name_of(kind), {})[sid] = (truth, point, at_folds)
            if self.config.model.kind == "auto":
                for baseline in self.config.baselines:
                    point, _ = baseline_forecasts(baseline, series.y, plan.val_fold_origins,
                                                  horizon, self.season_)
                    candidates.setdefault(baseline, {})[sid] = (truth[at_folds], point,
                                                                slice(None))
        levels = self.config.intervals
        self.intervals_: dict[str, dict[str, Any]] = {}
        self.validation_: dict[str, dict[str, float]] = {}
        for name, by_series in candidates.items():
            if self.config.model.loss == "pinball" and self._kind_named(name):
                self.intervals_[name] = {"quantiles": True}  # the network's own
            else:
                units = {sid: _unit(self.mase_scales_[sid]) for sid in by_series}
                self.intervals_[name] = {
                    "series": {sid: fit_intervals(a, p, levels)
                               for sid, (a, p, _) in by_series.items()},
                    "pooled": fit_intervals(
                        np.concatenate([a / units[sid] for sid, (a, _, _) in by_series.items()]),
                        np.concatenate([p / units[sid] for sid, (_, p, _) in by_series.items()]),
                        levels)}
            errors = {sid: float(np.abs(a[rows] - p[rows]).mean())
                      for sid, (a, p, rows) in by_series.items()}
            self.validation_[name] = {
                "mae": float(np.mean(list(errors.values()))),
                "mase": float(np.mean([e / self.mase_scales_[sid]
                                       for sid, e in errors.items()]))}
        self.chosen_ = min(self.validation_, key=lambda n: self.validation_[n]["mase"])

    def _refit(self, values: dict[str, np.ndarray], plans: dict[str, SplitPlan],
               records: dict[str, list[tuple[TrainResult, Any]]], checkpoints: Path | None,
               resume: bool, budget: Budget) -> dict[str, float]:
        """Train each kind's networks again on training + validation for their chosen
        epochs, where the budget allows the whole kind; return the seconds per kind."""
        seconds: dict[str, float] = {}
        train = sum(len(plan.train_origins) for plan in plans.values())
        ratio = sum(len(plan.refit_origins) for plan in plans.values()) / max(train, 1)
        origins = {sid: plan.refit_origins for sid, plan in plans.items()}
        for kind, runs in records.items():
            needed = sum(r.seconds / max(len(r.history), 1) * max(r.best_epoch, 1) * ratio
                         for r, _ in runs)
            if needed > budget.left():
                continue  # the validated networks stay
            for sid, plan in plans.items():
                self.framings_[kind][sid].fit(values[sid], plan.test_start, self.season_,
                                              plan.horizon)
            networks, spent = [], 0.0
            for member, (result, _) in enumerate(runs):
                again = self._train(kind, values, origins, {}, member,
                                    _member_dir(checkpoints, kind, member, "refit"), resume,
                                    None, None, epochs=max(result.best_epoch, 1))
                networks.append(self.module_)
                spent += again.seconds
            self.networks_[kind], seconds[kind] = networks, spent
        return seconds

    # ---- forecasting ------------------------------------------------------------------

    def _network_outputs(self, kind: str, framed: Sequence[Framed]) -> list[np.ndarray]:
        """For each ``(framing, values, origins)`` of ``framed``, the ensemble's mean of
        each quantile's forecasts ``[quantiles, len(origins), horizon]`` in the target's
        units. Each member runs once over the windows of all of them."""
        totals = [np.zeros((len(self.quantiles), len(origins), self.horizon))
                  for _, _, origins in framed]
        with torch.inference_mode():
            for member, network in enumerate(self.networks_[kind]):
                lookback = self.member_lookback(member)
                x = np.concatenate([framing.inputs(values, origins, lookback)
                                    for framing, values, origins in framed])
                out = network(torch.from_numpy(x).float()).numpy()
                start = 0
                for (framing, values, origins), total in zip(framed, totals, strict=True):
                    part = out[start:start + len(origins)].reshape(len(origins), -1,
                                                                   self.horizon)
                    start += len(origins)
                    for q in range(part.shape[1]):
                        total[q] += self._from_model_units(
                            framing.restore_units(part[:, q], values, origins))
        return [total / len(self.networks_[kind]) for total in totals]

    def _network_forecasts(self, kind: str, framing: Framing, values: np.ndarray,
                           origins: list[int]) -> np.ndarray:
        """The ensemble's point (median) forecasts ``[len(origins), horizon]``."""
        return self._network_outputs(kind, [(framing, values, origins)])[0][0]

    def known(self, series_id: str | None) -> str | None:
        """The id of a series the model was trained on: ``series_id`` if it is one, the
        only one for a single-series model given none; None for a new series."""
        if series_id is None and len(self.series_ids_) == 1:
            return self.series_ids_[0]
        return series_id if series_id in self.series_ids_ else None

    def _framing_for(self, kind: str, series_id: str | None, values: np.ndarray) -> Framing:
        """The series' own framing, or for a new series one fitted on its history."""
        sid = self.known(series_id)
        if sid is not None:
            return self.framings_[kind][sid]
        framing = FRAMINGS.get(kind)()
        framing.fit(values, len(values), self.season_, self.horizon)
        return framing

    def min_history(self, name: str | None = None) -> int:
        """The fewest past points model ``name`` (default: the chosen one) forecasts
        from: the lookback, and for the hybrid the two seasons its smoothing starts from."""
        need = int(self.config.window.lookback)
        kind = self._kind_named(name or self.chosen_)
        if kind is None:
            return need
        framing = self.framings_[kind][self.series_ids_[0]]
        return max(need, framing.min_history)

    def forecast_at(self, series: Series, origins: list[int], name: str | None = None,
                    series_id: str | None = None) -> np.ndarray:
        """``[len(origins), horizon]`` forecasts of model ``name`` (default: the chosen
        one), each from the points before its origin (in the target's units). A series
        the model was not trained on (``series_id`` unknown, or None for a model of many
        series) is framed on the points before the first origin."""
        return self.predict_at(series, origins, name, series_id)[0]

    def predict_at(self, series: Series, origins: list[int], name: str | None = None,
                   series_id: str | None = None) -> tuple[np.ndarray, Bounds]:
        """:meth:`forecast_at`'s forecasts and their interval bounds."""
        return self._predict([(series, origins, series_id)], name)[0]

    def _predict(self, jobs: Sequence[tuple[Series, list[int], str | None]],
                 name: str | None = None) -> list[tuple[np.ndarray, Bounds]]:
        """:meth:`predict_at` for each ``(series, origins, series_id)`` of ``jobs``; a
        network's members run once over all of them."""
        self._check_fitted()
        name = name or self.chosen_
        need = self.min_history(name)
        for series, origins, _ in jobs:
            self._check_columns(series)
            if min(origins) < need:
                raise DataError(f"{series.source}: a forecast needs {need} past points; "
                                f"the series has {min(origins)} before the origin")
        kind = self._kind_named(name)
        if kind is None:  # a baseline: its point forecasts, as one quantile
            found_outputs = [baseline_forecasts(name, series.y, origins, self.horizon,
                                                self.season_)[0][None]
                             for series, origins, _ in jobs]
        else:
            framed = []
            for series, origins, series_id in jobs:
                values = self._to_model_units(series)
                framed.append((self._framing_for(kind, series_id, values[:min(origins)]),
                               values, origins))
            found_outputs = self._network_outputs(kind, framed)
        found = []
        for (series, origins, series_id), outputs in zip(jobs, found_outputs, strict=True):
            if len(outputs) == 1:
                found.append((outputs[0], self.interval_bounds(
                    name, outputs[0], series_id, series.y[:min(origins)])))
                continue
            sides = np.sort(outputs[1:].reshape(-1, 2, *outputs.shape[1:]), axis=1)
            found.append((outputs[0], {f"{level:g}": (low, high) for level, (low, high) in
                                       zip(self.config.intervals, sides, strict=True)}))
        return found

    def interval_bounds(self, name: str, point: np.ndarray, series_id: str | None = None,
                        history: np.ndarray | None = None) -> Bounds:
        """``{"0.8": (lower, upper), …}`` around the ``point`` forecasts of model ``name``
        for a known series, or for a new one (from the pooled errors, in units of the MASE
        scale of its ``history``, the values before the first origin); empty where the
        model has no error-based intervals (not a candidate, or forecasting quantiles)."""
        entry = self.intervals_.get(name)
        if entry is None or "quantiles" in entry:
            return {}
        sid = self.known(series_id)
        if sid is not None:
            return bounds(entry["series"][sid], point)
        scale = _unit(mase_scale(history, self.season_) if history is not None else 1.0)
        return {level: (low * scale, high * scale) for level, (low, high) in
                bounds(entry["pooled"], point / scale).items()}

    def forecast(self, series: Series, series_id: str | None = None
                 ) -> dict[str, np.ndarray]:
        """The next ``horizon`` values after the series ends, from the chosen model, with
        interval bounds: ``{"forecast": …, "lower_80": …, "upper_80": …, …}``."""
        return self.forecast_many([(series, series_id)])[0]

    def forecast_many(self, requests: Sequence[tuple[Series, str | None]]
                      ) -> list[dict[str, np.ndarray]]:
        """:meth:`forecast` for each ``(series, series_id)`` of ``requests``, the chosen
        network's members run once over all of them (what the server's batcher calls)."""
        if not requests:
            return []
        with np.errstate(over="ignore", invalid="ignore"):
            found = self._predict([(series, [len(series)], series_id)
                                   for series, series_id in requests])
        answers = []
        for (series, _), (point, around) in zip(requests, found, strict=True):
            out = {"forecast": point[0]}
            for level, (low, high) in around.items():
                pct = round(float(level) * 100)
                out[f"lower_{pct}"], out[f"upper_{pct}"] = low[0], high[0]
            if not all(np.isfinite(values).all() for values in out.values()):
                raise DataError(
                    f"{series.source}: the forecast overflows (values too large for the "
                    "model's scale, the largest is "
                    f"{np.abs(series.frame.to_numpy(dtype=float)).max():.3g}); send values in "
                    "the range the model was trained on")
            answers.append(out)
        return answers

    # ---- bundle -----------------------------------------------------------------------

    def to_bundle(self, metrics: dict[str, Any] | None = None
                  ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Every network's weights and every series' framing state; the rest in the JSON
        header."""
        tensors: dict[str, torch.Tensor] = {}
        framings: dict[str, list[dict[str, Any]]] = {}
        for kind, networks in self.networks_.items():
            framings[kind] = []
            for i, sid in enumerate(self.series_ids_):
                state, meta = self.framings_[kind][sid].state()
                tensors |= prefixed(state, f"framing.{kind}.{i}")
                framings[kind].append(meta)
            for member, network in enumerate(networks):
                tensors |= prefixed(network.state_dict(), f"network.{kind}.{member}")
        meta = {"config": self.config.model_dump(mode="json"), "columns": self.columns_,
                "target": self.target_, "freq": self.freq_, "season": self.season_,
                "series": self.series_ids_, "mase_scales": self.mase_scales_,
                "kinds": list(self.networks_), "framings": framings,
                "members": {k: len(v) for k, v in self.networks_.items()},
                "chosen": self.chosen_, "validation": self.validation_,
                "intervals": self.intervals_, "fit_info": self.fit_info_,
                "metrics": metrics or {}}
        return tensors, meta

    @classmethod
    def restore(cls, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> Forecaster:
        if "kinds" not in meta:
            raise ValueError("it was saved by an earlier seqlab, with one network and no "
                             "framings; train it again with this version")
        self = cls(ForecastConfig.model_validate(meta["config"]))
        self.columns_, self.target_ = meta["columns"], meta["target"]
        self.freq_, self.season_ = meta["freq"], meta["season"]
        self.series_ids_, self.mase_scales_ = list(meta["series"]), meta["mase_scales"]
        self.chosen_, self.validation_ = meta["chosen"], meta["validation"]
        self.intervals_ = meta["intervals"]
        self.framings_, self.networks_ = {}, {}
        for kind in meta["kinds"]:
            self.framings_[kind] = {}
            for i, sid in enumerate(self.series_ids_):
                framing = FRAMINGS.get(kind)()
                framing.load_state(unprefixed(tensors, f"framing.{kind}.{i}"),
                                   meta["framings"][kind][i])
                self.framings_[kind][sid] = framing
            self.networks_[kind] = []
            for member in range(int(meta["members"][kind])):
                network = self._build(kind, len(self.columns_), self.season_, member)
                network.load_state_dict(unprefixed(tensors, f"network.{kind}.{member}"))
                self.networks_[kind].append(network.eval())
        if self.chosen_ not in self.intervals_:
            raise ValueError(f"the chosen model {self.chosen_!r} has no intervals")
        self.module_ = next(iter(self.networks_.values()))[0]
        return self


def as_panel(data: Series | Panel) -> Panel:
    """A panel as it is; one series as a panel of one, under its target's name."""
    return data if isinstance(data, dict) else {data.target: data}


def _unit(scale: float) -> float:
    """A series' MASE scale as a unit: 1 where it is zero or undefined (a flat series)."""
    return scale if np.isfinite(scale) and scale > 0 else 1.0


def _member_dir(checkpoints: Path | None, kind: str, member: int,
                stage: str = "") -> Path | None:
    """Where one network's checkpoints go: ``checkpoints/<kind>-<member>[/refit]``."""
    if checkpoints is None:
        return None
    folder = checkpoints / f"{kind}-{member}"
    return folder / stage if stage else folder
