"""Shared fixtures: tiny data written per test, the shipped sample, fast model settings."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path

import pytest

from seqlab.data.readers import read_labeled
from seqlab.tasks.seq2seq.pairs import Pairs

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SEQLAB_SHARED_DATA", REPO.parent / "shared" / "data"))
SAMPLE = Path(str(files("seqlab") / "samples" / "emotion_sample.txt"))

# Small and quick: enough to learn the sample, seconds per fit.
TINY = dict(embedding_dim=16, hidden_size=16, batch_size=16, max_epochs=4, patience=10,
            lr=0.01, threads=1, precision="float32")  # the same numbers on every CPU
# An encoder–decoder trained in a second or two (on ``reversed_words``).
SEQ2SEQ_QUICK = {"model.hidden_size": 16, "model.embedding_dim": 8,
                 "training.max_epochs": 2, "training.batch_size": 32, "training.threads": 1,
                 "training.val_pairs": 20, "ablation": False}


def reversed_words(count: int, seed: int) -> Pairs:
    """``count`` pairs of 2–6 letters and the same letters in reverse order."""
    rng = random.Random(seed)
    sources = [" ".join(rng.choice("abcdef") for _ in range(rng.randint(2, 6)))
               for _ in range(count)]
    return Pairs(sources, [" ".join(s.split()[::-1]) for s in sources], "reverse")


@pytest.fixture(scope="session")
def sample():
    """The 300-sentence, six-emotion sample that ships with seqlab."""
    return read_labeled(SAMPLE)


@pytest.fixture
def toy_texts():
    """A two-class toy problem a recurrent model learns in a few epochs."""
    good = ["i love this", "what a great day", "so happy now", "great and lovely",
            "i am happy", "lovely great fun", "happy happy day", "this is great"]
    bad = ["i hate this", "what an awful day", "so sad now", "awful and horrid",
           "i am sad", "horrid awful mess", "sad sad day", "this is awful"]
    texts = (good + bad) * 3
    labels = (["pos"] * len(good) + ["neg"] * len(bad)) * 3
    return texts, labels


def write_lines(path: Path, rows: list[tuple[str, str]], sep: str = ";") -> Path:
    path.write_text("".join(f"{t}{sep}{label}\n" for t, label in rows), encoding="utf-8")
    return path


def emotion_dir() -> Path:
    path = SHARED_DATA / "emotion"
    if not (path / "train.txt").exists():
        pytest.skip(f"real data not found at {path} (set SEQLAB_SHARED_DATA); skipping")
    return path


class StopAfter:
    """Callbacks that interrupt training like Ctrl-C in the middle of an epoch."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_train_start(self, *args):
        pass

    def on_batch_end(self, epoch, batch, loss):
        if epoch == self.epoch and batch == 1:
            raise KeyboardInterrupt

    def on_epoch_end(self, record):
        pass


@contextmanager
def running_server(model: Path, *options: str) -> Iterator[str]:
    """``seqlab serve MODEL OPTIONS`` on a free loopback port, until its ``/health``
    answers; yields the base URL and stops the server afterwards."""
    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "seqlab.cli.main", "serve", str(model),
                                "--port", str(port), *options],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.3)
    else:
        process.kill()
        pytest.fail(f"server did not start: {process.stderr.read().decode()[-2000:]}")
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


def post_together(app, route: str, bodies: list[dict]) -> list:
    """The ASGI app's responses to ``bodies`` all posted to ``route`` at once (the server's
    batcher sees them waiting together)."""
    import asyncio

    import httpx

    async def all_of_them() -> list:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await asyncio.gather(*(client.post(route, json=body) for body in bodies))

    return asyncio.run(all_of_them())
