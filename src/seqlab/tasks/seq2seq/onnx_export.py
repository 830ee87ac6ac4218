"""``seqlab seq2seq export``: an encoder–decoder as two ONNX graphs and its header.

* ``encoder.onnx``: ``ids [batch, source]`` and ``lengths [batch]`` (int64) → the memory
  (``states [batch, source, K]``, ``mask [batch, source]``) and the decoder's first
  state (``hidden [layers, batch, H]``, ``cell`` for LSTM, ``feed [batch, H]``);
* ``decoder_step.onnx``: the previous ``tokens [batch]``, the memory and the state →
  ``log_probs [batch, target vocabulary]`` of the next token and the next state
  (``next_hidden``, ``next_cell`` for LSTM, ``next_feed``);
* ``seq2seq.json``: the settings, vocabularies and subword models (the bundle's header),
  and the model's name and version (``seqlab serve FOLDER --runtime onnx`` reports them).

:class:`OnnxSeq2Seq` runs the same greedy and beam search over them with onnxruntime,
so ``OnnxSeq2Seq.load(folder).translate([...])`` answers as ``Seq2Seq`` does. Export
translates check texts with both (the run's first validation sources, and made-up texts
from the vocabulary: empty, unseen, too long) and refuses to write an export whose
outputs differ.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from seqlab.artifacts import atomic_write_text, bundle_kind, staged_folder
from seqlab.errors import BundleError, SeqlabError
from seqlab.serving.identity import model_identity
from seqlab.tasks.seq2seq.config import Seq2SeqConfig
from seqlab.tasks.seq2seq.model import BUNDLE_KIND, Seq2Seq
from seqlab.tasks.seq2seq.network import EncoderDecoder, Memory

ENCODER_FILE, STEP_FILE, SPEC_FILE = "encoder.onnx", "decoder_step.onnx", "seq2seq.json"
SPEC_FORMAT = "seqlab.onnx_seq2seq"
TOLERANCE = 1e-3  # on the scores of the outputs (sums of log-probabilities)
OPSET = 17
RUN_SOURCES = 32  # validation sources of the run folder among the check texts


def _stacked(state: list[Any], lstm: bool) -> list[torch.Tensor]:
    """A decoder state (one entry a layer) as ``hidden [L, B, H]`` (and ``cell``)."""
    if lstm:
        return [torch.cat([h for h, _ in state]), torch.cat([c for _, c in state])]
    return [torch.cat(state)]


def _layered(stacked: list[torch.Tensor], lstm: bool) -> list[Any]:
    """The inverse of :func:`_stacked`."""
    if lstm:
        hidden, cell = stacked
        return [(h.unsqueeze(0), c.unsqueeze(0)) for h, c in zip(hidden, cell, strict=True)]
    return [h.unsqueeze(0) for h in stacked[0]]


class _EncoderGraph(nn.Module):
    def __init__(self, module: EncoderDecoder) -> None:
        super().__init__()
        self.module = module

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, ...]:
        memory, (state, feed) = self.module.encode(ids, lengths)
        return memory.states, memory.mask, *_stacked(state, self.module.lstm), feed


class _StepGraph(nn.Module):
    def __init__(self, module: EncoderDecoder) -> None:
        super().__init__()
        self.module = module

    def forward(self, tokens: torch.Tensor, states: torch.Tensor, mask: torch.Tensor,
                *carried: torch.Tensor) -> tuple[torch.Tensor, ...]:
        lstm = self.module.lstm
        state = _layered(list(carried[: 2 if lstm else 1]), lstm)
        logits, (state, feed), _ = self.module.step(tokens, (state, carried[-1]),
                                                    Memory(states, mask))
        return torch.log_softmax(logits, dim=-1), *_stacked(state, lstm), feed


def _state_names(lstm: bool) -> list[str]:
    return ["hidden", "cell", "feed"] if lstm else ["hidden", "feed"]


class OnnxSeq2Seq(Seq2Seq):
    """``Seq2Seq``'s translation on onnxruntime: the same tokens, search and outputs."""

    fitted_attribute = "sessions_"

    @classmethod
    def load(cls, folder: str | Path, threads: int | None = None) -> OnnxSeq2Seq:
        """Read an export folder written by :func:`export_seq2seq`."""
        import onnxruntime

        folder = Path(folder)
        for name in (ENCODER_FILE, STEP_FILE, SPEC_FILE):
            if not (folder / name).exists():
                raise BundleError(f"{folder}: no {name}; export with `seqlab seq2seq export "
                                  f"MODEL --out {folder}`")
        try:
            spec = json.loads((folder / SPEC_FILE).read_text(encoding="utf-8"))
            if spec.get("format") != SPEC_FORMAT:
                raise ValueError(f"{SPEC_FILE} is not a {SPEC_FORMAT}")
            self = cls(Seq2SeqConfig.model_validate(spec["config"]))
            self._read_header(spec)
            options = onnxruntime.SessionOptions()
            if threads:
                options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
            self.sessions_ = {name: onnxruntime.InferenceSession(
                str(folder / name), options, providers=["CPUExecutionProvider"])
                for name in (ENCODER_FILE, STEP_FILE)}
        except (ValueError, KeyError, TypeError, OSError) as err:
            raise BundleError(f"{folder}: the ONNX export is damaged ({err})") from None
        except Exception as err:  # onnxruntime raises its own exception types
            raise BundleError(f"{folder}: onnxruntime cannot load the export ({err})") from None
        self.fit_info_, self.metrics_ = spec.get("fit_info", {}), spec.get("metrics", {})
        self.identity_ = {"name": spec.get("name", folder.name),
                          "version": spec.get("version", "unknown")}
        return self

    def _torch_only(self, *_: Any, **__: Any) -> Any:
        raise SeqlabError("an ONNX export only translates: train, save and read attention "
                          "with Seq2Seq (seqlab.tasks.seq2seq.model)")

    fit = save = attention = _torch_only  # type: ignore[assignment]

    @property
    def _names(self) -> list[str]:
        return _state_names(self.config.model.cell == "lstm")

    def _encode(self, source: torch.Tensor, lengths: torch.Tensor) -> dict[str, np.ndarray]:
        outputs = self.sessions_[ENCODER_FILE].run(
            None, {"ids": source.numpy(), "lengths": lengths.numpy()})
        return dict(zip(["states", "mask", *self._names], outputs, strict=True))

    def _step(self, tokens: torch.Tensor, carried: dict[str, np.ndarray]
              ) -> tuple[torch.Tensor, dict[str, np.ndarray]]:
        session = self.sessions_[STEP_FILE]
        asked = {"tokens": tokens.numpy(), **carried}
        log_probs, *state = session.run(None, {i.name: asked[i.name]
                                               for i in session.get_inputs()})
        return torch.from_numpy(log_probs), {"states": carried["states"],
                                             "mask": carried["mask"],
                                             **dict(zip(self._names, state, strict=True))}

    @staticmethod
    def _select(carried: dict[str, np.ndarray], index: torch.Tensor
                ) -> dict[str, np.ndarray]:
        rows = index.numpy()
        return {name: value[:, rows] if name in ("hidden", "cell") else value[rows]
                for name, value in carried.items()}


