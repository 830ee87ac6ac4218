"""What a task is to the rest of seqlab, and the registry of tasks.

A task (``classify``, ``tag``, ``lm``, ``forecast``) is one package under
``seqlab.tasks`` that registers one :class:`Task`. Everything shared works through it:
``compare`` and ``tune`` train and rank any task's runs by its own metrics, ``serve``
mounts its routes on the one server app, and the CLI gives every task the same verbs.
Registering a task imports nothing heavy: a task loads torch and its model code when one
of its methods runs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from seqlab.config import RunFolderConfig, validate_model
from seqlab.engine.estimator import kept_validation
from seqlab.errors import ConfigError
from seqlab.registry import Registry

if TYPE_CHECKING:
    from seqlab.serving.app import ServedModel, ServeSettings
    from seqlab.training.trainer import TrainCallbacks

Notify = Callable[[str], None]
SearchSpace = dict[str, dict[str, Any]]  # dotted config key → Optuna parameter spec


def quiet(_: str) -> None:
    """A ``notify`` that says nothing."""
    return None


@dataclass(frozen=True)
class Metric:
    """A validation metric runs can be ranked by."""

    name: str
    higher_is_better: bool

    @property
    def direction(self) -> str:
        """Optuna's word for it: ``maximize`` or ``minimize``."""
        return "maximize" if self.higher_is_better else "minimize"

    def best(self, values: list[float]) -> float:
        return max(values) if self.higher_is_better else min(values)


@dataclass
class RunSummary:
    """What a finished run folder says: validation and test scores and fit facts."""

    run_dir: Path
    validation: dict[str, float]
    test: dict[str, float]
    fit: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrialResult:
    """One training scored on validation only, for a tuning trial."""

    validation: dict[str, float]
    best_epoch: int
    seconds: float

    @classmethod
    def of(cls, model: Any) -> TrialResult:
        """A fitted estimator's trial: the validation scores of the weights it kept."""
        return cls({k.removeprefix("val_"): v for k, v in kept_validation(model).items()},
                   model.best_epoch_, model.fit_info_["train_seconds"])


class Task(Protocol):
    """One kind of sequence problem, as the shared engine sees it."""

    name: str  # the command group: seqlab <name> train …
    title: str  # for help texts and reports
    config_class: type[RunFolderConfig]
    bundle_kinds: tuple[str, ...]  # the bundle formats its models are saved in
    metrics: tuple[Metric, ...]  # validation metrics to rank by; the first is the primary
    test_metrics: tuple[str, ...]  # what leaderboards show of the test scores
    data_key: str  # the config key of the training data (what --data sets)
    onnx_spec: str | None  # the JSON file that marks a folder as its ONNX export

    def train(self, config: Any, callbacks: TrainCallbacks | None = None,
              resume: bool = False, overwrite: bool = False,
              notify: Notify = quiet) -> Path | None:
        """Train, score test once, write the whole run folder; return it (None in the
        processes after rank 0 of a distributed run, which write nothing)."""
        ...

    def summary(self, run_dir: Path) -> RunSummary:
        """The scores a finished run folder holds (its ``metrics.json``)."""
        ...

    def freeze_data(self, config: Any, folder: Path) -> dict[str, Any]:
        """Overrides that give every run of a comparison or study the same split (files
        written to ``folder`` where the split would otherwise depend on the seed)."""
        ...

    def trial_data(self, config: Any) -> Any:
        """The data a tuning trial trains on, read once for the whole study."""
        ...

    def fit_trial(self, config: Any, data: Any,
                  callbacks: TrainCallbacks | None = None) -> TrialResult:
        """Train on ``data`` and score validation only (test is never read)."""
        ...

    def default_space(self, config: Any) -> dict[str, dict[str, Any]]:
        """The tune search space when a spec gives none (dotted key → parameter)."""
        ...

    def serve(self, settings: ServeSettings) -> ServedModel:
        """Load the model ``settings`` names, once, with the routes it mounts on the
        shared server app."""
        ...


TASKS: Registry[Task] = Registry("task")


def _registered() -> Registry[Task]:
    import seqlab.tasks  # noqa: F401  (each task registers itself on import)

    return TASKS


def get_task(name: str) -> Task:
    """The task registered as ``name``; a ConfigError lists the known ones."""
    return _registered().get(name)


