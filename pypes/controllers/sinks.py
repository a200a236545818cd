"""``/sinks/{id}`` (what a Collect holds) and ``/deadletters`` (what failed)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request

from pypes.controllers.common import ADMIN, INGEST, READ, JSONResponse, engine, result
from pypes.errors import NotFound
from pypes.packet import Packet

router = APIRouter(tags=["results"])


def sink_of(request: Request, component_id: str):  # noqa: ANN201 - a ResultSink
    component = engine(request).component(component_id)
    sink = getattr(component, "sink", None)
    if sink is None:
        raise NotFound(f"component {component_id!r} is a {type(component).__name__}, "
                       "not a Collect publisher")
    return sink


@router.get("/sinks/{component_id}", dependencies=[READ])
async def read(
    component_id: str,
    request: Request,
    after: int = Query(0, ge=0, description="cursor: return documents after this one"),
    limit: int = Query(1000, ge=1, le=100_000),
    wait: float = Query(0, ge=0, le=60, description="seconds to wait for a document"),
) -> JSONResponse:
    """Documents held after the cursor; ``cursor`` in the answer is the next ``after``."""
    docs, cursor, more = await sink_of(request, component_id).read_wait(after, limit, wait)
    return JSONResponse({"items": docs, "cursor": cursor, "more": more})


@router.delete("/sinks/{component_id}", dependencies=[READ])
async def acknowledge(component_id: str, request: Request,
                      upto: int = Query(..., ge=0)) -> JSONResponse:
    """Forget the documents up to and including cursor ``upto``."""
    return JSONResponse({"acknowledged": sink_of(request, component_id).ack(upto)})


@router.get("/deadletters", dependencies=[READ])
async def dead_letters(request: Request, limit: int = Query(100, ge=1, le=10_000)) -> JSONResponse:
    """Documents a component failed on (with the component, error and time), newest last."""
    store = engine(request).dead_letters
    return JSONResponse({"items": store.list(limit), "count": len(store),
                         "dropped": store.dropped})


@router.delete("/deadletters", dependencies=[ADMIN])
async def clear_dead_letters(request: Request) -> JSONResponse:
    return JSONResponse({"cleared": engine(request).dead_letters.clear()})


@router.post("/deadletters/replay", dependencies=[INGEST])
async def replay(request: Request) -> JSONResponse:
    """Send every dead letter back into the graph's entry Adapters."""
    eng = engine(request)
    packets = [Packet(p.data, {k: v for k, v in p.meta.items() if k != "error"}, p.raw)
               for p in eng.dead_letters.take()]
    if not packets:
        return JSONResponse({"replayed": 0})
    receipt = await result(eng.ingest(packets))
    return JSONResponse({"replayed": receipt.accepted, "batch": receipt.batch})
