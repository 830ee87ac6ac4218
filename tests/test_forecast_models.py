"""Forecasting defaults and models: window choices, the smoothing behind the hybrid, the
framings, intervals, the choice on validation, the time budget, quantiles and global
models over many series."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from typer.testing import CliRunner

from seqlab.cli.main import app
from seqlab.config import apply_overrides
from seqlab.errors import ConfigError, DataError
from seqlab.tasks.forecast.auto import MIN_TRAIN_WINDOWS, choose_window
from seqlab.tasks.forecast.baselines import run_baseline
from seqlab.tasks.forecast.config import ForecastConfig
from seqlab.tasks.forecast.forecaster import Forecaster
from seqlab.tasks.forecast.framing import FRAMINGS
from seqlab.tasks.forecast.intervals import bounds, coverage, fit_intervals
from seqlab.tasks.forecast.metrics import mase_scale
from seqlab.tasks.forecast.series import Series, read_panel, read_series
from seqlab.tasks.forecast.smoothing import Smoothing, _run
from seqlab.tasks.forecast.windows import SplitPlan
from seqlab.tasks.forecast.workflow import predict_forecast, train_forecast

from conftest import post_together

runner = CliRunner()
QUICK = {"model.hidden_size": 8, "model.members": 1, "training.max_epochs": 4,
         "training.lr": 0.01, "baselines": ["naive", "seasonal_naive"]}


def seasonal(n: int, start: float = 50.0, noise: float = 0.5, seed: int = 0) -> np.ndarray:
    t = np.arange(n)
    rng = np.random.default_rng(seed)
    return start + 0.3 * t + 6 * np.sin(2 * np.pi * t / 12) + rng.normal(0, noise, n)


def monthly_csv(path, values, start="2000-01"):
    months = pd.period_range(start, periods=len(values), freq="M").strftime("%Y-%m")
    pd.DataFrame({"Month": months, "Value": values}).to_csv(path, index=False)
    return path


def quick(tmp_path, path, **overrides):
    return apply_overrides(ForecastConfig(name="fc", output_dir=str(tmp_path)),
                           {"data.path": str(path), **QUICK, **overrides})


# ---- window defaults ------------------------------------------------------------------

@pytest.mark.parametrize(("freq", "season", "horizon", "lookback"), [
    ("MS", 12, 12, 24), ("QS-JAN", 4, 8, 8), ("YS-JAN", 1, 6, 18), ("D", 7, 7, 14),
    ("h", 24, 24, 48), ("W-SUN", 52, 13, 104), (None, 1, 6, 18)])
def test_the_window_follows_the_frequency_on_a_long_series(freq, season, horizon, lookback):
    chosen = choose_window(5000, freq, season, {})
    assert chosen["horizon"]["value"] == horizon and chosen["lookback"]["value"] == lookback
    assert chosen["folds"]["value"] == 8  # the most there may be


@pytest.mark.parametrize("freq", ["MS", "YS-JAN", "D", "h", None])
def test_every_chosen_window_fits_its_series(freq):
    season = {"MS": 12, "D": 7, "h": 24}.get(freq or "", 1)
    for n in range(24, 400, 7):
        chosen = {k: c["value"] for k, c in choose_window(n, freq, season, {}).items()}
        plan = SplitPlan(n, chosen["lookback"], chosen["horizon"], chosen["folds"],
                         chosen["horizon"], chosen["stride"]).check()  # raises if it does not
        if chosen["folds"] > 1:  # more origins only where the series has room for them
            assert plan.held_out <= n / 4
            assert len(plan.train_origins) >= MIN_TRAIN_WINDOWS


def test_asked_for_settings_are_kept():
    chosen = choose_window(144, "MS", 12, {"horizon": 3, "lookback": 10, "folds": 2,
                                           "stride": 1})
    assert chosen == {}


def test_short_yearly_and_monthly_series_train_with_defaults(tmp_path):
    years = tmp_path / "yearly.csv"
    pd.DataFrame({"year": [str(1900 + i) for i in range(79)],
                  "value": 100 + np.cumsum(np.random.default_rng(1).normal(1, 2, 79))}
                 ).to_csv(years, index=False)
    months = monthly_csv(tmp_path / "monthly.csv", seasonal(105))
    for path, horizon in ((years, 6), (months, 12)):
        config = quick(tmp_path, path, name=path.stem)
        outcome = train_forecast(config)
        saved = yaml.safe_load((outcome.run_dir / "config.yaml").read_text())
        assert saved["window"]["horizon"] == horizon  # the choice, written down
        assert all(isinstance(saved["window"][k], int) for k in ("lookback", "folds",
                                                                  "stride"))
        assert saved["model"]["members"] == 1
        assert "chosen" in pd.read_csv(outcome.run_dir / "leaderboard.csv")


# ---- smoothing --------------------------------------------------------------------------

def scalar_smoothing(z, m, alpha, beta, phi, gamma, start):
    """The recursions one value at a time, for comparison with the vectorised ones."""
    level, trend, indices = start[0], start[1], list(start[2])
    levels, trends, written = [], [], list(indices)
    for t, value in enumerate(z):
        prior = indices[t % m]
        new = alpha * (value - prior) + (1 - alpha) * (level + phi * trend)
        trend = beta * (new - level) + (1 - beta) * phi * trend
        level = new
        indices[t % m] = gamma * (value - level) + (1 - gamma) * prior
        levels.append(level)
        trends.append(trend)
        written.append(indices[t % m])
    return np.array(levels), np.array(trends), np.array(written)


def test_the_smoothing_recursions_match_a_value_by_value_loop():
    from seqlab.tasks.forecast.smoothing import initial_states

    z = seasonal(60, noise=2.0)
    params = np.array([[0.3, 0.1, 0.9, 0.2], [0.7, 0.0, 1.0, 0.05], [1.0, 0.2, 0.98, 0.0]])
    states = _run(z, 12, *params.T)
    for g, (alpha, beta, phi, gamma) in enumerate(params):
        level, trend, written = scalar_smoothing(z, 12, alpha, beta, phi, gamma,
                                                 initial_states(z, 12))
        assert np.allclose(states.level[g], level) and np.allclose(states.trend[g], trend)
        assert np.allclose(states.written[g], written)
        # a forecast h steps on: level + (phi + … + phi^h) trend + the phase's last index
        origin, horizon = 40, 15
        expected = [level[origin - 1] + sum(phi ** i for i in range(1, h + 2))
                    * trend[origin - 1] + written[max(t for t in range(origin + 12)
                                                      if t % 12 == (origin + h) % 12)]
                    for h in range(horizon)]
        assert np.allclose(states.base(np.array([origin]), horizon)[g, 0], expected)


def test_the_smoothing_forecasts_a_clean_seasonal_trend_almost_exactly():
    t = np.arange(120)
    for y in (20 + 0.5 * t + 4 * np.sin(2 * np.pi * t / 12),  # additive
              np.exp(3 + 0.01 * t) * (1 + 0.2 * np.sin(2 * np.pi * t / 12))):  # growing
        smoothing = Smoothing.fit(y[:96], 12, 12)
        forecast = smoothing.states(y).base(np.array([96, 108]), 12)
        forecast = np.exp(forecast) if smoothing.log else forecast
        actual = np.stack([y[96:108], y[108:120]])
        seasonal_naive = np.stack([y[84:96], y[96:108]])
        assert np.abs(forecast - actual).mean() < 0.15 * np.abs(seasonal_naive - actual).mean()


def test_a_zero_after_a_positive_fitted_part_is_read_at_the_floor():
    y = np.exp(3 + 0.01 * np.arange(96)) * (1 + 0.2 * np.sin(2 * np.pi * np.arange(96) / 12))
    smoothing = Smoothing.fit(y[:72], 12, 12)
    assert smoothing.log and smoothing.floor == pytest.approx(y[:72].min() / 2)
    later = y.copy()
    later[80] = 0.0  # e.g. a pollution reading of zero in the validation part
    assert np.isfinite(smoothing.states(later).level).all()
    assert smoothing.working(later)[80] == pytest.approx(np.log(smoothing.floor))


@pytest.mark.parametrize("kind", ["recurrent", "hybrid"])
def test_a_framing_reads_its_targets_back_exactly(kind):
    values = np.column_stack([seasonal(96), np.random.default_rng(3).normal(0, 1, 96)])
    framing = FRAMINGS.get(kind)()
    framing.fit(values, 60, 12, 6)
    origins = [30, 60, 90]
    targets = framing.targets(values, origins, 6)
    actual = np.stack([values[o:o + 6, 0] for o in origins])
    assert np.allclose(framing.restore_units(targets.astype(np.float64), values, origins),
                       actual, rtol=1e-5)
    assert framing.inputs(values, origins, 24).shape == (3, 24, 2)


# ---- intervals --------------------------------------------------------------------------

def test_intervals_are_quantiles_of_the_validation_errors_and_coverage_counts():
    rng = np.random.default_rng(0)
    actual = rng.normal(0, 1, (40, 3))  # not all positive: differences
    point = np.zeros((40, 3))
    fitted = fit_intervals(actual, point, [0.8])
    low, high = np.quantile(actual, [0.1, 0.9], axis=0)  # per step, 40 origins
    assert not fitted["relative"]
    assert np.allclose(fitted["widths"]["0.8"], [low, high])
    around = bounds(fitted, point)
    inside = sum(low[h] <= actual[o, h] <= high[h] for o in range(40) for h in range(3))
    assert coverage(actual, around)["0.8"] == pytest.approx(inside / 120)
    positive = fit_intervals(np.full((20, 2), 110.0), np.full((20, 2), 100.0), [0.8])
    assert positive["relative"]  # ratios: the interval grows with the forecast
    lower, upper = bounds(positive, np.full((1, 2), 200.0))["0.8"]
    assert np.allclose(lower, 220.0) and np.allclose(upper, 220.0)


# ---- the choice, the budget, quantiles ---------------------------------------------------

def test_validation_chooses_the_lowest_mase_and_scores_baselines_by_hand(tmp_path):
    path = monthly_csv(tmp_path / "s.csv", seasonal(120, noise=2.0))
    series = read_series(path)
    forecaster = Forecaster(quick(tmp_path, path, refit=False)).fit(series)
    plan = forecaster.plan(series)
    y, scale = series.y, mase_scale(series.y[:plan.val_start], 12)
    for name in ("naive", "seasonal_naive"):
        errors = [np.abs(run_baseline(name, y[:o], plan.horizon, 12)[0]
                         - y[o:o + plan.horizon]).mean() for o in plan.val_fold_origins]
        assert forecaster.validation_[name]["mase"] == pytest.approx(np.mean(errors) / scale)
    assert set(forecaster.validation_) == {"lstm", "hybrid-lstm", "naive", "seasonal_naive"}
    assert forecaster.chosen_ == min(forecaster.validation_,
                                     key=lambda n: forecaster.validation_[n]["mase"])
    again = Forecaster(quick(tmp_path, path, **{"model.kind": "hybrid"})).fit(series)
    assert again.names == ["hybrid-lstm"] and again.chosen_ == "hybrid-lstm"


def test_the_time_budget_covers_the_refit(tmp_path):
    path = monthly_csv(tmp_path / "s.csv", seasonal(120))
    config = quick(tmp_path, path, **{"training.max_epochs": 200,
                                      "training.max_minutes": 1e-5})
    forecaster = Forecaster(config).fit(read_series(path))
    info = forecaster.fit_info_
    assert info["epochs"] == 1  # each training stops after its first epoch
    assert info["refitted"] == {}  # no time left: the validated networks are kept


def test_pinball_networks_forecast_ordered_quantiles(tmp_path):
    path = monthly_csv(tmp_path / "s.csv", seasonal(120, noise=2.0))
    series = read_series(path)
    config = quick(tmp_path, path, **{"model.loss": "pinball", "model.kind": "recurrent",
                                      "training.max_epochs": 30})
    forecaster = Forecaster(config).fit(series)
    assert forecaster.quantiles == pytest.approx([0.5, 0.1, 0.9, 0.025, 0.975])
    assert forecaster.intervals_["lstm"] == {"quantiles": True}
    out = forecaster.forecast(series)
    assert (out["lower_80"] <= out["upper_80"]).all()
    assert (out["lower_95"] <= out["upper_95"]).all()
    loaded = Forecaster.load(forecaster.save(tmp_path / "m.safetensors"))
    again = loaded.forecast(series)
    for key, value in out.items():
        assert np.allclose(again[key], value, atol=1e-5), key


@pytest.mark.parametrize(("key", "value", "message"), [
    ("intervals", [0.8, 1.5], "between 0 and 1"), ("intervals", [0.0], "between 0 and 1"),
    ("model.members", 0, "members is 1"), ("window.horizon", 0, "at least 1"),
    ("window.horizon", 500, "has 60 points, too short for lookback 24 + horizon 500")])
def test_bad_settings_are_one_clear_message(tmp_path, key, value, message):
    path = monthly_csv(tmp_path / "s.csv", seasonal(60))
    result = runner.invoke(app, ["forecast", "train", str(path), "--output-dir",
                                 str(tmp_path), "--set", f"{key}={json.dumps(value)}"])
    assert result.exit_code == 2 and message in result.output, result.output
    assert "Traceback" not in result.output


# ---- global models ------------------------------------------------------------------------

def long_file(path, ids=("a", "b", "c"), points=96):
    frames = []
    for i, sid in enumerate(ids):
        months = pd.period_range("2000-01", periods=points - 6 * i, freq="M").strftime("%Y-%m")
        frames.append(pd.DataFrame({"store": sid, "month": months,
                                    "sales": seasonal(points - 6 * i, 20 + 30 * i, seed=i)}))
    pd.concat(frames).to_csv(path, index=False)
    return path


def test_one_model_over_many_series_forecasts_each_and_a_new_one(tmp_path):
    path = long_file(tmp_path / "stores.csv")
    config = quick(tmp_path, path, **{"data.series_column": "store",
                                      "data.target": "sales"})
    outcome = train_forecast(config)
    run = outcome.run_dir
    by_series = pd.read_csv(run / "leaderboard_by_series.csv")
    assert sorted(by_series["series"].unique()) == ["a", "b", "c"]
    for model, rows in by_series.groupby("model"):  # the pooled score: the mean over series
        pooled = outcome.leaderboard.set_index("model").loc[model, "mase"]
        assert pooled == pytest.approx(rows["mase"].mean(), rel=1e-5)  # CSV: 6 digits
    future = pd.read_csv(run / "forecast.csv")
    assert list(future["series"].unique()) == ["a", "b", "c"]
    forecaster = Forecaster.load(run)
    assert forecaster.horizon == 84 // 8  # the shortest series (84 points) sets the window
    assert len(future) == 3 * forecaster.horizon
    assert forecaster.series_ids_ == ["a", "b", "c"]
    new = long_file(tmp_path / "new.csv", ids=("d",), points=60)
    predicted = predict_forecast(run, new)
    assert list(predicted["series"].unique()) == ["d"]
    assert len(predicted) == forecaster.horizon and np.isfinite(predicted["lower_80"]).all()
    panel = read_panel(path, "store", target="sales")
    known = forecaster.forecast(panel["b"], "b")["forecast"]
    as_new = forecaster.forecast(panel["b"], "never-seen")["forecast"]
    assert not np.allclose(known, as_new)  # its own framing, or one fitted on the history


def test_a_folder_of_files_is_a_panel_named_by_file(tmp_path):
    folder = tmp_path / "series"
    folder.mkdir()
    monthly_csv(folder / "north.csv", seasonal(50))
    monthly_csv(folder / "south.csv.gz", seasonal(60, seed=2))
    (folder / "notes.txt").write_text("not data")
    panel = read_panel(folder)
    assert list(panel) == ["north", "south"] and len(panel["south"]) == 60


def test_bad_panels_are_one_clear_message(tmp_path):
    one_point = tmp_path / "one.csv"
    one_point.write_text("id,month,y\na,2000-01,1\na,2000-02,2\nb,2000-01,5\n")
    with pytest.raises(DataError, match="series 'b' has 1 point; every series needs"):
        read_panel(one_point, "id")
    mixed = tmp_path / "mixed.csv"
    rows = [f"a,2000-{m:02d}-01,{m}" for m in range(1, 13)] + \
        [f"b,2000-01-{d:02d},{d}" for d in range(1, 20)]
    mixed.write_text("id,date,y\n" + "\n".join(rows))
    with pytest.raises(DataError, match=r"series 'a' is MS .* but 'b' is D"):
        read_panel(mixed, "id")
    blank = tmp_path / "blank.csv"
    blank.write_text("id,month,y\na,2000-01,1\n,2000-02,2\n")
    with pytest.raises(DataError, match="row 3: no series id"):
        read_panel(blank, "id")
    with pytest.raises(DataError, match="no column 'store'"):
        read_panel(blank, "store")
    result = runner.invoke(app, ["forecast", "train", str(one_point), "--series-column",
                                 "id", "--output-dir", str(tmp_path)])
    assert result.exit_code == 2 and "series 'b' has 1 point" in result.output


def test_the_server_forecasts_a_named_series_and_a_new_one(tmp_path):
    pytest.importorskip("fastapi", reason="the serve extra is not installed")
    from fastapi.testclient import TestClient

    from seqlab.serving.app import ServeSettings, app_for

    path = long_file(tmp_path / "stores.csv", ids=("a", "b"))
    run = train_forecast(quick(tmp_path, path, **{"data.series_column": "store",
                                                  "data.target": "sales",
                                                  "model.kind": "hybrid"})).run_dir
    client = TestClient(app_for(ServeSettings(model=str(run))))
    forecaster = Forecaster.load(run)
    assert forecaster.chosen_ == "hybrid-lstm"  # the network answers (no baselines ran)
    panel = read_panel(path, "store", target="sales")
    history = panel["b"].y.tolist()
    named = client.post("/forecast", json={"history": history, "series": "b"}).json()
    assert np.allclose(named["forecast"], forecaster.forecast(panel["b"], "b")["forecast"],
                       atol=1e-4)
    new = client.post("/forecast", json={"history": history})
    assert new.status_code == 200 and len(new.json()["forecast"]) == forecaster.horizon
    assert client.get("/model").json()["series"] == ["a", "b"]

    # requests in flight together share the networks' calls; each gets its own forecast
    asks = [(sid, panel[sid or "b"].y[: len(panel[sid or "b"].y) - cut])
            for cut in range(0, 12, 2) for sid in ("a", "b", None)]
    answers = post_together(app_for(ServeSettings(model=str(run))), "/forecast",
                            [{"history": y.tolist(), "series": sid} for sid, y in asks])
    alone = [forecaster.forecast(_as_series(panel["a"], y), sid) for sid, y in asks]
    batched = forecaster.forecast_many([(_as_series(panel["a"], y), sid) for sid, y in asks])
    assert forecaster.forecast_many([]) == []
    for answer, one, together in zip(answers, alone, batched, strict=True):
        assert answer.status_code == 200, answer.text
        assert set(answer.json()) - {"model"} == set(one)
        for key, values in one.items():
            assert np.allclose(answer.json()[key], values, atol=1e-4), key
            assert np.allclose(together[key], values, atol=1e-4), key


def _as_series(like: Series, y: np.ndarray) -> Series:
    """``y`` as a series of ``like``'s kind (the target column alone)."""
    frame = pd.DataFrame({like.target: y})
    return Series(frame, like.target, like.freq, like.season, "request")



