"""Requests predicted together: the items (texts; a forecast's series; a prompt and its
seed) of the requests waiting while the model is busy go through it in one call, so
throughput under load is not capped at one model call per request, and a request that
finds the model free waits for nothing.

One thread per server process runs the model; request handlers hand it their items and
wait for their rows: an ``async`` route awaits them (:meth:`Batcher.run`, which holds no
thread while it waits), other code blocks (calling the batcher). A batch holds at most
``max_items`` items (a larger request runs alone); ``max_items`` = 1 gives one model
call per request. ``predict`` returns one row per item: an array's rows or a list's
elements.

A request may carry keyword options for ``predict`` (a beam width, say): only requests
with equal options share a call, and the others wait for the next one, in their order.
When a shared call fails, each of its requests is run again alone, so a bad request gets
its own error and the others their rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

Predict = Callable[..., Sequence[Any]]  # predict(items, **options) → one row per item


@dataclass
class _Request:
    items: list[Any]
    options: tuple[tuple[str, Hashable], ...] = ()  # sorted keyword options for predict
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


class _Batch:
    """Requests with the options of the first, up to ``max_items`` items in all."""

    def __init__(self, first: _Request, max_items: int) -> None:
        self.requests = [first]
        self.max_items = max_items
        self.size = len(first.items)
        self.full = self.size >= max_items  # no later request may join (order is kept)

    def take(self, request: _Request) -> bool:
        """Add ``request`` if it has the batch's options and fits."""
        if self.full or request.options != self.requests[0].options:
            return False
        if self.size + len(request.items) > self.max_items:
            self.full = True
            return False
        self.requests.append(request)
        self.size += len(request.items)
        self.full = self.size >= self.max_items
        return True


def _options(options: dict[str, Hashable]) -> tuple[tuple[str, Hashable], ...]:
    return tuple(sorted(options.items()))


class Batcher:
    """Calls ``predict`` on the items of waiting requests together (rows in order)."""

    def __init__(self, predict: Predict, max_items: int, lock: threading.Lock) -> None:
        self.predict = predict
        self.max_items = max_items
        self.lock = lock  # the app's inference lock: one model call at a time
        self._waiting: queue.Queue[_Request] = queue.Queue()
        self._started = threading.Lock()
        self._thread: threading.Thread | None = None

    def __call__(self, items: list[Any], **options: Hashable) -> Sequence[Any]:
        """The rows of ``predict(items, **options)``, computed with whatever else is
        waiting with the same options (this thread blocks until they are ready)."""
        if self.max_items <= 1:
            return self._alone(items, options)
        request = self._submit(_Request(list(items), _options(options)))
        request.done.wait()
        if request.error is not None:
            raise request.error
        assert request.rows is not None
        return request.rows

    async def run(self, items: list[Any], **options: Hashable) -> Sequence[Any]:
        """The same, awaited: the event loop serves other requests meanwhile."""
        if self.max_items <= 1:
            return await asyncio.to_thread(self._alone, items, options)
        request = _Request(list(items), _options(options),
                           future=asyncio.get_running_loop().create_future())
        self._submit(request)
        assert request.future is not None
        return await request.future

    def _alone(self, items: list[Any], options: dict[str, Hashable]) -> Sequence[Any]:
        with self.lock:
            return self.predict(items, **options)

    def _submit(self, request: _Request) -> _Request:
        with self._started:  # started in the worker process, on its first request
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="seqlab-batcher",
                                                daemon=True)
                self._thread.start()
        self._waiting.put(request)
        return request

    def _run(self) -> None:
        held: deque[_Request] = deque()  # taken from the queue, left for a later batch
        while True:
            batch = _Batch(held.popleft() if held else self._waiting.get(), self.max_items)
            later: deque[_Request] = deque()
            for request in held:  # the held requests first, in their order
                if not batch.take(request):
                    later.append(request)
            while not batch.full:
                try:
                    request = self._waiting.get_nowait()
                except queue.Empty:
                    break
                if not batch.take(request):
                    later.append(request)  # other options, or too many items
            held = later
            self._answer(batch.requests)

    def _answer(self, batch: list[_Request]) -> None:
        try:
            with self.lock:
                rows = self.predict([item for request in batch for item in request.items],
                                    **dict(batch[0].options))
        except BaseException as err:
            if len(batch) > 1:  # each alone: the failing request gets its own error
                for request in batch:
                    self._answer([request])
                return
            batch[0].error = err
        else:
            start = 0
            for request in batch:
                request.rows = rows[start:start + len(request.items)]
                start += len(request.items)
        for request in batch:
            request.finish()
