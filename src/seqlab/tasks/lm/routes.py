"""``POST /generate`` and ``POST /complete``: a language model's routes on the server
app.

``/generate`` continues a prompt (temperature, top-k, top-p, seed; ``"stream": true``
sends the text as it is generated); ``/complete`` returns the most likely completions
of what a user has typed, each with its probability.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import partial
from typing import Any, Literal

from fastapi import FastAPI
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from seqlab.serving.app import Mounted, ServedModel, ServeSettings
from seqlab.serving.identity import model_identity
from seqlab.serving.rules import refuse
from seqlab.tasks.lm.model import LanguageModel


class GenerateRequest(BaseModel):
    """A prompt and how to sample its continuation."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"prompt": "ROMEO:", "length": 200, "temperature": 0.8, "seed": 1}]})
    prompt: str = Field("", description="text to continue; empty: start a new line")
    length: int = Field(200, ge=1, description="tokens to generate")
    temperature: float = Field(0.8, ge=0.0, description="0: greedy")
    top_k: int | None = Field(None, ge=1)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    seed: int | None = Field(None, ge=0, le=2**63 - 1,
                             description="the same seed gives the same text")
    stream: bool = Field(False, description="send plain text as it is generated")


class CompleteRequest(BaseModel):
    """What has been typed and how many completions to return."""

    model_config = ConfigDict(extra="forbid",
                              json_schema_extra={"examples": [{"prefix": "san f", "n": 5}]})
    prefix: str = Field(..., description="the text typed so far")
    n: int = Field(5, ge=1, le=50)
    until: Literal["word", "line"] | None = Field(
        None, description="finish the word or the line; default from how the model was trained")


def serve(settings: ServeSettings) -> ServedModel:
    """Load the language model once, for the server app."""

    identity = model_identity(settings.model)
    return ServedModel(identity, partial(mount, lm=LanguageModel.load(settings.model),
                                         identity=identity, max_chars=settings.max_chars))


def mount(app: FastAPI, lock: threading.Lock, lm: Any, identity: dict[str, Any],
          max_chars: int = 20_000, max_length: int = 5_000) -> Mounted:
    """Add ``POST /generate`` and ``POST /complete`` for ``lm`` to ``app``."""

    def too_big(text: str, length: int = 0) -> JSONResponse | None:
        if len(text) > max_chars:
            return refuse(413, f"{len(text)} characters; the limit is {max_chars}",
                          limit=max_chars)
        if length > max_length:
            return refuse(413, f"length {length}; the limit is {max_length}",
                          limit=max_length)
        return None

    @app.post("/generate", responses={413: {"description": "a limit was exceeded"},
                                      422: {"description": "malformed request"}})
    def generate(request: GenerateRequest) -> Any:
        refused = too_big(request.prompt, request.length)
        if refused is not None:
            return refused
        settings = request.model_dump(exclude={"prompt", "length", "stream"})
        if request.stream:
            pieces = lm.generate(request.prompt, request.length, **settings)
            with lock:
                first = next(pieces)  # a bad prompt is refused before streaming starts

            def stream() -> Iterator[str]:
                with lock:
                    yield request.prompt + first
                    yield from pieces

            return StreamingResponse(stream(), media_type="text/plain; charset=utf-8")
        with lock:
            generated = "".join(lm.generate(request.prompt, request.length, **settings))
        return {"model": identity, "text": request.prompt + generated, "generated": generated}

    @app.post("/complete", responses={413: {"description": "prefix too long"},
                                      422: {"description": "malformed request"}})
    def complete(request: CompleteRequest) -> Any:
        refused = too_big(request.prefix)
        if refused is not None:
            return refused
        with lock:
            found = lm.complete(request.prefix, n=request.n, until=request.until)
        return {"model": identity, "completions": [
            {"text": c.text, "completion": c.completion, "probability": c.probability}
            for c in found]}

    return Mounted(
        f"Language model **{identity['name']}** ({lm.config.corpus.level} level): generate "
        "text and complete prefixes", '{"prompt": "…"} or {"prefix": "…"}',
        {"task": "language-model", "level": lm.config.corpus.level,
         "vocab_size": len(lm.vocab_), "metrics": getattr(lm, "metrics_", {}),
         "settings": lm.config.model_dump(mode="json"),
         "limits": {"max_chars": max_chars, "max_length": max_length}})
