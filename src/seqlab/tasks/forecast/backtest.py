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
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from seqlab.tasks.forecast.baselines import baseline_forecasts
from seqlab.tasks.forecast.forecaster import Forecaster, as_panel
from seqlab.tasks.forecast.intervals import Bounds, coverage
from seqlab.tasks.forecast.metrics import forecast_metrics, mase_scale
from seqlab.tasks.forecast.series import Panel, Series
from seqlab.tasks.forecast.windows import SplitPlan, make_targets

METRICS = ("mase", "smape", "mae", "rmse", "mape")


@dataclass
class Backtest:
    """Every forecast point, each series' leaderboard, and the leaderboard over all
    series (each metric the mean over series; best MASE first)."""

    plans: dict[str, SplitPlan]
    points: pd.DataFrame
    leaderboard: pd.DataFrame
    by_series: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    @property
    def plan(self) -> SplitPlan:
        """The first series' split (every series has the same window and folds)."""
        return next(iter(self.plans.values()))


def run_backtest(data: Series | Panel, forecaster: Forecaster,
                 baselines: list[str]) -> Backtest:
    """Every network the forecaster holds and every baseline, from each series' test
    origins. The leaderboards also give each model's validation MASE where it was a
    candidate, mark the chosen one, and the share of actual values inside each interval
    where the model has intervals."""
    panel = as_panel(data)
    plans = forecaster.plans(panel)
    records: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    levels = [f"{v:g}" for v in forecaster.config.intervals]
    for sid, series in panel.items():
        plan = plans[sid]
        forecasts, around, seconds = _forecasts(series, sid, plan, forecaster, baselines,
                                                notes, len(panel) > 1)
        actual = make_targets(series.y, plan.test_origins, plan.horizon)
        scale = mase_scale(series.y[:plan.val_start], series.season)
        index = series.frame.index
        for model, predicted in forecasts.items():
            for fold, origin in enumerate(plan.test_origins):
                for step in range(plan.horizon):
                    records.append({"series": sid, "model": model, "fold": fold + 1,
                                    "origin": index[origin], "time": index[origin + step],
                                    "step": step + 1, "actual": actual[fold, step],
                                    "forecast": float(predicted[fold, step])})
            covered = coverage(actual, around[model])
            rows.append({"series": sid, "model": model,
                         **forecast_metrics(actual, predicted, scale),
                         **{f"cover_{round(float(level) * 100)}": covered.get(level, np.nan)
                            for level in levels},
                         "seconds": seconds[model]})
    by_series = pd.DataFrame(rows)
    numeric = [c for c in by_series.columns if c not in ("series", "model")]
    pooled = by_series.groupby("model", sort=False)[numeric].mean().reset_index()
    pooled["n"] = by_series.groupby("model", sort=False)["n"].sum().to_numpy()
    pooled["seconds"] = by_series.groupby("model", sort=False)["seconds"].sum().to_numpy()
    pooled.insert(len(METRICS) + 2, "val_mase", [
        forecaster.validation_.get(m, {}).get("mase", np.nan) for m in pooled["model"]])
    pooled["chosen"] = pooled["model"] == forecaster.chosen_
    leaderboard = pooled.sort_values("mase", kind="stable").reset_index(drop=True)
    leaderboard.insert(0, "rank", range(1, len(leaderboard) + 1))
    return Backtest(plans, pd.DataFrame(records), leaderboard, by_series, notes)


def _forecasts(series: Series, sid: str, plan: SplitPlan, forecaster: Forecaster,
               baselines: list[str], notes: list[str], named: bool
               ) -> tuple[dict[str, np.ndarray], dict[str, Bounds], dict[str, float]]:
    """Each model's forecasts from the series' test origins, their interval bounds (where
    the model has intervals), and the seconds they took."""
    forecasts: dict[str, np.ndarray] = {}
    around: dict[str, Bounds] = {}
    seconds: dict[str, float] = {}
    for name in forecaster.names:
        began = time.perf_counter()
        forecasts[name], around[name] = forecaster.predict_at(series, plan.test_origins,
                                                              name, sid)
        seconds[name] = time.perf_counter() - began
    for baseline in baselines:
        began = time.perf_counter()
        forecasts[baseline], fell_back = baseline_forecasts(
            baseline, series.y, plan.test_origins, plan.horizon, series.season)
        notes.extend(f"series {sid}, {note}" if named else note for note in fell_back)
        around[baseline] = forecaster.interval_bounds(baseline, forecasts[baseline], sid,
                                                      series.y[:plan.test_origins[0]])
        seconds[baseline] = time.perf_counter() - began
    return forecasts, around, seconds


def plot_backtest(series: Series, backtest: Backtest, path: Path, title: str,
                  series_id: str | None = None) -> Path:
    """The end of a series (the first one unless ``series_id``), the validation and test
    parts, and each model's forecasts."""
    series_id = series_id or next(iter(backtest.plans))
    plan = backtest.plans[series_id]
    points = backtest.points[backtest.points["series"] == series_id]
    start = max(0, plan.val_start - plan.lookback)
    index = series.frame.index[start:]
    fig, ax = plt.subplots(figsize=(11, 4.5))
    ax.plot(index, series.y[start:], color="black", linewidth=1.6, label="actual")
    ax.axvspan(series.frame.index[plan.val_start], series.frame.index[plan.test_start - 1],
               color="tab:blue", alpha=0.06, label="validation")
    ax.axvspan(series.frame.index[plan.test_start], series.frame.index[-1],
               color="tab:orange", alpha=0.08, label="test")
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (model, part) in enumerate(points.groupby("model", sort=False)):
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
