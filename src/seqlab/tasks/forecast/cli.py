"""``seqlab forecast train|predict``: recurrent forecasters against the baselines."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from seqlab.cli.common import console, key_values, split_names, user_errors
from seqlab.config import apply_overrides
from seqlab.errors import SeqlabError
from seqlab.tasks.forecast.config import ForecastConfig, load_forecast_config

forecast_app = typer.Typer(no_args_is_help=True, help="Forecast time series with RNN/LSTM/GRU "
                           "and compare them with naive, seasonal, drift, ETS and ARIMA.")


@forecast_app.command("train")
@user_errors
def train(
    data: Annotated[str | None, typer.Argument(help="CSV/TSV/JSONL/Parquet with the series")]
    = None,
    config: Annotated[Path | None, typer.Option(help="YAML config; flags override it")] = None,
    time_column: Annotated[str | None, typer.Option(
        help="time column, or several put together: year,month,day,hour")] = None,
    target: Annotated[str | None, typer.Option(help="the column to forecast")] = None,
    covariates: Annotated[str | None, typer.Option(
        help="other columns to read as inputs, comma-separated")] = None,
    freq: Annotated[str | None, typer.Option(help="pandas frequency (MS, D, h…); else inferred")]
    = None,
    season: Annotated[int | None, typer.Option(help="season length; else from the frequency")]
    = None,
    encoding: Annotated[str | None, typer.Option(help="file encoding, e.g. latin-1")] = None,
    horizon: Annotated[int | None, typer.Option(help="steps to forecast")] = None,
    lookback: Annotated[int | None, typer.Option(help="past steps the model reads")] = None,
    folds: Annotated[int | None, typer.Option(help="rolling test origins")] = None,
    cell: Annotated[str | None, typer.Option(help="rnn|lstm|gru")] = None,
    hidden_size: Annotated[int | None, typer.Option()] = None,
    layers: Annotated[int | None, typer.Option()] = None,
    baselines: Annotated[str | None, typer.Option(
        help="comma-separated: naive,seasonal_naive,drift,ets,arima")] = None,
    settings: Annotated[list[str] | None, typer.Option(
        "--set", help="KEY=VALUE for any config key, e.g. model.target_transform=log")] = None,
    name: Annotated[str | None, typer.Option(help="run name (folder in --output-dir)")] = None,
    output_dir: Annotated[str | None, typer.Option()] = None,
    seed: Annotated[int | None, typer.Option()] = None,
    resume: Annotated[bool, typer.Option(help="continue the run's last checkpoint")] = False,
    force: Annotated[bool, typer.Option(help="replace an existing run folder")] = False,
    quiet: Annotated[bool, typer.Option(help="no progress output")] = False,
) -> None:
    """Train a forecaster on DATA, backtest it against the baselines, write a run folder."""

    base = load_forecast_config(config) if config else ForecastConfig()
    resolved = apply_overrides(base, {
        "data.path": data, "data.time_column": time_column, "data.target": target,
        "data.covariates": split_names(covariates), "data.freq": freq, "data.season": season,
        "data.encoding": encoding,
        "window.horizon": horizon, "window.lookback": lookback, "window.folds": folds,
        "model.cell": cell, "model.hidden_size": hidden_size, "model.num_layers": layers,
        "baselines": split_names(baselines), "name": name, "output_dir": output_dir, "seed": seed,
        **key_values(settings, "--set"),
    })
    if not resolved.data.path:
        raise SeqlabError("give the data file: seqlab forecast train DATA --target COLUMN")
    _train(resolved, resume, force, quiet)


def _train(resolved: ForecastConfig, resume: bool, force: bool, quiet: bool) -> None:
    """Train, backtest and print the leaderboard."""
    from rich.table import Table

    from seqlab.cli.progress import EpochProgress, train_with_progress
    from seqlab.tasks.forecast.workflow import train_forecast

    outcome = train_with_progress(
        EpochProgress(console, "mae"), resolved.run_dir, "seqlab forecast train", quiet,
        lambda callbacks, notify: train_forecast(resolved, callbacks=callbacks, resume=resume,
                                                 overwrite=force, notify=notify))
    board = outcome.leaderboard
    table = Table("rank", "model", "MASE", "sMAPE %", "MAE", "RMSE",
                  title="test backtest (best MASE first)")
    for _, row in board.iterrows():
        style = "bold" if row["model"] == resolved.model.cell else None
        table.add_row(str(row["rank"]), row["model"], f"{row['mase']:.3f}",
                      f"{row['smape']:.2f}", f"{row['mae']:.4g}", f"{row['rmse']:.4g}",
                      style=style)
    console.print(table)
    console.print(f"model: {outcome.model_path}\nreport: {outcome.run_dir / 'report.html'}")


@forecast_app.command("predict")
@user_errors
def predict(
    model: Annotated[str, typer.Argument(help="forecaster bundle or its run folder")],
    data: Annotated[str, typer.Argument(help="the series, up to the last known point")],
    out: Annotated[str | None, typer.Option(help="CSV to write the forecast to")] = None,
    plot: Annotated[str | None, typer.Option(help="PNG of history and forecast")] = None,
) -> None:
    """Forecast the next `horizon` points after DATA ends, with prediction intervals."""
    from rich.table import Table

    from seqlab.tasks.forecast.workflow import predict_forecast

    future = predict_forecast(model, data, out, plot)
    table = Table(*[str(c) for c in future.columns])
    for row in future.itertuples(index=False):
        table.add_row(str(row[0]), *(f"{v:.4g}" for v in row[1:]))
    console.print(table)
    for path in (out, plot):
        if path:
            console.print(f"written: {path}")


@forecast_app.command("demo")
@user_errors
def demo(
    output_dir: Annotated[str, typer.Option(help="where the run folder goes")] = "runs",
) -> None:
    """Train and backtest on the monthly sales sample that ships with seqlab (seconds)."""
    from importlib.resources import files

    sample = Path(str(files("seqlab") / "samples" / "monthly_sales.csv"))
    console.print(f"sample: {sample} (11 years of monthly sales with a promotion flag; "
                  "synthetic, written for seqlab)")
    config = apply_overrides(ForecastConfig(), {
        "data.path": str(sample), "data.target": "sales", "data.covariates": ["promotion"],
        "name": "forecast-demo", "output_dir": output_dir})
    _train(config, resume=False, force=True, quiet=False)
