"""``pypes serve``: the engine behind a FastAPI app, served by uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import ipaddress
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path

import uvicorn
from fastapi import APIRouter, FastAPI

from pypes.components.registry import Registry
from pypes.controllers import docs, filters, graph, sinks, stats, wires, workers
from pypes.controllers.common import install_error_handlers, route_methods
from pypes.controllers.openapi import ERRORS, install_openapi
from pypes.controllers.ui import mount_editor
from pypes.errors import PypesError
from pypes.graph import Graph
from pypes.journal import Journal
from pypes.scheduler import Engine
from pypes.settings import Settings
from pypes.store import GraphStore

log = logging.getLogger("pypes.server")
ROUTERS: list[APIRouter] = [docs.router, filters.router, wires.router, graph.router, sinks.router,
                            stats.router, workers.router]
UI_DIST = Path(__file__).resolve().parent.parent / "ui" / "dist"
GC_YOUNG_THRESHOLD = 20_000  # allocations between young collections (CPython's default: 700)
FOLLOW_INTERVAL = 0.25  # seconds between checks for a graph stored by another process


def create_app(engine: Engine, settings: Settings, *, stop_engine: bool = True,
               routers: Iterable[APIRouter] = ()) -> FastAPI:
    """The HTTP face of a started ``engine``; it stops the engine when the app shuts down."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.closing = asyncio.Event()
        yield
        app.state.closing.set()
        if stop_engine:
            await asyncio.get_running_loop().run_in_executor(None, engine.stop)

    app = FastAPI(
        title="Pypes",
        version="0.1.0",
        summary="A visual dataflow server for document pipelines",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=lifespan,
    )
    app.state.engine = engine
    app.state.settings = settings
    app.state.tokens = settings.scopes_for()
    app.state.started = time.time()
    app.state.closing = asyncio.Event()
    install_error_handlers(app)
    every = [*ROUTERS, *routers]
    for router in every:
        app.include_router(router, responses=ERRORS)
    app.state.route_methods = route_methods(every)
    install_openapi(app, list(engine.registry))
    mount_editor(app, UI_DIST)
    return app


def build_engine(settings: Settings) -> tuple[Engine, Graph]:
    """An engine with the built-in and plugin components, and the graph to start with:
    ``--graph FILE``, else the stored graph, else ``demo.json`` from the config dir."""
    registry = Registry.discover()
    store = GraphStore(settings.config / "graph.json")
    engine = Engine(
        registry,
        data_dir=settings.data_dir,
        store=store,
        wire_capacity=settings.wire_capacity,
        queue_limit=settings.queue_limit,
        dead_letter_limit=settings.dead_letter_limit,
        services={"settings": settings},
        journal=Journal(settings.config / "journal.sqlite3", sync=settings.journal_sync,
                        max_bytes=settings.journal_max_bytes) if settings.durable else None,
        queue_bytes=settings.queue_bytes,
        stall_seconds=settings.stall_seconds,
    )
    return engine, initial_graph(settings, store)


def initial_graph(settings: Settings, store: GraphStore) -> Graph:
    if settings.graph is not None:
        return _read_graph(settings.graph)
    stored = store.load()
    if stored is not None:
        return stored
    demo = settings.config / "demo.json"
    return _read_graph(demo) if demo.exists() else Graph(name="pypes")


def _read_graph(path: Path) -> Graph:
    try:
        return Graph.load(path.read_bytes())
    except OSError as exc:
        raise PypesError(f"cannot read graph file {path}: {exc.strerror}") from None


