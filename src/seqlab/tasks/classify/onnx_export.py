"""``seqlab export --format onnx``: a model as ``model.onnx`` plus ``preprocessing.json``.

The ONNX graph takes ``ids [batch, time]`` and ``lengths [batch]`` (int64, both axes
dynamic) and returns ``probabilities [batch, classes]``. ``preprocessing.json`` holds
the preprocessing steps, the vocabulary, the labels and the maximum length, so the
export can be served by :class:`seqlab.tasks.classify.onnx_predictor.OnnxClassifier` (no
PyTorch needed) or re-implemented elsewhere. Export checks, on real inputs, that
onnxruntime and PyTorch agree.

It uses PyTorch's TorchScript exporter: the dynamo exporter unrolls ``nn.RNN`` over the
example's length, which fixes the time axis; the TorchScript one keeps it dynamic for
all three cells and is twenty times faster here.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from seqlab.artifacts import atomic_write_text, bundle_kind, staged_folder
from seqlab.errors import BundleError, SeqlabError
from seqlab.serving.identity import model_identity
from seqlab.tasks.classify.classifier import BUNDLE_KIND, TextClassifier
from seqlab.tasks.classify.onnx_predictor import MODEL_FILE, PREPROCESSING_FILE, OnnxClassifier

TOLERANCE = 1e-4
CHECK_TEXTS = [
    "i feel wonderful and grateful today",
    "this is the worst day, i am so angry!!",
    "i am scared of what the doctor will say",
    "",
    "unknownword anotherunknown",
    "i love you " * 60,
]


class _Probabilities(nn.Module):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.model(ids, lengths), dim=-1)


@dataclass
class ExportResult:
    """Where the export went and how closely onnxruntime matches PyTorch."""

    folder: Path
    max_abs_difference: float
    texts_checked: int


def export_onnx(model_path: str | Path, out_dir: str | Path,
                check_texts: list[str] | None = None) -> ExportResult:
    """Export a classifier bundle to ``out_dir``; fail if the runtimes disagree."""
    kind = bundle_kind(model_path)
    if kind not in (None, BUNDLE_KIND):
        raise BundleError(f"{model_path}: holds a {kind!r}; ONNX export covers the torch "
                          "classifiers (model.kind recurrent, averaged, averaged-mlp): train "
                          "with --kind recurrent to export")
    # the graph is float32, so it is checked against PyTorch computing in float32
    clf = TextClassifier.load(model_path).set_params(precision="float32")
    out = Path(out_dir)
    wrapper = _Probabilities(clf.module_).eval()
    example = (torch.tensor([[2, 3, 4], [5, 6, 0]]), torch.tensor([3, 2]))
    with staged_folder(out, (MODEL_FILE, PREPROCESSING_FILE)) as staging:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                wrapper, example, str(staging / MODEL_FILE), input_names=["ids", "lengths"],
                output_names=["probabilities"], dynamo=False, opset_version=17,
                dynamic_axes={"ids": {0: "batch", 1: "time"}, "lengths": {0: "batch"},
                              "probabilities": {0: "batch"}},
            )
        identity = model_identity(model_path)
        spec = {
            "format": "seqlab.onnx_text_classifier",
            "format_version": 1,
            "name": identity["name"],
            "version": identity["version"],
            "labels": clf.labels_,
            "preprocessing": clf.pipeline_.to_spec(),
            "vocab": clf.vocab_.to_dict(),
            "max_length": clf.max_length_,
            "inputs": {"ids": "int64 [batch, time], right-padded with 0",
                       "lengths": "int64 [batch], each >= 1"},
            "outputs": {"probabilities": "float32 [batch, labels]"},
            "metrics": getattr(clf, "metrics_", {}),
        }
        atomic_write_text(staging / PREPROCESSING_FILE, json.dumps(spec, indent=1))
        texts = (check_texts or []) + CHECK_TEXTS
        exported = OnnxClassifier.load(staging)
        difference = float(np.abs(exported.predict_proba(texts) - clf.predict_proba(texts)).max())
        if difference > TOLERANCE:
            raise SeqlabError(
                f"ONNX export of {model_path} disagrees with PyTorch by {difference:.2e} "
                f"(allowed {TOLERANCE:.0e}); the export was not written"
            )
    return ExportResult(out, difference, len(texts))
