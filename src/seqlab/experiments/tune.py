"""``seqlab [TASK] tune``: an Optuna study over a search space, with pruning and shared
storage. Any task tunes: ``task`` in the spec (``classify`` by default) says whose config
the space sets, which validation metric is optimised (the task's primary one unless
``metric`` names another) and in which direction, and which space is searched when the
spec gives none.

A trial trains once per seed in ``seeds`` and scores the mean validation metric, so
that the search ranks configurations rather than lucky seeds; only the first seed's
epochs feed the pruner. Unless ``start_from_base`` is off, the first trial is the base
configuration itself (where the space admits its values), so the search can only
replace the default with something that scored better on validation.

The study lives in a storage URL: by default a SQLite file in the tune folder; any
SQLAlchemy URL (e.g. PostgreSQL) lets workers on many machines run the same command and
share one study. ``--trials`` counts for the whole study, not per worker: a worker whose
new trial would go past the total (counting the finished trials and those drawn before
it that still run) stops, and that draw is recorded as a failed trial marked
``surplus``. Every worker sends a heartbeat (``heartbeat`` seconds); the trial of a worker
that died is failed once it has been silent for twice that, and retried with the same
parameters (up to ``retries`` times) by the next worker to start a trial; so is a trial
whose worker died before it began to train (and so before its first heartbeat). Validation
scores every trial; the test split is used once, by the retrained best model.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from seqlab.artifacts import atomic_write_text
from seqlab.config import apply_overrides, flatten_dotted, validate_model
from seqlab.engine.task import Metric, Task, get_task, metric_of, pick_metric
from seqlab.experiments.common import base_config, check_keys, environment, task_of, with_split

Notify = Callable[[str], None]


class Param(BaseModel):
    """One dimension of the search space."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["int", "float", "categorical"]
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: list[Any] | None = None

    @model_validator(mode="after")
    def _complete(self) -> Param:
        if self.type == "categorical" and not self.choices:
            raise ValueError("a categorical parameter needs `choices`")
        if self.type != "categorical" and (self.low is None or self.high is None
                                           or self.low > self.high):
            raise ValueError("a numeric parameter needs `low` <= `high`")
        return self


class TuneSpec(BaseModel):
    """What to tune: the base config, the space, the budget and where the study lives."""

    model_config = ConfigDict(extra="forbid")
    task: str = "classify"
    name: str = "tune"
    output_dir: str = "runs"
    base: dict[str, Any] = Field(default_factory=dict)
    space: dict[str, Param] | None = None
    metric: str | None = Field(None, description="validation metric; unset: the task's own")
    trials: int = Field(20, ge=0)
    timeout: float | None = Field(None, gt=0, description="seconds for this worker")
    storage: str | None = None
    study: str | None = None
    pruning: bool = True
    prune_after_trials: int = Field(8, ge=0, description="trials finished before pruning starts")
    prune_after_epochs: int = Field(4, ge=0, description="epochs a trial always gets")
    seeds: list[int] = Field(default_factory=lambda: [13], min_length=1,
                             description="each trial's score is the mean over these seeds")
    start_from_base: bool = Field(True, description="the first trial is the base config")
    heartbeat: int = Field(60, ge=1, description="seconds between a worker's heartbeats; a "
                           "trial silent for twice as long is failed and retried")
    retries: int = Field(2, ge=0, description="how often a dead worker's trial is retried")

    @property
    def folder(self) -> Path:
        return Path(self.output_dir) / self.name

    def storage_url(self) -> str:
        return self.storage or f"sqlite:///{(self.folder / 'study.db').resolve()}"

    def study_name(self) -> str:
        return self.study or self.name


def load_spec(data: dict[str, Any], source: str) -> TuneSpec:
    spec = validate_model(TuneSpec, data, source)
    task = task_of(spec.task, source)
    metric_of(task, spec.metric)
    if spec.space is not None:
        check_keys(task, list(spec.space), f"{source}: space")
    return spec


