"""The default forecaster against naive, seasonal naive, drift, ETS and ARIMA, on every
series in ../shared/data/timeseries and on the public series that ship inside
statsmodels.

Each series runs with the defaults of ``seqlab forecast train`` (only the column names,
and PM2.5's covariates, are given): the window follows the frequency and length, the
recurrent and hybrid networks are trained, and validation chooses among them and the
baselines. Every model is then backtested on the same rolling test origins. The tables
give test MASE for the chosen model, the best network and the best baseline, and how
often the chosen model's 80 % and 95 % intervals held.

The global row trains one model over the monthly series of at least 100 points
together (shampoo's 36 points would cut every series' horizon to 4) and backtests each.

    python benchmarks/forecast_series.py [--only airline,car_sales] [--max-minutes 10]
    python benchmarks/forecast_series.py --global-only
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seqlab.config import apply_overrides
from seqlab.tasks.forecast.backtest import run_backtest
from seqlab.tasks.forecast.config import ForecastConfig
from seqlab.tasks.forecast.forecaster import Forecaster
from seqlab.tasks.forecast.series import read_panel, read_series

from _common import SHARED, machine_line, markdown_table

BASELINES = ["naive", "seasonal_naive", "drift", "ets", "arima"]
NAMED = ("airline", "car_sales", "shampoo", "melbourne_min_temp", "beijing_pm25",
         "monthly_mean_temp")  # the six


@dataclass
class Setup:
    """One series: where it comes from and how it is read."""

    key: str
    source: Callable[[Path], Path]
    target: str
    read: dict[str, Any] = field(default_factory=dict)
    overrides: dict[str, Any] = field(default_factory=dict)


def shared(name: str) -> Callable[[Path], Path]:
    return lambda _: SHARED / "timeseries" / name


def statsmodels_series(name: str, make: Callable[[Any], pd.DataFrame]
                       ) -> Callable[[Path], Path]:
    """A statsmodels dataset written as a CSV in ``folder``."""
    def write(folder: Path) -> Path:
        import statsmodels.api as sm

        path = folder / f"{name}.csv"
        make(getattr(sm.datasets, name).load_pandas().data).to_csv(path, index=False)
        return path
    return write


def _yearly(column: str, start_column: str = "YEAR") -> Callable[[pd.DataFrame], pd.DataFrame]:
    return lambda d: pd.DataFrame({"year": d[start_column].astype(int).astype(str),
                                   "value": d[column].astype(float)})


def _nile(d: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"year": d["year"].astype(int).astype(str), "value": d["volume"]})


def _elnino(d: pd.DataFrame) -> pd.DataFrame:
    months = d.columns[1:13]
    long = d.melt(id_vars="YEAR", value_vars=list(months), var_name="month")
    long["date"] = pd.to_datetime(long["YEAR"].astype(int).astype(str) + "-" + long["month"],
                                  format="%Y-%b")
    return long.sort_values("date")[["date", "value"]]


def _gdp(d: pd.DataFrame) -> pd.DataFrame:
    stamps = pd.PeriodIndex.from_fields(year=d["year"].astype(int),
                                        quarter=d["quarter"].astype(int), freq="Q")
    return pd.DataFrame({"date": stamps.to_timestamp(), "value": d["realgdp"]})


SETUPS = [
    Setup("airline", shared("airline-passengers.csv"), "Passengers"),
    Setup("car_sales", shared("monthly-car-sales.csv"), "Sales"),
    Setup("shampoo", shared("monthly-shampoo-sales.csv"), "Sales"),
    Setup("melbourne_min_temp", shared("daily-min-temperatures.csv"), "Temp"),
    Setup("beijing_pm25", shared("beijing_pm25_pollution.csv.gz"), "pm2.5",
          {"time_column": "year,month,day,hour",
           "covariates": ["DEWP", "TEMP", "PRES", "cbwd", "Iws"]},
          {"training.batch_size": 128, "training.threads": 2}),
    Setup("monthly_mean_temp", shared("monthly-mean-temp.csv"), "Temperature"),
    Setup("robberies", shared("monthly-robberies.csv"), "Robberies"),
    Setup("writing_paper", shared("monthly-writing-paper-sales.csv"), "Sales"),
    Setup("melbourne_max_temp", shared("daily-max-temperatures.csv"), "Temperature"),
    Setup("goog_close", shared("goog_daily_2018-03-27_2023-03-24.csv"), "Close",
          {"time_column": "Date"}),
    Setup("sunspots", statsmodels_series("sunspots", _yearly("SUNACTIVITY")), "value"),
    Setup("nile", statsmodels_series("nile", _nile), "value"),
    Setup("elnino", statsmodels_series("elnino", _elnino), "value"),
    Setup("us_real_gdp", statsmodels_series("macrodata", _gdp), "value"),
]


def run(setup: Setup, folder: Path, max_minutes: float, loss: str) -> dict[str, Any]:
    path = setup.source(folder)
    series = read_series(path, target=setup.target, **setup.read)
    overrides = {f"data.{k}": v for k, v in setup.read.items()}
    config = apply_overrides(ForecastConfig(), {
        "data.path": str(path), "data.target": setup.target,
        "training.max_minutes": max_minutes, "model.loss": loss, **overrides,
        **setup.overrides})
    began = time.perf_counter()
    forecaster = Forecaster(config).fit(series)
    fit_seconds = time.perf_counter() - began
    backtest = run_backtest(series, forecaster, BASELINES)
    board = backtest.leaderboard.set_index("model")
    networks, chosen = forecaster.names, forecaster.chosen_
    base = board.loc[BASELINES].sort_values("mase")
    nets = board.loc[networks].sort_values("mase")
    w = forecaster.config.window
    return {
        "setup": {"series": setup.key, "points": len(series),
                  "freq": series.freq or "rows", "season": series.season,
                  "inputs": len(series.columns), "horizon": w.horizon,
                  "lookback": w.lookback, "folds": w.folds, "stride": w.stride,
                  "members": forecaster.config.model.members,
                  "train windows": forecaster.fit_info_["train_windows"],
                  "fit seconds": fit_seconds},
        "score": {"series": setup.key, "chosen (validation)": chosen,
                  "chosen MASE": board.loc[chosen, "mase"],
                  "recurrent": board.loc[networks[0], "mase"],
                  "hybrid": board.loc[networks[-1], "mase"],
                  "best baseline": base.index[0], "baseline MASE": base["mase"].iloc[0],
                  "network / baseline": nets["mase"].iloc[0] / base["mase"].iloc[0],
                  "network wins": bool(nets["mase"].iloc[0] < base["mase"].iloc[0]),
                  "chosen / baseline": board.loc[chosen, "mase"] / base["mase"].iloc[0]},
        "coverage": {"series": setup.key, "chosen": chosen,
                     "points": int(board.loc[chosen, "n"]),
                     "80% held": board.loc[chosen, "cover_80"],
                     "95% held": board.loc[chosen, "cover_95"],
                     **{f"{name} 80% held": board.loc[name, "cover_80"] for name in networks}},
        "board": board,
    }


GLOBAL = ("airline", "car_sales", "monthly_mean_temp", "robberies", "writing_paper")


def run_global(folder: Path, max_minutes: float) -> None:
    """One model over the monthly series together; each series' scores and the mean."""
    frames = []
    for setup in SETUPS:
        if setup.key in GLOBAL:
            table = pd.read_csv(setup.source(folder))
            frames.append(pd.DataFrame({"series": setup.key, "month": table.iloc[:, 0],
                                        "value": table[setup.target]}))
    path = folder / "monthly.csv"
    pd.concat(frames).to_csv(path, index=False)
    panel = read_panel(path, "series", target="value")
    config = apply_overrides(ForecastConfig(), {
        "data.path": str(path), "data.series_column": "series", "data.target": "value",
        "training.max_minutes": max_minutes})
    began = time.perf_counter()
    forecaster = Forecaster(config).fit(panel)
    seconds = time.perf_counter() - began
    backtest = run_backtest(panel, forecaster, BASELINES)
    w = forecaster.config.window
    print(f"\n### Global model: {len(panel)} monthly series together (horizon {w.horizon}, "
          f"lookback {w.lookback}, {w.folds} test origins each, "
          f"{forecaster.config.model.members} seeds, {seconds:.0f} s)\n")
    rows = []
    for sid, part in backtest.by_series.groupby("series", sort=False):
        board = part.set_index("model")
        base = board.loc[BASELINES, "mase"].sort_values()
        nets = board.loc[forecaster.names, "mase"].sort_values()
        rows.append({"series": sid, "recurrent": board.loc[forecaster.names[0], "mase"],
                     "hybrid": board.loc[forecaster.names[-1], "mase"],
                     "best baseline": base.index[0], "baseline MASE": base.iloc[0],
                     "network / baseline": nets.iloc[0] / base.iloc[0],
                     "network wins": bool(nets.iloc[0] < base.iloc[0])})
    print(markdown_table(rows))
    pooled = backtest.leaderboard.set_index("model")
    print(f"\nchosen on validation: {forecaster.chosen_}; mean test MASE over the series: "
          + ", ".join(f"{m} {pooled.loc[m, 'mase']:.4f}" for m in pooled.index))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", help="comma-separated series keys")
    parser.add_argument("--max-minutes", type=float, default=10.0,
                        help="training.max_minutes for each series (the whole fit)")
    parser.add_argument("--loss", default="mse", choices=["mse", "pinball"],
                        help="model.loss: pinball trains the interval quantiles")
    parser.add_argument("--global-only", action="store_true",
                        help="only the global model over the monthly series")
    args = parser.parse_args()
    if args.global_only:
        print(f"machine: {machine_line()}")
        with tempfile.TemporaryDirectory() as folder:
            run_global(Path(folder), args.max_minutes)
        return
    chosen = [s for s in SETUPS if not args.only or s.key in args.only.split(",")]
    print(f"machine: {machine_line()}\n")
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for setup in chosen:
            result = run(setup, Path(folder), args.max_minutes, args.loss)
            results.append(result)
            print(f"{setup.key}: {result['score']}", flush=True)
    print("\n### Set-ups (every window setting and member count chosen by the defaults)\n")
    print(markdown_table([r["setup"] for r in results]))
    print("\n### Test MASE: the chosen model, both networks, the best baseline\n")
    print(markdown_table([r["score"] for r in results]))
    wins = [r["score"]["network wins"] for r in results]
    named = [r["score"]["network wins"] for r in results if r["score"]["series"] in NAMED]
    print(f"\nthe best network beats the best baseline on {sum(named)} of {len(named)} named "
          f"series and {sum(wins)} of {len(wins)} in all ({sum(wins) / len(wins):.0%})")
    print("\n### Interval coverage of the chosen model on the test origins\n")
    rows = [r["coverage"] for r in results]
    print(markdown_table(rows))
    points = np.array([r["points"] for r in rows], dtype=float)
    for level in ("80% held", "95% held"):
        pooled = float(np.sum(points * np.array([r[level] for r in rows])) / points.sum())
        print(f"pooled {level}: {pooled:.1%} of {int(points.sum())} test points")


if __name__ == "__main__":
    main()