@dataclass
class ExportResult:
    """Where the export went and how closely onnxruntime matched PyTorch."""

    folder: Path
    max_score_difference: float
    texts_checked: int


def _run_sources(model_path: str | Path) -> list[str]:
    """The first validation sources of the model's run folder, where it has them."""
    path = Path(model_path)
    table = (path if path.is_dir() else path.parent) / "val_outputs.tsv"
    try:
        frame = pd.read_csv(table, sep="\t", keep_default_na=False, nrows=RUN_SOURCES)
        return frame["source"].astype(str).tolist()
    except (OSError, ValueError, KeyError):  # no run folder beside it: the made-up texts do
        return []


def _check_texts(model: Seq2Seq, given: list[str]) -> list[str]:
    """The texts an export is checked on: ``given``, an empty one, and texts made of the
    source vocabulary's words (one longer than ``data.max_tokens``, one unseen)."""
    words = [w.lstrip("▁") for w in model.source_vocab_.itos[2:] if w.lstrip("▁")]
    words = words or ["a"]
    return [*given, "", " ".join(words[:6]), " ".join(words[-4:]), "zzqx " + words[0],
            " ".join(words[i % len(words)] for i in range(model.config.data.max_tokens + 5))]


def export_seq2seq(model_path: str | Path, out_dir: str | Path,
                   check_texts: list[str] | None = None) -> ExportResult:
    """Export a seq2seq bundle to ``out_dir``; refuse if onnxruntime's outputs differ
    from PyTorch's on the check texts (greedy and beam search)."""
    kind = bundle_kind(model_path)
    if kind not in (None, BUNDLE_KIND):
        raise BundleError(f"{model_path}: holds a {kind!r}; `seqlab seq2seq export` takes a "
                          "seq2seq model (see `seqlab export` for classifiers)")
    model = Seq2Seq.load(model_path)
    if model.members_:
        raise BundleError(f"{model_path}: an ensemble of {len(model.members_)} models; ONNX "
                          "export takes one model (export each member, or serve the "
                          "ensemble with the torch runtime)")
    module = model.module_
    out = Path(out_dir)
    ids, lengths = torch.tensor([[1, 1, 1], [1, 1, 0]]), torch.tensor([3, 2])  # <unk>s
    names = _state_names(module.lstm)
    with staged_folder(out, (ENCODER_FILE, STEP_FILE, SPEC_FILE)) as staging:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            encoder = _EncoderGraph(module).eval()  # eval: export restores its mode after
            encoded = encoder(ids, lengths)
            batch = {"ids": {0: "batch", 1: "source"}, "lengths": {0: "batch"},
                     "states": {0: "batch", 1: "source"}, "mask": {0: "batch", 1: "source"},
                     "feed": {0: "batch"}, "log_probs": {0: "batch"},
                     **{n: {1: "batch"} for n in names if n != "feed"}}
            torch.onnx.export(
                encoder, (ids, lengths), str(staging / ENCODER_FILE),
                input_names=["ids", "lengths"], output_names=["states", "mask", *names],
                dynamic_axes=batch, dynamo=False, opset_version=OPSET)
            torch.onnx.export(
                _StepGraph(module).eval(), (torch.tensor([1, 1]), *encoded),
                str(staging / STEP_FILE), input_names=["tokens", "states", "mask", *names],
                output_names=["log_probs", *(f"next_{n}" for n in names)],
                dynamic_axes={**batch, "tokens": {0: "batch"},
                              **{f"next_{n}": batch[n] for n in names}},
                dynamo=False,
                opset_version=OPSET)
        _, meta = model.to_bundle(getattr(model, "metrics_", {}))
        atomic_write_text(staging / SPEC_FILE, json.dumps(
            {"format": SPEC_FORMAT, "format_version": 1, **model_identity(model_path),
             **meta}, ensure_ascii=False))
        texts = _check_texts(model, [*(check_texts or []), *_run_sources(model_path)])
        exported = OnnxSeq2Seq.load(staging)
        difference = 0.0
        for width in (1, max(2, model.config.decode.beam_width)):
            ours = model.translate_n_best(texts, width)
            theirs = exported.translate_n_best(texts, width)
            for a, b in zip(ours, theirs, strict=True):
                if [o.text for o in a] != [o.text for o in b]:
                    raise SeqlabError(f"ONNX export of {model_path}: onnxruntime translates "
                                      "a check text differently from PyTorch; the export was "
                                      "not written")
                difference = max([difference, *(abs(x.score - y.score)
                                                for x, y in zip(a, b, strict=True))])
        if difference > TOLERANCE:
            raise SeqlabError(f"ONNX export of {model_path} disagrees with PyTorch by "
                              f"{difference:.2e} in output scores (allowed {TOLERANCE:.0e}); "
                              "the export was not written")
    return ExportResult(out, difference, len(texts))