def search_space(spec: TuneSpec, task: Task, base: Any) -> dict[str, Param]:
    if spec.space is not None:
        return spec.space
    return {k: Param(**v) for k, v in task.default_space(base).items()}


def _suggest(trial: Any, key: str, param: Param) -> Any:
    if param.type == "categorical":
        return trial.suggest_categorical(key, param.choices)
    if param.type == "int":
        return trial.suggest_int(key, int(param.low), int(param.high), log=param.log,
                                 step=int(param.step or 1))
    return trial.suggest_float(key, param.low, param.high, log=param.log, step=param.step)


class _Surplus(Exception):
    """This worker drew a trial number past the study's total: stop."""


class _PruningReporter:
    """Trainer callbacks that report each epoch's validation metric to Optuna. Only the
    first training is reported: an ensemble's later members start again at epoch 1."""

    def __init__(self, trial: Any, metric: Metric, pruning: bool) -> None:
        self.trial, self.metric, self.pruning = trial, metric, pruning
        self.best: float | None = None
        self.trainings = 0

    def on_train_start(self, *args: Any) -> None:
        self.trainings += 1

    def on_batch_end(self, *args: Any) -> None:
        pass

    def on_epoch_end(self, record: dict[str, float]) -> None:
        import optuna

        key = f"val_{self.metric.name}"
        if self.trainings > 1 or key not in record:
            return
        # the best so far, so that a trial is judged on what early stopping would keep
        score = record[key]
        self.best = score if self.best is None else self.metric.best([self.best, score])
        self.trial.report(self.best, int(record["epoch"]))
        if self.pruning and self.trial.should_prune():
            raise optuna.TrialPruned()


def open_study(spec: TuneSpec, attempts: int = 5) -> Any:
    """Create or join the study. Workers started together may race to create the
    storage's tables; the loser waits a moment and joins."""
    import optuna
    from sqlalchemy.exc import SQLAlchemyError

    url = spec.storage_url()
    engine = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}
    retry = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=spec.retries)
    for attempt in range(attempts):
        try:
            storage = optuna.storages.RDBStorage(
                url, engine_kwargs=engine, heartbeat_interval=spec.heartbeat,
                grace_period=2 * spec.heartbeat, heartbeat_stale_trial_callback=retry)
            return optuna.create_study(
                study_name=spec.study_name(), storage=storage,
                direction=metric_of(get_task(spec.task), spec.metric).direction,
                load_if_exists=True, sampler=optuna.samplers.TPESampler(seed=None),
                pruner=optuna.pruners.MedianPruner(n_startup_trials=spec.prune_after_trials,
                                                   n_warmup_steps=spec.prune_after_epochs),
            )
        except SQLAlchemyError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.5 + attempt)
    raise AssertionError("unreachable")


def base_point(space: dict[str, Param], base: Any) -> dict[str, Any] | None:
    """The base config's value for every key of the space, or None where one lies outside."""
    flat = flatten_dotted(base.model_dump(mode="json"))
    point = {}
    for key, param in space.items():
        value = flat[key]
        inside = (value in param.choices if param.type == "categorical"
                  else param.low <= value <= param.high)
        if not inside:
            return None
        point[key] = value
    return point


