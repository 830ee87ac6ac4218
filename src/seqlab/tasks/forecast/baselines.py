"""The forecasts a recurrent model must beat, each from the history up to the origin.

Every baseline is a function ``(history, horizon, season) -> forecast`` registered by
name. ``ets`` and ``arima`` come from statsmodels and are refitted at every origin on
at most the last ``MAX_FIT_POINTS`` points; if a fit fails they fall back to the
seasonal naive forecast and say so in the returned note.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from seqlab.registry import Registry

Baseline = Callable[[np.ndarray, int, int], np.ndarray]
BASELINES: Registry[Baseline] = Registry("baseline")
MAX_FIT_POINTS = 2000


@BASELINES.register("naive")
def naive(history: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """The last value, repeated."""
    return np.full(horizon, history[-1], dtype=np.float64)


@BASELINES.register("seasonal_naive")
def seasonal_naive(history: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """The value one season earlier (the naive forecast where there is no season)."""
    if season <= 1 or len(history) < season:
        return naive(history, horizon, season)
    last_season = history[-season:]
    return np.array([last_season[h % season] for h in range(horizon)], dtype=np.float64)


@BASELINES.register("drift")
def drift(history: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """The line through the first and last values, extended."""
    if len(history) < 2:
        return naive(history, horizon, season)
    slope = (history[-1] - history[0]) / (len(history) - 1)
    return history[-1] + slope * np.arange(1, horizon + 1, dtype=np.float64)


def _seasonal(history: np.ndarray, season: int, cycles: int) -> bool:
    return 1 < season <= 400 and len(history) >= cycles * season


@BASELINES.register("ets")
def ets(history: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """Holt-Winters exponential smoothing, damped additive trend; additive or
    multiplicative season (positive series only) chosen by AIC."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    history = history[-MAX_FIT_POINTS:]
    kinds = [None]
    if _seasonal(history, season, 2):
        kinds = ["add", "mul"] if history.min() > 0 else ["add"]
    best, best_aic = None, np.inf
    for kind in kinds:
        model = ExponentialSmoothing(history, trend="add", damped_trend=True, seasonal=kind,
                                     seasonal_periods=season if kind else None,
                                     initialization_method="estimated")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = model.fit()
        if np.isfinite(fit.aic) and fit.aic < best_aic:
            best, best_aic = fit, fit.aic
    if best is None:
        raise ValueError("no ETS model could be fitted")
    return np.asarray(best.forecast(horizon), dtype=np.float64)


_ARIMA_ORDERS = ((0, 1, 1), (1, 1, 1), (2, 1, 2))


@BASELINES.register("arima")
def arima(history: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """ARIMA with one difference; the order chosen by AIC among a few small ones, plus a
    seasonal (0,1,1) part for seasons up to 52 with three seasons of history."""
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    history = history[-MAX_FIT_POINTS:]
    seasonal = (0, 1, 1, season) if _seasonal(history, min(season, 53), 3) and season <= 52 \
        else (0, 0, 0, 0)
    best, best_aic = None, np.inf
    for order in _ARIMA_ORDERS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = SARIMAX(history, order=order, seasonal_order=seasonal,
                          trend="t" if seasonal == (0, 0, 0, 0) else None).fit(disp=False)
        if np.isfinite(fit.aic) and fit.aic < best_aic:
            best, best_aic = fit, fit.aic
    if best is None:
        raise ValueError("no ARIMA model could be fitted")
    return np.asarray(best.forecast(horizon), dtype=np.float64)


def baseline_forecasts(name: str, y: np.ndarray, origins: list[int], horizon: int,
                       season: int) -> tuple[np.ndarray, list[str]]:
    """``[len(origins), horizon]`` forecasts of baseline ``name``, each from the values
    of ``y`` before its origin, and a note (``origin N: …``) for each that fell back."""
    rows, notes = [], []
    for origin in origins:
        forecast, note = run_baseline(name, y[:origin], horizon, season)
        rows.append(forecast)
        if note:
            notes.append(f"origin {origin}: {note}")
    return np.stack(rows), notes


def run_baseline(name: str, history: np.ndarray, horizon: int,
                 season: int) -> tuple[np.ndarray, str | None]:
    """The baseline's forecast, or the seasonal naive one and a note if it failed."""
    from threadpoolctl import threadpool_limits

    try:
        # one BLAS thread: these fits multiply tiny matrices, where threads cost 10-30x
        with threadpool_limits(1):
            forecast = BASELINES.get(name)(history, horizon, season)
        if np.all(np.isfinite(forecast)):
            return forecast, None
        problem = "non-finite forecast"
    except (ValueError, np.linalg.LinAlgError, IndexError) as err:
        problem = f"{type(err).__name__}: {err}"
    note = f"{name} failed ({problem}); seasonal naive used"
    return seasonal_naive(history, horizon, season), note
