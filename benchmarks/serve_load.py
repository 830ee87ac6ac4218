"""Bounded HTTP load against `seqlab serve`, on 127.0.0.1.

    python benchmarks/serve_load.py MODEL [--requests 5000] [--concurrency 1 8 32]
        [--batch-texts 1 64] [--runtimes torch onnx] [--http auto] [--client raw]
        [--route predict|generate|complete|forecast] [--series FILE --target COLUMN]

MODEL is a run folder or bundle (e.g. the one `emotion_default.py --save` writes). The
script exports it to ONNX (when ``onnx`` is among ``--runtimes``), starts one server per
runtime, HTTP parser (``--http``: httptools, h11, auto) and ``--batch-texts`` (1: one
model call per request; more: waiting requests share a call) on a free loopback port,
sends ``--requests`` requests at each concurrency, and prints throughput, p50/p95/p99
latency and errors. Every load stops by itself: after its request count or
``--max-seconds``, whichever comes first. The requests (``--route``), cycled:

- ``predict``: one emotion test sentence each (a classifier);
- ``generate``: 100 characters after the start of a tiny-shakespeare line, temperature
  0.8, each request its own seed (a language model);
- ``complete``: the 3 likeliest ends of the word a line's first 15 characters stop in;
- ``forecast``: the ``--target`` column of ``--series`` up to 48 different ends, each
  request one history (a forecaster of that series).

The load generator shares the machine's cores with the server. ``--client raw`` (the
default) is a plain asyncio HTTP/1.1 client, one keep-alive connection per concurrent
client, on uvloop where it is installed: it leaves the server more of the cores than
``--client httpx`` does.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

from seqlab.data import read_labeled
from seqlab.tasks.classify.onnx_export import export_onnx

from _common import EMOTION, SHARED, machine_line, markdown_table, require


def predict_bodies(args: argparse.Namespace) -> list[dict]:
    return [{"text": text} for text in read_labeled(require(EMOTION / "test.txt")).texts]


def generate_bodies(args: argparse.Namespace) -> list[dict]:
    text = require(SHARED / "text" / "tinyshakespeare.txt").read_text()
    lines = [line for line in text.splitlines() if len(line) > 20][:1000]
    return [{"prompt": line[:20], "length": 100, "temperature": 0.8, "seed": i}
            for i, line in enumerate(lines)]


def complete_bodies(args: argparse.Namespace) -> list[dict]:
    return [{"prefix": body["prompt"][:15], "n": 3} for body in generate_bodies(args)]


def forecast_bodies(args: argparse.Namespace) -> list[dict]:
    if not args.series or not args.target:
        sys.exit("--route forecast needs --series FILE and --target COLUMN")
    y = pd.read_csv(args.series)[args.target].astype(float).tolist()
    return [{"history": y[:len(y) - cut]} for cut in range(48)]


BODIES = {"predict": predict_bodies, "generate": generate_bodies, "complete": complete_bodies,
          "forecast": forecast_bodies}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(model: str, runtime: str, workers: int, batch_texts: int,
                 http: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "seqlab.cli.main", "serve", model, "--runtime", runtime,
         "--port", str(port), "--workers", str(workers), "--batch-texts", str(batch_texts),
         *(["--http", http] if http != "auto" else [])],  # auto: the server's default
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.3)
    process.kill()
    sys.exit(f"the {runtime} server did not start")


def summary(latencies: list[float], errors: int, elapsed: float) -> dict[str, float]:
    ms = np.array(latencies) * 1000
    return {"requests": len(latencies), "errors": errors,
            "throughput req/s": len(latencies) / elapsed,
            "p50 ms": float(np.percentile(ms, 50)), "p95 ms": float(np.percentile(ms, 95)),
            "p99 ms": float(np.percentile(ms, 99))}


async def load_httpx(url: str, route: str, bodies: list[dict], requests: int,
                     concurrency: int, max_seconds: float) -> dict[str, float]:
    """The load sent with httpx's async client."""
    latencies: list[float] = []
    errors = 0
    counter = iter(range(requests))
    deadline = time.monotonic() + max_seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:

        async def worker() -> None:
            nonlocal errors
            for i in counter:
                if time.monotonic() > deadline:
                    return
                began = time.perf_counter()
                try:
                    response = await client.post(f"/{route}", json=bodies[i % len(bodies)])
                    ok = response.status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - began)
                errors += not ok

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    return summary(latencies, errors, elapsed)


