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


class FailsOnBad(SlowModel):
    """``SlowModel`` that fails any call holding the text ``bad``."""

    def __call__(self, texts: list[str]) -> np.ndarray:
        rows = super().__call__([t if t != "bad" else "0-0" for t in texts])
        if "bad" in texts:
            raise ValueError("broken text")
        return rows


def test_a_failing_request_gets_its_own_error_and_the_others_their_rows():
    model = FailsOnBad()
    batch = Batcher(model, 64, threading.Lock())
    requests = [["1-1"], ["bad"], ["2-2", "3-3"], ["4-4"]] * 4
    with ThreadPoolExecutor(16) as pool:
        futures = [pool.submit(batch, texts) for texts in requests]
        for texts, future in zip(requests, futures, strict=True):
            if texts == ["bad"]:
                with pytest.raises(ValueError, match="broken text"):
                    future.result()
            else:
                assert future.result().tolist() == rows_of(texts).tolist()
    assert max(model.calls) > 1  # requests did share calls
    assert batch(["5-5", "6-6"]).tolist() == rows_of(["5-5", "6-6"]).tolist()


def test_only_requests_with_the_same_options_share_a_call():
    calls: list[tuple[int, int]] = []

    def scaled(texts: list[str], scale: int) -> list[float]:
        calls.append((len(texts), scale))
        time.sleep(0.02)
        return [float(t) * scale for t in texts]

    batch = Batcher(scaled, 64, threading.Lock())
    requests = [([str(i), str(i + 1)], 1 + i % 3) for i in range(30)]

    async def all_of_them() -> list:
        return await asyncio.gather(*(batch.run(texts, scale=scale)
                                      for texts, scale in requests))

    answers = asyncio.run(all_of_them())
    for (texts, scale), rows in zip(requests, answers, strict=True):
        assert rows == [float(t) * scale for t in texts]
    assert sum(size for size, _ in calls) == 60
    assert len(calls) < len(requests)  # requests with equal options shared calls
    for scale in (1, 2, 3):  # a call per scale at least, none mixing them (the rows say so)
        assert any(s == scale for _, s in calls)


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


def test_an_awaited_request_gets_its_own_error_and_lists_are_rows():
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

    requests = (["a"], ["bad"], ["b", "c"]) * 3

    async def all_of_them() -> list:
        return await asyncio.gather(*(one(t) for t in requests))

    outcomes = asyncio.run(all_of_them())
    for texts, outcome in zip(requests, outcomes, strict=True):
        assert outcome == ("broken text" if texts == ["bad"] else [t.upper() for t in texts])
    assert asyncio.run(batch.run(["x", "y"])) == ["X", "Y"]  # the next batch runs
