"""The training loop shared by every task.

A task's estimator hands the :class:`Trainer` its model and a :class:`TrainingPlan`: the
batches of an epoch, the loss of a batch and the validation metrics (most estimators do it
through :meth:`seqlab.engine.estimator.Estimator.train_module`). The trainer owns the
rest: optimizer (fused: one kernel steps every parameter) and schedule, gradient
clipping, the number format the loss and validation compute in (``precision``; see
:mod:`seqlab.training.precision`), early stopping on a validation metric, the time
budget, best/last checkpoints and resuming from the last one. With
``average_epochs`` N ≥ 2 it also keeps the weights of the N epochs that scored best and,
at the end, scores their mean on validation: the mean is kept when it beats the best
epoch, else the best epoch is.

Resuming is exact: the last checkpoint holds the weights, the optimizer and scheduler
state, the history, the weights kept for averaging and torch's random state, and each
epoch's batch order comes from ``(seed, epoch)``, so an interrupted and resumed run ends
where an uninterrupted one does.

Under torchrun (see :mod:`seqlab.training.distributed`) a plan marked ``data_parallel``
trains on every process: the model is wrapped in ``DistributedDataParallel``, each process
takes its rows of every batch, rank 0 validates and tells the others the scores, and only
rank 0 writes checkpoints (every rank reads them on resume, whatever the process count).
"""

from __future__ import annotations

import copy
import math
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from seqlab.artifacts import (
    flatten_state,
    load_tensors,
    prefixed,
    save_tensors,
    unflatten_state,
    unprefixed,
)
from seqlab.config import TrainingConfig
from seqlab.engine.estimator import validation_record
from seqlab.errors import BundleError, ConfigError, SeqlabError
from seqlab.training import distributed
from seqlab.training.precision import compute_in, resolve_precision
from seqlab.training.schedules import make_schedule

CHECKPOINT = "checkpoint"
LOWER_IS_BETTER = frozenset({"loss", "perplexity", "mae", "mase", "rmse"})

OPTIMIZERS: dict[str, Callable[..., torch.optim.Optimizer]] = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
}


def count_parameters(model: nn.Module) -> int:
    """The number of trainable parameters of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def set_seed(seed: int) -> None:
    """Seed python, numpy and torch; every task calls this before building its model."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@dataclass
class TrainingPlan:
    """What one fit trains on, given by its estimator.

    ``batches(epoch)`` yields the batches of an epoch (their order from the seed and the
    epoch, so a resumed run sees the same ones); ``loss(model, batch)`` is the mean loss of
    a batch; ``validate(model)`` returns the validation metrics, the monitored one among
    them. With ``validate=None`` every epoch up to ``max_epochs`` runs and the last is kept
    (a final fit for an epoch count chosen earlier). ``batches_per_epoch`` sizes the
    progress bar. ``data_parallel`` says the plan can train on several processes: each
    batch is a tuple (or a dataclass) of tensors with one row per example, so that each
    process can take its rows, and every weight that trains takes part in each loss.
    """

    batches: Callable[[int], Iterable[Any]]
    loss: Callable[[nn.Module, Any], torch.Tensor]
    validate: Callable[[nn.Module], dict[str, float]] | None
    batches_per_epoch: int = 0
    data_parallel: bool = False


class LossOf(nn.Module):
    """The plan's loss as a module's forward pass: what the trainer calls for each batch.

    DistributedDataParallel synchronises the gradients of the forward pass it wraps; with
    the loss inside it, a plan's ``loss`` may call any method of the model (a tagger's
    CRF loss, say), not only its ``forward``."""

    def __init__(self, model: nn.Module, loss: Callable[[nn.Module, Any], torch.Tensor]
                 ) -> None:
        super().__init__()
        self.model = model
        self.loss = loss

    def forward(self, batch: Any) -> torch.Tensor:
        return self.loss(self.model, batch)


