"""WorkerDirectory: the workers a server expects, has, and lists at ``GET /workers``.

A composite ``expect``s a worker before starting it (its id and the token it was given);
the worker's ``POST /workers/register`` arrives on the web thread and resolves the
composite's future with the worker's URL. A worker whose id is unknown or whose token does
not match is refused. ``master_url`` finds the URL workers register at: the server's own,
or, when the engine runs without one (``pypes run``, tests), a loopback listener that
serves only ``/workers`` and lives as long as a composite needs it.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import threading
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger("pypes.cloud")
SERVICE = "workers"  # the key in Context.services
MASTER_URL = "master_url"


class Refused(Exception):
    """A registration or heartbeat the directory does not accept (403 / 404)."""

    def __init__(self, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class Listed(Protocol):
    """What the directory asks a composite for ``GET /workers``."""

    def worker_rows(self) -> list[dict[str, Any]]: ...


@dataclass
class _Expected:
    token: str
    composite: str
    future: asyncio.Future[str]
    loop: asyncio.AbstractEventLoop
    url: str | None = None


class WorkerDirectory:
    """Thread-safe: composites use it from the engine loop, the API from the web loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._expected: dict[str, _Expected] = {}
        self._owners: list[Listed] = []

    def expect(self, worker_id: str, token: str, composite: str) -> asyncio.Future[str]:
        """A future (on the running loop) that gets the worker's URL when it registers."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str] = loop.create_future()
        with self._lock:
            self._expected[worker_id] = _Expected(token, composite, future, loop)
        return future

    def forget(self, worker_id: str) -> None:
        with self._lock:
            entry = self._expected.pop(worker_id, None)
        if entry is not None and not entry.future.done():
            entry.loop.call_soon_threadsafe(_cancel, entry.future)

    def register(self, worker_id: str, url: str, token: str) -> str:
        """Accept a worker's registration; return its composite's id."""
        entry = self._check(worker_id, token)
        with self._lock:
            if entry.url is not None and entry.url != url:
                raise Refused(f"worker {worker_id!r} is already registered at {entry.url}")
            entry.url = url
        entry.loop.call_soon_threadsafe(_resolve, entry.future, url)
        log.info("worker %s of composite %s registered at %s", worker_id, entry.composite, url)
        return entry.composite

    def heartbeat(self, worker_id: str, token: str) -> str:
        """Confirm that a worker is still wanted; return its composite's id."""
        return self._check(worker_id, token).composite

    def _check(self, worker_id: str, token: str) -> _Expected:
        with self._lock:
            entry = self._expected.get(worker_id)
        if entry is None:
            raise Refused(f"no worker {worker_id!r} is expected here", 404)
        if not hmac.compare_digest(entry.token.encode(), token.encode()):
            raise Refused(f"wrong token for worker {worker_id!r}")
        return entry

    def attach(self, owner: Listed) -> None:
        with self._lock:
            if owner not in self._owners:
                self._owners.append(owner)

    def detach(self, owner: Listed) -> None:
        with self._lock:
            self._owners = [o for o in self._owners if o is not owner]

    def rows(self) -> list[dict[str, Any]]:
        with self._lock:
            owners = list(self._owners)
        return [row for owner in owners for row in owner.worker_rows()]


def _resolve(future: asyncio.Future[str], url: str) -> None:
    if not future.done():
        future.set_result(url)


def _cancel(future: asyncio.Future[str]) -> None:
    if not future.done():
        future.cancel()


_services_lock = threading.Lock()


def directory_of(services: dict[str, Any]) -> WorkerDirectory:
    """The directory kept in an engine's services (made on first use)."""
    with _services_lock:
        found = services.get(SERVICE)
        if found is None:
            found = services[SERVICE] = WorkerDirectory()
        return found


class _Listener:
    """A loopback HTTP server for registrations, for engines that have no server."""

    def __init__(self, directory: WorkerDirectory) -> None:
        self.directory = directory
        self.url = ""
        self.users = 0
        self._server: Any = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        import uvicorn
        from fastapi import FastAPI

        from pypes.controllers.common import install_error_handlers
        from pypes.controllers.workers import router
        from pypes.server import bind

        app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
        app.state.workers = self.directory
        app.state.tokens = {}
        install_error_handlers(app)
        app.include_router(router)
        sock = bind("127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._task = asyncio.get_running_loop().create_task(self._server.serve(sockets=[sock]))
        for _ in range(500):
            if self._server.started:
                break
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, 5)
            except (TimeoutError, asyncio.CancelledError):
                self._task.cancel()


_LISTENER = "workers_listener"


async def master_url(services: dict[str, Any]) -> tuple[str, bool]:
    """Where this engine's workers register, and whether that is a loopback listener
    started for the purpose (then release it with ``release_master_url``)."""
    url = services.get(MASTER_URL)
    if url:
        return str(url), False
    listener: _Listener | None = services.get(_LISTENER)
    if listener is None:
        listener = services[_LISTENER] = _Listener(directory_of(services))
        listener.users += 1
        await listener.start()
    else:
        listener.users += 1
        while not listener.url:
            await asyncio.sleep(0.01)
    return listener.url, True


async def release_master_url(services: dict[str, Any]) -> None:
    """Stop the loopback listener once no composite uses it."""
    listener: _Listener | None = services.get(_LISTENER)
    if listener is None:
        return
    listener.users -= 1
    if listener.users <= 0:
        services.pop(_LISTENER, None)
        await listener.stop()
