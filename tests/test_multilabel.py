"""Multi-label classification: the scores against scikit-learn, thresholds against brute
force, the three ways of writing label sets, and the run, CLI and server end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, hamming_loss, precision_recall_fscore_support
from typer.testing import CliRunner

from seqlab.cli.main import app
from seqlab.errors import BundleError, ConfigError, DataError
from seqlab.tasks.multilabel.labelsets import join_set, read_label_sets, split_set
from seqlab.tasks.multilabel.metrics import THRESHOLDS, multilabel_metrics, tune_thresholds
from seqlab.tasks.multilabel.model import MultiLabelLinear

LABELS = ["LOC", "MISC", "ORG", "PER"]


@pytest.mark.parametrize("seed", range(5))
def test_scores_equal_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    truth = rng.random((40, 4)) < 0.3
    predicted = rng.random((40, 4)) < 0.3
    predicted[:, 3] = False  # a label never predicted: its precision is 0, not a NaN
    m = multilabel_metrics(truth, predicted, LABELS)
    for average in ("micro", "macro"):
        p, r, f, _ = precision_recall_fscore_support(truth, predicted, average=average,
                                                     zero_division=0)
        assert m[f"{average}_precision"] == pytest.approx(p)
        assert m[f"{average}_recall"] == pytest.approx(r)
        assert m[f"{average}_f1"] == pytest.approx(f)
    assert m["subset_accuracy"] == pytest.approx(accuracy_score(truth, predicted))
    assert m["hamming_loss"] == pytest.approx(hamming_loss(truth, predicted))
    per_label = f1_score(truth, predicted, average=None, zero_division=0)
    assert [m["per_label"][label]["f1"] for label in LABELS] == pytest.approx(per_label)
    assert [m["per_label"][label]["support"] for label in LABELS] == truth.sum(0).tolist()
    assert m["empty_truth"] == int((~truth.any(1)).sum())


@pytest.mark.parametrize("seed", range(5))
def test_each_threshold_is_the_best_f1_of_the_candidates(seed):
    rng = np.random.default_rng(seed)
    truth = rng.random((60, 3)) < 0.4
    proba = np.clip(truth * 0.3 + rng.random((60, 3)) * 0.7, 0, 1)
    truth[:, 2] = False  # no text has this label: it keeps 0.5
    chosen = tune_thresholds(proba, truth)
    for j in range(2):
        scores = {t: f1_score(truth[:, j], proba[:, j] >= t, zero_division=0)
                  for t in THRESHOLDS.tolist()}
        best = max(scores.values())
        assert scores[float(chosen[j])] == pytest.approx(best)
        nearest = min((t for t, s in scores.items() if s == pytest.approx(best)),
                      key=lambda t: abs(t - 0.5))
        assert abs(chosen[j] - 0.5) == pytest.approx(abs(nearest - 0.5))
    assert chosen[2] == 0.5


def test_canonical_sets_round_trip():
    for labels in ([], ["PER"], ["PER", "LOC", "PER"]):
        assert split_set(join_set(labels)) == tuple(sorted(set(labels)))


def test_three_ways_of_writing_label_sets_read_the_same(tmp_path):
    rows = [("Anna in Rome", ["LOC", "PER"]), ("a quiet day", []), ("Bob", ["PER"])]
    (tmp_path / "a.csv").write_text("text,labels\n" + "".join(
        f"{t},{'|'.join(s)}\n" for t, s in rows))
    (tmp_path / "b.jsonl").write_text("".join(
        json.dumps({"text": t, "labels": s}) + "\n" for t, s in rows))
    (tmp_path / "c.csv").write_text("text,LOC,PER\n" + "".join(
        f"{t},{int('LOC' in s)},{int('PER' in s)}\n" for t, s in rows))
    read = [read_label_sets(tmp_path / "a.csv")[0],
            read_label_sets(tmp_path / "b.jsonl")[0],
            read_label_sets(tmp_path / "c.csv", label_columns=["LOC", "PER"])[0]]
    for data in read:
        assert data.texts == [t for t, _ in rows]
        assert [split_set(s) for s in data.labels] == [tuple(sorted(s)) for _, s in rows]


def test_a_column_mixing_single_labels_and_sets_is_read_as_sets_and_said(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_text("text,label\nx,PER|LOC\ny,PER\nz,\n")
    data, notes = read_label_sets(path)
    assert data.labels == ["LOC|PER", "PER", ""]
    assert any("read as label sets" in note for note in notes)
    assert any("1 of 3 texts have no label" in note for note in notes)


def test_bad_label_values_name_the_row_and_the_fix(tmp_path):
    flags = tmp_path / "flags.csv"
    flags.write_text("text,PER\nx,1\ny,maybe\n")
    with pytest.raises(DataError, match=r"data row 2: column 'PER' holds 'maybe'"):
        read_label_sets(flags, label_columns=["PER"])
    joined = tmp_path / "joined.jsonl"
    joined.write_text(json.dumps({"text": "x", "labels": ["a|b"]}) + "\n")
    with pytest.raises(DataError, match=r"data row 1: the label 'a\|b' holds"):
        read_label_sets(joined)
    with pytest.raises(DataError, match="no column 'ORG'"):
        read_label_sets(flags, label_columns=["ORG"])


def test_one_label_in_all_is_refused_with_the_way_out():
    with pytest.raises(DataError, match="yes/no task for seqlab train"):
        MultiLabelLinear(min_df=1).fit(["a b", "c d", "e f"], [["x"], [], ["x"]],
                                       ["a b"], [["x"]])


def test_saved_thresholds_are_checked(tmp_path):
    texts = ["anna went home", "to rome today", "anna saw rome", "a quiet day"] * 4
    sets = [["PER"], ["LOC"], ["LOC", "PER"], []] * 4
    model = MultiLabelLinear(min_df=1).fit(texts, sets, texts, sets)
    assert set(model.predict(["anna saw rome"])[0]) == {"LOC", "PER"}
    tensors, meta = model.to_bundle()
    with pytest.raises(ValueError, match="thresholds"):
        MultiLabelLinear.restore(tensors, {**meta, "thresholds": [0.5]})
    from seqlab.artifacts import save_tensors

    save_tensors(tmp_path / "bad.safetensors", tensors, {**meta, "thresholds": [2.0, 0.5]},
                 MultiLabelLinear.bundle_kind)
    with pytest.raises(BundleError, match="damaged"):
        MultiLabelLinear.load(tmp_path / "bad.safetensors")
    # its thresholds come from validation, so it is not trained again on train + val
    with pytest.raises(ConfigError, match="thresholds are tuned on validation"):
        model.refitted(texts, sets)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("multilabel")
    result = CliRunner().invoke(app, ["multilabel", "demo", "--output-dir", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_the_demo_run_holds_the_model_beside_the_baseline(demo_run):
    run = demo_run / "multilabel-demo"
    metrics = json.loads((run / "metrics.json").read_text())
    assert set(metrics["thresholds"]) == {"LOC", "MISC", "ORG", "PER"}
    assert metrics["baseline"]["test"]["n"] == metrics["test"]["n"] > 0
    assert metrics["recurrent_part"]["test"]["n"] == metrics["test"]["n"]
    report = (run / "report.html").read_text()
    assert "Against the baseline" in report and "recurrent part alone" in report
    assert (run / "history.csv").exists() and (run / "learning_curves.png").exists()


def test_predict_evaluate_info_and_the_server(demo_run, tmp_path):
    run = demo_run / "multilabel-demo"
    runner = CliRunner()
    result = runner.invoke(app, ["multilabel", "predict", str(run), "Anna visited Paris ."])
    assert result.exit_code == 0 and "labels:" in result.output
    texts = tmp_path / "texts.csv"
    texts.write_text("text\nAnna visited Paris .\nNothing happened .\n")
    out = tmp_path / "predictions.jsonl"
    result = runner.invoke(app, ["multilabel", "predict", str(run), "--file", str(texts),
                                 "--output", str(out)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 2 and {"text", "predicted", "p_PER"} <= set(lines[0])
    result = runner.invoke(app, ["multilabel", "evaluate", str(run),
                                 str(demo_run / "multilabel-demo.jsonl"), "--out",
                                 str(tmp_path / "eval")])
    assert result.exit_code == 0, result.output
    scores = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert 0.0 <= scores["micro_f1"] <= 1.0 and scores["n"] > 0
    result = runner.invoke(app, ["multilabel", "info", str(run)])
    assert result.exit_code == 0 and "multilabel" in result.output

    from fastapi.testclient import TestClient

    from seqlab.serving.app import ServeSettings, app_for

    client = TestClient(app_for(ServeSettings(model=str(run))))
    answer = client.post("/predict", json={"texts": ["Anna visited Paris .", ""]}).json()
    first = answer["predictions"][0]
    assert set(first["probabilities"]) == {"LOC", "MISC", "ORG", "PER"}
    assert set(first["labels"]) <= set(first["probabilities"])
    assert client.post("/predict", json={"txt": "x"}).status_code == 422
    assert client.get("/model").json()["task"] == "multi-label"


def test_train_without_labels_gives_one_line(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("text,comment\nx,y\n")
    result = CliRunner().invoke(app, ["multilabel", "train", str(path), "--output-dir",
                                      str(tmp_path)])
    assert result.exit_code == 2
    assert "cannot find the label column" in result.output


def test_single_label_training_points_label_sets_to_this_task(tmp_path):
    from seqlab.config import apply_overrides
    from seqlab.data.readers import read_labeled
    from seqlab.tasks.classify.config import RunConfig
    from seqlab.tasks.classify.workflow import train_run

    listed = tmp_path / "listed.jsonl"
    listed.write_text(json.dumps({"text": "x", "label": ["PER", "LOC"]}) + "\n")
    with pytest.raises(DataError, match=r"data row 1: the label is a list.*seqlab multilabel"):
        read_labeled(listed)
    piped = tmp_path / "piped.csv"
    letters = "abcdefghijklmnopqrst"
    piped.write_text("text,label\n" + "".join(
        f"{w} and {v},{'PER|LOC' if i % 2 else 'PER'}\n"
        for i, (w, v) in enumerate(zip(letters, reversed(letters), strict=True))))
    said: list[str] = []
    config = apply_overrides(RunConfig(), {
        "data.train": str(piped), "model.kind": "tfidf", "model.linear.min_df": 1,
        "output_dir": str(tmp_path), "name": "piped"})
    train_run(config, notify=said.append)
    assert any("hold '|'" in line and "seqlab multilabel train" in line for line in said)


def test_texts_cut_at_the_token_limit_are_counted_for_every_split(tmp_path):
    from seqlab.config import apply_overrides
    from seqlab.tasks.multilabel.config import MultiLabelConfig
    from seqlab.tasks.multilabel.workflow import train_multilabel

    path = tmp_path / "long.jsonl"
    rows = [("anna went home " * 30, ["PER"]), ("rome " * 3, ["LOC"]), ("a day", [])] * 10
    path.write_text("".join(json.dumps({"text": f"{t} {i}", "labels": s}) + "\n"
                            for i, (t, s) in enumerate(rows)))
    said: list[str] = []
    config = apply_overrides(MultiLabelConfig(), {
        "data.train": str(path), "model.kind": "tfidf", "model.linear.min_df": 1,
        "output_dir": str(tmp_path), "name": "long"})
    train_multilabel(config, notify=said.append)  # the linear model reads every token
    facts = json.loads((tmp_path / "long" / "metrics.json").read_text())["text_facts"]
    assert set(facts) == {"train", "val", "test"}
    assert all(f["truncated"] == 0 for f in facts.values())
    said.clear()
    config = apply_overrides(config, {"model.kind": "recurrent", "vocab.max_length": 20,
                                      "training.max_epochs": 1, "name": "cut"})
    outcome = train_multilabel(config, notify=said.append)
    facts = json.loads((outcome.run_dir / "metrics.json").read_text())["text_facts"]
    assert facts["train"]["truncated"] == 8 and facts["test"]["truncated"] == 1
    assert "train: 8 of 24 texts cut at 20 tokens" in said
