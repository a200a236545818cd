"""``/``: the browser editor, built by Vite into ``ui/dist``."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.responses import FileResponse, HTMLResponse
from starlette.staticfiles import StaticFiles

NOT_BUILT = """<!doctype html><title>Pypes</title>
<h1>Pypes is running, but the editor is not built</h1>
<p>Build it with <code>make install</code> (or <code>cd ui &amp;&amp; npm ci &amp;&amp;
npm run build</code>) and reload. The REST API works without it:
see <a href="/api/docs">/api/docs</a>.</p>"""


def mount_editor(app: FastAPI, dist: Path) -> None:
    """Serve the built editor at ``/`` (or a page saying how to build it)."""
    index = dist / "index.html"
    # check_dir=False: a build made after the server started is served without a restart
    app.mount("/assets", StaticFiles(directory=dist / "assets", check_dir=False), name="assets")

    @app.get("/", include_in_schema=False, response_model=None)
    async def editor() -> FileResponse | HTMLResponse:
        if index.exists():
            return FileResponse(index, headers={"Cache-Control": "no-cache"})
        return HTMLResponse(NOT_BUILT, status_code=503)
