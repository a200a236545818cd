"""A composite on the canvas: its lifecycle state, and its subgraph behind a double-click."""

from __future__ import annotations

import httpx
from editor import node, open_editor, put_graph
from playwright.sync_api import Page, expect
from ui_server import browser_test_marks

pytestmark = browser_test_marks()

INNER = {
    "pypes": 1,
    "name": "inner",
    "components": [
        {
            "id": "tag",
            "class": "SetField",
            "params": {"field": "seen", "value": True},
            "position": [0, 0],
        },
        {"id": "inner_out", "class": "Collect", "params": {}, "position": [300, 0]},
    ],
    "wires": [{"id": "iw1", "from": ["tag", "out"], "to": ["inner_out", "in"]}],
}


def test_double_clicking_a_composite_opens_its_subgraph(page: Page, api: httpx.Client) -> None:
    put_graph(
        api,
        {
            "pypes": 1,
            "name": "outer",
            "components": [
                {
                    "id": "remote",
                    "class": "Composite",
                    "params": {"provider": "inline", "graph": INNER},
                    "position": [100, 100],
                },
            ],
            "wires": [],
        },
    )
    open_editor(page)
    remote = node(page, "remote")
    expect(remote.get_by_test_id("state-badge")).to_be_visible()

    remote.dblclick()

    expect(node(page, "tag")).to_be_visible()
    expect(node(page, "inner_out")).to_be_visible()
    expect(page.locator(".react-flow__edge")).to_have_count(1)
    breadcrumb = page.get_by_test_id("breadcrumb")
    expect(breadcrumb).to_contain_text("remote")

    breadcrumb.get_by_role("button", name="outer").click()
    expect(node(page, "remote")).to_be_visible()
    expect(node(page, "tag")).to_have_count(0)


def test_a_failed_composite_shows_its_state_and_reason(page: Page, api: httpx.Client) -> None:
    api.post(
        "/filters", json={"class": "Composite", "id": "remote", "params": {"provider": "inline"}}
    )
    open_editor(page)
    remote = node(page, "remote")
    expect(remote.get_by_test_id("state-badge")).to_have_text("failed")
    reason = api.get("/stats").json()["components"]["remote"].get("reason")
    expect(remote.get_by_test_id("state-reason")).to_contain_text(reason or "")
    expect(remote.get_by_test_id("state-reason")).not_to_be_empty()


def test_a_composite_on_local_workers_shows_its_lifecycle(page: Page, api: httpx.Client) -> None:
    open_editor(page)
    page.evaluate(
        """() => {
            window.pypesStates = [];
            new MutationObserver(() => {
                const badge = document.querySelector('[data-id=remote] [data-testid=state-badge]');
                const states = window.pypesStates, state = badge && badge.textContent;
                if (state && states[states.length - 1] !== state) states.push(state);
            }).observe(document.body, {subtree: true, childList: true, characterData: true});
        }"""
    )
    params = {"provider": "local", "graph": INNER, "linger_ms": 0}
    created = api.post("/filters", json={"class": "Composite", "id": "remote", "params": params})
    assert created.status_code == 201, created.text

    expect(node(page, "remote").get_by_test_id("state-badge")).to_have_text("ready", timeout=60_000)
    seen = page.evaluate("() => window.pypesStates")
    assert seen[-1] == "ready"
    assert set(seen) & {"provisioning", "configuring"}, seen
