"""``pypes serve``: the engine behind a FastAPI app, served by uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import ipaddress
import logging
import os
import select
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
READY_TIMEOUT = 120.0  # seconds ``serve --workers N`` waits for its processes to listen


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
    app.router.routes[:0] = docs.ROUTES  # the hot path, matched before anything else
    app.state.route_methods = route_methods(
        [*docs.ROUTES, *(route for router in every for route in router.routes)])
    install_openapi(app, list(engine.registry), docs.OPENAPI_PATHS)
    mount_editor(app, UI_DIST)
    return app


def build_engine(settings: Settings, slot: int | None = None) -> tuple[Engine, Graph]:
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
        journal=Journal(journal_path(settings.config, slot), sync=settings.journal_sync,
                        max_bytes=settings.journal_max_bytes) if settings.durable else None,
        queue_bytes=settings.queue_bytes,
        stall_seconds=settings.stall_seconds,
    )
    return engine, initial_graph(settings, store)


def journal_path(config: Path, slot: int | None) -> Path:
    """The journal of a single server (``slot`` None) or of process ``slot`` of N."""
    return config / ("journal.sqlite3" if slot is None else f"journal-{slot}.sqlite3")


def journals_to_adopt(config: Path, slot: int | None, workers: int) -> list[Path]:
    """The journals no running process owns, which this one replays: a single server takes
    every process's; the first of N takes a single server's and those of slots >= N."""
    if slot is None:
        return sorted(config.glob("journal-*.sqlite3"))
    if slot != 0:
        return []
    found = [journal_path(config, None)] + [
        path for path in config.glob("journal-*.sqlite3")
        if path.stem.removeprefix("journal-").isdigit()
        and int(path.stem.removeprefix("journal-")) >= workers]
    return [path for path in found if path.exists()]


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


def bind(host: str, port: int, *, listen: bool = True, share: bool = False) -> socket.socket:
    """A socket bound to ``host:port`` (port 0: a free one), listening unless ``listen`` is
    false. ``share`` sets ``SO_REUSEPORT``, so sibling processes can each bind the port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if share:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise PypesError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    if listen:
        sock.listen(2048)
    return sock


def serve(settings: Settings, *, routers: Iterable[APIRouter] = (),
          on_listen: Callable[[str, Engine, FastAPI], None] | None = None) -> None:
    """Bind, start the engine, and serve until SIGINT/SIGTERM; then stop every component.
    With ``workers > 1``, that many processes share the socket (see ``serve_forked``)."""
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    check_bind(settings)
    # with N processes this socket only holds the port: each process listens on one of its
    # own (SO_REUSEPORT) and the kernel spreads new connections among them. On one shared
    # socket, the first process to wake would take a whole burst of connections.
    forked = settings.workers > 1
    sock = bind(settings.host, settings.port, listen=not forked, share=forked)
    host, port = sock.getsockname()[:2]
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
    if forked:
        store = GraphStore(settings.config / "graph.json")
        reap_orphans_at_start(settings, initial_graph(settings, store), background=False)
        serve_forked(settings, host, port, url, routers)
    else:
        serve_process(settings, sock, url, routers, on_listen)


def serve_process(settings: Settings, sock: socket.socket, url: str,
                  routers: Iterable[APIRouter] = (),
                  on_listen: Callable[[str, Engine, FastAPI], None] | None = None,
                  slot: int | None = None, announce: bool = True) -> None:
    """One server process: its engine, its app, uvicorn on the bound socket. ``slot``
    numbers the process among ``serve --workers N``'s (``None``: a single server)."""
    follow_store = slot is not None
    engine, graph = build_engine(settings, slot)
    if not follow_store:  # one process owns this server's cloud instances
        reap_orphans_at_start(settings, graph)
        # composites' workers register here; forked processes share the URL, so there
        # each composite listens on a loopback port of its own instead
        engine.context.services["master_url"] = url
    engine.start(graph)
    engine.recover()
    if engine.journal is not None:
        for path in journals_to_adopt(settings.config, slot, settings.workers):
            adopt_journal(engine, path)
    app = create_app(engine, settings, routers=routers)

    def listening() -> None:
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
        AnnouncingServer(config, listening).run(sockets=[sock])
    finally:
        engine.stop()