def check_bind(settings: Settings) -> None:
    """Refuse to listen beyond loopback with no token: anyone could drive the server."""
    if settings.scopes_for():
        return
    host = settings.host
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise PypesError(
            f"refusing to listen on {host} without a token: anyone who can reach it could "
            "change the graph. Set --token (or PYPES_TOKEN, or tokens in pypes.toml), "
            "or bind 127.0.0.1."
        )


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise PypesError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve(settings: Settings, *, routers: Iterable[APIRouter] = (),
          on_listen: Callable[[str, Engine, FastAPI], None] | None = None) -> None:
    """Bind, start the engine, and serve until SIGINT/SIGTERM; then stop every component.
    With ``workers > 1``, that many processes share the socket (see ``serve_forked``)."""
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    check_bind(settings)
    if settings.workers > 1 and settings.durable:
        raise PypesError("--durable cannot be combined with --workers yet: "
                         "run one durable process per config directory")
    sock = bind(settings.host, settings.port)
    host, port = sock.getsockname()[:2]
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
    if settings.workers > 1:
        serve_forked(settings, sock, url, routers)
    else:
        serve_process(settings, sock, url, routers, on_listen)


def serve_process(settings: Settings, sock: socket.socket, url: str,
                  routers: Iterable[APIRouter] = (),
                  on_listen: Callable[[str, Engine, FastAPI], None] | None = None,
                  follow_store: bool = False, announce: bool = True) -> None:
    """One server process: its engine, its app, uvicorn on the bound socket."""
    engine, graph = build_engine(settings)
    if not follow_store:  # one process owns this server's cloud instances
        reap_orphans_at_start(settings, graph)
        # composites' workers register here; forked processes share the URL, so there
        # each composite listens on a loopback port of its own instead
        engine.context.services["master_url"] = url
    engine.start(graph)
    engine.recover()
    app = create_app(engine, settings, routers=routers)
    if announce:
        print(f"Pypes serving graph {graph.name!r} (rev {graph.rev}) on {url}",
              file=sys.stderr, flush=True)
    if on_listen is not None:
        on_listen(url, engine, app)
    if follow_store:
        threading.Thread(target=_follow, args=(engine,), name="pypes-follow", daemon=True).start()
    tune_gc()
    config = uvicorn.Config(app, log_level=settings.log_level, timeout_graceful_shutdown=5,
                            access_log=False)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        engine.stop()


def reap_orphans_at_start(settings: Settings, graph: Graph) -> None:
    """Terminate the cloud instances a crashed run of this server left behind (in the
    background; ec2 composites wait for it before launching)."""
    composites = [c.params for c in graph.components if c.params.get("provider") == "ec2"]
    if settings.ec2 or composites:
        from pypes.cloud.ec2 import sweep_at_start

        sweep_at_start(settings.ec2, settings.server_id(), composites)


def tune_gc() -> None:
    """Documents are allocation-heavy (a dict, a packet and its meta each): move what the
    server holds for its whole life out of the collector's sight, and collect the young
    generation less often. Measured in docs/performance.md."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


def _follow(engine: Engine) -> None:
    """Keep this process's graph in step with changes other processes store."""
    while True:
        time.sleep(FOLLOW_INTERVAL)
        try:
            engine.follow_store().result()
        except PypesError:
            return  # the engine stopped
        except Exception:  # noqa: BLE001 - a bad stored graph is logged, the old one kept
            log.exception("could not take the graph another worker process stored")


def serve_forked(settings: Settings, sock: socket.socket, url: str,
                 routers: Iterable[APIRouter] = ()) -> None:
    """``workers`` processes accept on one socket, each running the graph. A graph change
    made through any of them is stored under a lock and picked up by the others within
    ``FOLLOW_INTERVAL``. A process that dies is started again; SIGTERM stops them all."""
    children: dict[int, int] = {}  # pid -> slot
    stopping = False

    def start(slot: int) -> None:
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            try:
                serve_process(settings, sock, url, routers, follow_store=True, announce=False)
            finally:
                os._exit(0)
        children[pid] = slot

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for slot in range(settings.workers):
        start(slot)
    print(f"Pypes serving with {settings.workers} processes on {url}", file=sys.stderr,
          flush=True)
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        slot = children.pop(pid, -1)
        if slot >= 0 and not stopping:
            log.warning("worker process %d exited (status %d); starting another", pid, status)
            time.sleep(0.5)
            start(slot)
