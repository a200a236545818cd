"""A real ``pypes serve`` on a free loopback port, and the Chromium that looks at it.

Shared by the browser tests (conftest.py) and the screenshot script (screenshot.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from pypes.testing import free_port

REPO = Path(__file__).resolve().parents[2]
DIST = REPO / "ui" / "dist"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]

DEMO_GRAPH: dict[str, Any] = {
    "pypes": 1,
    "name": "demo",
    "components": [
        {"id": "reader", "class": "JsonReader", "params": {}, "position": [0, 30]},
        {
            "id": "lower",
            "class": "CaseNormalizer",
            "params": {"fields": ["text"], "case": "lower"},
            "position": [220, 0],
        },
        {
            "id": "emails",
            "class": "EmailExtractor",
            "params": {"field": "text", "target": "emails"},
            "position": [440, 30],
        },
        {"id": "out", "class": "Collect", "params": {}, "position": [660, 0]},
    ],
    "wires": [
        {"id": "w1", "from": ["reader", "out"], "to": ["lower", "in"]},
        {"id": "w2", "from": ["lower", "out"], "to": ["emails", "in"]},
        {"id": "w3", "from": ["emails", "out"], "to": ["out", "in"]},
    ],
}


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@contextmanager
def pypes_server(config_dir: Path, *args: str, timeout: float = 30.0) -> Iterator[str]:
    """Start ``pypes serve`` with an empty config dir (and ``args``); yield its base URL;
    stop it by its pid."""
    port = free_port()
    config_dir.mkdir(parents=True, exist_ok=True)
    log = (config_dir / "server.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pypes",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--config",
            str(config_dir),
            *args,
        ],
        cwd=config_dir,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"pypes serve exited with {proc.returncode}:\n{_tail(config_dir)}"
                )
            try:
                if httpx.get(f"{url}/health", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"pypes serve did not answer /health in {timeout}s:\n{_tail(config_dir)}"
                )
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _tail(config_dir: Path) -> str:
    try:
        return (config_dir / "server.log").read_text(errors="replace")[-4000:]
    except OSError:
        return ""


def browser_test_marks() -> list[Any]:
    """``pytestmark`` for a browser test module: marked ``ui``, skipped when it cannot run."""
    import pytest

    return [
        pytest.mark.ui,
        pytest.mark.skipif(
            not (DIST / "index.html").exists(),
            reason="ui/dist is missing: build the editor first (cd ui && npm ci && npm run build)",
        ),
        pytest.mark.skipif(
            chromium_path() is None, reason="chromium is not installed (apt-get install chromium)"
        ),
    ]
