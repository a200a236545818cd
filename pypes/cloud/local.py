"""The ``local`` provider: each worker is a ``pypes worker`` process on this machine.

A worker runs in its own process group (its own session), in a fresh temporary config
directory that also holds its log. Its standard input is a pipe from the master that is
never written to: when the master process ends, however it ends, the pipe closes and the
worker exits (``--exit-with-stdin``), so no worker outlives its server. ``terminate``
sends SIGTERM to the worker's process group, then SIGKILL if it has not gone in time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

from pypes.cloud.provider import Instance, Provider, ProviderError, WorkerSpec

log = logging.getLogger("pypes.cloud.local")
LOG_NAME = "worker.log"


class LocalProvider(Provider):
    """Starts workers as child processes on loopback."""

    name = "local"
    poll_interval = 0.2

    def __init__(self, python: str = sys.executable, host: str = "127.0.0.1",
                 stop_timeout: float = 5.0) -> None:
        self.python = python
        self.host = host
        self.stop_timeout = stop_timeout
        self._processes: dict[str, asyncio.subprocess.Process] = {}

    def command(self, spec: WorkerSpec, config: Path) -> list[str]:
        # --name=value: an id may start with "-", which argparse would take for a flag.
        # The token goes in the environment (PYPES_WORKER_TOKEN), not where `ps` shows it.
        return [self.python, "-m", "pypes", "worker", f"--master={spec.master_url}",
                f"--id={spec.worker_id}", f"--host={self.host}",
                "--port=0", f"--config={config}", "--exit-with-stdin"]

    async def launch(self, spec: WorkerSpec) -> Instance:
        config = Path(tempfile.mkdtemp(prefix="pypes-worker-"))
        try:
            with open(config / LOG_NAME, "wb") as out:
                process = await asyncio.create_subprocess_exec(
                    *self.command(spec, config), stdin=asyncio.subprocess.PIPE,
                    stdout=out, stderr=out, start_new_session=True,
                    env={**os.environ, "PYTHONUNBUFFERED": "1", "PYPES_WORKER_TOKEN": spec.token},
                )
        except OSError as exc:
            shutil.rmtree(config, ignore_errors=True)
            raise ProviderError(f"cannot start a worker process: {exc}") from None
        self._processes[spec.worker_id] = process
        log.info("started worker %s of composite %s as pid %d", spec.worker_id,
                 spec.composite, process.pid)
        return Instance(spec, self.name, str(process.pid),
                        {"pid": process.pid, "config": str(config)})

    async def alive(self, instance: Instance) -> bool:
        process = self._processes.get(instance.spec.worker_id)
        return process is not None and process.returncode is None

    async def terminate(self, instance: Instance) -> None:
        process = self._processes.pop(instance.spec.worker_id, None)
        if process is not None:
            await self._stop(process)
            instance.details["exit_code"] = process.returncode
        config = instance.details.get("config")
        if config and Path(config).exists():
            instance.details["log"] = tail(Path(config) / LOG_NAME)
            shutil.rmtree(config, ignore_errors=True)

    async def _stop(self, process: asyncio.subprocess.Process) -> None:
        if process.stdin is not None:
            process.stdin.close()
        # the group is ours for as long as its leader is not reaped
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if process.returncode is not None:
                break
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, sig)
            try:
                await asyncio.wait_for(process.wait(), self.stop_timeout)
            except TimeoutError:
                log.warning("worker pid %d did not stop on %s", process.pid, sig.name)
        if process.returncode is None:
            await process.wait()

    def failure(self, instance: Instance) -> str | None:
        process = self._processes.get(instance.spec.worker_id)
        code = process.returncode if process is not None else instance.details.get("exit_code")
        config = instance.details.get("config")
        text = tail(Path(config) / LOG_NAME) if config else instance.details.get("log", "")
        lines = [line for line in text.splitlines() if line.startswith("pypes:")]
        said = "; ".join(line.removeprefix("pypes:").strip() for line in lines[-3:])
        if not said:
            said = " | ".join(text.splitlines()[-3:])
        status = f"exited with code {code}" if code is not None else "is running"
        return f"worker process {status}" + (f": {said}" if said else "")

    async def close(self) -> None:
        for worker_id in list(self._processes):
            process = self._processes.pop(worker_id)
            await self._stop(process)


def tail(path: Path, size: int = 4000) -> str:
    """The end of a log file (empty when there is none)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - size))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""
