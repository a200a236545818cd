"""``/workers``: composites' worker instances; where workers register and check in.

``POST /workers/register`` and ``POST /workers/{id}/heartbeat`` take no server token: a
worker proves itself with the token its master issued for its id (a wrong one is 403,
an id the master does not expect is 404, which tells a worker to exit).
"""

from __future__ import annotations

import httpx
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from pypes.cloud.directory import Refused, WorkerDirectory, directory_of
from pypes.controllers.common import READ, JSONResponse, error_response

router = APIRouter(tags=["workers"])


class Registration(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=200)
    url: str = Field(min_length=1, max_length=2000, description="where the master reaches it")
    token: str = Field(min_length=1, max_length=500)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        try:
            url = httpx.URL(value)
        except (httpx.InvalidURL, TypeError):
            raise ValueError("must be an http(s) URL") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/")


def directory(request: Request) -> WorkerDirectory:
    found = getattr(request.app.state, "workers", None)
    if found is None:
        found = directory_of(request.app.state.engine.context.services)
    return found


@router.get("/workers", dependencies=[READ])
async def list_workers(request: Request) -> JSONResponse:
    """Every worker instance of every composite: id, composite, provider, url, state,
    pid (local) or instance id (ec2), and the documents it has in flight."""
    return JSONResponse(directory(request).rows())


@router.post("/workers/register")
async def register(body: Registration, request: Request) -> JSONResponse:
    """A worker announces its URL, proving itself with its token."""
    try:
        composite = directory(request).register(body.id, body.url, body.token)
    except Refused as exc:
        return error_response(exc.status, exc.message)
    return JSONResponse({"registered": body.id, "composite": composite})


@router.post("/workers/{worker_id}/heartbeat")
async def heartbeat(worker_id: str, request: Request) -> JSONResponse:
    """A worker asks whether it is still wanted (``Authorization: Bearer <its token>``)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return error_response(401, "a worker token is required")
    try:
        composite = directory(request).heartbeat(worker_id, token.strip())
    except Refused as exc:
        return error_response(exc.status, exc.message)
    return JSONResponse({"worker": worker_id, "composite": composite})
