"""Forecasting: series reading, split, scaler, baselines, metrics, model, bundle and CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from seqlab.cli.main import app
from seqlab.config import apply_overrides
from seqlab.errors import ConfigError, DataError
from seqlab.tasks.forecast.baselines import BASELINES, run_baseline
from seqlab.tasks.forecast.config import ForecastConfig
from seqlab.tasks.forecast.forecaster import Forecaster
from seqlab.tasks.forecast.metrics import forecast_metrics, mase_scale
from seqlab.tasks.forecast.series import read_series, series_from_frame
from seqlab.tasks.forecast.windows import SplitPlan
from seqlab.tasks.forecast.workflow import predict_forecast, train_forecast

from conftest import SHARED_DATA

runner = CliRunner()
FAST = {"model.hidden_size": 16, "training.max_epochs": 120, "training.patience": 25,
        "training.lr": 0.01, "baselines": ["naive", "seasonal_naive", "drift"]}


def monthly_csv(path, values, start="2000-01"):
    months = pd.period_range(start, periods=len(values), freq="M").strftime("%Y-%m")
    pd.DataFrame({"Month": months, "Value": values}).to_csv(path, index=False)
    return path


def config(tmp_path, path, **overrides):
    base = ForecastConfig(name="fc", output_dir=str(tmp_path))
    return apply_overrides(base, {"data.path": str(path), **FAST, **overrides})


# ---- reading --------------------------------------------------------------------------

def test_series_is_sorted_deduplicated_and_gap_filled(tmp_path):
    days = [f"2020-01-{d:02d}" for d in range(1, 21) if d != 4]  # the 4th is missing
    frame = pd.DataFrame({"Date": [days[2], days[0], *days[1:2], days[0], *days[3:]],
                          "y": [3.0, 1.0, 2.0, 3.0, *range(5, 21)]})
    series = series_from_frame(frame, "f.csv")
    assert series.freq == "D" and series.season == 7
    assert series.frame.index[0] == pd.Timestamp("2020-01-01")
    # the two 01-01 rows averaged, 01-04 inserted and interpolated
    assert series.y.tolist() == [2.0, 2.0, 3.0, 4.0, *range(5, 21)]
    text = " ".join(series.notes)
    assert "sorted" in text and "1 rows with a repeated" in text and "1 missing D steps" in text


def test_series_time_formats_and_covariates(tmp_path):
    short = pd.DataFrame({"Month": ["1-01", "1-02", "1-03", "1-04"], "Sales": [1, 2, 3, 4]})
    assert read_series_frame(short).freq == "MS"
    parts = pd.DataFrame({"year": [2010] * 4, "month": [1] * 4, "day": [1] * 4,
                          "hour": [0, 1, 2, 3], "pm": [1.0, None, 3.0, 4.0],
                          "wind": ["NW", "SE", "NW", "NW"]})
    series = series_from_frame(parts, "p.csv", "year,month,day,hour", "pm", ["wind"])
    assert series.freq == "h" and series.season == 24
    assert series.columns == ["pm", "wind=NW", "wind=SE"]
    assert series.y.tolist() == [1.0, 2.0, 3.0, 4.0]


def read_series_frame(frame):
    return series_from_frame(frame, "s.csv")


def test_bad_series_input_names_the_row(tmp_path):
    bad_target = tmp_path / "bad.csv"
    bad_target.write_text("Month,Value\n2000-01,1\n2000-02,2\n2000-03,abc\n")
    with pytest.raises(DataError, match=r"bad\.csv: row 4: target column 'Value' holds 'abc'"):
        read_series(bad_target)
    bad_time = tmp_path / "time.csv"
    bad_time.write_text("Date,Value\n2000-01-01,1\nsoon,2\n2000-01-03,3\n")
    with pytest.raises(DataError, match=r"row 3: 'Date' value 'soon' is not a date"):
        read_series(bad_time)
    with pytest.raises(DataError, match="no column 'Sales'"):
        read_series(bad_target, target="Sales")
    short = monthly_csv(tmp_path / "short.csv", np.arange(20.0))
    asked = apply_overrides(ForecastConfig(), {"window.lookback": 24, "window.horizon": 12})
    with pytest.raises(DataError, match=r"has 20 points, too short for lookback 24"):
        Forecaster(asked).plan(read_series(short))


def test_cli_reports_bad_input_in_one_line(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("Month,Value\n2000-01,1\n2000-02,x\n")
    result = runner.invoke(app, ["forecast", "train", str(bad), "--output-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "row 3" in result.output and "Traceback" not in result.output


# ---- split, scaler, windows ---------------------------------------------------------------

def test_split_is_chronological_and_every_window_stays_in_its_part():
    plan = SplitPlan(n=100, lookback=10, horizon=5, folds=3, step=5).check()
    assert plan.held_out == 15 and plan.test_start == 85 and plan.val_start == 70
    assert all(o + plan.horizon <= plan.val_start for o in plan.train_origins)
    assert all(plan.val_start <= o and o + plan.horizon <= plan.test_start
               for o in plan.val_origins)
    assert plan.test_origins == [85, 90, 95]
    assert plan.refit_origins == list(range(10, 81))  # train + validation, never test
    assert max(plan.train_origins) < min(plan.val_origins) < min(plan.test_origins)


def test_nothing_after_the_validation_part_reaches_the_scaler_or_weights(tmp_path):
    rng = np.random.default_rng(0)
    values = 10 + np.sin(np.arange(120) / 3) + rng.normal(0, 0.1, 120)
    changed = values.copy()
    cfg = config(tmp_path, monthly_csv(tmp_path / "a.csv", values), **{
        "window.lookback": 12, "window.horizon": 6, "training.max_epochs": 5})
    plan = Forecaster(cfg).plan(read_series(cfg.data.path))
    changed[plan.test_start:] *= 100  # only the test part differs
    other = apply_overrides(cfg, {"data.path": str(monthly_csv(tmp_path / "b.csv", changed))})
    first = Forecaster(cfg).fit(read_series(cfg.data.path))
    second = Forecaster(other).fit(read_series(other.data.path))
    (tensors, meta), (other_tensors, other_meta) = first.to_bundle(), second.to_bundle()
    assert set(meta["kinds"]) == {"recurrent", "hybrid"}  # scalers, smoothing, weights
    assert tensors.keys() == other_tensors.keys()
    for key, tensor in tensors.items():
        assert torch.equal(tensor, other_tensors[key]), key
    for key in ("framings", "chosen", "validation", "intervals"):
        assert meta[key] == other_meta[key], key


# ---- baselines and metrics ------------------------------------------------------------------

def test_simple_baselines_follow_their_definitions():
    history = np.array([1.0, 2.0, 3.0, 10.0, 20.0, 30.0])
    assert BASELINES.get("naive")(history, 2, 3).tolist() == [30.0, 30.0]
    assert BASELINES.get("seasonal_naive")(history, 4, 3).tolist() == [10.0, 20.0, 30.0, 10.0]
    assert BASELINES.get("drift")(history, 2, 3).tolist() == pytest.approx([35.8, 41.6])


def test_ets_and_arima_forecast_a_clean_seasonal_trend():
    t = np.arange(96, dtype=float)
    y = 50 + 0.5 * t + 5 * np.sin(2 * np.pi * t / 12)
    truth = 50 + 0.5 * np.arange(96, 108) + 5 * np.sin(2 * np.pi * np.arange(96, 108) / 12)
    for name in ("ets", "arima"):
        forecast, note = run_baseline(name, y, 12, 12)
        assert note is None and np.abs(forecast - truth).mean() < 0.5, name


def test_forecast_metrics_on_a_hand_worked_case():
    m = forecast_metrics(np.array([1.0, 2.0, 4.0]), np.array([2.0, 2.0, 2.0]), scale=2.0)
    assert m["mae"] == pytest.approx(1.0)
    assert m["rmse"] == pytest.approx(np.sqrt(5 / 3))
    assert m["mape"] == pytest.approx(100 * (1 + 0 + 0.5) / 3)
    assert m["smape"] == pytest.approx(100 * (2 / 3 + 0 + 4 / 6) / 3)
    assert m["mase"] == pytest.approx(0.5)
    assert mase_scale(np.array([1.0, 3.0, 2.0, 4.0]), season=2) == pytest.approx(1.0)


# ---- the recurrent forecaster ---------------------------------------------------------------

def test_a_noiseless_sine_and_a_linear_trend_are_forecast_almost_exactly(tmp_path):
    t = np.arange(200, dtype=float)
    cases = {"sine": np.sin(2 * np.pi * t / 10), "trend": 3 + 0.5 * t}
    for name, values in cases.items():
        cfg = config(tmp_path, monthly_csv(tmp_path / f"{name}.csv", values), **{
            "name": name, "model.level": "last", "window.lookback": 20,
            "window.horizon": 5, "training.max_epochs": 150, "model.kind": "recurrent",
            "model.members": 1})
        outcome = train_forecast(cfg)
        board = outcome.leaderboard.set_index("model")
        scale = np.abs(np.diff(values)).mean()
        assert board.loc["lstm", "mae"] < 0.05 * scale * 5, (name, board)
        assert board.loc["lstm", "mase"] < board.loc["naive", "mase"]


def test_bundle_round_trip_and_predict_with_intervals(tmp_path):
    rng = np.random.default_rng(1)
    values = 20 + 3 * np.sin(2 * np.pi * np.arange(96) / 12) + rng.normal(0, 0.3, 96)
    cfg = config(tmp_path, monthly_csv(tmp_path / "s.csv", values), **{
        "model.cell": "gru", "window.lookback": 12, "window.horizon": 4,
        "training.max_epochs": 20})
    outcome = train_forecast(cfg)
    run = outcome.run_dir
    for name in ("model.safetensors", "report.html", "backtest.csv", "backtest.png",
                 "forecast.csv", "leaderboard.csv", "learning_curves.png"):
        assert (run / name).exists(), name
    metrics = json.loads((run / "metrics.json").read_text())
    assert {row["model"] for row in metrics["leaderboard"]} == {
        "gru", "hybrid-gru", "naive", "seasonal_naive", "drift"}
    assert metrics["model"] in {row["model"] for row in metrics["leaderboard"]}
    loaded = Forecaster.load(run)
    series = read_series(cfg.data.path)
    original = Forecaster(cfg).fit(series)
    assert np.allclose(loaded.forecast(series)["forecast"], original.forecast(series)["forecast"],
                       atol=1e-5)
    future = predict_forecast(run, cfg.data.path, tmp_path / "next.csv", tmp_path / "next.png")
    assert len(future) == 4 and future["time"].iloc[0] == pd.Timestamp("2008-01-01")
    assert (future["lower_95"] <= future["lower_80"]).all()
    assert (future["upper_80"] <= future["upper_95"]).all()
    assert pd.read_csv(tmp_path / "next.csv").shape == (4, 6)
    result = runner.invoke(app, ["forecast", "predict", str(run), str(cfg.data.path)])
    assert result.exit_code == 0 and "2008-04-01" in result.output


def test_log_transform_refuses_non_positive_values_and_seasonal_level_needs_the_season(
        tmp_path):
    path = monthly_csv(tmp_path / "z.csv", np.r_[0.0, np.arange(1.0, 150.0)])
    cfg = config(tmp_path, path, **{"model.target_transform": "log"})
    with pytest.raises(DataError, match="needs positive values"):
        Forecaster(cfg).fit(read_series(path))
    cfg = config(tmp_path, path, **{"model.level": "seasonal", "window.lookback": 6})
    with pytest.raises(ConfigError, match="lookback to at least 12"):
        Forecaster(cfg).fit(read_series(path))


@pytest.mark.realdata
def test_airline_passengers_lstm_beats_the_naive_forecasts(tmp_path):
    path = SHARED_DATA / "timeseries" / "airline-passengers.csv"
    if not path.exists():
        pytest.skip(f"real data not found at {path} (set SEQLAB_SHARED_DATA); skipping")
    cfg = ForecastConfig(name="air", output_dir=str(tmp_path))
    cfg = apply_overrides(cfg, {"data.path": str(path), "data.target": "Passengers"})
    board = train_forecast(cfg).leaderboard.set_index("model")
    assert set(board.index) == {"lstm", "hybrid-lstm", "naive", "seasonal_naive", "drift",
                                "ets", "arima"}
    for network in ("lstm", "hybrid-lstm"):
        assert board.loc[network, "mase"] < min(board.loc["naive", "mase"],
                                                board.loc["seasonal_naive", "mase"])


def test_server_forecasts_from_posted_history(tmp_path):
    pytest.importorskip("fastapi", reason="the serve extra is not installed")
    from fastapi.testclient import TestClient

    from seqlab.serving.app import ServeSettings, app_for

    values = 20 + 3 * np.sin(2 * np.pi * np.arange(96) / 12)
    cfg = config(tmp_path, monthly_csv(tmp_path / "s.csv", values), **{
        "window.lookback": 12, "window.horizon": 4, "training.max_epochs": 5})
    run = train_forecast(cfg).run_dir
    client = TestClient(app_for(ServeSettings(model=str(run))))
    expected = Forecaster.load(run).forecast(read_series(cfg.data.path))
    response = client.post("/forecast", json={"history": values[-30:].tolist()})
    assert response.status_code == 200, response.text
    assert np.allclose(response.json()["forecast"], expected["forecast"], atol=1e-4)
    assert set(response.json()) >= {"lower_80", "upper_95", "model"}
    short = client.post("/forecast", json={"history": [1.0, 2.0]})
    need = Forecaster.load(run).min_history()
    assert need >= 12  # the lookback, or two seasons for the hybrid
    assert short.status_code == 422 and f"at least {need} points" in short.json()["error"]
    assert client.post("/forecast", json={"values": [1]}).status_code == 422
    assert client.get("/model").json()["horizon"] == 4
