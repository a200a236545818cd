"""Fixtures for the browser tests: a real server per test, one Chromium per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from ui_server import CHROMIUM_ARGS, chromium_path, pypes_server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """The base URL of a fresh ``pypes serve`` holding an empty graph."""
    with pypes_server(tmp_path / "config") as url:
        yield url


@pytest.fixture
def api(server: str) -> Iterator[httpx.Client]:
    """A REST client on the same server, to set up and check what the browser did."""
    with httpx.Client(base_url=server, timeout=30.0) as client:
        yield client


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser, server: str) -> Iterator[Page]:
    context = browser.new_context(
        base_url=server, viewport={"width": 1400, "height": 850}, accept_downloads=True
    )
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    yield pg
    context.close()
