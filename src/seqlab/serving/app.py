"""The one FastAPI app behind ``seqlab serve``, for every task.

The app holds what every task's server shares: the JSON error rules (a catch-all that
never leaks a traceback), the body limit, ``GET /health``, ``GET /model`` and the docs at
``/docs``. The task the bundle belongs to mounts its own routes (``POST /predict`` for a
classifier, ``/tag``, ``/generate`` and ``/complete``, ``/forecast``, ``/translate``).
The model is loaded once per worker process and shared by all requests; a lock serialises
inference so that concurrent requests never run more compute threads than the process
was given (``threads``), and each worker gets ``cores / workers`` of them. A
classifier's, a multi-label model's, a tagger's and a sequence-to-sequence model's
requests that wait while the model is busy are predicted together
(``serving.batcher``). Each model predicts once before the first request (its task's
``warm_up``).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from seqlab.engine.task import task_for_bundle, task_for_export
from seqlab.errors import SeqlabError
from seqlab.serving.rules import (
    BODY_TIMEOUT,
    HEADER_TIMEOUT,
    KEEP_ALIVE_TIMEOUT,
    BodyLimit,
    add_error_rules,
)

RUNTIMES = ("torch", "onnx")
ENV_SETTINGS = "SEQLAB_SERVE_SETTINGS"


@dataclass
class ServeSettings:
    """What one server process loads and the limits it enforces."""

    model: str
    runtime: str = "torch"
    threads: int = 1
    max_texts: int = 256
    max_chars: int = 20_000
    max_body_bytes: int = 2_000_000
    batch_texts: int = 64  # texts of waiting requests predicted in one call; 1: one a call
    max_explanations: int = 16  # per POST /explain: texts, prompts or a tagger's tokens
    max_explain_steps: int = 200  # integrated gradients' steps per explanation
    header_timeout: float = HEADER_TIMEOUT
    body_timeout: float = BODY_TIMEOUT
    http: str = "auto"  # the HTTP parser: httptools where installed, else h11

    def limits(self) -> dict[str, int]:
        return {k: v for k, v in asdict(self).items() if k.startswith("max_")}


@dataclass
class Mounted:
    """What a task's routes tell the shared app: the docs' description, a valid request
    body (for error messages), what ``GET /model`` reports beside the identity, and a
    call that predicts once before the first request (``warm_up``)."""

    description: str
    example: str
    facts: dict[str, Any]
    warm_up: Callable[[], Any] | None = None


Mount = Callable[[FastAPI, threading.Lock], Mounted]


@dataclass
class ServedModel:
    """A loaded model: who it is (``name``, ``version``, …) and how to mount its routes."""

    identity: dict[str, Any]
    mount: Mount


def create_app(served: ServedModel) -> FastAPI:
    """The app for one loaded model: the shared routes and rules, then the task's own."""
    identity = {k: str(v) for k, v in served.identity.items()}
    app = FastAPI(title="seqlab", version=identity["version"])
    mounted = served.mount(app, threading.Lock())
    app.description = mounted.description
    add_error_rules(app, mounted.example)
    warm_up(mounted)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok", **identity}

    @app.get("/model")
    def model() -> dict[str, Any]:
        return {**identity, **mounted.facts}

    return app


def warm_up(mounted: Mounted) -> None:
    """Predict once, so that the first request does not pay for what a model's first call
    sets up (threads, kernels, caches). A model that fails here is still served: its
    requests get the JSON errors of :mod:`seqlab.serving.rules`, and the log says why."""
    if mounted.warm_up is None:
        return
    try:
        mounted.warm_up()
    except Exception as err:  # the requests will say it in their own errors
        logging.getLogger("uvicorn.error").warning(
            "seqlab: the warm-up prediction failed (%s); serving anyway", type(err).__name__)


def app_for(settings: ServeSettings) -> FastAPI:
    """The app for the bundle in ``settings``, its task chosen by the bundle's format (or
    by the spec file of an ONNX export)."""
    from seqlab.artifacts import bundle_kind

    if settings.runtime not in RUNTIMES:
        raise SeqlabError(f"unknown runtime {settings.runtime!r}; choose one of: "
                          f"{', '.join(RUNTIMES)}")
    if settings.runtime == "onnx":
        task = task_for_export(settings.model)
    else:
        import torch

        torch.set_num_threads(settings.threads)
        task = task_for_bundle(bundle_kind(settings.model))
    app = create_app(task.serve(settings))
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes,
                       timeout=settings.body_timeout)
    return app


def app_from_environment() -> FastAPI:
    """The app factory uvicorn calls in each worker process (settings come as JSON)."""
    return app_for(ServeSettings(**json.loads(os.environ[ENV_SETTINGS])))


def serve(settings: ServeSettings, host: str, port: int, workers: int) -> None:
    """Run uvicorn with ``workers`` processes, each loading the model once."""
    import uvicorn

    from seqlab.serving.protocol import HEADER_TIMEOUT_VARIABLE, http_protocol

    protocol = http_protocol(settings.http)
    settings.model = str(Path(settings.model).resolve())
    if workers == 1:  # the one process serves the app it checked
        app: Any = app_for(settings)
    else:  # each worker loads its own; fail here, with a clear message, not in every one
        app_for(settings)
        app = "seqlab.serving.app:app_from_environment"
        os.environ[ENV_SETTINGS] = json.dumps(asdict(settings))
    os.environ[HEADER_TIMEOUT_VARIABLE] = str(settings.header_timeout)
    uvicorn.run(app, factory=workers > 1, host=host, port=port, workers=workers,
                log_level="info", http=protocol,
                timeout_keep_alive=int(KEEP_ALIVE_TIMEOUT))
