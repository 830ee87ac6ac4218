"""uvicorn's h11 protocol with a deadline for a request's line and headers."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from seqlab.serving.rules import HEADER_TIMEOUT

HEADER_TIMEOUT_VARIABLE = "SEQLAB_HEADER_TIMEOUT"  # set by `seqlab serve` for its workers


class GuardedH11Protocol(H11Protocol):
    """Closes a connection whose request line and headers are still incomplete
    ``header_timeout`` seconds after the request's first byte (a slowloris client)."""

    _header_deadline: asyncio.TimerHandle | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = float(os.environ.get(HEADER_TIMEOUT_VARIABLE, HEADER_TIMEOUT))

    def data_received(self, data: bytes) -> None:
        if self._header_deadline is None and self.conn.their_state is h11.IDLE:
            self._header_deadline = self.loop.call_later(self.header_timeout, self._too_slow)
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._cancel_deadline()  # the headers are in

    def on_response_complete(self) -> None:
        self._cancel_deadline()
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_deadline()
        super().connection_lost(exc)

    def _cancel_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _too_slow(self) -> None:
        self._header_deadline = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()
