"""``seqlab forecast train|predict``: recurrent forecasters against the baselines."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from seqlab.cli import common as opt
from seqlab.cli.common import (
    console,
    split_names,
    train_command,
    user_errors,
)
from seqlab.cli.datasets import fetch_for_demo
from seqlab.cli.verbs import add_shared_verbs, bundle_info
from seqlab.config import apply_overrides
from seqlab.tasks.forecast.config import ForecastConfig

forecast_app = typer.Typer(no_args_is_help=True, help="Forecast time series with RNN/LSTM/GRU "
                           "and compare them with naive, seasonal, drift, ETS and ARIMA.")


@train_command(forecast_app, ForecastConfig, lambda *args: _train(*args), (
    "data.path", "give the data file: seqlab forecast train DATA --target COLUMN"))
def train(
    data: Annotated[str | None, typer.Argument(
        help="CSV/TSV/JSONL/Parquet with the series, or a folder of such files (one series "
        "each)")] = None,
    series_column: Annotated[str | None, typer.Option(
        help="in a long-format file, the column naming each row's series: one model over "
        "all of them")] = None,
    time_column: Annotated[str | None, typer.Option(
        help="time column, or several put together: year,month,day,hour")] = None,
    target: Annotated[str | None, typer.Option(help="the column to forecast")] = None,
    covariates: Annotated[str | None, typer.Option(
        help="other columns to read as inputs, comma-separated")] = None,
    freq: Annotated[str | None, typer.Option(help="pandas frequency (MS, D, h…); else inferred")]
    = None,
    season: Annotated[int | None, typer.Option(help="season length; else from the frequency")]
    = None,
    encoding: opt.Encoding = None,
    horizon: Annotated[int | None, typer.Option(help="steps to forecast")] = None,
    lookback: Annotated[int | None, typer.Option(help="past steps the model reads")] = None,
    folds: Annotated[int | None, typer.Option(help="rolling test origins")] = None,
    kind: Annotated[str | None, typer.Option(
        help="auto (validation picks among recurrent, hybrid and the baselines), "
        "recurrent or hybrid")] = None,
    members: Annotated[int | None, typer.Option(
        help="networks of each kind, different seeds, averaged (default: by data size)")]
    = None,
    cell: opt.Cell = None, hidden_size: opt.HiddenSize = None, layers: opt.Layers = None,
    baselines: Annotated[str | None, typer.Option(
        help="comma-separated: naive,seasonal_naive,drift,ets,arima")] = None,
) -> dict[str, Any]:
    """Train recurrent and hybrid forecasters on DATA, let validation choose among them and
    the baselines, backtest all of them on the test origins, write a run folder."""
    return {
        "data.path": data, "data.series_column": series_column,
        "data.time_column": time_column, "data.target": target,
        "data.covariates": split_names(covariates), "data.freq": freq, "data.season": season,
        "data.encoding": encoding,
        "window.horizon": horizon, "window.lookback": lookback, "window.folds": folds,
        "model.kind": kind, "model.members": members,
        "model.cell": cell, "model.hidden_size": hidden_size, "model.num_layers": layers,
        "baselines": split_names(baselines),
    }


def _train(resolved: ForecastConfig, resume: bool, force: bool, quiet: bool) -> None:
    """Train, backtest and print the leaderboard."""

    from seqlab.cli.progress import EpochProgress, train_with_progress
    from seqlab.tasks.forecast.workflow import train_forecast

    outcome = train_with_progress(
        EpochProgress(console, "mase"), "seqlab forecast train", train_forecast, resolved,
        resume, force, quiet)
    chosen = outcome.leaderboard.loc[outcome.leaderboard["chosen"], "model"].iloc[0]
    _print_board(outcome.leaderboard, chosen, "test backtest (best MASE first; chosen: "
                 "the model validation chose)")
    console.print(f"model: {outcome.model_path}\nreport: {outcome.run_dir / 'report.html'}")


@forecast_app.command("predict")
@user_errors
def predict(
    model: Annotated[str, typer.Argument(help="forecaster bundle or its run folder")],
    data: Annotated[str, typer.Argument(
        help="the series, up to the last known point (several: the model's id column, or "
        "a folder)")],
    out: Annotated[str | None, typer.Option(help="CSV to write the forecast to")] = None,
    plot: Annotated[str | None, typer.Option(help="PNG of history and forecast")] = None,
) -> None:
    """Forecast the next `horizon` points after DATA ends, with prediction intervals."""
    from rich.table import Table

    from seqlab.tasks.forecast.workflow import predict_forecast

    future = predict_forecast(model, data, out, plot)
    table = Table(*[str(c) for c in future.columns])
    for row in future.itertuples(index=False):
        table.add_row(*(f"{v:.4g}" if isinstance(v, float) else str(v) for v in row))
    console.print(table)
    for path in (out, plot):
        if path:
            console.print(f"written: {path}")


def _print_board(board: Any, ours: str, title: str) -> None:
    from rich.table import Column, Table

    covers = [c for c in board.columns if c.startswith("cover_")]
    table = Table("rank", Column("model", no_wrap=True), "MASE", "sMAPE %", "MAE",
                  "val MASE", *(f"{c[6:]}% held" for c in covers), "chosen", title=title)
    for _, row in board.iterrows():
        table.add_row(str(row["rank"]), row["model"], f"{row['mase']:.3f}",
                      f"{row['smape']:.2f}", f"{row['mae']:.4g}",
                      _cell(row["val_mase"], ".3f"), *(_cell(row[c], ".0%") for c in covers),
                      "yes" if row["model"] == ours else "",
                      style="bold" if row["model"] == ours else None)
    console.print(table)


def _cell(value: float, spec: str) -> str:
    return "" if value != value else format(value, spec)


@forecast_app.command("evaluate")
@user_errors
def evaluate(
    model: Annotated[str, typer.Argument(help="forecaster bundle or its run folder")],
    data: Annotated[str, typer.Argument(help="the series to backtest on")],
    out: Annotated[str | None, typer.Option(help="output folder")] = None,
) -> None:
    """Backtest a saved forecaster and the baselines on the last origins of DATA."""
    from seqlab.tasks.forecast.workflow import evaluate_forecaster

    out_dir = Path(out) if out else Path("runs") / f"evaluate-{Path(data).stem}"
    board, ours = evaluate_forecaster(model, data, out_dir)
    _print_board(board, ours, f"{data}: backtest, the model as saved (best MASE first)")
    console.print(f"leaderboard: {out_dir / 'leaderboard.csv'}")


@forecast_app.command("demo")
@user_errors
def demo(
    output_dir: Annotated[str, typer.Option(help="where the run folder goes")] = "runs",
    offline: Annotated[bool, typer.Option(
        "--offline", help="train on the shipped sample; do not try the network")] = False,
) -> None:
    """Train and backtest on the airline passengers series (fetched once, 2 kB), or
    offline on the monthly sales sample that ships with seqlab (seconds)."""
    from importlib.resources import files

    real = fetch_for_demo("airline-passengers", offline)
    if real:
        console.print("demo: airline passengers, monthly 1949–1960 (144 points; Box & "
                      "Jenkins). Validation chooses among the recurrent and hybrid "
                      "networks and the baselines; the leaderboard shows them all on the "
                      "test origins.", highlight=False)
        overrides: dict[str, Any] = real.train_overrides()
    else:
        sample = Path(str(files("seqlab") / "samples" / "monthly_sales.csv"))
        console.print(f"demo: the sample {sample} (11 years of monthly sales with a "
                      "promotion flag; synthetic, written for seqlab)", highlight=False)
        overrides = {"data.path": str(sample), "data.target": "sales",
                     "data.covariates": ["promotion"]}
    config = apply_overrides(ForecastConfig(), {
        **overrides, "name": "forecast-demo", "output_dir": output_dir})
    _train(config, resume=False, force=True, quiet=False)


forecast_app.command("info")(bundle_info)
add_shared_verbs(forecast_app, "forecast")
