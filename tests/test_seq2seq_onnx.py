"""ONNX export of encoder–decoders: onnxruntime must give PyTorch's outputs and scores
(greedy and beam search, n-best) for every cell and with or without attention."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from seqlab.artifacts import save_tensors
from seqlab.cli.main import app
from seqlab.config import apply_overrides
from seqlab.errors import BundleError, SeqlabError
from seqlab.tasks.seq2seq.config import Seq2SeqConfig
from seqlab.tasks.seq2seq.model import Seq2Seq

pytest.importorskip("onnxruntime", reason="ONNX export needs the [onnx] extra")

from seqlab.tasks.seq2seq.onnx_export import (
    SPEC_FILE,
    OnnxSeq2Seq,
    export_seq2seq,
)

from conftest import SEQ2SEQ_QUICK, reversed_words


def trained(tmp_path, **settings) -> str:
    model = Seq2Seq(apply_overrides(Seq2SeqConfig(), {**SEQ2SEQ_QUICK, **settings}))
    model.fit(reversed_words(300, 1), reversed_words(40, 2))
    return str(model.save(tmp_path / "model.safetensors"))


@pytest.mark.parametrize(("cell", "attention", "layers"), [
    ("gru", "additive", 1), ("lstm", "general", 2), ("rnn", "dot", 1), ("lstm", "none", 1)])
def test_onnxruntime_gives_pytorchs_outputs_and_scores(tmp_path, cell, attention, layers):
    path = trained(tmp_path, **{"model.cell": cell, "model.attention": attention,
                                "model.num_layers": layers})
    result = export_seq2seq(path, tmp_path / "onnx")
    torch_model, exported = Seq2Seq.load(path), OnnxSeq2Seq.load(tmp_path / "onnx")
    texts = [*reversed_words(30, 3).sources, "", "a " * 80]
    for width, n_best in ((1, 1), (3, 3)):
        ours = torch_model.translate_n_best(texts, width, n_best)
        theirs = exported.translate_n_best(texts, width, n_best)
        assert [[o.text for o in found] for found in theirs] == \
            [[o.text for o in found] for found in ours]
        assert [o.score for found in theirs for o in found] == pytest.approx(
            [o.score for found in ours for o in found], abs=1e-4)
    assert exported.translate(texts) == torch_model.translate(texts)
    with pytest.raises(SeqlabError, match="only translates"):
        exported.save(tmp_path / "again.safetensors")
    assert result.max_score_difference <= 1e-3 and result.texts_checked >= 5


def test_a_bundle_of_another_task_and_a_broken_export_are_one_clear_error(tmp_path):
    other = tmp_path / "tagger.safetensors"
    save_tensors(other, {"w": torch.zeros(1)}, {}, "seqlab-tagger")
    with pytest.raises(BundleError, match="takes a seq2seq model"):
        export_seq2seq(other, tmp_path / "nothing")
    export_seq2seq(trained(tmp_path), tmp_path / "onnx")
    spec = tmp_path / "onnx" / SPEC_FILE
    spec.write_text(json.dumps({"format": "something else"}), encoding="utf-8")
    with pytest.raises(BundleError, match="damaged"):
        OnnxSeq2Seq.load(tmp_path / "onnx")
    spec.unlink()
    with pytest.raises(BundleError, match=r"no seq2seq\.json; export with"):
        OnnxSeq2Seq.load(tmp_path / "onnx")


def test_the_export_command_writes_the_three_files(tmp_path):
    path = trained(tmp_path)
    result = CliRunner().invoke(app, ["seq2seq", "export", path, "--out",
                                      str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "onnxruntime gives PyTorch's outputs" in " ".join(result.output.split())
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == \
        ["decoder_step.onnx", "encoder.onnx", "seq2seq.json"]
    refused = CliRunner().invoke(app, ["seq2seq", "export", path, "--format", "tflite"])
    assert refused.exit_code == 2 and "unknown export format" in refused.output


def test_the_server_answers_from_the_export_as_from_the_bundle(tmp_path):
    pytest.importorskip("fastapi", reason="the serve extra is not installed")
    from fastapi.testclient import TestClient

    from seqlab.errors import ConfigError
    from seqlab.serving.app import ServeSettings, app_for

    path = trained(tmp_path)
    export_seq2seq(path, tmp_path / "onnx")
    ask = {"texts": reversed_words(5, 4).sources, "n_best": 2}
    answers = {}
    for runtime, model in (("torch", path), ("onnx", str(tmp_path / "onnx"))):
        client = TestClient(app_for(ServeSettings(model=model, runtime=runtime)))
        response = client.post("/translate", json=ask)
        assert response.status_code == 200, response.text
        answers[runtime] = response.json()
        assert client.get("/model").json()["task"] == "seq2seq"
    assert [[o["text"] for o in r] for r in answers["onnx"]["results"]] == \
        [[o["text"] for o in r] for r in answers["torch"]["results"]]
    assert answers["onnx"]["model"] == {**answers["torch"]["model"], "runtime": "onnx"}
    with pytest.raises(ConfigError, match="not an ONNX export"):
        app_for(ServeSettings(model=str(tmp_path), runtime="onnx"))
