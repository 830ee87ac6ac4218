"""Should the forecasting networks be trained again on training + validation (``refit``,
the default)? Judged one level down, so that the test part is never read.

For every series the default window is resolved on the whole series; its test part (the
last ``horizon + (folds - 1) × step`` points) is then cut off and never read. On what is
left, with the same window settings, the default forecaster is fitted twice, with and
without the refit, and backtested from the remainder's own test origins, which lie in
the whole series' training and validation parts. The table gives each network's MASE
there and the geometric mean over the series.

    python benchmarks/forecast_refit_choice.py [--only airline,nile]
"""

from __future__ import annotations

import argparse

import numpy as np
from forecast_settings import FAST, geometric_means, selected_series

from seqlab.config import apply_overrides
from seqlab.errors import DataError
from seqlab.tasks.forecast.backtest import run_backtest
from seqlab.tasks.forecast.config import ForecastConfig
from seqlab.tasks.forecast.forecaster import Forecaster
from seqlab.tasks.forecast.series import Series

from _common import machine_line, markdown_table

CHOICES = {"refit": True, "no refit": False}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default=",".join(FAST), help="comma-separated series keys")
    args = parser.parse_args()
    print(f"machine: {machine_line()}\n")
    rows, logs = [], {}
    for setup, path, series in selected_series(args.only):
        base = apply_overrides(ForecastConfig(), {"data.path": str(path), "baselines": []})
        whole = Forecaster(base)
        plan = whole.plan(series)
        w = whole.config.window
        window = {"window.horizon": w.horizon, "window.lookback": w.lookback,
                  "window.folds": w.folds, "window.stride": w.stride,
                  "model.members": whole.config.model.members}
        kept = Series(series.frame.iloc[:plan.test_start], series.target, series.freq,
                      series.season, series.source, series.notes)
        row: dict[str, object] = {"series": setup.key, "points kept": len(kept),
                                  "of": len(series)}
        try:
            for label, refit in CHOICES.items():
                config = apply_overrides(base, {**window, "refit": refit})
                forecaster = Forecaster(config).fit(kept)
                board = run_backtest(kept, forecaster, []).leaderboard.set_index("model")
                for name in forecaster.names:
                    score = float(board.loc[name, "mase"])
                    row[f"{name}: {label}"] = score
                    logs.setdefault(f"{name}: {label}", []).append(np.log(score))
        except DataError as err:  # too short once its test part is cut off
            print(f"{setup.key}: skipped ({err})", flush=True)
            continue
        rows.append(row)
        print(f"{setup.key}: {row}", flush=True)
    rows.append(geometric_means(logs))
    print("\nMASE at the remainder's test origins (inside the whole series' training and "
          "validation parts; lower is better)\n")
    print(markdown_table(rows))


if __name__ == "__main__":
    main()
