"""The command line: a full run, and one clear line (no traceback) for each bad input."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from seqlab.cli.main import app

from conftest import SAMPLE, write_lines

runner = CliRunner()
FAST = ["--embedding-dim", "16", "--hidden-size", "16", "--epochs", "3", "--batch-size", "32",
        "--threads", "1", "--quiet"]


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def fails_cleanly(result, *fragments):
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.output, result.output


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    result = invoke("train", SAMPLE, "--output-dir", out, "--name", "t", *FAST)
    assert result.exit_code == 0, result.output
    return out / "t"


def test_train_writes_a_complete_run_folder(trained_run):
    for name in ("config.yaml", "metrics.json", "history.csv", "model.safetensors",
                 "confusion_matrix.png", "learning_curves.png", "report.md", "report.html",
                 "train.log", "checkpoints/best.safetensors", "checkpoints/last.safetensors"):
        assert (trained_run / name).exists(), name
    metrics = json.loads((trained_run / "metrics.json").read_text())
    assert set(metrics["test"]["per_class"]) == {"anger", "fear", "joy", "love", "sadness",
                                                 "surprise"}
    assert metrics["class_counts"]["test"]["joy"] == 5  # 10 % of 50, stratified
    assert len(pd.read_csv(trained_run / "history.csv")) == metrics["fit"]["epochs"]
    html = (trained_run / "report.html").read_text()
    assert "data:image/png;base64," in html and "macro-F1" in html
    config = yaml.safe_load((trained_run / "config.yaml").read_text())
    assert config["model"]["hidden_size"] == 16


def test_automatic_choices_are_saved_as_numbers_and_stated(trained_run):
    config = yaml.safe_load((trained_run / "config.yaml").read_text())
    lengths = [len(line.rsplit(";", 1)[0].split()) for line in SAMPLE.read_text().splitlines()]
    assert isinstance(config["vocab"]["max_length"], int)
    assert config["vocab"]["max_length"] == 200 > max(lengths)  # short texts are never cut
    assert config["vocab"]["min_freq"] == 1  # a small corpus keeps every word
    log = (trained_run / "train.log").read_text()
    assert "vocab.max_length" in log and "(auto)" in log


def test_saved_config_reproduces_the_run(trained_run, tmp_path):
    config = yaml.safe_load((trained_run / "config.yaml").read_text())
    config["output_dir"] = str(tmp_path)
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config))
    assert invoke("train", "--config", path, "--quiet").exit_code == 0
    first = json.loads((trained_run / "metrics.json").read_text())["test"]
    again = json.loads((tmp_path / "t" / "metrics.json").read_text())["test"]
    assert again["confusion_matrix"] == first["confusion_matrix"]


def test_an_existing_run_is_not_overwritten_by_accident(trained_run):
    result = invoke("train", SAMPLE, "--output-dir", trained_run.parent, "--name", "t", *FAST)
    fails_cleanly(result, "already holds a run", "--resume", "--force")


def test_resume_with_other_options_is_refused(trained_run):
    result = invoke("train", SAMPLE, "--output-dir", trained_run.parent, "--name", "t",
                    *FAST[:-1], "--lr", "0.5", "--resume")
    fails_cleanly(result, "training.lr")


def test_a_run_resumed_with_more_epochs_goes_on_where_a_longer_run_would_be(tmp_path):
    """A finished run given a larger --epochs on --resume continues from its last epoch:
    its history and weights are those of a run trained that long from the start, and its
    config.yaml records the new budget. Another option, or a cosine schedule, is refused."""
    base = ["train", SAMPLE, "--kind", "recurrent", "--no-baseline", "--output-dir", tmp_path,
            "--embedding-dim", "16", "--hidden-size", "16", "--batch-size", "32",
            "--threads", "1", "--quiet"]
    assert invoke(*base, "--name", "short", "--epochs", "2").exit_code == 0
    resumed = invoke(*base, "--name", "short", "--epochs", "4", "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert invoke(*base, "--name", "long", "--epochs", "4").exit_code == 0
    short, long = tmp_path / "short", tmp_path / "long"
    assert len(pd.read_csv(short / "history.csv")) == len(pd.read_csv(long / "history.csv")) == 4
    assert yaml.safe_load((short / "config.yaml").read_text())["training"]["max_epochs"] == 4
    from seqlab.artifacts import load_tensors

    ours, _ = load_tensors(short / "checkpoints" / "last.safetensors", "checkpoint")
    theirs, _ = load_tensors(long / "checkpoints" / "last.safetensors", "checkpoint")
    assert ours.keys() == theirs.keys()
    for name in ours:  # the same epochs from the same state; kernels may round differently
        assert np.allclose(ours[name].float().numpy(), theirs[name].float().numpy(),
                           atol=1e-4), name
    fails_cleanly(invoke(*base, "--name", "short", "--epochs", "6", "--lr", "0.5",
                         "--resume"), "training.lr")
    cosine = [*base, "--name", "cosine", "--set", "training.scheduler=cosine"]
    assert invoke(*cosine, "--epochs", "2").exit_code == 0
    assert yaml.safe_load((tmp_path / "cosine" / "config.yaml").read_text())[
        "training"]["scheduler"] == "cosine"  # --set reaches any key
    fails_cleanly(invoke(*cosine, "--epochs", "4", "--resume"), "cosine schedule")


def test_refit_trains_the_model_again_on_training_and_validation(tmp_path):
    result = invoke("train", SAMPLE, "--output-dir", tmp_path, "--name", "r", *FAST,
                    "--set", "refit=true")
    assert result.exit_code == 0, result.output
    run = tmp_path / "r"
    fit = json.loads((run / "metrics.json").read_text())["fit"]
    counts = json.loads((run / "metrics.json").read_text())["class_counts"]
    assert fit["refit"]["texts"] == sum(counts["train"].values()) + sum(
        counts["val"].values())
    assert "refit: trained again on the" in (run / "train.log").read_text()
    assert yaml.safe_load((run / "config.yaml").read_text())["refit"] is True
    assert invoke("predict", run, "i feel so happy").exit_code == 0


def test_refit_is_refused_for_a_model_that_cannot_be_trained_again(monkeypatch, tmp_path):
    from seqlab.config import apply_overrides
    from seqlab.errors import ConfigError
    from seqlab.tasks.classify import workflow
    from seqlab.tasks.classify.config import RunConfig

    class Unrefittable:
        def fit(self, *args, **kwargs):
            raise AssertionError("refused before any training")

    monkeypatch.setattr(workflow, "classifier_for", lambda config: Unrefittable())
    config = apply_overrides(RunConfig(), {"data.train": str(SAMPLE), "refit": True})
    with pytest.raises(ConfigError, match="refit: false"):
        workflow.fit_classifier(config, workflow.load_splits(config), tmp_path, False)


def test_predict_and_evaluate(trained_run, tmp_path):
    result = invoke("predict", trained_run, "i feel so happy", "i am scared")
    assert result.exit_code == 0 and "i feel so happy" in result.output
    inputs = tmp_path / "in.csv"
    pd.DataFrame({"text": ["i feel so happy", "", "i am scared"]}).to_csv(inputs, index=False)
    out = tmp_path / "out.csv"
    assert invoke("predict", trained_run / "model.safetensors", "--file", inputs,
                  "--out", out).exit_code == 0
    predictions = pd.read_csv(out)
    assert len(predictions) == 3 and {"predicted", "p_joy"} <= set(predictions.columns)
    evaluation = tmp_path / "eval"
    result = invoke("evaluate", trained_run, SAMPLE, "--out", evaluation)
    assert result.exit_code == 0, result.output
    metrics = json.loads((evaluation / "metrics.json").read_text())
    assert metrics["n"] == 300 and (evaluation / "report.html").exists()


def test_evaluate_with_a_label_the_model_never_saw(trained_run, tmp_path):
    data = write_lines(tmp_path / "d.txt", [("i feel fine", "joy"), ("meh", "boredom")])
    fails_cleanly(invoke("evaluate", trained_run, data), "boredom", "line 2", "knows: anger")


@pytest.mark.parametrize(("content", "fragments"), [
    (None, ["no such file"]),
    (b"", ["empty"]),
    (b"body,label\nhello,joy\n", ["cannot find the text column", "body, label"]),
    (b"text,label\na,joy\nb,\nc,sad\n", ["1 of 3 rows have no label", "data row 2"]),
    (b"text,label\na,joy\nb,joy\n", ["two classes"]),
    ("text,label\ncaf\u00e9,joy\nb,sad\n".encode("latin-1"), ["line 2", "--encoding"]),
])
def test_bad_training_data_gets_one_clear_message(tmp_path, content, fragments):
    path = tmp_path / "data.csv"
    if content is not None:
        path.write_bytes(content)
    result = invoke("train", path, "--output-dir", tmp_path / "runs", *FAST)
    fails_cleanly(result, str(path), *fragments)
    assert not list((tmp_path / "runs").rglob("model.safetensors"))


def test_missing_and_damaged_models(tmp_path):
    fails_cleanly(invoke("predict", tmp_path / "none.safetensors", "hi"), "no such model file")
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"\x00" * 64)
    fails_cleanly(invoke("predict", broken, "hi"), "damaged")


def test_bad_config_key_fails_before_training(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"model": {"cel": "gru"}, "data": {"train": str(SAMPLE)}}))
    fails_cleanly(invoke("train", "--config", path), "model.cel: unknown key", "cell")
    fails_cleanly(invoke("train", SAMPLE, "--cell", "transformer"), "model.cell",
                  "rnn, lstm, gru")


def test_real_process_exit_code_and_no_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "seqlab.cli.main", "train",
                             str(tmp_path / "missing.csv")], capture_output=True, text=True)
    assert result.returncode == 2
    assert "no such file" in result.stderr and "Traceback" not in result.stderr


def test_a_ten_megabyte_text_is_cut_at_the_hard_limit_and_counted(tmp_path):
    from seqlab.tasks.classify.baselines.common import TEXT_CHAR_LIMIT

    rows = [line.rsplit(";", 1) for line in SAMPLE.read_text().splitlines()]
    rows.append(["i feel " + "very " * 2_000_000 + "happy", "joy"])  # 10 MB
    path = tmp_path / "big.csv"
    pd.DataFrame(rows, columns=["text", "label"]).to_csv(path, index=False)
    result = invoke("train", path, "--output-dir", tmp_path, "--name", "big", *FAST)
    assert result.exit_code == 0, result.output
    facts = json.loads((tmp_path / "big" / "metrics.json").read_text())["text_facts"]
    assert sum(split["over_char_limit"] for split in facts.values()) == 1
    log = (tmp_path / "big" / "train.log").read_text()
    assert f"cut at the hard limit of {TEXT_CHAR_LIMIT:,} characters" in log
    result = invoke("predict", tmp_path / "big", rows[-1][0])
    assert result.exit_code == 0 and "Traceback" not in result.output


def test_ctrl_c_keeps_finished_epochs_and_resume_finishes(tmp_path):
    """A real process, interrupted by SIGINT after its first epoch, then resumed."""
    import signal
    import time

    command = [sys.executable, "-m", "seqlab.cli.main", "train", str(SAMPLE), "--output-dir",
               str(tmp_path), "--name", "r", "--embedding-dim", "16", "--hidden-size", "16",
               "--epochs", "30", "--patience", "30", "--batch-size", "4", "--threads", "1",
               "--quiet"]
    def as_a_shell_starts_it() -> None:
        # SIGINT at its default and unblocked, as a terminal's Ctrl-C finds a command,
        # whatever state a library left in the test process for its children to inherit
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})

    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, preexec_fn=as_a_shell_starts_it)
    last = tmp_path / "r" / "checkpoints" / "last.safetensors"
    deadline = time.monotonic() + 120
    while not last.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)
    assert last.exists(), process.communicate()
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "--resume" in stderr and "Traceback" not in stderr

    from seqlab.artifacts import load_tensors

    saved = load_tensors(last, "checkpoint")[1]
    assert 1 <= saved["epoch"] < 30
    result = invoke("train", "--config", tmp_path / "r" / "config.yaml", "--resume", "--quiet")
    assert result.exit_code == 0, result.output
    history = pd.read_csv(tmp_path / "r" / "history.csv")
    assert history["epoch"].tolist() == list(range(1, 31))
    # the finished epochs were kept, not redone: their recorded timings are the originals
    kept = [row["seconds"] for row in saved["history"]]
    assert history["seconds"].tolist()[: len(kept)] == pytest.approx(kept, rel=1e-9)


def test_tensorboard_events_and_a_clear_error_for_missing_mlflow(tmp_path):
    pytest.importorskip("tensorboard", reason="tensorboard is not installed")
    result = invoke("train", SAMPLE, "--output-dir", tmp_path, "--name", "tb", "--tensorboard",
                    *FAST)
    assert result.exit_code == 0, result.output
    assert list((tmp_path / "tb" / "tensorboard").glob("events.out.tfevents.*"))
    import importlib.util

    if importlib.util.find_spec("mlflow") is None:
        result = invoke("train", SAMPLE, "--output-dir", tmp_path, "--name", "ml", "--mlflow",
                        *FAST)
        fails_cleanly(result, "pip install mlflow")
        assert not (tmp_path / "ml").exists()


def test_compare_from_flags(tmp_path):
    result = invoke("compare", "--data", SAMPLE, "--grid", "model.cell=rnn,gru",
                    "--grid", "model.hidden_size=8", "--seeds", "1", "--set",
                    "training.max_epochs=1", "--set", "model.embedding_dim=8", "--set",
                    "training.threads=1", "--output-dir", tmp_path, "--name", "flags")
    assert result.exit_code == 0, result.output
    board = pd.read_csv(tmp_path / "flags" / "leaderboard.csv")
    assert sorted(board["config"]) == ["cell-gru_hidden_size-8", "cell-rnn_hidden_size-8"]
    assert board["model.hidden_size"].tolist() == [8, 8]  # values parsed as YAML, not text
    fails_cleanly(invoke("compare", "--data", SAMPLE, "--grid", "model.cell"), "KEY=V1,V2")


def test_every_run_reports_the_baseline_beside_the_model(trained_run):
    metrics = json.loads((trained_run / "metrics.json").read_text())
    rows = metrics["baseline"]["rows"]
    assert [r["model"] for r in rows] == ["ensemble", "recurrent alone", "TF-IDF + nblogreg"]
    difference = metrics["baseline"]["difference"]
    assert difference["test_macro_f1"] == pytest.approx(
        rows[0]["test_macro_f1"] - rows[-1]["test_macro_f1"])
    assert rows[0]["test_macro_f1"] == pytest.approx(metrics["test"]["macro_f1"])
    for report in ("report.md", "report.html"):
        assert "Against the baseline" in (trained_run / report).read_text()
    for split in ("train", "val", "test"):
        assert set(metrics["text_facts"][split]) == {"empty_after_preprocessing", "truncated",
                                                     "over_char_limit"}


def test_runs_without_a_name_never_collide(tmp_path):
    for _ in range(2):
        assert invoke("train", SAMPLE, "--output-dir", tmp_path, *FAST,
                      "--no-baseline").exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "emotion_sample-ensemble", "emotion_sample-ensemble-2"]
    metrics = json.loads((tmp_path / "emotion_sample-ensemble" / "metrics.json").read_text())
    assert metrics["baseline"] is None
    resumed = invoke("train", SAMPLE, "--output-dir", tmp_path, *FAST, "--no-baseline",
                     "--resume")  # continues the latest of them, makes no third
    assert resumed.exit_code == 0, resumed.output
    assert len(list(tmp_path.iterdir())) == 2


@pytest.mark.parametrize("kind", ["ensemble", "recurrent", "averaged", "averaged-mlp",
                                  "tfidf", "bow"])
def test_every_kind_trains_from_the_cli_with_the_progress_bar(tmp_path, kind):
    result = invoke("train", SAMPLE, "--output-dir", tmp_path, "--kind", kind,
                    *[a for a in FAST if a != "--quiet"])
    assert result.exit_code == 0, result.output
    assert "done: test accuracy" in result.output
    assert (tmp_path / f"emotion_sample-{kind}" / "model.safetensors").exists()
    shows_baseline = kind not in ("tfidf", "bow")
    assert ("baseline TF-IDF + nblogreg" in result.output) == shows_baseline


@pytest.mark.parametrize("name", ["../../elsewhere/x", "a/b", "..", " "])
def test_a_run_name_cannot_leave_the_output_folder(tmp_path, name):
    result = invoke("train", SAMPLE, "--output-dir", tmp_path / "runs", "--name", name, *FAST)
    fails_cleanly(result, "name", "one folder name")
    assert not (tmp_path / "elsewhere").exists()