class TrainCallbacks(Protocol):
    """Progress hooks; the command line draws its progress bar from these."""

    def on_train_start(self, max_epochs: int, batches_per_epoch: int, start_epoch: int) -> None: ...

    def on_batch_end(self, epoch: int, batch: int, loss: float) -> None: ...

    def on_epoch_end(self, record: dict[str, float]) -> None: ...


@dataclass
class TrainResult:
    """How training went: the best epoch, its score and the per-epoch history; with
    ``average_epochs``, the epochs whose mean weights were kept (empty: the best epoch's),
    and the validation metrics (``val_…``) of the weights kept either way."""

    best_epoch: int
    best_score: float
    history: list[dict[str, float]] = field(default_factory=list)
    stopped: str = "max_epochs"
    seconds: float = 0.0
    averaged: list[int] = field(default_factory=list)  # the epochs whose mean was kept
    validation: dict[str, float] = field(default_factory=dict)  # of the kept weights


class Trainer:
    """Fit ``model`` on ``plan`` with early stopping on ``monitor`` (default
    ``config.monitor``); see the module docstring."""

    def __init__(
        self,
        model: nn.Module,
        config: TrainingConfig,
        plan: TrainingPlan,
        checkpoint_dir: str | Path | None = None,
        callbacks: TrainCallbacks | None = None,
        monitor: str | None = None,
    ) -> None:
        self.model = model
        self.config = config
        self.plan = plan
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir else None
        self.callbacks = callbacks
        self.monitor = monitor or config.monitor
        self.higher_is_better = self.monitor not in LOWER_IS_BETTER
        self.precision = resolve_precision(config.precision)
        self.world = distributed.world()
        if self.world.distributed:
            if not plan.data_parallel:
                raise ConfigError(
                    f"{type(model).__name__} trains in one process: distributed training "
                    "(torchrun, --nproc) is for the recurrent networks of every task")
            distributed.check_batch_size(config.batch_size, self.world)
            distributed.join_group()
        self.seed = torch.initial_seed()  # what each rank's per-epoch seed derives from
        self.optimizer = OPTIMIZERS[config.optimizer](
            model.parameters(), lr=config.lr, weight_decay=config.weight_decay, fused=True
        )
        self.scheduler = make_schedule(self.optimizer, config, self.higher_is_better)
        self.history: list[dict[str, float]] = []
        self.best_score = -math.inf if self.higher_is_better else math.inf
        self.best_epoch = 0
        self.bad_epochs = 0
        self.elapsed = 0.0
        self._best_state: dict[str, torch.Tensor] | None = None
        self._pool: list[tuple[float, int, dict[str, torch.Tensor]]] = []  # best first
        self.averaged: list[int] = []
        self.averaged_validation: dict[str, float] = {}

    # ---- checkpoints ------------------------------------------------------------------

    @property
    def last_path(self) -> Path | None:
        return self.checkpoint_dir / "last.safetensors" if self.checkpoint_dir else None

    @property
    def best_path(self) -> Path | None:
        return self.checkpoint_dir / "best.safetensors" if self.checkpoint_dir else None

    def _save_last(self, epoch: int) -> None:
        if self.last_path is None or not self.world.is_main:
            return
        state = {
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler else None,
            "rng": torch.get_rng_state(),
        }
        extra, structure = flatten_state(state, "state")
        tensors = prefixed(self.model.state_dict()) | extra
        meta = {
            "epoch": epoch,
            "best_epoch": self.best_epoch,
            "best_score": self.best_score,
            "bad_epochs": self.bad_epochs,
            "elapsed": self.elapsed,
            "history": self.history,
            "state": structure,
            "pool": [[score, epoch] for score, epoch, _ in self._pool],
        }
        for index, (_, _, weights) in enumerate(self._pool):
            tensors |= prefixed(weights, f"pool{index}")
        save_tensors(self.last_path, tensors, meta, CHECKPOINT)

    def _keep_best(self, epoch: int) -> None:
        state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        self._best_state = state
        if self.best_path is not None and self.world.is_main:
            save_tensors(self.best_path, state, {"epoch": epoch, "score": self.best_score},
                         CHECKPOINT)

    def resume(self) -> int:
        """Restore the last checkpoint; return the number of finished epochs (0 if none)."""
        if self.last_path is None or not self.last_path.exists():
            return 0
        tensors, meta = load_tensors(self.last_path, CHECKPOINT)
        model_state = unprefixed(tensors)
        try:
            self.model.load_state_dict(model_state)
        except RuntimeError as err:
            raise BundleError(
                f"{self.last_path}: the checkpoint does not fit this model's configuration "
                f"({str(err).splitlines()[0]}). Resume with the run's own config.yaml."
            ) from None
        state = unflatten_state(meta["state"], tensors)
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and state["scheduler"] is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["rng"])
        self.history = meta["history"]
        self.best_epoch = meta["best_epoch"]
        self.best_score = meta["best_score"]
        self.bad_epochs = meta["bad_epochs"]
        self.elapsed = meta["elapsed"]
        self._pool = [(score, epoch, unprefixed(tensors, f"pool{index}"))
                      for index, (score, epoch) in enumerate(meta.get("pool", []))]
        if self.best_path is not None and self.best_path.exists():
            self._best_state, _ = load_tensors(self.best_path, CHECKPOINT)
        return int(meta["epoch"])

    # ---- averaging the best epochs' weights ----------------------------------------------

    def _pool_epoch(self, score: float, epoch: int) -> None:
        """Keep this epoch's weights if its score is among the ``average_epochs`` best."""
        size = self.config.average_epochs
        if size < 2 or self.plan.validate is None:
            return
        if len(self._pool) == size and not self._better(score, self._pool[-1][0]):
            return
        weights = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        self._pool.append((score, epoch, weights))
        self._pool.sort(key=lambda entry: entry[0], reverse=self.higher_is_better)
        del self._pool[size:]

    def _try_average(self) -> None:
        """Score the mean of the pooled weights on validation; keep it if it beats the
        best epoch (then ``averaged`` lists the epochs it is the mean of)."""
        if len(self._pool) < 2:
            return
        first = self._pool[0][2]
        mean = {key: torch.stack([w[key].float() for _, _, w in self._pool]).mean(0)
                .to(value.dtype) if value.is_floating_point() else value
                for key, value in first.items()}
        self.model.load_state_dict(mean)
        self.model.eval()
        metrics = self._validate()
        score = metrics.get(self.monitor, self.best_score)
        if self._improved(score):
            epochs = sorted(epoch for _, epoch, _ in self._pool)
            self._best_state, self.best_score, self.averaged = mean, score, epochs
            self.averaged_validation = {f"val_{k}": v for k, v in metrics.items()}
            if self.best_path is not None and self.world.is_main:
                save_tensors(self.best_path, mean, {"epoch": self.best_epoch, "score": score,
                                                    "averaged": epochs}, CHECKPOINT)

    # ---- the loop ---------------------------------------------------------------------

    def _better(self, score: float, than: float) -> bool:
        return score > than if self.higher_is_better else score < than

    def _improved(self, score: float) -> bool:
        return self._better(score, self.best_score)

    def _batches(self, epoch: int) -> Iterable[Any]:
        """This process's batches of ``epoch``: all of them, or under torchrun its rows of
        each (a batch with fewer rows than processes is left out on every rank)."""
        if not self.world.distributed:
            yield from self.plan.batches(epoch)
            return
        # dropout differs by rank, and is reproducible and resumable by epoch
        torch.manual_seed(self.seed * 1000 + epoch * 100 + self.world.rank)
        for batch in self.plan.batches(epoch):
            if distributed.row_count(batch) >= self.world.size:
                yield distributed.rows_of(batch, self.world)

    def _train_epoch(self, epoch: int, trained: nn.Module) -> float:
        self.model.train()
        total, count = 0.0, 0
        for index, batch in enumerate(self._batches(epoch)):
            self.optimizer.zero_grad(set_to_none=True)
            with compute_in(self.precision):
                loss = trained(batch)
            loss.backward()
            if self.config.clip_grad_norm:
                nn.utils.clip_grad_norm_(self.model.parameters(), self.config.clip_grad_norm)
            self.optimizer.step()
            value = float(loss.detach())
            total += value
            count += 1
            if self.callbacks:
                self.callbacks.on_batch_end(epoch, index, value)
        mean = total / max(count, 1)
        return distributed.mean_over_ranks(mean) if self.world.distributed else mean

    def _validate(self) -> dict[str, float]:
        """The plan's validation metrics (computed by rank 0, told to every rank)."""
        metrics: dict[str, float] = {}
        if self.plan.validate is not None and self.world.is_main:
            with torch.inference_mode(), compute_in(self.precision):
                metrics = self.plan.validate(self.model)
        return distributed.from_main(metrics) if self.world.distributed else metrics

    def _trained_module(self) -> nn.Module:
        """What each batch is given to: the plan's loss of the model, under torchrun
        wrapped in DistributedDataParallel (which starts every rank from rank 0's
        weights)."""
        loss = LossOf(self.model, self.plan.loss)
        if not self.world.distributed:
            return loss
        from torch.nn.parallel import DistributedDataParallel

        return DistributedDataParallel(loss)

    def _out_of_time(self) -> bool:
        if self.config.max_minutes is None or not self.history:
            return False
        per_epoch = self.elapsed / len(self.history)
        return self.elapsed + per_epoch > self.config.max_minutes * 60

    def fit(self, resume: bool = False) -> TrainResult:
        """Train until ``max_epochs``, early stopping or the time budget; keep the best."""
        try:
            return self._fit(resume)
        except RuntimeError as err:
            if not self.world.distributed:
                raise
            raise SeqlabError(
                f"rank {self.world.rank} of {self.world.size}: training stopped because a "
                f"process was lost ({str(err).splitlines()[0][:200]}). The finished epochs "
                "are kept in the run's checkpoints; continue with --resume") from None

    def _fit(self, resume: bool) -> TrainResult:
        start = self.resume() + 1 if resume else 1
        trained = self._trained_module()
        if self.callbacks:
            self.callbacks.on_train_start(self.config.max_epochs, self.plan.batches_per_epoch,
                                          start)
        stopped = "max_epochs"
        if start > 1 and self.bad_epochs >= self.config.patience:
            stopped = "early_stopping"
        else:
            for epoch in range(start, self.config.max_epochs + 1):
                began = time.perf_counter()
                train_loss = self._train_epoch(epoch, trained)
                self.model.eval()
                metrics = self._validate()
                score = metrics.get(self.monitor, float(epoch))
                self.elapsed += time.perf_counter() - began
                if self.world.distributed:  # rank 0's clock decides the budget for all
                    self.elapsed = distributed.from_main(self.elapsed)
                if self.scheduler is not None:
                    self.scheduler.after_epoch(score, self.elapsed)
                record = {"epoch": epoch, "train_loss": train_loss,
                          **{f"val_{k}": v for k, v in metrics.items()},
                          "lr": self.optimizer.param_groups[0]["lr"], "seconds": self.elapsed}
                self.history.append(record)
                if self.plan.validate is None or self._improved(score):
                    self.best_score, self.best_epoch, self.bad_epochs = score, epoch, 0
                    self._keep_best(epoch)
                else:
                    self.bad_epochs += 1
                self._pool_epoch(score, epoch)
                self._save_last(epoch)
                if self.callbacks:
                    self.callbacks.on_epoch_end(record)
                if self.bad_epochs >= self.config.patience:
                    stopped = "early_stopping"
                    break
                if self._out_of_time():
                    stopped = "time_budget"
                    break
        self._try_average()
        if self._best_state is not None:
            self.model.load_state_dict(self._best_state)
        validation = self.averaged_validation or validation_record(self.history,
                                                                   self.best_epoch)
        return TrainResult(self.best_epoch, self.best_score, copy.deepcopy(self.history),
                           stopped, self.elapsed, self.averaged, validation)
