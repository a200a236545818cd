"""The master's HTTP calls to a worker (httpx.AsyncClient); the rules live in protocol.py.

Every call carries the worker's own token. Errors come out as ``WorkerError``: ``status``
is the worker's HTTP status (``None`` when it could not be reached at all) and the message
is the worker's own ``{"error"}`` text.
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from pypes.cloud.protocol import Answer, ProtocolError, decode_answer, error_message

BATCH_TIMEOUT = httpx.Timeout(connect=5.0, read=600.0, write=60.0, pool=None)
CALL_TIMEOUT = httpx.Timeout(30.0, pool=None)


class WorkerError(Exception):
    """A call to a worker failed; ``status`` is ``None`` for a transport failure."""

    def __init__(self, message: str, status: int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after = retry_after


def make_http() -> httpx.AsyncClient:
    """One connection pool per composite, shared by its workers."""
    return httpx.AsyncClient(
        timeout=CALL_TIMEOUT,
        limits=httpx.Limits(max_connections=256, max_keepalive_connections=64),
        trust_env=False,
    )


class WorkerClient:
    """The calls the master makes to one worker at ``url`` with ``token``."""

    def __init__(self, http: httpx.AsyncClient, url: str, token: str) -> None:
        self.http = http
        self.url = url.rstrip("/")
        self.auth = {"Authorization": f"Bearer {token}"}

    async def _call(self, method: str, path: str, *, content: bytes | None = None,
                    headers: dict[str, str] | None = None, params: dict[str, Any] | None = None,
                    timeout: httpx.Timeout = CALL_TIMEOUT) -> httpx.Response:
        try:
            response = await self.http.request(
                method, self.url + path, content=content, params=params,
                headers={**self.auth, **(headers or {})}, timeout=timeout)
        except httpx.HTTPError as exc:
            raise WorkerError(f"{method} {path}: {type(exc).__name__}: {exc}") from None
        if response.status_code >= 400:
            retry = response.headers.get("retry-after")
            raise WorkerError(error_message(response.status_code, response.content),
                              response.status_code,
                              float(retry) if retry and retry.isdigit() else None)
        return response

    async def put_graph(self, graph: dict[str, Any]) -> None:
        """Install the subgraph (the worker checks it: 422 names what it refuses)."""
        await self._call("PUT", "/graph", content=orjson.dumps(graph),
                         headers={"Content-Type": "application/json"})

    async def post_batch(self, body: bytes, headers: dict[str, str], posted: int) -> Answer:
        """Send one batch of ``posted`` documents and wait for its results, changes to the
        posted documents coming back as changes (``POST /docs?wait=true&delta=true``)."""
        response = await self._call("POST", "/docs", content=body, headers=headers,
                                    params={"wait": "true", "delta": "true"},
                                    timeout=BATCH_TIMEOUT)
        try:
            return decode_answer(response.content, posted)
        except ProtocolError as exc:
            raise WorkerError(str(exc), response.status_code) from None

    async def acknowledge(self, collect: str, upto: int) -> None:
        """Free the worker's result sink up to ``upto`` (results already taken)."""
        await self._call("DELETE", f"/sinks/{collect}", params={"upto": upto})
