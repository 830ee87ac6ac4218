"""``seqlab serve``: any task's model over HTTP (the bundle says which task)."""

from __future__ import annotations

from typing import Annotated

import typer

from seqlab.cli.common import console, require_module, user_errors


@user_errors
def serve(
    model: Annotated[str, typer.Argument(help="model bundle, run folder, or ONNX export folder")],
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    workers: Annotated[int, typer.Option(help="server processes")] = 1,
    runtime: Annotated[str, typer.Option(help="torch (a bundle) or onnx (an export)")] = "torch",
    threads: Annotated[int | None, typer.Option(help="compute threads per worker")] = None,
    max_texts: Annotated[int, typer.Option(help="texts per request")] = 256,
    max_chars: Annotated[int, typer.Option(help="characters per text")] = 20_000,
    max_body_bytes: Annotated[int, typer.Option(help="request body size")] = 2_000_000,
    batch_texts: Annotated[int, typer.Option(
        min=1, help="texts of waiting requests predicted in one call (classifiers); 1: "
                    "one call per request")] = 64,
    max_explanations: Annotated[int, typer.Option(
        help="explanations per /explain request (texts, prompts or a tagger's tokens)")] = 16,
    max_explain_steps: Annotated[int, typer.Option(
        help="integrated gradients' steps an /explain request may ask for")] = 200,
    header_timeout: Annotated[float | None, typer.Option(
        min=0.1, help="seconds a client has to send its request headers [default: 10]")]
    = None,
    body_timeout: Annotated[float | None, typer.Option(
        min=0.1, help="seconds a client has to send its request body [default: 30]")]
    = None,
    http: Annotated[str, typer.Option(
        help="HTTP parser: auto (httptools where installed, else h11), httptools or h11")]
    = "auto",
) -> None:
    """Serve any task's model over HTTP: its routes, /model, /health and /docs."""
    require_module("fastapi", "serve")
    require_module("uvicorn", "serve")
    if runtime == "onnx":
        require_module("onnxruntime", "onnx")
    from seqlab.engine.machine import cores_per_process
    from seqlab.serving.app import ServeSettings
    from seqlab.serving.app import serve as run_server

    per_worker = threads or cores_per_process(workers)
    timeouts = {k: v for k, v in (("header_timeout", header_timeout),
                                  ("body_timeout", body_timeout)) if v is not None}
    settings = ServeSettings(model=model, runtime=runtime, threads=per_worker,
                             max_texts=max_texts, max_chars=max_chars,
                             max_body_bytes=max_body_bytes, batch_texts=batch_texts,
                             max_explanations=max_explanations,
                             max_explain_steps=max_explain_steps, http=http, **timeouts)
    console.print(f"serving {model} ({runtime}) on http://{host}:{port}/ — "
                  f"{workers} worker(s) × {per_worker} thread(s); Ctrl-C stops")
    run_server(settings, host, port, workers)


