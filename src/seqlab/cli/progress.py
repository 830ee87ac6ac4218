"""Rich progress bars fed by the trainer's callbacks, and the one way every training
command runs under them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from seqlab.cli.common import console, errors

T = TypeVar("T")


class _Bars:
    """A rich ``Progress`` shown while the ``with`` block runs."""

    progress: Progress

    def __enter__(self) -> _Bars:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()


class RichProgress(_Bars):
    """Shows a bar per epoch with the running loss, and a line of metrics after each."""

    def __init__(self, console: Console, monitor: str) -> None:
        self.console = console
        self.monitor = monitor
        self.progress = Progress(
            TextColumn("[bold]epoch {task.fields[epoch]}/{task.fields[max_epochs]}"),
            BarColumn(), MofNCompleteColumn(), TextColumn("loss {task.fields[loss]:.4f}"),
            TimeElapsedColumn(), console=console, transient=True,
        )
        self.task = None
        self.max_epochs = 0
        self.batches = 0
        self.loss_sum = 0.0

    def on_train_start(self, max_epochs: int, batches_per_epoch: int, start_epoch: int) -> None:
        self.max_epochs = max_epochs
        self.batches = batches_per_epoch
        if start_epoch > 1:
            self.console.print(f"resuming after epoch {start_epoch - 1}")
        self._new_task(start_epoch)

    def _new_task(self, epoch: int) -> None:
        if self.task is not None:
            self.progress.remove_task(self.task)
        self.loss_sum = 0.0
        self.task = self.progress.add_task("train", total=self.batches or None, epoch=epoch,
                                           max_epochs=self.max_epochs, loss=0.0)

    def on_batch_end(self, epoch: int, batch: int, loss: float) -> None:
        self.loss_sum += loss
        self.progress.update(self.task, advance=1, loss=self.loss_sum / (batch + 1))

    def on_epoch_end(self, record: dict[str, float]) -> None:
        shown = {"loss": "loss", "accuracy": "acc", self.monitor: self.monitor.replace("_", "-")}
        metrics = "  ".join(f"{short} {record['val_' + key]:.4f}" for key, short in shown.items()
                            if "val_" + key in record)
        took = f" | {record['seconds']:.0f}s" if "seconds" in record else ""
        self.console.print(
            f"epoch {int(record['epoch']):>3}  loss {record['train_loss']:.4f} | val {metrics}"
            f"{took}", highlight=False,
        )
        self._new_task(int(record["epoch"]) + 1)


class EpochProgress(_Bars):
    """One bar over epochs, for tasks with many short epochs (forecasting)."""

    def __init__(self, console: Console, monitor: str) -> None:
        self.monitor = monitor
        self.progress = Progress(
            TextColumn("[bold]training"), BarColumn(), MofNCompleteColumn(),
            TextColumn("epochs · validation {task.fields[metric]}"), TimeElapsedColumn(),
            console=console, transient=True,
        )
        self.task: TaskID | None = None

    def on_train_start(self, max_epochs: int, batches_per_epoch: int, start_epoch: int) -> None:
        self.task = self.progress.add_task("train", total=max_epochs, completed=start_epoch - 1,
                                           metric="")

    def on_batch_end(self, epoch: int, batch: int, loss: float) -> None:
        pass

    def on_epoch_end(self, record: dict[str, float]) -> None:
        value = record.get(f"val_{self.monitor}")
        shown = f"{self.monitor} {value:.4g}" if value is not None else ""
        self.progress.update(self.task, advance=1, metric=shown)


def train_with_progress(bars: RichProgress | EpochProgress, command: str,
                        workflow: Callable[..., T], config: Any, resume: bool, force: bool,
                        quiet: bool) -> T:
    """Print the run folder and run a task's ``workflow(config, callbacks, resume,
    overwrite, notify)`` under ``bars`` (no output when ``quiet``). Ctrl-C ends with where
    the finished epochs are and the ``command`` that resumes them, exit code 130."""
    run_dir = config.run_dir
    console.print(f"run folder: [bold]{run_dir}[/]")
    try:
        with bars:
            return workflow(config, None if quiet else bars, resume, force,
                            (lambda _: None) if quiet else console.print)
    except KeyboardInterrupt:
        errors.print(
            f"\ninterrupted. Finished epochs are kept in {run_dir / 'checkpoints'}; continue "
            f"with:\n  {command} --config {run_dir / 'config.yaml'} --resume"
        )
        raise typer.Exit(130) from None
