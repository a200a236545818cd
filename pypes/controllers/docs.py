"""``/docs``: the ingestion path, and ``/trigger``. Kept lean: it is the hot path.

The body is read raw (no typed model), decompressed with a cap, parsed with orjson and
handed to the engine as one batch.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from pypes.controllers.common import INGEST, JSONResponse, engine, read_body, result
from pypes.errors import BadInput
from pypes.ingest import inflate, parse_body

router = APIRouter(tags=["documents"])

DOCS_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "a JSON object (one document), a JSON array (one per element), "
                       "NDJSON (one per line), or any other type as one raw document",
        "content": {
            "application/json": {"schema": {"oneOf": [
                {"type": "object"}, {"type": "array", "items": {"type": "object"}}]}},
            "application/x-ndjson": {"schema": {"type": "string"}},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


WAITED: dict[int | str, dict[str, Any]] = {
    200: {"description": "with wait=true: accepted, processed, errors, and the results"},
}


async def ingest(request: Request, route: str | None, wait: bool) -> JSONResponse:
    settings = request.app.state.settings
    body = await read_body(request)
    if not body:
        raise BadInput("the body is empty: post a JSON object, a JSON array or NDJSON")
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding == "gzip":
        body = inflate(body, settings.max_inflated_bytes)
    elif encoding not in ("identity", ""):
        raise BadInput(f"Content-Encoding {encoding!r} is not supported (use gzip)")
    packets = parse_body(body, request.headers.get("content-type", ""), settings.limits)
    key = request.headers.get("idempotency-key")
    receipt = await result(engine(request).ingest(packets, route, wait=wait, key=key,
                                                  size=len(body)))
    answer: dict[str, Any] = {"accepted": receipt.accepted, "batch": receipt.batch}
    if receipt.duplicate:
        answer["duplicate"] = True
    if not wait:
        return JSONResponse(answer, 202)
    answer.update(processed=receipt.processed, errors=receipt.errors, results=receipt.results,
                  failed=receipt.failed)
    return JSONResponse(answer, 200)


@router.post("/docs", status_code=202, dependencies=[INGEST], openapi_extra=DOCS_BODY,
             responses=WAITED)
async def post_docs(request: Request, wait: bool = Query(False)) -> JSONResponse:
    """Ingest documents into the Adapters without a ``route``."""
    return await ingest(request, None, wait)


@router.post("/docs/{route}", status_code=202, dependencies=[INGEST], openapi_extra=DOCS_BODY,
             responses=WAITED)
async def post_docs_route(route: str, request: Request,
                          wait: bool = Query(False)) -> JSONResponse:
    """Ingest documents into the Adapters whose ``route`` param is ``route``."""
    return await ingest(request, route, wait)


@router.post("/trigger", dependencies=[INGEST])
async def trigger(request: Request) -> JSONResponse:
    """Run a pass with no data (drives fetching adapters and held documents)."""
    moved = await result(engine(request).trigger())
    return JSONResponse({"moved": moved})
