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
from seqlab.tasks.forecast.series import Panel, Series, read_panel
from seqlab.training.distributed import world
from seqlab.training.trainer import TrainCallbacks

Notify = Callable[[str], None]
MODEL_FILE = "model.safetensors"
MAX_SERIES_ROWS = 50  # series listed one by one in the report


@dataclass
class ForecastOutcome:
    """Where a forecasting run went and how every model scored on the test origins."""

    run_dir: Path
    model_path: Path
    leaderboard: pd.DataFrame


def load_panel(config: ForecastConfig) -> Panel:
    """The run's series: one, or many (``data.series_column``, or a folder)."""
    d = config.data
    return read_panel(d.path, d.series_column, d.time_column, d.target, d.covariates, d.freq,
                      d.season, d.encoding)


def future_frame(forecaster: Forecaster, panel: Panel) -> pd.DataFrame:
    """The next ``horizon`` points after each series ends, with interval bounds (and a
    ``series`` column for a model of several series)."""
    frames = []
    for sid, series in panel.items():
        values = forecaster.forecast(series, sid)
        frame = pd.DataFrame({"time": series.future_index(forecaster.horizon), **values})
        if len(panel) > 1 or len(forecaster.series_ids_) > 1:
            frame.insert(0, "series", sid)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _csv(frame: pd.DataFrame, path: Path) -> None:
    atomic_write_text(path, frame.to_csv(index=False, float_format="%.6g"))


def train_forecast(config: ForecastConfig, callbacks: TrainCallbacks | None = None,
                   resume: bool = False, overwrite: bool = False,
                   notify: Notify = lambda _: None) -> ForecastOutcome | None:
    """Fit, choose on validation, backtest against the baselines, write the run folder.
    Settings left at auto are chosen from the series and saved in ``config.yaml``. Under
    torchrun the processes other than rank 0 train beside it, write nothing and return
    None."""
    panel = load_panel(config)
    for sid, series in panel.items():
        for note in series.notes:
            notify(f"data{f' ({sid})' if len(panel) > 1 else ''}: {note}")
    if len(panel) > 1:
        lengths = [len(s) for s in panel.values()]
        notify(f"{len(panel)} series, {min(lengths)}–{max(lengths)} points: one model "
               "over all of them")
    forecaster = Forecaster(config)
    plans = forecaster.plans(panel)  # chooses the auto settings and checks the lengths
    config = forecaster.config
    for key, choice in forecaster.resolved_.items():
        notify(f"{key}: {choice['value']} (auto) — {choice['why']}")
    run_dir = prepare_run_dir(config, resume, overwrite)
    forecaster.fit(panel, checkpoint_dir=run_dir / "checkpoints", resume=resume,
                   callbacks=callbacks)
    if not world().is_main:  # another process of a distributed run: rank 0 writes the run
        return None
    notify(choice_line(forecaster))
    plan = next(iter(plans.values()))
    notify(f"backtesting {', '.join(forecaster.names + config.baselines)} on "
           f"{plan.folds} test origins" + (" of each series" if len(panel) > 1 else ""))
    backtest = run_backtest(panel, forecaster, config.baselines)
    for note in backtest.notes:
        notify(f"baseline: {note}")
    chosen = forecaster.chosen_
    row = backtest.leaderboard.set_index("model").loc[chosen]
    first = next(iter(panel.values()))
    metrics = {"model": chosen,
               "val": forecaster.validation_[chosen],
               "validation": forecaster.validation_,
               "test": {k: float(row[k]) for k in METRICS},
               "leaderboard": backtest.leaderboard.to_dict(orient="records"),
               "series": {"count": len(panel), "points": len(first), "freq": first.freq,
                          "season": first.season, "columns": first.columns,
                          "notes": first.notes},
               "split": {"train_end": plan.val_start, "test_start": plan.test_start,
                         "test_origins": plan.test_origins,
                         "val_origins": plan.val_fold_origins},
               "fit_info": forecaster.fit_info_, "baseline_notes": backtest.notes}
    model_path = forecaster.save(run_dir / MODEL_FILE, metrics)
    write_fit_record(run_dir, metrics, forecaster, "mae")
    _csv(backtest.leaderboard, run_dir / "leaderboard.csv")
    if len(panel) > 1:
        _csv(backtest.by_series, run_dir / "leaderboard_by_series.csv")
    _csv(backtest.points, run_dir / "backtest.csv")
    future = future_frame(forecaster, panel)
    _csv(future, run_dir / "forecast.csv")
    _write_images(run_dir, panel, forecaster, backtest, future)
    _write_forecast_report(run_dir, config, panel, forecaster, backtest)
    return ForecastOutcome(run_dir, model_path, backtest.leaderboard)


def choice_line(forecaster: Forecaster) -> str:
    """Which model validation chose, and by how much it beat the next best."""
    ranked = sorted(forecaster.validation_.items(), key=lambda item: item[1]["mase"])
    best, scores = ranked[0]
    line = f"chosen on validation: {best} (MASE {scores['mase']:.3f}"
    if len(ranked) > 1:
        runner_up, other = ranked[1]
        gain = 1 - scores["mase"] / other["mase"] if other["mase"] > 0 else 0.0
        line += f"; {gain:.1%} lower than {runner_up}, {other['mase']:.3f}"
    return line + f"; {len(ranked)} candidates scored at the validation origins)"


