"""The baseline for bench/http.py: the reference work hand-written on a bare Starlette
endpoint with orjson, answering like ``POST /docs?wait=true``."""

from __future__ import annotations

import gzip

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.workload import by_hand  # noqa: E402


async def docs(request: Request) -> Response:
    body = await request.body()
    if request.headers.get("content-encoding") == "gzip":
        body = gzip.decompress(body)
    results = by_hand(orjson.loads(body))
    return Response(orjson.dumps({"accepted": len(results), "processed": len(results),
                                  "errors": 0, "results": results}),
                    media_type="application/json")


app = Starlette(routes=[Route("/docs", docs, methods=["POST"])])
