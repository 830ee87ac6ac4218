"""One time budget over a whole forecasting fit: every network, the refits included."""

from __future__ import annotations

import time

from seqlab.training import distributed


class Budget:
    """``training.max_minutes`` over the whole fit: every network, refits included."""

    REFIT_SHARE = 0.5  # of the budget, kept for the refits

    def __init__(self, minutes: float | None) -> None:
        self.total = None if minutes is None else 60 * minutes
        self.end = None if minutes is None else time.perf_counter() + 60 * minutes

    def left(self) -> float:
        """Seconds left (infinite without a budget); under torchrun rank 0's clock, so
        that every process makes the same choices."""
        if self.end is None:
            return float("inf")
        left = self.end - time.perf_counter()
        return distributed.from_main(left) if distributed.world().distributed else left

    def share(self, trainings: int) -> float | None:
        """Minutes for the next of ``trainings`` validated trainings still to run (None: no
        limit); half the budget is kept for the refits."""
        if self.total is None:
            return None
        spare = self.left() - self.REFIT_SHARE * self.total
        return max(spare / max(trainings, 1), 1e-3) / 60