def _write_images(run_dir: Path, panel: Panel, forecaster: Forecaster, backtest: Backtest,
                  future: pd.DataFrame) -> None:
    """The backtest and the forecast of the first series (of several, named in the title)."""
    sid, series = next(iter(panel.items()))
    named = f"{series.target} ({sid})" if len(panel) > 1 else series.target
    plot_backtest(series, backtest, run_dir / "backtest.png",
                  f"{named}: test forecasts from {backtest.plan.folds} origins", sid)
    _plot_future(series, forecaster, _rows_of(future, sid), run_dir / "forecast.png", named)


def _rows_of(future: pd.DataFrame, sid: str) -> pd.DataFrame:
    """One series' rows of a forecast frame (all of them where it has no series column)."""
    return future[future["series"] == sid] if "series" in future else future


def _plot_future(series: Series, forecaster: Forecaster, future: pd.DataFrame,
                 path: Path, named: str | None = None) -> None:
    """The forecast after the last few horizons of history (and the model's lookback)."""
    history = min(len(series), 4 * forecaster.horizon + int(forecaster.config.window.lookback))
    plot_forecast(series, future, path, f"{named or series.target}: the next "
                  f"{forecaster.horizon} steps", history)


def _write_forecast_report(run_dir: Path, config: ForecastConfig, panel: Panel,
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
    tables = {"Leaderboard (test, pooled over origins and steps"
              + (", each metric the mean over series" if len(panel) > 1 else "")
              + "; best MASE first; val MASE: the score that chose)": (header, rows)}
    if len(panel) > 1:
        wide = backtest.by_series.pivot(index="series", columns="model", values="mase")
        order = list(board["model"])
        tables["Test MASE by series"] = (
            ["series", *order], [[sid, *(float(wide.loc[sid, mdl]) for mdl in order)]
                                 for sid in panel][:MAX_SERIES_ROWS])
    kinds = "; ".join(f"{forecaster.name_of(kind)}: {describe}"
                      for kind, describe in info["framings"].items())
    coverage = ", ".join(f"{c[6:]}% intervals held on {float(ours[c]):.0%}" for c in levels
                         if ours[c] == ours[c])
    first = next(iter(panel.values()))
    data = (f"{len(panel)} series of {first.target!r}, {min(map(len, panel.values()))}–"
            f"{max(map(len, panel.values()))} points" if len(panel) > 1 else
            f"target {first.target!r}, {len(first)} points")
    write_report(run_dir, f"seqlab forecast: {config.name}", {
        "summary": [
            f"data: {config.data.path}, {data}, frequency "
            f"{first.freq or 'none (rows in order)'}, season {first.season}",
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
            *[f"data: {note}" for note in first.notes],
            *[f"baseline: {note}" for note in backtest.notes],
        ],
        "cards_title": f"{chosen} (chosen on validation) on the test origins",
        "cards": [("MASE", float(ours["mase"])), ("sMAPE %", float(ours["smape"])),
                  ("MAE", float(ours["mae"])), ("rank", f"{int(ours['rank'])} of {len(board)}")],
        "tables": tables,
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
    """Forecast the ``horizon`` points after each series in ``data_path`` ends (series the
    model was not trained on are framed on their own history); write CSV (and a plot of
    the first series)."""
    forecaster = Forecaster.load(model_path)
    panel = _panel_for(forecaster, data_path)
    future = future_frame(forecaster, panel)
    if output:
        _csv(future, Path(output))
    if plot:
        sid, series = next(iter(panel.items()))
        _plot_future(series, forecaster, _rows_of(future, sid), Path(plot))
    return future


def _panel_for(forecaster: Forecaster, data_path: str | Path) -> Panel:
    """The series in a file (or folder) read with the id column, columns, frequency and
    season the model was trained on; one series for a one-series model keeps its name."""
    d = forecaster.config.data
    panel = read_panel(data_path, d.series_column, d.time_column, forecaster.target_,
                       d.covariates, forecaster.freq_, forecaster.season_, d.encoding)
    if len(panel) == 1 and len(forecaster.series_ids_) == 1:
        panel = {forecaster.series_ids_[0]: next(iter(panel.values()))}
    return {sid: forecaster.align(series) for sid, series in panel.items()}


def evaluate_forecaster(model_path: str | Path, data_path: str | Path,
                        out_dir: str | Path) -> tuple[pd.DataFrame, str]:
    """Backtest a saved forecaster (not refitted) and the baselines on the last origins
    of each series; write leaderboard.csv (and leaderboard_by_series.csv), backtest.csv,
    backtest.png and metrics.json. Returns the leaderboard and the chosen model's name."""
    forecaster = Forecaster.load(model_path)
    panel = _panel_for(forecaster, data_path)
    backtest = run_backtest(panel, forecaster, forecaster.config.baselines)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _csv(backtest.leaderboard, out / "leaderboard.csv")
    if len(panel) > 1:
        _csv(backtest.by_series, out / "leaderboard_by_series.csv")
    _csv(backtest.points, out / "backtest.csv")
    sid, series = next(iter(panel.items()))
    plot_backtest(series, backtest, out / "backtest.png",
                  f"{series.target}: forecasts from {backtest.plan.folds} origins", sid)
    atomic_write_text(out / "metrics.json", json.dumps(
        {"leaderboard": backtest.leaderboard.to_dict(orient="records"),
         "notes": backtest.notes}, indent=2, default=str))
    return backtest.leaderboard, forecaster.chosen_
