"""Rolling-origin backtest: every model forecasts from the same test origins.

At each origin a model sees only the points before it: baselines are refitted on that
history, the recurrent and hybrid networks read its last ``lookback`` points with the
weights they learned before the test part. Errors are pooled over all origins and steps; MASE is
scaled by the seasonal naive error inside the training part.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from seqlab.tasks.forecast.baselines import run_baseline
from seqlab.tasks.forecast.forecaster import Forecaster
from seqlab.tasks.forecast.intervals import coverage
from seqlab.tasks.forecast.metrics import forecast_metrics, mase_scale
from seqlab.tasks.forecast.series import Series
from seqlab.tasks.forecast.windows import SplitPlan

METRICS = ("mase", "smape", "mae", "rmse", "mape")


@dataclass
class Backtest:
    """Every forecast point, and the leaderboard of pooled errors (best MASE first)."""

    plan: SplitPlan
    points: pd.DataFrame
    leaderboard: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def run_backtest(series: Series, forecaster: Forecaster, baselines: list[str]) -> Backtest:
    """Every network the forecaster holds and every baseline, from the test origins.
    The leaderboard also gives each model's validation MASE where it was a candidate,
    marks the chosen one, and the share of actual values inside each interval where the
    model has intervals."""
    plan: SplitPlan = forecaster.plan(series)
    y, horizon, season = series.y, forecaster.horizon, series.season
    origins = plan.test_origins
    forecasts: dict[str, np.ndarray] = {}
    seconds: dict[str, float] = {}
    notes: list[str] = []
    for name in forecaster.names:
        began = time.perf_counter()
        forecasts[name] = forecaster.forecast_at(series, origins, name)
        seconds[name] = time.perf_counter() - began
    for baseline in baselines:
        began = time.perf_counter()
        rows = []
        for origin in origins:
            forecast, note = run_baseline(baseline, y[:origin], horizon, season)
            rows.append(forecast)
            if note:
                notes.append(f"origin {origin}: {note}")
        forecasts[baseline] = np.stack(rows)
        seconds[baseline] = time.perf_counter() - began
    actual = np.stack([y[o:o + horizon] for o in origins])
    scale = mase_scale(y[:plan.val_start], season)
    index = series.frame.index
    records, board = [], []
    for model, predicted in forecasts.items():
        for fold, origin in enumerate(origins):
            for step in range(horizon):
                records.append({"model": model, "fold": fold + 1, "origin": index[origin],
                                "time": index[origin + step], "step": step + 1,
                                "actual": actual[fold, step],
                                "forecast": float(predicted[fold, step])})
        covered = coverage(actual, forecaster.interval_bounds(model, predicted))
        board.append({"model": model, **forecast_metrics(actual, predicted, scale),
                      "val_mase": forecaster.validation_.get(model, {}).get("mase", np.nan),
                      "chosen": model == forecaster.chosen_,
                      **{f"cover_{round(float(level) * 100)}": covered.get(level, np.nan)
                         for level in (f"{v:g}" for v in forecaster.config.intervals)},
                      "seconds": seconds[model]})
    leaderboard = pd.DataFrame(board).sort_values("mase", kind="stable").reset_index(drop=True)
    leaderboard.insert(0, "rank", range(1, len(leaderboard) + 1))
    return Backtest(plan, pd.DataFrame(records), leaderboard, notes)


def plot_backtest(series: Series, backtest: Backtest, path: Path, title: str) -> Path:
    """The end of the series, the validation and test parts, and each model's forecasts."""
    plan = backtest.plan
    start = max(0, plan.val_start - plan.lookback)
    index = series.frame.index[start:]
    fig, ax = plt.subplots(figsize=(11, 4.5))
    ax.plot(index, series.y[start:], color="black", linewidth=1.6, label="actual")
    ax.axvspan(series.frame.index[plan.val_start], series.frame.index[plan.test_start - 1],
               color="tab:blue", alpha=0.06, label="validation")
    ax.axvspan(series.frame.index[plan.test_start], series.frame.index[-1],
               color="tab:orange", alpha=0.08, label="test")
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (model, part) in enumerate(backtest.points.groupby("model", sort=False)):
        for fold, rows in part.groupby("fold"):
            ax.plot(rows["time"], rows["forecast"], color=colors[i % len(colors)],
                    linewidth=2.2 if i == 0 else 1.0, alpha=1.0 if i == 0 else 0.75,
                    label=model if fold == 1 else None)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(ncol=4, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_forecast(series: Series, future: pd.DataFrame, path: Path, title: str,
                  history: int) -> Path:
    """The last ``history`` points and the forecast with its intervals."""
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.plot(series.frame.index[-history:], series.y[-history:], color="black", label="history")
    bands = sorted(c for c in future.columns if c.startswith("lower_"))
    for band in reversed(bands):
        pct = band.removeprefix("lower_")
        ax.fill_between(future["time"], future[band], future[f"upper_{pct}"],
                        color="tab:blue", alpha=0.15, label=f"{pct}% interval")
    ax.plot(future["time"], future["forecast"], color="tab:blue", marker="o", markersize=3,
            label="forecast")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
