"""``POST /tag`` and ``POST /explain``: a tagger's routes on the server app.

The body holds ``text`` (one string) or ``texts`` (a list); each comes back as its
tokens with tags and character offsets and, for an entity tagger, the entities grouped
with their offsets. ``/explain`` answers per text what ``seqlab tag explain --json``
prints: which words drove each explained token's tag.
"""

from __future__ import annotations

import threading
from dataclasses import asdict
from functools import partial
from typing import Any

from fastapi import FastAPI
from pydantic import ConfigDict, Field

from seqlab.serving.app import Mounted, ServedModel, ServeSettings
from seqlab.serving.batcher import Batcher
from seqlab.serving.identity import model_identity
from seqlab.serving.rules import refuse
from seqlab.serving.texts import ExplainTextsRequest, TextsRequest, over_limits
from seqlab.tasks.tag.tagger import Tagger


class TagRequest(TextsRequest):
    """Either ``texts`` (a list) or ``text`` (one string)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"text": "Angela Merkel visited Paris"}]})


class TagExplainRequest(ExplainTextsRequest):
    """``texts`` or ``text``; the ``tokens`` to explain in each (positions or words;
    default: the entities' tokens, or every token of a tagger of other tags), the ``tag``
    to explain (default: the one the model gives), and the method with its steps or
    window."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"text": "Angela Merkel visited Paris", "tokens": ["Paris"]}]})
    tokens: list[int | str] | None = Field(None, description="tokens to explain")
    tag: str | None = Field(None, description="the tag to explain, in the model's scheme")


def serve(settings: ServeSettings) -> ServedModel:
    """Load the tagger once, for the server app."""
    identity = model_identity(settings.model)
    return ServedModel(identity, partial(mount, tagger=Tagger.load(settings.model),
                                         identity=identity, settings=settings))


def mount(app: FastAPI, lock: threading.Lock, tagger: Any, identity: dict[str, Any],
          settings: ServeSettings) -> Mounted:
    """Add ``POST /tag`` and ``POST /explain`` for ``tagger`` to ``app``."""
    kind = "entity tagger" if tagger.entities_ else "tagger"
    batch = Batcher(tagger.tag_texts, settings.batch_texts, lock)

    @app.post("/tag", responses={413: {"description": "a limit was exceeded"},
                                 422: {"description": "malformed request"}})
    async def tag(request: TagRequest) -> Any:
        texts = request.all_texts()
        refused = over_limits(texts, settings.max_texts, settings.max_chars)
        if refused is not None:
            return refused
        tagged = await batch.run(texts) if texts else []
        return {"model": identity, "results": [
            {"tokens": t.tokens, "entities": [asdict(e) for e in t.entities]}
            for t in tagged]}

    @app.post("/explain", responses={413: {"description": "a limit was exceeded"},
                                     422: {"description": "malformed request, or over the "
                                                          "step cap"}})
    def explain(request: TagExplainRequest) -> Any:
        refused = request.over_limits(settings)
        if refused is not None:
            return refused
        texts = request.all_texts()
        from seqlab.tasks.tag.explain import explain_tagging, tag_sentence, tokens_to_explain

        with lock:
            taggings = [tag_sentence(tagger, text) for text in texts]
            count = sum(len(tokens_to_explain(tagger, t, request.tokens)) for t in taggings)
            if count > settings.max_explanations:
                return refuse(413, f"{count} tokens to explain in one request; the limit is "
                                   f"{settings.max_explanations}: name fewer with `tokens`",
                              limit=settings.max_explanations)
            found = [explain_tagging(tagger, t, request.tokens, request.tag, request.method,
                                     request.steps, request.window) for t in taggings]
        return {"model": identity, "results": [f.to_dict() for f in found]}

    return Mounted(
        f"{kind.capitalize()} **{identity['name']}**: {', '.join(tagger.tags_)}",
        '{"text": "…"} or {"texts": ["…"]}',
        {"task": kind, "tags": tagger.tags_, "scheme": tagger.source_scheme_,
         "metrics": getattr(tagger, "metrics_", {}),
         "settings": tagger.config.model_dump(mode="json"), "limits": settings.limits()},
        warm_up=lambda: tagger.tag_texts(["Warm up ."]))
