"""Bounded HTTP load against `seqlab serve`, PyTorch vs ONNX runtime, on 127.0.0.1.

    python benchmarks/serve_load.py MODEL [--requests 5000] [--concurrency 1 8 32]
                                          [--batch-texts 1 64]

MODEL is a run folder or bundle (e.g. the one `emotion_default.py --save` writes). The
script exports it to ONNX, starts one server per runtime and ``--batch-texts`` (1: one
model call per request; more: waiting requests share a call) on a free loopback port, sends
``--requests`` single-text POST /predict requests (emotion test sentences, cycled) at
each concurrency, and prints throughput, p50/p95/p99 latency and errors. Every load
stops by itself: after its request count or ``--max-seconds``, whichever comes first.
The load generator shares the machine's cores with the server.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np

from seqlab.data import read_labeled
from seqlab.tasks.classify.onnx_export import export_onnx

from _common import EMOTION, machine_line, markdown_table, require


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(model: str, runtime: str, workers: int,
                 batch_texts: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "seqlab.cli.main", "serve", model, "--runtime", runtime,
         "--port", str(port), "--workers", str(workers), "--batch-texts", str(batch_texts)],
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


async def load(url: str, texts: list[str], requests: int, concurrency: int,
               max_seconds: float) -> dict[str, float]:
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
                    response = await client.post("/predict", json={"text": texts[i % len(texts)]})
                    ok = response.status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - began)
                errors += not ok

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    ms = np.array(latencies) * 1000
    return {"requests": len(latencies), "errors": errors,
            "throughput req/s": len(latencies) / elapsed,
            "p50 ms": float(np.percentile(ms, 50)), "p95 ms": float(np.percentile(ms, 95)),
            "p99 ms": float(np.percentile(ms, 99))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--max-seconds", type=float, default=180)
    parser.add_argument("--batch-texts", type=int, nargs="+", default=[1, 64])
    args = parser.parse_args()
    texts = read_labeled(require(EMOTION / "test.txt")).texts
    model = Path(args.model)
    onnx_dir = (model if model.is_dir() else model.parent) / "onnx"
    export_onnx(model, onnx_dir)

    rows = []
    for runtime, served in (("torch", str(model)), ("onnx", str(onnx_dir))):
        for batch_texts in args.batch_texts:
            process, url = start_server(served, runtime, args.workers, batch_texts)
            try:
                for concurrency in args.concurrency:
                    result = asyncio.run(load(url, texts, args.requests, concurrency,
                                              args.max_seconds))
                    rows.append({"runtime": runtime, "batch texts": batch_texts,
                                 "concurrency": concurrency, **result})
                    print(rows[-1], flush=True)
            finally:
                process.terminate()
                process.wait(timeout=30)
    first = {r["concurrency"]: r["throughput req/s"] for r in rows
             if r["runtime"] == "torch" and r["batch texts"] == args.batch_texts[0]}
    for row in rows:
        row[f"throughput × torch, batch {args.batch_texts[0]}"] = \
            f"{row['throughput req/s'] / first[row['concurrency']]:.2f}"
    print(f"\nmachine: {machine_line()}; server workers: {args.workers}; model: {args.model}\n")
    print(markdown_table(rows))


if __name__ == "__main__":
    main()
