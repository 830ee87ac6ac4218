"""``POST /predict``, ``POST /explain`` and the try-it page ``GET /``: a text
classifier's routes on the server app.

The body holds ``texts`` (a list) or ``text`` (one string); each comes back with its label
and the probability of every label, or (``/explain``) with each token's attribution and
its characters in the text. The model is a bundle (``torch`` runtime) or an ONNX export
(``onnx``, which predicts but does not explain).
"""

from __future__ import annotations

import threading
from functools import partial
from importlib.resources import files
from typing import Any, Protocol

import numpy as np
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from seqlab.serving.app import Mounted, ServedModel, ServeSettings
from seqlab.serving.batcher import Batcher
from seqlab.serving.identity import model_identity
from seqlab.serving.rules import refuse
from seqlab.serving.texts import ExplainTextsRequest, TextsRequest, over_limits


class Predictor(Protocol):
    labels_: list[str]

    def predict_proba(self, texts: list[str]) -> np.ndarray: ...


class PredictRequest(TextsRequest):
    """Either ``texts`` (a list) or ``text`` (one string)."""

    model_config = ConfigDict(extra="forbid",
                              json_schema_extra={"examples": [{"texts": ["i feel great"]}]})


class ExplainRequest(ExplainTextsRequest):
    """``texts`` or ``text``, the ``label`` to explain (default: the predicted one), and
    the method (auto, ig, weights, occlusion) with its steps or window."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"text": "i feel great", "method": "auto"}]})
    label: str | None = Field(None, description="the label to explain")


class Prediction(BaseModel):
    label: str
    probabilities: dict[str, float]


class PredictResponse(BaseModel):
    model: dict[str, str]
    predictions: list[Prediction]


class ExplainResponse(BaseModel):
    model: dict[str, str]
    explanations: list[dict[str, Any]]


def serve(settings: ServeSettings) -> ServedModel:
    """Load the classifier (or its ONNX export) once, for the server app."""
    if settings.runtime == "onnx":
        from seqlab.tasks.classify.onnx_predictor import OnnxClassifier

        onnx = OnnxClassifier.load(settings.model, threads=settings.threads)
        facts = {"labels": onnx.labels_, "preprocessing": onnx.spec["preprocessing"],
                 "metrics": onnx.spec.get("metrics", {}), "settings": {}}
        identity = {"name": onnx.spec["name"], "version": onnx.spec["version"]}
        predictor: Predictor = onnx
    else:
        from seqlab.tasks.classify.estimators import load_classifier

        clf = load_classifier(settings.model)
        facts = {"labels": clf.labels_, "preprocessing": clf.pipeline_.to_spec(),
                 "metrics": clf.metrics_, "settings": clf.get_params()}
        identity = model_identity(settings.model)
        predictor = clf
    identity = {**identity, "runtime": settings.runtime}
    return ServedModel(identity, partial(mount, predictor=predictor, identity=identity,
                                         facts=facts, settings=settings))


def mount(app: FastAPI, lock: threading.Lock, predictor: Predictor,
          identity: dict[str, Any], facts: dict[str, Any], settings: ServeSettings) -> Mounted:
    """Add ``POST /predict`` and ``GET /`` for ``predictor`` to ``app``."""
    page = (files("seqlab") / "serving" / "page.html").read_text(encoding="utf-8")
    batch = Batcher(predictor.predict_proba, settings.batch_texts, lock)
    identity = {k: str(v) for k, v in identity.items()}

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home() -> str:
        return page

    @app.post("/predict", response_model=PredictResponse,
              responses={413: {"description": "a limit was exceeded"},
                         422: {"description": "malformed request"}})
    async def predict(request: PredictRequest) -> Any:
        texts = request.all_texts()
        refused = over_limits(texts, settings.max_texts, settings.max_chars)
        if refused is not None:
            return refused
        proba = await batch.run(texts) if texts else np.zeros((0, 0))
        labels = predictor.labels_
        return {"model": identity, "predictions": [
            {"label": labels[int(row.argmax())],
             "probabilities": {label: float(p) for label, p in zip(labels, row, strict=True)}}
            for row in proba]}

    @app.post("/explain", response_model=ExplainResponse,
              responses={413: {"description": "a limit was exceeded"},
                         422: {"description": "malformed request, or over the step cap"}})
    def explain(request: ExplainRequest) -> Any:
        refused = request.over_limits(settings)
        if refused is not None:
            return refused
        texts = request.all_texts()
        if settings.runtime == "onnx":
            return refuse(422, "an ONNX export predicts but does not explain; serve the "
                               "model bundle (--runtime torch) for /explain")
        from seqlab.tasks.classify.explain import explain_many

        with lock:
            explanations = explain_many(predictor, texts, [request.label] * len(texts),
                                        request.method, request.steps, request.window)
        return {"model": identity, "explanations": [e.to_dict() for e in explanations]}

    return Mounted(f"Text classifier **{identity['name']}**: {', '.join(predictor.labels_)}",
                   '{"texts": ["..."]} or {"text": "..."}',
                   {**facts, "limits": settings.limits()},
                   warm_up=lambda: predictor.predict_proba(["warm up"]))
