"""Prediction over files of any size: chunked reading and writing against the model's
own predictions, every format, jobs, and a run killed halfway then resumed."""

from __future__ import annotations

import csv
import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from seqlab.cli.main import app
from seqlab.engine.batch_predict import parts_folder
from seqlab.errors import DataError
from seqlab.tasks.classify.estimators import load_classifier
from seqlab.tasks.classify.workflow import predict_file

from conftest import SAMPLE

WORDS = ["happy", "furious", "scared", "sad", "love", "wow", "today", "really", "not"]


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs")
    result = CliRunner().invoke(app, ["train", str(SAMPLE), "--kind", "tfidf", "--quiet",
                                      "--output-dir", str(out), "--name", "linear"])
    assert result.exit_code == 0, result.output
    return out / "linear" / "model.safetensors"


def _texts(n: int) -> list[str]:
    rng = np.random.default_rng(7)
    texts = [" ".join(rng.choice(WORDS, size=rng.integers(1, 8))) for _ in range(n)]
    texts[3] = 'quoted "text", with a comma\nand a newline'
    texts[5] = ""
    return texts


def _write_input(path: Path, texts: list[str]) -> Path:
    ids = [f"row{i}" for i in range(len(texts))]
    frame = pd.DataFrame({"id": ids, "text": texts})
    if ".parquet" in path.name:
        frame.to_parquet(path, index=False)
    elif ".jsonl" in path.name:
        lines = "".join(json.dumps(r) + "\n" for r in frame.to_dict("records"))
        path.write_bytes(gzip.compress(lines.encode()) if path.suffix == ".gz"
                         else lines.encode())
    else:
        frame.to_csv(path, index=False, compression="infer")
    return path


def _read_output(path: Path) -> pd.DataFrame:
    if ".parquet" in path.name:
        return pd.read_parquet(path)
    if ".jsonl" in path.name:
        return pd.read_json(path, lines=True, dtype=False)
    return pd.read_csv(path, dtype=str, keep_default_na=False,
                       sep="\t" if ".tsv" in path.name else ",")


@pytest.mark.parametrize("source, target", [("in.csv", "out.csv"),
                                            ("in.jsonl.gz", "out.parquet"),
                                            ("in.parquet", "out.jsonl"),
                                            ("in.csv.gz", "out.tsv.gz")])
def test_chunks_give_the_models_own_predictions_in_input_order(model, tmp_path, source,
                                                               target):
    texts = _texts(1_234)
    rows = predict_file(model, _write_input(tmp_path / source, texts), tmp_path / target,
                        chunk_rows=100)
    assert rows == len(texts)
    out = _read_output(tmp_path / target)
    clf = load_classifier(model)
    proba = clf.predict_proba(texts)
    assert list(out["id"]) == [f"row{i}" for i in range(len(texts))]
    assert [str(t) for t in out["text"]] == texts
    assert list(out["predicted"]) == [clf.labels_[i] for i in proba.argmax(axis=1)]
    for k, label in enumerate(clf.labels_):
        assert np.allclose(out[f"p_{label}"].astype(float), proba[:, k], atol=1e-6)
    assert not parts_folder(tmp_path / target).exists()


def test_jobs_give_the_same_file_as_one_process(model, tmp_path):
    source = _write_input(tmp_path / "in.csv", _texts(2_000))
    predict_file(model, source, tmp_path / "one.csv", chunk_rows=150)
    predict_file(model, source, tmp_path / "two.csv", chunk_rows=150, jobs=2)
    assert (tmp_path / "one.csv").read_bytes() == (tmp_path / "two.csv").read_bytes()


def test_a_run_killed_halfway_resumes_to_the_same_output(model, tmp_path):
    source = _write_input(tmp_path / "in.csv", _texts(60_000))
    predict_file(model, source, tmp_path / "whole.csv", chunk_rows=500)
    out = tmp_path / "resumed.csv"
    command = [sys.executable, "-c", "from seqlab.cli.main import main; main()", "predict",
               str(model), "--file", str(source), "--out", str(out), "--chunk-rows", "500"]
    worker = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parts = parts_folder(out)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(parts.glob("part-*"))) < 10:
        assert worker.poll() is None, "the run finished before it could be killed"
        time.sleep(0.01)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()
    done = len(list(parts.glob("part-*")))
    assert 10 <= done < 120 and not out.exists()
    refused = CliRunner().invoke(app, command[3:])
    assert refused.exit_code == 2 and "--resume continues it" in refused.output
    resumed = CliRunner().invoke(app, [*command[3:], "--resume"])
    assert resumed.exit_code == 0, resumed.output
    assert out.read_bytes() == (tmp_path / "whole.csv").read_bytes()


def test_a_malformed_row_names_its_line_and_keeps_the_rows_before_it(model, tmp_path):
    texts = _texts(1_000)
    good = "".join(json.dumps({"id": f"row{i}", "text": t}) + "\n" for i, t in enumerate(texts))
    lines = good.splitlines(keepends=True)
    broken = tmp_path / "in.jsonl"
    broken.write_text("".join(lines[:730]) + '{"id": "row730", "text": \n' + "".join(lines[731:]))
    out = tmp_path / "out.csv"
    with pytest.raises(DataError) as caught:
        predict_file(model, broken, out, chunk_rows=100)
    assert "line 731: not valid JSON" in str(caught.value)
    assert "The 700 rows before it are kept" in str(caught.value)
    broken.write_text(good)
    predict_file(model, broken, out, chunk_rows=100, resume=True)
    predict_file(model, broken, tmp_path / "whole.csv", chunk_rows=100)
    assert out.read_bytes() == (tmp_path / "whole.csv").read_bytes()


def test_an_existing_output_or_a_changed_run_is_refused(model, tmp_path):
    source = _write_input(tmp_path / "in.csv", _texts(300))
    out = tmp_path / "out.csv"
    predict_file(model, source, out, chunk_rows=100)
    with pytest.raises(DataError, match="exists; --force replaces it"):
        predict_file(model, source, out, chunk_rows=100)
    predict_file(model, source, out, chunk_rows=100, force=True)
    parts = parts_folder(out)
    parts.mkdir()
    (parts / "manifest.json").write_text(json.dumps({"job": "another"}))
    with pytest.raises(DataError, match="of another input, model, column or chunk size"):
        predict_file(model, source, out, chunk_rows=100, resume=True)
    with pytest.raises(DataError, match="no such file"):
        predict_file(model, tmp_path / "missing.csv", tmp_path / "other.csv")
    assert not parts_folder(tmp_path / "other.csv").exists()


def test_the_cli_streams_with_a_progress_line(model, tmp_path):
    source = _write_input(tmp_path / "in.csv", _texts(500))
    result = CliRunner().invoke(app, ["predict", str(model), "--file", str(source), "--out",
                                      str(tmp_path / "out.csv"), "--chunk-rows", "100"])
    assert result.exit_code == 0, result.output
    assert "500 predictions written" in result.output
    with (tmp_path / "out.csv").open(newline="") as handle:
        assert sum(1 for _ in csv.reader(handle)) == 501
