"""``/docs``: the ingestion path, and ``/trigger``. Kept lean: it is the hot path.

The body is read raw (no typed model), decompressed with a cap, parsed with orjson and
handed to the engine as one batch. ``/docs`` is served by plain Starlette routes placed
ahead of every other route: FastAPI's routing, parameter solving and response handling
cost about 4% of a 1000-document request. Its OpenAPI description is written here
(``OPENAPI_PATHS``), and its token and query flags are read by hand.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.routing import Route

from pypes.cloud.protocol import changes
from pypes.controllers.common import (
    INGEST,
    JSONResponse,
    authorize,
    engine,
    query_flag,
    read_body,
    result,
)
from pypes.controllers.openapi import error_responses
from pypes.errors import BadInput
from pypes.ingest import inflate, parse_body

router = APIRouter(tags=["documents"])
DELTA_MIN_BYTES = 1024  # posted bytes per document below which delta=true answers whole


def _operation(operation_id: str, summary: str, route: bool) -> dict[str, Any]:
    flags = [{
        "name": "wait", "in": "query", "required": False,
        "schema": {"type": "boolean", "default": False},
        "description": "answer once the graph has finished with the documents (200, with "
                       "the results) instead of as soon as they are queued (202)",
    }, {
        "name": "delta", "in": "query", "required": False,
        "schema": {"type": "boolean", "default": False},
        "description": "with wait, for documents of 1 KiB or more on average: a posted "
                       "document the graph changed in place comes back as [index, set, "
                       "unset] instead of whole (the worker protocol)",
    }]
    path = [{"name": "route", "in": "path", "required": True, "schema": {"type": "string"},
             "description": "the route param of the Adapters that take the documents"}]
    answer = {"application/json": {"schema": {"type": "object"}}}
    return {
        "tags": ["documents"],
        "summary": summary,
        "operationId": operation_id,
        "parameters": (path if route else []) + flags,
        "requestBody": {
            "required": True,
            "description": "a JSON object (one document), a JSON array (one per element), "
                           "NDJSON (one per line), or any other type as one raw document",
            "content": {
                "application/json": {"schema": {"oneOf": [
                    {"type": "object"}, {"type": "array", "items": {"type": "object"}}]}},
                "application/x-ndjson": {"schema": {"type": "string"}},
                "application/octet-stream": {"schema": {"type": "string",
                                                        "format": "binary"}},
            },
        },
        "responses": {
            "202": {"description": "queued: accepted, batch", "content": answer},
            "200": {"description": "with wait=true: accepted, batch, processed, errors, "
                                   "results, failed", "content": answer},
            **error_responses(),
        },
    }


OPENAPI_PATHS: dict[str, Any] = {
    "/docs": {"post": _operation(
        "post_docs", "Ingest documents into the Adapters without a route", route=False)},
    "/docs/{route}": {"post": _operation(
        "post_docs_route", "Ingest documents into the Adapters of a route", route=True)},
}


async def ingest(request: Request, route: str | None) -> JSONResponse:
    """The hot path: no FastAPI parameters or dependencies, only what it needs by hand."""
    await authorize(request, "ingest")
    wait = query_flag(request, "wait")
    delta = query_flag(request, "delta") and wait
    settings = request.app.state.settings
    body = await read_body(request)
    if not body:
        raise BadInput("the body is empty: post a JSON object, a JSON array or NDJSON")
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding == "gzip":
        body = inflate(body, settings.max_inflated_bytes)
    elif encoding not in ("identity", ""):
        raise BadInput(f"Content-Encoding {encoding!r} is not supported (use gzip)")
    eng = engine(request)
    batch = eng.new_batch()
    packets = parse_body(body, request.headers.get("content-type", ""), settings.limits, batch)
    key = request.headers.get("idempotency-key")
    # changes pay for their computing (about 1 µs a document) only on large documents
    if delta and len(body) < DELTA_MIN_BYTES * len(packets):
        delta = False
    posted = [p.data for p in packets] if delta else []
    before = [dict(doc) for doc in posted]
    receipt = await result(eng.ingest(packets, route, wait=wait, key=key, size=len(body),
                                      batch=batch))
    answer: dict[str, Any] = {"accepted": receipt.accepted, "batch": receipt.batch}
    if receipt.duplicate:
        answer["duplicate"] = True
    if not wait:
        return JSONResponse(answer, 202)
    results = receipt.results
    if delta and not receipt.duplicate:
        results = changes(posted, before, results)
    answer.update(processed=receipt.processed, errors=receipt.errors, results=results,
                  failed=receipt.failed)
    return JSONResponse(answer, 200)


async def post_docs(request: Request) -> JSONResponse:
    """``POST /docs`` and ``POST /docs/{route}``."""
    return await ingest(request, request.path_params.get("route"))


ROUTES = [Route("/docs", post_docs, methods=["POST"]),
          Route("/docs/{route}", post_docs, methods=["POST"])]


@router.post("/trigger", dependencies=[INGEST])
async def trigger(request: Request) -> JSONResponse:
    """Run a pass with no data (drives fetching adapters and held documents)."""
    moved = await result(engine(request).trigger())
    return JSONResponse({"moved": moved})
