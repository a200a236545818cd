"""Make docs/editor.png: the editor showing the demo graph after a few documents.

Run from the repository root after building the UI:
    .venv/bin/python tests/ui/screenshot.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import httpx
from playwright.sync_api import expect, sync_playwright
from ui_server import CHROMIUM_ARGS, DEMO_GRAPH, DIST, REPO, chromium_path, pypes_server

OUTPUT = REPO / "docs" / "editor.png"
MAX_BYTES = 300_000
DOCUMENTS = [
    {"text": "Write to Alice@Example.com about the launch"},
    {"text": "CC bob@example.org and Carol@Example.net"},
    {"text": "no address in this one"},
]


def main() -> int:
    if not (DIST / "index.html").exists():
        print("build the editor first: cd ui && npm ci && npm run build", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp, pypes_server(Path(tmp) / "config") as url:
        with httpx.Client(base_url=url, timeout=30) as api:
            api.put("/graph", json=DEMO_GRAPH).raise_for_status()
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
                )
                page = browser.new_page(base_url=url, viewport={"width": 1360, "height": 760})
                page.goto("/")
                expect(page.locator(".react-flow__edge")).to_have_count(len(DEMO_GRAPH["wires"]))
                api.post("/docs?wait=true", json=DOCUMENTS).raise_for_status()
                expect(
                    page.locator('.react-flow__node[data-id="out"] [data-testid=counter-in]')
                ).to_have_text(f"in {len(DOCUMENTS)}")
                page.locator('.react-flow__node[data-id="lower"]').click()
                page.get_by_test_id("docs-toggle").click()
                page.get_by_test_id("docs-input").fill('{"text": "Ping DAVE@example.com"}')
                page.get_by_test_id("docs-send").click()
                expect(page.get_by_test_id("docs-results")).to_be_visible()
                expect(
                    page.locator('.react-flow__node[data-id="out"] [data-testid=counter-in]')
                ).to_have_text(f"in {len(DOCUMENTS) + 1}")
                page.get_by_test_id("palette-JsonReader").hover()
                page.mouse.move(700, 600)
                page.wait_for_timeout(300)
                OUTPUT.parent.mkdir(exist_ok=True)
                page.screenshot(path=str(OUTPUT))
                browser.close()
    size = OUTPUT.stat().st_size
    print(f"wrote {OUTPUT} ({size} bytes)")
    return 0 if size <= MAX_BYTES else 2


if __name__ == "__main__":
    sys.exit(main())