def test_the_budget_shares_half_for_the_validated_trainings(monkeypatch):
    from seqlab.tasks.forecast import budget as module

    clock = [100.0]
    monkeypatch.setattr(module.time, "perf_counter", lambda: clock[0])
    budget = module.Budget(10.0)  # 600 s: 300 for the validated trainings, 300 kept
    assert budget.share(4) == pytest.approx(75 / 60)
    clock[0] += 150  # one took twice its share
    assert budget.left() == pytest.approx(450)
    assert budget.share(3) == pytest.approx(50 / 60)
    clock[0] += 500  # past the end: each gets a moment (one epoch), the refits none
    assert budget.share(2) == pytest.approx(1e-3 / 60) and budget.left() < 0
    assert module.Budget(None).share(3) is None and module.Budget(None).left() == float("inf")


def test_a_bundle_from_before_the_hybrid_is_refused_with_the_fix(tmp_path):
    from seqlab.artifacts import save_tensors
    from seqlab.errors import BundleError

    old = tmp_path / "old.safetensors"
    save_tensors(old, {"model.head.bias": torch.zeros(3)},
                 {"config": ForecastConfig().model_dump(mode="json"), "columns": ["y"]},
                 "seqlab-forecaster")
    with pytest.raises(BundleError, match=r"saved by an earlier seqlab.*train it again"):
        Forecaster.load(old)


