"""The verbs every task shares (compare, tune, evaluate, info, serve), run from the command
line on the samples that ship with seqlab, with models small enough to train in seconds.

Each check is an oracle: a leaderboard is ranked as its own runs' metrics say, the best
model is the best run's file, and `evaluate` on the data a run was scored on gives that
run's numbers again."""

import json
import math
from importlib.resources import files
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from seqlab.cli.main import app
from seqlab.engine.task import get_task, task_names

SAMPLES = Path(str(files("seqlab") / "samples"))
NEWS = SAMPLES / "news_entities.conll"
QUERIES = SAMPLES / "search_queries.txt"
SALES = SAMPLES / "monthly_sales.csv"
runner = CliRunner()

TINY_TAGGER = ["--set", "training.max_epochs=2", "--set", "model.hidden_size=16",
               "--set", "model.embedding_dim=16", "--set", "model.chars=false"]
TINY_LM = ["--set", "training.max_epochs=1", "--set", "model.num_layers=1",
           "--set", "model.hidden_size=32", "--set", "model.embedding_dim=16",
           "--set", "ngram_order=2", "--set", "samples=0"]
TINY_FORECAST = ["--set", "data.target=sales", "--set", "training.max_epochs=3",
                 "--set", "baselines=[naive,seasonal_naive]"]


def invoke(*args: object) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


def runs_of(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "runs.csv")


def test_every_task_has_every_shared_verb():
    for name in task_names():
        group = "classify" if name == "classify" else name
        for verb in ("train", "evaluate", "predict", "info", "compare", "tune", "serve"):
            if verb == "predict" and name == "lm":
                verb = "generate"
            assert invoke(group, verb, "--help")
    assert invoke("classify", "export", "--help")


def test_tag_compare_ranks_by_validation_entity_f1_on_one_split(tmp_path):
    invoke("tag", "compare", "--data", NEWS, "--grid", "model.cell=lstm,gru", "--seeds", "1,2",
           *TINY_TAGGER, "--name", "tc", "--output-dir", tmp_path)
    folder = tmp_path / "tc"
    board = pd.read_csv(folder / "leaderboard.csv")
    assert board["val_f1_mean"].is_monotonic_decreasing
    runs = runs_of(folder)
    held_out = set()
    for row in runs.itertuples():
        metrics = json.loads((Path(row.run_dir) / "metrics.json").read_text())
        assert metrics["val"]["f1"] == pytest.approx(row.val_f1)
        held_out |= {note for note in metrics["data"] if note.startswith("validation")}
    # every run held out the same validation sentences, whatever its seed
    assert held_out == {"validation: 40 sentences held out of the training file (seed 1)"}
    best = runs[runs["config"] == board["config"][0]].sort_values("val_f1").iloc[-1]
    assert (folder / "best_model.safetensors").read_bytes() == \
        (Path(best.run_dir) / "model.safetensors").read_bytes()


def test_forecast_compare_ranks_by_validation_mase_lowest_first(tmp_path):
    invoke("forecast", "compare", "--data", SALES, "--grid", "model.cell=gru,lstm",
           *TINY_FORECAST, "--name", "fc", "--output-dir", tmp_path)
    board = pd.read_csv(tmp_path / "fc" / "leaderboard.csv")
    assert sorted(board["config"]) == ["cell-gru", "cell-lstm"]
    assert board["val_mase_mean"].is_monotonic_increasing
    sales = pd.read_csv(SALES)["sales"].to_numpy()
    for row in runs_of(tmp_path / "fc").itertuples():
        run = Path(row.run_dir)
        history = pd.read_csv(run / "history.csv")
        metrics = json.loads((run / "metrics.json").read_text())
        best = history.loc[history["epoch"] == metrics["fit_info"]["best_epoch"]].iloc[0]
        assert row.val_mase == pytest.approx(metrics["validation"][metrics["model"]]["mase"])
        # MASE's unit, by brute force: the seasonal naive's mean error on the training part
        end, m = metrics["split"]["train_end"], metrics["series"]["season"]
        scale = sum(abs(sales[t] - sales[t - m]) for t in range(m, end)) / (end - m)
        assert best["val_mase"] == pytest.approx(best["val_mae"] / scale)
        assert row.test_mase == pytest.approx(metrics["test"]["mase"])


def test_lm_tune_minimises_validation_nats(tmp_path):
    pytest.importorskip("optuna", reason="the tune extra is not installed")
    import optuna

    invoke("lm", "tune", "--data", QUERIES, "--trials", "2", *TINY_LM, "--name", "lt",
           "--output-dir", tmp_path)
    folder = tmp_path / "lt"
    study = optuna.load_study(study_name="lt",
                              storage=f"sqlite:///{(folder / 'study.db').resolve()}")
    assert study.direction == optuna.study.StudyDirection.MINIMIZE
    values = [t.value for t in study.trials if t.value is not None]
    assert len(values) == 2 and study.best_value == min(values)
    config = get_task("lm").config_class.model_validate(
        yaml.safe_load((folder / "best_config.yaml").read_text()))
    assert config.model.hidden_size == study.best_params["model.hidden_size"]
    retrained = json.loads((folder / "best" / "metrics.json").read_text())
    assert math.isfinite(retrained["val"]["loss"])


