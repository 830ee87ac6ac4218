"""Requests predicted together: the texts of the requests waiting while the model is busy
go through it in one call, so throughput under load is not capped at one model call per
request, and a request that finds the model free waits for nothing.

One thread per server process runs the model; request handlers hand it their texts and
wait for their rows: an ``async`` route awaits them (:meth:`Batcher.run`, which holds no
thread while it waits), other code blocks (calling the batcher). A batch holds at most
``max_texts`` texts (a larger request runs alone); ``max_texts`` = 1 gives one model
call per request. ``predict`` returns one row per text: an array's rows or a list's
items.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

Predict = Callable[[list[str]], Sequence[Any]]


@dataclass
class _Request:
    texts: list[str]
    done: threading.Event = field(default_factory=threading.Event)
    rows: Sequence[Any] | None = None
    error: BaseException | None = None
    future: asyncio.Future | None = None  # set for a request awaited on an event loop

    def finish(self) -> None:
        """Wake whoever waits for this request's rows (or error)."""
        self.done.set()
        if self.future is not None:
            # a closed loop (the server is stopping) has no one left to wake
            with contextlib.suppress(RuntimeError):
                self.future.get_loop().call_soon_threadsafe(self._resolve)

    def _resolve(self) -> None:
        assert self.future is not None
        if self.future.cancelled():  # the client went away
            return
        if self.error is not None:
            self.future.set_exception(self.error)
        else:
            self.future.set_result(self.rows)


class Batcher:
    """Calls ``predict`` on the texts of waiting requests together (rows in order)."""

    def __init__(self, predict: Predict, max_texts: int, lock: threading.Lock) -> None:
        self.predict = predict
        self.max_texts = max_texts
        self.lock = lock  # the app's inference lock: one model call at a time
        self._waiting: queue.Queue[_Request] = queue.Queue()
        self._started = threading.Lock()
        self._thread: threading.Thread | None = None

    def __call__(self, texts: list[str]) -> Sequence[Any]:
        """The rows of ``predict(texts)``, computed with whatever else is waiting (this
        thread blocks until they are ready)."""
        if self.max_texts <= 1:
            return self._alone(texts)
        request = self._submit(_Request(list(texts)))
        request.done.wait()
        if request.error is not None:
            raise request.error
        assert request.rows is not None
        return request.rows

    async def run(self, texts: list[str]) -> Sequence[Any]:
        """The same, awaited: the event loop serves other requests meanwhile."""
        if self.max_texts <= 1:
            return await asyncio.to_thread(self._alone, texts)
        request = _Request(list(texts), future=asyncio.get_running_loop().create_future())
        self._submit(request)
        assert request.future is not None
        return await request.future

    def _alone(self, texts: list[str]) -> Sequence[Any]:
        with self.lock:
            return self.predict(texts)

    def _submit(self, request: _Request) -> _Request:
        with self._started:  # started in the worker process, on its first request
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="seqlab-batcher",
                                                daemon=True)
                self._thread.start()
        self._waiting.put(request)
        return request

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
                request.finish()
