"""What a user does in the editor, as Playwright steps the browser tests share."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
from playwright.sync_api import Locator, Page, expect


def open_editor(page: Page) -> None:
    """Load the editor and wait until the palette and the graph have arrived."""
    page.goto("/")
    expect(page.get_by_test_id("palette-JsonReader")).to_be_visible()
    expect(page.get_by_test_id("graph-name")).to_contain_text("rev")


def node(page: Page, component_id: str) -> Locator:
    return page.locator(f'.react-flow__node[data-id="{component_id}"]')


def handle(page: Page, component_id: str, port: str, kind: str) -> Locator:
    """A port's handle: ``kind`` is ``source`` (output) or ``target`` (input)."""
    return node(page, component_id).locator(f'.react-flow__handle.{kind}[data-handleid="{port}"]')


def connect(page: Page, source: tuple[str, str], target: tuple[str, str]) -> None:
    """Drag from an output port to an input port, as a user wires two components."""
    start = handle(page, *source, "source").bounding_box()
    end = handle(page, *target, "target").bounding_box()
    assert start and end
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 2, steps=12)
    page.mouse.up()


def put_graph(api: httpx.Client, graph: dict[str, Any]) -> dict[str, Any]:
    response = api.put("/graph", json=graph)
    assert response.status_code < 300, response.text
    return api.get("/graph").json()


def create(
    api: httpx.Client, cls: str, component_id: str, position: tuple[int, int], **params: Any
) -> None:
    body = {"class": cls, "id": component_id, "position": list(position), "params": params}
    response = api.post("/filters", json=body)
    assert response.status_code == 201, response.text


def wait_until(page: Page, condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll a server-side condition while the page keeps running."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        page.wait_for_timeout(100)
