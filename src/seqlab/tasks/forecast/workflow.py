"""What ``seqlab forecast train`` and ``predict`` do, as library functions."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from seqlab.artifacts import atomic_write_text
from seqlab.engine.run_folder import prepare_run_dir, write_fit_record
from seqlab.evaluation.report import write_report
from seqlab.tasks.forecast.backtest import (
    METRICS,
    Backtest,
    plot_backtest,
    plot_forecast,
    run_backtest,
)
from seqlab.tasks.forecast.config import ForecastConfig
from seqlab.tasks.forecast.forecaster import Forecaster
from seqlab.tasks.forecast.series import Series, read_series
from seqlab.training.trainer import TrainCallbacks

Notify = Callable[[str], None]
MODEL_FILE = "model.safetensors"


@dataclass
class ForecastOutcome:
    """Where a forecasting run went and how every model scored on the test origins."""

    run_dir: Path
    model_path: Path
    leaderboard: pd.DataFrame


def load_series(config: ForecastConfig) -> Series:
    d = config.data
    return read_series(d.path, d.time_column, d.target, d.covariates, d.freq, d.season,
                       d.encoding)


def future_frame(forecaster: Forecaster, series: Series) -> pd.DataFrame:
    """The next ``horizon`` points after the series ends, with interval bounds."""
    values = forecaster.forecast(series)
    return pd.DataFrame({"time": series.future_index(forecaster.horizon), **values})


def _csv(frame: pd.DataFrame, path: Path) -> None:
    atomic_write_text(path, frame.to_csv(index=False, float_format="%.6g"))


def train_forecast(config: ForecastConfig, callbacks: TrainCallbacks | None = None,
                   resume: bool = False, overwrite: bool = False,
                   notify: Notify = lambda _: None) -> ForecastOutcome:
    """Fit, choose on validation, backtest against the baselines, write the run folder.
    Settings left at auto are chosen from the series and saved in ``config.yaml``."""
    series = load_series(config)
    for note in series.notes:
        notify(f"data: {note}")
    forecaster = Forecaster(config)
    plan = forecaster.plan(series)  # chooses the auto settings and checks the length
    config = forecaster.config
    for key, choice in forecaster.resolved_.items():
        notify(f"{key}: {choice['value']} (auto) — {choice['why']}")
    run_dir = prepare_run_dir(config, resume, overwrite)
    forecaster.fit(series, checkpoint_dir=run_dir / "checkpoints", resume=resume,
                   callbacks=callbacks)
    notify(choice_line(forecaster))
    notify(f"backtesting {', '.join(forecaster.names + config.baselines)} on "
           f"{plan.folds} test origins")
    backtest = run_backtest(series, forecaster, config.baselines)
    for note in backtest.notes:
        notify(f"baseline: {note}")
    chosen = forecaster.chosen_
    row = backtest.leaderboard.set_index("model").loc[chosen]
    metrics = {"model": chosen,
               "val": forecaster.validation_[chosen],
               "validation": forecaster.validation_,
               "test": {k: float(row[k]) for k in METRICS},
               "leaderboard": backtest.leaderboard.to_dict(orient="records"),
               "series": {"points": len(series), "freq": series.freq, "season": series.season,
                          "columns": series.columns, "notes": series.notes},
               "split": {"train_end": plan.val_start, "test_start": plan.test_start,
                         "test_origins": plan.test_origins,
                         "val_origins": plan.val_fold_origins},
               "fit_info": forecaster.fit_info_, "baseline_notes": backtest.notes}
    model_path = forecaster.save(run_dir / MODEL_FILE, metrics)
    write_fit_record(run_dir, metrics, forecaster, "mae")
    _csv(backtest.leaderboard, run_dir / "leaderboard.csv")
    _csv(backtest.points, run_dir / "backtest.csv")
    future = future_frame(forecaster, series)
    _csv(future, run_dir / "forecast.csv")
    _write_images(run_dir, series, forecaster, backtest, future)
    _write_forecast_report(run_dir, config, series, forecaster, backtest)
    return ForecastOutcome(run_dir, model_path, backtest.leaderboard)


def choice_line(forecaster: Forecaster) -> str:
    """Which model validation chose, and by how much it beat the next best."""
    ranked = sorted(forecaster.validation_.items(), key=lambda item: item[1]["mae"])
    best, scores = ranked[0]
    line = f"chosen on validation: {best} (MASE {scores['mase']:.3f}"
    if len(ranked) > 1:
        runner_up, other = ranked[1]
        gain = 1 - scores["mae"] / other["mae"] if other["mae"] > 0 else 0.0
        line += f"; {gain:.1%} lower MAE than {runner_up}, {other['mase']:.3f}"
    return line + f"; {len(ranked)} candidates scored at the validation origins)"


def _write_images(run_dir: Path, series: Series, forecaster: Forecaster, backtest: Backtest,
                  future: pd.DataFrame) -> None:
    plot_backtest(series, backtest, run_dir / "backtest.png",
                  f"{series.target}: test forecasts from {backtest.plan.folds} origins")
    _plot_future(series, forecaster, future, run_dir / "forecast.png")


def _plot_future(series: Series, forecaster: Forecaster, future: pd.DataFrame,
                 path: Path) -> None:
    """The forecast after the last few horizons of history (and the model's lookback)."""
    history = min(len(series), 4 * forecaster.horizon + forecaster.config.window.lookback)
    plot_forecast(series, future, path, f"{series.target}: the next {forecaster.horizon} "
                  "steps", history)


def _write_forecast_report(run_dir: Path, config: ForecastConfig, series: Series,
                           forecaster: Forecaster, backtest: Backtest) -> None:
    board = backtest.leaderboard
    chosen = forecaster.chosen_
    ours = board.set_index("model").loc[chosen]
    networks = set(forecaster.names)
    baselines = board[~board["model"].isin(networks)]
    best_baseline = baselines.iloc[0] if len(baselines) else None
    w, m, info = config.window, config.model, forecaster.fit_info_
    best_net = board[board["model"].isin(networks)].iloc[0]
    verdict = "no baselines were run"
    if best_baseline is not None:
        beats = "beats" if best_net["mase"] < best_baseline["mase"] else "loses to"
        verdict = (f"on the test origins the best baseline is {best_baseline['model']} (MASE "
                   f"{best_baseline['mase']:.3f}); the best network, {best_net['model']} "
                   f"({best_net['mase']:.3f}), {beats} it")
    levels = [c for c in board.columns if c.startswith("cover_")]
    header = ["rank", "model", *METRICS, "val MASE", *(f"{c[6:]}% covered" for c in levels),
              "chosen", "seconds"]
    rows = [[int(r["rank"]), r["model"], *(float(r[k]) for k in METRICS),
             float(r["val_mase"]), *(float(r[c]) for c in levels),
             "chosen" if r["chosen"] else "", float(r["seconds"])]
            for _, r in board.iterrows()]
    kinds = "; ".join(f"{forecaster.name_of(kind)}: {describe}"
                      for kind, describe in info["framings"].items())
    coverage = ", ".join(f"{c[6:]}% intervals held on {float(ours[c]):.0%}" for c in levels
                         if ours[c] == ours[c])
    write_report(run_dir, f"seqlab forecast: {config.name}", {
        "summary": [
            f"data: {config.data.path}, target {series.target!r}, {len(series)} points, "
            f"frequency {series.freq or 'none (rows in order)'}, season {series.season}",
            f"networks: {m.cell.upper()} {m.num_layers}×{m.hidden_size}, {info['members']} "
            f"seed(s) averaged each, lookback {w.lookback}, horizon {w.horizon} (direct "
            f"multi-step), {info['parameters']:,} parameters each; {kinds}",
            *[f"{key}: {c['value']} (auto): {c['why']}" for key, c in forecaster.resolved_.items()],
            f"backtest: {w.folds} rolling origins {w.step} steps apart over the last "
            f"{backtest.plan.held_out} points; the validation part before them chose the "
            f"epochs (epoch {forecaster.best_epoch_} of {info['epochs']} for the first "
            "network shown in the learning curves)",
            choice_line(forecaster),
            verdict,
            f"{chosen} on the test origins: {coverage}" if coverage else
            "no intervals for the chosen model",
            *([f"refit on training + validation: {', '.join(info['refitted'])}; not refitted "
               "(the time budget): " + ", ".join(k for k in info["kinds"]
                                                if k not in info["refitted"])]
              if config.refit and set(info["refitted"]) != set(info["kinds"]) else []),
            *[f"data: {note}" for note in series.notes],
            *[f"baseline: {note}" for note in backtest.notes],
        ],
        "cards_title": f"{chosen} (chosen on validation) on the test origins",
        "cards": [("MASE", float(ours["mase"])), ("sMAPE %", float(ours["smape"])),
                  ("MAE", float(ours["mae"])), ("rank", f"{int(ours['rank'])} of {len(board)}")],
        "tables": {"Leaderboard (test, pooled over origins and steps, best MASE first; "
                   "val MASE: the score that chose)": (header, rows)},
        "images": {"Backtest: forecast vs actual": "backtest.png",
                   "Forecast of the next steps": "forecast.png",
                   "Learning curves": "learning_curves.png"},
        "facts": {"training windows": info["train_windows"],
                  "validation windows": info["val_windows"],
                  "training seconds": round(info["train_seconds"], 1), "seed": config.seed,
                  "model file": MODEL_FILE,
                  "reproduce": f"seqlab forecast train --config {run_dir / 'config.yaml'} "
                               "--force"},
    })


def predict_forecast(model_path: str | Path, data_path: str | Path,
                     output: str | Path | None = None,
                     plot: str | Path | None = None) -> pd.DataFrame:
    """Forecast the ``horizon`` points after ``data_path`` ends; write CSV (and a plot)."""
    forecaster = Forecaster.load(model_path)
    series = _series_for(forecaster, data_path)
    future = future_frame(forecaster, series)
    if output:
        _csv(future, Path(output))
    if plot:
        _plot_future(series, forecaster, future, Path(plot))
    return future



def _series_for(forecaster: Forecaster, data_path: str | Path) -> Series:
    """A series file read with the columns, frequency and season the model was trained on."""
    d = forecaster.config.data
    series = read_series(data_path, d.time_column, forecaster.target_,
                         d.covariates, forecaster.freq_, forecaster.season_, d.encoding)
    return forecaster.align(series)


def evaluate_forecaster(model_path: str | Path, data_path: str | Path,
                        out_dir: str | Path) -> tuple[pd.DataFrame, str]:
    """Backtest a saved forecaster (not refitted) and the baselines on the last origins
    of a series; write leaderboard.csv, backtest.csv, backtest.png and metrics.json.
    Returns the leaderboard and the chosen model's name in it."""
    forecaster = Forecaster.load(model_path)
    series = _series_for(forecaster, data_path)
    backtest = run_backtest(series, forecaster, forecaster.config.baselines)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _csv(backtest.leaderboard, out / "leaderboard.csv")
    _csv(backtest.points, out / "backtest.csv")
    plot_backtest(series, backtest, out / "backtest.png",
                  f"{series.target}: forecasts from {backtest.plan.folds} origins")
    atomic_write_text(out / "metrics.json", json.dumps(
        {"leaderboard": backtest.leaderboard.to_dict(orient="records"),
         "notes": backtest.notes}, indent=2, default=str))
    return backtest.leaderboard, forecaster.chosen_