class AnnouncingServer(uvicorn.Server):
    """uvicorn's server, calling ``listening()`` once it accepts connections (not before:
    whoever reads the announcement may connect at once)."""

    def __init__(self, config: uvicorn.Config, listening: Callable[[], None]) -> None:
        super().__init__(config)
        self.listening = listening

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if not self.should_exit:
            self.listening()


def adopt_journal(engine: Engine, path: Path) -> None:
    """Replay the batches left in another process's journal through ``engine``, then
    delete that journal once it holds nothing."""
    other = Journal(path)
    try:
        documents = engine.recover(other)
        left = len(other)
    finally:
        other.close()
    log.info("took over %d documents from %s", documents, path.name)
    if not left:
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)


def reap_orphans_at_start(settings: Settings, graph: Graph, background: bool = True) -> None:
    """Terminate the cloud instances a crashed run of this server left behind: in the
    background (ec2 composites wait for it before launching), or at once, before
    ``serve --workers N`` forks its processes."""
    composites = [c.params for c in graph.components if c.params.get("provider") == "ec2"]
    if settings.ec2 or composites:
        from pypes.cloud.ec2 import sweep_at_start, sweep_now

        sweep = sweep_at_start if background else sweep_now
        sweep(settings.ec2, settings.server_id(), composites)


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


def _exit_with_parent(fd: int) -> None:
    """In a forked server process: SIGTERM this process once the parent has gone."""
    while os.read(fd, 1):
        pass
    os.kill(os.getpid(), signal.SIGTERM)


def _count_ready(fd: int, expected: int, timeout: float) -> int:
    """How many processes wrote their byte to ``fd`` before ``timeout`` (or before every
    writer closed it, having exited)."""
    deadline = time.monotonic() + timeout
    seen = 0
    while seen < expected and (left := deadline - time.monotonic()) > 0:
        if not select.select([fd], [], [], left)[0]:
            break
        data = os.read(fd, expected)
        if not data:
            break
        seen += len(data)
    return seen


def serve_forked(settings: Settings, host: str, port: int, url: str,
                 routers: Iterable[APIRouter] = ()) -> None:
    """``workers`` processes listen on the port, each running the graph; the server is
    announced once they all listen. A graph change made through any of them is stored
    under a lock and picked up by the others within ``FOLLOW_INTERVAL``. A process that
    dies is started again; SIGTERM stops them all."""
    children: dict[int, int] = {}  # pid -> slot
    stopping = False
    ready_in, ready_out = os.pipe()  # each first process writes a byte once it listens
    # only this process writes to the lifeline: when it ends, however it ends, each child
    # reads end-of-file and stops, so no process outlives the server
    lifeline_in, lifeline_out = os.pipe()

    def start(slot: int, first: bool = False) -> None:
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.close(ready_in)
            os.close(lifeline_out)
            threading.Thread(target=_exit_with_parent, args=(lifeline_in,),
                             name="pypes-lifeline", daemon=True).start()

            def listening(*_: object) -> None:
                os.write(ready_out, b".")
                os.close(ready_out)

            if not first:
                os.close(ready_out)
            try:
                serve_process(settings, bind(host, port, share=True), url, routers,
                              listening if first else None, slot=slot, announce=False)
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
        start(slot, first=True)
    os.close(ready_out)
    listening = _count_ready(ready_in, settings.workers, READY_TIMEOUT)
    os.close(ready_in)
    print(f"Pypes serving with {listening} of {settings.workers} processes on {url}",
          file=sys.stderr, flush=True)
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
