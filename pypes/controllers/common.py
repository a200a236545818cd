"""What every router shares: JSON responses, error mapping, auth and the engine handle."""

from __future__ import annotations

import asyncio
import hmac
import re
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import Future
from typing import Any

import orjson
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from pypes.errors import (
    BadInput,
    GraphError,
    NotFound,
    Overloaded,
    PypesError,
    StaleRevision,
    TooLarge,
    Unavailable,
)
from pypes.scheduler import Engine

STATUS = [  # most specific first
    (TooLarge, 413),
    (BadInput, 400),
    (GraphError, 422),
    (NotFound, 404),
    (StaleRevision, 409),
    (Overloaded, 429),
    (Unavailable, 503),
    (PypesError, 400),
]


class JSONResponse(Response):
    """A JSON response serialised with orjson."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        try:
            return orjson.dumps(content)
        except orjson.JSONEncodeError:  # a component set a non-string key or a non-JSON value
            return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS, default=repr)


def error_response(status: int, message: str, detail: Any = None,
                   headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message, "detail": detail}, status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Every error leaves as ``{"error", "detail"}`` with a 4xx; never a traceback."""

    @app.exception_handler(PypesError)
    async def pypes_error(request: Request, exc: PypesError) -> Response:
        status = next(code for cls, code in STATUS if isinstance(exc, cls))
        headers = None
        if isinstance(exc, Overloaded):
            headers = {"Retry-After": str(exc.retry_after)}
        elif isinstance(exc, Unavailable):
            headers = {"Retry-After": "5"}
        return error_response(status, exc.message, exc.detail, headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        problems = [
            {"field": ".".join(str(p) for p in e["loc"] if p != "body"), "message": e["msg"]}
            for e in exc.errors()
        ]
        summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        return error_response(422, f"invalid request: {summary}", problems)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 405:
            allowed = allowed_methods(request)
            return error_response(405, f"{request.method} is not allowed here; use "
                                  f"{', '.join(allowed)}", allowed, {"Allow": ", ".join(allowed)})
        return error_response(exc.status_code, str(exc.detail), None, exc.headers)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route takes on this request's path (FastAPI makes one route per
    method, so the router alone names only one of them)."""
    path = request.url.path
    methods: set[str] = set()
    for pattern, route_methods in request.app.state.route_methods:
        if pattern.match(path):
            methods |= route_methods
    return sorted(methods)


def route_methods(routes: list[BaseRoute]) -> list[tuple[re.Pattern[str], set[str]]]:
    """(path pattern, methods) of every route, for ``allowed_methods``."""
    return [(route.path_regex, set(route.methods or ())) for route in routes
            if isinstance(route, Route)]


def engine(request: Request) -> Engine:
    return request.app.state.engine


async def result(future: Future[Any]) -> Any:
    """Await an engine future from the web loop."""
    return await asyncio.wrap_future(future)


def if_match(request: Request) -> int | None:
    """The revision named by ``If-Match`` (``4`` or ``"4"``), if any."""
    value = request.headers.get("if-match")
    if value is None or value.strip() == "*":
        return None
    try:
        return int(value.strip().strip('W/').strip('"'))
    except ValueError:
        raise BadInput(f"If-Match must be a graph revision number, not {value!r}") from None


async def authorize(request: Request, scope: str) -> None:
    """Let the request through only with a token holding ``scope`` (``admin`` holds every
    scope): 401 without a valid token, 403 without the scope. With no tokens configured,
    the server is open."""
    tokens: dict[str, set[str]] = request.app.state.tokens
    if not tokens:
        return
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    scopes: set[str] | None = None
    if scheme.lower() == "bearer" and given:
        for token, token_scopes in tokens.items():
            if hmac.compare_digest(token.encode(), given.strip().encode()):
                scopes = token_scopes
    if scopes is None:
        raise HTTPException(401, "a valid bearer token is required",
                            headers={"WWW-Authenticate": "Bearer"})
    if scope not in scopes and "admin" not in scopes:
        raise HTTPException(403, f"this token lacks the {scope!r} scope")


def require(scope: str) -> Callable[..., Awaitable[None]]:
    """``authorize`` as a route dependency."""

    async def check(request: Request) -> None:
        await authorize(request, scope)

    return check


BOOLEAN = TypeAdapter(bool)


def query_flag(request: Request, name: str) -> bool:
    """A boolean query parameter read by hand (``true``/``false``, ``1``/``0``, ``yes``/``no``
    …), refused like one FastAPI reads: for routes on the hot path, where FastAPI's
    parameter machinery costs more than the rest of the request's framework work."""
    value = request.query_params.get(name)
    if value is None:
        return False
    try:
        return BOOLEAN.validate_python(value)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("query", name)} for e in exc.errors()]) from None


READ = Depends(require("read"))
INGEST = Depends(require("ingest"))
ADMIN = Depends(require("admin"))


async def read_body(request: Request) -> bytes:
    """The request body, refused with 413 as soon as it passes the configured limit."""
    limit = request.app.state.settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"body of {declared} bytes is larger than the limit of {limit} bytes")
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"body is larger than the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