def request_bytes(route: str, payload: dict) -> bytes:
    body = json.dumps(payload).encode()
    return (f"POST /{route} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode()
            + b"Content-Type: application/json\r\nContent-Length: "
            + str(len(body)).encode() + b"\r\n\r\n" + body)


async def read_response(reader: asyncio.StreamReader) -> int:
    """Read one response (Content-Length framed, as uvicorn sends JSON); its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    length = next(int(line.split(b":", 1)[1]) for line in lines
                  if line[:15].lower() == b"content-length:")
    await reader.readexactly(length)
    return int(lines[0].split(b" ", 2)[1])


async def load_raw(url: str, route: str, bodies: list[dict], requests: int,
                   concurrency: int, max_seconds: float) -> dict[str, float]:
    """The load sent over plain asyncio streams, one keep-alive connection per client."""
    host, port = url.removeprefix("http://").split(":")
    encoded = [request_bytes(route, body) for body in bodies]
    latencies: list[float] = []
    errors = 0
    counter = iter(range(requests))
    deadline = time.monotonic() + max_seconds

    async def worker() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            for i in counter:
                if time.monotonic() > deadline:
                    return
                began = time.perf_counter()
                try:
                    writer.write(encoded[i % len(encoded)])
                    ok = await asyncio.wait_for(read_response(reader), 30) == 200
                except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError):
                    ok = False
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, int(port))
                latencies.append(time.perf_counter() - began)
                errors += not ok
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return summary(latencies, errors, time.perf_counter() - began)


CLIENTS = {"raw": load_raw, "httpx": load_httpx}


def run_load(client: str, *args: object) -> dict[str, float]:
    """One load, on uvloop where it is installed (the raw client)."""
    coroutine = CLIENTS[client](*args)
    if client == "raw" and importlib.util.find_spec("uvloop") is not None:
        import uvloop

        return uvloop.run(coroutine)
    return asyncio.run(coroutine)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--max-seconds", type=float, default=180)
    parser.add_argument("--batch-texts", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--runtimes", nargs="+", default=["torch", "onnx"],
                        choices=["torch", "onnx"])
    parser.add_argument("--http", nargs="+", default=["auto"],
                        choices=["auto", "httptools", "h11"])
    parser.add_argument("--client", default="raw", choices=sorted(CLIENTS))
    parser.add_argument("--route", default="predict", choices=sorted(BODIES))
    parser.add_argument("--series", help="--route forecast: the series' CSV file")
    parser.add_argument("--target", help="--route forecast: its target column")
    args = parser.parse_args()
    if args.route != "predict" and "onnx" in args.runtimes:
        sys.exit(f"--route {args.route} is served by the torch runtime: give --runtimes torch")
    bodies = BODIES[args.route](args)
    model = Path(args.model)
    served = {"torch": str(model)}
    if "onnx" in args.runtimes:
        onnx_dir = (model if model.is_dir() else model.parent) / "onnx"
        export_onnx(model, onnx_dir)
        served["onnx"] = str(onnx_dir)

    rows = []
    for runtime in args.runtimes:
        for http in args.http:
            for batch_texts in args.batch_texts:
                process, url = start_server(served[runtime], runtime, args.workers,
                                            batch_texts, http)
                try:
                    for concurrency in args.concurrency:
                        result = run_load(args.client, url, args.route, bodies,
                                          args.requests, concurrency, args.max_seconds)
                        rows.append({"runtime": runtime, "http": http,
                                     "batch texts": batch_texts,
                                     "concurrency": concurrency, **result})
                        print(rows[-1], flush=True)
                finally:
                    process.terminate()
                    process.wait(timeout=30)
    first = rows[0]
    reference: dict[int, float] = {}  # the first row of the first setting, per concurrency
    for r in rows:
        if (r["runtime"], r["http"], r["batch texts"]) == \
                (first["runtime"], first["http"], first["batch texts"]):
            reference.setdefault(r["concurrency"], r["throughput req/s"])
    name = f"throughput × {first['runtime']}, {first['http']}, batch {first['batch texts']}"
    for row in rows:
        row[name] = f"{row['throughput req/s'] / reference[row['concurrency']]:.2f}"
    print(f"\nmachine: {machine_line()}; server workers: {args.workers}; "
          f"client: {args.client}; route: /{args.route}; model: {args.model}\n")
    print(markdown_table(rows))


if __name__ == "__main__":
    main()
