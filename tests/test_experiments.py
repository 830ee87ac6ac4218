"""Compare and tune on tiny data: leaderboards match their runs; studies are shared."""

import json
import subprocess
import sys
import time

import pandas as pd
import pytest

from seqlab.engine.task import get_task
from seqlab.errors import ConfigError
from seqlab.experiments import compare, tune
from seqlab.tasks.classify.config import load_config

from conftest import SAMPLE

FAST = {"model": {"embedding_dim": 8, "hidden_size": 8},
        "training": {"max_epochs": 2, "batch_size": 32, "threads": 1}}


def compare_spec(tmp_path, **extra):
    data = {"name": "cmp", "output_dir": str(tmp_path),
            "base": {"data": {"train": str(SAMPLE)}, **FAST},
            "grid": {"model.cell": ["rnn", "gru"]}, "seeds": [1, 2]} | extra
    return compare.load_spec(data, "test")


def test_leaderboard_numbers_equal_the_individual_runs(tmp_path):
    folder = compare.run_comparison(compare_spec(tmp_path), notify=lambda _: None)
    board = pd.read_csv(folder / "leaderboard.csv").set_index("config")
    assert set(board.index) == {"cell-rnn", "cell-gru"}
    for config in board.index:
        runs = [json.loads((folder / "runs" / f"{config}__seed{s}" / "metrics.json").read_text())
                for s in (1, 2)]
        f1 = [r["test"]["macro_f1"] for r in runs]
        assert board.loc[config, "test_macro_f1_mean"] == pytest.approx(sum(f1) / 2)
        assert board.loc[config, "test_macro_f1_std"] == pytest.approx(
            pd.Series(f1).std(ddof=1))
        val = [r["best_validation"]["val_macro_f1"] for r in runs]
        assert board.loc[config, "val_macro_f1_mean"] == pytest.approx(sum(val) / 2)
    assert board["val_macro_f1_mean"].is_monotonic_decreasing
    for name in ("leaderboard.md", "leaderboard.html", "leaderboard.png", "learning_curves.png",
                 "runs.csv", "best_model.safetensors", "environment.json", "spec.yaml"):
        assert (folder / name).exists(), name
    # every run read the same frozen split
    configs = [load_config(p) for p in sorted((folder / "runs").glob("*/config.yaml"))]
    assert len({c.data.test for c in configs}) == 1


def test_a_restarted_comparison_skips_finished_runs(tmp_path):
    spec = compare_spec(tmp_path)
    folder = compare.run_comparison(spec, notify=lambda _: None)
    models = sorted((folder / "runs").glob("*/model.safetensors"))
    stamps = {p: p.stat().st_mtime_ns for p in models}
    import shutil

    shutil.rmtree(folder / "runs" / "cell-gru__seed2")  # as if that run never finished
    messages = []
    compare.run_comparison(spec, notify=messages.append)
    assert "4 runs planned, 3 already finished" in messages
    for path, stamp in stamps.items():
        if "cell-gru__seed2" not in str(path):
            assert path.stat().st_mtime_ns == stamp, path
    assert (folder / "runs" / "cell-gru__seed2" / "metrics.json").exists()


