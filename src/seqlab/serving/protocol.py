"""uvicorn's HTTP protocols with a deadline for a request's line and headers.

``seqlab serve`` parses HTTP with ``httptools`` (C, the faster) where it is installed, as
it is with seqlab's ``serve`` extra, and with ``h11`` (pure Python) otherwise; ``--http``
chooses. Either way a client that has not sent its request line and headers within
``header_timeout`` seconds of its first incomplete read is disconnected (a slowloris
client).
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from seqlab.errors import ConfigError
from seqlab.serving.rules import HEADER_TIMEOUT

HEADER_TIMEOUT_VARIABLE = "SEQLAB_HEADER_TIMEOUT"  # set by `seqlab serve` for its workers
HTTP_PARSERS = ("auto", "httptools", "h11")


class HeaderDeadline:
    """The deadline both protocols share: armed when a read leaves a request begun but its
    headers incomplete, cancelled when they are in, the response is sent or the
    connection is lost; when it passes with the headers still incomplete, the connection
    is closed."""

    _header_deadline: asyncio.TimerHandle | None = None
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport

    def _read_header_timeout(self) -> None:
        self.header_timeout = float(os.environ.get(HEADER_TIMEOUT_VARIABLE, HEADER_TIMEOUT))

    def _reading_headers(self) -> bool:
        raise NotImplementedError

    def _arm_deadline(self) -> None:
        if self._header_deadline is None:
            self._header_deadline = self.loop.call_later(self.header_timeout, self._too_slow)

    def _cancel_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _too_slow(self) -> None:
        self._header_deadline = None
        if self._reading_headers() and not self.transport.is_closing():
            self.transport.close()


class GuardedH11Protocol(HeaderDeadline, H11Protocol):
    """uvicorn's h11 protocol with the header deadline."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_header_timeout()

    def _reading_headers(self) -> bool:
        return self.conn.their_state is h11.IDLE

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._reading_headers():  # a request began and its headers are not all in
            self._arm_deadline()
        else:
            self._cancel_deadline()

    def on_response_complete(self) -> None:
        self._cancel_deadline()
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_deadline()
        super().connection_lost(exc)


def http_protocol(parser: str = "auto") -> type:
    """The guarded protocol class for ``parser``: ``httptools``, ``h11``, or ``auto``
    (httptools where it is installed, else h11)."""
    if parser not in HTTP_PARSERS:
        raise ConfigError(f"--http {parser!r} is not one of: {', '.join(HTTP_PARSERS)}")
    has_httptools = importlib.util.find_spec("httptools") is not None
    if parser == "httptools" and not has_httptools:
        raise ConfigError("--http httptools needs the httptools package: "
                          "pip install 'seqlab[serve]' (or pip install httptools), or "
                          "give --http h11")
    if parser == "h11" or not has_httptools:
        return GuardedH11Protocol
    from seqlab.serving.protocol_httptools import GuardedHttpToolsProtocol

    return GuardedHttpToolsProtocol
