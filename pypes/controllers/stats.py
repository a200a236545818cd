"""``/stats``, ``/events`` (server-sent events), ``/health`` and ``/metrics``."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.responses import PlainTextResponse, StreamingResponse

from pypes.controllers.common import READ, JSONResponse, engine

router = APIRouter(tags=["monitoring"])
EVENT_INTERVAL = 0.5


@router.get("/stats", dependencies=[READ])
async def stats(request: Request) -> JSONResponse:
    """Per-component counters (in, out, errors, queued) and states; per-wire queue fill."""
    return JSONResponse(engine(request).stats())


@router.get("/events", dependencies=[READ])
async def events(request: Request) -> StreamingResponse:
    """A server-sent-event stream: the /stats body whenever it changes, and a ``graph``
    event with the new ``rev`` whenever the graph changes."""
    eng = engine(request)
    closing: asyncio.Event = request.app.state.closing

    async def stream() -> AsyncIterator[bytes]:
        last: bytes | None = None
        rev = eng.graph.rev
        yield b"retry: 2000\n\n"
        while not closing.is_set() and not await request.is_disconnected():
            body = orjson.dumps(eng.stats())
            if eng.graph.rev != rev:
                rev = eng.graph.rev
                yield b"event: graph\ndata: " + orjson.dumps({"rev": rev}) + b"\n\n"
            if body != last:
                last = body
                yield b"data: " + body + b"\n\n"
            try:
                await asyncio.wait_for(closing.wait(), EVENT_INTERVAL)
            except TimeoutError:
                pass

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.get("/health")
async def health(request: Request) -> JSONResponse:
    """Liveness: answers while the graph is busy, since the engine runs on its own thread.
    ``degraded`` names a component whose step has run past ``stall_seconds``; ``pid`` is
    the server process that answered (one of N with ``serve --workers N``)."""
    eng = engine(request)
    stalled = eng.stalls()
    return JSONResponse({"status": "degraded" if stalled else "ok", "rev": eng.graph.rev,
                         "uptime": round(time.time() - request.app.state.started, 3),
                         "stalled": stalled, "pid": os.getpid()})


@router.get("/metrics", dependencies=[READ], response_class=PlainTextResponse)
async def metrics(request: Request) -> PlainTextResponse:
    """The /stats counters in Prometheus text format."""
    return PlainTextResponse(prometheus(engine(request).stats()),
                             media_type="text/plain; version=0.0.4")


COUNTERS = [
    ("pypes_component_received_total", "counter", "in", "documents a component took in"),
    ("pypes_component_sent_total", "counter", "out", "documents a component sent out"),
    ("pypes_component_errors_total", "counter", "errors", "documents a component failed on"),
    ("pypes_component_queued", "gauge", "queued", "documents waiting on a component's inputs"),
]


def prometheus(stats: dict[str, Any]) -> str:
    lines = []
    for name, kind, key, text in COUNTERS:
        lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]
        for cid, comp in stats["components"].items():
            lines.append(f'{name}{{component="{_label(cid)}",class="{comp["class"]}"}} {comp[key]}')
    lines += [
        "# HELP pypes_documents_accepted_total documents accepted by /docs",
        "# TYPE pypes_documents_accepted_total counter",
        f"pypes_documents_accepted_total {stats['accepted']}",
        "# HELP pypes_entry_queued documents waiting to enter the graph",
        "# TYPE pypes_entry_queued gauge",
        f"pypes_entry_queued {stats['queued']}",
        "# HELP pypes_dead_letters documents held in the dead-letter store",
        "# TYPE pypes_dead_letters gauge",
        f"pypes_dead_letters {stats['dead_letters']}",
        "# HELP pypes_graph_revision the graph's revision",
        "# TYPE pypes_graph_revision gauge",
        f"pypes_graph_revision {stats['rev']}",
    ]
    return "\n".join(lines) + "\n"


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
