"""uvicorn's httptools protocol with the header deadline of :mod:`seqlab.serving.protocol`
(a module of its own because it imports httptools, which may be absent; at module level
so that ``--workers`` processes can load it by name)."""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from seqlab.serving.protocol import HeaderDeadline


class GuardedHttpToolsProtocol(HeaderDeadline, HttpToolsProtocol):
    """The parser reports a request's first byte (``on_message_begin``) and the end of its
    headers (``on_headers_complete``); the deadline is armed only when a read ends
    between the two, so a request that arrives whole costs no timer."""

    _in_headers = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_header_timeout()

    def _reading_headers(self) -> bool:
        return self._in_headers

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._in_headers:  # a request began and its headers are not all in
            self._arm_deadline()

    def on_message_begin(self) -> None:
        self._in_headers = True
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self._in_headers = False
        self._cancel_deadline()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_deadline()
        super().connection_lost(exc)
