"""Exponential smoothing of a level, a damped trend and a season: what the hybrid
forecaster takes out of the series before its network reads it, and puts back after.

The recursions are the additive Holt-Winters ones with a damped trend, in the series'
units or in logs (then the season and trend are multiplicative)::

    prior_t = S[t mod m]                              the season index before z_t is seen
    level_t = alpha (z_t - prior_t) + (1 - alpha) (level_{t-1} + phi trend_{t-1})
    trend_t = beta (level_t - level_{t-1}) + (1 - beta) phi trend_{t-1}
    S[t mod m] = gamma (z_t - level_t) + (1 - gamma) prior_t

    forecast from origin o, h steps on: level_{o-1} + (phi + … + phi^h) trend_{o-1}
                                        + the last index written for that phase

``alpha``, ``beta``, ``phi``, ``gamma`` and the log are chosen over a small grid by the
mean error of forecasts up to ``horizon`` steps ahead from origins spread over the part of
the series the model is fitted on: the validation and test parts never reach them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from seqlab.tasks.forecast.windows import make_targets

ALPHAS = (0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0)
# (beta, phi): no trend, or a damped one, fixed (beta 0) or updated. An undamped trend is
# left out: chosen on the fitted part it can run away over the horizon (BENCHMARKS §24)
TRENDS = ((0.0, 0.0), *((b, p) for b in (0.0, 0.02, 0.05, 0.1, 0.2) for p in (0.9, 0.98)))
GAMMAS = (0.0, 0.02, 0.05, 0.1, 0.2, 0.4)
MAX_FIT_POINTS = 5_000  # the grid is searched on at most the last this many points
SCORED_ORIGINS = 200  # in-sample origins the grid is scored from, at most


@dataclass(frozen=True)
class SmoothedStates:
    """The filtered states of a series for one parameter set: ``level[t]`` and
    ``trend[t]`` after ``z_t`` is seen, ``prior[t]`` the season index used for ``z_t``
    before it was seen, ``written[t + m]`` the index written at ``t`` (``written[:m]``
    the initial indices)."""

    level: np.ndarray
    trend: np.ndarray
    prior: np.ndarray
    written: np.ndarray
    season: int
    phi: float | np.ndarray

    def base(self, origins: np.ndarray, horizon: int) -> np.ndarray:
        """``[W, horizon]`` forecasts from the states at ``origin - 1``."""
        damping = np.cumsum(np.asarray(self.phi) ** np.arange(1, horizon + 1), axis=-1)
        before = origins - 1
        return (self.level[..., before, None] + damping * self.trend[..., before, None]
                + self.projected(origins, horizon))

    def projected(self, origins: np.ndarray, horizon: int) -> np.ndarray:
        """``[W, horizon]`` season indices for the steps after each origin, as known at
        ``origin - 1``: each phase's last written index."""
        m = self.season
        steps = np.arange(horizon)
        # the phase of origin + h was last written one, two … seasons before it, at or
        # before origin - 1; at most one season before the start, the initial index
        last = origins[:, None] + steps[None, :] - m * ((steps[None, :] // m) + 1)
        return self.written[..., last + m]


def initial_states(z: np.ndarray, season: int) -> tuple[float, float, np.ndarray]:
    """The level and trend just before ``z[0]``, and the season indices, from the first
    two seasons (the first points where there is no season): the level is the first
    season's mean, the trend the change to the second's, per step, and each index the
    value less that line."""
    m = season
    first = z[:m].mean()
    if m > 1 and len(z) >= 2 * m:
        trend = (z[m:2 * m].mean() - first) / m
    else:
        k = min(len(z) - 1, 10)
        trend = (z[k] - z[0]) / k if k > 0 else 0.0
        first = z[0] if m == 1 else first
    centre = (m - 1) / 2 if m > 1 else 0.0
    line = first + (np.arange(m) - centre) * trend
    indices = z[:m] - line if m > 1 else np.zeros(1)
    return float(first - (centre + 1) * trend), float(trend), indices


def _run(z: np.ndarray, season: int, alpha: np.ndarray, beta: np.ndarray, phi: np.ndarray,
         gamma: np.ndarray) -> SmoothedStates:
    """The recursions for ``G`` parameter sets at once (every state array ``[G, …]``;
    ``phi`` is kept as ``[G, 1, 1]`` for :meth:`SmoothedStates.base`)."""
    g, n, m = len(alpha), len(z), season
    start_level, start_trend, start_indices = initial_states(z, m)
    level, trend = np.full(g, start_level), np.full(g, start_trend)
    indices = np.tile(start_indices, (g, 1))
    levels, trends, priors = (np.empty((g, n)) for _ in range(3))
    written = np.empty((g, n + m))
    written[:, :m] = indices
    for t in range(n):
        phase = t % m
        prior = indices[:, phase].copy()
        damped = phi * trend
        new_level = alpha * (z[t] - prior) + (1 - alpha) * (level + damped)
        trend = beta * (new_level - level) + (1 - beta) * damped
        level = new_level
        indices[:, phase] = gamma * (z[t] - level) + (1 - gamma) * prior
        levels[:, t], trends[:, t], priors[:, t] = level, trend, prior
        written[:, t + m] = indices[:, phase]
    return SmoothedStates(levels, trends, priors, written, m, phi[:, None, None])


@dataclass(frozen=True)
class Smoothing:
    """Chosen smoothing parameters and the unit the normalised values are measured in."""

    alpha: float
    beta: float
    phi: float
    gamma: float
    season: int
    log: bool
    scale: float
    floor: float = 0.0  # in logs, values below it (zeros later on) are read as it

    @classmethod
    def fit(cls, y: np.ndarray, season: int, horizon: int, allow_log: bool = True, *,
            trends: tuple[tuple[float, float], ...] = TRENDS,
            skip: Callable[[int, int], int] = lambda season, points: season) -> Smoothing:
        """The grid's parameters (``trends``: its (beta, phi) pairs) and log-or-not with
        the lowest mean absolute error (in ``y``'s units) of forecasts 1 … ``horizon``
        steps ahead from origins spread over ``y`` after the first ``skip(season,
        points)`` points (default: the first season, the initial state); the scale is the
        spread of those errors' one-step part in the working units."""
        y = np.asarray(y, dtype=np.float64)[-MAX_FIT_POINTS:]
        m = season if season > 1 and len(y) >= 2 * season else 1
        grid = [(a, b, p, g) for a in ALPHAS for b, p in trends
                for g in (GAMMAS if m > 1 else (0.0,))]
        alpha, beta, phi, gamma = (np.array(v) for v in zip(*grid, strict=True))
        first = min(skip(m, len(y)) + 1, len(y) - 1)
        last = len(y) - horizon
        if last <= first:  # too short to score several steps: score one
            horizon, last = 1, len(y) - 1
        origins = np.unique(np.linspace(first, last, min(SCORED_ORIGINS, last - first + 1)
                                        ).astype(int))
        actual = make_targets(y, origins, horizon)
        best: tuple[float, Smoothing] | None = None
        floor = float(y.min()) / 2
        for log in (False, True) if allow_log and y.min() > 0 else (False,):
            z = np.log(y) if log else y
            states = _run(z, m, alpha, beta, phi, gamma)
            forecasts = states.base(origins, horizon)  # [G, W, H]
            with np.errstate(over="ignore", invalid="ignore"):
                back = np.exp(forecasts) if log else forecasts
                errors = np.nan_to_num(np.abs(back - actual).mean(axis=(1, 2)), nan=np.inf)
            i = int(np.argmin(errors))
            one_step = z[origins] - forecasts[i, :, 0]
            scale = float(np.std(one_step)) if len(one_step) > 1 else 0.0
            found = cls(float(alpha[i]), float(beta[i]), float(phi[i]), float(gamma[i]), m,
                        log, scale if scale > 1e-12 else 1.0, floor if log else 0.0)
            if best is None or errors[i] < best[0]:
                best = float(errors[i]), found
        assert best is not None
        return best[1]

    def working(self, y: np.ndarray) -> np.ndarray:
        """The series in the space the recursions run in: logs for a multiplicative
        season, where a value below the floor (half the smallest value the parameters
        were fitted on: a zero that comes later) is read as the floor."""
        y = np.asarray(y, dtype=np.float64)
        return np.log(np.maximum(y, self.floor)) if self.log else y

    def states(self, y: np.ndarray) -> SmoothedStates:
        """Filter the whole of ``y`` with the chosen parameters (one parameter set)."""
        one = (np.array([v]) for v in (self.alpha, self.beta, self.phi, self.gamma))
        states = _run(self.working(y), self.season, *one)
        return SmoothedStates(states.level[0], states.trend[0], states.prior[0],
                              states.written[0], self.season, self.phi)

    def describe(self) -> str:
        kind = "multiplicative (in logs)" if self.log else "additive"
        trend = f"damped trend beta {self.beta:g} phi {self.phi:g}" if self.beta else \
            "no trend"
        season = f"season of {self.season}, gamma {self.gamma:g}" if self.season > 1 else \
            "no season"
        return f"{kind}: level alpha {self.alpha:g}, {trend}, {season}"