def test_tag_evaluate_on_the_test_file_gives_the_runs_test_scores(tmp_path):
    invoke("tag", "train", NEWS, "--test", NEWS, *TINY_TAGGER, "--name", "t",
           "--output-dir", tmp_path, "--quiet")
    run = tmp_path / "t"
    out = invoke("tag", "evaluate", run, NEWS, "--out", tmp_path / "ev")
    scored = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    test = json.loads((run / "metrics.json").read_text())["test"]
    assert scored["f1"] == pytest.approx(test["f1"])
    assert scored["accuracy"] == pytest.approx(test["accuracy"])
    assert "token accuracy" in out and (tmp_path / "ev" / "report.html").exists()


def test_lm_evaluate_on_the_validation_text_gives_the_runs_validation_nats(tmp_path):
    from seqlab.tasks.lm.config import LMConfig
    from seqlab.tasks.lm.corpus import read_corpus

    invoke("lm", "train", QUERIES, "--lines", *TINY_LM, "--name", "l", "--output-dir",
           tmp_path, "--quiet")
    run = tmp_path / "l"
    config = LMConfig.model_validate(yaml.safe_load(
        (run / "config.yaml").read_text()))
    val_text = tmp_path / "val.txt"
    val_text.write_text("".join(read_corpus(config.corpus).val), encoding="utf-8")
    invoke("lm", "evaluate", run, val_text, "--out", tmp_path / "ev")
    scored = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    val = json.loads((run / "metrics.json").read_text())["val"]
    assert scored["loss"] == pytest.approx(val["loss"], rel=1e-5)
    assert scored["perplexity"] == pytest.approx(math.exp(scored["loss"]))
    assert scored["bits_per_token"] == pytest.approx(scored["loss"] / math.log(2))


def test_forecast_evaluate_on_the_training_series_repeats_the_runs_backtest(tmp_path):
    invoke("forecast", "train", SALES, *TINY_FORECAST, "--name", "f", "--output-dir",
           tmp_path, "--quiet")
    run = tmp_path / "f"
    invoke("forecast", "evaluate", run, SALES, "--out", tmp_path / "ev")
    again = pd.read_csv(tmp_path / "ev" / "leaderboard.csv").set_index("model")
    trained = pd.read_csv(run / "leaderboard.csv").set_index("model")
    assert set(again.index) == set(trained.index) == {"lstm", "hybrid-lstm", "naive",
                                                      "seasonal_naive"}
    for model in again.index:
        assert again.loc[model, "mase"] == pytest.approx(trained.loc[model, "mase"], rel=1e-5)
        assert again.loc[model, "chosen"] == trained.loc[model, "chosen"]


def test_info_shows_what_any_bundle_holds(tmp_path):
    invoke("forecast", "train", SALES, *TINY_FORECAST, "--name", "f", "--output-dir",
           tmp_path, "--quiet")
    out = invoke("forecast", "info", tmp_path / "f")
    assert "seqlab-forecaster" in out and "best_epoch" in out
    damaged = tmp_path / "damaged.safetensors"
    damaged.write_bytes(b"\x00" * 64)
    result = runner.invoke(app, ["tag", "info", str(damaged)])
    assert result.exit_code == 2 and "not a seqlab model bundle" in result.output


def test_multilabel_compare_ranks_by_validation_micro_f1_on_one_split(tmp_path):
    from seqlab.tasks.multilabel.labelsets import write_entity_sets

    data = tmp_path / "sets.jsonl"
    write_entity_sets(NEWS, data)
    invoke("multilabel", "compare", "--data", data, "--grid", "model.kind=recurrent,tfidf",
           "--seeds", "1,2", "--set", "training.max_epochs=2", "--set", "model.hidden_size=16",
           "--set", "model.embedding_dim=16", "--name", "mc", "--output-dir", tmp_path)
    folder = tmp_path / "mc"
    board = pd.read_csv(folder / "leaderboard.csv")
    assert board["val_micro_f1_mean"].is_monotonic_decreasing
    held_out = set()
    for row in runs_of(folder).itertuples():
        metrics = json.loads((Path(row.run_dir) / "metrics.json").read_text())
        assert metrics["val"]["micro_f1"] == pytest.approx(row.val_micro_f1)
        assert metrics["test"]["micro_f1"] == pytest.approx(row.test_micro_f1)
        held_out |= {note for note in metrics["data"] if note.startswith("split")}
    # every run split the data the same way, whatever its seed
    assert held_out == {"split val, test from the training file, stratified by label set, "
                        "seed 1"}
