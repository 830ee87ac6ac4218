"""Forecast errors: MAE, RMSE, MAPE, sMAPE and MASE over pooled forecast points."""

from __future__ import annotations

import numpy as np


def mase_scale(train: np.ndarray, season: int) -> float:
    """The in-sample MAE of the seasonal naive forecast (naive if too short): MASE's unit."""
    m = season if season > 1 and len(train) > season else 1
    diffs = np.abs(train[m:] - train[:-m])
    scale = float(diffs.mean()) if len(diffs) else 0.0
    return scale if scale > 0 else float("nan")


def forecast_metrics(actual: np.ndarray, predicted: np.ndarray, scale: float) -> dict[str, float]:
    """Errors over all points; MAPE leaves out points whose actual value is zero."""
    actual = np.asarray(actual, dtype=np.float64).ravel()
    predicted = np.asarray(predicted, dtype=np.float64).ravel()
    error = predicted - actual
    mae = float(np.abs(error).mean())
    nonzero = actual != 0
    denominator = np.abs(actual) + np.abs(predicted)
    smape_terms = np.where(denominator > 0, 2 * np.abs(error) / np.where(denominator > 0,
                                                                        denominator, 1), 0.0)
    return {
        "mae": mae,
        "rmse": float(np.sqrt((error ** 2).mean())),
        "mape": float(100 * np.abs(error[nonzero] / actual[nonzero]).mean())
        if nonzero.any() else float("nan"),
        "smape": float(100 * smape_terms.mean()),
        "mase": mae / scale if scale == scale and scale > 0 else float("nan"),
        "n": int(actual.size),
    }
