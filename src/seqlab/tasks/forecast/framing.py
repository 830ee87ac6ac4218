"""How each kind of forecaster frames the series for its network, and reads the network's
output back: one registry entry per kind.

- ``recurrent``: the series standardised (mean and spread of the fitted part); the network
  reads each window relative to its last value and corrects a naive or seasonal naive
  base (``model.level``).
- ``hybrid`` (after Smyl's ES-RNN): exponential smoothing (:mod:`.smoothing`: level,
  damped trend, season) is taken out; the network reads each window deseasonalised,
  minus the level at the window's end, in units of the smoothing's one-step error, and
  predicts how the next ``horizon`` steps differ from the smoothing's own forecast; the
  output is added back to that forecast (level, trend and the season indices known at
  the origin). Its head starts at zero, so training starts from the smoothing's
  forecast.

Every framing is fitted on ``values[:fit_end]`` only, the target in column 0 of
``values`` (the model's units). Covariates are standardised alike in both.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, ClassVar, Protocol

import numpy as np
import torch

from seqlab.registry import Registry
from seqlab.tasks.forecast.smoothing import SmoothedStates, Smoothing
from seqlab.tasks.forecast.windows import Scaler, make_inputs, make_targets


class Framing(Protocol):
    """Windows in, network units out, and back."""

    level: ClassVar[str | None]  # the network's level setting; None: the config's
    min_history: int  # the fewest points it frames a forecast from (beside the lookback)

    def fit(self, values: np.ndarray, fit_end: int, season: int, horizon: int) -> None: ...

    def inputs(self, values: np.ndarray, origins: list[int], lookback: int) -> np.ndarray: ...

    def targets(self, values: np.ndarray, origins: list[int], horizon: int) -> np.ndarray: ...

    def restore_units(self, out: np.ndarray, values: np.ndarray,
                      origins: list[int]) -> np.ndarray: ...

    def describe(self) -> str: ...

    def state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]: ...

    def load_state(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None: ...


FRAMINGS: Registry[type[Framing]] = Registry("forecaster kind")


def _scaler_state(scaler: Scaler) -> dict[str, torch.Tensor]:
    return {"scaler.mean": torch.from_numpy(scaler.mean),
            "scaler.scale": torch.from_numpy(scaler.scale)}


def _scaler_of(tensors: dict[str, torch.Tensor]) -> Scaler:
    return Scaler(tensors["scaler.mean"].numpy(), tensors["scaler.scale"].numpy())


@FRAMINGS.register("recurrent")
class ScaledFraming:
    """Standardised values; the network corrects a naive base (``model.level``)."""

    level: ClassVar[str | None] = None
    min_history = 1

    def fit(self, values: np.ndarray, fit_end: int, season: int, horizon: int) -> None:
        self.scaler = Scaler.fit(values[:fit_end])

    def inputs(self, values: np.ndarray, origins: list[int], lookback: int) -> np.ndarray:
        return make_inputs(self.scaler.transform(values), origins, lookback)

    def targets(self, values: np.ndarray, origins: list[int], horizon: int) -> np.ndarray:
        return make_targets(self.scaler.transform(values), origins, horizon).astype(np.float32)

    def restore_units(self, out: np.ndarray, values: np.ndarray,
                      origins: list[int]) -> np.ndarray:
        return self.scaler.inverse_target(out.astype(np.float64))

    def describe(self) -> str:
        return "standardised series"

    def state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        return _scaler_state(self.scaler), {}

    def load_state(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        self.scaler = _scaler_of(tensors)


@FRAMINGS.register("hybrid")
class SmoothedFraming:
    """Level and season taken out by exponential smoothing; the network reads the rest."""

    level: ClassVar[str | None] = "none"

    @property
    def min_history(self) -> int:
        """Two seasons: the smoothing's starting level, trend and season come from them."""
        return 2 * self.smoothing.season

    def fit(self, values: np.ndarray, fit_end: int, season: int, horizon: int) -> None:
        self.scaler = Scaler.fit(values[:fit_end])  # for the covariates
        self.smoothing = Smoothing.fit(values[:fit_end, 0], season, horizon)
        self._cached: tuple[np.ndarray, SmoothedStates] | None = None

    def _states(self, values: np.ndarray) -> SmoothedStates:
        """The filtered states of ``values`` (kept for the last array seen: training
        reads the same series every epoch)."""
        cached = getattr(self, "_cached", None)
        if cached is not None and cached[0] is values:
            return cached[1]
        states = self.smoothing.states(values[:, 0])
        self._cached = (values, states)
        return states

    def _normalised(self, values: np.ndarray) -> tuple[np.ndarray, SmoothedStates]:
        states = self._states(values)
        deseasonalised = self.smoothing.working(values[:, 0]) - states.prior
        return deseasonalised, states

    def inputs(self, values: np.ndarray, origins: list[int], lookback: int) -> np.ndarray:
        deseasonalised, states = self._normalised(values)
        scaled = self.scaler.transform(values)
        x = make_inputs(scaled, origins, lookback)
        if len(origins):
            at = np.asarray(origins)
            window = deseasonalised[at[:, None] + np.arange(-lookback, 0)]
            x[..., 0] = (window - states.level[at - 1][:, None]) / self.smoothing.scale
        return x

    def targets(self, values: np.ndarray, origins: list[int], horizon: int) -> np.ndarray:
        if not origins:
            return np.zeros((0, horizon), np.float32)
        base = self._states(values).base(np.asarray(origins), horizon)
        z = self.smoothing.working(make_targets(values, origins, horizon))
        return ((z - base) / self.smoothing.scale).astype(np.float32)

    def restore_units(self, out: np.ndarray, values: np.ndarray,
                      origins: list[int]) -> np.ndarray:
        states = self._states(values)
        at = np.asarray(origins)
        z = states.base(at, out.shape[1]) + out.astype(np.float64) * self.smoothing.scale
        return np.exp(z) if self.smoothing.log else z

    def describe(self) -> str:
        return f"exponential smoothing ({self.smoothing.describe()}) taken out"

    def state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        return _scaler_state(self.scaler), asdict(self.smoothing)

    def load_state(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        self.scaler = _scaler_of(tensors)
        self.smoothing = Smoothing(**meta)
        self._cached = None
