"""Optional experiment tracking: TensorBoard and MLflow, as trainer callbacks.

Neither is needed by the core install; asking for one that is not installed is a clear
error before training starts.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from seqlab.errors import ConfigError


class CallbackList:
    """Send every trainer event to several callbacks (None entries are skipped)."""

    def __init__(self, callbacks: list[Any]) -> None:
        self.callbacks = [c for c in callbacks if c is not None]

    def on_train_start(self, max_epochs: int, batches_per_epoch: int, start_epoch: int) -> None:
        for c in self.callbacks:
            c.on_train_start(max_epochs, batches_per_epoch, start_epoch)

    def on_batch_end(self, epoch: int, batch: int, loss: float) -> None:
        for c in self.callbacks:
            c.on_batch_end(epoch, batch, loss)

    def on_epoch_end(self, record: dict[str, float]) -> None:
        for c in self.callbacks:
            c.on_epoch_end(record)


class TensorBoardLogger:
    """Per-epoch scalars (losses, validation metrics, learning rate) as TensorBoard events."""

    def __init__(self, log_dir: Path) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(log_dir))

    def on_train_start(self, *args: Any) -> None:
        pass

    def on_batch_end(self, *args: Any) -> None:
        pass

    def on_epoch_end(self, record: dict[str, float]) -> None:
        epoch = int(record["epoch"])
        for key, value in record.items():
            if key not in ("epoch", "seconds"):
                self.writer.add_scalar(key.replace("_", "/", 1) if key.startswith("val_")
                                       else key, value, epoch)
        self.writer.flush()


class MlflowLogger:
    """Parameters once, metrics per epoch, to the MLflow tracking URI (default ./mlruns)."""

    def __init__(self, run_name: str, params: dict[str, Any], uri: str | None) -> None:
        import mlflow

        if uri:
            mlflow.set_tracking_uri(uri)
        self.mlflow = mlflow
        self.run = mlflow.start_run(run_name=run_name)
        mlflow.log_params({k: str(v)[:250] for k, v in params.items()})

    def on_train_start(self, *args: Any) -> None:
        pass

    def on_batch_end(self, *args: Any) -> None:
        pass

    def on_epoch_end(self, record: dict[str, float]) -> None:
        self.mlflow.log_metrics({k: float(v) for k, v in record.items() if k != "epoch"},
                                step=int(record["epoch"]))


def _require(module: str, what: str, install: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise ConfigError(f"tracking.{what} is on but {module} is not installed: "
                          f"pip install {install}")


def require_trackers(tensorboard: bool, mlflow: bool) -> None:
    """Fail, before anything is written, if a requested tracker is not installed."""
    if tensorboard:
        _require("tensorboard", "tensorboard", "tensorboard")
    if mlflow:
        _require("mlflow", "mlflow", "mlflow")


def make_trackers(tensorboard: bool, mlflow: bool, mlflow_uri: str | None, run_dir: Path,
                  run_name: str, params: dict[str, Any]) -> list[Any]:
    """The tracking callbacks a config asks for (checked before any training)."""
    require_trackers(tensorboard, mlflow)
    trackers: list[Any] = []
    if tensorboard:
        trackers.append(TensorBoardLogger(run_dir / "tensorboard"))
    if mlflow:
        trackers.append(MlflowLogger(run_name, params, mlflow_uri))
    return trackers
