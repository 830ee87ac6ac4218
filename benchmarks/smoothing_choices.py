"""How the hybrid's exponential smoothing picks its parameters, compared on validation.

For each series the smoothing is fitted on the training part of the default split
(``seqlab forecast train``'s auto window) and forecasts from the validation fold origins;
ETS, refitted at each origin, does the same. The table gives each variant's error over
ETS's, and their geometric mean over the series. Variants: the criterion the grid is
scored by (mean error of forecasts 1…horizon ahead from origins across the training
part, the default; one step ahead; multi-step from the third season; from the second
half) and the trends in the grid (damped only, the default; damped and undamped).

    python benchmarks/smoothing_choices.py
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from seqlab.config import apply_overrides
from seqlab.tasks.forecast.baselines import run_baseline
from seqlab.tasks.forecast.config import ForecastConfig
from seqlab.tasks.forecast.forecaster import Forecaster
from seqlab.tasks.forecast.series import read_series
from seqlab.tasks.forecast.smoothing import TRENDS, Smoothing

from _common import SHARED, machine_line, markdown_table

SERIES = {"airline": ("airline-passengers.csv", "Passengers"),
          "car_sales": ("monthly-car-sales.csv", "Sales"),
          "monthly_mean_temp": ("monthly-mean-temp.csv", "Temperature"),
          "robberies": ("monthly-robberies.csv", "Robberies"),
          "writing_paper": ("monthly-writing-paper-sales.csv", "Sales"),
          "shampoo": ("monthly-shampoo-sales.csv", "Sales"),
          "melbourne_min_temp": ("daily-min-temperatures.csv", "Temp")}
UNDAMPED = tuple((b, 1.0) for b in (0.0, 0.02, 0.05, 0.1, 0.2))


VARIANTS: dict[str, Callable[[np.ndarray, int, int], Smoothing]] = {
    "default (multi-step, damped trends)": lambda y, m, h: Smoothing.fit(y, m, h),
    "one-step error": lambda y, m, h: Smoothing.fit(y, m, 1),
    "multi-step from the third season":
        lambda y, m, h: Smoothing.fit(y, m, h, skip=lambda season, n: 2 * season - 1),
    "multi-step from the second half":
        lambda y, m, h: Smoothing.fit(y, m, h, skip=lambda season, n: max(season, n // 2 - 1)),
    "with undamped trends": lambda y, m, h: Smoothing.fit(y, m, h, trends=TRENDS + UNDAMPED),
}


def main() -> None:
    print(f"machine: {machine_line()}\n")
    rows, ratios = [], {name: [] for name in VARIANTS}
    for key, (file, target) in SERIES.items():
        series = read_series(SHARED / "timeseries" / file, target=target)
        config = apply_overrides(ForecastConfig(), {"data.path": file})
        plan = Forecaster(config).plan(series)
        y, m, h = series.y, series.season, plan.horizon
        origins = np.array(plan.val_fold_origins)
        actual = y[origins[:, None] + np.arange(h)]
        ets = np.stack([run_baseline("ets", y[:o], h, m)[0] for o in origins])
        ets_error = np.abs(ets - actual).mean()
        row = {"series": key}
        for name, fit in VARIANTS.items():
            fitted = fit(y[:plan.val_start], m, h)
            base = fitted.states(y).base(origins, h)
            error = np.abs((np.exp(base) if fitted.log else base) - actual).mean()
            row[name] = error / ets_error
            ratios[name].append(error / ets_error)
        rows.append(row)
    rows.append({"series": "geometric mean",
                 **{name: float(np.exp(np.mean(np.log(r)))) for name, r in ratios.items()}})
    print("Validation error of the smoothing's own forecast over ETS's (below 1: better)\n")
    print(markdown_table(rows))


if __name__ == "__main__":
    main()
