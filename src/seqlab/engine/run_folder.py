"""The run folder every task writes: made once, never mixed with another run, resumable.

A run folder holds ``config.yaml`` (what reproduces it), the model bundle, ``metrics.json``,
``history.csv``, plots and ``report.html``; ``checkpoints/`` while it trains.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from seqlab.artifacts import atomic_write_text
from seqlab.config import AUTO, flatten_dotted, read_yaml_mapping, set_dotted, validate_model
from seqlab.errors import ConfigError
from seqlab.training.distributed import world


class RunSettings(Protocol):
    """What a run folder needs of a task's config (RunConfig, ForecastConfig, …)."""

    @property
    def run_dir(self) -> Path: ...

    def to_yaml(self) -> str: ...

    def model_dump(self, *, mode: str) -> dict[str, Any]: ...


BUDGET_KEYS = ("training.max_minutes", "training.max_epochs")  # a resumed run may get more


def check_resume(config: RunSettings, run_dir: Path) -> None:
    """Refuse to resume ``run_dir`` with options other than its own, but for the budget
    (``BUDGET_KEYS``): a run that stopped at its budget may be given more and go on from
    its last epoch, and its ``config.yaml`` then records the budget it now has."""
    saved_path = run_dir / "config.yaml"
    if not saved_path.exists():
        raise ConfigError(f"{run_dir}: nothing to resume (no config.yaml); start without --resume")
    saved_config = validate_model(type(config), read_yaml_mapping(saved_path), str(saved_path))
    saved = flatten_dotted(saved_config.model_dump(mode="json"))
    given = flatten_dotted(config.model_dump(mode="json"))
    # an automatic setting matches the number it resolved to (which the saved config holds)
    differing = [key for key in given if given[key] != saved.get(key) and given[key] != AUTO]
    budget = [key for key in differing if key in BUDGET_KEYS]
    if len(budget) < len(differing):
        raise ConfigError(
            f"{run_dir}: the options differ from the run's saved config at "
            f"{', '.join(k for k in differing if k not in budget)}. Resume with "
            f"`seqlab train --config {saved_path} --resume` (a larger --max-minutes or "
            "--epochs may go with it)."
        )
    if not budget:
        return
    if saved.get("training.scheduler") == "cosine":
        raise ConfigError(
            f"{run_dir}: its cosine schedule is laid over its own budget, so it resumes only "
            f"with the same {' and '.join(budget)}; train a new run for a longer schedule.")
    data = saved_config.model_dump(mode="json")
    for key in budget:
        set_dotted(data, key, given[key])
    atomic_write_text(saved_path, validate_model(type(config), data, str(saved_path)).to_yaml())


def holds_run(run_dir: Path) -> bool:
    """Whether ``run_dir`` holds a finished or resumable run (a model or a checkpoint);
    a folder left by a run that failed before its first checkpoint holds neither."""
    return any(run_dir.glob("*.safetensors")) or any(run_dir.glob("checkpoints/*.safetensors"))


def remove_stale_temporaries(run_dir: Path) -> list[Path]:
    """Delete the temporary files a killed write left behind (``.<name>.*.tmp``)."""
    stale = [p for pattern in (".*.tmp", "checkpoints/.*.tmp") for p in run_dir.glob(pattern)]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def prepare_run_dir(config: RunSettings, resume: bool, overwrite: bool) -> Path:
    """Create the run folder; refuse to mix a new run into an old one.

    A folder holding no model and no checkpoint (a run that failed early) is reused, and
    the temporary files of an interrupted write are removed on every start. Under
    torchrun only rank 0 writes the run: the other processes get its path (where they
    read the checkpoints on resume) and touch nothing.
    """
    run_dir = config.run_dir
    if not world().is_main:
        return run_dir
    if run_dir.exists() and not run_dir.is_dir():
        raise ConfigError(f"{run_dir}: a file has that name, so it cannot be the run folder; "
                          "pick another --name or --output-dir")
    if resume:
        check_resume(config, run_dir)
        remove_stale_temporaries(run_dir)
        return run_dir
    if run_dir.exists() and holds_run(run_dir) and not overwrite:
        raise ConfigError(
            f"{run_dir} already holds a run. Pick another --name, pass --resume to continue "
            "it, or --force to replace it."
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(run_dir)
    for stale in ("checkpoints/last.safetensors", "checkpoints/best.safetensors"):
        (run_dir / stale).unlink(missing_ok=True)
    atomic_write_text(run_dir / "config.yaml", config.to_yaml())
    return run_dir


def write_history(path: Path, history: Sequence[dict[str, Any]]) -> None:
    """The per-epoch records as ``history.csv`` (every task's run folder has one)."""
    if not history:
        return
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(history[0]))
    writer.writeheader()
    writer.writerows(history)
    atomic_write_text(path, buffer.getvalue())


def write_fit_record(run_dir: Path, metrics: dict[str, Any], model: Any,
                     curve_metric: str | None) -> dict[str, str]:
    """Write ``metrics.json``, the model's ``history.csv`` and, with ``curve_metric``
    (trained by epochs), ``learning_curves.png``; return the images written, title → file,
    for the report."""
    atomic_write_text(run_dir / "metrics.json", json.dumps(metrics, indent=2, default=str))
    write_history(run_dir / "history.csv", model.history_)
    if curve_metric is None:
        return {}
    from seqlab.evaluation.plots import plot_learning_curves

    plot_learning_curves(model.history_, run_dir / "learning_curves.png", curve_metric,
                         model.best_epoch_)
    return {"Learning curves": "learning_curves.png"}
