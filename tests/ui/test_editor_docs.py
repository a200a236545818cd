"""Feeding and watching a graph: the docs panel and the live counters."""

from __future__ import annotations

import httpx
from editor import node, open_editor, put_graph
from playwright.sync_api import Page, expect
from ui_server import DEMO_GRAPH, browser_test_marks

pytestmark = browser_test_marks()


def test_sending_documents_shows_the_results(page: Page, api: httpx.Client) -> None:
    put_graph(api, DEMO_GRAPH)
    open_editor(page)

    page.get_by_test_id("docs-toggle").click()
    panel = page.get_by_test_id("docs-panel")
    panel.get_by_test_id("docs-input").fill(
        '[{"text": "Write to Alice@Example.COM"}, {"text": "nobody here"}]'
    )
    panel.get_by_test_id("docs-send").click()

    results = panel.get_by_test_id("docs-results")
    expect(results).to_be_visible()
    expect(results.get_by_test_id("docs-summary")).to_contain_text("accepted 2")
    expect(results.get_by_test_id("docs-result-list")).to_contain_text("alice@example.com")


def test_sending_ndjson_from_the_panel(page: Page, api: httpx.Client) -> None:
    put_graph(api, DEMO_GRAPH)
    open_editor(page)

    page.get_by_test_id("docs-toggle").click()
    page.get_by_test_id("docs-input").fill('{"text": "a@b.org"}\n{"text": "C@D.ORG"}\n')
    page.get_by_test_id("docs-send").click()

    expect(page.get_by_test_id("docs-summary")).to_contain_text("accepted 2")
    expect(page.get_by_test_id("docs-result-list")).to_contain_text("c@d.org")


def test_live_counters_change_after_a_post(page: Page, api: httpx.Client) -> None:
    put_graph(api, DEMO_GRAPH)
    open_editor(page)
    collected = node(page, "out").get_by_test_id("counter-in")
    expect(collected).to_contain_text("0")

    response = api.post(
        "/docs?wait=true", json=[{"text": f"user{i}@example.com"} for i in range(3)]
    )
    assert response.status_code == 200, response.text

    expect(collected).to_have_text("in 3")
    expect(node(page, "reader").get_by_test_id("counter-out")).to_have_text("out 3")
    expect(node(page, "out").get_by_test_id("state-badge")).to_be_visible()
