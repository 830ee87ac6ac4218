"""Settings of the forecasting networks, compared on validation only.

Each setting trains the default networks (recurrent and hybrid, ``model.members`` auto)
on the training part of each series and scores them at the validation fold origins; the
refit and the test part are left out. The table gives each network's validation MASE per
series and the geometric mean over the series. Comparisons: ``lookbacks`` (ensemble
members reading one lookback, or three), ``hidden`` (the recurrent layer's width).

    python benchmarks/forecast_settings.py --compare lookbacks [--only airline,nile]
    python benchmarks/forecast_settings.py --compare hidden
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from forecast_series import SETUPS, Setup

from seqlab.config import apply_overrides
from seqlab.tasks.forecast.config import ForecastConfig
from seqlab.tasks.forecast.forecaster import Forecaster
from seqlab.tasks.forecast.series import Series, read_series

from _common import machine_line, markdown_table

COMPARISONS = {
    "lookbacks": {"seeds (lookback ×1)": {"model.lookback_factors": [1.0]},
                  "seeds and lookbacks (×1, ×0.75, ×0.5)": {
                      "model.lookback_factors": [1.0, 0.75, 0.5]}},
    "hidden": {f"hidden {size}": {"model.hidden_size": size} for size in (64, 32, 16)},
}
FAST = ("airline", "car_sales", "shampoo", "monthly_mean_temp", "robberies", "writing_paper",
        "sunspots", "nile", "elnino", "us_real_gdp")


def selected_series(only: str) -> Iterator[tuple[Setup, Path, Series]]:
    """Each series whose key is in ``only`` (comma-separated), with the file it was read
    from (in a temporary folder that lasts while the caller iterates)."""
    with tempfile.TemporaryDirectory() as folder:
        for setup in [s for s in SETUPS if s.key in only.split(",")]:
            path = setup.source(Path(folder))
            yield setup, path, read_series(path, target=setup.target, **setup.read)


def geometric_means(logs: dict[str, list[float]]) -> dict[str, object]:
    """The table's last row: each column's geometric mean, from its logged scores."""
    return {"series": "geometric mean",
            **{key: float(np.exp(np.mean(v))) for key, v in logs.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--compare", choices=list(COMPARISONS), default="lookbacks")
    parser.add_argument("--only", default=",".join(FAST), help="comma-separated series keys")
    args = parser.parse_args()
    print(f"machine: {machine_line()}\n")
    rows, logs = [], {}
    for setup, path, series in selected_series(args.only):
        row: dict[str, object] = {"series": setup.key}
        for label, overrides in COMPARISONS[args.compare].items():
            config = apply_overrides(ForecastConfig(), {
                "data.path": str(path), "refit": False, "baselines": [], **overrides})
            forecaster = Forecaster(config).fit(series)
            for name in forecaster.names:
                score = forecaster.validation_[name]["mase"]
                row[f"{name}: {label}"] = score
                logs.setdefault(f"{name}: {label}", []).append(np.log(score))
        rows.append(row)
        print(f"{setup.key}: done", flush=True)
    rows.append(geometric_means(logs))
    print("\nValidation MASE of each network (lower is better)\n")
    print(markdown_table(rows))


if __name__ == "__main__":
    main()
