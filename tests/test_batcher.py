"""The server's batcher: requests that wait while the model is busy share one call, and
every request gets exactly its own rows, in order."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from seqlab.serving.batcher import Batcher


def rows_of(texts: list[str]) -> np.ndarray:
    """Rows that identify their text."""
    return np.array([[float(t.split("-")[0]), float(t.split("-")[1])] for t in texts])


class SlowModel:
    """``rows_of``, slowly; records the size of every call."""

    def __init__(self, seconds: float = 0.02) -> None:
        self.seconds = seconds
        self.calls: list[int] = []

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.calls.append(len(texts))
        time.sleep(self.seconds)
        return rows_of(texts)


def _requests(n: int) -> list[list[str]]:
    return [[f"{i}-{j}" for j in range(1 + i % 3)] for i in range(n)]


@pytest.mark.parametrize("max_texts", [1, 4, 64])
def test_every_request_gets_its_own_rows(max_texts):
    model = SlowModel()
    batch = Batcher(model, max_texts, threading.Lock())
    requests = _requests(60)
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(batch, requests))
    for texts, rows in zip(requests, answers, strict=True):
        assert rows.tolist() == rows_of(texts).tolist()  # as if it ran alone
    served = model.calls
    assert sum(served) == sum(len(t) for t in requests)
    if max_texts == 1:
        assert len(served) == len(requests)
    else:
        assert len(served) < len(requests)  # waiting requests shared calls
        assert max(served) <= max(max_texts, 3)


def test_an_error_reaches_every_request_of_its_batch_and_the_next_batch_runs():
    def failing(texts: list[str]) -> np.ndarray:
        time.sleep(0.02)
        if any(t == "bad" for t in texts):
            raise ValueError("broken text")
        return np.zeros((len(texts), 1))

    batch = Batcher(failing, 64, threading.Lock())
    with ThreadPoolExecutor(4) as pool:
        results = [pool.submit(batch, [text]) for text in ("ok", "bad", "ok", "ok")]
        outcomes = []
        for future in results:
            try:
                outcomes.append(future.result().shape)
            except ValueError as err:
                outcomes.append(str(err))
    assert "broken text" in outcomes
    assert batch(["ok", "ok"]).shape == (2, 1)


@pytest.mark.parametrize("max_texts", [1, 4, 64])
def test_awaited_requests_get_their_own_rows(max_texts):
    """The async entry: many requests awaited at once on one event loop each get exactly
    their rows, and (but for max_texts 1) they share calls."""
    model = SlowModel()
    batch = Batcher(model, max_texts, threading.Lock())
    requests = _requests(60)

    async def all_of_them() -> list:
        return await asyncio.gather(*(batch.run(texts) for texts in requests))

    answers = asyncio.run(all_of_them())
    for texts, rows in zip(requests, answers, strict=True):
        assert rows.tolist() == rows_of(texts).tolist()
    assert sum(model.calls) == sum(len(t) for t in requests)
    assert (len(model.calls) == len(requests)) == (max_texts == 1)


def test_an_awaited_request_gets_its_batch_error_and_lists_are_rows():
    def failing(texts: list[str]) -> list[str]:
        time.sleep(0.02)
        if "bad" in texts:
            raise ValueError("broken text")
        return [text.upper() for text in texts]

    batch = Batcher(failing, 64, threading.Lock())

    async def one(texts: list[str]) -> object:
        try:
            return await batch.run(texts)
        except ValueError as err:
            return str(err)

    async def all_of_them() -> list:
        return await asyncio.gather(*(one(t) for t in (["a"], ["bad"], ["b", "c"])))

    outcomes = asyncio.run(all_of_them())
    assert "broken text" in outcomes  # the batch that held "bad" failed, whole
    for texts, outcome in zip((["a"], ["bad"], ["b", "c"]), outcomes, strict=True):
        assert outcome in ("broken text", [t.upper() for t in texts])
    assert asyncio.run(batch.run(["x", "y"])) == ["X", "Y"]  # the next batch runs
