"""The rules every seqlab server app follows, whatever the task.

- Every answer that is not a success is JSON: ``{"error": "…", …}`` with a status. A
  malformed body is 422 naming the field, a body that is not JSON (bad UTF-8, nesting or
  numbers past what the parser takes) is 422, a limit is 413, a slow client 408, and any
  other failure is 500 with the exception's type only: never a traceback, never an HTML
  page. The server keeps running.
- A body is read whole before the app sees it, counted as it arrives: over
  ``max_body_bytes`` is 413 whether or not the client declared a Content-Length, and a
  body that takes longer than ``body_timeout`` seconds to arrive is 408.
- A client that has not sent its request line and headers within ``header_timeout``
  seconds of its first byte is disconnected
  (:class:`seqlab.serving.protocol.GuardedH11Protocol`); an idle keep-alive connection is
  closed after ``KEEP_ALIVE_TIMEOUT`` seconds.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from seqlab.errors import SeqlabError

HEADER_TIMEOUT = 10.0
BODY_TIMEOUT = 30.0
KEEP_ALIVE_TIMEOUT = 5.0


def refuse(status: int, message: str, **extra: Any) -> JSONResponse:
    """The JSON every refusal answers with: ``{"error": message, …}``."""
    return JSONResponse({"error": message, **extra}, status_code=status)


def _field(problem: dict[str, Any]) -> str:
    """The dotted field a validation problem is about (``texts.1``), or ``body``."""
    return ".".join(str(p) for p in problem["loc"] if p != "body") or "body"


def request_problems(err: RequestValidationError) -> str:
    """``field: message`` for the first three problems of a malformed request body."""
    return "; ".join(f"{_field(e)}: {e['msg'].removeprefix('Value error, ')}"
                     for e in err.errors()[:3])


def add_error_rules(app: FastAPI, example: str) -> FastAPI:
    """Give ``app`` the JSON error handlers; ``example`` is a valid body, for messages."""
    not_json = f"invalid request: the body is not valid JSON; send {example}"

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, err: RequestValidationError) -> JSONResponse:
        if any(e["type"] == "json_invalid" for e in err.errors()):
            return refuse(422, not_json, fields=["body"])
        return refuse(422, "invalid request: " + request_problems(err),
                      fields=[_field(e) for e in err.errors()])

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, err: HTTPException) -> JSONResponse:
        if err.status_code == 400:  # FastAPI's "There was an error parsing the body"
            return refuse(422, not_json, fields=["body"])
        return refuse(err.status_code, str(err.detail))

    @app.exception_handler(SeqlabError)
    async def unusable(_: Request, err: SeqlabError) -> JSONResponse:
        return refuse(422, str(err))

    @app.exception_handler(Exception)
    async def failed(_: Request, err: Exception) -> JSONResponse:
        return refuse(500, f"the model failed on this request ({type(err).__name__}); "
                           "the server is still running")

    return app


class BodyLimit:
    """ASGI middleware: the body is read whole first; 413 past ``max_bytes`` (declared or
    streamed), 408 when it takes longer than ``timeout`` seconds to arrive."""

    def __init__(self, app: Any, max_bytes: int, timeout: float = BODY_TIMEOUT) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(scope, receive, send)
            return
        chunks: list[bytes] = []
        received = 0
        try:
            async with asyncio.timeout(self.timeout):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return
                    chunks.append(message.get("body", b""))
                    received += len(chunks[-1])
                    if received > self.max_bytes:
                        await self._too_large(scope, receive, send)
                        return
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            await refuse(408, f"the request body did not arrive within {self.timeout:g} "
                              "seconds")(scope, receive, send)
            return
        body = b"".join(chunks)
        delivered = False

        async def replay() -> dict:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, scope: dict, receive: Any, send: Any) -> None:
        response = refuse(413, f"request body over {self.max_bytes} bytes; send fewer or "
                               "shorter texts per request", limit=self.max_bytes)
        await response(scope, receive, send)
