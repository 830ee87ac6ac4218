"""Requests predicted together: the texts of the requests waiting while the model is busy
go through it in one call, so throughput under load is not capped at one model call per
request, and a request that finds the model free waits for nothing.

One thread per server process runs the model; request handlers hand it their texts and
wait for their rows. A batch holds at most ``max_texts`` texts (a larger request runs
alone); ``max_texts`` = 1 gives one model call per request.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

Predict = Callable[[list[str]], np.ndarray]


@dataclass
class _Request:
    texts: list[str]
    done: threading.Event = field(default_factory=threading.Event)
    rows: np.ndarray | None = None
    error: BaseException | None = None


class Batcher:
    """Calls ``predict`` on the texts of waiting requests together (rows in order)."""

    def __init__(self, predict: Predict, max_texts: int, lock: threading.Lock) -> None:
        self.predict = predict
        self.max_texts = max_texts
        self.lock = lock  # the app's inference lock: one model call at a time
        self._waiting: queue.Queue[_Request] = queue.Queue()
        self._started = threading.Lock()
        self._thread: threading.Thread | None = None

    def __call__(self, texts: list[str]) -> np.ndarray:
        """The rows of ``predict(texts)``, computed with whatever else is waiting."""
        if self.max_texts <= 1:
            with self.lock:
                return self.predict(texts)
        self._start()
        request = _Request(list(texts))
        self._waiting.put(request)
        request.done.wait()
        if request.error is not None:
            raise request.error
        assert request.rows is not None
        return request.rows

    def _start(self) -> None:
        with self._started:  # started in the worker process, on its first request
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="seqlab-batcher",
                                                daemon=True)
                self._thread.start()

    def _run(self) -> None:
        carried: _Request | None = None
        while True:
            batch = [carried or self._waiting.get()]
            carried = None
            size = len(batch[0].texts)
            while size < self.max_texts:
                try:
                    request = self._waiting.get_nowait()
                except queue.Empty:
                    break
                if size + len(request.texts) > self.max_texts:
                    carried = request  # it opens the next batch
                    break
                batch.append(request)
                size += len(request.texts)
            self._answer(batch)

    def _answer(self, batch: list[_Request]) -> None:
        try:
            with self.lock:
                rows = self.predict([text for request in batch for text in request.texts])
            start = 0
            for request in batch:
                request.rows = rows[start:start + len(request.texts)]
                start += len(request.texts)
        except BaseException as err:  # every request of the batch gets the error
            for request in batch:
                request.error = err
        finally:
            for request in batch:
                request.done.set()
