"""Chronological split, scaling fitted on the training part only, and sliding windows.

A window at origin ``o`` reads ``values[o - lookback:o]`` and predicts
``target[o:o + horizon]``. The end of the series is held out in time order::

    | train ............ | val (early stopping, intervals) | test (rolling origins) |

The test part holds ``folds`` origins, ``step`` apart, the last one ending at the final
point. The validation part has the same length, just before it. Nothing after the
training part reaches the scaler or the weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seqlab.errors import DataError


@dataclass(frozen=True)
class SplitPlan:
    """Where train, validation and test begin and end, in points of the series."""

    n: int
    lookback: int
    horizon: int
    folds: int
    step: int
    stride: int = 1

    @property
    def held_out(self) -> int:
        """Points in each of the validation and test parts."""
        return self.horizon + (self.folds - 1) * self.step

    @property
    def test_start(self) -> int:
        return self.n - self.held_out

    @property
    def val_start(self) -> int:
        return self.test_start - self.held_out

    @property
    def test_origins(self) -> list[int]:
        return [self.test_start + k * self.step for k in range(self.folds)]

    @property
    def val_fold_origins(self) -> list[int]:
        """The test origins' pattern one held-out part earlier: where every candidate is
        scored for the choice of model."""
        return [self.val_start + k * self.step for k in range(self.folds)]

    @property
    def val_origins(self) -> list[int]:
        """Every origin whose targets lie inside the validation part."""
        return list(range(max(self.val_start, self.lookback), self.test_start - self.horizon + 1))

    @property
    def train_origins(self) -> list[int]:
        return list(range(self.lookback, self.val_start - self.horizon + 1, self.stride))

    @property
    def refit_origins(self) -> list[int]:
        """Training and validation windows together: the final fit, test left out."""
        return list(range(self.lookback, self.test_start - self.horizon + 1, self.stride))

    def check(self, source: str = "series") -> SplitPlan:
        """Raise a DataError unless every part gets at least one window."""
        need = self.lookback + self.horizon + 2 * self.held_out
        if not self.train_origins or not self.val_origins or self.test_start < self.lookback:
            raise DataError(
                f"{source}: the series has {self.n} points, too short for lookback "
                f"{self.lookback} + horizon {self.horizon} with {self.held_out} points held out "
                f"for validation and {self.held_out} for test ({need} needed at least). "
                "Use a shorter --lookback or --horizon, or fewer --folds.")
        return self


@dataclass
class Scaler:
    """Per-column standardisation, fitted on the training part only."""

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, values: np.ndarray) -> Scaler:
        mean = values.mean(axis=0)
        scale = values.std(axis=0)
        return cls(mean.astype(np.float32), np.where(scale > 1e-8, scale, 1.0).astype(np.float32))

    def transform(self, values: np.ndarray) -> np.ndarray:
        return ((values - self.mean) / self.scale).astype(np.float32)

    def inverse_target(self, scaled: np.ndarray) -> np.ndarray:
        """Column 0 (the target) back to its units."""
        return scaled * float(self.scale[0]) + float(self.mean[0])


def make_inputs(values: np.ndarray, origins: list[int], lookback: int) -> np.ndarray:
    """The ``lookback`` rows before each origin: ``[W, lookback, F]``."""
    if not origins:
        return np.zeros((0, lookback, values.shape[1]), np.float32)
    return np.stack([values[o - lookback:o] for o in origins]).astype(np.float32)


def make_targets(values: np.ndarray, origins: list[int] | np.ndarray,
                 horizon: int) -> np.ndarray:
    """The ``horizon`` values from each origin on: ``[W, horizon]`` float64, from a series
    ``[N]`` or from the target column of ``[N, F]``."""
    target = values if values.ndim == 1 else values[:, 0]
    if not len(origins):
        return np.zeros((0, horizon))
    return target[np.asarray(origins)[:, None] + np.arange(horizon)].astype(np.float64)