@pytest.mark.parametrize("value", ["inf", "-Infinity", "1e308"])
def test_a_value_out_of_range_in_a_file_names_its_row(tmp_path, value):
    path = tmp_path / "s.csv"
    path.write_text("month,y\n2000-01,1\n2000-02,2\n2000-03," + value + "\n2000-04,4\n")
    with pytest.raises(DataError, match=r"s\.csv: row 4: target column 'y' holds .*finite"):
        read_series(path)


def test_ensemble_members_can_read_different_lookbacks(tmp_path):
    path = monthly_csv(tmp_path / "s.csv", seasonal(120))
    series = read_series(path)
    config = quick(tmp_path, path, **{"model.members": 3, "model.kind": "recurrent",
                                      "model.lookback_factors": [1.0, 0.5],
                                      "window.lookback": 24})
    forecaster = Forecaster(config).fit(series)
    assert [forecaster.member_lookback(i) for i in range(3)] == [24, 12, 24]
    loaded = Forecaster.load(forecaster.save(tmp_path / "m.safetensors"))
    assert np.allclose(loaded.forecast(series)["forecast"],
                       forecaster.forecast(series)["forecast"], atol=1e-5)
    with pytest.raises(ConfigError, match=r"lookback_factors: one or more factors in \(0, 1\]"):
        apply_overrides(config, {"model.lookback_factors": [1.0, 1.5]})
