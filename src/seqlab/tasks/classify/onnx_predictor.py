"""Predict with an ONNX export: numpy + onnxruntime + seqlab's preprocessing, no PyTorch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from seqlab.errors import BundleError
from seqlab.text.batching import bucket_batches, pad_ids
from seqlab.text.preprocess import Pipeline
from seqlab.text.vocab import Vocab

MODEL_FILE = "model.onnx"
PREPROCESSING_FILE = "preprocessing.json"


class OnnxClassifier:
    """The prediction half of :class:`seqlab.TextClassifier`, on onnxruntime."""

    def __init__(self, session: Any, spec: dict[str, Any]) -> None:
        self.session = session
        self.spec = spec
        self.labels_ = list(spec["labels"])
        self.classes_ = np.asarray(self.labels_)
        self.pipeline_ = Pipeline(spec["preprocessing"])
        self.vocab_ = Vocab.from_dict(spec["vocab"])
        self.max_length = int(spec["max_length"])

    @classmethod
    def load(cls, folder: str | Path, threads: int | None = None) -> OnnxClassifier:
        """Load ``model.onnx`` and ``preprocessing.json`` from an export folder."""
        import onnxruntime

        folder = Path(folder)
        for name in (MODEL_FILE, PREPROCESSING_FILE):
            if not (folder / name).exists():
                raise BundleError(f"{folder}: no {name}; export with `seqlab export MODEL "
                                  f"--format onnx --out {folder}`")
        try:
            spec = json.loads((folder / PREPROCESSING_FILE).read_text(encoding="utf-8"))
            options = onnxruntime.SessionOptions()
            if threads:
                options.intra_op_num_threads = threads
                options.inter_op_num_threads = 1
            session = onnxruntime.InferenceSession(str(folder / MODEL_FILE), options,
                                                   providers=["CPUExecutionProvider"])
            return cls(session, spec)
        except (ValueError, KeyError, OSError, RuntimeError) as err:
            raise BundleError(f"{folder}: the ONNX export is damaged ({err})") from None
        except Exception as err:  # onnxruntime raises its own exception types
            raise BundleError(f"{folder}: onnxruntime cannot load the export ({err})") from None

    def predict_proba(self, texts: list[str], batch_size: int = 256) -> np.ndarray:
        """Class probabilities ``[n, k]`` in the order of ``labels_``."""
        sequences = [self.vocab_.encode(tokens, self.max_length)
                     for tokens in self.pipeline_.process_many(texts)]
        out = np.zeros((len(sequences), len(self.labels_)), dtype=np.float32)
        if not sequences:
            return out
        for idx in bucket_batches([len(s) for s in sequences], batch_size, shuffle=False):
            ids, lengths = pad_ids([sequences[i] for i in idx])
            out[idx] = self.session.run(["probabilities"], {"ids": ids, "lengths": lengths})[0]
        return out

    def predict(self, texts: list[str]) -> np.ndarray:
        return self.classes_[self.predict_proba(texts).argmax(axis=1)]
