"""``POST /predict``: a multi-label model's route on the server app.

The body holds ``texts`` (a list) or ``text`` (one string); each comes back with its label
set (possibly empty) and the probability of every label.
"""

from __future__ import annotations

import threading
from functools import partial
from typing import Any

import numpy as np
from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict

from seqlab.serving.app import Mounted, ServedModel, ServeSettings
from seqlab.serving.batcher import Batcher
from seqlab.serving.identity import model_identity
from seqlab.serving.texts import TextsRequest, over_limits
from seqlab.tasks.multilabel.kinds import load_multilabel
from seqlab.tasks.multilabel.model import LabelSets


class LabelSetRequest(TextsRequest):
    """Either ``texts`` (a list) or ``text`` (one string)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"text": "Angela Merkel visited Paris"}]})


class LabelSetPrediction(BaseModel):
    labels: list[str]
    probabilities: dict[str, float]


class LabelSetResponse(BaseModel):
    model: dict[str, str]
    predictions: list[LabelSetPrediction]


def serve(settings: ServeSettings) -> ServedModel:
    """Load the model once, for the server app."""
    identity = {k: str(v) for k, v in model_identity(settings.model).items()}
    return ServedModel(identity, partial(mount, model=load_multilabel(settings.model),
                                         identity=identity, settings=settings))


def mount(app: FastAPI, lock: threading.Lock, model: LabelSets, identity: dict[str, str],
          settings: ServeSettings) -> Mounted:
    """Add ``POST /predict`` for ``model`` to ``app``."""

    batch = Batcher(model.predict_proba, settings.batch_texts, lock)

    @app.post("/predict", response_model=LabelSetResponse,
              responses={413: {"description": "a limit was exceeded"},
                         422: {"description": "malformed request"}})
    async def predict(request: LabelSetRequest) -> Any:
        texts = request.all_texts()
        refused = over_limits(texts, settings.max_texts, settings.max_chars)
        if refused is not None:
            return refused
        proba = np.asarray(await batch.run(texts)) if texts else \
            np.zeros((0, len(model.labels_)))
        decided = model.decide(proba)
        return {"model": identity, "predictions": [
            {"labels": [label for label, chosen in zip(model.labels_, row_decided, strict=True)
                        if chosen],
             "probabilities": {label: float(p) for label, p in zip(model.labels_, row,
                                                                   strict=True)}}
            for row, row_decided in zip(proba, decided, strict=True)]}

    return Mounted(
        f"Multi-label classifier **{identity['name']}**: {', '.join(model.labels_)}",
        '{"texts": ["..."]} or {"text": "..."}',
        {"task": "multi-label", "labels": model.labels_,
         "thresholds": model.threshold_table(), "metrics": getattr(model, "metrics_", {}),
         "settings": model.get_params(), "limits": settings.limits()},
        warm_up=lambda: model.predict_proba(["warm up"]))