def test_an_unknown_grid_key_fails_before_any_run(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown parameter 'model\.hidden'"):
        compare_spec(tmp_path, grid={"model.hidden": [8, 16]})
    spec = compare_spec(tmp_path, grid={"model.cell": ["lstm", "transformer"]})
    with pytest.raises(ConfigError, match=r"model\.cell"):
        compare.run_comparison(spec, notify=lambda _: None)
    assert not (tmp_path / "cmp" / "runs").exists()


def tune_spec(tmp_path, **extra):
    data = {"name": "tn", "output_dir": str(tmp_path), "trials": 4,
            "base": {"data": {"train": str(SAMPLE)}, **FAST},
            "space": {"training.lr": {"type": "float", "low": 1e-3, "high": 1e-2, "log": True},
                      "model.pooling": {"type": "categorical", "choices": ["max", "mean"]}}}
    return tune.load_spec(data | extra, "test")


def test_tune_writes_a_best_config_that_train_takes(tmp_path):
    folder = tune.run_tuning(tune_spec(tmp_path), retrain=True, notify=lambda _: None)
    trials = pd.read_csv(folder / "trials.csv")
    assert len(trials) == 4 and set(trials["state"]) <= {"COMPLETE", "PRUNED"}
    best = load_config(folder / "best_config.yaml")
    complete = trials[trials["state"] == "COMPLETE"]
    top = complete[complete["value"] == complete["value"].max()]
    assert any(best.training.lr == pytest.approx(row["training.lr"])
               and best.model.pooling == row["model.pooling"] for _, row in top.iterrows())
    assert (folder / "best" / "model.safetensors").exists()
    assert (folder / "optimization_history.png").exists()


def test_tune_starts_from_the_base_and_scores_the_mean_over_seeds(tmp_path):
    spec = tune_spec(tmp_path, trials=2, seeds=[3, 4], pruning=False)
    folder = tune.run_tuning(spec, retrain=False, notify=lambda _: None)
    import optuna

    study = optuna.load_study(study_name="tn", storage=spec.storage_url())
    first = study.trials[0]
    base = tune.base_config(get_task("classify"), spec.base, spec.name, spec.output_dir)
    assert first.user_attrs["base"] is True
    assert first.params == {"training.lr": base.training.lr, "model.pooling": base.model.pooling}
    for trial in study.trials:
        scores = trial.user_attrs["seed_scores"]
        assert len(scores) == 2 and trial.value == pytest.approx(sum(scores) / 2)
    assert load_config(folder / "best_config.yaml").seed == 3
    outside = tune_spec(tmp_path / "o", trials=1, space={
        "training.lr": {"type": "float", "low": 1e-2, "high": 2e-2}})
    notes: list[str] = []
    tune.run_tuning(outside, retrain=False, notify=notes.append)
    assert any("outside the search space" in n for n in notes)


def test_unknown_space_parameter_fails_before_any_trial(tmp_path):
    bad = {"model.hiddensize": {"type": "int", "low": 8, "high": 16}}
    with pytest.raises(ConfigError, match=r"unknown parameter 'model\.hiddensize'"):
        tune_spec(tmp_path, space=bad)
    with pytest.raises(ConfigError, match="low"):
        tune_spec(tmp_path, space={"training.lr": {"type": "float"}})
    impossible = {"model.cell": {"type": "categorical", "choices": ["lstmm"]}}
    with pytest.raises(ConfigError, match=r"model\.cell"):
        tune.run_tuning(tune_spec(tmp_path, space=impossible), notify=lambda _: None)
    assert not (tmp_path / "tn" / "study.db").exists()


def test_two_workers_share_one_study_and_finish_exactly_the_trials(tmp_path):
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    command = [sys.executable, "-m", "seqlab.cli.main", "tune", "--data", str(SAMPLE),
               "--set", "model.embedding_dim=8", "--set", "model.hidden_size=8",
               "--set", "training.max_epochs=2", "--set", "training.threads=1",
               "--trials", "6", "--storage", storage, "--study", "shared",
               "--output-dir", str(tmp_path), "--no-retrain"]
    workers = [subprocess.Popen([*command, "--name", f"w{i}"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for i in range(2)]
    outputs = [w.communicate(timeout=300) for w in workers]
    assert all(w.returncode == 0 for w in workers), outputs

    import optuna

    study = optuna.load_study(study_name="shared", storage=storage)
    finished = [t for t in study.trials if t.state.is_finished()
                and not t.user_attrs.get("surplus")]
    assert sorted(t.number for t in finished) == list(range(6))
    assert all(t.state.name in ("COMPLETE", "PRUNED") for t in finished)
    assert all(t.user_attrs["worker"] for t in finished)


def test_a_trial_left_running_by_a_dead_worker_is_failed_and_retried(tmp_path):
    import optuna
    from optuna.storages import RetryHeartbeatStaleTrialCallback

    spec = tune_spec(tmp_path, trials=2, heartbeat=1, pruning=False)
    spec.folder.mkdir(parents=True)
    study = tune.open_study(spec)
    dead = study.ask()  # a worker took this trial, sent one heartbeat, and was killed
    study._storage.record_heartbeat(dead._trial_id)
    time.sleep(2.5)  # silent for longer than the grace period (2 × heartbeat)
    tune.run_tuning(spec, retrain=False, notify=lambda _: None)
    trials = optuna.load_study(study_name="tn", storage=spec.storage_url()).trials
    states = {t.number: t.state.name for t in trials}
    assert states[dead.number] == "FAIL"
    retried = [t for t in trials if RetryHeartbeatStaleTrialCallback.retried_trial_number(t)
               == dead.number]
    assert len(retried) == 1 and retried[0].state.name == "COMPLETE"
    assert sum(s == "COMPLETE" for s in states.values()) == 2


def test_a_worker_killed_mid_trial_leaves_no_trial_running(tmp_path):
    """A real SIGKILL: the dead worker's trial is failed once its heartbeat stops, and
    another worker finishes the study with the trial count asked."""
    import os
    import signal

    import optuna
    import yaml

    spec = {"name": "killed", "output_dir": str(tmp_path), "trials": 2, "heartbeat": 1,
            "pruning": False,
            "base": {"data": {"train": str(SAMPLE)},
                     "model": {"embedding_dim": 8, "hidden_size": 8},
                     "training": {"max_epochs": 12, "patience": 100, "batch_size": 8,
                                  "threads": 1}},
            "space": {"training.lr": {"type": "float", "low": 1e-3, "high": 1e-2}}}
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    worker = subprocess.Popen([sys.executable, "-m", "seqlab.cli.main", "tune", str(path),
                               "--no-retrain"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    storage = tune.load_spec(spec, "test").storage_url()
    deadline = time.monotonic() + 120
    running = []
    while time.monotonic() < deadline and not running:
        assert worker.poll() is None, "the worker finished before it could be killed"
        time.sleep(0.2)
        if not (tmp_path / "killed" / "study.db").exists():
            continue
        try:
            study = optuna.load_study(study_name="killed", storage=storage)
            # mid-trial: training has started (the worker is recorded), so has the heartbeat
            running = [t for t in study.get_trials(deepcopy=False)
                       if t.state.name == "RUNNING" and "worker" in t.user_attrs]
        except Exception:  # the worker is still creating the study's tables
            continue
    time.sleep(1.2)  # at least one heartbeat (every second) has been recorded
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()
    time.sleep(2.5)  # longer than the grace period (2 × heartbeat)
    tune.run_tuning(tune.load_spec(spec, "test"), retrain=False, notify=lambda _: None)
    trials = optuna.load_study(study_name="killed", storage=storage).trials
    assert not [t for t in trials if t.state.name == "RUNNING"]
    assert {t.state.name for t in trials if t.number == running[0].number} == {"FAIL"}
    done = [t for t in trials if t.state.name == "COMPLETE" and not t.user_attrs.get("surplus")]
    assert len(done) == 2


def test_a_trial_whose_worker_died_before_its_first_heartbeat_is_failed_and_retried(tmp_path):
    """Optuna never fails a trial that sent no heartbeat; the next worker does."""
    import optuna
    from optuna.storages import RetryHeartbeatStaleTrialCallback

    spec = tune_spec(tmp_path, trials=2, heartbeat=1, pruning=False)
    spec.folder.mkdir(parents=True)
    study = tune.open_study(spec)
    study.enqueue_trial({"training.lr": 0.005, "model.pooling": "max"},
                        user_attrs={"base": True})
    dead = study.ask()  # drawn, then the worker was killed: no heartbeat, no training
    time.sleep(2.5)  # older than the grace period (2 × heartbeat)
    tune.run_tuning(spec, retrain=False, notify=lambda _: None)
    trials = optuna.load_study(study_name="tn", storage=spec.storage_url()).trials
    assert not [t for t in trials if t.state.name == "RUNNING"]
    assert {t.number: t.state.name for t in trials}[dead.number] == "FAIL"
    retried = [t for t in trials
               if RetryHeartbeatStaleTrialCallback.retried_trial_number(t) == dead.number]
    assert len(retried) == 1 and retried[0].state.name == "COMPLETE"
    assert retried[0].params == {"training.lr": 0.005, "model.pooling": "max"}
    assert sum(t.state.name == "COMPLETE" for t in trials) == 2
