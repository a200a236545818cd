"""A server with a token: the editor asks for it once and uses it from then on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from editor import node, open_editor
from playwright.sync_api import Browser, expect
from ui_server import browser_test_marks, pypes_server

pytestmark = browser_test_marks()
TOKEN = "s3cret-token-for-the-editor"


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[str]:
    with pypes_server(tmp_path / "config", "--token", TOKEN) as url:
        yield url


def test_the_editor_asks_for_a_token_and_keeps_it(browser: Browser, guarded: str) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=guarded, headers=headers) as api:
        assert httpx.get(f"{guarded}/graph").status_code == 401
        api.post("/filters", json={"class": "Collect", "id": "out"}).raise_for_status()
    context = browser.new_context(base_url=guarded)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto("/")
        dialog = page.get_by_test_id("token-dialog")
        expect(dialog).to_be_visible()
        dialog.get_by_test_id("token-input").fill(TOKEN)
        dialog.get_by_test_id("token-submit").click()

        expect(node(page, "out")).to_be_visible()
        expect(page.get_by_test_id("connection")).to_have_text("live")

        page.reload()  # the token is remembered
        open_editor(page)
        expect(page.get_by_test_id("token-dialog")).to_have_count(0)
        expect(node(page, "out")).to_be_visible()
    finally:
        context.close()
