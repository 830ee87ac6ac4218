"""ONNX export: onnxruntime agrees with PyTorch, and the export runs without PyTorch."""

import json
import subprocess
import sys

import numpy as np
import pytest

from seqlab.errors import BundleError
from seqlab.tasks.classify.classifier import TextClassifier
from seqlab.tasks.classify.onnx_export import export_onnx
from seqlab.tasks.classify.onnx_predictor import OnnxClassifier

from conftest import TINY

pytest.importorskip("onnxruntime", reason="the onnx extra is not installed")


@pytest.mark.parametrize(("cell", "bidirectional", "layers", "pooling"), [
    ("lstm", True, 2, "max"),
    ("gru", True, 2, "attention"),
    ("rnn", True, 1, "last"),
    ("lstm", False, 1, "mean"),
])
def test_onnx_matches_torch(tmp_path, sample, cell, bidirectional, layers, pooling):
    clf = TextClassifier(cell=cell, bidirectional=bidirectional, num_layers=layers,
                         pooling=pooling, **(TINY | {"max_epochs": 2}))
    clf.fit(sample.texts, sample.labels)
    bundle = clf.save(tmp_path / "model.safetensors")
    result = export_onnx(bundle, tmp_path / "onnx")
    assert result.max_abs_difference <= 1e-4
    exported = OnnxClassifier.load(tmp_path / "onnx")
    texts = [*sample.texts, "", "zzz qqq", "i feel " * 300]
    difference = np.abs(exported.predict_proba(texts) - clf.predict_proba(texts)).max()
    assert difference <= 1e-4
    assert list(exported.predict(texts)) == list(clf.predict(texts))


def test_export_runs_without_pytorch(tmp_path, sample):
    clf = TextClassifier(**(TINY | {"max_epochs": 1})).fit(sample.texts, sample.labels)
    export_onnx(clf.save(tmp_path / "model.safetensors"), tmp_path / "onnx")
    texts = sample.texts[:20]
    expected = clf.predict_proba(texts).tolist()
    script = f"""
import json, sys
class NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("torch is blocked in this test")
sys.meta_path.insert(0, NoTorch())
from seqlab.tasks.classify.onnx_predictor import OnnxClassifier
model = OnnxClassifier.load({str(tmp_path / "onnx")!r})
print(json.dumps(model.predict_proba({texts!r}).tolist()))
assert "torch" not in sys.modules
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    np.testing.assert_allclose(json.loads(done.stdout), expected, atol=1e-4)


def test_missing_export_is_a_clear_error(tmp_path):
    with pytest.raises(BundleError, match=r"no model\.onnx"):
        OnnxClassifier.load(tmp_path)


def test_the_server_serves_a_classifier_export_as_a_classifier(tmp_path, sample):
    pytest.importorskip("fastapi", reason="the serve extra is not installed")
    from fastapi.testclient import TestClient

    from seqlab.serving.app import ServeSettings, app_for

    clf = TextClassifier(**(TINY | {"max_epochs": 1})).fit(sample.texts, sample.labels)
    export_onnx(clf.save(tmp_path / "model.safetensors"), tmp_path / "onnx")
    client = TestClient(app_for(ServeSettings(model=str(tmp_path / "onnx"), runtime="onnx")))
    response = client.post("/predict", json={"texts": sample.texts[:3]})
    assert response.status_code == 200, response.text
    assert [r["label"] for r in response.json()["predictions"]] == \
        list(clf.predict(sample.texts[:3]))