def task_names() -> list[str]:
    return _registered().names()


def task_for_config(config_class: type) -> Task:
    """The task whose runs are configured by ``config_class``."""
    for name in _registered():
        if TASKS.get(name).config_class is config_class:
            return TASKS.get(name)
    raise ConfigError(f"no task is configured by {config_class.__name__}")


def task_for_bundle(kind: str | None) -> Task:
    """The task whose models are saved as bundle format ``kind`` (a classifier when the
    bundle names none, as the first bundles did not)."""
    for name in _registered():
        task = TASKS.get(name)
        if kind in task.bundle_kinds:
            return task
    if kind is None:
        return TASKS.get("classify")
    raise ConfigError(f"no task reads bundles of format {kind!r}")


def task_for_export(folder: str | Path) -> Task:
    """The task whose ONNX export ``folder`` holds (by its spec file)."""
    exporters = {task.onnx_spec: task for task in map(TASKS.get, _registered())
                 if task.onnx_spec}
    for spec, task in exporters.items():
        if (Path(folder) / spec).exists():
            return task
    raise ConfigError(f"{folder}: not an ONNX export (no {' or '.join(exporters)}); "
                      "export with `seqlab export MODEL` or `seqlab seq2seq export MODEL`")


def metric_of(task: Task, name: str | None) -> Metric:
    """The task's metric called ``name`` (its primary one for None)."""
    if name is None:
        return task.metrics[0]
    for metric in task.metrics:
        if metric.name == name:
            return metric
    raise ConfigError(f"{task.name} runs are ranked by one of: "
                      f"{', '.join(m.name for m in task.metrics)} (got {name!r})")


def pick_metric(task: Task, name: str | None, scored: dict[str, float]) -> Metric:
    """The metric to rank by: ``name`` if given, else the first of the task's metrics
    that the run scored (a tagger scores entity F1 only for entity tags)."""
    if name is not None:
        metric = metric_of(task, name)
        if metric.name not in scored:
            raise ConfigError(f"these {task.name} runs have no validation {name} (they "
                              f"scored: {', '.join(scored)}); set `metric` to one of those")
        return metric
    return next((m for m in task.metrics if m.name in scored), task.metrics[0])


def parse_task_config(task: Task, data: dict[str, Any], source: str = "config") -> Any:
    """Validate a mapping into the task's config class."""
    return validate_model(task.config_class, data, source)


def read_metrics(run_dir: Path) -> dict[str, Any]:
    """A run folder's ``metrics.json``."""
    return json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))


def floats(scores: dict[str, Any] | None) -> dict[str, float]:
    """The float-valued entries of a scores mapping (counts and tables left out)."""
    return {k: v for k, v in (scores or {}).items() if isinstance(v, float)}


def _imported(target: str) -> Any:
    """The object ``"package.module:name"`` names, imported when first asked for."""
    from importlib import import_module

    module, name = target.split(":")
    return getattr(import_module(module), name)


class TaskBase:
    """What most tasks share: a workflow function that trains and writes the run folder,
    whose ``metrics.json`` holds ``val``, ``test`` and ``fit_info``, a split that does not
    depend on the seed, the tuning space, and routes in a module with a
    ``serve(settings)`` function. Modules are named, and imported when used."""

    workflow: str  # "module:function"; the function returns an outcome with ``run_dir``
    routes: str  # e.g. "seqlab.tasks.tag.routes"
    space: ClassVar[SearchSpace]  # the default tune search space
    data_key = "data.train"
    onnx_spec: str | None = None

    def train(self, config: Any, callbacks: TrainCallbacks | None = None,
              resume: bool = False, overwrite: bool = False,
              notify: Notify = quiet) -> Path | None:
        outcome = _imported(self.workflow)(config, callbacks, resume, overwrite, notify)
        return None if outcome is None else outcome.run_dir

    def default_space(self, config: Any) -> SearchSpace:
        return self.space

    def summary(self, run_dir: Path) -> RunSummary:
        metrics = read_metrics(run_dir)
        return RunSummary(run_dir, floats(metrics["val"]), floats(metrics["test"]),
                          metrics["fit_info"])

    def freeze_data(self, config: Any, folder: Path) -> dict[str, Any]:
        return {}

    def serve(self, settings: ServeSettings) -> ServedModel:
        return _imported(f"{self.routes}:serve")(settings)
