"""``POST /generate``, ``POST /complete`` and ``POST /explain``: a language model's
routes on the server app.

``/generate`` continues a prompt (temperature, top-k, top-p, seed; ``"stream": true``
sends the text as it is generated); requests that wait while the model is busy, with the
same length and sampling settings, are generated side by side (:mod:`seqlab.serving.batcher`),
each from its own seed; ``/complete`` returns the most likely completions
of what a user has typed, each with its probability (waiting requests that ask the same
count and end have their beams stepped together); ``/explain`` which tokens of a
prompt drove the next token (what ``seqlab lm explain --json`` prints).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from functools import partial
from typing import Any, Literal

from fastapi import FastAPI
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from seqlab.serving.app import Mounted, ServedModel, ServeSettings
from seqlab.serving.batcher import Batcher
from seqlab.serving.identity import model_identity
from seqlab.serving.rules import refuse
from seqlab.serving.texts import ExplainTextsRequest
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


class NextExplainRequest(ExplainTextsRequest):
    """``texts`` or ``text`` (prompts), the ``next`` token to explain (default: the most
    likely one), and the method with its steps or window."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"text": "san francisco wea", "method": "ig"}]})
    next: str | None = Field(None, description="the next token to explain")


def serve(settings: ServeSettings) -> ServedModel:
    """Load the language model once, for the server app."""

    identity = model_identity(settings.model)
    return ServedModel(identity, partial(mount, lm=LanguageModel.load(settings.model),
                                         identity=identity, settings=settings))


def mount(app: FastAPI, lock: threading.Lock, lm: Any, identity: dict[str, Any],
          settings: ServeSettings, max_length: int = 5_000) -> Mounted:
    """Add ``POST /generate``, ``POST /complete`` and ``POST /explain`` for ``lm`` to
    ``app``."""
    max_chars = settings.max_chars
    generations = Batcher(lm.generate_many, settings.batch_texts, lock)
    completions = Batcher(lm.complete_many, settings.batch_texts, lock)

    def too_big(text: str, length: int = 0) -> JSONResponse | None:
        if len(text) > max_chars:
            return refuse(413, f"{len(text)} characters; the limit is {max_chars}",
                          limit=max_chars)
        if length > max_length:
            return refuse(413, f"length {length}; the limit is {max_length}",
                          limit=max_length)
        return None

    def locked_next(pieces: Iterator[str]) -> str:
        with lock:
            return next(pieces)

    @app.post("/generate", responses={413: {"description": "a limit was exceeded"},
                                      422: {"description": "malformed request"}})
    async def generate(request: GenerateRequest) -> Any:
        refused = too_big(request.prompt, request.length)
        if refused is not None:
            return refused
        if request.stream:
            sampling = request.model_dump(exclude={"prompt", "length", "stream"})
            pieces = lm.generate(request.prompt, request.length, **sampling)
            # a bad prompt is refused before streaming starts (off the event loop: the
            # lock may be held by the batcher)
            first = await asyncio.to_thread(locked_next, pieces)

            def stream() -> Iterator[str]:
                with lock:
                    yield request.prompt + first
                    yield from pieces

            return StreamingResponse(stream(), media_type="text/plain; charset=utf-8")
        (generated,) = await generations.run([(request.prompt, request.seed)],
                                       length=request.length, temperature=request.temperature,
                                       top_k=request.top_k, top_p=request.top_p)
        return {"model": identity, "text": request.prompt + generated, "generated": generated}

    @app.post("/complete", responses={413: {"description": "prefix too long"},
                                      422: {"description": "malformed request"}})
    async def complete(request: CompleteRequest) -> Any:
        refused = too_big(request.prefix)
        if refused is not None:
            return refused
        (found,) = await completions.run([request.prefix], n=request.n, until=request.until)
        return {"model": identity, "completions": [
            {"text": c.text, "completion": c.completion, "probability": c.probability}
            for c in found]}

    @app.post("/explain", responses={413: {"description": "a limit was exceeded"},
                                     422: {"description": "malformed request, or over the "
                                                          "step cap"}})
    def explain(request: NextExplainRequest) -> Any:
        refused = request.over_limits(settings)
        if refused is not None:
            return refused
        texts = request.all_texts()
        from seqlab.tasks.lm.explain import explain_next

        with lock:
            found = explain_next(lm, texts, [request.next] * len(texts), request.method,
                                 request.steps, request.window)
        return {"model": identity, "explanations": [e.to_dict() for e in found]}

    return Mounted(
        f"Language model **{identity['name']}** ({lm.config.corpus.level} level): generate "
        "text and complete prefixes", '{"prompt": "…"} or {"prefix": "…"}',
        {"task": "language-model", "level": lm.config.corpus.level,
         "vocab_size": len(lm.vocab_), "metrics": getattr(lm, "metrics_", {}),
         "settings": lm.config.model_dump(mode="json"),
         "limits": {**settings.limits(), "max_length": max_length}})
