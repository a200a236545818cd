"""The inspector: a form generated from the class's params_schema, saved to the server."""

from __future__ import annotations

import httpx
from editor import create, node, open_editor
from playwright.sync_api import Page, expect
from ui_server import browser_test_marks

pytestmark = browser_test_marks()


def test_a_param_edit_reaches_the_server(page: Page, api: httpx.Client) -> None:
    create(api, "CaseNormalizer", "lower", (100, 100), fields=["text"], case="lower")
    open_editor(page)

    node(page, "lower").click()
    inspector = page.get_by_test_id("inspector")
    expect(inspector).to_contain_text("lower")
    case = inspector.get_by_test_id("param-case")
    expect(case).to_have_js_property("tagName", "SELECT")
    case.select_option(label="upper")
    inspector.get_by_test_id("param-fields").fill("text, title")
    inspector.get_by_test_id("inspector-save").click()

    expect(inspector.get_by_test_id("inspector-saved")).to_be_visible()
    params = api.get("/filters/lower").json()["params"]
    assert params["case"] == "upper"
    assert params["fields"] == ["text", "title"]


def test_text_fields_are_saved_as_typed(page: Page, api: httpx.Client) -> None:
    create(api, "EmailExtractor", "emails", (100, 100), field="text", target="emails")
    open_editor(page)

    node(page, "emails").click()
    page.get_by_test_id("param-target").fill("addresses")
    page.get_by_test_id("inspector-save").click()

    expect(page.get_by_test_id("inspector-saved")).to_be_visible()
    assert api.get("/filters/emails").json()["params"]["target"] == "addresses"


def test_a_refused_param_shows_the_message_beside_the_field(page: Page, api: httpx.Client) -> None:
    create(api, "Collect", "out", (100, 100))
    before = api.get("/filters/out").json()["params"]
    open_editor(page)

    node(page, "out").click()
    page.get_by_test_id("param-limit").fill("0")
    page.get_by_test_id("inspector-save").click()

    refusal = api.put("/filters/out", json={"params": {"limit": 0}})
    assert refusal.status_code == 422
    expect(page.get_by_test_id("field-error-limit")).to_contain_text(refusal.json()["error"])
    expect(page.get_by_test_id("inspector-error")).to_be_visible()
    expect(page.get_by_test_id("param-limit")).to_have_value("0")  # the edit stays for fixing
    assert api.get("/filters/out").json()["params"] == before
