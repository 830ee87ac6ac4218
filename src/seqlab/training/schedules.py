"""Learning-rate schedules, stepped once per epoch (``training.scheduler``).

- ``none``: the configured rate throughout.
- ``cosine``: from the configured rate down to zero along half a cosine, over the
  run's epochs: ``max_epochs``, or with a time budget (``max_minutes``) the epochs the
  budget allows at the pace of the epochs so far, so the rate comes down to its last step
  when the budget ends instead of at an epoch the budget never gets to.
- ``plateau``: the rate halves after each second epoch in a row without a better
  validation score.

Each schedule's state goes into the last checkpoint, so a resumed run keeps its rates
(the cosine's horizon included).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Protocol

import torch

from seqlab.config import TrainingConfig


class EpochSchedule(Protocol):
    """Sets the optimizer's rates for the next epoch from how the last one went."""

    def after_epoch(self, score: float, elapsed: float) -> None:
        """Called after each epoch with its validation ``score`` and the seconds of
        training so far."""

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


class CosineToBudget:
    """Half a cosine from the configured rates to zero over ``horizon`` epochs: the
    ``max_epochs``, or with ``max_minutes`` the epochs the budget holds at the pace so far
    (re-counted after each epoch; never more than ``max_epochs``)."""

    def __init__(self, optimizer: torch.optim.Optimizer, max_epochs: int,
                 max_minutes: float | None) -> None:
        self.optimizer = optimizer
        self.base_rates = [group["lr"] for group in optimizer.param_groups]
        self.max_epochs = max_epochs
        self.max_minutes = max_minutes
        self.horizon = max_epochs
        self.epochs = 0

    def after_epoch(self, score: float, elapsed: float) -> None:
        self.epochs += 1
        if self.max_minutes is not None and elapsed > 0:
            fits = math.floor(self.max_minutes * 60 * self.epochs / elapsed)
            self.horizon = min(self.max_epochs, max(self.epochs, fits))
        self._set_rates()

    def factor(self) -> float:
        """The share of the configured rate the next epoch trains with."""
        done = min(self.epochs, self.horizon)
        return 0.5 * (1.0 + math.cos(math.pi * done / self.horizon))

    def _set_rates(self) -> None:
        for group, base in zip(self.optimizer.param_groups, self.base_rates, strict=True):
            group["lr"] = base * self.factor()

    def state_dict(self) -> dict[str, Any]:
        return {"epochs": self.epochs, "horizon": self.horizon}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        # checkpoints written before this class held torch's CosineAnnealingLR state
        self.epochs = int(state.get("epochs", state.get("last_epoch", 0)))
        self.horizon = int(state.get("horizon", state.get("T_max", self.max_epochs)))
        self._set_rates()


class HalveOnPlateau:
    """The rates halve after two epochs in a row without a better validation score."""

    def __init__(self, optimizer: torch.optim.Optimizer, higher_is_better: bool) -> None:
        self.inner = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode="max" if higher_is_better else "min", factor=0.5, patience=1)

    def after_epoch(self, score: float, elapsed: float) -> None:
        self.inner.step(score)

    def state_dict(self) -> dict[str, Any]:
        return self.inner.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.inner.load_state_dict(state)


ScheduleFactory = Callable[[torch.optim.Optimizer, TrainingConfig, bool], EpochSchedule | None]

SCHEDULES: dict[str, ScheduleFactory] = {
    "none": lambda optimizer, config, higher_is_better: None,
    "cosine": lambda optimizer, config, higher_is_better: CosineToBudget(
        optimizer, config.max_epochs, config.max_minutes),
    "plateau": lambda optimizer, config, higher_is_better: HalveOnPlateau(
        optimizer, higher_is_better),
}


def make_schedule(optimizer: torch.optim.Optimizer, config: TrainingConfig,
                  higher_is_better: bool) -> EpochSchedule | None:
    """``config.scheduler``'s schedule of ``optimizer`` (None: a constant rate)."""
    return SCHEDULES[config.scheduler](optimizer, config, higher_is_better)
