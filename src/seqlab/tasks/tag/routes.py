"""``POST /tag``: a tagger's route on the server app.

The body holds ``text`` (one string) or ``texts`` (a list); each comes back as its
tokens with tags and character offsets and, for an entity tagger, the entities grouped
with their offsets.
"""

from __future__ import annotations

import threading
from dataclasses import asdict
from functools import partial
from typing import Any

from fastapi import FastAPI
from pydantic import ConfigDict

from seqlab.serving.app import Mounted, ServedModel, ServeSettings
from seqlab.serving.identity import model_identity
from seqlab.serving.texts import TextsRequest, over_limits
from seqlab.tasks.tag.tagger import Tagger


class TagRequest(TextsRequest):
    """Either ``texts`` (a list) or ``text`` (one string)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"text": "Angela Merkel visited Paris"}]})


def serve(settings: ServeSettings) -> ServedModel:
    """Load the tagger once, for the server app."""
    identity = model_identity(settings.model)
    return ServedModel(identity, partial(mount, tagger=Tagger.load(settings.model),
                                         identity=identity, max_texts=settings.max_texts,
                                         max_chars=settings.max_chars))


def mount(app: FastAPI, lock: threading.Lock, tagger: Any, identity: dict[str, Any],
          max_texts: int = 256, max_chars: int = 20_000) -> Mounted:
    """Add ``POST /tag`` for ``tagger`` to ``app``."""
    kind = "entity tagger" if tagger.entities_ else "tagger"

    @app.post("/tag", responses={413: {"description": "a limit was exceeded"},
                                 422: {"description": "malformed request"}})
    def tag(request: TagRequest) -> Any:
        texts = request.all_texts()
        refused = over_limits(texts, max_texts, max_chars)
        if refused is not None:
            return refused
        with lock:
            tagged = [tagger.tag_text(text) for text in texts]
        return {"model": identity, "results": [
            {"tokens": t.tokens, "entities": [asdict(e) for e in t.entities]}
            for t in tagged]}

    return Mounted(
        f"{kind.capitalize()} **{identity['name']}**: {', '.join(tagger.tags_)}",
        '{"text": "…"} or {"texts": ["…"]}',
        {"task": kind, "tags": tagger.tags_, "scheme": tagger.source_scheme_,
         "metrics": getattr(tagger, "metrics_", {}),
         "settings": tagger.config.model_dump(mode="json"),
         "limits": {"max_texts": max_texts, "max_chars": max_chars}})
