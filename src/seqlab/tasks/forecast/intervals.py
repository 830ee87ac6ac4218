"""Prediction intervals from validation errors, and how often they held.

An interval's bounds come from quantiles of the errors seen at the validation origins.
For a series whose values are all positive the errors are ratios (the log of actual over
forecast), so that the interval grows with the level, as sales and passenger counts do;
otherwise they are differences. With at least ``PER_STEP_ORIGINS`` origins each step
ahead gets its own quantiles; with fewer (short series) the errors of all steps are
pooled, each divided by the square root of its step, and the quantiles are scaled back
by it: a random walk's growth, the common assumption where there is too little to
measure it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

PER_STEP_ORIGINS = 20
Bounds = dict[str, tuple[np.ndarray, np.ndarray]]


def relative(actual: np.ndarray, point: np.ndarray) -> bool:
    """Whether errors are measured as ratios: every value and forecast positive."""
    return bool((np.asarray(actual) > 0).all() and (np.asarray(point) > 0).all())


def fit_intervals(actual: np.ndarray, point: np.ndarray, levels: list[float]
                  ) -> dict[str, Any]:
    """``{"relative": bool, "widths": {"0.8": [lows, highs], …}}`` from forecasts
    ``point`` of ``actual`` values, both ``[origins, horizon]``."""
    ratio = relative(actual, point)
    errors = np.log(actual / point) if ratio else np.asarray(actual) - point
    horizon = errors.shape[1]
    widths = {}
    for level in levels:
        q = [(1 - level) / 2, (1 + level) / 2]
        if len(errors) >= PER_STEP_ORIGINS:
            low, high = np.quantile(errors, q, axis=0)
        else:
            growth = np.sqrt(np.arange(1, horizon + 1))
            low, high = (v * growth for v in np.quantile(errors / growth, q))
        widths[f"{level:g}"] = [np.asarray(low).tolist(), np.asarray(high).tolist()]
    return {"relative": ratio, "widths": widths}


def bounds(intervals: dict[str, Any], point: np.ndarray) -> Bounds:
    """``{"0.8": (lower, upper), …}`` around forecasts ``point`` ``[origins, horizon]``."""
    out = {}
    for level, (low, high) in intervals["widths"].items():
        if intervals["relative"] and (point > 0).all():
            out[level] = (point * np.exp(low), point * np.exp(high))
        else:  # additive, or a relative interval around a forecast that is not positive
            scale = np.abs(point) if intervals["relative"] else 1.0
            out[level] = (point + scale * np.asarray(low), point + scale * np.asarray(high))
    return out


def coverage(actual: np.ndarray, intervals: Bounds) -> dict[str, float]:
    """The share of ``actual`` values ``[origins, horizon]`` inside each interval."""
    return {level: float(((actual >= low) & (actual <= high)).mean())
            for level, (low, high) in intervals.items()}