def run_tuning(spec: TuneSpec, retrain: bool = True, notify: Notify = print) -> Path:
    """Run this worker's share of the study, then write the report (and retrain the best)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    task = get_task(spec.task)
    folder = spec.folder
    folder.mkdir(parents=True, exist_ok=True)
    base = base_config(task, spec.base, spec.name, spec.output_dir)
    space = search_space(spec, task, base)
    for key, param in space.items():  # every choice and both bounds must make a valid config
        values = param.choices if param.type == "categorical" else [param.low, param.high]
        for value in values or []:
            apply_overrides(base, {key: int(value) if param.type == "int" else value})
    base = with_split(task, base, task.freeze_data(base, folder / "data"))
    atomic_write_text(folder / "spec.yaml",
                      yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False))
    atomic_write_text(folder / "environment.json", json.dumps(environment(), indent=2))
    data = task.trial_data(base)
    study = open_study(spec)
    if spec.start_from_base and not study.get_trials(deepcopy=False):
        point = base_point(space, base)
        if point is None:
            notify("the base config lies outside the search space: not enqueued as trial 0")
        else:
            study.enqueue_trial(point, user_attrs={"base": True}, skip_if_exists=True)
    _fail_unstarted(study, spec)
    requested = metric_of(task, spec.metric)

    def objective(trial: Any) -> float:
        if taken_before(study, trial.number) >= spec.trials:
            trial.set_user_attr("surplus", True)
            study.stop()
            raise _Surplus
        trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
        overrides = {key: _suggest(trial, key, param) for key, param in space.items()}
        scores, epochs, seconds = [], [], 0.0
        reporter = _PruningReporter(trial, requested, spec.pruning)
        for index, seed in enumerate(spec.seeds):
            config = apply_overrides(base, overrides | {"seed": seed})
            result = task.fit_trial(config, data, reporter if index == 0 else None)
            metric = pick_metric(task, spec.metric, result.validation)
            reporter.metric = metric  # a tagger without entities is ranked by accuracy
            scores.append(result.validation[metric.name])
            epochs.append(result.best_epoch)
            seconds += result.seconds
        trial.set_user_attr("metric", metric.name)
        trial.set_user_attr("seed_scores", scores)
        trial.set_user_attr("best_epoch", epochs[0])
        trial.set_user_attr("train_seconds", seconds)
        return sum(scores) / len(scores)

    def taken_before(study: Any, number: int) -> int:
        """Finished trials, and those still running that were drawn before ``number``."""
        states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED,
                  optuna.trial.TrialState.RUNNING)
        return sum(1 for t in study.get_trials(deepcopy=False, states=states)
                   if t.state != optuna.trial.TrialState.RUNNING or t.number < number)

    def finished(study: Any) -> int:
        states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
        return len(study.get_trials(deepcopy=False, states=states))

    began = time.monotonic()
    if finished(study) < spec.trials:
        study.optimize(
            objective, timeout=spec.timeout, catch=(_Surplus,), gc_after_trial=True,
            callbacks=[optuna.study.MaxTrialsCallback(
                spec.trials, states=(optuna.trial.TrialState.COMPLETE,
                                     optuna.trial.TrialState.PRUNED))],
        )
    notify(f"this worker ran for {time.monotonic() - began:.0f}s; the study has "
           f"{finished(study)} finished trials")
    from seqlab.experiments.tune_report import write_tune_report

    best_config = write_tune_report(study, base, spec, folder)
    if retrain and best_config is not None:
        notify("retraining the best configuration and scoring the test split once")
        summary = task.summary(task.train(best_config, overwrite=True))
        shown = ", ".join(f"{k} {summary.test[k]:.4f}" for k in task.test_metrics
                          if k in summary.test) or "no test split was held out"
        notify(f"best model: {summary.run_dir / 'model.safetensors'}; test: {shown}")
    return folder


def _fail_unstarted(study: Any, spec: TuneSpec) -> None:
    """Fail, and retry, the running trials whose worker died between drawing them and
    starting to train: they have no ``worker`` mark, which a live worker sets within
    moments, and they are older than the grace period. Optuna's heartbeat check skips a
    trial that never sent a heartbeat, so such a trial would stay RUNNING forever."""
    import datetime

    import optuna

    cutoff = datetime.datetime.now() - datetime.timedelta(seconds=2 * spec.heartbeat)
    retry = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=spec.retries)
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        if "worker" not in trial.user_attrs and trial.datetime_start < cutoff:
            study.tell(trial.number, state=optuna.trial.TrialState.FAIL)
            retry(study, trial)  # copies its parameters and attributes, not its state


def best_run_config(base: Any, params: dict[str, Any], folder: Path) -> Any:
    """The base config with the best parameters: what ``seqlab train --config`` takes."""
    return apply_overrides(base, {**params, "name": "best", "output_dir": str(folder)})
