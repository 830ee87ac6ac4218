"""``POST /translate``: a sequence-to-sequence model's route on the server app.

The body holds ``texts`` (a list) or ``text`` (one string), and optionally the beam width
(capped by the server) and how many outputs to return per text; each text comes back
with its outputs, best first, and their scores; ``source_tokens_cut`` says, per text, how
many of its tokens lay past the model's ``data.max_tokens`` and were not read. The
model is a bundle, or an ONNX export served on onnxruntime. Requests that wait while the
model is busy, asking the same beam width and number of outputs, are decoded together
(``serving.batcher``).
"""

from __future__ import annotations

import threading
from functools import partial
from typing import Any

from fastapi import FastAPI
from pydantic import ConfigDict, Field

from seqlab.serving.app import Mounted, ServedModel, ServeSettings
from seqlab.serving.batcher import Batcher
from seqlab.serving.identity import model_identity
from seqlab.serving.rules import refuse
from seqlab.serving.texts import TextsRequest, over_limits
from seqlab.tasks.seq2seq.model import Seq2Seq

MAX_BEAM = 16


class TranslateRequest(TextsRequest):
    """Either ``texts`` (a list) or ``text`` (one string), and how to search."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"text": "the fourth of july nineteen ninety", "n_best": 2}]})
    beam_width: int | None = Field(None, ge=1, description="default: the model's")
    n_best: int = Field(1, ge=1, le=MAX_BEAM, description="outputs per text")


def serve(settings: ServeSettings) -> ServedModel:
    """Load the model once, for the server app: a bundle (``torch`` runtime) or an ONNX
    export (``onnx``)."""
    if settings.runtime == "onnx":
        from seqlab.tasks.seq2seq.onnx_export import OnnxSeq2Seq

        model: Seq2Seq = OnnxSeq2Seq.load(settings.model, threads=settings.threads)
        identity = dict(model.identity_)
    else:
        model, identity = Seq2Seq.load(settings.model), model_identity(settings.model)
    identity["runtime"] = settings.runtime
    return ServedModel(identity, partial(mount, model=model, identity=identity,
                                         max_texts=settings.max_texts,
                                         max_chars=settings.max_chars,
                                         batch_texts=settings.batch_texts))


def mount(app: FastAPI, lock: threading.Lock, model: Any, identity: dict[str, Any],
          max_texts: int = 256, max_chars: int = 20_000, batch_texts: int = 64) -> Mounted:
    """Add ``POST /translate`` for ``model`` to ``app``."""
    batch = Batcher(model.translate_n_best, batch_texts, lock)

    @app.post("/translate", responses={413: {"description": "a limit was exceeded"},
                                       422: {"description": "malformed request"}})
    async def translate(request: TranslateRequest) -> Any:
        texts = request.all_texts()
        refused = over_limits(texts, max_texts, max_chars)
        if refused is not None:
            return refused
        width = request.beam_width or model.config.decode.beam_width
        if width > MAX_BEAM:
            return refuse(413, f"beam width {width}; the limit is {MAX_BEAM}", limit=MAX_BEAM)
        found = await batch.run(texts, beam_width=max(width, request.n_best),
                                n_best=request.n_best) if texts else []
        cut = model.tokens_cut(texts)
        return {"model": identity, "results": [
            [{"text": o.text, "score": o.score, "log_probability": o.log_probability,
              "finished": o.finished} for o in outputs] for outputs in found],
            "source_tokens_cut": cut}

    return Mounted(f"Sequence-to-sequence model **{identity['name']}**",
                   '{"text": "…"} or {"texts": ["…"]}',
                   {"task": "seq2seq", "level": model.config.data.level,
                    "metrics": getattr(model, "metrics_", {}),
                    "settings": model.config.model_dump(mode="json"),
                    "limits": {"max_texts": max_texts, "max_chars": max_chars,
                               "max_beam": MAX_BEAM}},
                   warm_up=lambda: model.translate_n_best(["warm up"], 1, 1))
