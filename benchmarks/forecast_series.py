"""Recurrent forecasters against naive, seasonal naive, drift, ETS and ARIMA.

For each series in ../shared/data/timeseries: RNN, LSTM and GRU (defaults of
``seqlab forecast train``: 1 layer × 64, level auto, refit on train + validation) are
backtested on the same rolling test origins as the five baselines. The tables give MASE
and sMAPE pooled over origins and steps, and who wins.

    python benchmarks/forecast_series.py [--only airline,car] [--cells rnn,lstm,gru]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field
from typing import Any

from seqlab.config import apply_overrides
from seqlab.tasks.forecast.backtest import run_backtest
from seqlab.tasks.forecast.config import ForecastConfig
from seqlab.tasks.forecast.forecaster import Forecaster
from seqlab.tasks.forecast.series import read_series

from _common import SHARED, machine_line, markdown_table, require

BASELINES = ["naive", "seasonal_naive", "drift", "ets", "arima"]


@dataclass
class Setup:
    """One series and its backtest set-up."""

    key: str
    file: str
    target: str
    window: dict[str, int]
    read: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)


SETUPS = [
    Setup("airline", "airline-passengers.csv", "Passengers",
          {"lookback": 24, "horizon": 12, "folds": 3, "fold_step": 12}),
    Setup("car_sales", "monthly-car-sales.csv", "Sales",
          {"lookback": 24, "horizon": 12, "folds": 3, "fold_step": 6}),
    Setup("shampoo", "monthly-shampoo-sales.csv", "Sales",
          {"lookback": 6, "horizon": 3, "folds": 3, "fold_step": 3}),
    Setup("melbourne_min_temp", "daily-min-temperatures.csv", "Temp",
          {"lookback": 28, "horizon": 7, "folds": 8, "fold_step": 7}),
    Setup("beijing_pm25", "beijing_pm25_pollution.csv.gz", "pm2.5",
          {"lookback": 72, "horizon": 24, "folds": 7, "fold_step": 24, "stride": 4},
          {"time_column": "year,month,day,hour",
           "covariates": ["DEWP", "TEMP", "PRES", "cbwd", "Iws"]},
          {"max_epochs": 40, "patience": 6, "batch_size": 128, "max_minutes": 4.0,
           "threads": 2}),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", help="comma-separated series keys")
    parser.add_argument("--cells", default="rnn,lstm,gru")
    args = parser.parse_args()
    chosen = [s for s in SETUPS if not args.only or s.key in args.only.split(",")]
    cells = args.cells.split(",")
    print(f"machine: {machine_line()}\n")
    setup_rows, score_rows, summary = [], [], []
    for setup in chosen:
        path = require(SHARED / "timeseries" / setup.file)
        series = read_series(path, target=setup.target, **setup.read)
        boards = []
        for i, cell in enumerate(cells):
            overrides = {f"window.{k}": v for k, v in setup.window.items()}
            overrides |= {f"training.{k}": v for k, v in setup.training.items()}
            config = apply_overrides(ForecastConfig(), overrides | {"model.cell": cell,
                                                                    "data.path": str(path)})
            began = time.perf_counter()
            forecaster = Forecaster(config).fit(series)
            fit_seconds = time.perf_counter() - began
            backtest = run_backtest(series, forecaster, BASELINES if i == 0 else [], cell)
            board = backtest.leaderboard.drop(columns="rank")
            board.loc[board["model"] == cell, "seconds"] = fit_seconds
            boards.append(board)
            for note in backtest.notes:
                print(f"  {setup.key}: {note}")
        import pandas as pd

        table = pd.concat(boards).sort_values("mase").reset_index(drop=True)
        plan = Forecaster(config).plan(series)
        setup_rows.append({"series": setup.key, "points": len(series),
                           "freq": series.freq or "rows", "season": series.season,
                           "inputs": len(series.columns),
                           **{k: v for k, v in setup.window.items() if k != "stride"},
                           "test points": plan.held_out, "train windows":
                           len(plan.train_origins)})
        for _, row in table.iterrows():
            score_rows.append({"series": setup.key, "model": row["model"],
                               "MASE": row["mase"], "sMAPE %": row["smape"],
                               "MAE": row["mae"], "seconds": row["seconds"]})
        best_base = table[table["model"].isin(BASELINES)].iloc[0]
        best_ours = table[table["model"].isin(cells)].iloc[0]
        summary.append({"series": setup.key, "best recurrent": best_ours["model"],
                        "its MASE": best_ours["mase"], "best baseline": best_base["model"],
                        "baseline MASE": best_base["mase"],
                        "ratio": best_ours["mase"] / best_base["mase"],
                        "recurrent wins": bool(best_ours["mase"] < best_base["mase"])})
        print(f"{setup.key}: done", flush=True)
    print("\n### Set-ups\n")
    print(markdown_table(setup_rows))
    print("\n### Scores (test backtest, best MASE first within each series)\n")
    print(markdown_table(score_rows))
    print("\n### Best recurrent model vs best baseline (ratio < 1: the recurrent model wins)\n")
    print(markdown_table(summary))


if __name__ == "__main__":
    main()
