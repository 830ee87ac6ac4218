"""The FastAPI app behind ``seqlab serve``.

For a forecaster bundle the app is :mod:`seqlab.tasks.forecast.routes` (``POST
/forecast``), for a language model :mod:`seqlab.tasks.lm.routes` (``POST /generate``,
``POST /complete``), for a tagger :mod:`seqlab.tasks.tag.routes` (``POST /tag``). For a
text classifier, endpoints: ``POST /predict``, ``GET /health``, ``GET /model``, ``GET /``
(a page to try the model) and the OpenAPI docs at ``/docs``. The model is loaded once per
process and shared by all requests; a lock serialises inference so concurrent requests never run
more compute threads than the process was given (``threads``), and each worker process
gets ``cores / workers`` of them.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from seqlab.errors import SeqlabError
from seqlab.serving.identity import model_identity
from seqlab.serving.rules import (
    BODY_TIMEOUT,
    HEADER_TIMEOUT,
    KEEP_ALIVE_TIMEOUT,
    BodyLimit,
    add_error_rules,
    refuse,
)
from seqlab.tasks.forecast.forecaster import BUNDLE_KIND as FORECASTER_KIND
from seqlab.tasks.lm.model import BUNDLE_KIND as LANGUAGE_MODEL_KIND
from seqlab.tasks.tag.tagger import BUNDLE_KIND as TAGGER_KIND

RUNTIMES = ("torch", "onnx")
ENV_SETTINGS = "SEQLAB_SERVE_SETTINGS"


class Predictor(Protocol):
    labels_: list[str]

    def predict_proba(self, texts: list[str]) -> np.ndarray: ...


@dataclass
class ServeSettings:
    """What one server process loads and the limits it enforces."""

    model: str
    runtime: str = "torch"
    threads: int = 1
    max_texts: int = 256
    max_chars: int = 20_000
    max_body_bytes: int = 2_000_000
    header_timeout: float = HEADER_TIMEOUT
    body_timeout: float = BODY_TIMEOUT


class PredictRequest(BaseModel):
    """Either ``texts`` (a list) or ``text`` (one string)."""

    model_config = ConfigDict(extra="forbid",
                              json_schema_extra={"examples": [{"texts": ["i feel great"]}]})
    texts: list[str] | None = Field(None, description="texts to classify")
    text: str | None = Field(None, description="a single text to classify")

    @model_validator(mode="after")
    def _one_of(self) -> PredictRequest:
        if (self.texts is None) == (self.text is None):
            raise ValueError("give exactly one of `texts` (a list) or `text` (a string)")
        return self

    def all_texts(self) -> list[str]:
        return self.texts if self.texts is not None else [self.text or ""]


class Prediction(BaseModel):
    label: str
    probabilities: dict[str, float]


class PredictResponse(BaseModel):
    model: dict[str, str]
    predictions: list[Prediction]


def load_predictor(settings: ServeSettings) -> tuple[Predictor, dict[str, Any]]:
    """Load the model for a runtime; return it with the facts ``GET /model`` reports."""
    if settings.runtime not in RUNTIMES:
        raise SeqlabError(f"unknown runtime {settings.runtime!r}; choose one of: "
                          f"{', '.join(RUNTIMES)}")
    if settings.runtime == "onnx":
        from seqlab.tasks.classify.onnx_predictor import OnnxClassifier

        onnx = OnnxClassifier.load(settings.model, threads=settings.threads)
        info = {"name": onnx.spec["name"], "version": onnx.spec["version"],
                "labels": onnx.labels_, "preprocessing": onnx.spec["preprocessing"],
                "metrics": onnx.spec.get("metrics", {}), "settings": {}}
        return onnx, info
    import torch

    from seqlab.tasks.classify.estimators import load_classifier

    torch.set_num_threads(settings.threads)
    clf = load_classifier(settings.model)
    info = {**model_identity(settings.model), "labels": clf.labels_,
            "preprocessing": clf.pipeline_.to_spec(), "metrics": clf.metrics_,
            "settings": clf.get_params()}
    return clf, info


def create_app(predictor: Predictor, info: dict[str, Any], settings: ServeSettings) -> FastAPI:
    """The app for one loaded model."""
    app = FastAPI(title="seqlab", description=f"Text classifier **{info['name']}**: "
                  f"{', '.join(info['labels'])}", version=str(info["version"]))
    lock = threading.Lock()
    identity = {"name": str(info["name"]), "version": str(info["version"]),
                "runtime": settings.runtime}
    page = (files("seqlab") / "serving" / "page.html").read_text(encoding="utf-8")

    add_error_rules(app, '{"texts": ["..."]} or {"text": "..."}')

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home() -> str:
        return page

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok", **identity}

    @app.get("/model")
    def model() -> dict[str, Any]:
        limits = {k: v for k, v in asdict(settings).items() if k.startswith("max_")}
        return {**identity, "labels": info["labels"], "preprocessing": info["preprocessing"],
                "metrics": info["metrics"], "settings": info["settings"], "limits": limits}

    @app.post("/predict", response_model=PredictResponse,
              responses={413: {"description": "a limit was exceeded"},
                         422: {"description": "malformed request"}})
    def predict(request: PredictRequest) -> Any:
        texts = request.all_texts()
        if len(texts) > settings.max_texts:
            return refuse(413, f"{len(texts)} texts in one request; the limit is "
                               f"{settings.max_texts}", limit=settings.max_texts)
        too_long = [i for i, t in enumerate(texts) if len(t) > settings.max_chars]
        if too_long:
            return refuse(413, f"text {too_long[0]} has {len(texts[too_long[0]])} characters; "
                               f"the limit is {settings.max_chars}", limit=settings.max_chars)
        with lock:
            proba = predictor.predict_proba(texts) if texts else np.zeros((0, 0))
        labels = predictor.labels_
        return {"model": identity, "predictions": [
            {"label": labels[int(row.argmax())],
             "probabilities": {label: float(p) for label, p in zip(labels, row, strict=True)}}
            for row in proba]}

    return app


def _forecast_app(settings: ServeSettings) -> FastAPI:
    from seqlab.tasks.forecast.forecaster import Forecaster
    from seqlab.tasks.forecast.routes import create_forecast_app

    return create_forecast_app(Forecaster.load(settings.model), model_identity(settings.model))


def _lm_app(settings: ServeSettings) -> FastAPI:
    from seqlab.tasks.lm.model import LanguageModel
    from seqlab.tasks.lm.routes import create_lm_app

    return create_lm_app(LanguageModel.load(settings.model), model_identity(settings.model),
                         max_chars=settings.max_chars)


def _tag_app(settings: ServeSettings) -> FastAPI:
    from seqlab.tasks.tag.routes import create_tag_app
    from seqlab.tasks.tag.tagger import Tagger

    return create_tag_app(Tagger.load(settings.model), model_identity(settings.model),
                          max_texts=settings.max_texts, max_chars=settings.max_chars)


# bundle format → the app for that task; anything else is served as a text classifier
TASK_APPS: dict[str, Callable[[ServeSettings], FastAPI]] = {
    FORECASTER_KIND: _forecast_app,
    LANGUAGE_MODEL_KIND: _lm_app,
    TAGGER_KIND: _tag_app,
}


def app_for(settings: ServeSettings) -> FastAPI:
    """The app for the bundle in ``settings``: the task's own app (forecaster, language
    model, tagger) chosen by the bundle's format, else the text classifier's."""
    from seqlab.artifacts import bundle_kind

    builder = TASK_APPS.get(bundle_kind(settings.model) or "") \
        if settings.runtime == "torch" else None
    if builder is not None:
        import torch

        torch.set_num_threads(settings.threads)
        app = builder(settings)
    else:
        predictor, info = load_predictor(settings)
        app = create_app(predictor, info, settings)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes,
                       timeout=settings.body_timeout)
    return app


def app_from_environment() -> FastAPI:
    """The app factory uvicorn calls in each worker process (settings come as JSON)."""
    return app_for(ServeSettings(**json.loads(os.environ[ENV_SETTINGS])))


def serve(settings: ServeSettings, host: str, port: int, workers: int) -> None:
    """Run uvicorn with ``workers`` processes, each loading the model once."""
    import uvicorn

    settings.model = str(Path(settings.model).resolve())
    app_for(settings)  # fail here, with a clear message, not in every worker
    os.environ[ENV_SETTINGS] = json.dumps(asdict(settings))
    from seqlab.serving.protocol import HEADER_TIMEOUT_VARIABLE, GuardedH11Protocol

    os.environ[HEADER_TIMEOUT_VARIABLE] = str(settings.header_timeout)

    uvicorn.run("seqlab.serving.app:app_from_environment", factory=True, host=host,
                port=port, workers=workers, log_level="info", http=GuardedH11Protocol,
                timeout_keep_alive=int(KEEP_ALIVE_TIMEOUT))
