"""``/graph``: export, replace at runtime, and validate a whole graph."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from pypes.controllers.common import (
    ADMIN,
    READ,
    JSONResponse,
    engine,
    if_match,
    read_body,
    result,
)
from pypes.controllers.openapi import GRAPH_REF
from pypes.graph import Graph
from pypes.params import carry_secrets, public_graph
from pypes.scheduler import Engine

router = APIRouter(tags=["graph"])

GRAPH_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": GRAPH_REF}},
    }
}


async def read_graph(request: Request) -> Graph:
    return Graph.load(await read_body(request))


@router.get("/graph", dependencies=[READ])
async def export(request: Request) -> JSONResponse:
    """The running graph as JSON (secrets left out); its ``rev`` is also the ETag."""
    eng: Engine = engine(request)
    graph = eng.graph
    return JSONResponse(public_graph(graph, eng.registry), headers={"ETag": f'"{graph.rev}"'})


@router.put("/graph", dependencies=[ADMIN], openapi_extra=GRAPH_BODY)
async def replace(request: Request) -> JSONResponse:
    """Replace the graph at runtime; documents in flight finish on the old one.
    ``If-Match: <rev>`` makes it fail with 409 when the graph changed meanwhile."""
    eng: Engine = engine(request)
    new = await read_graph(request)

    def edit(current: Graph) -> Graph:
        carry_secrets(new, current, eng.registry)
        return new

    graph = await result(eng.change(edit, if_match(request)))
    return JSONResponse(public_graph(graph, eng.registry), headers={"ETag": f'"{graph.rev}"'})


@router.post("/graph/validate", dependencies=[READ], openapi_extra=GRAPH_BODY)
async def validate(request: Request) -> JSONResponse:
    """Check a graph without applying it: 200 ``{"valid": true}`` or 422 naming each problem."""
    graph = await read_graph(request)
    graph.check(engine(request).registry)
    return JSONResponse({"valid": True, "components": len(graph.components),
                         "wires": len(graph.wires)})
